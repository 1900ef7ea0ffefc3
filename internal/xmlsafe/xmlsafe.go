// Package xmlsafe reads small XML documents into a tree under budgets,
// for the protocol documents that are read whole (envelopes, slaps). Parse
// refuses DOCTYPEs and other directives, non-UTF-8 encodings (ToUTF8
// converts the ones senders use first), undeclared
// prefixes, duplicate attributes, mismatched end tags, content after the
// root, and documents over its depth, element or attribute budgets. It
// keeps prefixes as written next to the namespaces they resolve to,
// because the diaspora* reference matches some names by prefix.
package xmlsafe

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Errors returned by Parse. Every error Parse returns wraps exactly one of them.
var (
	ErrDoctype = errors.New("DOCTYPE and directives are not allowed")
	ErrSyntax  = errors.New("malformed XML")
	ErrLimits  = errors.New("XML over its budget")
)

// Limits are the budgets of one Parse. Zero fields take the defaults.
type Limits struct {
	MaxDepth    int // default 32
	MaxElements int // default 5000
	MaxAttrs    int // per element, default 16
}

// Node is one element.
type Node struct {
	Prefix   string // as written, "" for none
	Space    string // the namespace the prefix resolves to
	Local    string
	Attrs    []Attr // without namespace declarations
	Text     string // character data directly inside, concatenated
	HasText  bool   // Text has non-white-space characters
	Children []*Node
}

// Attr is one attribute.
type Attr struct {
	Prefix, Space, Local, Value string
}

// Attr returns the value of the unprefixed attribute local, and whether it is present.
func (n *Node) Attr(local string) (string, bool) {
	for _, a := range n.Attrs {
		if a.Prefix == "" && a.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// Name returns the element name as written (prefix:local).
func (n *Node) Name() string {
	if n.Prefix == "" {
		return n.Local
	}
	return n.Prefix + ":" + n.Local
}

const xmlNS = "http://www.w3.org/XML/1998/namespace"

// Parse reads one XML document.
func Parse(data []byte, lim Limits) (*Node, error) {
	if lim.MaxDepth <= 0 {
		lim.MaxDepth = 32
	}
	if lim.MaxElements <= 0 {
		lim.MaxElements = 5000
	}
	if lim.MaxAttrs <= 0 {
		lim.MaxAttrs = 16
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	type frame struct {
		node *Node
		ns   map[string]string
	}
	var (
		stack    []frame
		root     *Node
		elements int
		tokens   int
	)
	resolve := func(prefix string) (string, bool) {
		if prefix == "xml" {
			return xmlNS, true
		}
		for i := len(stack) - 1; i >= 0; i-- {
			if uri, ok := stack[i].ns[prefix]; ok {
				return uri, true
			}
		}
		return "", prefix == ""
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSyntax, err)
		}
		tokens++
		switch t := tok.(type) {
		case xml.Directive:
			return nil, ErrDoctype
		case xml.ProcInst:
			if strings.EqualFold(t.Target, "xml") && tokens != 1 {
				return nil, fmt.Errorf("%w: XML declaration not at the start", ErrSyntax)
			}
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, fmt.Errorf("%w: text outside the root element", ErrSyntax)
				}
				continue
			}
			n := stack[len(stack)-1].node
			n.Text += string(t)
			if !n.HasText && len(bytes.TrimSpace(t)) != 0 {
				n.HasText = true
			}
		case xml.StartElement:
			if root != nil && len(stack) == 0 {
				return nil, fmt.Errorf("%w: content after the root element", ErrSyntax)
			}
			elements++
			if elements > lim.MaxElements || len(stack) >= lim.MaxDepth || len(t.Attr) > lim.MaxAttrs {
				return nil, ErrLimits
			}
			f := frame{node: &Node{Prefix: t.Name.Space, Local: t.Name.Local}}
			seen := make(map[xml.Name]bool, len(t.Attr))
			var attrs []xml.Attr
			for _, a := range t.Attr {
				if seen[a.Name] {
					return nil, fmt.Errorf("%w: duplicate attribute %s on %s", ErrSyntax, a.Name.Local, t.Name.Local)
				}
				seen[a.Name] = true
				switch {
				case a.Name.Space == "xmlns":
					if f.ns == nil {
						f.ns = map[string]string{}
					}
					f.ns[a.Name.Local] = a.Value
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					if f.ns == nil {
						f.ns = map[string]string{}
					}
					f.ns[""] = a.Value
				default:
					attrs = append(attrs, a)
				}
			}
			stack = append(stack, f)
			var ok bool
			if f.node.Space, ok = resolve(t.Name.Space); !ok {
				return nil, fmt.Errorf("%w: undeclared prefix %q", ErrSyntax, t.Name.Space)
			}
			for _, a := range attrs {
				at := Attr{Prefix: a.Name.Space, Local: a.Name.Local, Value: a.Value}
				if a.Name.Space != "" {
					if at.Space, ok = resolve(a.Name.Space); !ok {
						return nil, fmt.Errorf("%w: undeclared prefix %q", ErrSyntax, a.Name.Space)
					}
				}
				f.node.Attrs = append(f.node.Attrs, at)
			}
			if len(stack) == 1 {
				root = f.node
			} else {
				parent := stack[len(stack)-2].node
				parent.Children = append(parent.Children, f.node)
			}
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].node.Prefix != t.Name.Space || stack[len(stack)-1].node.Local != t.Name.Local {
				return nil, fmt.Errorf("%w: mismatched end element %s", ErrSyntax, t.Name.Local)
			}
			stack = stack[:len(stack)-1]
		}
		// Comments and other processing instructions are skipped;
		// encoding/xml itself refuses any encoding other than UTF-8.
	}
	if root == nil || len(stack) != 0 {
		return nil, fmt.Errorf("%w: no complete root element", ErrSyntax)
	}
	return root, nil
}

// ErrStructure reports a well-formed document whose structure is not the
// expected one (see Node.Unique).
var ErrStructure = errors.New("unexpected XML structure")

// Unique finds, among the direct children of n in namespace space (and,
// unless prefix is "*", written with exactly that prefix), the elements
// whose local names are in names. Each may appear at most once. Other
// children are ignored.
func (n *Node) Unique(space, prefix string, names ...string) (map[string]*Node, error) {
	found := make(map[string]*Node, len(names))
	for _, c := range n.Children {
		if c.Space != space || (prefix != "*" && c.Prefix != prefix) {
			continue
		}
		for _, name := range names {
			if c.Local != name {
				continue
			}
			if found[name] != nil {
				return nil, fmt.Errorf("%w: duplicate element %s", ErrStructure, c.Name())
			}
			found[name] = c
		}
	}
	return found, nil
}
