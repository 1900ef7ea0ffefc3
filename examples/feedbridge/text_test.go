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
		{"link with spaces and brackets", Entry{Link: "https://x.example/?q=a b<c>"}, "<https://x.example/?q=a%20b%3Cc%3E>"},
		{"over-long link left out", Entry{Title: "t", Link: "https://x.example/" + strings.Repeat("a", maxLinkBytes)}, "**t**"},
		{"line-start markers", Entry{Summary: "- not a list\n\n1. not a list\n\n2026) a year\n\n= nor a heading"},
			"\\- not a list\n\n1\\. not a list\n\n2026\\) a year\n\n\\= nor a heading"},
		{"nothing", Entry{}, ""},
	} {
		if got := statusText(c.e); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

func TestStatusTextIsValid(t *testing.T) {
	// What statusText makes is a valid status message text.
	e := Entry{Title: strings.Repeat("t", maxTitleRunes), Link: "https://x.example/", Summary: strings.Repeat("s ", maxSummaryRunes)}
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
		"&amp; &#39; & ;":             "\\&amp; \\&#39; & ;",
		"> quote":                     "\\> quote",
		"## heading":                  "\\## heading",
		"C# and #tags":                "C# and #tags",
		"+ item":                      "\\+ item",
		"3.14 is not a list item":     "3.14 is not a list item",
		"12345678901. long number":    "12345678901. long number",
		"-5 degrees, +3 later":        "-5 degrees, +3 later",
		"--- rule":                    "\\--- rule",
		"2026) a year":                "2026\\) a year",
		"1.":                          "1\\.",
		"back\\slash":                 "back\\\\slash",
		"":                            "",
	} {
		if got := escapeMarkdown(in); got != want {
			t.Errorf("escapeMarkdown(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStripHTML(t *testing.T) {
	for in, want := range map[string]string{
		"<p>One <b>bold</b> word</p><p>Two</p>":                    "One bold word\n\nTwo",
		"a<br>b<br/><br />c":                                       "a\n\nb\n\nc",
		"x <script>alert('<p>')</script> y <STYLE>p{}</style>z":    "x y z",
		"<!-- comment <p> -->text":                                 "text",
		"1 < 2 and 3 > 2":                                          "1 < 2 and 3 > 2",
		`<a href="x>y" title='>'>link</a>`:                         "link",
		"&lt;not a tag&gt; &amp; &eacute; &#x263a;":                "<not a tag> & é ☺",
		"line\nbreaks\tin   source":                                "line breaks in source",
		"<p>unterminated <a href=\"":                               "unterminated",
		"<script>never closed":                                     "",
		"<ul><li>one</li><li>two</li></ul>":                        "one\n\ntwo",
		"before <!-- unterminated comment":                         "before",
		"\x00hidden break\x00":                                     "hidden break",
		"<h1>T</h1>\n\n<div><div>nested</div></div>":               "T\n\nnested",
		"ok <?php echo 1 ?> <!doctype x> <![CDATA[ z ]]> done":     "ok done",
		strings.Repeat("<", 1000) + " a":                           strings.Repeat("<", 1000) + " a",
		"<p>caf\xe9</p>":                                           "caf\xe9",
		"<img src=x onerror=alert(1)>caption":                      "caption",
		"<SCRIPT>x</SCRIPT>visible":                                "visible",
		"<scripture>kept</scripture>":                              "kept",
		"<p\nclass=x>multi-line tag</p>":                           "multi-line tag",
		"&lt;script&gt;alert(1)&lt;/script&gt;":                    "<script>alert(1)</script>",
		"<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr>":  "ab\n\nc",
		"<blockquote>quoted</blockquote>after":                     "quoted\n\nafter",
		"<pre>  code\n  block</pre>":                               "code   block",
		"text <a href='unterminated>never":                         "text",
		"<p>x</p>\n<p>y</p>\n":                                     "x\n\ny",
		"<p>&nbsp;</p><p>y</p>":                                    "y",
		"<p>a</p><!-- c --><p>b</p>":                               "a\n\nb",
		"<br><br><br>":                                             "",
		"<section><p>s</p></section><footer>f</footer>":            "s\n\nf",
		"<em>emphasis</em> and <strong>strong</strong>":            "emphasis and strong",
		"<p>one</p>two":                                            "one\n\ntwo",
		"<figure><img src=a><figcaption>cap</figcaption></figure>": "cap",
		"<div>a<span>b</span>c</div>":                              "abc",
		"<h2 id=\"x\">Heading</h2><p>Para</p>":                     "Heading\n\nPara",
		"tab\tand\u00a0nbsp":                                       "tab and\u00a0nbsp",
		"<p>x</p >":                                                "x",
		"< p>not a tag</p>":                                        "< p>not a tag",
		"<a\n href=\"x\"\n>multi</a>":                              "multi",
		"<br/>start":                                               "start",
		"end<br/>":                                                 "end",
		"<P>Upper</P><BR>case":                                     "Upper\n\ncase",
		"<style>/* never closed":                                   "",
		"<script>a</script><script>b</script>c":                    "c",
		"<script src=x></script>after":                             "after",
		"<noscript>shown</noscript>":                               "shown",
		"x<br>":                                                    "x",
		"<p>&amp;lt;</p>":                                          "&lt;",
		"<p>a</p><p></p><p>b</p>":                                  "a\n\nb",
		"&":                                                        "&",
		"<":                                                        "<",
		"<!--":                                                     "",
		"<!":                                                       "",
		"<a":                                                       "",
		"</":                                                       "",
	} {
		got := strings.TrimSpace(stripHTML(in))
		// Inside a paragraph stripHTML keeps white space as spaces;
		// paragraphs() collapses it later, as the feed reader does.
		got = paragraphs(got, 1<<20)
		if want = paragraphs(want, 1<<20); got != want {
			t.Errorf("stripHTML(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParagraphsAndTruncate(t *testing.T) {
	if got := paragraphs(" a\r\n b \n\n\n c\x01d ", 100); got != "a b\n\ncd" {
		t.Errorf("paragraphs: %q", got)
	}
	if got := oneLine("  a \n\n b\tc ", 100); got != "a b c" {
		t.Errorf("oneLine: %q", got)
	}
	long := strings.Repeat("word ", 100)
	got := truncate(long, 50)
	if n := utf8.RuneCountInString(got); n > 50 || !strings.HasSuffix(got, "word…") {
		t.Errorf("truncate to 50: %d characters, %q", n, got)
	}
	if got := truncate(strings.Repeat("é", 60), 50); utf8.RuneCountInString(got) != 50 || !utf8.ValidString(got) {
		t.Errorf("truncate without spaces: %q", got)
	}
	if got := truncate("short", 50); got != "short" {
		t.Errorf("truncate of a short text: %q", got)
	}
}
