package entities_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/entities"
)

// TestReadLikeTheReference covers the readings that follow the
// reference on input a real sender can produce: booleans without a value,
// integer zero, namespaced elements, the URL rule, old_identity, and the
// refusals this package keeps (surrogate references, duplicate
// attributes).
func TestReadLikeTheReference(t *testing.T) {
	const (
		profile = `<profile><author>alice@pod-a.example.org</author>%s</profile>`
		photo   = `<photo><guid>accbbd065cfa2f34015026ccf9d67e58</guid><author>alice@pod-a.example.org</author><public>true</public>` +
			`<created_at>2023-04-05T06:07:08Z</created_at><remote_photo_path>%s</remote_photo_path>` +
			`<remote_photo_name>a.jpg</remote_photo_name><height>768</height>%s</photo>`
		status = `<status_message><author>alice@pod-a.example.org</author><guid>0123456789abcdef</guid>` +
			`<created_at>2023-04-05T06:07:08Z</created_at>%s</status_message>`
		migration = `<account_migration><author>%s</author><profile><author>alice@pod-new.example.org</author></profile>` +
			`<signature>c2ln</signature>%s</account_migration>`
	)
	f := func(format string, args ...string) string {
		for _, a := range args {
			format = strings.Replace(format, "%s", a, 1)
		}
		return format
	}
	tests := []struct {
		name, in string
		// prop and want: a property of the view and its value (want
		// "<nil>" for no value); rule: the broken rule instead.
		prop string
		want any
		rule string
		// malformed: the input is refused as not well-formed.
		malformed bool
	}{
		{"empty profile boolean", f(profile, "<public>\n</public>"), "public", nil, "", false},
		{"unparsable profile boolean", f(profile, "<searchable>-1</searchable>"), "searchable", nil, "", false},
		{"empty contact blocking", `<contact><author>a@b.example</author><recipient>c@d.example</recipient><following>true</following><sharing>true</sharing><blocking/></contact>`,
			"blocking", nil, "", false},
		{"empty contact sharing", `<contact><author>a@b.example</author><recipient>c@d.example</recipient><following>true</following><sharing/></contact>`,
			"", nil, "boolean", false},
		{"unparsable status public", f(status, "<public>on</public><text>x</text>"), "", nil, "boolean", false},
		{"integer zero", f(photo, "https://pod-a.example.org/uploads/", "<width>00</width>"), "width", 0, "", false},
		{"scheme-relative URL", f(photo, "//pod-a.example.org/uploads/", ""), "remote_photo_path", "//pod-a.example.org/uploads/", "", false},
		{"invisible character in a URL", f(photo, "https://pod-a.example.org/up\u200floads/", ""), "", nil, "uri", false},
		{"C1 control in a URL", f(photo, "https://pod-a.example.org/uploads/&#x9F;", ""), "", nil, "uri", false},
		{"ligature in a URL", f(photo, "https://pod-a.example.org/upload\ufb01/", ""), "", nil, "uri", false},
		{"namespaced text is present without a value", f(status, `<d:text xmlns:d="http://joindiaspora.com/protocol">hi</d:text>`), "text", nil, "", false},
		{"namespaced public is present without a value", f(status, `<public xmlns="urn:x">true</public><text>x</text>`), "", nil, "boolean", false},
		{"plain element wins over a namespaced one", f(status, `<d:text xmlns:d="urn:x">no</d:text><text>yes</text>`), "text", "yes", "", false},
		{"undeclared prefix is another name", f(status, `<x:text>no</x:text><text>yes</text>`), "text", "yes", "", false},
		{"old_identity ignored when the author is the old identity", f(migration, "alice@pod-a.example.org", "<old_identity>\ufffdalice@pod-a.example.org</old_identity>"),
			"old_identity", "alice@pod-a.example.org", "", false},
		{"old_identity required when the author is the new identity", f(migration, "alice@pod-new.example.org", "<old_identity/>"), "", nil, "diaspora_id", false},
		{"old_identity read when the author is the new identity", f(migration, "alice@pod-new.example.org", "<old_identity>alice@pod-a.example.org</old_identity>"),
			"old_identity", "alice@pod-a.example.org", "", false},
		{"surrogate reference", f(profile, "<full_name>a&#xD800;b</full_name>"), "", nil, "", true},
		{"surrogate decimal reference", f(profile, "<full_name>a&#57343;b</full_name>"), "", nil, "", true},
		{"duplicate attribute", f(profile, `<nsfw a="1" a="2">false</nsfw>`), "", nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := entities.ParseXML([]byte(tt.in), nil)
			switch {
			case tt.malformed:
				if !errors.Is(err, entities.ErrMalformed) {
					t.Fatalf("err = %v, want ErrMalformed", err)
				}
				return
			case tt.rule != "":
				var ve *entities.ValidationError
				for errors.As(err, &ve) && ve.Rule == "nested" {
					err = ve.Err
				}
				if !errors.As(err, &ve) || ve.Rule != tt.rule {
					t.Fatalf("err = %v, want rule %s", err, tt.rule)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			got, ok := entities.ViewOf(e).Properties[tt.prop]
			if !ok || got != tt.want {
				t.Errorf("%s = %#v (present %v), want %#v", tt.prop, got, ok, tt.want)
			}
		})
	}
}

// TestNullBooleanRoundTrip: a boolean received without a value stays
// without one through MarshalXML (an empty element), instead of taking
// its default.
func TestNullBooleanRoundTrip(t *testing.T) {
	in := `<contact><author>a@b.example</author><recipient>c@d.example</recipient><following>true</following><sharing>true</sharing><blocking>maybe</blocking></contact>`
	e, err := entities.ParseXML([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	x, err := entities.MarshalXML(e)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(x), "<blocking/>") {
		t.Fatalf("MarshalXML dropped the empty blocking:\n%s", x)
	}
	e, err = entities.ParseXML(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v := entities.ViewOf(e).Properties["blocking"]; v != nil {
		t.Errorf("blocking after the round trip = %v, want no value", v)
	}
}
