package magicenv

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/xmlsafe"
)

// slowFields is what Parse does without the fast path.
func slowFields(data []byte) (Fields, bool) {
	root, err := xmlsafe.Parse(data, envelopeLimits)
	if err != nil || !(Options{}).isEnv(root) {
		return Fields{}, false
	}
	f, err := Options{}.fields(root)
	return f, err == nil
}

func TestFastFields(t *testing.T) {
	ref, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(ref)
	cases := map[string]bool{ // input → taken by the fast path
		s:                                   true,
		s[strings.Index(s, "<me:env"):]:     true, // no declaration
		strings.ReplaceAll(s, "\n  ", ""):   true, // compact
		strings.ReplaceAll(s, "\n", "\r\n"): true,
		strings.Replace(s, "<me:alg>", "<!-- c --><me:alg>", 1):                   false, // a comment
		strings.Replace(s, ">RSA-SHA256<", ">RSA&#45;SHA256<", 1):                 false, // a character reference
		strings.Replace(s, `type="application/xml"`, `type='application/xml'`, 1): false,
		strings.Replace(s, "<me:encoding>", "<me:x/><me:encoding>", 1):            false, // an extra child
		s + "<x/>":   false,
		"\ufeff" + s: false,
	}
	for in, fast := range cases {
		f, ok := fastFields([]byte(in))
		if ok != fast {
			t.Errorf("fast path taken = %v, want %v for %.80q", ok, fast, in)
			continue
		}
		if ok {
			slow, sok := slowFields([]byte(in))
			if !sok || slow != f {
				t.Errorf("fast %+v != full %+v", f, slow)
			}
		}
	}
}

// FuzzFastPath: whatever the fast path accepts, the full parser reads
// to the same parts.
func FuzzFastPath(f *testing.F) {
	files, _ := filepath.Glob("../testdata/vectors/reference/magic_envelope_public/*.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fast, ok := fastFields(data)
		if !ok {
			return
		}
		slow, sok := slowFields(data)
		if !sok || slow != fast {
			t.Fatalf("fast path %+v, full parser %+v (ok %v) for %q", fast, slow, sok, data)
		}
	})
}
