package main

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

var testBase, _ = url.Parse("https://blog.example/feeds/atom.xml")

const atomSample = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title type="html">Ada &amp;amp; Grace's &lt;i&gt;blog&lt;/i&gt;</title>
  <link rel="self" href="https://blog.example/atom.xml"/>
  <entry>
    <id>tag:blog.example,2026:2</id>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Second <em>post</em> &amp; more</div></title>
    <link rel="edit" href="https://blog.example/edit/2"/>
    <link rel="alternate" href="/2026/second"/>
    <media:title>not the title</media:title>
    <content type="html">&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two &lt;script&gt;alert(1)&lt;/script&gt;three&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:blog.example,2026:1</id>
    <title>First *post* &lt;b&gt;</title>
    <link href="https://blog.example/2026/first"/>
    <summary><![CDATA[Plain
text]]>

in two paragraphs</summary>
  </entry>
</feed>`

func TestParseAtom(t *testing.T) {
	entries, err := ParseFeed([]byte(atomSample), testBase)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, entries, []Entry{
		{ID: "tag:blog.example,2026:2", Title: "Second post & more", Link: "https://blog.example/2026/second", Summary: "One\n\nTwo three"},
		{ID: "tag:blog.example,2026:1", Title: "First *post* <b>", Link: "https://blog.example/2026/first",
			Summary: "Plain text\n\nin two paragraphs"},
	})
}

const rssSample = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
<channel>
  <title>Radio &lt;b&gt;Example&lt;/b&gt;</title>
  <link>https://radio.example/</link>
  <atom:link href="https://radio.example/rss" rel="self" type="application/rss+xml"/>
  <item>
    <title>Episode 2</title>
    <itunes:title>not the title</itunes:title>
    <link>https://radio.example/2</link>
    <atom:link href="https://radio.example/not-the-link"/>
    <guid isPermaLink="false">ep-2</guid>
    <content:encoded><![CDATA[<p>Full <a href="x">text</a><br/>second line</p>]]></content:encoded>
  </item>
  <item>
    <title>Episode 1</title>
    <link>https://radio.example/1</link>
    <description>&lt;p&gt;Short &amp;amp; sweet&lt;/p&gt;</description>
  </item>
  <item><description>   </description></item>
</channel>
</rss>`

func TestParseRSS(t *testing.T) {
	entries, err := ParseFeed([]byte(rssSample), testBase)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, entries, []Entry{ // the empty item is left out
		{ID: "ep-2", Title: "Episode 2", Link: "https://radio.example/2", Summary: "Full text\n\nsecond line"},
		{ID: "https://radio.example/1", Title: "Episode 1", Link: "https://radio.example/1", Summary: "Short & sweet"},
	})
}

func TestParseFeedEntryIDs(t *testing.T) {
	doc := `<rss><channel>
	<item><title>no id, no link</title></item>
	<item><guid>` + strings.Repeat("x", maxIDBytes+1) + `</guid><title>long id</title></item>
	<item><guid>  padded  </guid><title>t</title></item>
	<item><title>no id</title><link>/a</link></item>
	<item><title>only an unsafe link</title><link>javascript:alert(1)</link></item>
	<item><guid>only a link</guid><link>https://x.example/</link></item>
	</channel></rss>`
	entries, err := ParseFeed([]byte(doc), testBase)
	if err != nil {
		t.Fatal(err)
	}
	checkEntries(t, entries, []Entry{ // entries without an ID (or with an over-long one) are left out
		{ID: "padded", Title: "t"},
		{ID: "https://blog.example/a", Title: "no id", Link: "https://blog.example/a"},
		{ID: "only a link", Link: "https://x.example/"},
	})
}

func TestParseFeedHostile(t *testing.T) {
	many := "<rss><channel>" + strings.Repeat("<item><guid>g</guid><title>t</title></item>", maxFeedEntries+10) + "</channel></rss>"
	if entries, err := ParseFeed([]byte(many), testBase); err != nil || len(entries) != maxFeedEntries {
		t.Errorf("a feed with too many entries: %v, %d entries", err, len(entries))
	}
	long := "<rss><channel><item><guid>g</guid><title>" + strings.Repeat("t ", 1000) + "</title><description>" +
		strings.Repeat("&lt;p&gt;s&lt;/p&gt;", 3000) + "</description></item></channel></rss>"
	if e, err := ParseFeed([]byte(long), testBase); err != nil || len([]rune(e[0].Title)) != maxTitleRunes || len([]rune(e[0].Summary)) != maxSummaryRunes {
		t.Errorf("long texts are not cut: %v, %+v", err, e)
	}
	deep := `<rss><channel><item><guid>g</guid>` + strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000) + `<title>t</title></item></channel></rss>`
	if e, err := ParseFeed([]byte(deep), testBase); err != nil || len(e) != 1 || e[0].Title != "t" {
		t.Errorf("deep nesting: %v, %+v", err, e)
	}
	if _, err := ParseFeed([]byte("<rss>"+strings.Repeat(" ", maxFeedBytes)+"</rss>"), testBase); err == nil ||
		!strings.Contains(err.Error(), "larger than") {
		t.Errorf("oversized: error %v", err)
	}
	for _, c := range []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", errNotFeed},
		{"not XML", `{"items": []}`, errNotFeed},
		{"HTML", "<!doctype html><html><body>hi</body></html>", errNotFeed},
		{"entity from a DOCTYPE", `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "boom">]><rss><channel><item><title>&x;</title></item></channel></rss>`, errNotFeed},
		{"RSS 1.0", `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><item/></rdf:RDF>`, errNotFeed},
		{"Atom without namespace", `<feed><entry><title>t</title></entry></feed>`, errNotFeed},
		{"unclosed", `<feed xmlns="http://www.w3.org/2005/Atom"><entry>`, errNotFeed},
		{"broken entry", `<rss><channel><item><title>t</item></channel></rss>`, errNotFeed},
		{"other encoding", `<?xml version="1.0" encoding="KOI8-R"?><rss/>`, errNotFeed},
	} {
		if _, err := ParseFeed([]byte(c.doc), testBase); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestSafeLink(t *testing.T) {
	for ref, want := range map[string]string{
		"/a b":                          "https://blog.example/a%20b",
		"post?q=<x>":                    "https://blog.example/feeds/post?q=%3Cx%3E",
		"https://other.example/x?y=1":   "https://other.example/x?y=1",
		"javascript:alert(1)":           "",
		"https://user:pw@x.example/":    "",
		"":                              "",
		"%zz":                           "",
		"https://x.example/\nfoo":       "",
		"/" + strings.Repeat("a", 2100): "",
	} {
		if got := safeLink(testBase, ref); got != want {
			t.Errorf("safeLink(%q) = %q, want %q", ref, got, want)
		}
	}
}

func checkEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
