package entities

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/seeds"
)

// sameTree returns "" when a and b are the same tree, or where they differ.
func sameTree(a, b *node, at string) string {
	if (a == nil) != (b == nil) {
		return at + ": one tree is nil"
	}
	if a == nil {
		return ""
	}
	at += "/" + a.name
	switch {
	case a.name != b.name:
		return fmt.Sprintf("%s: name %q vs %q", at, a.name, b.name)
	case a.hasChildNodes != b.hasChildNodes:
		return fmt.Sprintf("%s: hasChildNodes %v vs %v", at, a.hasChildNodes, b.hasChildNodes)
	case a.start != b.start || a.end != b.end:
		return fmt.Sprintf("%s: offsets %d-%d vs %d-%d", at, a.start, a.end, b.start, b.end)
	case len(a.parts) != len(b.parts):
		return fmt.Sprintf("%s: %d parts vs %d", at, len(a.parts), len(b.parts))
	case len(a.children) != len(b.children):
		return fmt.Sprintf("%s: %d children vs %d", at, len(a.children), len(b.children))
	}
	for i := range a.parts {
		if a.parts[i] != b.parts[i] {
			return fmt.Sprintf("%s: part %d %+v vs %+v", at, i, a.parts[i], b.parts[i])
		}
	}
	for i := range a.children {
		if d := sameTree(a.children[i], b.children[i], at); d != "" {
			return d
		}
	}
	return ""
}

// checkFastTree holds parseTree (fast path first) to slowTree on data:
// the same tree, or the same error.
func checkFastTree(t *testing.T, data []byte, o *Options) (fast bool) {
	t.Helper()
	got, gerr := parseTree(data, o)
	want, werr := slowTree(data, o)
	if (gerr == nil) != (werr == nil) || (gerr != nil && gerr.Error() != werr.Error()) {
		t.Fatalf("parseTree error %v, slowTree error %v for %q", gerr, werr, data)
	}
	if d := sameTree(got, want, ""); d != "" {
		t.Fatalf("fast and full trees differ at %s for %q", d, data)
	}
	if len(data) > o.maxSize() {
		return false
	}
	_, fast = fastTree(data, o.maxDepth(), o.maxElements())
	return fast
}

var tightOptions = &Options{MaxDepth: 3, MaxElements: 8}

func vectorSeeds(tb testing.TB) [][]byte {
	out := seeds.Files(tb, 0, seeds.Reference+"/entity_xml/*.xml", seeds.Reference+"/relayable_xml/*.xml")
	out = append(out, seeds.Hostile(tb, 0, ".xml")...)
	if len(out) < 50 {
		tb.Fatalf("only %d seed files", len(out))
	}
	return out
}

func TestFastTree(t *testing.T) {
	basic, err := os.ReadFile("../testdata/vectors/reference/entity_xml/status_message_basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	s := string(basic)
	cases := map[string]bool{ // input → taken by the fast path
		s: true,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + s: true,
		"\uFEFF" + s: true,
		strings.Replace(s, "Hello", "&lt;b&gt; &amp; &#x1F305; &#246; &quot;&apos;", 1):    true,
		strings.Replace(s, "<public>true</public>", "<public/>", 1):                        true,
		strings.Replace(s, "<public>true</public>", "<x_y.z-1><a/>t<b>u</b></x_y.z-1>", 1): true,
		strings.Replace(s, "Hello", "caf\u00e9 \U0001F305", 1):                             true,
		strings.Replace(s, "Hello", "&#0;", 1):                                             false, // not an XML character
		strings.Replace(s, "Hello", "&#xD800;", 1):                                         false,
		strings.Replace(s, "Hello", "&nbsp;", 1):                                           false,
		strings.Replace(s, "Hello", "&amp", 1):                                             false,
		strings.Replace(s, "Hello", "a]]>b", 1):                                            false,
		strings.Replace(s, "Hello", "a\rb", 1):                                             false,
		strings.Replace(s, "Hello", "a\x01b", 1):                                           false,
		strings.Replace(s, "Hello", "a\xffb", 1):                                           false,
		strings.Replace(s, "Hello", "<!-- c -->", 1):                                       false,
		strings.Replace(s, "Hello", "<![CDATA[x]]>", 1):                                    false,
		strings.Replace(s, "Hello", "<?pi x?>", 1):                                         false,
		strings.Replace(s, "<public>", "<public a='1'>", 1):                                false,
		strings.Replace(s, "<public>", "<p:public xmlns:p='u'>", 1):                        false,
		strings.Replace(s, "</public>", "</public >", 1):                                   false,
		strings.Replace(s, "</public>", "</publi>", 1):                                     false,
		`<!DOCTYPE x [<!ENTITY a "b">]>` + s:                                               false,
		s[:len(s)/2]:                                                                       false, // truncated
		s + "<x/>":                                                                         false,
		s + "text":                                                                         false,
		"":                                                                                 false,
		"<a><b><c><d/></c></b></a>":                                                        false, // over tightOptions' depth
		"<a><b/><b/><b/><b/><b/><b/><b/><b/></a>":                                          false, // over its element budget
		"<a>" + strings.Repeat("<b></b>", 9) + "</a>":                                      false, // too many tags for it
	}
	for in, wantFast := range cases {
		o := &Options{}
		if strings.HasPrefix(in, "<a>") {
			o = tightOptions
		}
		if fast := checkFastTree(t, []byte(in), o); fast != wantFast {
			t.Errorf("fast path taken = %v, want %v for %.100q", fast, wantFast, in)
		}
	}
	// The vectors take the fast path, except those of unusual shape.
	fastCount := 0
	inputs := vectorSeeds(t)
	for _, b := range inputs {
		if checkFastTree(t, b, nil) {
			fastCount++
		}
		checkFastTree(t, b, tightOptions)
	}
	if fastCount < len(inputs)/2 {
		t.Errorf("only %d of %d vectors take the fast path", fastCount, len(inputs))
	}
}

// FuzzFastTree: parseTree (the fast path, falling back to encoding/xml)
// and slowTree (encoding/xml only) give the same tree or the same error,
// under the default limits and under tight ones.
func FuzzFastTree(f *testing.F) {
	for _, b := range vectorSeeds(f) {
		if len(b) <= 8<<10 {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFastTree(t, data, nil)
		checkFastTree(t, data, tightOptions)
	})
}
