package salmon_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// stores over the reference manifest, with switches to make lookups fail.
type fakeStores struct {
	t       *testing.T
	keyErr  error // returned by PublicKey for every ID when set
	entErr  error
	related map[string]*salmon.RelatedEntity
}

func (f *fakeStores) PublicKey(_ context.Context, id string) (*rsa.PublicKey, error) {
	if f.keyErr != nil {
		return nil, f.keyErr
	}
	m := vectors.Reference(f.t)
	pub, known, err := m.PublicKey(keyParser, id)
	if err != nil || !known {
		return nil, magicenv.ErrKeyNotFound
	}
	return pub, nil
}

func (f *fakeStores) RelatedEntity(_ context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	if f.entErr != nil {
		return nil, f.entErr
	}
	if e, ok := f.related[guid]; ok {
		return e, nil
	}
	return nil, salmon.ErrNotFound
}

func (f *fakeStores) RecipientKey(_ context.Context, guid string) (string, crypto.Decrypter, error) {
	if guid != "bob" {
		return "", nil, salmon.ErrRecipientNotFound
	}
	k, err := vectors.Reference(f.t).PrivateKey(keyParser, "bob@pod-b.example.net")
	return "bob@pod-b.example.net", k, err
}

func TestReceiverLookups(t *testing.T) {
	m := vectors.Reference(t)
	read := func(rel string) []byte {
		b, err := m.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	public := read("magic_envelope_public/status_message_basic.xml")
	relayed := read("magic_envelope_public/comment_relayed_by_parent_author.xml")
	private := read("encrypted_magic_envelope_private/contact.json")
	ctx := context.Background()
	timeout := errors.New("i/o timeout")
	post := &salmon.RelatedEntity{Type: "Post", GUID: "150bd6a707a2f2aa31d6a9902e3e2212", Author: "bob@pod-b.example.net", Public: true}
	stores := func() *fakeStores {
		return &fakeStores{t: t, related: map[string]*salmon.RelatedEntity{post.GUID: post}}
	}
	recv := func(f *fakeStores) *salmon.Receiver {
		return &salmon.Receiver{Keys: f, Entities: f, RecipientKeys: f}
	}

	// Positive controls.
	msg, err := recv(stores()).ReceivePublic(ctx, public)
	if err != nil || msg.Sender != "alice@pod-a.example.org" || msg.Entity.Type() != "status_message" || msg.Recipient != "" {
		t.Fatalf("public: %+v, %v", msg, err)
	}
	env, _ := magicenv.Parse(public, nil)
	if !bytes.Equal(msg.Payload, env.Payload()) {
		t.Error("Message.Payload is not the signed payload")
	}
	if msg, err = recv(stores()).ReceivePrivate(ctx, "bob", private); err != nil || msg.Recipient != "bob@pod-b.example.net" || msg.Format != salmon.FormatEncryptedMagicEnvelope {
		t.Fatalf("private: %+v, %v", msg, err)
	}
	if msg, err = recv(stores()).ReceivePublic(ctx, relayed); err != nil || msg.Entity.Type() != "comment" {
		t.Fatalf("relayed comment: %+v, %v", msg, err)
	}
	if _, ok := msg.Entity.(entities.Relayable); !ok {
		t.Error("comment is not a Relayable")
	}

	tests := []struct {
		name      string
		stores    func() *fakeStores
		body      []byte
		private   string
		category  string
		temporary bool
	}{
		{"sender key timeout", func() *fakeStores { f := stores(); f.keyErr = timeout; return f }, public, "", "sender_key_not_found", true},
		{"sender key not found", func() *fakeStores { f := stores(); f.keyErr = magicenv.ErrKeyNotFound; return f }, public, "", "sender_key_not_found", false},
		{"parent lookup timeout", func() *fakeStores { f := stores(); f.entErr = timeout; return f }, relayed, "", "other", true},
		{"parent not found", func() *fakeStores { f := stores(); f.related = nil; return f }, relayed, "", "related_entity_not_found", false},
		{"unknown recipient", stores, private, "carol", "recipient_not_found", false},
		{"encrypted body on public route", stores, private, "", "invalid_envelope", false},
		{"public body on private route", stores, public, "bob", "invalid_envelope", false},
		{"slap without legacy mode", stores, read("legacy_slap_public/status_message_legacy_payload.xml"), "", "invalid_envelope", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := recv(tt.stores())
			var err error
			if tt.private != "" {
				_, err = r.ReceivePrivate(ctx, tt.private, tt.body)
			} else {
				_, err = r.ReceivePublic(ctx, tt.body)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			if got := salmon.Category(err); got != tt.category {
				t.Errorf("Category = %q (%v), want %q", got, err, tt.category)
			}
			if got := salmon.IsTemporary(err); got != tt.temporary {
				t.Errorf("Temporary = %v (%v), want %v", got, err, tt.temporary)
			}
		})
	}
	// A temporary failure of the relayable author's key is temporary too,
	// not "author key not found".
	f := stores()
	f.related[post.GUID] = &salmon.RelatedEntity{Type: "Post", GUID: post.GUID, Author: "carol@pod-c.example.com", Public: true, Local: true}
	r := &salmon.Receiver{Keys: magicenv.KeyResolverFunc(func(ctx context.Context, id string) (*rsa.PublicKey, error) {
		if id == "bob@pod-b.example.net" {
			return f.PublicKey(ctx, id)
		}
		return nil, timeout
	}), Entities: f}
	_, err = r.ReceivePublic(ctx, relayed)
	if salmon.Category(err) == "author_key_not_found" || !salmon.IsTemporary(err) {
		t.Errorf("author key timeout: %v (category %q, temporary %v)", err, salmon.Category(err), salmon.IsTemporary(err))
	}
	// Envelope.MinKeyBits also holds for the key of a relayable's author:
	// the comment's author has a 2048-bit key, which passes by default.
	f = stores()
	f.related[post.GUID] = &salmon.RelatedEntity{Type: "Post", GUID: post.GUID, Author: "carol@pod-c.example.com", Public: true, Local: true}
	comment, err := entities.ParseXML(env2payload(t, relayed), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := (&salmon.Receiver{Keys: f, Entities: f}).Check(ctx, comment, "", true); err != nil {
		t.Errorf("Check with the default key policy = %v", err)
	}
	strict := &salmon.Receiver{Keys: f, Entities: f, Envelope: magicenv.Options{MinKeyBits: 4096}}
	if err := strict.Check(ctx, comment, "", true); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("Check with MinKeyBits 4096 = %v, want ErrWeakKey", err)
	}
	// The function adapters serve as the stores.
	fs := stores()
	adapted := &salmon.Receiver{Keys: fs, Entities: salmon.EntityStoreFunc(fs.RelatedEntity), RecipientKeys: salmon.RecipientKeysFunc(fs.RecipientKey)}
	if msg, err := adapted.ReceivePrivate(ctx, "bob", private); err != nil || msg.Recipient != "bob@pod-b.example.net" {
		t.Errorf("RecipientKeysFunc: %+v, %v", msg, err)
	}
	if msg, err := adapted.ReceivePublic(ctx, relayed); err != nil || msg.Entity.Type() != "comment" {
		t.Errorf("EntityStoreFunc: %+v, %v", msg, err)
	}
	// Receive dispatches on the route.
	if msg, err := recv(stores()).Receive(ctx, &salmon.Incoming{Route: salmon.RoutePrivate, RecipientGUID: "bob", Body: private}); err != nil || msg.Recipient == "" {
		t.Errorf("Receive(private) = %+v, %v", msg, err)
	}
	if got := salmon.Category(nil); got != "" {
		t.Errorf("Category(nil) = %q", got)
	}
}

func env2payload(t *testing.T, body []byte) []byte {
	t.Helper()
	env, err := magicenv.Parse(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env.Payload()
}

// Nil arguments are errors, not panics.
func TestNilArguments(t *testing.T) {
	if _, err := (&salmon.Receiver{}).Receive(context.Background(), nil); salmon.Category(err) != "invalid_envelope" {
		t.Errorf("Receive(nil) = %v", err)
	}
	if a := new(salmon.Sender).Send(context.Background(), nil); a.Outcome != salmon.Failed || a.Err == nil {
		t.Errorf("Send(nil) = %+v", a)
	}
	if err := new(salmon.SyncInbox).Accept(context.Background(), &salmon.Incoming{}); err == nil || errors.Is(err, salmon.ErrRejected) {
		t.Errorf("SyncInbox without Receiver: %v", err)
	}
	rec := post(&salmon.Handler{Inbox: new(salmon.SyncInbox)}, "/receive/public", magicenv.ContentType,
		[]byte(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env"/>`))
	if rec.Code != 503 {
		t.Errorf("handler with an empty SyncInbox: %d, want 503", rec.Code)
	}
}
