package discovery_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/internal/harness/vectors"
)

const referenceSet = "../testdata/vectors/reference"

// sharedVectors returns the directory of the vector sets kept outside the
// repository: $FEDERATION_SHARED/vectors, else ../shared/vectors beside
// the checkout. When it lacks set the test is skipped with a message, or
// fails when REQUIRE_SHARED_VECTORS is set (as CI sets it).
func sharedVectors(t *testing.T, set string) string {
	t.Helper()
	dir := os.Getenv("FEDERATION_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared")
	}
	path := filepath.Join(dir, "vectors", set, "manifest.json")
	if _, err := os.Stat(path); err != nil {
		msg := "captured set " + set + " is not here (" + err.Error() + "); set FEDERATION_SHARED to the directory that holds vectors/"
		if os.Getenv("REQUIRE_SHARED_VECTORS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// capturedSets are the real-world sets. They must never be copied into the
// repository, so they are read from the shared directory when it exists.
var capturedSets = []string{"captured", "captured-b"}

func TestReferenceVectors(t *testing.T) {
	n := runVectorSet(t, filepath.Join(referenceSet, "manifest.json"))
	if n < 20 {
		t.Errorf("ran %d discovery vectors of the reference set, want at least 20", n)
	}
}

func TestCapturedVectors(t *testing.T) {
	for _, set := range capturedSets {
		t.Run(set, func(t *testing.T) {
			n := runVectorSet(t, sharedVectors(t, set))
			t.Logf("set %s: %d discovery vectors checked", set, n)
		})
	}
}

// runVectorSet runs every discovery vector of a manifest through
// discovery.ParseKind, one subtest per vector id, and returns how many ran.
func runVectorSet(t *testing.T, manifest string) int {
	t.Helper()
	m, err := vectors.Load(manifest)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, kind := range discovery.Kinds() {
		for _, v := range m.Kind(kind) {
			n++
			t.Run(v.ID, func(t *testing.T) {
				data, err := m.ReadFile(v.File)
				if err != nil {
					t.Fatal(err)
				}
				view, err := discovery.ParseKind(v.Kind, data)
				if !v.Expected.Valid {
					if err == nil {
						t.Fatalf("ParseKind accepted it, want %s (%s: %s)", v.Expected.ErrorCategory, v.Expected.Error, v.Expected.ReferenceMessage)
					}
					if got := discovery.Category(err); got != v.Expected.ErrorCategory {
						t.Errorf("Category(%v) = %q, want %q", err, got, v.Expected.ErrorCategory)
					}
					return
				}
				if err != nil {
					t.Fatalf("ParseKind: %v", err)
				}
				var want discovery.View
				if err := json.Unmarshal(v.Expected.Entity, &want); err != nil {
					t.Fatal(err)
				}
				compareView(t, view, &want)
			})
		}
	}
	return n
}

// compareView compares got with want as the manifests specify: the type,
// and every property want lists (a subset).
func compareView(t *testing.T, got, want *discovery.View) {
	t.Helper()
	if got.Type != want.Type {
		t.Errorf("type = %q, want %q", got.Type, want.Type)
	}
	sub := map[string]any{}
	for k := range want.Properties {
		v, ok := got.Properties[k]
		if !ok {
			t.Errorf("property %q missing", k)
		}
		sub[k] = v
	}
	if d := cmp.Diff(want.Properties, sub); d != "" {
		t.Errorf("properties (-want +got):\n%s", d)
	}
}

func TestCategory(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{discovery.ErrIncompleteDocument, "invalid_discovery_document"},
		{discovery.ErrDoctype, "invalid_discovery_document"},
		{&discovery.ValidationError{Document: "h_card"}, "validation"},
		{&discovery.WeakKeyError{Bits: 512}, "validation"},
		{&discovery.HTTPError{StatusCode: 404, URL: "https://x/"}, "not_found"},
		{&discovery.HTTPError{StatusCode: 503, URL: "https://x/"}, "network"},
		{discovery.ErrSubjectMismatch, "subject_mismatch"},
		{fmt.Errorf("%w: alice@a.example links https://b.example/hcard", discovery.ErrForeignHCard), "foreign_hcard"},
		{&discovery.GUIDConflictError{GUID: "g", ID: "a@b.example", Holder: "c@d.example"}, "guid_conflict"},
		{fmt.Errorf("%w; re-discovery: %w", &discovery.GUIDConflictError{}, &discovery.HTTPError{StatusCode: 503, URL: "https://x/"}), "guid_conflict"},
		{discovery.ErrBlockedAddress, "blocked"},
		{errors.New("x"), "other"},
	}
	for _, tt := range tests {
		if got := discovery.Category(tt.err); got != tt.want {
			t.Errorf("Category(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
	if _, err := discovery.ParseKind("nodeinfo", nil); err == nil || !slices.Contains([]string{"other"}, discovery.Category(err)) {
		t.Errorf("ParseKind(unknown kind) = %v", err)
	}
}
