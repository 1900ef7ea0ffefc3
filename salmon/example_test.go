package salmon_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"fmt"
	"log"
	"os"

	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// The examples use the committed test people of the reference vectors:
// alice@pod-a.example.org, bob@pod-b.example.net and
// carol@pod-c.example.com.

// testKey reads the private key of a test person (keys/NAME.pem). A pod
// keeps its people's keys in its store; magicenv.GenerateKey makes new ones.
func testKey(name string) *rsa.PrivateKey {
	b, err := os.ReadFile("../testdata/vectors/reference/keys/" + name + ".pem")
	if err != nil {
		log.Fatal(err)
	}
	k, err := magicenv.ParsePrivateKey(b, nil)
	if err != nil {
		log.Fatal(err)
	}
	return k
}

// vector reads a body of the reference vectors.
func vector(rel string) []byte {
	b, err := os.ReadFile("../testdata/vectors/reference/" + rel)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

// keyStore is the public keys a pod knows, by diaspora* ID: a
// magicenv.KeyResolver. A pod backs it with its database and discovery
// (see Example_keysFromDiscovery).
type keyStore map[string]*rsa.PublicKey

func (k keyStore) PublicKey(_ context.Context, id string) (*rsa.PublicKey, error) {
	if pub, ok := k[id]; ok {
		return pub, nil
	}
	return nil, magicenv.ErrKeyNotFound
}

// entityStore is what a pod knows about posts and other entities that
// received ones refer to: a salmon.EntityStore.
type entityStore map[string]*salmon.RelatedEntity

func (s entityStore) RelatedEntity(_ context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	if e, ok := s[guid]; ok && e.Type == typ {
		return e, nil
	}
	return nil, salmon.ErrNotFound
}

// localPeople gives the private keys of a pod's own people by guid, for the
// private route: a salmon.RecipientKeys.
type localPeople map[string]struct {
	ID  string
	Key *rsa.PrivateKey
}

func (l localPeople) RecipientKey(_ context.Context, guid string) (string, crypto.Decrypter, error) {
	if p, ok := l[guid]; ok {
		return p.ID, p.Key, nil
	}
	return "", nil, salmon.ErrRecipientNotFound
}

// Tell a received body's format, then read a legacy public slap.
func Example() {
	body, err := os.ReadFile("../testdata/vectors/reference/legacy_slap_public/status_message_legacy_payload.xml")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format:", salmon.Detect(body, ""))

	slap, err := salmon.ParseSlap(body, nil)
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := magicenv.ParsePublicKey(pem, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sender:", slap.Author)
	fmt.Println("signature ok:", slap.Verify(pub) == nil)
	// Output:
	// format: legacy_slap
	// sender: alice@pod-a.example.org
	// signature ok: true
}

// Detect tells the formats apart from the outside of a body, before any
// cryptography.
func ExampleDetect() {
	for _, rel := range []string{
		"magic_envelope_public/status_message_basic.xml",
		"encrypted_magic_envelope_private/contact.json",
		"legacy_slap_private/status_message_modern_payload.xml",
		"entity_xml/location.xml",
	} {
		f := salmon.Detect(vector(rel), "")
		fmt.Printf("%s (legacy %t)\n", f, f.Legacy())
	}
	// Output:
	// magic_envelope (legacy false)
	// encrypted_magic_envelope (legacy false)
	// legacy_encrypted_slap (legacy true)
	// unknown (legacy false)
}

// Category names why a body was refused, in the vocabulary of the test
// vectors; IsTemporary tells "refused for good" from "could not check now,
// try again" (answer 503, or retry the stored body later).
func ExampleCategory() {
	alice, bob := testKey("alice"), testKey("bob")
	r := &salmon.Receiver{Keys: keyStore{
		"alice@pod-a.example.org": &alice.PublicKey,
		"bob@pod-b.example.net":   &bob.PublicKey,
	}}
	for _, file := range []string{
		"status_message_basic.xml",
		"wrong_signing_key.xml",
		"unknown_sender_key.xml",
		"invalid_entity_payload.xml",
		"status_message_not_public.xml",
		"not_an_envelope.xml",
	} {
		_, err := r.ReceivePublic(context.Background(), vector("magic_envelope_public/"+file))
		fmt.Printf("%s: %q, temporary %t\n", file, salmon.Category(err), salmon.IsTemporary(err))
	}

	// A key server that does not answer: temporary.
	down := &salmon.Receiver{Keys: magicenv.KeyResolverFunc(func(ctx context.Context, id string) (*rsa.PublicKey, error) {
		return nil, context.DeadlineExceeded
	})}
	_, err := down.ReceivePublic(context.Background(), vector("magic_envelope_public/status_message_basic.xml"))
	fmt.Printf("key server down: %q, temporary %t\n", salmon.Category(err), salmon.IsTemporary(err))
	// Output:
	// status_message_basic.xml: "", temporary false
	// wrong_signing_key.xml: "invalid_envelope_signature", temporary false
	// unknown_sender_key.xml: "sender_key_not_found", temporary false
	// invalid_entity_payload.xml: "validation", temporary false
	// status_message_not_public.xml: "not_public", temporary false
	// not_an_envelope.xml: "invalid_envelope", temporary false
	// key server down: "sender_key_not_found", temporary true
}
