package rules

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// guidRE is the GUID rule as the reference writes it; ValidGUID must
// agree with it on every string.
var guidRE = regexp.MustCompile(`^[0-9A-Za-z\-_@.:]{15,254}[0-9A-Za-z]$`)

// checkValidators holds the hand-written validators to the regexps.
func checkValidators(t *testing.T, s string) {
	t.Helper()
	if got, want := ValidGUID(s), guidRE.MatchString(s); got != want {
		t.Fatalf("ValidGUID(%q) = %v, regexp says %v", s, got, want)
	}
	want := utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxIDLength && idPattern.MatchString(s)
	if got := ValidID(s); got != want {
		t.Fatalf("ValidID(%q) = %v, regexp says %v", s, got, want)
	}
	if plainID(s) && !idPattern.MatchString(s) {
		t.Fatalf("plainID(%q) accepts what the regexp refuses", s)
	}
}

var validatorSeeds = []string{
	"", "alice@pod-a.example.org", "alice@pod-a.example.org:3000", "alice@pod-a.example.org:",
	"Alice@pod.example", "alice@Pod.example", "al ice@pod.example", "@pod.example", "alice@",
	"alice@.pod", "alice@pod..example", "alice@pod.example.", "a@b@c", "alice@127.0.0.1",
	"alice@[::1]", "alice@[2001:db8::1]:443", "jürgen@pod.example", "alice@pöd.example",
	"alice@pod.example:12a", "alice@pod.example::1", "a.b-c_d@x-y.z",
	strings.Repeat("a", 250) + "@b.cd", strings.Repeat("a", 251) + "@b.cd",
	strings.Repeat("ä", 200) + "@b.cd", strings.Repeat("ä", 251) + "@b.cd",
	"6bc23f6a8eb9ea65a46628563c8c4ba8", "6bc23f6a8eb9ea6", "6bc23f6a8eb9ea65", "6bc23f6a8eb9ea6-",
	"guid:with@odd.chars_and-more1", "guid with spaces in it 123", strings.Repeat("a", 255),
	strings.Repeat("a", 256), "ääääääääääääääääää", "6bc23f6a8eb9ea65a46628563c8c4ba8\n", "a\xff@b.cd",
}

func TestValidators(t *testing.T) {
	for _, s := range validatorSeeds {
		checkValidators(t, s)
	}
	if !ValidID("alice@pod-a.example.org") || ValidID("Alice@pod") || !ValidGUID("6bc23f6a8eb9ea65") {
		t.Fatal("validators disagree with the obvious")
	}
	// An ID is measured in characters, as the reference measures it.
	if !ValidID(strings.Repeat("ä", 200) + "@b.cd") {
		t.Error("a 206-character ID of 406 bytes is refused")
	}
}

// FuzzValidators: ValidGUID and ValidID agree with the reference's
// regular expressions.
func FuzzValidators(f *testing.F) {
	for _, s := range validatorSeeds {
		f.Add(s)
	}
	// The IDs and GUIDs of the vectors.
	files, err := filepath.Glob("../../testdata/vectors/reference/entity_xml/*.xml")
	if err != nil || len(files) == 0 {
		f.Fatal("no entity vectors")
	}
	value := regexp.MustCompile(`<(?:author|guid|parent_guid|root_author|root_guid|recipient)>([^<]*)</`)
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range value.FindAllSubmatch(b, -1) {
			f.Add(string(m[1]))
		}
	}
	f.Fuzz(checkValidators)
}

func TestParsePublicKey(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	spki, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	block := func(typ string, der []byte, h map[string]string) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der, Headers: h}))
	}
	good := block("PUBLIC KEY", spki, nil)
	for _, in := range []string{good, "\n  " + good + "\n\n", block("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rk.PublicKey), nil)} {
		if pub, err := ParsePublicKey([]byte(in)); err != nil || !pub.Equal(&rk.PublicKey) {
			t.Errorf("ParsePublicKey(%.40q) = %v", in, err)
		}
	}
	for name, in := range map[string]string{
		"empty":            "",
		"leading text":     "key: " + good,
		"trailing text":    good + "x",
		"two blocks":       good + good,
		"headers":          block("PUBLIC KEY", spki, map[string]string{"Proc-Type": "4,ENCRYPTED"}),
		"EC key":           block("PUBLIC KEY", ecDER, nil),
		"private key type": block("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rk), nil),
		"garbage DER":      block("PUBLIC KEY", []byte("not DER"), nil),
	} {
		if _, err := ParsePublicKey([]byte(in)); !errors.Is(err, ErrKey) {
			t.Errorf("%s: err = %v, want ErrKey", name, err)
		}
	}
}
