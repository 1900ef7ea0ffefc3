package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-diaspora/federation/entities"
)

func TestStatusText(t *testing.T) {
	for _, c := range []struct {
		name string
		e    Entry
		want string
	}{
		{"all parts",
			Entry{Title: "Go 1.27 is out", Link: "https://go.dev/blog/go1.27", Summary: "It is *faster*.\n\n#golang and #go @{Rob; rob@pod.example}"},
			"**Go 1.27 is out**\n\n<https://go.dev/blog/go1.27>\n\nIt is \\*faster\\*.\n\n\\#golang and #go @\\{Rob; rob@pod.example\\}"},
		{"title only", Entry{Title: "[link](javascript:x)"}, "**\\[link\\](javascript:x)**"},
		{"summary equal to title", Entry{Title: "Same", Summary: "Same"}, "**Same**"},
		{"line-start markers", Entry{Summary: "- not a list\n\n1. not a list\n\n2026) a year\n\n> nor a quote"},
			"\\- not a list\n\n1\\. not a list\n\n2026\\) a year\n\n\\> nor a quote"},
		{"characters XML cannot carry", Entry{Title: "a\x01b"}, "**a\uFFFDb**"},
		{"nothing", Entry{}, ""},
	} {
		if got := statusText(c.e); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// What statusText makes of the longest entry is a valid status message.
	e := Entry{Title: strings.Repeat("*", maxTitleRunes), Link: "https://x.example/" + strings.Repeat("a", maxLinkBytes-20),
		Summary: strings.Repeat("_", maxSummaryRunes)}
	sm := &entities.StatusMessage{Author: "news@feeds.example", GUID: newGUID(), Public: true, Text: statusText(e)}
	if err := sm.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestEscapeMarkdown(t *testing.T) {
	for in, want := range map[string]string{
		"plain words, nothing to do.": "plain words, nothing to do.",
		"a_b *c* `d` ~e~ |f|":         "a\\_b \\*c\\* \\`d\\` \\~e\\~ |f|",
		"<b>bold</b> & co":            "\\<b>bold\\</b> & co",
		"## heading":                  "\\## heading",
		"C# and #tags":                "C# and #tags",
		"+ item":                      "\\+ item",
		"--- rule":                    "\\--- rule",
		"= underline":                 "\\= underline",
		"3.14 is a number":            "3\\.14 is a number",
		"back\\slash":                 "back\\\\slash",
		"@{Rob; rob@pod.example}":     "@\\{Rob; rob@pod.example\\}",
		"":                            "",
	} {
		if got := escapeMarkdown(in); got != want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripHTML(t *testing.T) {
	for in, want := range map[string]string{
		"<p>One <b>bold</b> word</p><p>Two</p>":                 "One bold word\n\nTwo",
		"a<br>b<br/><br />c":                                    "a\n\nb\n\nc",
		"x <script>alert('<p>')</script> y <STYLE>p{}</style>z": "x y z",
		"<!-- comment <p> -->text":                              "text",
		"1 < 2 and 3 > 2":                                       "1 < 2 and 3 > 2",
		"&lt;not a tag&gt; &amp; &eacute; &#x263a;":             "<not a tag> & é ☺",
		"line\nbreaks\tin   source":                             "line breaks in source",
		"<ul><li>one</li><li>two</li></ul>":                     "one\n\ntwo",
		"<img src=x onerror=alert(1)>caption":                   "caption",
		"<scripture>kept</scripture>":                           "kept",
		"<p\nclass=x>multi-line tag</p>":                        "multi-line tag",
		"&lt;script&gt;alert(1)&lt;/script&gt;":                 "<script>alert(1)</script>",
		"<h2 id=\"x\">Heading</h2><P>Para</P>":                  "Heading\n\nPara",
		"<p>unterminated <a href=\"":                            "unterminated <a href=\"",
	} {
		if got := paragraphs(stripHTML(in)); got != want {
			t.Errorf("stripHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParagraphsAndTruncate(t *testing.T) {
	if got := paragraphs(" a\r\n b \n \n\n c d "); got != "a b\n\nc d" {
		t.Errorf("paragraphs: %q", got)
	}
	if got := truncate(strings.Repeat("é", 60), 50); utf8.RuneCountInString(got) != 50 || !strings.HasSuffix(got, "é…") {
		t.Errorf("truncate: %q", got)
	}
	if got := truncate("short", 5); got != "short" {
		t.Errorf("truncate of a short text: %q", got)
	}
}
