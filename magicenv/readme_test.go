package magicenv_test

import (
	"bufio"
	"bytes"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMESnippets checks that every Go code block of README.md marked
// with
//
//	<!-- snippet: DIR/FILE_test.go ExampleName -->
//
// is the body of that example function, dedented by one tab, so that the
// README shows code that compiles and runs (go test runs the example and
// checks its output). Change the example, then copy its body over.
func TestREADMESnippets(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	snippets, err := readmeSnippets(readme)
	if err != nil {
		t.Fatal(err)
	}
	// The README's receiving snippet must stay one of them.
	if _, ok := snippets["magicenv/example_test.go ExampleParse"]; !ok {
		t.Fatal("README.md has no snippet marked <!-- snippet: magicenv/example_test.go ExampleParse -->")
	}
	for key, got := range snippets {
		file, name, _ := strings.Cut(key, " ")
		want, err := exampleBody(filepath.Join("..", filepath.FromSlash(file)), name)
		if err != nil {
			t.Errorf("snippet %s: %v", key, err)
			continue
		}
		if got != want {
			t.Errorf("README.md snippet %s differs from the body of %s in %s (dedented one tab), first at %s;\ncopy the function body over.",
				key, name, file, firstDiff(got, want))
		}
	}
}

// readmeSnippets returns the code blocks that follow a snippet marker,
// keyed by "FILE FUNC".
func readmeSnippets(readme []byte) (map[string]string, error) {
	out := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(readme))
	line := 0
	next := func() (string, bool) {
		ok := sc.Scan()
		line++
		return sc.Text(), ok
	}
	for {
		l, ok := next()
		if !ok {
			break
		}
		spec, found := strings.CutPrefix(strings.TrimSpace(l), "<!-- snippet:")
		if !found {
			continue
		}
		spec, found = strings.CutSuffix(spec, "-->")
		fields := strings.Fields(spec)
		if !found || len(fields) != 2 {
			return nil, fmt.Errorf("README.md:%d: want <!-- snippet: FILE FUNC -->", line)
		}
		key := fields[0] + " " + fields[1]
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("README.md:%d: second snippet %s", line, key)
		}
		if fence, _ := next(); fence != "```go" {
			return nil, fmt.Errorf("README.md:%d: a snippet marker must be followed by a ```go block", line)
		}
		var b strings.Builder
		for {
			l, ok := next()
			if !ok {
				return nil, fmt.Errorf("README.md: snippet %s: code block not closed", key)
			}
			if l == "```" {
				break
			}
			b.WriteString(l + "\n")
		}
		out[key] = b.String()
	}
	return out, sc.Err()
}

// exampleBody returns the source text between the braces of function name
// in file, without the first line break, each line dedented by one tab.
func exampleBody(file, name string) (string, error) {
	src, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, file, src, parser.ParseComments)
	if err != nil {
		return "", err
	}
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Recv != nil || fn.Name.Name != name || fn.Body == nil {
			continue
		}
		body := src[fset.Position(fn.Body.Lbrace).Offset+1 : fset.Position(fn.Body.Rbrace).Offset]
		body = bytes.TrimPrefix(body, []byte("\n"))
		var b strings.Builder
		for l := range strings.Lines(string(body)) {
			if strings.TrimSpace(l) == "" {
				b.WriteString("\n")
				continue
			}
			d, ok := strings.CutPrefix(l, "\t")
			if !ok {
				return "", fmt.Errorf("%s: a line of %s is not indented by a tab: %q", file, name, l)
			}
			b.WriteString(d)
		}
		return b.String(), nil
	}
	return "", fmt.Errorf("%s: no function %s", file, name)
}

// firstDiff describes the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d of the block: README %q, example %q", i+1, gl, wl)
		}
	}
	return "the end"
}
