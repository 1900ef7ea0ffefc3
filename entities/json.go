package entities

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// jobject is a JSON object that remembers its key order.
type jobject struct {
	keys []string
	vals map[string]any
}

type jsonReader struct {
	d           *json.Decoder
	maxDepth    int
	maxElements int
	elements    int
}

// readJSON parses data into nil, bool, json.Number, string, []any and
// *jobject values, rejecting duplicate keys, trailing data and input beyond
// the limits of o.
func readJSON(data []byte, o *Options) (any, error) {
	if len(data) > o.maxSize() {
		return nil, &LimitError{Limit: "size", Max: o.maxSize()}
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	r := &jsonReader{d: d, maxDepth: o.maxDepth(), maxElements: o.maxElements()}
	v, err := r.value(0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, malformed("JSON: data after the top-level value", nil)
	}
	return v, nil
}

func (r *jsonReader) value(depth int) (any, error) {
	if depth > r.maxDepth {
		return nil, &LimitError{Limit: "depth", Max: r.maxDepth}
	}
	r.elements++
	if r.elements > r.maxElements {
		return nil, &LimitError{Limit: "elements", Max: r.maxElements}
	}
	tok, err := r.d.Token()
	if err != nil {
		return nil, malformed("JSON", err)
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			obj := &jobject{vals: map[string]any{}}
			for r.d.More() {
				kt, err := r.d.Token()
				if err != nil {
					return nil, malformed("JSON", err)
				}
				k, ok := kt.(string)
				if !ok {
					return nil, malformed("JSON: object key is not a string", nil)
				}
				if _, dup := obj.vals[k]; dup {
					return nil, malformed("JSON: duplicate key "+strconv.Quote(k), nil)
				}
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				obj.keys = append(obj.keys, k)
				obj.vals[k] = v
			}
			if _, err := r.d.Token(); err != nil {
				return nil, malformed("JSON", err)
			}
			return obj, nil
		case '[':
			arr := []any{}
			for r.d.More() {
				v, err := r.value(depth + 1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := r.d.Token(); err != nil {
				return nil, malformed("JSON", err)
			}
			return arr, nil
		}
		return nil, malformed("JSON: unexpected delimiter", nil)
	default:
		return t, nil
	}
}

// ParseJSON parses the JSON form of an entity
// (https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json):
// {"entity_type": ..., "entity_data": {...}} with nested entities in the
// same form and, for relayables, a top-level property_order array that gives
// the signature order. opts may be nil (only its limits apply; JSON has no
// legacy vocabulary).
//
// Booleans, integers and timestamps may be given as JSON values or as
// strings (parsed with the XML rules). Unknown keys are ignored, except for
// relayables, where those named in property_order are kept and signed.
// Duplicate keys are rejected. Errors and validation are as for
// [ParseXML]; a missing entity_type, entity_data or (relayables)
// property_order is [ErrMalformed], and so is a property_order that lacks a
// required property (it would be neither signed nor relayed).
func ParseJSON(data []byte, opts *Options) (Entity, error) {
	v, err := readJSON(data, opts)
	if err != nil {
		return nil, err
	}
	obj, ok := v.(*jobject)
	if !ok {
		return nil, malformed("JSON: not an object", nil)
	}
	name, ok := obj.vals["entity_type"].(string)
	if !ok {
		return nil, malformed("JSON: entity_type missing or not a string", nil)
	}
	s := registry[name]
	if s == nil {
		return &UnknownEntity{Name: name, Raw: append([]byte(nil), data...)}, unknownEntityError(name)
	}
	e, err := decodeJSON(obj, s, opts)
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeJSON(obj *jobject, s *schema, o *Options) (hasMeta, error) {
	if name, _ := obj.vals["entity_type"].(string); name != s.name {
		return nil, malformed("JSON: entity_type "+strconv.Quote(name)+" where "+s.name+" was expected", nil)
	}
	data, ok := obj.vals["entity_data"].(*jobject)
	if !ok {
		return nil, malformed("JSON: entity_data missing or not an object", nil)
	}
	e := newOf(s.name)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	var missing []string
	for i := range s.props {
		p := &s.props[i]
		raw, present := data.vals[p.name]
		if !present {
			switch {
			case p.pres == required:
				missing = append(missing, p.name)
			case p.def != "":
				applyDefault(v, p, o)
			}
			continue
		}
		switch p.kind {
		case kEntity:
			if raw == nil {
				continue
			}
			child, ok := raw.(*jobject)
			if !ok {
				return nil, malformed("JSON: "+p.name+" is not an entity object", nil)
			}
			ce, err := decodeJSON(child, registry[p.xml], o)
			if err != nil {
				return nil, nestedErr(s.name, p.name, err)
			}
			v.Field(p.index).Set(reflect.ValueOf(ce))
		case kList:
			if raw == nil {
				continue
			}
			arr, ok := raw.([]any)
			if !ok {
				return nil, malformed("JSON: "+p.name+" is not an array", nil)
			}
			if len(arr) > o.maxList(p.name) {
				return nil, &LimitError{Limit: p.name, Max: o.maxList(p.name)}
			}
			list := reflect.MakeSlice(v.Field(p.index).Type(), 0, len(arr))
			for _, it := range arr {
				child, ok := it.(*jobject)
				if !ok {
					return nil, malformed("JSON: "+p.name+" item is not an entity object", nil)
				}
				ce, err := decodeJSON(child, registry[p.xml], o)
				if err != nil {
					return nil, nestedErr(s.name, p.name, err)
				}
				list = reflect.Append(list, reflect.ValueOf(ce))
			}
			v.Field(p.index).Set(list)
		default:
			if err := setJSONScalar(v, p, raw, m); err != nil {
				return nil, err
			}
			if err := strictJSON(s.name, p, raw, o); err != nil {
				return nil, err
			}
		}
	}
	if len(missing) > 0 {
		return nil, &ValidationError{Entity: s.name, Property: missing[0], Rule: "required",
			Detail: "missing required properties: " + strings.Join(missing, ", ")}
	}
	if s.relayable {
		order, ok := obj.vals["property_order"].([]any)
		if !ok {
			return nil, malformed("JSON: property_order missing or not an array", nil)
		}
		m.received = make([]rawField, 0, len(order))
		for _, it := range order {
			name, ok := it.(string)
			if !ok || !validElementName(name) {
				return nil, malformed("JSON: property_order item is not a property name", nil)
			}
			text, err := jsonText(data.vals[name])
			if err != nil {
				return nil, err
			}
			m.received = append(m.received, rawField{name: name, text: text})
		}
		m.jsonOrder = true
		for _, k := range data.keys {
			if s.prop(k) != nil || isSignatureName(k) || slices.ContainsFunc(m.received, func(f rawField) bool { return f.name == k }) {
				continue
			}
			if m.extra == nil {
				m.extra = map[string]any{}
			}
			m.extra[k] = plainJSON(data.vals[k])
		}
		// The signature must cover every required property, and the XML
		// form of the relayable is written in property_order: a required
		// property missing from it would be neither signed nor relayed.
		for i := range s.props {
			p := &s.props[i]
			if p.pres != required {
				continue
			}
			found := false
			for _, f := range m.received {
				if f.name == p.name {
					found = true
					break
				}
			}
			if !found {
				return nil, malformed("JSON: property_order lacks the required property "+p.name, nil)
			}
		}
	}
	return e, nil
}

// jsonText converts a scalar JSON value to the text the XML form would carry.
func jsonText(v any) (string, error) {
	switch t := v.(type) {
	case nil:
		return "", nil
	case string:
		return Sanitize(t), nil
	case bool:
		return formatBool(t), nil
	case json.Number:
		return t.String(), nil
	}
	return "", malformed("JSON: a relayable property is not a scalar", nil)
}

// strictJSON applies [Options.StrictValues] to a scalar JSON value: a
// number or string given for a timestamp, boolean or integer must parse.
func strictJSON(entity string, p *prop, raw any, o *Options) error {
	if !o.strictValues() {
		return nil
	}
	var text string
	switch t := raw.(type) {
	case json.Number:
		text = t.String()
	case string:
		text = t
	default:
		return nil
	}
	var ok bool
	switch p.kind {
	case kTime:
		_, ok = ParseTime(text)
	case kBool, kBoolPtr:
		_, ok = parseBool(text)
	case kInt:
		_, ok = parseInt(text)
	default:
		return nil
	}
	if ok {
		return nil
	}
	return typeError(entity, p, text)
}

func setJSONScalar(v reflect.Value, p *prop, raw any, m *meta) error {
	f := v.Field(p.index)
	switch t := raw.(type) {
	case nil:
		if p.kind == kBool {
			m.setNull(p.name)
		}
		return nil
	case bool:
		switch p.kind {
		case kBool:
			f.SetBool(t)
			return nil
		case kBoolPtr:
			b := t
			f.Set(reflect.ValueOf(&b))
			return nil
		}
		setScalar(v, p, formatBool(t), m)
		return nil
	case json.Number:
		n := t.String()
		if n == "-0" && p.kind == kInt { // the JSON number zero, written with a sign
			n = "0"
		}
		setScalar(v, p, n, m)
		return nil
	case string:
		// Like the XML form, the JSON form cannot carry characters
		// outside the XML Char production: replace them at once, so
		// that the entity reads the same after any round trip.
		setScalar(v, p, Sanitize(t), m)
		return nil
	}
	return malformed("JSON: "+p.name+" is not a scalar", nil)
}

// MarshalJSON returns the JSON form of e
// (https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json):
// entity_type,
// entity_data keyed by property name in declaration order (unset optional
// properties omitted, other unset properties null, nested entities in the
// same form, lists as arrays) and, for relayables, property_order with the
// signature order and the unknown properties in entity_data. An
// [*UnknownEntity] parsed from JSON is returned as received; one parsed from
// XML cannot be written as JSON.
func MarshalJSON(e Entity) ([]byte, error) {
	switch t := e.(type) {
	case nil:
		return nil, errors.New("entities: MarshalJSON of a nil entity")
	case *UnknownEntity:
		if json.Valid(t.Raw) {
			return append([]byte(nil), t.Raw...), nil
		}
		return nil, errors.New("entities: MarshalJSON of an unknown entity that was not JSON")
	case hasMeta:
		if reflect.ValueOf(t).IsNil() {
			return nil, errors.New("entities: MarshalJSON of a nil entity")
		}
		var b bytes.Buffer
		writeJSON(&b, t)
		return b.Bytes(), nil
	}
	return nil, errors.New("entities: MarshalJSON of an unsupported entity type")
}

// jsonString writes s as a JSON string without HTML escaping, as the
// reference does.
func jsonString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	b.Truncate(b.Len() - 1) // the newline Encode appends
}

func writeJSON(b *bytes.Buffer, e hasMeta) {
	s := schemaOf(e)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	var order []string
	inOrder := map[string]bool{}
	r, isRelayable := e.(Relayable)
	if isRelayable {
		props := r.SignatureProperties()
		for _, p := range props {
			if !isSignatureName(p.Name) && !inOrder[p.Name] {
				order = append(order, p.Name)
				inOrder[p.Name] = true
			}
		}
		// A name repeated in a received property_order is signed as
		// often as it appears, so it is written so too.
		if names, _, ok := repeatedOrder(e); ok {
			order = names
		}
	}
	b.WriteString(`{"entity_type":`)
	jsonString(b, s.name)
	b.WriteString(`,"entity_data":{`)
	n := 0
	key := func(k string) {
		if n > 0 {
			b.WriteByte(',')
		}
		n++
		jsonString(b, k)
		b.WriteByte(':')
	}
	for i := range s.props {
		p := &s.props[i]
		f := v.Field(p.index)
		switch p.kind {
		case kEntity:
			if f.IsNil() {
				if p.pres != optional {
					key(p.name)
					b.WriteString("null")
				}
				continue
			}
			key(p.name)
			writeJSON(b, f.Interface().(hasMeta))
		case kList:
			key(p.name)
			b.WriteByte('[')
			k := 0
			for j := 0; j < f.Len(); j++ {
				if it := f.Index(j); !it.IsNil() {
					if k > 0 {
						b.WriteByte(',')
					}
					k++
					writeJSON(b, it.Interface().(hasMeta))
				}
			}
			b.WriteByte(']')
		default:
			c, ok := canonical(v, p, m)
			if !ok {
				if p.pres == optional && !inOrder[p.name] {
					continue
				}
				key(p.name)
				b.WriteString("null")
				continue
			}
			key(p.name)
			switch p.kind {
			case kBool, kBoolPtr, kInt:
				b.WriteString(c)
			case kTime:
				jsonString(b, f.Interface().(time.Time).UTC().Format(TimeLayout))
			default:
				jsonString(b, c)
			}
		}
	}
	if isRelayable {
		for _, a := range r.AdditionalData() {
			key(a.Name)
			jsonString(b, Sanitize(a.Value))
		}
		// Members property_order does not name go on as received.
		for _, k := range slices.Sorted(maps.Keys(m.extra)) {
			if raw, err := json.Marshal(m.extra[k]); err == nil {
				key(k)
				b.Write(raw)
			}
		}
	}
	b.WriteByte('}')
	if isRelayable {
		b.WriteString(`,"property_order":[`)
		for i, name := range order {
			if i > 0 {
				b.WriteByte(',')
			}
			jsonString(b, name)
		}
		b.WriteByte(']')
	}
	b.WriteByte('}')
}

// validElementName reports whether name can be written as an XML element
// name (a conservative subset of the XML Name production, without colons).
func validElementName(name string) bool {
	if name == "" || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case i > 0 && (c >= '0' && c <= '9' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return !strings.HasPrefix(strings.ToLower(name), "xml")
}

// plainJSON turns a value of readJSON into encoding/json's plain values
// (objects as map[string]any; numbers stay json.Number, so they print as
// received).
func plainJSON(v any) any {
	switch t := v.(type) {
	case *jobject:
		out := make(map[string]any, len(t.keys))
		for _, k := range t.keys {
			out[k] = plainJSON(t.vals[k])
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plainJSON(x)
		}
		return out
	}
	return v
}
