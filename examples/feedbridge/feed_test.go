package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const atomSample = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/">
  <title type="html">Ada &amp;amp; Grace's &lt;i&gt;blog&lt;/i&gt;</title>
  <link rel="self" href="https://blog.example/atom.xml"/>
  <entry>
    <id>tag:blog.example,2026:2</id>
    <title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">Second <em>post</em></div></title>
    <link rel="edit" href="https://blog.example/edit/2"/>
    <link rel="alternate" href="/2026/second"/>
    <updated>2026-03-02T10:00:00Z</updated>
    <media:title>not the title</media:title>
    <content type="html">&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two &lt;script&gt;alert(1)&lt;/script&gt;three&lt;/p&gt;</content>
  </entry>
  <entry>
    <id>tag:blog.example,2026:1</id>
    <title>First *post*</title>
    <link href="https://blog.example/2026/first"/>
    <published>2026-03-01T10:00:00+01:00</published>
    <summary>Plain
text

in two paragraphs</summary>
  </entry>
</feed>`

func TestParseAtom(t *testing.T) {
	f, err := ParseFeed([]byte(atomSample))
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Ada & Grace's blog" {
		t.Errorf("title %q", f.Title)
	}
	want := []Entry{
		{ID: "tag:blog.example,2026:2", Title: "Second post", Link: "/2026/second", Summary: "One\n\nTwo three",
			Published: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)},
		{ID: "tag:blog.example,2026:1", Title: "First *post*", Link: "https://blog.example/2026/first",
			Summary: "Plain text\n\nin two paragraphs", Published: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)},
	}
	checkEntries(t, f.Entries, want)
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
    <guid isPermaLink="false">ep-2</guid>
    <pubDate>Tue, 03 Mar 2026 08:00:00 +0000</pubDate>
    <content:encoded><![CDATA[<p>Full <a href="x">text</a><br/>second line</p>]]></content:encoded>
  </item>
  <item>
    <title>Episode 1</title>
    <link>https://radio.example/1</link>
    <description>&lt;p&gt;Short &amp;amp; sweet&lt;/p&gt;</description>
    <pubDate>Mon, 2 Mar 2026 08:00:00 GMT</pubDate>
  </item>
  <item><description>   </description></item>
</channel>
</rss>`

func TestParseRSS(t *testing.T) {
	f, err := ParseFeed([]byte(rssSample))
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Radio Example" {
		t.Errorf("title %q", f.Title)
	}
	want := []Entry{
		{ID: "ep-2", Title: "Episode 2", Link: "https://radio.example/2", Summary: "Full text\n\nsecond line",
			Published: time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)},
		{ID: "https://radio.example/1", Title: "Episode 1", Link: "https://radio.example/1", Summary: "Short & sweet",
			Published: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)},
	}
	checkEntries(t, f.Entries, want)
}

func TestParseRSS10(t *testing.T) {
	doc := `<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/">
	<channel rdf:about="https://old.example/"><title>Old</title></channel>
	<item rdf:about="https://old.example/a"><title>A</title><link>https://old.example/a</link><description>about a</description></item>
	</rdf:RDF>`
	f, err := ParseFeed([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if f.Title != "Old" {
		t.Errorf("title %q", f.Title)
	}
	checkEntries(t, f.Entries, []Entry{{ID: "https://old.example/a", Title: "A", Link: "https://old.example/a", Summary: "about a"}})
}

func TestParseFeedEncodings(t *testing.T) {
	latin1 := "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><rss><channel><item><title>Caf\xe9</title><guid>1</guid></item></channel></rss>"
	f, err := ParseFeed([]byte(latin1))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 1 || f.Entries[0].Title != "Café" {
		t.Errorf("entries %+v", f.Entries)
	}
	if _, err := ParseFeed([]byte(`<?xml version="1.0" encoding="KOI8-R"?><rss/>`)); err == nil {
		t.Error("an unsupported encoding was accepted")
	}
}

func TestParseFeedEntryIDs(t *testing.T) {
	long := strings.Repeat("x", maxIDBytes+1)
	doc := `<rss><channel>
	<item><title>no id, no link</title></item>
	<item><guid>` + long + `</guid><title>long id</title></item>
	<item><guid>  padded  </guid></item>
	<item><title>no id, no link</title></item>
	</channel></rss>`
	f, err := ParseFeed([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Entries) != 3 { // the empty item is dropped
		t.Fatalf("%d entries: %+v", len(f.Entries), f.Entries)
	}
	if id := f.Entries[0].ID; !strings.HasPrefix(id, "sha256:") || len(id) != 7+64 {
		t.Errorf("entry without id or link got ID %q", id)
	}
	if id := f.Entries[1].ID; !strings.HasPrefix(id, "sha256:") {
		t.Errorf("over-long ID kept: %q", id)
	}
	// The same content gives the same ID, so that it is recognized on the next poll.
	g, _ := ParseFeed([]byte(doc))
	if g.Entries[0].ID != f.Entries[0].ID {
		t.Error("hashed IDs differ between two parses")
	}
}

func TestParseFeedHostile(t *testing.T) {
	many := "<rss><channel>" + strings.Repeat("<item><title>t</title><guid>g</guid></item>", maxFeedEntries+10) + "</channel></rss>"
	f, err := ParseFeed([]byte(many))
	if err != nil || len(f.Entries) != maxFeedEntries {
		t.Errorf("a feed with too many entries: %v, %d entries", err, len(f.Entries))
	}
	for _, c := range []struct {
		name string
		doc  string
		want error
	}{
		{"empty", "", errNotFeed},
		{"not XML", "{\"items\": []}", errNotFeed},
		{"HTML", "<!doctype html><html><body>hi</body></html>", errFeedDoctype},
		{"DOCTYPE", `<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "boom">]><rss><channel><item><title>&x;</title></item></channel></rss>`, errFeedDoctype},
		{"entity without DOCTYPE", `<rss><channel><item><title>&x;</title></item></channel></rss>`, errNotFeed},
		{"other root", `<html><body/></html>`, errNotFeed},
		{"rss without channel", `<rss version="2.0"/>`, errNotFeed},
		{"two roots", `<feed xmlns="http://www.w3.org/2005/Atom"/><feed/>`, errNotFeed},
		{"unclosed", `<feed xmlns="http://www.w3.org/2005/Atom"><entry>`, errNotFeed},
		{"deep", strings.Repeat("<a>", maxFeedDepth+1) + strings.Repeat("</a>", maxFeedDepth+1), errFeedTooDeep},
		{"oversized", "<rss>" + strings.Repeat(" ", maxFeedBytes) + "</rss>", errFeedTooLarge},
	} {
		if _, err := ParseFeed([]byte(c.doc)); !errors.Is(err, c.want) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.want)
		}
	}
}

func TestResolveLinks(t *testing.T) {
	entries := []Entry{{Link: "/a b"}, {Link: "javascript:alert(1)"}, {Link: "https://user:pw@x.example/"},
		{Link: "https://other.example/x?y=1"}, {Link: ""}, {Link: "%zz"}}
	resolveLinks(entries, "https://blog.example/feeds/atom.xml")
	want := []string{"https://blog.example/a%20b", "", "", "https://other.example/x?y=1", "", ""}
	for i, e := range entries {
		if e.Link != want[i] {
			t.Errorf("link %d: %q, want %q", i, e.Link, want[i])
		}
	}
}

func TestNewEntries(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 1, d, 0, 0, 0, 0, time.UTC) }
	seen := func(id string) bool { return id == "b" }
	// Dated entries: oldest first, whatever the document order.
	got := newEntries([]Entry{{ID: "c", Published: day(1)}, {ID: "a", Published: day(3)}, {ID: "b", Published: day(2)}, {ID: "d", Published: day(2)}}, seen, 10)
	if ids := idsOf(got); ids != "c d a" {
		t.Errorf("dated: %s", ids)
	}
	// Without dates: the reverse of document order (feeds list the newest first).
	got = newEntries([]Entry{{ID: "a"}, {ID: "b"}, {ID: "c"}, {ID: "a"}}, seen, 10)
	if ids := idsOf(got); ids != "c a" {
		t.Errorf("undated: %s", ids)
	}
	got = newEntries([]Entry{{ID: "z"}, {ID: "y"}, {ID: "x"}}, seen, 2)
	if ids := idsOf(got); ids != "x y" {
		t.Errorf("capped: %s", ids)
	}
}

func TestFetcher(t *testing.T) {
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests = append(requests, r.Header.Get("If-None-Match"))
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat("x", maxFeedBytes+1)))
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		default:
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Write([]byte(atomSample))
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	f := &fetcher{client: srv.Client(), url: srv.URL + "/feed", userAgent: "test"}
	if _, err := f.fetch(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := f.fetch(ctx); err != nil { // not committed: asked unconditionally again
		t.Fatal(err)
	}
	f.commit()
	if _, err := f.fetch(ctx); !errors.Is(err, errNotModified) {
		t.Errorf("after commit: %v, want errNotModified", err)
	}
	if fmt.Sprint(requests) != `[  "v1"]` {
		t.Errorf("If-None-Match sent: %q", requests)
	}
	f.url = srv.URL + "/big"
	if _, err := f.fetch(ctx); !errors.Is(err, errFeedTooLarge) {
		t.Errorf("big body: %v", err)
	}
	f.url = srv.URL + "/gone"
	if _, err := f.fetch(ctx); err == nil || !strings.Contains(err.Error(), "410") {
		t.Errorf("410: %v", err)
	}
}

func checkEntries(t *testing.T, got, want []Entry) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || g.Title != w.Title || g.Link != w.Link || g.Summary != w.Summary || !g.Published.Equal(w.Published) {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func idsOf(es []Entry) string {
	var ids []string
	for _, e := range es {
		ids = append(ids, e.ID)
	}
	return strings.Join(ids, " ")
}
