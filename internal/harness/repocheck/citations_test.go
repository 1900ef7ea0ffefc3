package repocheck

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// A rule is a kind of reference that a reader of the repository cannot
// follow, with what to write instead.
type rule struct {
	name string
	re   *regexp.Regexp
	fix  string
}

// rules are the references the repository must not make. The protocol
// digest, the threat model and the style guide were written beside the
// repository (Markdown files named PROTOCOL, SECURITY and STYLE, in the
// directory next to the checkout); a reader of the repository has
// neither. The patterns are written so that this file does not match
// them itself.
var rules = []rule{
	{
		name: "digest",
		re:   regexp.MustCompile(`\b(PROTOCOL|SECURITY|STYLE)\.md\b`),
		fix: "cite the upstream protocol page (https://diaspora.github.io/diaspora_federation/...), " +
			"a file of this repository (LIMITS.md, docs/conformance.md, testdata/hostile/README.md, ...), " +
			"or say the rule in words",
	},
	{
		name: "sibling",
		re:   regexp.MustCompile(`\.\./shared\b|\bshared/spec\b`),
		fix:  "cite a file of this repository or a public URL; only the allow-listed places may name the directory beside the checkout",
	},
}

// allowed is the complete list of places that may make a reference of
// rules, each with the reason. An entry allows one rule in one file. An
// entry whose file is gone or no longer makes such a reference fails the
// test, so that the list never grows stale.
var allowed = []struct {
	path, rule, reason string
}{
	{".ci/run", "sibling",
		"CI runs the vector sets kept outside the repository (mutants, real-world captures) from the directory beside the checkout, on purpose"},
	{"discovery/vectors_test.go", "sibling",
		"documents the default of FEDERATION_SHARED, where TestCaptured looks for the captured vector sets"},
	{"internal/harness/conformance/mutants_test.go", "sibling",
		"documents the default of FEDERATION_SHARED, where TestMutants looks for the mutant vector sets"},
}

func isAllowed(path, ruleName string) bool {
	for _, a := range allowed {
		if a.path == path && a.rule == ruleName {
			return true
		}
	}
	return false
}

// upstreamPages are the pages of the protocol documentation
// (https://diaspora.github.io/diaspora_federation/, built from the docs/
// folder of github.com/diaspora/diaspora_federation), relative to its
// root. A link to any other page there is a typo.
var upstreamPages = map[string]bool{
	"":                                  true,
	"index.html":                        true,
	"entities/":                         true,
	"entities/index.html":               true,
	"federation/types.html":             true,
	"federation/magicsig.html":          true,
	"federation/encryption.html":        true,
	"federation/routes.html":            true,
	"federation/fetching.html":          true,
	"federation/xml_serialization.html": true,
	"federation/relayable.html":         true,
	"federation/diaspora_scheme.html":   true,
	"discovery/webfinger.html":          true,
	"discovery/hcard.html":              true,
	"schemas/federation_entities.json":  true,
}

func init() {
	for _, e := range []string{
		"account_deletion", "account_migration", "comment", "contact", "conversation", "embed", "event",
		"event_participation", "like", "location", "message", "participation", "photo", "poll", "poll_answer",
		"poll_participation", "post", "profile", "reshare", "retraction", "status_message",
	} {
		upstreamPages["entities/"+e+".html"] = true
	}
}

var upstreamURL = regexp.MustCompile(`https?://diaspora\.github\.io/diaspora_federation(/[A-Za-z0-9_./#-]*)?`)

// upstreamPage returns the page a documentation URL names, relative to
// the documentation's root, without fragment or sentence punctuation.
func upstreamPage(url string) string {
	m := upstreamURL.FindStringSubmatch(url)
	if m == nil {
		return ""
	}
	page, _, _ := strings.Cut(strings.TrimPrefix(m[1], "/"), "#")
	return strings.TrimRight(page, ".")
}

// TestCitations reads every file of the repository (tracked, or new and
// not ignored) and fails on a reference a reader cannot open: a document
// kept beside the repository, or a page of the upstream documentation
// that does not exist.
func TestCitations(t *testing.T) {
	root := repoRoot(t)
	files := repoFiles(t, root)
	if len(files) < 100 {
		t.Fatalf("only %d files found under %s", len(files), root)
	}
	used := map[[2]string]bool{}
	for _, rel := range files {
		data, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the work tree, not yet in the index
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
			continue // binary
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, len(data)+1)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			for _, r := range rules {
				m := r.re.FindString(line)
				if m == "" {
					continue
				}
				if isAllowed(rel, r.name) {
					used[[2]string{rel, r.name}] = true
					continue
				}
				t.Errorf("%s:%d: %q refers to a document outside the repository: %s\n\t%s", rel, n, m, r.fix, strings.TrimSpace(line))
			}
			for _, u := range upstreamURL.FindAllString(line, -1) {
				if !upstreamPages[upstreamPage(u)] {
					t.Errorf("%s:%d: %s is no page of the protocol documentation (known: the upstreamPages of %s)", rel, n, u, "internal/harness/repocheck")
				}
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
	}
	for _, a := range allowed {
		if !used[[2]string{a.path, a.rule}] {
			t.Errorf("allow-list entry %s (%s) is stale: the file makes no such reference any more; remove the entry", a.path, a.rule)
		}
	}
}

// TestRules pins down what the rules catch and what they leave alone.
// The citations are built from parts so that this file does not make
// them itself.
func TestRules(t *testing.T) {
	md := ".md"
	tests := []struct {
		line string
		want string // rule name, "" for none
	}{
		{"// checks the sender (PROTOCOL" + md + " §10.3)", "digest"},
		{"# receive burst (SECURITY" + md + " R6)", "digest"},
		{"see STYLE" + md, "digest"},
		{"It implements §14 (shared/" + "spec/PROTOCOL" + md + ")", "digest"},
		{"// else .." + "/shared/vectors beside the checkout", "sibling"},
		{"SHARED=${SHARED:-.." + "/shared}", "sibling"},
		{"see the digest in shared" + "/spec", "sibling"},
		{"// (LIMITS.md R1)", ""},
		{"see testdata/hostile/README.md", ""},
		{"https://diaspora.github.io/diaspora_federation/federation/magicsig.html", ""},
		{"a docs/security.md of our own", ""},
		{"the shared key of both pods", ""},
	}
	for _, tt := range tests {
		var got []string
		for _, r := range rules {
			if r.re.MatchString(tt.line) {
				got = append(got, r.name)
			}
		}
		if tt.want == "" && len(got) != 0 || tt.want != "" && !slices.Contains(got, tt.want) {
			t.Errorf("%q: rules %v, want %q", tt.line, got, tt.want)
		}
	}

	for url, want := range map[string]string{
		"https://diaspora.github.io/diaspora_federation/":                                     "",
		"https://diaspora.github.io/diaspora_federation":                                      "",
		"https://diaspora.github.io/diaspora_federation/federation/relayable.html.":           "federation/relayable.html",
		"https://diaspora.github.io/diaspora_federation/federation/types.html#diaspora-id":    "federation/types.html",
		"https://diaspora.github.io/diaspora_federation/entities/":                            "entities/",
		"https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json":     "schemas/federation_entities.json",
		"https://diaspora.github.io/diaspora_federation/federation/relayable.html#relaying).": "federation/relayable.html",
	} {
		if got := upstreamPage(url); got != want || !upstreamPages[got] {
			t.Errorf("upstreamPage(%q) = %q (known %v), want %q", url, got, upstreamPages[got], want)
		}
	}
	if upstreamPages[upstreamPage("https://"+"diaspora.github.io/diaspora_federation/federation/json.html")] {
		t.Error("federation/json.html is taken for a page")
	}
}

// repoRoot is the directory of this module's go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			bytes.HasPrefix(b, []byte("module github.com/go-diaspora/federation\n")) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod of github.com/go-diaspora/federation not found")
		}
		dir = parent
	}
}

// repoFiles lists the repository's files, slash-separated and relative to
// root: what git tracks plus new files it does not ignore, or, without
// git, every file outside .git.
func repoFiles(t *testing.T, root string) []string {
	t.Helper()
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	out, err := cmd.Output()
	if err == nil {
		var files []string
		for f := range strings.SplitSeq(strings.TrimSuffix(string(out), "\x00"), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		slices.Sort(files)
		return slices.Compact(files)
	}
	t.Logf("git ls-files: %v; walking the directory instead", err)
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}
