package magicenv

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/wire"
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

// checkDigest holds signatureDigest to the hash of SignatureBase, and
// canonicalData to a comparison with the canonical encoding, for an
// envelope whose me:data text is data.
func checkDigest(t *testing.T, data string) {
	payload, ok := wire.DecodeStrict(data)
	if !ok {
		return
	}
	e := &Envelope{payload: payload, dataText: data}
	if got, want := e.canonicalData(), data == base64.URLEncoding.EncodeToString(payload); got != want {
		t.Fatalf("canonicalData = %v, want %v for %q", got, want, data)
	}
	if e.signatureDigest() != sha256.Sum256([]byte(e.SignatureBase())) {
		t.Fatalf("signatureDigest is not the digest of SignatureBase for %q", data)
	}
}

func TestSignatureDigest(t *testing.T) {
	for _, s := range digestSeeds {
		checkDigest(t, s)
	}
	env, err := Parse(readRef(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !env.canonicalData() {
		t.Error("the reference envelope's me:data is not taken as canonical")
	}
	checkDigest(t, env.dataText)
}

var digestSeeds = []string{"YWI=", "YWI", "YWJj", "-_8=", "+/8=", "-_8", "+_8=", "YQ==", "YQ", "", "PD94bWw_"}

func readRef(t testing.TB) []byte {
	ref, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

// FuzzSignatureDigest: the digest Verify checks is the digest of
// SignatureBase, whatever form me:data came in.
func FuzzSignatureDigest(f *testing.F) {
	for _, s := range digestSeeds {
		f.Add(s)
	}
	// The me:data texts of the vectors.
	files, _ := filepath.Glob("../testdata/vectors/reference/magic_envelope_public/*.xml")
	if len(files) == 0 {
		f.Fatal("no envelope vectors")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if fields, ok := slowFields(b); ok && len(fields.Data) <= 4<<10 {
			f.Add(fields.Data)
		}
	}
	f.Fuzz(checkDigest)
}
