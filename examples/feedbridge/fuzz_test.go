package main

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-diaspora/federation/entities"
)

// FuzzParseFeed feeds arbitrary documents to the feed reader and the text
// builder: no panic, the caps hold, and every entry becomes valid UTF-8
// text that a status message accepts.
func FuzzParseFeed(f *testing.F) {
	for _, seed := range []string{
		atomSample, rssSample,
		`<feed xmlns="http://www.w3.org/2005/Atom"><entry><title type="html">&lt;p&gt;x&lt;script&gt;</title><content type="xhtml"><div><p>a</p>b</div></content></entry></feed>`,
		`<rss><channel><item><description>&lt;a href="x&gt;<![CDATA[<b>]]></description><guid></guid></item></channel></rss>`,
		`<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]><rss/>`,
		"<rss><channel><item><title>\xe9 &#1;</title><link>javascript:x</link></item></channel></rss>",
		"<rss><channel><item><title>- 1. # [a](b) @{c; d@e}</title></item></channel></rss>",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := ParseFeed(data, testBase)
		if err != nil {
			return
		}
		if len(entries) > maxFeedEntries {
			t.Fatalf("%d entries", len(entries))
		}
		for _, e := range entries {
			if e.ID == "" || len(e.ID) > maxIDBytes {
				t.Fatalf("entry ID %q", e.ID)
			}
			if utf8.RuneCountInString(e.Title) > maxTitleRunes || utf8.RuneCountInString(e.Summary) > maxSummaryRunes ||
				strings.Contains(e.Title, "\n") || (e.Link != "" && e.Link != safeLink(testBase, e.Link)) {
				t.Fatalf("entry over its caps: %+v", e)
			}
			text := statusText(e)
			if !utf8.ValidString(text) {
				t.Fatalf("invalid UTF-8 in %q", text)
			}
			if text == "" {
				if e.Title != "" || e.Summary != "" || e.Link != "" {
					t.Fatalf("no text for %+v", e)
				}
				continue
			}
			sm := &entities.StatusMessage{Author: "news@feeds.example", GUID: "0123456789abcdef0123456789abcdef", Public: true, Text: text}
			if err := sm.Validate(); err != nil {
				t.Fatalf("text %q: %v", text, err)
			}
			if _, err := entities.MarshalXML(sm); err != nil {
				t.Fatalf("text %q: %v", text, err)
			}
		}
	})
}
