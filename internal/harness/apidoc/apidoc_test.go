// Package apidoc checks that every exported identifier of the library
// packages has a doc comment: functions, methods, types, constants,
// variables, struct fields and interface methods. .ci/run runs it with
// the other tests.
package apidoc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/seeds"
)

// libraries are the public packages of the SDK.
var libraries = []string{"magicenv", "relayable", "entities", "salmon", "discovery"}

func TestExportedHaveDocs(t *testing.T) {
	root := seeds.Root(t)
	var missing []string
	for _, dir := range libraries {
		missing = append(missing, undocumented(t, filepath.Join(root, dir))...)
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("no doc comment: %s", m)
	}
}

// undocumented lists the exported identifiers of the package in dir
// (test files left out) that have no doc comment.
func undocumented(t *testing.T, dir string) []string {
	t.Helper()
	fset := token.NewFileSet()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	report := func(pos token.Pos, what string) {
		p := fset.Position(pos)
		out = append(out, filepath.Base(dir)+"/"+filepath.Base(p.Filename)+": "+what)
	}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if !d.Name.IsExported() || (d.Recv != nil && !exportedRecv(d.Recv)) {
					continue
				}
				if d.Doc == nil {
					report(d.Pos(), funcName(d))
				}
			case *ast.GenDecl:
				for _, spec := range d.Specs {
					switch s := spec.(type) {
					case *ast.TypeSpec:
						if !s.Name.IsExported() {
							continue
						}
						if s.Doc == nil && d.Doc == nil {
							report(s.Pos(), "type "+s.Name.Name)
						}
						checkFields(fset, s, report)
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() && s.Doc == nil && s.Comment == nil && d.Doc == nil {
								report(n.Pos(), n.Name)
							}
						}
					}
				}
			}
		}
	}
	return out
}

// checkFields reports the exported fields of a struct type and the
// methods of an interface type that have neither a doc comment nor a
// line comment. Fields declared together (A, B int) share one comment,
// and so do the fields of a run (no blank line between them) whose first
// comment names them ("FullName, FirstName and LastName are ...").
// A field with a diaspora:"…" tag is documented by it: the tag names the
// protocol property (with required, optional and the default), which the
// entity's upstream page describes (see the entities package doc).
func checkFields(fset *token.FileSet, s *ast.TypeSpec, report func(token.Pos, string)) {
	var list *ast.FieldList
	switch x := s.Type.(type) {
	case *ast.StructType:
		list = x.Fields
	case *ast.InterfaceType:
		list = x.Methods
	default:
		return
	}
	var group *ast.CommentGroup // the doc of the run of fields f belongs to
	prevEnd := -1
	for _, f := range list.List {
		if f.Doc != nil || fset.Position(f.Pos()).Line != prevEnd+1 {
			group = f.Doc
		}
		prevEnd = fset.Position(f.End()).Line
		if f.Doc != nil || f.Comment != nil || (f.Tag != nil && strings.Contains(f.Tag.Value, `diaspora:"`)) {
			continue
		}
		for _, n := range f.Names {
			// A comment over a run of fields with no blank line between
			// them documents every field it names.
			if n.IsExported() && (group == nil || !strings.Contains(group.Text(), n.Name)) {
				report(n.Pos(), s.Name.Name+"."+n.Name)
			}
		}
	}
}

func exportedRecv(recv *ast.FieldList) bool {
	if len(recv.List) == 0 {
		return false
	}
	typ := recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if idx, ok := typ.(*ast.IndexExpr); ok {
		typ = idx.X
	}
	id, ok := typ.(*ast.Ident)
	return ok && id.IsExported()
}

func funcName(d *ast.FuncDecl) string {
	if d.Recv == nil || len(d.Recv.List) == 0 {
		return "func " + d.Name.Name
	}
	typ := d.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return "method " + id.Name + "." + d.Name.Name
	}
	return "method " + d.Name.Name
}

// The check finds what it must and accepts the documented forms.
func TestUndocumentedFinds(t *testing.T) {
	dir := t.TempDir()
	src := `package p

// Documented is fine.
func Documented() {}

func Bare() {}

type T struct {
	// A, B and C are named by one comment over their run.
	A int
	B int
	C int

	D int
	E int // a line comment is enough
	F int ` + "`diaspora:\"f,optional\"`" + `
	g int
}

// I is documented.
type I interface {
	M()
	// N is documented.
	N()
}

const (
	// K is documented.
	K = 1
	L = 2
)

func (T) Method() {}

func (t *T) unexported() {}
`
	if err := os.WriteFile(filepath.Join(dir, "p.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(undocumented(t, dir), "\n")
	base := filepath.Base(dir)
	want := strings.Join([]string{
		base + "/p.go: func Bare",
		base + "/p.go: type T",
		base + "/p.go: T.D",
		base + "/p.go: I.M",
		base + "/p.go: L",
		base + "/p.go: method T.Method",
	}, "\n")
	if got != want {
		t.Errorf("undocumented =\n%s\nwant\n%s", got, want)
	}
}
