package render

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// FuzzMarkdown renders any text with Markdown and Plain: neither may
// panic, and both must give valid UTF-8 with only allowed elements,
// attributes and URLs (see checkSafe). Markdown must render short text as
// goldmark does without the bounds against hostile text, when none
// applied. Plain, which knows no Markdown, must link the tags that the
// pod's rule finds, when no mention hides them.
func FuzzMarkdown(f *testing.F) {
	for _, cases := range [][]renderCase{markdownCases, tagCases, mentionCases} {
		for _, c := range cases {
			f.Add(c.in)
		}
	}
	for _, c := range hostileCases {
		f.Add(c.in)
	}
	for _, c := range hostileInputs {
		f.Add(c.in[:min(len(c.in), 256)])
	}
	f.Add(typicalPost)
	unbound := newMarkdown(false)
	f.Fuzz(func(t *testing.T, in string) {
		checkSafe(t, in, string(Markdown(in, nil)), false)
		// goldmark alone is quadratic on some text: compare on short text.
		src := []byte(prepare(in, defaultMaxInput))
		if got, bounded := toHTML(markdown, src, nil); !bounded && len(src) <= 4096 {
			if want, _ := toHTML(unbound, src, nil); string(got) != string(want) {
				t.Fatalf("%q: bounded %q, goldmark %q", in, got, want)
			}
		}
		plain := string(Plain(in, nil))
		checkSafe(t, in, plain, false)
		if !strings.Contains(in, "@{") {
			if got, want := linkedTags(plain), podTags(prepare(in, defaultMaxInput)); !slices.Equal(got, want) {
				t.Fatalf("Plain(%q) links tags %q, the pod's rule finds %q", in, got, want)
			}
		}
	})
}

// podTags returns the tags that the pod's rule finds in text, lowercased
// and trimmed as the pod does, in order, with repeats.
func podTags(text string) []string {
	var tags []string
	for _, m := range podTagPattern.FindAllStringSubmatch(text, -1) {
		if name := strings.ToLower(strings.TrimRight(m[1], "-")); name != "" {
			tags = append(tags, name)
		}
	}
	return tags
}

// linkedTags returns the tags that out links to (with the default
// TagURL), in order.
func linkedTags(out string) []string {
	var tags []string
	z := html.NewTokenizer(strings.NewReader(out))
	for tt := z.Next(); tt != html.ErrorToken; tt = z.Next() {
		if tt != html.StartTagToken {
			continue
		}
		for _, a := range z.Token().Attr {
			if a.Key == "href" && strings.HasPrefix(a.Val, "/tags/") {
				tag, err := url.PathUnescape(strings.TrimPrefix(a.Val, "/tags/"))
				if err != nil {
					tag = "bad escape: " + a.Val
				}
				tags = append(tags, tag)
			}
		}
	}
	return tags
}
