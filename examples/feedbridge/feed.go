package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-diaspora/federation/entities"
)

// Limits of the feed reader: a feed is untrusted input.
const (
	maxFeedBytes    = 4 << 20 // a larger body is refused
	maxFeedEntries  = 500     // entries read; the rest of the document is ignored
	maxIDBytes      = 512     // an entry with a longer ID is left out
	maxTitleRunes   = 300
	maxSummaryRunes = 2000
	maxLinkBytes    = 2048
)

var errNotFeed = errors.New("feed: not an Atom 1.0 or RSS 2.0 document")

// Entry is one feed entry as plain text; the summary's paragraphs are
// separated by blank lines.
type Entry struct {
	ID      string // the Atom id or RSS guid, else the link: the same at every poll
	Title   string
	Link    string // absolute and safe: see safeLink
	Summary string
}

// fetchFeed gets the feed and parses it.
func (b *Bridge) fetchFeed(ctx context.Context) ([]Entry, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.cfg.FeedURL, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", userAgent)
	resp, err := b.feed.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("feed: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return nil, err
	}
	return ParseFeed(data, resp.Request.URL) // the URL after redirects
}

// RSS 2.0 has no namespace; the decoder gives its elements nsRSS, so that
// "rss title" matches <title> but not the likes of <itunes:title>.
const nsAtom, nsRSS = "http://www.w3.org/2005/Atom", "rss"

// atomEntry and rssItem are what encoding/xml fills from an entry.
type atomEntry struct {
	ID    string   `xml:"http://www.w3.org/2005/Atom id"`
	Title atomText `xml:"http://www.w3.org/2005/Atom title"`
	Links []struct {
		Rel  string `xml:"rel,attr"`
		Href string `xml:"href,attr"`
	} `xml:"http://www.w3.org/2005/Atom link"`
	Summary atomText `xml:"http://www.w3.org/2005/Atom summary"`
	Content atomText `xml:"http://www.w3.org/2005/Atom content"`
}

type rssItem struct {
	GUID        string `xml:"rss guid"`
	Title       string `xml:"rss title"`
	Link        string `xml:"rss link"`
	Description string `xml:"rss description"`
	Content     string `xml:"http://purl.org/rss/1.0/modules/content/ encoded"`
}

// atomText is an Atom text construct: type "text", "html" (escaped
// markup) or "xhtml" (inline markup).
type atomText struct {
	Type  string `xml:"type,attr"`
	Text  string `xml:",chardata"`
	Inner string `xml:",innerxml"`
}

func (t atomText) String() string {
	switch t.Type {
	case "html":
		return stripHTML(t.Text)
	case "xhtml":
		return stripHTML(t.Inner)
	}
	return t.Text
}

func (a *atomEntry) entry() Entry {
	e := Entry{ID: a.ID, Title: a.Title.String(), Summary: cmp.Or(a.Summary.String(), a.Content.String())}
	for _, l := range a.Links {
		if e.Link == "" && (l.Rel == "" || l.Rel == "alternate") {
			e.Link = l.Href
		}
	}
	return e
}

func (it *rssItem) entry() Entry {
	return Entry{ID: it.GUID, Title: stripHTML(it.Title), Link: it.Link, Summary: stripHTML(cmp.Or(it.Description, it.Content))}
}

// ParseFeed reads the entries of an Atom 1.0 or RSS 2.0 document, one at
// a time, at most maxFeedEntries; their text is cut to size and their
// links are resolved against base. encoding/xml expands no entities but
// XML's five predefined ones: a DOCTYPE cannot make a small feed large.
func ParseFeed(data []byte, base *url.URL) ([]Entry, error) {
	if len(data) > maxFeedBytes {
		return nil, fmt.Errorf("feed: larger than %d bytes", maxFeedBytes)
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.DefaultSpace = nsRSS
	var entries []Entry
	for root := true; len(entries) < maxFeedEntries; {
		tok, err := d.Token()
		if err == io.EOF && !root {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%w: %v", errNotFeed, err)
		}
		start, _ := tok.(xml.StartElement)
		var item interface{ entry() Entry }
		switch name := start.Name; {
		case name.Local == "":
			continue // not an element
		case root:
			if name != (xml.Name{Space: nsAtom, Local: "feed"}) && name != (xml.Name{Space: nsRSS, Local: "rss"}) {
				return nil, fmt.Errorf("%w: root element <%s>", errNotFeed, name.Local)
			}
			root = false
			continue
		case name == xml.Name{Space: nsAtom, Local: "entry"}:
			item = &atomEntry{}
		case name == xml.Name{Space: nsRSS, Local: "item"}:
			item = &rssItem{}
		default:
			continue
		}
		if err := d.DecodeElement(item, &start); err != nil {
			return nil, fmt.Errorf("%w: %v", errNotFeed, err)
		}
		e := item.entry()
		e.Title = truncate(strings.Join(strings.Fields(e.Title), " "), maxTitleRunes)
		e.Summary = truncate(paragraphs(e.Summary), maxSummaryRunes)
		e.Link = safeLink(base, strings.TrimSpace(e.Link))
		e.ID = cmp.Or(strings.TrimSpace(e.ID), e.Link) // without one, it could not be told from a new entry
		if e.ID != "" && len(e.ID) <= maxIDBytes && (e.Title != "" || e.Summary != "" || e.Link != "") {
			entries = append(entries, e)
		}
	}
	return entries, nil
}

// safeLink resolves ref against base and returns it only if it is an
// http(s) URL that fits a Markdown autolink.
func safeLink(base *url.URL, ref string) string {
	u, err := base.Parse(ref)
	if err != nil || ref == "" || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	// url.Parse refuses control characters; these are the others an
	// autolink cannot hold.
	if link := strings.NewReplacer(" ", "%20", "<", "%3C", ">", "%3E").Replace(u.String()); len(link) <= maxLinkBytes {
		return link
	}
	return ""
}

// statusText is the Markdown text of the status message for e: the title
// in bold, the link, then the summary.
func statusText(e Entry) string {
	var parts []string
	if e.Title != "" {
		parts = append(parts, "**"+escapeMarkdown(e.Title)+"**")
	}
	if e.Link != "" {
		parts = append(parts, "<"+e.Link+">")
	}
	if e.Summary != "" && e.Summary != e.Title {
		parts = append(parts, escapeMarkdown(e.Summary))
	}
	return entities.Sanitize(strings.Join(parts, "\n\n")) // no characters XML cannot carry
}

var (
	// markdownEscaper escapes what starts emphasis, code, links, HTML,
	// strikethrough and diaspora* mentions (@{Name; id}, which would
	// notify that person).
	markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
		"<", `\<`, "~", `\~`, "{", `\{`, "}", `\}`)
	lineMarker = regexp.MustCompile(`(?m)^(?:[#>+=-]|\d+[.)])`)                                 // headings, quotes, lists, rules
	blankLines = regexp.MustCompile(`\n\s*\n`)                                                  // paragraph breaks of plain text
	hiddenHTML = regexp.MustCompile(`(?is)<!--.*?-->|<(script|style)\b.*?</(script|style)\s*>`) // RE2: linear time
	blockTag   = regexp.MustCompile(`(?i)</?(p|div|br|li|h[1-6]|blockquote|pre|tr|hr)\b[^>]*>`)
	anyTag     = regexp.MustCompile(`<[a-zA-Z/!?][^>]*>`)
)

// escapeMarkdown escapes plain text so that Markdown shows it as written.
// A #word that does not start a line stays a tag, as the feed meant it.
func escapeMarkdown(s string) string {
	return lineMarker.ReplaceAllStringFunc(markdownEscaper.Replace(s), func(m string) string {
		return m[:len(m)-1] + `\` + m[len(m)-1:] // "\#", "1\."
	})
}

// stripHTML reduces HTML to text: comments, scripts and styles go, block
// elements become paragraph breaks, other tags go, and character
// references are decoded. It needs to be no HTML parser: what is left is
// escaped as text, never rendered as HTML.
func stripHTML(s string) string {
	s = strings.Join(strings.Fields(s), " ") // white space in HTML is one space
	s = hiddenHTML.ReplaceAllString(s, "")
	s = blockTag.ReplaceAllString(s, "\n\n")
	return html.UnescapeString(anyTag.ReplaceAllString(s, ""))
}

// paragraphs collapses white space inside paragraphs and separates them
// by one blank line.
func paragraphs(s string) string {
	var out []string
	for _, p := range blankLines.Split(s, -1) {
		if p = strings.Join(strings.Fields(p), " "); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

// truncate cuts s to at most max characters, marking the cut with "…".
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	return strings.TrimSpace(string([]rune(s)[:max-1])) + "…"
}
