package discovery

import (
	"fmt"
	"html"
	"strings"
)

// This file holds a small, forgiving HTML reader for hCards. It follows
// what the reference's parser (libxml2's HTML parser through Nokogiri)
// does with the markup pods serve: "<span/>" is an empty element, void
// elements (img, br, meta, ...) have no content, an end tag closes the
// nearest open element of that name and is ignored when none is open,
// and dt/dd/li/p/option/tr/td/th close an open sibling of their group.
// It builds no DOM beyond what the hCard selectors need.

// HTML budgets: well above any hCard, low enough to bound the work.
const (
	maxHTMLDepth    = 256
	maxHTMLElements = 20000
)

type hnode struct {
	tag      string
	attrs    map[string]string
	parent   *hnode
	children []*hnode // nil entries never occur; text is kept in parts
	parts    []hpart  // text and child order, for content()
}

type hpart struct {
	text  string
	child *hnode
}

func (n *hnode) content() string {
	var b strings.Builder
	var walk func(*hnode)
	walk = func(n *hnode) {
		for _, p := range n.parts {
			if p.child != nil {
				walk(p.child)
			} else {
				b.WriteString(p.text)
			}
		}
	}
	walk(n)
	return b.String()
}

func (n *hnode) hasClass(c string) bool {
	for _, f := range strings.Fields(n.attrs["class"]) {
		if f == c {
			return true
		}
	}
	return false
}

func (n *hnode) hasAncestorClass(c string) bool {
	for p := n.parent; p != nil; p = p.parent {
		if p.hasClass(c) {
			return true
		}
	}
	return false
}

// find returns the first element in document order for which match is
// true.
func (n *hnode) find(match func(*hnode) bool) *hnode {
	for _, c := range n.children {
		if match(c) {
			return c
		}
		if f := c.find(match); f != nil {
			return f
		}
	}
	return nil
}

var voidElements = map[string]bool{
	"area": true, "base": true, "basefont": true, "br": true, "col": true, "embed": true,
	"frame": true, "hr": true, "img": true, "input": true, "isindex": true, "keygen": true,
	"link": true, "meta": true, "param": true, "source": true, "track": true, "wbr": true,
}

// autoClose maps an element to the open elements it implicitly closes.
var autoClose = map[string][]string{
	"dt": {"dt", "dd"}, "dd": {"dt", "dd"}, "li": {"li"}, "p": {"p"},
	"option": {"option"}, "tr": {"tr", "td", "th"}, "td": {"td", "th"}, "th": {"td", "th"},
}

// scopeBoundary stops the search for an element to close implicitly.
var scopeBoundary = map[string]bool{
	"dl": true, "ul": true, "ol": true, "table": true, "div": true, "body": true, "html": true, "select": true,
}

// parseHTML reads an HTML document into a tree rooted at a synthetic
// document node.
func parseHTML(src string) (*hnode, error) {
	doc := &hnode{tag: "#document"}
	stack := []*hnode{doc}
	count := 0
	top := func() *hnode { return stack[len(stack)-1] }
	addText := func(s string) {
		if s != "" {
			t := top()
			t.parts = append(t.parts, hpart{text: html.UnescapeString(s)})
		}
	}
	i, textStart := 0, 0
	for i < len(src) {
		lt := strings.IndexByte(src[i:], '<')
		if lt < 0 {
			break
		}
		i += lt
		rest := src[i:]
		// a "<" that starts no markup is text: keep scanning
		isEnd := strings.HasPrefix(rest, "</")
		if !strings.HasPrefix(rest, "<!") && !strings.HasPrefix(rest, "<?") {
			off := 1
			if isEnd {
				off = 2
			}
			if len(rest) <= off || !isLetter(rest[off]) {
				i++
				continue
			}
		}
		addText(src[textStart:i])
		switch {
		case strings.HasPrefix(rest, "<!--"):
			end := strings.Index(rest[4:], "-->")
			if end < 0 {
				i = len(src)
			} else {
				i += 4 + end + 3
			}
			textStart = i
			continue
		case strings.HasPrefix(rest, "<!") || strings.HasPrefix(rest, "<?"):
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				i = len(src)
			} else {
				i += end + 1
			}
			textStart = i
			continue
		case isEnd:
			name, _ := tagName(rest[2:])
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				i = len(src)
			} else {
				i += end + 1
			}
			textStart = i
			for j := len(stack) - 1; j > 0; j-- {
				if stack[j].tag == name {
					stack = stack[:j]
					break
				}
			}
			continue
		}
		name, n := tagName(rest[1:])
		attrs, consumed, selfClosing := parseAttrs(rest[1+n:])
		i += 1 + n + consumed
		textStart = i
		count++
		if count > maxHTMLElements {
			return nil, fmt.Errorf("%w: too many HTML elements", ErrInvalidDocument)
		}
		if group, ok := autoClose[name]; ok {
		search:
			for j := len(stack) - 1; j > 0; j-- {
				if scopeBoundary[stack[j].tag] {
					break
				}
				for _, g := range group {
					if stack[j].tag == g {
						stack = stack[:j]
						break search
					}
				}
			}
		}
		el := &hnode{tag: name, attrs: attrs, parent: top()}
		p := top()
		p.children = append(p.children, el)
		p.parts = append(p.parts, hpart{child: el})
		if selfClosing || voidElements[name] {
			continue
		}
		if name == "script" || name == "style" || name == "title" || name == "textarea" {
			// raw text up to the matching end tag
			end := indexFold(src[i:], "</"+name)
			if end < 0 {
				end = len(src) - i
			}
			if name == "title" || name == "textarea" {
				el.parts = append(el.parts, hpart{text: html.UnescapeString(src[i : i+end])})
			} else {
				el.parts = append(el.parts, hpart{text: src[i : i+end]})
			}
			i += end
			if gt := strings.IndexByte(src[i:], '>'); gt >= 0 {
				i += gt + 1
			} else {
				i = len(src)
			}
			textStart = i
			continue
		}
		if len(stack) > maxHTMLDepth {
			return nil, fmt.Errorf("%w: HTML nested too deeply", ErrInvalidDocument)
		}
		stack = append(stack, el)
	}
	addText(src[textStart:])
	return doc, nil
}

// tagName reads a tag name (a letter, then anything up to white space,
// "/" or ">"), lowercased, and returns it with the bytes consumed.
func tagName(s string) (string, int) {
	if s == "" || !isLetter(s[0]) {
		return "", 0
	}
	n := 1
	for n < len(s) && !isSpace(s[n]) && s[n] != '/' && s[n] != '>' {
		n++
	}
	return strings.ToLower(s[:n]), n
}

// parseAttrs reads attributes up to and including ">" and reports whether
// the tag ended with "/>". The first of duplicate attributes wins.
func parseAttrs(s string) (map[string]string, int, bool) {
	attrs := map[string]string{}
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if s[i] == '>' {
			return attrs, i + 1, false
		}
		if s[i] == '/' {
			if i+1 < len(s) && s[i+1] == '>' {
				return attrs, i + 2, true
			}
			i++
			continue
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && !(s[i] == '/' && i+1 < len(s) && s[i+1] == '>') {
			i++
		}
		name := strings.ToLower(s[start:i])
		if i == start { // a lone "=": skip it
			i++
			continue
		}
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		val := ""
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				end := strings.IndexByte(s[i+1:], q)
				if end < 0 {
					val = s[i+1:]
					i = len(s)
				} else {
					val = s[i+1 : i+1+end]
					i += end + 2
				}
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if _, dup := attrs[name]; !dup {
			attrs[name] = html.UnescapeString(val)
		}
	}
	return attrs, len(s), false
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }

// indexFold is strings.Index ignoring ASCII case of the needle's letters.
func indexFold(s, needle string) int {
	n := len(needle)
	for i := 0; i+n <= len(s); i++ {
		if strings.EqualFold(s[i:i+n], needle) {
			return i
		}
	}
	return -1
}
