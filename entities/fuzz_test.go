package entities_test

import (
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/seeds"
	"github.com/go-diaspora/federation/relayable"
)

var fuzzOpts = &entities.Options{Now: func() time.Time { return time.Date(2024, 3, 1, 17, 5, 9, 0, time.UTC) }}

// reparseOpts allows the canonical output to be larger than the input
// (non-ASCII characters become character references).
var reparseOpts = &entities.Options{
	MaxSize: 16 << 20,
	Now:     fuzzOpts.Now,
}

// checkParseError checks the error contract of the parsers.
func checkParseError(t *testing.T, e entities.Entity, err error) {
	if entities.Category(err) == "other" {
		t.Fatalf("untyped error %v", err)
	}
	if errors.Is(err, entities.ErrUnknownEntity) {
		if u, ok := e.(*entities.UnknownEntity); !ok || u == nil {
			t.Fatalf("ErrUnknownEntity without *UnknownEntity (%T)", e)
		}
	} else if e != nil {
		t.Fatalf("entity %T returned with error %v", e, err)
	}
}

func sigString(e entities.Entity) (string, bool) {
	r, ok := e.(entities.Relayable)
	if !ok {
		return "", false
	}
	return relayable.SignatureString(r.SignatureProperties()), true
}

// FuzzParseXML checks that ParseXML never panics, that its errors are typed,
// and that a parsed entity survives MarshalXML → ParseXML with the same view
// and, for relayables, the same signature string.
func FuzzParseXML(f *testing.F) {
	seeds.Vectors(f, 8<<10, "entity_xml/*", "relayable_xml/*")
	seeds.AddHostile(f, 8<<10, ".xml")
	f.Add([]byte(`<comment><author>a@b.c</author><guid>0123456789abcdef</guid><parent_guid>0123456789abcdef</parent_guid><x><y>1</y>2</x><text>t&#13;</text></comment>`))
	f.Add([]byte(`<XML><post><request><sender_handle>a@b.c</sender_handle><recipient_handle>d@e.f</recipient_handle></request></post></XML>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, legacy := range []bool{false, true} {
			o := *fuzzOpts
			o.Legacy, o.LegacyWrapper = legacy, legacy
			e, err := entities.ParseXML(data, &o)
			if err != nil {
				checkParseError(t, e, err)
				continue
			}
			out, err := entities.MarshalXML(e)
			if err != nil {
				t.Fatalf("MarshalXML: %v", err)
			}
			ro := *reparseOpts
			ro.Legacy, ro.LegacyWrapper = legacy, legacy
			e2, err := entities.ParseXML(out, &ro)
			if err != nil {
				t.Fatalf("ParseXML(MarshalXML(e)) = %v\ninput: %q\noutput: %q", err, data, out)
			}
			if diff := cmp.Diff(viewJSON(t, entities.ViewOf(e)), viewJSON(t, entities.ViewOf(e2))); diff != "" {
				t.Fatalf("round trip changed the view (-first +second):\n%s\ninput: %q\noutput: %q", diff, data, out)
			}
			if s1, ok := sigString(e); ok {
				if s2, _ := sigString(e2); s1 != s2 {
					t.Fatalf("signature string changed: %q → %q\ninput: %q\noutput: %q", s1, s2, data, out)
				}
			}
		}
	})
}

// FuzzParseJSON checks the same properties for the JSON form.
func FuzzParseJSON(f *testing.F) {
	seeds.Vectors(f, 8<<10, "entity_json/*", "relayable_json/*")
	seeds.AddHostile(f, 8<<10, ".json")
	f.Add([]byte(`{"entity_type":"like","entity_data":{"author":"a@b.c","guid":"0123456789abcdef","parent_guid":"0123456789abcdef","parent_type":"Post","positive":"1","x":null},"property_order":["x","author","guid","parent_guid","parent_type","positive"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := entities.ParseJSON(data, fuzzOpts)
		if err != nil {
			checkParseError(t, e, err)
			return
		}
		out, err := entities.MarshalJSON(e)
		if err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
		e2, err := entities.ParseJSON(out, reparseOpts)
		if err != nil {
			t.Fatalf("ParseJSON(MarshalJSON(e)) = %v\ninput: %q\noutput: %q", err, data, out)
		}
		if diff := cmp.Diff(viewJSON(t, entities.ViewOf(e)), viewJSON(t, entities.ViewOf(e2))); diff != "" {
			t.Fatalf("round trip changed the view (-first +second):\n%s\ninput: %q\noutput: %q", diff, data, out)
		}
		if s1, ok := sigString(e); ok {
			if s2, _ := sigString(e2); s1 != s2 {
				t.Fatalf("signature string changed: %q → %q", s1, s2)
			}
		}
		// The XML form of a JSON entity must parse back, too.
		x, err := entities.MarshalXML(e)
		if err != nil {
			t.Fatalf("MarshalXML: %v", err)
		}
		e3, err := entities.ParseXML(x, reparseOpts)
		if err != nil {
			t.Fatalf("ParseXML(MarshalXML(json entity)) = %v\ninput: %q\noutput: %q", err, data, x)
		}
		if s1, ok := sigString(e); ok {
			if s3, _ := sigString(e3); s1 != s3 {
				t.Fatalf("signature string changed through XML: %q → %q", s1, s3)
			}
		}
	})
}
