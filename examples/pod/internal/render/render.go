// Package render turns the text of diaspora* posts, comments and profiles
// into HTML that is safe to put in a page of the pod's web interface.
//
// Remote content is hostile by default, so every result goes through two
// independent layers:
//
//  1. The Markdown parser (goldmark) runs without its raw-HTML parsers:
//     "<b>" in a post is text, shown as typed, never markup. The pod's own
//     renderers write links and images only for http, https and (links
//     only) relative URLs, and add rel="nofollow noopener noreferrer" to
//     every link.
//  2. The HTML it writes is then always sanitized by a strict allowlist
//     (bluemonday): p, br, em, strong, del, code, pre, blockquote, ul, ol,
//     li, h1-h6, hr, table elements, a (href http, https or relative) and
//     img (src http or https, alt, title, loading="lazy"). No script,
//     style, iframe, object, embed, svg, math, form or input elements, no
//     on* handler, style, class or id attribute, and no data:, javascript:
//     or vbscript: URL survive.
//
// Links get no target attribute: they open where the reader chooses.
//
// #tags and @{Name; id@pod.example} mentions are linked with the URLs of
// [Options], by the pod's rules (a tag is '#' and one or more letters,
// digits, '_' or '-', where '#' does not follow a letter, digit, '_', '&',
// '/' or '#'), except inside code, link texts and URLs. In Markdown, a
// backslash keeps a tag text (\#tag), and a mention must fit on one line.
//
// Hostile text stays cheap to render, in time linear in its length
// (goldmark alone takes quadratic time, or worse, on some text): input
// longer than [Options.MaxInput] is cut before rendering, and past the
// following bounds the Markdown is shown as typed:
//   - block quotes and lists nest 32 levels at most (a list and its item
//     are two);
//   - 32 link texts ("[" not yet closed) at most are open at once;
//   - an inline link's "(destination "title")" closes on its line, within
//     4 KiB;
//   - link reference definitions ("[label]: URL") count in paragraphs
//     with 64 lines starting with '[' at most;
//   - the tables of a text have 4096 cells in all at most.
package render

import (
	"bytes"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
)

// defaultMaxInput is the default of [Options.MaxInput].
const defaultMaxInput = 64 << 10

// Options says how to link tags and mentions. A nil *Options, and any zero
// field, take the defaults.
type Options struct {
	// TagURL returns the link of a #tag, given its lowercased name with
	// trailing '-' trimmed. The default is "/tags/" + url.PathEscape(tag).
	TagURL func(tag string) string

	// PersonURL returns the link of a mentioned diaspora* ID, given
	// normalized (lowercased, as "alice@pod.example"). The default is
	// "/people?q=" + url.QueryEscape(id).
	PersonURL func(id string) string

	// MaxInput caps the length of the text rendered, in bytes. Longer text
	// is cut at a rune boundary before rendering, and "…" appended. Zero
	// or less means the default, 65536 (64 KiB): a post of 65,535
	// characters, the most that the entities package accepts, fits if it
	// is ASCII; 262140 fits any.
	MaxInput int
}

func (o *Options) tagURL(tag string) string {
	if o != nil && o.TagURL != nil {
		return o.TagURL(tag)
	}
	return "/tags/" + url.PathEscape(tag)
}

func (o *Options) personURL(id string) string {
	if o != nil && o.PersonURL != nil {
		return o.PersonURL(id)
	}
	return "/people?q=" + url.QueryEscape(id)
}

func (o *Options) maxInput() int {
	if o != nil && o.MaxInput > 0 {
		return o.MaxInput
	}
	return defaultMaxInput
}

// Markdown renders text, diaspora* Markdown, as sanitized HTML: CommonMark
// with strikethrough, tables, bare URLs linked, line breaks kept, #tags
// and mentions linked with the URLs of o, and no raw HTML.
func Markdown(text string, o *Options) template.HTML {
	html, _ := toHTML(markdown, []byte(prepare(text, o.maxInput())), o)
	return template.HTML(sanitize(html))
}

// Plain renders text with no Markdown, for profile bios and the like, as
// sanitized inline HTML (no <p>): it is escaped, line breaks become <br>,
// and #tags and mentions are linked with the URLs of o as in [Markdown],
// but for there being no backslash escape, and a mention's name may span
// lines.
func Plain(text string, o *Options) template.HTML {
	src := []byte(prepare(text, o.maxInput()))
	var b bytes.Buffer
	b.Grow(len(src) + len(src)/4)
	run := 0 // start of the text not yet written
	lastTagEnd := -1
	for i := 0; i < len(src); {
		switch src[i] {
		case '@':
			if id, name, n := matchMention(src[i:]); n > 0 {
				template.HTMLEscape(&b, src[run:i])
				writeLink(&b, o.personURL(id), name)
				i += n
				run = i
				continue
			}
		case '#':
			var prev rune = -1
			if i > 0 {
				prev, _ = utf8.DecodeLastRune(src[:i])
			}
			if i == lastTagEnd || isTagBoundary(prev) {
				break
			}
			n := tagLength(src[i+1:])
			if n == 0 {
				break
			}
			end := i + 1 + n
			lastTagEnd = end
			if name := tagName(string(src[i+1 : end])); name != "" {
				template.HTMLEscape(&b, src[run:i])
				writeLink(&b, o.tagURL(name), string(src[i:end]))
				run = end
			}
			i = end
			continue
		case '\r', '\n':
			template.HTMLEscape(&b, src[run:i])
			if src[i] == '\r' && i+1 < len(src) && src[i+1] == '\n' {
				i++
			}
			b.WriteString("<br>\n")
			i++
			run = i
			continue
		}
		i++
	}
	template.HTMLEscape(&b, src[run:])
	return template.HTML(sanitize(b.Bytes()))
}

// linkRel is the rel of every link written.
const linkRel = "nofollow noopener noreferrer"

// writeLink writes an <a> to href showing text, both escaped.
func writeLink(b *bytes.Buffer, href, text string) {
	b.WriteString(`<a href="`)
	template.HTMLEscape(b, []byte(href))
	b.WriteString(`" rel="` + linkRel + `">`)
	template.HTMLEscape(b, []byte(text))
	b.WriteString("</a>")
}

// prepare cuts text to max bytes at a rune boundary, appending "…" when
// it cut, and makes it valid UTF-8 without NUL characters.
func prepare(text string, max int) string {
	if len(text) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	if strings.IndexByte(text, 0) >= 0 {
		text = strings.ReplaceAll(text, "\x00", "\uFFFD")
	}
	return text
}

// isTagRune is [\p{L}\p{N}_-]: the characters of a tag name.
func isTagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-'
}

// isTagBoundary is [\p{L}\p{N}_&/#]: a character that may not precede the
// '#' of a tag.
func isTagBoundary(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '&' || r == '/' || r == '#'
}

// tagLength returns the length in bytes of the tag runes s starts with.
func tagLength(s []byte) int {
	n := 0
	for n < len(s) {
		r, w := utf8.DecodeRune(s[n:])
		if !isTagRune(r) {
			break
		}
		n += w
	}
	return n
}

// tagName is the name a tag is linked and indexed by: lowercased, with
// trailing '-' trimmed. It is empty for a tag of dashes only, which is not
// linked.
func tagName(tag string) string {
	return strings.ToLower(strings.TrimRight(tag, "-"))
}

// mentionPattern is the pod's mention rule, `@\{(?:[^{}@;]*;\s*)?([^{};\s]+@[^{};\s]+)\s*\}`,
// anchored, with the name captured too.
var mentionPattern = regexp.MustCompile(`^@\{(?:([^{}@;]*);\s*)?([^{};\s]+@[^{};\s]+)\s*\}`)

// matchMention matches a mention at the start of s. It returns the
// normalized ID, the text to show (the name, or the ID without one) and
// the length of the mention, or n == 0 when s does not start with a
// mention of a valid diaspora* ID.
func matchMention(s []byte) (id, name string, n int) {
	if len(s) < 2 || s[0] != '@' || s[1] != '{' {
		return "", "", 0
	}
	// A mention ends at the first brace after "@{", which must be '}':
	// the pattern runs on that much of s only, so that a long text with
	// many "@{" costs linear time.
	end := bytes.IndexAny(s[2:], "{}")
	if end < 0 || s[2+end] != '}' {
		return "", "", 0
	}
	s = s[:2+end+1]
	m := mentionPattern.FindSubmatchIndex(s)
	if m == nil {
		return "", "", 0
	}
	id, ok := normalizeID(string(s[m[4]:m[5]]))
	if !ok {
		return "", "", 0
	}
	if m[2] >= 0 {
		name = strings.TrimSpace(string(s[m[2]:m[3]]))
	}
	if name == "" {
		name = id
	}
	return id, name, m[1]
}

var (
	policyOnce sync.Once
	policy     *bluemonday.Policy
)

// sanitize passes html through the allowlist policy.
func sanitize(html []byte) string {
	policyOnce.Do(func() { policy = newPolicy() })
	return string(policy.SanitizeBytes(html))
}

// newPolicy returns the sanitizer policy described in the package doc.
func newPolicy() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "em", "strong", "del", "code", "pre", "blockquote",
		"ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
		"table", "thead", "tbody", "tr", "th", "td")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,9}$`)).OnElements("ol")
	p.AllowAttrs("align").Matching(regexp.MustCompile(`^(?:left|center|right)$`)).OnElements("th", "td")

	p.RequireParseableURLs(true)
	p.AllowURLSchemes("http", "https")
	p.AllowRelativeURLs(true)
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("rel").Matching(regexp.MustCompile(`^` + linkRel + `$`)).OnElements("a")
	p.AllowAttrs("title").OnElements("a", "img")
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)

	// Relative URLs are allowed for links only: an image is absolute.
	p.AllowAttrs("src").Matching(regexp.MustCompile(`^(?i:https?)://`)).OnElements("img")
	p.AllowAttrs("alt").OnElements("img")
	p.AllowAttrs("loading").Matching(regexp.MustCompile(`^lazy$`)).OnElements("img")
	return p
}
