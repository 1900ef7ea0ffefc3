package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/salmon"
)

// One guid known twice, as a StatusMessage (listed first, so a lookup by
// guid alone would find it) and as a Photo; a Post, a Reshare, and a type
// written in snake_case.
func relatedEnv() *Env {
	post := vectors.RelatedEntity{EntityType: "Post", GUID: "post", Author: "bob@pod-b.example.net", Public: true}
	return NewEnv(&vectors.Manifest{RelatedEntities: []vectors.RelatedEntity{
		{EntityType: "StatusMessage", GUID: "shared", Author: "alice@pod-a.example.org", Public: true},
		{EntityType: "Photo", GUID: "shared", Author: "carol@pod-c.example.com", Public: true},
		post,
		{EntityType: "Reshare", GUID: "reshare", Author: "dave@pod-a.example.org", Public: true},
		{EntityType: "poll_participation", GUID: "pp", Author: "alice@pod-a.example.org", Public: true, Parent: &post},
	}})
}

func TestRelatedEntityType(t *testing.T) {
	env := relatedEnv()
	tests := []struct {
		typ, guid string
		want      string // the type found, "" for not found
	}{
		{"Photo", "shared", "Photo"},
		{"photo", "shared", "Photo"},
		{"StatusMessage", "shared", "StatusMessage"},
		{"status_message", "shared", "StatusMessage"},
		{"Post", "shared", "StatusMessage"},
		{"post", "shared", "StatusMessage"},
		{"Comment", "shared", ""},
		{"Reshare", "shared", ""},
		{"Post", "post", "Post"},
		// A known Post may be a reshare: it does not answer to StatusMessage.
		{"StatusMessage", "post", ""},
		{"Reshare", "post", ""},
		{"Post", "reshare", "Reshare"},
		{"Reshare", "reshare", "Reshare"},
		{"StatusMessage", "reshare", ""},
		{"PollParticipation", "pp", "poll_participation"},
		{"poll_participation", "pp", "poll_participation"},
		// Spellings that are neither class names nor snake_case match
		// nothing.
		{" Post", "post", ""},
		{"Post ", "post", ""},
		{"POST", "post", ""},
		{"Status_Message", "shared", ""},
		{"status__message", "shared", ""},
		{"", "post", ""},
		{"Post", "unknown", ""},
	}
	for _, tt := range tests {
		got, err := env.RelatedEntity(context.Background(), tt.typ, tt.guid)
		if tt.want == "" {
			if got != nil || !errors.Is(err, salmon.ErrNotFound) {
				t.Errorf("RelatedEntity(%q, %q) = %+v, %v; want ErrNotFound", tt.typ, tt.guid, got, err)
			}
			continue
		}
		if err != nil || got == nil || got.Type != tt.want || got.GUID != tt.guid {
			t.Errorf("RelatedEntity(%q, %q) = %+v, %v; want a %s", tt.typ, tt.guid, got, err, tt.want)
		}
	}
	pp, err := env.RelatedEntity(context.Background(), "PollParticipation", "pp")
	if err != nil || pp.Parent == nil || pp.Parent.GUID != "post" || pp.Root().Author != "bob@pod-b.example.net" {
		t.Errorf("parent chain: %+v, %v", pp, err)
	}
}

// A retraction of a Photo is judged against the Photo, not against a
// StatusMessage with the same guid.
func TestRetractionTargetType(t *testing.T) {
	env := NewEnv(&vectors.Manifest{RelatedEntities: []vectors.RelatedEntity{
		{EntityType: "StatusMessage", GUID: "44187179a64746e8e3752f977bce977c", Author: "alice@pod-a.example.org", Public: true},
		{EntityType: "Post", GUID: "6bb5fd6a2e0858b8dc1331bba0e75f80", Author: "alice@pod-a.example.org", Public: true},
	}})
	retraction := func(typ, guid string) []byte {
		return []byte("<retraction><author>alice@pod-a.example.org</author><target_guid>" + guid + "</target_guid><target_type>" + typ + "</target_type></retraction>")
	}
	v := vectors.Vector{Kind: "entity_xml", Oracle: "current"}
	tests := []struct {
		typ, guid string
		category  string // "" for valid
	}{
		{"StatusMessage", "44187179a64746e8e3752f977bce977c", ""},
		{"Post", "44187179a64746e8e3752f977bce977c", ""},
		{"Photo", "44187179a64746e8e3752f977bce977c", "related_entity_not_found"},
		{"Post", "6bb5fd6a2e0858b8dc1331bba0e75f80", ""},
		{"StatusMessage", "6bb5fd6a2e0858b8dc1331bba0e75f80", "related_entity_not_found"},
		{"Comment", "6bb5fd6a2e0858b8dc1331bba0e75f80", "related_entity_not_found"},
	}
	for _, tt := range tests {
		got := judgeEntity(context.Background(), env, v, retraction(tt.typ, tt.guid))
		if got.Valid != (tt.category == "") || got.Category != tt.category {
			t.Errorf("retraction of %s %s: valid %v, category %q (%s); want category %q", tt.typ, tt.guid, got.Valid, got.Category, got.Message, tt.category)
		}
	}
}

func expected(entity string) vectors.Expected {
	return vectors.Expected{Valid: true, Entity: json.RawMessage(entity)}
}

// Integers above 2^53 keep every digit: 9223372036854775806 and
// 9223372036854775807 are the same float64.
func TestCompareBigIntegers(t *testing.T) {
	photo := &entities.Photo{
		GUID: "accbbd065cfa2f34015026ccf9d67e58", Author: "alice@pod-a.example.org",
		RemotePhotoPath: "https://pod-a.example.org/uploads/images/", RemotePhotoName: "x.jpg",
		Height: math.MaxInt64, Width: 1 << 53,
	}
	got := Verdict{Valid: true, Entity: view(photo)}
	props, _ := got.Entity.(map[string]any)["properties"].(map[string]any)
	if props == nil || props["height"] != json.Number("9223372036854775807") || props["width"] != json.Number("9007199254740992") {
		t.Fatalf("view: properties %#v", props)
	}
	b, err := json.Marshal(got)
	if err != nil || !strings.Contains(string(b), `"height":9223372036854775807,`) {
		t.Errorf("printed as %s (%v)", b, err)
	}
	tests := []struct {
		entity string
		want   string
	}{
		{`{"type": "photo", "properties": {"height": 9223372036854775807, "width": 9007199254740992}}`, ""},
		{`{"properties": {"height": 9223372036854775806}}`, "differs at entity.properties.height"},
		{`{"properties": {"height": 9223372036854775808}}`, "differs at entity.properties.height"},
		{`{"properties": {"width": 9007199254740993}}`, "differs at entity.properties.width"},
		{`{"properties": {"width": 9007199254740992.0}}`, ""},
		{`{"properties": {"width": 9.007199254740992e15}}`, ""},
		{`{"properties": {"height": "9223372036854775807"}}`, "differs at entity.properties.height"},
		{`{"properties": {"height": 9223372036854775807} } x`, "expected.entity: data after the JSON value"},
	}
	for _, tt := range tests {
		if why := compare(expected(tt.entity), got); why != tt.want {
			t.Errorf("compare(%s) = %q, want %q", tt.entity, why, tt.want)
		}
	}
}

func TestSubsetNumbers(t *testing.T) {
	tests := []struct {
		want, got any
		same      bool
	}{
		{json.Number("1"), json.Number("1"), true},
		{json.Number("1"), json.Number("1.0"), true},
		{json.Number("100"), json.Number("1e2"), true},
		{json.Number("-0"), json.Number("0"), true},
		{json.Number("123456789012345678901234567890"), json.Number("123456789012345678901234567890"), true},
		{json.Number("123456789012345678901234567890"), json.Number("123456789012345678901234567891"), false},
		{json.Number("9007199254740993"), json.Number("9007199254740992"), false},
		{json.Number("0.1"), json.Number("0.10"), true},
		{json.Number("0.1"), json.Number("0.2"), false},
		{json.Number("1e400"), json.Number("1e400"), true},
		{json.Number("1e400"), json.Number("2e400"), false},
		// A float64 from a decoder without UseNumber (the discovery views).
		{json.Number("2"), float64(2), true},
		{json.Number("9007199254740993"), float64(9007199254740992), false},
		{json.Number("9007199254740992"), float64(9007199254740992), true},
		{json.Number("0.5"), float64(0.5), true},
		{json.Number("1e300"), float64(1e300), true},
		{json.Number("0.5"), float64(0.25), false},
		{json.Number("1"), "1", false},
		{json.Number("1"), true, false},
		{json.Number("1"), nil, false},
		{"1", json.Number("1"), false},
	}
	for _, tt := range tests {
		if p := subset(tt.want, tt.got, "x"); (p == "") != tt.same {
			t.Errorf("subset(%#v, %#v) = %q, want same %v", tt.want, tt.got, p, tt.same)
		}
	}
}
