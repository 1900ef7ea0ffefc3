package main

import (
	"fmt"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-diaspora/federation/entities"
)

// maxLinkBytes bounds the link of an entry; a longer one is left out.
const maxLinkBytes = 2048

// statusText builds the Markdown text of the status message for e: the
// title in bold, the link on its own line, then the summary's
// paragraphs. Text from the feed is escaped so that it reads as written:
// no emphasis, links, headings, lists, HTML or @{mentions} come out of a
// feed's words (#tags do, as the feed's author meant them).
func statusText(e Entry) string {
	var parts []string
	if e.Title != "" {
		parts = append(parts, "**"+escapeMarkdown(e.Title)+"**")
	}
	if e.Link != "" && len(e.Link) <= maxLinkBytes {
		parts = append(parts, "<"+autolinkSafe(e.Link)+">")
	}
	if e.Summary != "" && e.Summary != e.Title {
		for _, p := range strings.Split(e.Summary, "\n\n") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, escapeMarkdown(p))
			}
		}
	}
	return entities.Sanitize(strings.Join(parts, "\n\n"))
}

// markdownSpecial are the characters escaped wherever they appear: they
// start emphasis, code, links, HTML, strikethrough and diaspora* mentions
// (@{Name; id}, which would notify the person named).
const markdownSpecial = "\\`*_[]<~{}"

// escapeMarkdown escapes one line of plain text for Markdown. Besides
// markdownSpecial it escapes "&" before what could be an entity, and the
// markers that only count at the start of a line: "#" and ">" of headings
// and quotes, "-", "+" and "=" of lists, thematic breaks and headings,
// and the "1." or "1)" of an ordered list. A #word elsewhere is left
// alone: diaspora* makes it a tag whether escaped or not.
func escapeMarkdown(s string) string {
	var b strings.Builder
	b.Grow(len(s) + len(s)/8)
	// markerEnd reports whether a line-start marker ending before i is
	// followed by white space or the end of the line, as list items are.
	markerEnd := func(i int) bool { return i >= len(s) || s[i] == ' ' || s[i] == '\t' }
	switch {
	case s == "":
	case s[0] == '#' || s[0] == '>':
		b.WriteByte('\\')
	case strings.ContainsRune("-+=", rune(s[0])) && (markerEnd(1) || s[1] == s[0]):
		b.WriteByte('\\') // a list item, a thematic break or a heading underline
	default:
		digits := 0
		for digits < len(s) && digits < 10 && s[digits] >= '0' && s[digits] <= '9' {
			digits++
		}
		if digits > 0 && digits < len(s) && (s[digits] == '.' || s[digits] == ')') && markerEnd(digits+1) {
			b.WriteString(s[:digits])
			b.WriteByte('\\')
			s = s[digits:]
		}
	}
	for i, r := range s {
		switch {
		case strings.ContainsRune(markdownSpecial, r):
			b.WriteByte('\\')
		case r == '&' && i+1 < len(s) && (s[i+1] == '#' || isASCIILetter(s[i+1])):
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// autolinkSafe makes an http(s) URL fit between < and > of a Markdown
// autolink, which allows no spaces, angle brackets or control characters.
func autolinkSafe(u string) string {
	var b strings.Builder
	for i := 0; i < len(u); i++ {
		switch c := u[i]; {
		case c <= ' ' || c == '<' || c == '>' || c == 0x7f:
			fmt.Fprintf(&b, "%%%02X", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// breakMark marks a paragraph break while HTML is reduced to text.
const breakMark = '\x00'

// blockElements are the HTML elements that begin a new paragraph.
var blockElements = map[string]bool{
	"p": true, "div": true, "br": true, "hr": true, "li": true, "ul": true, "ol": true, "dl": true, "dt": true,
	"dd": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true, "blockquote": true,
	"pre": true, "table": true, "tr": true, "section": true, "article": true, "header": true, "footer": true,
	"figure": true, "figcaption": true, "aside": true, "nav": true,
}

// stripHTML reduces an HTML fragment to text: tags and comments go,
// script and style elements go with their content, character references
// are decoded, block elements become paragraph breaks (blank lines) and
// other white space becomes single spaces. It is no HTML parser, and needs
// none: its output is escaped as text, never rendered as HTML.
func stripHTML(s string) string {
	s = strings.ReplaceAll(s, string(breakMark), "")
	var b strings.Builder
	text := func(t string) {
		t = html.UnescapeString(t)
		b.WriteString(strings.Map(func(r rune) rune {
			if r == '\n' || r == '\r' || r == '\t' || r == breakMark {
				return ' '
			}
			return r
		}, t))
	}
	for s != "" {
		i := strings.IndexByte(s, '<')
		if i < 0 {
			text(s)
			break
		}
		text(s[:i])
		s = s[i:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s[4:], "-->")
			if end < 0 {
				break
			}
			s = s[4+end+3:]
			continue
		}
		if len(s) < 2 || !(isASCIILetter(s[1]) || s[1] == '/' || s[1] == '!' || s[1] == '?') {
			b.WriteByte('<') // a lone "<" is text
			s = s[1:]
			continue
		}
		end := tagEnd(s)
		if end < 0 {
			break // an unterminated tag: the rest is markup
		}
		name, closing := tagName(s[1:end])
		s = s[end+1:]
		switch {
		case !closing && (name == "script" || name == "style"):
			if j := indexFoldASCII(s, "</"+name); j >= 0 {
				s = s[j:]
			} else {
				s = ""
			}
		case blockElements[name]:
			b.WriteRune(breakMark)
		}
	}
	return paragraphBreaks(b.String())
}

// tagEnd returns the index of the ">" that ends the tag at the start of s,
// skipping quoted attribute values, or -1.
func tagEnd(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

// tagName returns the lowercase name of a tag's inside ("a href=..." or
// "/p") and whether it closes an element.
func tagName(tag string) (name string, closing bool) {
	if strings.HasPrefix(tag, "/") {
		closing, tag = true, tag[1:]
	}
	n := 0
	for n < len(tag) && (isASCIILetter(tag[n]) || (n > 0 && tag[n] >= '0' && tag[n] <= '9')) {
		n++
	}
	return strings.ToLower(tag[:n]), closing
}

// indexFoldASCII is strings.Index for an ASCII needle, ignoring ASCII case.
func indexFoldASCII(s, needle string) int {
	for i := 0; i+len(needle) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(needle)], needle) {
			return i
		}
	}
	return -1
}

func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// paragraphBreaks turns runs of breakMark into blank lines.
func paragraphBreaks(s string) string {
	var out []string
	for _, p := range strings.Split(s, string(breakMark)) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "\n\n")
}

// paragraphs normalizes plain text: paragraphs are separated by one blank
// line, white space inside them collapses to single spaces, control
// characters go, and the whole is cut to max characters.
func paragraphs(s string, max int) string {
	var out []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = cur[:0]
		}
	}
	for _, line := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		words := strings.Fields(clean(line))
		if len(words) == 0 {
			flush()
			continue
		}
		cur = append(cur, words...)
	}
	flush()
	return truncate(strings.Join(out, "\n\n"), max)
}

// oneLine normalizes text to one line of at most max characters.
func oneLine(s string, max int) string {
	return truncate(strings.Join(strings.Fields(clean(s)), " "), max)
}

// clean removes control characters other than white space, and makes
// invalid UTF-8 U+FFFD.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && !unicode.IsSpace(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
}

// truncate cuts s to at most max characters, at a space if there is one
// in the last fifth, marking the cut with "…".
func truncate(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	cut, count := 0, 0
	for n := range s {
		if count == max-1 {
			cut = n
			break
		}
		count++
	}
	s = s[:cut]
	if sp := strings.LastIndexAny(s, " \n"); sp > len(s)*4/5 {
		s = s[:sp]
	}
	return strings.TrimSpace(s) + "…"
}
