package store

import (
	"context"
	"strings"
	"testing"
)

// TestReady: a migrated store is ready; one whose schema is behind the
// binary, or that is closed, is not.
func TestReady(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	if err := s.Ready(ctx); err != nil {
		t.Fatalf("a migrated store: %v", err)
	}
	if _, err := s.SQL().Exec(`UPDATE schema_version SET version = version - 1`); err != nil {
		t.Fatal(err)
	}
	if err := s.Ready(ctx); err == nil || !strings.Contains(err.Error(), "this pod needs") {
		t.Errorf("a schema one migration behind: %v", err)
	}
	s.Close()
	if err := s.Ready(ctx); err == nil {
		t.Error("a closed store is ready")
	}
}
