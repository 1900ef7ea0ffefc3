package vectors

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const reference = "../../../testdata/vectors/reference/manifest.json"

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadReference(t *testing.T) {
	m, err := Load(reference)
	if err != nil {
		t.Fatal(err)
	}
	if m.Format != Format || len(m.Vectors) == 0 || len(m.People) == 0 || len(m.RelatedEntities) == 0 {
		t.Errorf("format %q, %d vectors, %d people, %d related entities", m.Format, len(m.Vectors), len(m.People), len(m.RelatedEntities))
	}
}

func TestLoadNotManifest(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		notManifest   bool // errors.Is(err, ErrNotManifest); else another error
	}{
		{"empty_object.json", `{}`, true},
		{"array.json", `[{"format": "diaspora-federation-vectors/1"}]`, true},
		{"string.json", `"diaspora-federation-vectors/1"`, true},
		{"null.json", `null`, true},
		{"other_format.json", `{"format": "diaspora-federation-vectors/2", "vectors": [{"id": "x"}]}`, true},
		{"no_format.json", `{"vectors": [{"id": "x", "file": "x.xml", "kind": "entity_xml"}]}`, true},
		{"not_json.json", "<manifest/>", false},
		{"empty_file.json", "", false},
		{"format_not_string.json", `{"format": 1}`, false},
	}
	for _, tt := range tests {
		_, err := Load(write(t, dir, tt.name, tt.content))
		if err == nil || errors.Is(err, ErrNotManifest) != tt.notManifest || !strings.Contains(err.Error(), tt.name) {
			t.Errorf("%s: err = %v, want one naming the file (not a manifest: %v)", tt.name, err, tt.notManifest)
		}
	}
	if _, err := Load(filepath.Join(dir, "missing.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestLoadContext(t *testing.T) {
	dir := t.TempDir()
	ref, err := filepath.Abs(reference)
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, ref)
	if err != nil {
		t.Fatal(err)
	}
	// A manifest without vectors loads: it may serve as a context.
	ctx := write(t, dir, "ctx.json", `{"format": "diaspora-federation-vectors/1", "context": "`+filepath.ToSlash(rel)+`",
		"related_entities": [{"entity_type": "Photo", "guid": "own"}]}`)
	m, err := Load(write(t, dir, "m.json", `{"format": "diaspora-federation-vectors/1", "context": "ctx.json", "vectors": [{"id": "v"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.People["alice@pod-a.example.org"]; !ok || len(m.Vectors) != 1 || len(m.RelatedEntities) < 2 || m.RelatedEntities[0].GUID != "own" {
		t.Errorf("through two contexts: %d people, %d vectors, related %+v", len(m.People), len(m.Vectors), m.RelatedEntities)
	}
	if c, err := Load(ctx); err != nil || len(c.Vectors) != 0 {
		t.Errorf("context manifest: %v", err)
	}

	write(t, dir, "bad_ctx.json", `{"vectors": []}`)
	if _, err := Load(write(t, dir, "uses_bad.json", `{"format": "diaspora-federation-vectors/1", "context": "bad_ctx.json"}`)); !errors.Is(err, ErrNotManifest) {
		t.Errorf("context is no manifest: err = %v", err)
	}
	if _, err := Load(write(t, dir, "self.json", `{"format": "diaspora-federation-vectors/1", "context": "self.json"}`)); err == nil || !strings.Contains(err.Error(), "context loop") {
		t.Errorf("context is itself: err = %v", err)
	}
	write(t, dir, "a.json", `{"format": "diaspora-federation-vectors/1", "context": "sub/../b.json"}`)
	if _, err := Load(write(t, dir, "b.json", `{"format": "diaspora-federation-vectors/1", "context": "a.json"}`)); err == nil || !strings.Contains(err.Error(), "context loop") {
		t.Errorf("a and b name each other: err = %v", err)
	}
}

func TestReference(t *testing.T) {
	m := Reference(t)
	if m != Reference(t) {
		t.Error("Reference loaded the set twice")
	}
	if len(m.Vectors) != 245 {
		t.Errorf("%d reference vectors, want 245", len(m.Vectors))
	}
	if _, err := m.ReadFile("keys/alice.pub.pem"); err != nil {
		t.Error(err)
	}
}
