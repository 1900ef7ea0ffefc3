package entities_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/relayable"
)

// TestRelayableJSONRepeatedOrder: a JSON property_order that names a
// property twice is signed with the value twice, as the reference signs
// it; the view and MarshalJSON keep the repetition, and unknown
// entity_data members that property_order does not name show in the view
// with their JSON value and survive MarshalJSON.
func TestRelayableJSONRepeatedOrder(t *testing.T) {
	m := loadManifest(t)
	key := loadPrivateKey(t, "keys/alice.pem")
	pub := m.publicKey(t, "alice@pod-a.example.org")
	in := `{"entity_type":"like","entity_data":{"author":"alice@pod-a.example.org","guid":"8476ab7cfe0d9a666b1b2bddab31f81e",` +
		`"parent_guid":"150bd6a707a2f2aa31d6a9902e3e2212","parent_type":"Post","positive":false,"extra":[1,"a",{"b":null}]},` +
		`"property_order":["author","author","guid","parent_guid","parent_type","positive"]}`
	e, err := entities.ParseJSON([]byte(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	l := e.(*entities.Like)
	if err := l.Sign(key); err != nil {
		t.Fatal(err)
	}
	want := "alice@pod-a.example.org;alice@pod-a.example.org;8476ab7cfe0d9a666b1b2bddab31f81e;150bd6a707a2f2aa31d6a9902e3e2212;Post;false"
	if err := relayable.VerifyString(want, l.AuthorSignature, pub); err != nil {
		t.Fatalf("the signature does not cover the repeated author: %v", err)
	}
	if err := relayable.Verify(l.SignatureProperties(), l.AuthorSignature, pub); err == nil {
		t.Fatal("the signature also verifies over the string without the repetition")
	}
	v := entities.ViewOf(l)
	if order := []string{"author", "author", "guid", "parent_guid", "parent_type", "positive"}; !cmp.Equal(v.PropertyOrder, order) {
		t.Errorf("view order = %v", v.PropertyOrder)
	}
	if got := v.AdditionalData["extra"]; got == nil {
		t.Errorf("additional data = %v, want the extra member", v.AdditionalData)
	}
	for round := 0; round < 2; round++ {
		j, err := entities.MarshalJSON(e)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(j), `"property_order":["author","author",`) || !strings.Contains(string(j), `"extra":[1,"a",{"b":null}]`) {
			t.Fatalf("round %d lost the repetition or the extra member:\n%s", round, j)
		}
		if e, err = entities.ParseJSON(j, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.(entities.Relayable).VerifyAuthorSignature(pub); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	// A changed repeated value breaks the signature.
	bad := strings.Replace(in, `"property_order"`, `"author_signature":"`+l.AuthorSignature+`","property_order"`, 1)
	bad = strings.Replace(bad, `"positive":false`, `"positive":true`, 1)
	e, err = entities.ParseJSON([]byte(bad), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.(entities.Relayable).VerifyAuthorSignature(pub); !errors.Is(err, entities.ErrInvalidSignature) {
		t.Errorf("tampered like: %v", err)
	}
}
