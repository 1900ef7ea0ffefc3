package conformance

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
)

func runManifest(t *testing.T, path string) {
	m, err := vectors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(m)
	for _, v := range m.Vectors {
		if _, ok := JudgeFor(v.Kind); !ok {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			if r := RunOne(context.Background(), env, v); !r.Pass {
				t.Errorf("%s", r.Why)
			}
		})
	}
}

// TestReference runs every vector of the reference set whose kind has a
// judge through the receive pipeline.
func TestReference(t *testing.T) {
	runManifest(t, "../../../testdata/vectors/reference/manifest.json")
}

// TestCaptured runs the real-world sets, which live outside the
// repository (see sharedDir).
func TestCaptured(t *testing.T) {
	for _, set := range []string{"captured", "captured-b"} {
		t.Run(set, func(t *testing.T) { runManifest(t, sharedDir(t, filepath.Join("vectors", set, "manifest.json"))) })
	}
}
