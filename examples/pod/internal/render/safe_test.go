package render

import (
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// allowedAttrs are the attributes each allowed element may have.
var allowedAttrs = map[string]map[string]bool{
	"p": {}, "br": {}, "em": {}, "strong": {}, "del": {}, "code": {}, "pre": {},
	"blockquote": {}, "ul": {}, "li": {}, "hr": {},
	"h1": {}, "h2": {}, "h3": {}, "h4": {}, "h5": {}, "h6": {},
	"table": {}, "thead": {}, "tbody": {}, "tr": {},
	"ol":  {"start": true},
	"th":  {"align": true},
	"td":  {"align": true},
	"a":   {"href": true, "rel": true, "title": true},
	"img": {"src": true, "alt": true, "title": true, "loading": true},
}

var (
	// forbiddenAnywhere may not appear in the output at all, text or
	// markup: text cannot hold a '<' that is not escaped.
	forbiddenAnywhere = regexp.MustCompile(`(?i)<\s*/?\s*(?:script|style|iframe|object|embed|svg|math|form|input|textarea|button|link|meta|base|frame|frameset|applet|template)\b`)
	// forbiddenInMarkup may not appear in any tag of the output, but for
	// the values of title and alt. Text may say "javascript:" or
	// "onclick=": it is escaped text, shown as typed.
	forbiddenInMarkup = regexp.MustCompile(`(?i)\son\w*\s*=|\sstyle\s*=|\sclass\s*=|\sid\s*=`)
	// forbiddenURL may not appear in the markup of the output of hostile
	// input at all (the fuzz target checks the scheme of URLs only, as
	// "https://a.example/?q=javascript:" is harmless, and so is a CSS
	// "url(" in a link, where no style may be).
	forbiddenURL = regexp.MustCompile(`(?i)javascript:|vbscript:|data:|url\(`)
	// safeHref is what an href may be: http, https or relative.
	safeHref = regexp.MustCompile(`(?i)^(?:https?://|/|\?|#|[^:/?#]+(?:[/?#]|$))`)
	safeSrc  = regexp.MustCompile(`(?i)^https?://`)
)

// checkSafe fails t unless out is valid UTF-8 and every element and
// attribute of it is allowed, with only http, https or relative URLs. If
// strict, no URL in out may have "javascript:", "vbscript:" or "data:"
// anywhere either.
func checkSafe(t testing.TB, in, out string, strict bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("%.200q: output is not valid UTF-8: %.300q", in, out)
	}
	if m := forbiddenAnywhere.FindString(out); m != "" {
		t.Fatalf("%.200q: output has %q: %.300q", in, m, out)
	}
	z := html.NewTokenizer(strings.NewReader(out))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("%.200q: tokenizing the output: %v", in, z.Err())
			}
			return
		}
		raw := string(z.Raw())
		switch tt {
		case html.CommentToken, html.DoctypeToken:
			t.Fatalf("%.200q: output has %q: %.300q", in, raw, out)
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			m := markup(tok)
			if f := forbiddenInMarkup.FindString(m); f != "" {
				t.Fatalf("%.200q: tag %q has %q", in, raw, f)
			}
			if f := forbiddenURL.FindString(m); strict && f != "" {
				t.Fatalf("%.200q: tag %q has %q", in, raw, f)
			}
			allowed, ok := allowedAttrs[tok.Data]
			if !ok {
				t.Fatalf("%.200q: element %q is not allowed: %.300q", in, tok.Data, out)
			}
			for _, a := range tok.Attr {
				if !allowed[a.Key] {
					t.Fatalf("%.200q: attribute %s of %s is not allowed: %q", in, a.Key, tok.Data, raw)
				}
				v := strings.Map(func(r rune) rune {
					if r <= ' ' || r == 0x7f {
						return -1 // browsers ignore them in a scheme
					}
					return r
				}, a.Val)
				switch a.Key {
				case "href":
					if !safeHref.MatchString(v) {
						t.Fatalf("%.200q: href %q is not http, https or relative", in, a.Val)
					}
				case "src":
					if !safeSrc.MatchString(v) {
						t.Fatalf("%.200q: src %q is not http or https", in, a.Val)
					}
				case "rel":
					if a.Val != "nofollow noopener noreferrer" {
						t.Fatalf("%.200q: rel is %q", in, a.Val)
					}
				}
			}
			if tok.Data == "a" && tt == html.StartTagToken && !hasAttr(tok, "rel") {
				t.Fatalf("%.200q: link without rel: %q", in, raw)
			}
		}
	}
}

// markup returns tok as HTML with its attributes decoded, less the values
// of title and alt: those are text shown, escaped, that may say anything.
func markup(tok html.Token) string {
	var b strings.Builder
	b.WriteString("<" + tok.Data)
	for _, a := range tok.Attr {
		b.WriteString(" " + a.Key + "=")
		if a.Key != "title" && a.Key != "alt" {
			b.WriteString(a.Val)
		}
	}
	return b.String() + ">"
}

func hasAttr(tok html.Token, key string) bool {
	for _, a := range tok.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
