package entities_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/entities"
)

func TestHardening(t *testing.T) {
	deep := strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40)
	many := "<status_message>" + strings.Repeat("<x/>", 5001) + "</status_message>"
	photo := `<photo><guid>0123456789abcdef</guid><author>alice@pod-a.example.org</author><remote_photo_path>https://p.example/u/</remote_photo_path><remote_photo_name>x.jpg</remote_photo_name></photo>`
	photos := `<status_message><author>alice@pod-a.example.org</author><guid>0123456789abcdef</guid><text>t</text>` +
		strings.Repeat(photo, 65) + `</status_message>`
	jsonDeep := strings.Repeat(`{"a":`, 40) + "1" + strings.Repeat("}", 40)
	tests := []struct {
		name  string
		json  bool
		input string
		want  error
	}{
		{"empty", false, "", entities.ErrMalformed},
		{"not xml", false, "hello", entities.ErrMalformed},
		{"doctype", false, `<!DOCTYPE status_message><status_message/>`, entities.ErrMalformed},
		{"billion laughs", false, `<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><account_deletion><author>&b;</author></account_deletion>`, entities.ErrMalformed},
		{"undefined entity", false, `<account_deletion><author>&x;</author></account_deletion>`, entities.ErrMalformed},
		{"second root", false, `<account_deletion><author>a@b.c</author></account_deletion><x/>`, entities.ErrMalformed},
		{"depth", false, deep, entities.ErrLimit},
		{"elements", false, many, entities.ErrLimit},
		{"size", false, "<a>" + strings.Repeat("x", entities.DefaultMaxSize) + "</a>", entities.ErrLimit},
		{"photos", false, photos, entities.ErrLimit},
		{"json syntax", true, `{"entity_type":`, entities.ErrMalformed},
		{"json not object", true, `[1]`, entities.ErrMalformed},
		{"json duplicate key", true, `{"entity_type":"account_deletion","entity_type":"account_deletion","entity_data":{"author":"a@b.c"}}`, entities.ErrMalformed},
		{"json duplicate nested key", true, `{"entity_type":"account_deletion","entity_data":{"author":"a@b.c","author":"d@e.f"}}`, entities.ErrMalformed},
		{"json trailing data", true, `{"entity_type":"account_deletion","entity_data":{"author":"a@b.c"}} {}`, entities.ErrMalformed},
		{"json depth", true, jsonDeep, entities.ErrLimit},
		{"json no entity_data", true, `{"entity_type":"account_deletion"}`, entities.ErrMalformed},
		{"json wrong nested type", true, `{"entity_type":"account_migration","entity_data":{"author":"a@b.c","profile":{"entity_type":"photo","entity_data":{}}}}`, entities.ErrMalformed},
		{"json scalar object", true, `{"entity_type":"account_deletion","entity_data":{"author":{}}}`, entities.ErrMalformed},
		{"json relayable without order", true, `{"entity_type":"like","entity_data":{"author":"alice@pod-a.example.org","guid":"0123456789abcdef","parent_guid":"0123456789abcdef","parent_type":"Post","positive":true}}`, entities.ErrMalformed},
		{"json unknown", true, `{"entity_type":"shiny","entity_data":{}}`, entities.ErrUnknownEntity},
		{"missing required", false, `<account_deletion/>`, entities.ErrValidation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				e   entities.Entity
				err error
			)
			if tt.json {
				e, err = entities.ParseJSON([]byte(tt.input), nil)
			} else {
				e, err = entities.ParseXML([]byte(tt.input), nil)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Parse = %T, %v; want %v", e, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "entities: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			if _, unknown := e.(*entities.UnknownEntity); (e != nil) != unknown {
				t.Errorf("entity %T returned with error", e)
			}
		})
	}
}

func TestLimitsConfigurable(t *testing.T) {
	in := []byte(`<account_deletion><author>alice@pod-a.example.org</author></account_deletion>`)
	if _, err := entities.ParseXML(in, &entities.Options{MaxSize: 10}); !errors.Is(err, entities.ErrLimit) {
		t.Fatalf("MaxSize 10: err = %v, want ErrLimit", err)
	}
	var le *entities.LimitError
	if _, err := entities.ParseXML(in, &entities.Options{MaxDepth: 1}); !errors.As(err, &le) || le.Limit != "depth" {
		t.Fatalf("MaxDepth 1: err = %v, want depth LimitError", err)
	}
	if _, err := entities.ParseXML(in, nil); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrorFields(t *testing.T) {
	tests := []struct {
		file                   string
		entity, property, rule string
	}{
		{"entity_xml/status_message_missing_guid.xml", "status_message", "guid", "required"},
		{"entity_xml/status_message_invalid_guid.xml", "status_message", "guid", "guid"},
		{"entity_xml/status_message_invalid_author.xml", "status_message", "author", "diaspora_id"},
		{"entity_xml/status_message_text_too_long.xml", "status_message", "text", "length"},
		{"entity_xml/status_message_nested_photo_other_author.xml", "status_message", "photos", "author"},
		{"entity_xml/contact_following_and_blocking.xml", "contact", "blocking", "flags"},
		{"entity_xml/embed_without_url_or_nothing.xml", "embed", "url", "embed"},
		{"entity_xml/poll_single_answer.xml", "poll", "poll_answers", "length"},
		{"entity_xml/conversation_message_other_author.xml", "conversation", "messages", "author"},
		{"entity_xml/profile_invalid_birthday.xml", "profile", "birthday", "birthday"},
		{"entity_xml/profile_too_many_tags.xml", "profile", "tag_string", "tag_count"},
		{"entity_xml/truncated_xml.xml", "status_message", "text", "required"},
		{"relayable_xml/like_invalid_parent_type.xml", "like", "parent_type", "one_of"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			_, err := entities.ParseXML(readVectorFile(t, tt.file), nil)
			var ve *entities.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, entities.ErrValidation) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if ve.Entity != tt.entity || ve.Property != tt.property || ve.Rule != tt.rule {
				t.Errorf("got %s/%s/%s, want %s/%s/%s", ve.Entity, ve.Property, ve.Rule, tt.entity, tt.property, tt.rule)
			}
		})
	}
}

func TestLegacyVocabulary(t *testing.T) {
	legacy := &entities.Options{Legacy: true, LegacyWrapper: true}
	tests := []struct {
		name, in string
		want     entities.Entity
	}{
		{"request", `<request><sender_handle>alice@pod-a.example.org</sender_handle><recipient_handle>bob@pod-b.example.net</recipient_handle></request>`,
			&entities.Contact{Author: "alice@pod-a.example.org", Recipient: "bob@pod-b.example.net", Following: true, Sharing: true}},
		{"wrapped request", `<XML><post><request><sender_handle>alice@pod-a.example.org</sender_handle><recipient_handle>bob@pod-b.example.net</recipient_handle></request></post></XML>`,
			&entities.Contact{Author: "alice@pod-a.example.org", Recipient: "bob@pod-b.example.net", Following: true, Sharing: true}},
		{"relayable_retraction", `<relayable_retraction><parent_author_signature/><target_guid>0123456789abcdef</target_guid><target_type>Comment</target_type><sender_handle>alice@pod-a.example.org</sender_handle><target_author_signature>x</target_author_signature></relayable_retraction>`,
			&entities.Retraction{Author: "alice@pod-a.example.org", TargetGUID: "0123456789abcdef", TargetType: "Comment"}},
		{"conversation", `<XML><post><conversation><guid>0123456789abcdef</guid><subject>s</subject><created_at>2016-06-29 04:42:23 UTC</created_at><participant_handles>alice@pod-a.example.org;bob@pod-b.example.net</participant_handles><diaspora_handle>alice@pod-a.example.org</diaspora_handle></conversation></post></XML>`,
			&entities.Conversation{Author: "alice@pod-a.example.org", GUID: "0123456789abcdef", Subject: "s", CreatedAt: time.Date(2016, 6, 29, 4, 42, 23, 0, time.UTC), Participants: "alice@pod-a.example.org;bob@pod-b.example.net"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := entities.ParseXML([]byte(tt.in), legacy)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(viewJSON(t, entities.ViewOf(tt.want)), viewJSON(t, entities.ViewOf(got))); diff != "" {
				t.Errorf("legacy view (-want +got):\n%s", diff)
			}
			// The wrapper alone is not enough: the vocabulary is needed too.
			if strings.HasPrefix(tt.in, "<XML>") {
				if _, err := entities.ParseXML([]byte(tt.in), &entities.Options{LegacyWrapper: true}); err == nil {
					t.Errorf("accepted with LegacyWrapper but without Legacy")
				}
				if _, err := entities.ParseXML([]byte(tt.in), &entities.Options{Legacy: true}); !errors.Is(err, entities.ErrUnknownEntity) {
					t.Errorf("wrapper without LegacyWrapper: %v, want ErrUnknownEntity", err)
				}
			}
			// Off by default: the current reference rejects all of these.
			if _, err := entities.ParseXML([]byte(tt.in), nil); err == nil {
				t.Errorf("accepted without Options.Legacy")
			}
		})
	}
}

// viewToEntityJSON turns an expected view back into the JSON entity form.
func viewToEntityJSON(v map[string]any) map[string]any {
	data := map[string]any{}
	for k, val := range v["properties"].(map[string]any) {
		switch x := val.(type) {
		case nil:
			continue
		case map[string]any:
			data[k] = viewToEntityJSON(x)
		case []any:
			list := []any{}
			for _, it := range x {
				list = append(list, viewToEntityJSON(it.(map[string]any)))
			}
			data[k] = list
		default:
			data[k] = x
		}
	}
	if add, ok := v["additional_data"].(map[string]any); ok {
		for k, val := range add {
			data[k] = val
		}
	}
	out := map[string]any{"entity_type": v["type"], "entity_data": data}
	if order, ok := v["property_order"]; ok {
		out["property_order"] = order
	}
	return out
}

// TestCanonicalMarshalOfExpected builds every valid vector's expected entity,
// writes it in the canonical XML form and checks that it parses back to the
// same view.
func TestCanonicalMarshalOfExpected(t *testing.T) {
	m := loadManifest(t)
	for _, v := range m.Vectors {
		if !v.Expected.Valid || v.Oracle != "current" || len(v.Expected.Entity) == 0 ||
			!(strings.HasPrefix(v.Kind, "entity_") || strings.HasPrefix(v.Kind, "relayable_") || strings.Contains(v.Kind, "envelope")) {
			continue
		}
		t.Run(v.ID, func(t *testing.T) {
			want := rawJSON(t, v.Expected.Entity)
			j, err := json.Marshal(viewToEntityJSON(want.(map[string]any)))
			if err != nil {
				t.Fatal(err)
			}
			e, err := entities.ParseJSON(j, nil)
			if err != nil {
				t.Fatalf("ParseJSON(expected) = %v\n%s", err, j)
			}
			x, err := entities.MarshalXML(e)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := entities.ParseXML(x, nil)
			if err != nil {
				t.Fatalf("ParseXML(MarshalXML(expected)) = %v\n%s", err, x)
			}
			if diff := cmp.Diff(want, viewJSON(t, entities.ViewOf(e2))); diff != "" {
				t.Errorf("(-want +got):\n%s\n%s", diff, x)
			}
		})
	}
}

func TestRelayableUnknownElementsSurvive(t *testing.T) {
	m := loadManifest(t)
	key := loadPrivateKey(t, "keys/alice.pem")
	pub := m.publicKey(t, "alice@pod-a.example.org")
	in := `<comment>
  <mood>happy</mood>
  <author>alice@pod-a.example.org</author>
  <guid>4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f</guid>
  <parent_guid>150bd6a707a2f2aa31d6a9902e3e2212</parent_guid>
  <ext><a>1</a>two<b/></ext>
  <text>Nice; thanks! &#xE9;&#13;</text>
  <empty/>
  <created_at>2024-03-01T18:05:09+01:00</created_at>
</comment>`
	e, err := entities.ParseXML([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	c := e.(*entities.Comment)
	if err := c.Sign(key); err != nil {
		t.Fatal(err)
	}
	wantOrder := []string{"mood", "author", "guid", "parent_guid", "ext", "text", "empty", "created_at"}
	if got := entities.ViewOf(c).PropertyOrder; !cmp.Equal(got, wantOrder) {
		t.Fatalf("order = %v, want %v", got, wantOrder)
	}
	for round := 0; round < 2; round++ {
		x, err := entities.MarshalXML(e)
		if err != nil {
			t.Fatal(err)
		}
		if e, err = entities.ParseXML(x, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.(entities.Relayable).VerifyAuthorSignature(pub); err != nil {
			t.Fatalf("round %d: %v\n%s", round, err, x)
		}
		j, err := entities.MarshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		if e, err = entities.ParseJSON(j, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.(entities.Relayable).VerifyAuthorSignature(pub); err != nil {
			t.Fatalf("round %d JSON: %v\n%s", round, err, j)
		}
	}
	add := entities.ViewOf(e).AdditionalData
	if want := map[string]any{"mood": "happy", "ext": "1two", "empty": ""}; !cmp.Equal(add, want) {
		t.Errorf("additional data = %v, want %v", add, want)
	}
	// Changing a signed property breaks the signature; re-signing fixes it.
	e.(*entities.Comment).Text = "changed"
	if err := e.(entities.Relayable).VerifyAuthorSignature(pub); !errors.Is(err, entities.ErrInvalidSignature) {
		t.Fatalf("tampered comment: err = %v", err)
	}
}

func TestAccountMigrationSignature(t *testing.T) {
	m := loadManifest(t)
	newKey := loadPrivateKey(t, "keys/alice_new.pem")
	am := &entities.AccountMigration{
		Author:  "alice@pod-a.example.org",
		Profile: &entities.Profile{Author: "alice@pod-new.example.org", Searchable: true},
	}
	if am.SignerID() != "alice@pod-new.example.org" || am.SignedText() != "AccountMigration:alice@pod-a.example.org:alice@pod-new.example.org" {
		t.Fatalf("signer %q, text %q", am.SignerID(), am.SignedText())
	}
	if err := am.VerifySignature(m.publicKey(t, am.SignerID())); !errors.Is(err, entities.ErrMissingSignature) {
		t.Fatalf("unsigned: err = %v", err)
	}
	if err := am.Sign(newKey); err != nil {
		t.Fatal(err)
	}
	x, err := entities.MarshalXML(am)
	if err != nil {
		t.Fatal(err)
	}
	e, err := entities.ParseXML(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.(*entities.AccountMigration).VerifySignature(m.publicKey(t, "alice@pod-new.example.org")); err != nil {
		t.Fatal(err)
	}
	if err := e.(*entities.AccountMigration).VerifySignature(m.publicKey(t, "alice@pod-a.example.org")); !errors.Is(err, entities.ErrInvalidSignature) {
		t.Fatalf("wrong key: err = %v", err)
	}
}

func TestDefaults(t *testing.T) {
	now := time.Date(2024, 3, 1, 17, 5, 9, 0, time.UTC)
	opts := &entities.Options{Now: func() time.Time { return now }}
	e, err := entities.ParseXML([]byte(`<contact><author>alice@pod-a.example.org</author><recipient>bob@pod-b.example.net</recipient></contact>`), opts)
	if err != nil {
		t.Fatal(err)
	}
	if c := e.(*entities.Contact); !c.Following || !c.Sharing || c.Blocking {
		t.Errorf("contact defaults: %+v", c)
	}
	e, err = entities.ParseXML([]byte(`<status_message><author>alice@pod-a.example.org</author><guid>0123456789abcdef</guid><text/></status_message>`), opts)
	if err != nil {
		t.Fatal(err)
	}
	if s := e.(*entities.StatusMessage); s.Public || !s.CreatedAt.Equal(now) || s.Photos != nil {
		t.Errorf("status message defaults: %+v", s)
	}
	// An unparsable boolean is "no value", which breaks the boolean rule.
	_, err = entities.ParseXML([]byte(`<status_message><author>alice@pod-a.example.org</author><guid>0123456789abcdef</guid><public>maybe</public><text/></status_message>`), opts)
	var ve *entities.ValidationError
	if !errors.As(err, &ve) || ve.Property != "public" || ve.Rule != "boolean" {
		t.Errorf("public=maybe: err = %v", err)
	}
}

// TestEveryTypeRoundTrip builds one entity of every type in Go and checks
// marshal → parse for XML and JSON.
func TestEveryTypeRoundTrip(t *testing.T) {
	ts := time.Date(2024, 3, 1, 17, 5, 9, 0, time.UTC)
	alice, guid := "alice@pod-a.example.org", "4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f"
	yes := true
	loc := &entities.Location{Address: "Ghent", Lat: "51.05", Lng: "3.71"}
	prof := &entities.Profile{Author: alice, FullName: "Alice", Searchable: true, TagString: "#a #b", Birthday: "1990-07-14"}
	all := []entities.Entity{
		&entities.StatusMessage{Author: alice, GUID: guid, CreatedAt: ts, Public: true, Text: "hi",
			Photos:   []*entities.Photo{{GUID: guid, Author: alice, CreatedAt: ts, RemotePhotoPath: "https://p.example/u/", RemotePhotoName: "a.jpg", Height: 10, Width: 20}},
			Location: loc,
			Poll:     &entities.Poll{GUID: guid, Question: "q?", PollAnswers: []*entities.PollAnswer{{GUID: guid, Answer: "a"}, {GUID: guid, Answer: "b"}}},
			Event:    &entities.Event{Author: alice, GUID: guid, Summary: "s", Start: ts, Timezone: "Europe/Berlin", Location: loc},
			Embed:    &entities.Embed{Nothing: &yes}},
		&entities.Photo{GUID: guid, Author: alice, CreatedAt: ts, RemotePhotoPath: "https://p.example/u/", RemotePhotoName: "a.jpg"},
		loc,
		&entities.Poll{GUID: guid, Question: "q?", PollAnswers: []*entities.PollAnswer{{GUID: guid, Answer: "a"}, {GUID: guid, Answer: "b"}}},
		&entities.PollAnswer{GUID: guid, Answer: "a"},
		&entities.Event{Author: alice, GUID: guid, Summary: "s", Start: ts, End: ts.Add(time.Hour), AllDay: true},
		&entities.Embed{URL: "https://example.com/x", Title: "t", Image: "https://example.com/i.png"},
		&entities.Reshare{Author: alice, GUID: guid, CreatedAt: ts, RootAuthor: "bob@pod-b.example.net", RootGUID: guid},
		&entities.Comment{Author: alice, GUID: guid, ParentGUID: guid, Text: "c", CreatedAt: ts, EditedAt: ts},
		&entities.Like{Author: alice, GUID: guid, ParentGUID: guid, ParentType: "Comment", Positive: false},
		&entities.PollParticipation{Author: alice, GUID: guid, ParentGUID: guid, PollAnswerGUID: guid},
		&entities.EventParticipation{Author: alice, GUID: guid, ParentGUID: guid, Status: "tentative"},
		&entities.Participation{Author: alice, GUID: guid, ParentGUID: guid, ParentType: "Post"},
		prof,
		&entities.Contact{Author: alice, Recipient: "bob@pod-b.example.net", Blocking: true},
		&entities.Conversation{Author: alice, GUID: guid, Subject: "s", CreatedAt: ts, Participants: alice + ";bob@pod-b.example.net",
			Messages: []*entities.Message{{Author: alice, GUID: guid, Text: "m", CreatedAt: ts, ConversationGUID: guid}}},
		&entities.Message{Author: alice, GUID: guid, Text: "m", CreatedAt: ts, ConversationGUID: guid},
		&entities.Retraction{Author: alice, TargetGUID: guid, TargetType: "Post"},
		&entities.AccountDeletion{Author: alice},
		&entities.AccountMigration{Author: alice, Profile: &entities.Profile{Author: "alice@pod-new.example.org"}, Signature: "c2ln", OldIdentity: alice},
		&entities.Person{GUID: guid, Author: alice, URL: "https://pod-a.example.org/", Profile: prof, ExportedKey: "-----BEGIN PUBLIC KEY-----\nAA==\n-----END PUBLIC KEY-----\n"},
	}
	seen := map[string]bool{}
	for _, e := range all {
		t.Run(e.Type(), func(t *testing.T) {
			seen[e.Type()] = true
			if err := e.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			want := viewJSON(t, entities.ViewOf(e))
			x, err := entities.MarshalXML(e)
			if err != nil {
				t.Fatal(err)
			}
			e2, err := entities.ParseXML(x, nil)
			if err != nil {
				t.Fatalf("ParseXML: %v\n%s", err, x)
			}
			if diff := cmp.Diff(want, viewJSON(t, entities.ViewOf(e2))); diff != "" {
				t.Errorf("XML (-want +got):\n%s\n%s", diff, x)
			}
			j, err := entities.MarshalJSON(e)
			if err != nil {
				t.Fatal(err)
			}
			e3, err := entities.ParseJSON(j, nil)
			if err != nil {
				t.Fatalf("ParseJSON: %v\n%s", err, j)
			}
			if diff := cmp.Diff(want, viewJSON(t, entities.ViewOf(e3))); diff != "" {
				t.Errorf("JSON (-want +got):\n%s\n%s", diff, j)
			}
		})
	}
	if len(seen) != 21 {
		t.Errorf("covered %d types, want 21", len(seen))
	}
}

func TestCategory(t *testing.T) {
	for err, want := range map[error]string{
		nil:                                     "",
		entities.ErrMalformed:                   "malformed",
		&entities.LimitError{Limit: "size"}:     "malformed",
		entities.ErrUnknownEntity:               "unknown_entity",
		&entities.ValidationError{}:             "validation",
		&entities.SignatureError{}:              "invalid_entity_signature",
		&entities.SignatureError{Missing: true}: "invalid_entity_signature",
		fmt.Errorf("x"):                         "other",
	} {
		if got := entities.Category(err); got != want {
			t.Errorf("Category(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestByteOrderMarkAndEncodings(t *testing.T) {
	for _, in := range []string{
		"\xEF\xBB\xBF<account_deletion><author>alice@pod-a.example.org</author></account_deletion>",
		`<?xml version="1.0" encoding="utf8"?><account_deletion><author>alice@pod-a.example.org</author></account_deletion>`,
		`<?xml version="1.0" encoding="UTF-8"?>` + "\n<!-- hi --><account_deletion><author>alice@pod-a.example.org</author></account_deletion>\n",
	} {
		e, err := entities.ParseXML([]byte(in), nil)
		if err != nil {
			t.Fatalf("ParseXML(%q) = %v", in, err)
		}
		if a := entities.Author(e); a != "alice@pod-a.example.org" {
			t.Errorf("author = %q", a)
		}
	}
	// Other encodings are read (encoding_test.go); an unknown one is not.
	in := `<?xml version="1.0" encoding="EBCDIC-US"?><account_deletion><author>a@b.c</author></account_deletion>`
	if _, err := entities.ParseXML([]byte(in), nil); !errors.Is(err, entities.ErrMalformed) {
		t.Errorf("EBCDIC-US: err = %v, want ErrMalformed", err)
	}
}
