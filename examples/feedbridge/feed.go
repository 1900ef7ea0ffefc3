package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of the feed reader. A feed is untrusted input: it is read with a
// size cap, parsed without DTDs, and only this much of it is kept.
const (
	maxFeedBytes    = 4 << 20 // a larger body is refused
	maxFeedElements = 200_000 // XML elements in one document
	maxFeedDepth    = 64      // nesting of elements
	maxFeedEntries  = 500     // entries kept, in document order
	maxIDBytes      = 512     // longer entry IDs are replaced by their hash
	maxTitleRunes   = 300
	maxSummaryRunes = 2000
)

// Errors of the feed reader.
var (
	errNotFeed      = errors.New("feed: not an Atom or RSS document")
	errFeedDoctype  = errors.New("feed: DOCTYPE and other directives are not allowed")
	errFeedTooLarge = fmt.Errorf("feed: larger than %d bytes", maxFeedBytes)
	errFeedTooDeep  = errors.New("feed: too many or too deeply nested elements")
)

// Namespaces the reader looks for.
const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsRSS10   = "http://purl.org/rss/1.0/"
	nsRDF     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
)

// Feed is what the bridge needs of an Atom or RSS document.
type Feed struct {
	Title   string
	Entries []Entry
}

// Entry is one feed entry, as plain text: HTML in titles and summaries
// has been reduced to text, paragraphs are separated by blank lines.
type Entry struct {
	// ID identifies the entry across polls: the Atom id, the RSS guid,
	// else the link, else a hash of the content.
	ID        string
	Title     string
	Link      string // as the feed has it; possibly relative
	Summary   string
	Published time.Time // zero when the feed gives no date
}

// ParseFeed reads an Atom 1.0, RSS 2.0 (or 0.9x) or RSS 1.0 document.
// It refuses DOCTYPEs, documents over maxFeedBytes and absurd nesting,
// and keeps at most maxFeedEntries entries.
func ParseFeed(data []byte) (*Feed, error) {
	if len(data) > maxFeedBytes {
		return nil, errFeedTooLarge
	}
	root, err := parseTree(data)
	if err != nil {
		return nil, err
	}
	switch {
	case root.name.Local == "feed":
		return parseAtom(root), nil
	case root.name.Local == "rss":
		ch := root.child("", "channel")
		if ch == nil {
			return nil, fmt.Errorf("%w: <rss> without <channel>", errNotFeed)
		}
		return parseRSS(ch.text("", "title"), ch.children("", "item"), ""), nil
	case root.name.Local == "RDF" && root.name.Space == nsRDF:
		var title string
		if ch := root.child(nsRSS10, "channel"); ch != nil {
			title = ch.text(nsRSS10, "title")
		}
		return parseRSS(title, root.children(nsRSS10, "item"), nsRSS10), nil
	}
	return nil, fmt.Errorf("%w: root element <%s>", errNotFeed, root.name.Local)
}

func parseAtom(root *node) *Feed {
	ns := root.name.Space // Atom 1.0, or whatever an older feed uses
	f := &Feed{Title: oneLine(atomText(root.child(ns, "title")), maxTitleRunes)}
	for _, n := range root.children(ns, "entry") {
		e := Entry{ID: n.text(ns, "id"), Title: oneLine(atomText(n.child(ns, "title")), maxTitleRunes)}
		for _, l := range n.children(ns, "link") {
			if rel := l.attr("rel"); (rel == "" || rel == "alternate") && e.Link == "" {
				e.Link = strings.TrimSpace(l.attr("href"))
			}
		}
		summary := n.child(ns, "summary")
		if summary == nil {
			summary = n.child(ns, "content")
		}
		e.Summary = paragraphs(atomText(summary), maxSummaryRunes)
		for _, name := range []string{"published", "updated", "issued", "modified"} {
			if t, err := time.Parse(time.RFC3339, n.text(ns, name)); err == nil {
				e.Published = t
				break
			}
		}
		f.add(e)
	}
	return f
}

// atomText reads an Atom text construct (type text, html or xhtml) as
// plain text with paragraph breaks.
func atomText(n *node) string {
	if n == nil {
		return ""
	}
	switch n.attr("type") {
	case "html", "text/html":
		return stripHTML(n.content())
	case "xhtml":
		return n.xhtmlText()
	}
	return n.content()
}

func parseRSS(title string, items []*node, ns string) *Feed {
	f := &Feed{Title: oneLine(stripHTML(title), maxTitleRunes)}
	for _, n := range items {
		e := Entry{
			ID:    n.text(ns, "guid"),
			Title: oneLine(stripHTML(n.text(ns, "title")), maxTitleRunes),
			Link:  n.text(ns, "link"),
		}
		if e.ID == "" && ns == nsRSS10 {
			e.ID = strings.TrimSpace(n.attrNS(nsRDF, "about"))
		}
		desc := n.text(ns, "description")
		if desc == "" {
			desc = n.text(nsContent, "encoded")
		}
		e.Summary = paragraphs(stripHTML(desc), maxSummaryRunes)
		if t, ok := parseRSSDate(n.text(ns, "pubDate")); ok {
			e.Published = t
		}
		f.add(e)
	}
	return f
}

// add keeps e if it says anything, giving it an ID if it has none.
func (f *Feed) add(e Entry) {
	if len(f.Entries) >= maxFeedEntries || (e.Title == "" && e.Link == "" && e.Summary == "") {
		return
	}
	e.ID = strings.TrimSpace(e.ID)
	if e.ID == "" {
		e.ID = e.Link
	}
	if e.ID == "" || len(e.ID) > maxIDBytes || !utf8.ValidString(e.ID) {
		sum := sha256.Sum256([]byte(e.ID + "\x00" + e.Title + "\x00" + e.Link + "\x00" + e.Summary))
		e.ID = "sha256:" + hex.EncodeToString(sum[:])
	}
	f.Entries = append(f.Entries, e)
}

// rssDateLayouts are the date forms RSS feeds use in pubDate (RFC 822
// and the usual deviations from it).
var rssDateLayouts = []string{
	time.RFC1123Z, time.RFC1123, "Mon, 2 Jan 2006 15:04:05 -0700", "Mon, 2 Jan 2006 15:04:05 MST",
	"2 Jan 2006 15:04:05 -0700", "Mon, 02 Jan 2006 15:04 -0700", time.RFC3339,
}

func parseRSSDate(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range rssDateLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// node is an element of a parsed document. Text between elements is kept
// as child nodes with an empty name, so that mixed content keeps its
// order.
type node struct {
	name  xml.Name
	attrs []xml.Attr
	kids  []*node
	chars string // text of a text node
}

// parseTree parses data into a tree, refusing directives (DOCTYPE),
// more than maxFeedElements elements and more than maxFeedDepth levels.
// encoding/xml expands no entity but the five predefined ones.
func parseTree(data []byte) (*node, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.CharsetReader = charsetReader
	var root *node
	var stack []*node
	elements := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errNotFeed, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errFeedDoctype
		case xml.StartElement:
			elements++
			if elements > maxFeedElements || len(stack) >= maxFeedDepth {
				return nil, errFeedTooDeep
			}
			n := &node{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, fmt.Errorf("%w: more than one root element", errNotFeed)
				}
				root = n
			} else {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1] // the decoder checks that tags match
		case xml.CharData:
			if len(stack) > 0 {
				top := stack[len(stack)-1]
				top.kids = append(top.kids, &node{chars: string(t)})
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("%w: no root element", errNotFeed)
	}
	return root, nil
}

// charsetReader lets the decoder read the encodings feeds declare besides
// UTF-8: US-ASCII (a subset) and ISO-8859-1 (each byte is its code point).
func charsetReader(charset string, input io.Reader) (io.Reader, error) {
	switch strings.ToLower(charset) {
	case "utf-8", "utf8", "us-ascii", "ascii":
		return input, nil
	case "iso-8859-1", "latin1", "latin-1", "iso_8859-1":
		b, err := io.ReadAll(io.LimitReader(input, maxFeedBytes+1))
		if err != nil {
			return nil, err
		}
		var out strings.Builder
		for _, c := range b {
			out.WriteRune(rune(c))
		}
		return strings.NewReader(out.String()), nil
	}
	return nil, fmt.Errorf("unsupported encoding %q", charset)
}

// child returns the first child element with the given name; an empty
// space matches elements without a namespace only.
func (n *node) child(space, local string) *node {
	for _, k := range n.kids {
		if k.name.Local == local && k.name.Space == space {
			return k
		}
	}
	return nil
}

func (n *node) children(space, local string) []*node {
	var out []*node
	for _, k := range n.kids {
		if k.name.Local == local && k.name.Space == space {
			out = append(out, k)
		}
	}
	return out
}

// text returns the trimmed content of the first such child, or "".
func (n *node) text(space, local string) string {
	if k := n.child(space, local); k != nil {
		return strings.TrimSpace(k.content())
	}
	return ""
}

func (n *node) attr(local string) string { return n.attrNS("", local) }

func (n *node) attrNS(space, local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == space {
			return a.Value
		}
	}
	return ""
}

// content is the text of all descendants, in document order.
func (n *node) content() string {
	var b strings.Builder
	n.walk(&b, false)
	return b.String()
}

// xhtmlText is the text of an xhtml construct, with paragraph breaks
// where block elements begin and end.
func (n *node) xhtmlText() string {
	var b strings.Builder
	n.walk(&b, true)
	return paragraphBreaks(b.String())
}

func (n *node) walk(b *strings.Builder, blocks bool) {
	if n.name.Local == "" {
		if blocks {
			b.WriteString(strings.ReplaceAll(n.chars, "\n", " "))
		} else {
			b.WriteString(n.chars)
		}
		return
	}
	block := blocks && blockElements[strings.ToLower(n.name.Local)]
	if block {
		b.WriteByte(breakMark)
	}
	for _, k := range n.kids {
		k.walk(b, blocks)
	}
	if block {
		b.WriteByte(breakMark)
	}
}

// fetcher gets the feed over HTTP with conditional requests, so that an
// unchanged feed costs the publisher little. The validators of a response
// are used only once the caller has dealt with its entries (commit).
type fetcher struct {
	client            *http.Client
	url               string
	userAgent         string
	etag, lastMod     string // sent with the next request
	nextETag, nextMod string // of the last response, until commit
}

// commit makes the next request conditional on the last response.
func (f *fetcher) commit() { f.etag, f.lastMod = f.nextETag, f.nextMod }

// errNotModified: the feed has not changed since the last fetch.
var errNotModified = errors.New("feed not modified")

// fetch returns the feed's body, or errNotModified.
func (f *fetcher) fetch(ctx context.Context) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", f.userAgent)
	req.Header.Set("Accept", "application/atom+xml, application/rss+xml, application/rdf+xml;q=0.9, application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1")
	if f.etag != "" {
		req.Header.Set("If-None-Match", f.etag)
	}
	if f.lastMod != "" {
		req.Header.Set("If-Modified-Since", f.lastMod)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetching feed: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotModified:
		return nil, errNotModified
	default:
		return nil, fmt.Errorf("fetching feed: %s answered %s", f.url, resp.Status)
	}
	if resp.ContentLength > maxFeedBytes {
		return nil, errFeedTooLarge
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxFeedBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading feed: %w", err)
	}
	if len(body) > maxFeedBytes {
		return nil, errFeedTooLarge
	}
	f.nextETag, f.nextMod = resp.Header.Get("ETag"), resp.Header.Get("Last-Modified")
	return body, nil
}

// resolveLinks makes the entries' links absolute against the feed's URL
// and drops links that are not http or https.
func resolveLinks(entries []Entry, feedURL string) {
	base, err := url.Parse(feedURL)
	if err != nil {
		return
	}
	for i := range entries {
		entries[i].Link = safeLink(base, entries[i].Link)
	}
}

// safeLink resolves ref against base and returns it only if it is an
// http(s) URL without user information.
func safeLink(base *url.URL, ref string) string {
	u, err := url.Parse(strings.TrimSpace(ref))
	if err != nil || ref == "" {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return ""
	}
	return u.String()
}

// newEntries returns the entries not yet published, oldest first (by date
// when every entry has one, else the reverse of document order, since
// feeds list the newest first), at most max of them.
func newEntries(entries []Entry, seen func(id string) bool, max int) []Entry {
	var out []Entry
	dated := true
	ids := map[string]bool{}
	for _, e := range entries {
		if seen(e.ID) || ids[e.ID] {
			continue
		}
		ids[e.ID] = true
		dated = dated && !e.Published.IsZero()
		out = append(out, e)
	}
	slices.Reverse(out)
	if dated {
		slices.SortStableFunc(out, func(a, b Entry) int { return a.Published.Compare(b.Published) })
	}
	if len(out) > max {
		out = out[:max]
	}
	return out
}
