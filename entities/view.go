package entities

import (
	"reflect"
	"time"

	"github.com/go-diaspora/federation/relayable"
)

// View is a neutral, implementation-independent picture of an entity, in
// the form the test vectors' expected.entity uses: every declared property
// by name, absent optional ones as nil, nested entities as *View, lists as
// []any, timestamps as canonical strings, integers as int and booleans as
// bool. Relayables also carry the signature order and the unknown
// properties. Marshalled with encoding/json it matches the manifest's JSON.
type View struct {
	// Type is the entity type, Properties its properties by name.
	Type       string         `json:"type"`
	Properties map[string]any `json:"properties"`
	// PropertyOrder is the signature order of a relayable (nil otherwise).
	PropertyOrder []string `json:"property_order,omitzero"`
	// AdditionalData holds the unknown properties of a relayable (non-nil,
	// possibly empty, for relayables; nil otherwise): strings, except for
	// members of a JSON entity_data that property_order does not name,
	// which keep their JSON value (as the reference's additional_data).
	AdditionalData map[string]any `json:"additional_data,omitzero"`
}

// ViewOf returns the neutral view of e, or nil for a nil entity. For an
// [*UnknownEntity] it returns its name and no properties.
func ViewOf(e Entity) *View {
	switch t := e.(type) {
	case nil:
		return nil
	case *UnknownEntity:
		return &View{Type: t.Name, Properties: map[string]any{}}
	case hasMeta:
		if reflect.ValueOf(t).IsNil() {
			return nil
		}
		return viewOf(t)
	}
	return nil
}

func viewOf(e hasMeta) *View {
	s := schemaOf(e)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	out := &View{Type: s.name, Properties: make(map[string]any, len(s.props))}
	for i := range s.props {
		p := &s.props[i]
		f := v.Field(p.index)
		var val any
		switch p.kind {
		case kString:
			if str := f.String(); str != "" {
				val = str
			}
		case kTime:
			if t := f.Interface().(time.Time); !t.IsZero() {
				val = FormatTime(t)
			}
		case kBool:
			if !m.null[p.name] {
				val = f.Bool()
			}
		case kBoolPtr:
			if !f.IsNil() {
				val = f.Elem().Bool()
			}
		case kInt:
			if n := f.Int(); n != 0 || m.zero[p.name] {
				val = int(n)
			}
		case kEntity:
			if !f.IsNil() {
				val = viewOf(f.Interface().(hasMeta))
			}
		case kList:
			list := make([]any, 0, f.Len())
			for j := 0; j < f.Len(); j++ {
				if it := f.Index(j); !it.IsNil() {
					list = append(list, viewOf(it.Interface().(hasMeta)))
				}
			}
			val = list
		}
		out.Properties[p.name] = val
	}
	if am, ok := e.(*AccountMigration); ok {
		// The reference reports the old identity it acts on: the
		// author, unless the author is the new identity.
		if id := am.OldID(); id != "" {
			out.Properties["old_identity"] = id
		}
	}
	if r, ok := e.(Relayable); ok {
		out.PropertyOrder = relayable.Order(r.SignatureProperties())
		if names, _, ok := repeatedOrder(e); ok {
			out.PropertyOrder = names
		}
		if out.PropertyOrder == nil {
			out.PropertyOrder = []string{}
		}
		out.AdditionalData = map[string]any{}
		for _, a := range r.AdditionalData() {
			out.AdditionalData[a.Name] = a.Value
		}
		for k, v := range m.extra {
			out.AdditionalData[k] = v
		}
		if m.legacy {
			var pas any
			for _, f := range m.received {
				if f.name == "parent_author_signature" {
					if f.text != "" {
						pas = f.text
					}
					break
				}
			}
			out.Properties["parent_author_signature"] = pas
		}
	}
	return out
}
