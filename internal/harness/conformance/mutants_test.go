package conformance

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
)

// sharedDir returns the directory of the vector sets that live outside
// the repository: $FEDERATION_SHARED, else ../shared beside the checkout.
// When it lacks rel the test is skipped with a message, or fails when
// REQUIRE_SHARED_VECTORS is set (as CI sets it), so that CI never passes
// without running the sets.
func sharedDir(t *testing.T, rel string) string {
	t.Helper()
	dir := os.Getenv("FEDERATION_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "..", "shared")
	}
	path := filepath.Join(dir, rel)
	if _, err := os.Stat(path); err != nil {
		msg := path + " is not here (" + err.Error() + "); set FEDERATION_SHARED to the directory that holds vectors/"
		if os.Getenv("REQUIRE_SHARED_VECTORS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// deviationsFile lists the mutants on which the SDK deliberately differs
// from the reference, each with its class.
const deviationsFile = "../../../testdata/conformance/mutant-deviations.txt"

// loadDeviations reads "id class" lines ('#' starts a comment).
func loadDeviations(t *testing.T) map[string]string {
	t.Helper()
	f, err := os.Open(deviationsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		id, class, ok := strings.Cut(line, " ")
		class = strings.TrimSpace(class)
		if !ok || class == "" || strings.Contains(class, " ") {
			t.Fatalf("%s:%d: want \"id class\", got %q", deviationsFile, n, line)
		}
		if _, dup := out[id]; dup {
			t.Fatalf("%s:%d: %s listed twice", deviationsFile, n, id)
		}
		out[id] = class
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// documentedClasses returns the deviation classes docs/conformance.md
// describes: the first column (`class`) of the table of its "Deliberate
// deviations" section.
func documentedClasses(t *testing.T) map[string]bool {
	t.Helper()
	doc, err := os.ReadFile("../../../docs/conformance.md")
	if err != nil {
		t.Fatal(err)
	}
	_, sec, ok := strings.Cut(string(doc), "\n## Deliberate deviations")
	if !ok {
		t.Fatal("docs/conformance.md has no \"## Deliberate deviations\" section")
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	out := map[string]bool{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z0-9-]+)` \\|").FindAllStringSubmatch(sec, -1) {
		out[m[1]] = true
	}
	if len(out) == 0 {
		t.Fatal("docs/conformance.md documents no deviation class")
	}
	return out
}

// TestMutants runs the mutant set (mutations of the reference vectors,
// each judged by the reference): every vector agrees with the reference
// or is listed in testdata/conformance/mutant-deviations.txt under a
// class that docs/conformance.md documents. A new disagreement fails, and
// so does a listed vector that has started to agree.
func TestMutants(t *testing.T) {
	path := sharedDir(t, filepath.Join("vectors", "mutants", "manifest.json"))
	devs := loadDeviations(t)
	classes := documentedClasses(t)
	for id, class := range devs {
		if !classes[class] {
			t.Errorf("%s: class %q is not documented in docs/conformance.md", id, class)
		}
	}
	m, err := vectors.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	env := NewEnv(m)
	seen := map[string]bool{}
	agree, deviate := 0, map[string]int{}
	for _, v := range m.Vectors {
		seen[v.ID] = true
		r := RunOne(context.Background(), env, v)
		class, listed := devs[v.ID]
		switch {
		case r.Pass && listed:
			t.Errorf("%s agrees with the reference now: remove it from %s (class %s)", v.ID, deviationsFile, class)
		case !r.Pass && !listed:
			t.Errorf("%s: new disagreement with the reference: %s", v.ID, r.Why)
		case r.Pass:
			agree++
		default:
			deviate[class]++
		}
	}
	for id := range devs {
		if !seen[id] {
			t.Errorf("%s is listed in %s but is not in the mutant set", id, deviationsFile)
		}
	}
	var lines []string
	for c, n := range deviate {
		lines = append(lines, c+" "+strconv.Itoa(n))
	}
	sort.Strings(lines)
	t.Logf("%d of %d mutants agree with the reference; deliberate deviations by class: %s", agree, len(m.Vectors), strings.Join(lines, ", "))
}
