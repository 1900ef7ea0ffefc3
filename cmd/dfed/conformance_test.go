package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A manifest of our own, reusing the reference set's people through
// "context", with two vectors judged right and one judged wrong on
// purpose.
func TestConformance(t *testing.T) {
	dir := t.TempDir()
	refManifest, err := filepath.Abs(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, refManifest)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"status_message_basic.xml", "tampered_data.xml"} {
		b, err := os.ReadFile(filepath.FromSlash(ref + "magic_envelope_public/" + name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := map[string]any{
		"format":  "diaspora-federation-vectors/1",
		"context": filepath.ToSlash(rel),
		"vectors": []map[string]any{
			{"id": "ours/valid", "file": "status_message_basic.xml", "kind": "magic_envelope_public",
				"expected": map[string]any{"valid": true, "sender": "alice@pod-a.example.org",
					"entity": map[string]any{"type": "status_message", "properties": map[string]any{"public": true}}}},
			{"id": "ours/tampered", "file": "tampered_data.xml", "kind": "magic_envelope_public",
				"expected": map[string]any{"valid": false, "error_category": "invalid_envelope_signature"}},
			{"id": "ours/wrong_expectation", "file": "status_message_basic.xml", "kind": "magic_envelope_public",
				"expected": map[string]any{"valid": true, "entity": map[string]any{"properties": map[string]any{"public": false}}}},
		},
	}
	b, err := json.Marshal(manifest)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dfed(t, "", "conformance", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one vector fails); stderr %s", code, stderr)
	}
	for _, want := range []string{"PASS ours/valid\n", "PASS ours/tampered\n", "FAIL ours/wrong_expectation: differs at entity.properties.public\n", "2 passed, 1 failed\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// --json prints what was decoded, one object per line.
	code, out, _ = dfed(t, "", "conformance", "--json", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 3 {
		t.Fatalf("--json: exit %d, %d lines:\n%s", code, len(lines), out)
	}
	var first, second struct {
		ID     string
		Valid  bool
		Sender string
		Entity struct{ Type string }
		Error  *struct{ Category string }
	}
	if json.Unmarshal([]byte(lines[0]), &first) != nil || json.Unmarshal([]byte(lines[1]), &second) != nil {
		t.Fatalf("not JSON lines:\n%s", out)
	}
	if first.ID != "ours/valid" || !first.Valid || first.Sender != "alice@pod-a.example.org" || first.Entity.Type != "status_message" {
		t.Errorf("first line = %+v", first)
	}
	if second.Valid || second.Error == nil || second.Error.Category != "invalid_envelope_signature" {
		t.Errorf("second line = %+v", second)
	}
	// The whole reference set passes.
	code, out, _ = dfed(t, "", "conformance", ref+"manifest.json")
	if code != 0 || !strings.HasSuffix(out, "245 passed, 0 failed\n") {
		t.Errorf("reference manifest: exit %d, last line %q", code, out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:])
	}
	if code, _, _ := dfed(t, "", "conformance"); code != 2 {
		t.Errorf("no manifest: exit %d, want 2", code)
	}
	if code, _, _ := dfed(t, "", "conformance", filepath.Join(dir, "missing.json")); code != 2 {
		t.Errorf("missing manifest: exit %d, want 2", code)
	}
}

// Only a manifest with vectors is judged; anything else exits 2 with a
// message and prints no verdict, not even "0 passed, 0 failed".
func TestConformanceNotManifest(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	refManifest := filepath.FromSlash(ref + "manifest.json")
	tests := []struct {
		name string
		path string
		msg  string // in stderr
	}{
		{"empty object", write("empty.json", `{}`), "not a manifest"},
		{"array", write("array.json", `[]`), "not a manifest"},
		{"other format", write("other.json", `{"format": "something/1", "vectors": [{"id": "x"}]}`), "not a manifest"},
		{"no vectors", write("no_vectors.json", `{"format": "diaspora-federation-vectors/1", "vectors": []}`), "no vectors"},
		{"vectors absent", write("vectors_absent.json", `{"format": "diaspora-federation-vectors/1", "people": {}}`), "no vectors"},
		{"not JSON", write("not_json.json", "format: diaspora-federation-vectors/1\n"), "invalid character"},
		{"missing", filepath.Join(dir, "missing.json"), "no such file"},
		{"context not a manifest", write("bad_context.json", `{"format": "diaspora-federation-vectors/1", "context": "empty.json", "vectors": [{"id": "x"}]}`), "not a manifest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Also after a good manifest: nothing is judged when one is bad.
			for _, args := range [][]string{{tt.path}, {refManifest, tt.path}, {"--json", tt.path}} {
				code, out, stderr := dfed(t, "", append([]string{"conformance"}, args...)...)
				if code != 2 || out != "" || !strings.Contains(stderr, tt.msg) || !strings.Contains(stderr, filepath.Base(tt.path)) {
					if len(out) > 80 {
						out = "..." + out[len(out)-80:]
					}
					t.Errorf("%v: exit %d, stdout %q, stderr %q; want 2, nothing, %q and the file name", args, code, out, stderr, tt.msg)
				}
			}
		})
	}
	code, out, stderr := dfed(t, "", "conformance", refManifest)
	if code != 0 || !strings.HasSuffix(out, " passed, 0 failed\n") || stderr != "" {
		t.Errorf("reference manifest: exit %d, stderr %q", code, stderr)
	}
}

// An integer above 2^53 is compared and printed with every digit:
// 9223372036854775806 and 9223372036854775807 are the same float64.
func TestConformanceBigInteger(t *testing.T) {
	dir := t.TempDir()
	refManifest, err := filepath.Abs(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(dir, refManifest)
	if err != nil {
		t.Fatal(err)
	}
	photo, err := os.ReadFile(filepath.FromSlash(ref + "entity_xml/photo_0.xml"))
	if err != nil {
		t.Fatal(err)
	}
	photo = []byte(strings.Replace(string(photo), "<height>768</height>", "<height>9223372036854775807</height>", 1))
	if !strings.Contains(string(photo), "9223372036854775807") {
		t.Fatal("photo_0.xml has no <height>768</height>")
	}
	if err := os.WriteFile(filepath.Join(dir, "photo.xml"), photo, 0o644); err != nil {
		t.Fatal(err)
	}
	manifest := `{"format": "diaspora-federation-vectors/1", "context": "` + filepath.ToSlash(rel) + `", "vectors": [
		{"id": "exact", "file": "photo.xml", "kind": "entity_xml", "expected": {"valid": true, "entity": {"properties": {"height": 9223372036854775807, "width": 1024}}}},
		{"id": "one_less", "file": "photo.xml", "kind": "entity_xml", "expected": {"valid": true, "entity": {"properties": {"height": 9223372036854775806}}}}]}`
	path := filepath.Join(dir, "manifest.json")
	if err := os.WriteFile(path, []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, stderr := dfed(t, "", "conformance", path)
	if code != 1 || out != "PASS exact\nFAIL one_less: differs at entity.properties.height\n1 passed, 1 failed\n" {
		t.Errorf("exit %d, stderr %q, output:\n%s", code, stderr, out)
	}
	code, out, _ = dfed(t, "", "conformance", "--json", path)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 1 || len(lines) != 2 || !strings.Contains(lines[0], `"height":9223372036854775807,`) {
		t.Errorf("--json: exit %d:\n%s", code, out)
	}
}
