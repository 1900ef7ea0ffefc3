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
