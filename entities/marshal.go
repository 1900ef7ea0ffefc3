package entities

import (
	"errors"
	"reflect"
	"strings"
)

// MarshalXML serializes e as entity XML in the reference's canonical form:
// properties in the declaration order of the type, two-space indentation, no
// XML declaration, timestamps as YYYY-MM-DDTHH:MM:SSZ, booleans as
// true/false, non-ASCII characters as character references and characters
// that XML cannot carry replaced by U+FFFD.
//
// A relayable that was parsed (from XML or JSON) is emitted as received: the
// same elements in the same order with the same text, unknown elements
// included, so that its author_signature still verifies ("relay the
// original"). Only a known property whose value was changed in Go is
// written with its new canonical value, and the legacy
// parent_author_signature is dropped unless the relayable was read with
// Options.Legacy. An [*UnknownEntity] is returned as received.
//
// MarshalXML does not validate e; call [Entity.Validate] first if e was
// built in Go.
func MarshalXML(e Entity) ([]byte, error) {
	switch t := e.(type) {
	case nil:
		return nil, errors.New("entities: MarshalXML of a nil entity")
	case *UnknownEntity:
		return append([]byte(nil), t.Raw...), nil
	case hasMeta:
		if reflect.ValueOf(t).IsNil() {
			return nil, errors.New("entities: MarshalXML of a nil entity")
		}
		var b strings.Builder
		writeEntity(&b, t, 0)
		return []byte(b.String()), nil
	}
	return nil, errors.New("entities: MarshalXML of an unsupported entity type")
}

type xmlWriter struct {
	b      *strings.Builder
	indent string
	any    bool
}

func (w *xmlWriter) elem(name, text string) {
	w.any = true
	w.b.WriteByte('\n')
	w.b.WriteString(w.indent)
	w.b.WriteByte('<')
	w.b.WriteString(name)
	if text == "" {
		w.b.WriteString("/>")
		return
	}
	w.b.WriteByte('>')
	escapeText(w.b, Sanitize(text))
	w.b.WriteString("</")
	w.b.WriteString(name)
	w.b.WriteByte('>')
}

func writeEntity(b *strings.Builder, e hasMeta, depth int) {
	s := schemaOf(e)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	indent := strings.Repeat("  ", depth)
	b.WriteString(indent)
	b.WriteByte('<')
	b.WriteString(s.name)
	b.WriteByte('>')
	w := &xmlWriter{b: b, indent: indent + "  "}
	if s.relayable && m.received != nil {
		writeReceived(w, s, v, m)
	} else {
		for i := range s.props {
			p := &s.props[i]
			switch {
			case p.sig:
				continue
			case p.kind == kEntity:
				f := v.Field(p.index)
				if !f.IsNil() {
					w.any = true
					b.WriteByte('\n')
					writeEntity(b, f.Interface().(hasMeta), depth+1)
				}
			case p.kind == kList:
				f := v.Field(p.index)
				for j := 0; j < f.Len(); j++ {
					if it := f.Index(j); !it.IsNil() {
						w.any = true
						b.WriteByte('\n')
						writeEntity(b, it.Interface().(hasMeta), depth+1)
					}
				}
			default:
				c, ok := canonical(v, p, m)
				if !ok {
					// A boolean received without a value stays an
					// empty element, which reads back the same.
					nullBool := p.kind == kBool && m != nil && m.null[p.name]
					if !nullBool && (p.pres == optional || p.kind == kBool || p.kind == kBoolPtr || p.kind == kInt) {
						continue
					}
				}
				w.elem(p.name, c)
			}
		}
		if s.relayable {
			if sig := v.FieldByName("AuthorSignature").String(); sig != "" {
				w.elem("author_signature", sig)
			}
		}
	}
	if !w.any {
		// An entity without any property: write an empty element.
		str := b.String()
		b.Reset()
		b.WriteString(str[:len(str)-1])
		b.WriteString("/>")
		return
	}
	b.WriteByte('\n')
	b.WriteString(indent)
	b.WriteString("</")
	b.WriteString(s.name)
	b.WriteByte('>')
}

// writeReceived re-emits a received relayable.
func writeReceived(w *xmlWriter, s *schema, v reflect.Value, m *meta) {
	sig := v.FieldByName("AuthorSignature").String()
	sigDone := false
	seen := map[string]bool{}
	for _, f := range m.received {
		first := !seen[f.name]
		seen[f.name] = true
		if isSignatureName(f.name) {
			if f.name == "author_signature" {
				if !sigDone && sig != "" {
					w.elem(f.name, sig)
				}
				sigDone = true
			} else if m.legacy {
				w.elem(f.name, f.text)
			}
			continue
		}
		if f.raw != nil {
			w.any = true
			w.b.WriteByte('\n')
			w.b.WriteString(w.indent)
			writeNode(w.b, f.raw)
			continue
		}
		if p := s.prop(f.name); p != nil && first && p.kind != kEntity && p.kind != kList {
			c, _ := canonical(v, p, m)
			if c != canonicalText(p, f.text) {
				w.elem(f.name, c)
				continue
			}
		}
		w.elem(f.name, f.text)
	}
	if !sigDone && sig != "" {
		w.elem("author_signature", sig)
	}
}

// canonicalText returns the canonical form of text received for p.
func canonicalText(p *prop, text string) string {
	switch p.kind {
	case kString:
		return Sanitize(text)
	case kTime:
		t, _ := ParseTime(text)
		return FormatTime(t)
	case kBool, kBoolPtr:
		b, ok := parseBool(text)
		if !ok {
			return ""
		}
		return formatBool(b)
	case kInt:
		n, ok := parseInt(text)
		if !ok {
			return ""
		}
		return itoa(int64(n))
	}
	return text
}

// writeNode re-serializes a received element with its text and element
// children (attributes, comments and namespaces are not kept).
func writeNode(b *strings.Builder, n *node) {
	b.WriteByte('<')
	b.WriteString(n.name)
	if len(n.parts) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	for _, p := range n.parts {
		if p.child >= 0 {
			writeNode(b, n.children[p.child])
		} else {
			escapeText(b, Sanitize(p.text))
		}
	}
	b.WriteString("</")
	b.WriteString(n.name)
	b.WriteByte('>')
}
