package entities

import (
	"errors"
	"reflect"
	"strings"
)

// ParseXML parses entity XML: the root element names the entity type, its
// child elements the properties
// (https://diaspora.github.io/diaspora_federation/federation/xml_serialization.html).
// opts may be nil.
//
// The document may be in UTF-8, UTF-16 (with or without a byte order
// mark), ISO-8859-1, windows-1252 or US-ASCII, and may declare XML 1.0 or
// 1.1; it is read as UTF-8. Property order does not matter, unknown
// elements are ignored (for relayables they are kept, in place, for the
// signature and for re-emission), the first of duplicate elements wins,
// empty elements and unparsable values mean "no value", absent defaulted
// properties get their default. An element in a namespace is not read:
// like the reference, a property written so is present without a value.
// The entity is then validated: ParseXML returns only valid entities.
//
// Errors: a [*ValidationError] for a missing required element or a broken
// rule; an error matching [ErrMalformed] for input that is not XML, contains a
// DTD, or exceeds a limit of opts ([*LimitError]); and for an unknown root
// element an error matching [ErrUnknownEntity] together with a non-nil
// [*UnknownEntity]. ParseXML does not check relayable or AccountMigration
// signatures, which need the signer's key: see
// [Relayable.VerifyAuthorSignature] and [AccountMigration.VerifySignature].
func ParseXML(data []byte, opts *Options) (Entity, error) {
	e, err := decodeXMLDocument(data, opts)
	if err != nil {
		return e, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeXMLDocument(data []byte, opts *Options) (Entity, error) {
	// From here on data is the document as UTF-8, which the offsets of
	// the tree refer to.
	root, data, err := readTree(data, opts)
	if err != nil {
		return nil, err
	}
	n := root
	if opts != nil && opts.LegacyWrapper && root.name == "XML" {
		if post := root.first("post"); post != nil && post.hasChildNodes && len(post.children) > 0 {
			n = post.children[0]
		}
	}
	name := n.name
	if opts.legacy() {
		switch name {
		case "request":
			name = "contact"
		case "signed_retraction", "relayable_retraction":
			name = "retraction"
		}
	}
	s := registry[name]
	if s == nil {
		start, end := n.start, n.end
		if end < start || end > int64(len(data)) {
			end = int64(len(data))
		}
		if start < 0 || start > end {
			start = 0
		}
		raw := append([]byte(nil), data[start:end]...)
		return &UnknownEntity{Name: n.name, Raw: raw}, unknownEntityError(n.name)
	}
	return decodeXML(n, s, opts, data)
}

// decodeXML builds an entity of schema s from the element n.
func decodeXML(n *node, s *schema, o *Options, data []byte) (hasMeta, error) {
	e := newOf(s.name)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	m.legacy = o.legacy()
	var missing []string
	for i := range s.props {
		p := &s.props[i]
		present := false
		switch p.kind {
		case kEntity:
			if c := n.first(p.xml); c != nil {
				present = true
				if c.hasChildNodes {
					child, err := decodeXML(c, registry[p.xml], o, data)
					if err != nil {
						return nil, nestedErr(s.name, p.name, err)
					}
					v.Field(p.index).Set(reflect.ValueOf(child))
				}
			}
		case kList:
			cs := n.all(p.xml)
			if len(cs) > 0 {
				present = true
				list := reflect.MakeSlice(v.Field(p.index).Type(), 0, len(cs))
				for _, c := range cs {
					if !c.hasChildNodes {
						continue
					}
					if list.Len() >= o.maxList(p.name) {
						return nil, &LimitError{Limit: p.name, Max: o.maxList(p.name)}
					}
					child, err := decodeXML(c, registry[p.xml], o, data)
					if err != nil {
						return nil, nestedErr(s.name, p.name, err)
					}
					list = reflect.Append(list, reflect.ValueOf(child))
				}
				v.Field(p.index).Set(list)
			}
		default:
			c := n.first(p.name)
			if c == nil && m.legacy {
				for _, l := range p.legacy {
					if c = n.first(l); c != nil {
						break
					}
				}
			}
			if c == nil && n.hasForeign(p.name) {
				// The reference finds an element in a namespace by
				// its local name but reads no value from it: the
				// property is present without a value.
				present = true
				setScalar(v, p, "", m)
			}
			if c != nil {
				present = true
				if !setScalar(v, p, c.text(), m) && o.strictValues() {
					if err := typeError(s.name, p, c.text()); err != nil {
						return nil, err
					}
				}
			}
		}
		if !present {
			switch {
			case p.pres == required:
				missing = append(missing, p.name)
			case p.def != "":
				applyDefault(v, p, o)
			}
		}
	}
	if len(missing) > 0 {
		return nil, &ValidationError{Entity: s.name, Property: missing[0], Rule: "required",
			Detail: "missing required properties: " + strings.Join(missing, ", ")}
	}
	if s.relayable {
		m.received = make([]rawField, 0, len(n.children))
		for _, c := range n.children {
			name := c.name
			if p := s.propByElement(name, m.legacy); p != nil {
				name = p.name
			}
			f := rawField{name: name, text: c.text()}
			if len(c.children) > 0 {
				f.raw = c
			}
			m.received = append(m.received, f)
		}
	}
	return e, nil
}

// nestedErr wraps the error of a nested entity so that it names the parent.
func nestedErr(entity, property string, err error) error {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return &ValidationError{Entity: entity, Property: property, Rule: "nested", Err: err}
	}
	return err
}
