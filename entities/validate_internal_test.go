package entities

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
	want := len(s) <= 255 && runeLen(s) <= 255 && diasporaIDRE.MatchString(s)
	if got := ValidDiasporaID(s); got != want {
		t.Fatalf("ValidDiasporaID(%q) = %v, regexp says %v", s, got, want)
	}
	if plainDiasporaID(s) && !diasporaIDRE.MatchString(s) {
		t.Fatalf("plainDiasporaID(%q) accepts what the regexp refuses", s)
	}
}

var validatorSeeds = []string{
	"", "alice@pod-a.example.org", "alice@pod-a.example.org:3000", "alice@pod-a.example.org:",
	"Alice@pod.example", "alice@Pod.example", "al ice@pod.example", "@pod.example", "alice@",
	"alice@.pod", "alice@pod..example", "alice@pod.example.", "a@b@c", "alice@127.0.0.1",
	"alice@[::1]", "alice@[2001:db8::1]:443", "jürgen@pod.example", "alice@pöd.example",
	"alice@pod.example:12a", "alice@pod.example::1", "a.b-c_d@x-y.z",
	strings.Repeat("a", 250) + "@b.cd", strings.Repeat("a", 251) + "@b.cd",
	"6bc23f6a8eb9ea65a46628563c8c4ba8", "6bc23f6a8eb9ea6", "6bc23f6a8eb9ea65", "6bc23f6a8eb9ea6-",
	"guid:with@odd.chars_and-more1", "guid with spaces in it 123", strings.Repeat("a", 255),
	strings.Repeat("a", 256), "ääääääääääääääääää", "6bc23f6a8eb9ea65a46628563c8c4ba8\n",
}

func TestValidators(t *testing.T) {
	for _, s := range validatorSeeds {
		checkValidators(t, s)
	}
	if !ValidDiasporaID("alice@pod-a.example.org") || ValidDiasporaID("Alice@pod") || !ValidGUID("6bc23f6a8eb9ea65") {
		t.Fatal("validators disagree with the obvious")
	}
}

// FuzzValidators: ValidGUID and ValidDiasporaID agree with the
// reference's regular expressions.
func FuzzValidators(f *testing.F) {
	for _, s := range validatorSeeds {
		f.Add(s)
	}
	// The IDs and GUIDs of the vectors.
	files, err := filepath.Glob("../testdata/vectors/reference/entity_xml/*.xml")
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
