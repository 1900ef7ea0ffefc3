package salmon

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

// checkEnvelopeRoot holds envelopeRoot to rootElement: whatever it
// takes for a Magic Envelope, the XML decoder reads as one too.
func checkEnvelopeRoot(t *testing.T, body []byte) bool {
	t.Helper()
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if !envelopeRoot(trimmed) {
		return false
	}
	if space, local, _ := rootElement(trimmed); space != magicenv.Namespace || local != "env" {
		t.Fatalf("envelopeRoot takes %q, rootElement reads {%s}%s", body, space, local)
	}
	return true
}

func detectSeeds(tb testing.TB) [][]byte {
	var out [][]byte
	for _, pattern := range []string{
		"../testdata/vectors/reference/magic_envelope_public/*.xml",
		"../testdata/vectors/reference/legacy_slap_public/*.xml",
		"../testdata/hostile/*/input*.xml",
	} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			tb.Fatal(err)
		}
		for _, name := range files {
			b, err := os.ReadFile(name)
			if err != nil {
				tb.Fatal(err)
			}
			out = append(out, b)
		}
	}
	if len(out) < 10 {
		tb.Fatalf("only %d seeds", len(out))
	}
	return out
}

func TestEnvelopeRoot(t *testing.T) {
	ref, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(ref)
	env := s[strings.Index(s, "<me:env"):]
	cases := map[string]bool{
		s:                                   true,
		env:                                 true,
		"\n " + s:                           true,
		strings.ReplaceAll(s, "\n", "\r\n"): true,
		strings.Replace(s, "<me:data", "<!DOCTYPE x><me:data", 1): false,
		strings.Replace(s, "<me:data", "<!-- c --><me:data", 1):   false,
		strings.Replace(s, `xmlns:me=`, `xmlns:me = `, 1):         false,
		strings.Replace(env, "me:", "x:", -1):                     false,
		"<me:env xmlns:me=\"" + magicenv.Namespace + "\">":        false,
	}
	for in, want := range cases {
		if got := checkEnvelopeRoot(t, []byte(in)); got != want {
			t.Errorf("envelopeRoot = %v, want %v for %.80q", got, want, in)
		}
		if want && Detect([]byte(in), "") != FormatMagicEnvelope {
			t.Errorf("Detect does not see an envelope in %.80q", in)
		}
	}
	for _, b := range detectSeeds(t) {
		checkEnvelopeRoot(t, b)
	}
}

// FuzzDetect: envelopeRoot, Detect's fast path, only takes what the XML
// decoder reads as an me:env root as well.
func FuzzDetect(f *testing.F) {
	for _, b := range detectSeeds(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		checkEnvelopeRoot(t, body)
	})
}
