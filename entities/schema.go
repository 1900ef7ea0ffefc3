package entities

import (
	"reflect"
	"strings"
	"time"
)

type fieldKind int

const (
	kString fieldKind = iota
	kTime
	kBool
	kBoolPtr
	kInt
	kEntity
	kList
)

type presence int

const (
	required presence = iota
	defaulted
	optional
)

// prop describes one declared property of an entity type.
type prop struct {
	name   string // property name: JSON key, view key, scalar element name
	xml    string // element name (entity name for nested entities)
	legacy []string
	kind   fieldKind
	pres   presence
	def    string // "", "true", "false" or "now"
	sig    bool   // author_signature of a relayable
	index  int    // struct field index
	elem   reflect.Type
}

type schema struct {
	name      string
	typ       reflect.Type // struct type
	props     []prop
	relayable bool
}

var (
	timeType = reflect.TypeOf(time.Time{})
	entType  = reflect.TypeOf((*Entity)(nil)).Elem()
)

var registry = buildRegistry()

// buildRegistry reads the `diaspora:"name,kind,options..."` tags of every
// entity type. kind is required (the element must be present), defaulted
// (an absent element takes the default) or optional (may be absent);
// options are xml=NAME (element name of the items of a nested list),
// legacy=A|B (legacy element names, read with Options.Legacy),
// default=true|false|now, and sig (a relayable's author_signature, which is
// not part of the signature order). Fields are listed in the reference's
// declaration order, which is the emission order.
func buildRegistry() map[string]*schema {
	reg := map[string]*schema{}
	for _, e := range []Entity{
		&StatusMessage{}, &Photo{}, &Location{}, &Poll{}, &PollAnswer{}, &Event{}, &Embed{},
		&Reshare{}, &Comment{}, &Like{}, &PollParticipation{}, &EventParticipation{},
		&Participation{}, &Profile{}, &Contact{}, &Conversation{}, &Message{}, &Retraction{},
		&AccountDeletion{}, &AccountMigration{}, &Person{},
	} {
		s := &schema{name: e.Type(), typ: reflect.TypeOf(e).Elem()}
		_, s.relayable = e.(Relayable)
		for i := 0; i < s.typ.NumField(); i++ {
			f := s.typ.Field(i)
			tag, ok := f.Tag.Lookup("diaspora")
			if !ok {
				continue
			}
			parts := strings.Split(tag, ",")
			p := prop{name: parts[0], xml: parts[0], index: i}
			switch parts[1] {
			case "required":
				p.pres = required
			case "defaulted":
				p.pres = defaulted
			default:
				p.pres = optional
			}
			for _, o := range parts[2:] {
				switch {
				case o == "sig":
					p.sig = true
				case strings.HasPrefix(o, "xml="):
					p.xml = o[4:]
				case strings.HasPrefix(o, "legacy="):
					p.legacy = strings.Split(o[7:], "|")
				case strings.HasPrefix(o, "default="):
					p.def = o[8:]
				}
			}
			switch t := f.Type; {
			case t.Kind() == reflect.String:
				p.kind = kString
			case t == timeType:
				p.kind = kTime
			case t.Kind() == reflect.Bool:
				p.kind = kBool
			case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Bool:
				p.kind = kBoolPtr
			case t.Kind() == reflect.Int:
				p.kind = kInt
			case t.Kind() == reflect.Pointer && t.Implements(entType):
				p.kind = kEntity
				p.elem = t.Elem()
				p.xml = reflect.New(t.Elem()).Interface().(Entity).Type()
			case t.Kind() == reflect.Slice:
				p.kind = kList
				p.elem = t.Elem().Elem()
			default:
				panic("entities: unsupported field type " + t.String())
			}
			s.props = append(s.props, p)
		}
		reg[s.name] = s
	}
	return reg
}

func schemaOf(e Entity) *schema {
	return registry[e.Type()]
}

// newOf returns a new zero entity of the named type, or nil.
func newOf(name string) hasMeta {
	s := registry[name]
	if s == nil {
		return nil
	}
	return reflect.New(s.typ).Interface().(hasMeta)
}

func (s *schema) prop(name string) *prop {
	for i := range s.props {
		if s.props[i].name == name {
			return &s.props[i]
		}
	}
	return nil
}

// propByElement finds the property for an element name (current or, with
// legacy, legacy name).
func (s *schema) propByElement(elem string, legacy bool) *prop {
	for i := range s.props {
		p := &s.props[i]
		if p.xml == elem || (p.kind != kList && p.kind != kEntity && p.name == elem) {
			return p
		}
	}
	if legacy {
		for i := range s.props {
			for _, l := range s.props[i].legacy {
				if l == elem {
					return &s.props[i]
				}
			}
		}
	}
	return nil
}

// canonical returns the canonical text of a scalar property of v (a struct
// value), and whether it has a value. Values with no value give "".
func canonical(v reflect.Value, p *prop, m *meta) (string, bool) {
	f := v.Field(p.index)
	switch p.kind {
	case kString:
		s := f.String()
		return Sanitize(s), s != ""
	case kTime:
		t := f.Interface().(time.Time)
		return FormatTime(t), !t.IsZero()
	case kBool:
		if m != nil && m.null[p.name] {
			return "", false
		}
		return formatBool(f.Bool()), true
	case kBoolPtr:
		if f.IsNil() {
			return "", false
		}
		return formatBool(f.Elem().Bool()), true
	case kInt:
		n := f.Int()
		if n == 0 {
			if m != nil && m.zero[p.name] {
				return "0", true
			}
			return "", false
		}
		if n < 0 {
			return "", false
		}
		return itoa(n), true
	}
	return "", false
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// setScalar parses text into the scalar property p of v. It reports
// whether the text held a value.
func setScalar(v reflect.Value, p *prop, text string, m *meta) bool {
	f := v.Field(p.index)
	switch p.kind {
	case kString:
		f.SetString(text)
		return text != ""
	case kTime:
		t, ok := ParseTime(text)
		*f.Addr().Interface().(*time.Time) = t // no boxing of t
		return ok
	case kBool:
		b, ok := parseBool(text)
		f.SetBool(b)
		if !ok {
			m.setNull(p.name)
		}
		return ok
	case kBoolPtr:
		b, ok := parseBool(text)
		if ok {
			f.Set(reflect.ValueOf(&b))
		} else {
			f.Set(reflect.Zero(f.Type()))
		}
		return ok
	case kInt:
		n, ok := parseInt(text)
		f.SetInt(int64(n))
		if ok && n == 0 {
			if m.zero == nil {
				m.zero = map[string]bool{}
			}
			m.zero[p.name] = true
		}
		return ok
	}
	return false
}

// typeError reports a typed property whose text does not parse, under
// [Options.StrictValues].
func typeError(entity string, p *prop, text string) error {
	if p.kind == kString || text == "" {
		return nil
	}
	return &ValidationError{Entity: entity, Property: p.name, Rule: "type", Detail: "value does not parse"}
}

func (m *meta) setNull(name string) {
	if m.null == nil {
		m.null = map[string]bool{}
	}
	m.null[name] = true
}

// applyDefault sets the default of p on v.
func applyDefault(v reflect.Value, p *prop, o *Options) {
	f := v.Field(p.index)
	switch p.def {
	case "true":
		f.SetBool(true)
	case "false":
		f.SetBool(false)
	case "now":
		f.Set(reflect.ValueOf(o.now()))
	}
}
