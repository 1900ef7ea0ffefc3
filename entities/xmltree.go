package entities

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
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

// first returns the first element child with the given name, or nil.
func (n *node) first(name string) *node {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// all returns every element child with the given name.
func (n *node) all(name string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// parseTree reads data into a node tree. It enforces the size, depth and
// element limits of o, rejects DTDs and other directives, and, like the
// reference's lenient XML reader, recovers the elements read so far when
// the document is cut off in the middle (truncated input).
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
			n := &node{name: t.Name.Local, start: off}
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
