// Package seeds gives the tests and fuzz targets of every package the
// same inputs from the repository's testdata: the reference vectors and
// the hostile-input corpus. Paths are relative to the repository root,
// which is found from the test's working directory, so a test anywhere in
// the module names a file the same way.
package seeds

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// Reference is the directory of the reference vector set.
const Reference = "testdata/vectors/reference"

var (
	rootOnce sync.Once
	root     string
)

// Root returns the repository root: the nearest directory above the
// working directory that holds go.mod. It fails tb when there is none.
func Root(tb testing.TB) string {
	tb.Helper()
	rootOnce.Do(func() {
		dir, err := os.Getwd()
		for err == nil {
			if _, serr := os.Stat(filepath.Join(dir, "go.mod")); serr == nil {
				root = dir
				return
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return
			}
			dir = parent
		}
	})
	if root == "" {
		tb.Fatal("seeds: no go.mod above the working directory")
	}
	return root
}

// Files returns the contents of the files matching each glob pattern
// (relative to the repository root), in name order, leaving out files
// over maxSize bytes when maxSize > 0. It fails tb when a pattern matches
// no file.
func Files(tb testing.TB, maxSize int, patterns ...string) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, p := range patterns {
		names, err := filepath.Glob(filepath.Join(Root(tb), filepath.FromSlash(p)))
		if err != nil || len(names) == 0 {
			tb.Fatalf("seeds: no files for %s", p)
		}
		for _, name := range names {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			if maxSize <= 0 || len(b) <= maxSize {
				out = append(out, b)
			}
		}
	}
	return out
}

// Add adds [Files] to the fuzz corpus of f, and each extra input.
func Add(f *testing.F, maxSize int, patterns []string, extra ...string) {
	f.Helper()
	for _, b := range Files(f, maxSize, patterns...) {
		f.Add(b)
	}
	for _, e := range extra {
		f.Add([]byte(e))
	}
}

// Vectors adds the reference vectors under each pattern (relative to the
// reference set, like "entity_xml/*") to the fuzz corpus of f.
func Vectors(f *testing.F, maxSize int, patterns ...string) {
	f.Helper()
	full := make([]string, len(patterns))
	for i, p := range patterns {
		full[i] = Reference + "/" + p
	}
	Add(f, maxSize, full)
}

// Hostile returns the inputs of the hostile-input corpus
// (testdata/hostile/<ID>/input*) whose extension is one of exts, leaving
// out those over maxSize bytes when maxSize > 0.
func Hostile(tb testing.TB, maxSize int, exts ...string) [][]byte {
	tb.Helper()
	names, err := filepath.Glob(filepath.Join(Root(tb), "testdata", "hostile", "*", "input*"))
	if err != nil || len(names) == 0 {
		tb.Fatal("seeds: no hostile corpus under testdata/hostile")
	}
	var out [][]byte
	for _, name := range names {
		if !slices.Contains(exts, filepath.Ext(name)) {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		if maxSize <= 0 || len(b) <= maxSize {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("seeds: no hostile input with extension %v", exts)
	}
	return out
}

// AddHostile adds [Hostile] to the fuzz corpus of f.
func AddHostile(f *testing.F, maxSize int, exts ...string) {
	f.Helper()
	for _, b := range Hostile(f, maxSize, exts...) {
		f.Add(b)
	}
}
