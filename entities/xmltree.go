package entities

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/internal/xmlsafe"
)

// node is one element of a parsed XML document. It keeps the element
// children in document order and enough of the text to reproduce what the
// reference's XML library reports as the element's text.
type node struct {
	name     string
	children []*node
	// parts interleaves text and element children in document order: a
	// part with child >= 0 refers to children[child].
	parts []part
	// hasChildNodes is true when the element has any child node at all
	// (element, text, CDATA or comment), as the reference tests it.
	hasChildNodes bool
	// start and end are byte offsets of the element in the input.
	start, end int64
	// foreign is set for an element in a namespace (a prefix or a
	// default namespace in scope). Like the reference, which finds it by
	// its local name but reads no value from it, a property written so is
	// present without a value (see hasForeign). Its text still counts in
	// its parent's text.
	foreign bool
}

type part struct {
	text  string
	child int
}

// text returns the concatenated text of all descendants.
func (n *node) text() string {
	if len(n.parts) == 1 && n.parts[0].child < 0 {
		return n.parts[0].text
	}
	var b strings.Builder
	n.writeText(&b)
	return b.String()
}

func (n *node) writeText(b *strings.Builder) {
	for _, p := range n.parts {
		if p.child >= 0 {
			n.children[p.child].writeText(b)
		} else {
			b.WriteString(p.text)
		}
	}
}

// first returns the first element child with the given name and no
// namespace, or nil.
func (n *node) first(name string) *node {
	for _, c := range n.children {
		if c.name == name && !c.foreign {
			return c
		}
	}
	return nil
}

// hasForeign reports whether n has an element child in a namespace with
// the given local name.
func (n *node) hasForeign(name string) bool {
	for _, c := range n.children {
		if c.name == name && c.foreign {
			return true
		}
	}
	return false
}

// all returns every element child with the given name and no namespace.
func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name && !c.foreign {
			out = append(out, c)
		}
	}
	return out
}

// readTree is parseTree for a document in any encoding it reads: it
// checks the size of data, converts it to UTF-8 with xmlsafe.ToUTF8
// (UTF-16, ISO-8859-1, windows-1252 and US-ASCII documents, XML versions
// other than 1.0, a UTF-8 byte order mark), and reads the result, which it
// returns: the offsets of the nodes refer to it, not to data. The UTF-8
// form is held to the size limit too.
func readTree(data []byte, o *Options) (*node, []byte, error) {
	if len(data) > o.maxSize() {
		return nil, nil, &LimitError{Limit: "size", Max: o.maxSize()}
	}
	text, err := xmlsafe.ToUTF8(data, o.maxSize())
	if err != nil {
		if errors.Is(err, xmlsafe.ErrLimits) {
			return nil, nil, &LimitError{Limit: "size", Max: o.maxSize()}
		}
		return nil, nil, malformed("character encoding", err)
	}
	root, err := parseTree(text, o)
	if err != nil {
		return nil, nil, err
	}
	return root, text, nil
}

// parseTree reads data, as UTF-8 (see readTree), into a node tree. It
// enforces the size, depth and element limits of o, rejects DTDs and
// other directives, and, like the reference's lenient XML reader,
// recovers the elements read so far when the document is cut off in the
// middle (truncated input).
func parseTree(data []byte, o *Options) (*node, error) {
	if len(data) > o.maxSize() {
		return nil, &LimitError{Limit: "size", Max: o.maxSize()}
	}
	if root, ok := fastTree(data, o.maxDepth(), o.maxElements()); ok {
		return root, nil
	}
	return slowTree(data, o)
}

// slowTree is parseTree on encoding/xml, for every document: fastTree
// only takes the common shape and leaves the rest to it.
func slowTree(data []byte, o *Options) (*node, error) {
	if surrogateRef(data) {
		return nil, malformed("a character reference to a surrogate (U+D800 to U+DFFF), which XML forbids", nil)
	}
	// A UTF-8 byte order mark carries no information.
	body := bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	skew := int64(len(data) - len(body))
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf8", "us-ascii", "ascii":
			return r, nil
		}
		return nil, errors.New("unsupported encoding " + strconv.Quote(label))
	}
	var (
		root     *node
		stack    []*node
		elements int
		done     bool
	)
	maxDepth, maxElements := o.maxDepth(), o.maxElements()
	for {
		off := d.InputOffset() + skew
		tok, err := d.Token()
		if err == io.EOF {
			if root == nil {
				return nil, malformed("no root element", nil)
			}
			// io.EOF with open elements does not happen with a strict
			// decoder, but treat it as truncation to be safe.
			for _, n := range stack {
				n.end = int64(len(data))
			}
			return root, nil
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) && se.Msg == "unexpected EOF" && root != nil && !done {
				// Truncated document: keep what was read, as the
				// reference's recovering parser does.
				for _, n := range stack {
					n.end = int64(len(data))
				}
				return root, nil
			}
			return nil, malformed("XML syntax", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if done {
				return nil, malformed("content after the root element", nil)
			}
			elements++
			if elements > maxElements {
				return nil, &LimitError{Limit: "elements", Max: maxElements}
			}
			if len(stack)+1 > maxDepth {
				return nil, &LimitError{Limit: "depth", Max: maxDepth}
			}
			for i, a := range t.Attr {
				for _, b := range t.Attr[:i] {
					if a.Name == b.Name {
						return nil, malformed("duplicate attribute "+a.Name.Local+" on "+t.Name.Local, nil)
					}
				}
			}
			n := &node{name: t.Name.Local, start: off, foreign: t.Name.Space != ""}
			if sp := t.Name.Space; sp != "" && !strings.Contains(sp, ":") {
				// An undeclared prefix (encoding/xml leaves it in
				// Space; a namespace name is a URI, with a colon):
				// the reference keeps the qualified name, which is no
				// property's.
				n.name, n.foreign = sp+":"+t.Name.Local, false
			}
			if len(stack) == 0 {
				root = n
			} else {
				p := stack[len(stack)-1]
				p.hasChildNodes = true
				p.parts = append(p.parts, part{child: len(p.children)})
				p.children = append(p.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.end = d.InputOffset() + skew
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				done = true
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, malformed("text outside the root element", nil)
				}
				continue
			}
			n := stack[len(stack)-1]
			n.hasChildNodes = true
			if k := len(n.parts); k > 0 && n.parts[k-1].child < 0 {
				n.parts[k-1].text += string(t)
			} else {
				n.parts = append(n.parts, part{text: string(t), child: -1})
			}
		case xml.Comment:
			if len(stack) > 0 {
				stack[len(stack)-1].hasChildNodes = true
			}
		case xml.Directive:
			return nil, malformed("DTDs and directives are not allowed", nil)
		case xml.ProcInst:
			// The XML declaration and processing instructions carry no
			// entity data.
		}
	}
}

// surrogateRef reports whether data has a character reference to a
// surrogate code point. encoding/xml reads one as U+FFFD, and the
// reference's parser does the same; XML forbids it like every character
// outside the Char production, and so does this package.
func surrogateRef(data []byte) bool {
	for i := 0; ; {
		k := bytes.Index(data[i:], []byte("&#"))
		if k < 0 {
			return false
		}
		i += k + 2
		end := bytes.IndexByte(data[i:], ';')
		if end < 1 || end > 12 {
			continue
		}
		digits, base := string(data[i:i+end]), 10
		if digits[0] == 'x' {
			digits, base = digits[1:], 16
		}
		if n, err := strconv.ParseUint(digits, base, 32); err == nil && n >= 0xD800 && n <= 0xDFFF {
			return true
		}
	}
}
