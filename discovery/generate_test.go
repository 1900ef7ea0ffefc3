package discovery_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/discovery")

func readRef(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(referenceSet, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestGeneratorsMatchReference re-emits reference vectors from their
// parsed form and expects the reference's bytes.
func TestGeneratorsMatchReference(t *testing.T) {
	t.Run("jrd", func(t *testing.T) {
		for _, f := range []string{"webfinger_jrd/full.json", "webfinger_jrd/minimal.json"} {
			in := readRef(t, f)
			w, err := discovery.ParseJRD(in)
			if err != nil {
				t.Fatal(err)
			}
			out, err := w.JRD()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(out), bytes.TrimSpace(in)) {
				t.Errorf("%s: JRD() =\n%s\nwant\n%s", f, out, in)
			}
		}
	})
	t.Run("xrd", func(t *testing.T) {
		for _, f := range []string{"webfinger_xrd/full.xml", "webfinger_xrd/minimal.xml"} {
			in := readRef(t, f)
			w, err := discovery.ParseXRD(in)
			if err != nil {
				t.Fatal(err)
			}
			if out := w.XRD(); !bytes.Equal(out, in) {
				t.Errorf("%s: XRD() =\n%s\nwant\n%s", f, out, in)
			}
		}
	})
	t.Run("host-meta", func(t *testing.T) {
		for f, base := range map[string]string{
			"host_meta/pod_a.xml":                "https://pod-a.example.org",
			"host_meta/pod_b_trailing_slash.xml": "https://pod-b.example.net/",
		} {
			in := readRef(t, f)
			if out := discovery.NewHostMeta(base).XRD(); !bytes.Equal(out, in) {
				t.Errorf("%s: XRD() =\n%s\nwant\n%s", f, out, in)
			}
			h, err := discovery.ParseHostMeta(in)
			if err != nil {
				t.Fatal(err)
			}
			if out := h.XRD(); !bytes.Equal(out, in) {
				t.Errorf("%s: round trip =\n%s\nwant\n%s", f, out, in)
			}
		}
	})
	t.Run("hcard", func(t *testing.T) {
		for _, f := range []string{"hcard_html/full.html", "hcard_html/4096_key_empty_names.html"} {
			in := readRef(t, f)
			h, err := discovery.ParseHCard(in)
			if err != nil {
				t.Fatal(err)
			}
			if out := h.HTML(); !bytes.Equal(out, in) {
				t.Errorf("%s: HTML() =\n%s\nwant\n%s", f, out, in)
			}
		}
	})
}

// golden compares got with testdata/discovery/name, rewriting it with
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("..", "testdata", "discovery", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file:\n got: %s\nwant: %s", name, got, want)
	}
}
