package salmon_test

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

type countingSigner struct {
	crypto.Signer
	n atomic.Int32
}

func (c *countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, digest, opts)
}

func TestDeliveries(t *testing.T) {
	m := vectors.Reference(t)
	alice, err := m.PrivateKey(keyParser, "alice@pod-a.example.org")
	if err != nil {
		t.Fatal(err)
	}
	env, err := magicenv.Parse(mustRead(t, m, "magic_envelope_public/status_message_basic.xml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	payload := env.Payload()
	signer := &countingSigner{Signer: alice}
	pods := []string{"https://pod-b.example.net/", "https://pod-c.example.com", "http://localhost:3000/sub/"}
	ds, err := salmon.PublicDeliveries(payload, "alice@pod-a.example.org", signer, pods, nil)
	if err != nil {
		t.Fatal(err)
	}
	if signer.n.Load() != 1 {
		t.Errorf("signed %d times for %d pods, want once", signer.n.Load(), len(pods))
	}
	want := []string{"https://pod-b.example.net/receive/public", "https://pod-c.example.com/receive/public", "http://localhost:3000/sub/receive/public"}
	for i, d := range ds {
		if d.URL != want[i] || d.ContentType != magicenv.ContentType || &d.Body[0] != &ds[0].Body[0] {
			t.Errorf("delivery %d = %s %s (shared body: %v)", i, d.URL, d.ContentType, &d.Body[0] == &ds[0].Body[0])
		}
	}
	// From an envelope signed beforehand: the same deliveries.
	signed, err := magicenv.Sign(payload, "alice@pod-a.example.org", alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	fromEnv, err := salmon.EnvelopeDeliveries(signed, pods)
	if err != nil || len(fromEnv) != len(ds) {
		t.Fatalf("EnvelopeDeliveries: %d, %v", len(fromEnv), err)
	}
	for i := range ds {
		if fromEnv[i].ID != ds[i].ID || fromEnv[i].URL != ds[i].URL || string(fromEnv[i].Body) != string(ds[i].Body) {
			t.Errorf("EnvelopeDeliveries %d = %s, want %s", i, fromEnv[i].ID, ds[i].ID)
		}
	}
	// IDs: one per message and destination, the same when built again.
	other, err := salmon.PublicDeliveries(append(payload[:len(payload):len(payload)], ' '), "alice@pod-a.example.org", alice, pods[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := salmon.PublicDeliveries(payload, "alice@pod-a.example.org", alice, pods[:1], nil)
	if !strings.HasPrefix(ds[0].ID, ds[0].URL+"#") || ds[0].ID == ds[1].ID || other[0].ID == ds[0].ID || again[0].ID != ds[0].ID {
		t.Errorf("IDs: %q, %q; another message to the first pod %q; built again %q", ds[0].ID, ds[1].ID, other[0].ID, again[0].ID)
	}
	// The body is what the reference would have sent: byte-identical.
	if string(ds[0].Body) != string(mustRead(t, m, "magic_envelope_public/status_message_basic.xml")) {
		t.Error("public body differs from the reference's envelope")
	}

	bob, _ := m.PrivateKey(keyParser, "bob@pod-b.example.net")
	carol, _ := m.PrivateKey(keyParser, "carol@pod-c.example.com")
	signer.n.Store(0)
	recipients := []salmon.Recipient{
		{GUID: "e9cd8f36e0e5013b0e3752540068d4a4", Pod: "https://pod-b.example.net", PublicKey: &bob.PublicKey},
		{GUID: "0b0a8fb0e0e6013b0e3752540068d4a4", Pod: "https://pod-c.example.com/", PublicKey: &carol.PublicKey},
	}
	priv, err := salmon.PrivateDeliveries(payload, "alice@pod-a.example.org", signer, recipients, nil)
	if err != nil {
		t.Fatal(err)
	}
	if signer.n.Load() != 1 || len(priv) != 2 {
		t.Fatalf("signed %d times, %d deliveries", signer.n.Load(), len(priv))
	}
	for i, key := range []*rsa.PrivateKey{bob, carol} {
		d := priv[i]
		if d.URL != "https://"+[]string{"pod-b.example.net", "pod-c.example.com"}[i]+"/receive/users/"+recipients[i].GUID || d.ContentType != "application/json" {
			t.Errorf("private delivery %d: %s %s", i, d.URL, d.ContentType)
		}
		inner, err := magicenv.Decrypt(d.Body, key, nil)
		if err != nil {
			t.Fatalf("recipient %d cannot decrypt: %v", i, err)
		}
		if string(inner) != string(ds[0].Body) {
			t.Errorf("recipient %d: inner envelope differs from the signed one", i)
		}
	}
	if _, err := magicenv.Decrypt(priv[0].Body, carol, nil); !errors.Is(err, magicenv.ErrDecrypt) {
		t.Error("carol can open bob's delivery")
	}
	for _, bad := range []string{"ftp://x", "pod.example", "https://user@pod.example/", ""} {
		if _, err := salmon.PublicDeliveries(payload, "alice@pod-a.example.org", alice, []string{bad}, nil); err == nil {
			t.Errorf("pod URL %q accepted", bad)
		}
	}
	if _, err := salmon.PrivateDeliveries(payload, "alice@pod-a.example.org", alice, []salmon.Recipient{{GUID: "../x", Pod: "https://p.example", PublicKey: &bob.PublicKey}}, nil); err == nil {
		t.Error("bad recipient guid accepted")
	}
}

// TestRelay: bob's pod relays alice's comment (with unknown elements)
// under his own envelope; a third pod receives it and the comment's
// author_signature still verifies there.
func TestRelay(t *testing.T) {
	m := vectors.Reference(t)
	env := conformance.NewEnv(m)
	r := &salmon.Receiver{Keys: env, Entities: env, RecipientKeys: env}
	ctx := context.Background()
	msg, err := r.ReceivePublic(ctx, mustRead(t, m, "magic_envelope_public/comment_extra_elements_relayed.xml"))
	if err != nil {
		t.Fatal(err)
	}
	bob, _ := m.PrivateKey(keyParser, "bob@pod-b.example.net")
	relayed, err := salmon.Relay(msg, "bob@pod-b.example.net", bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(relayed.Payload()) != string(msg.Payload) {
		t.Fatal("Relay changed the payload")
	}
	again, err := r.ReceivePublic(ctx, relayed.Marshal())
	if err != nil || again.Sender != "bob@pod-b.example.net" || again.Entity.Type() != "comment" {
		t.Fatalf("relayed message: %+v, %v", again, err)
	}
	// Relayed by someone who is neither the root author nor the author:
	// refused.
	dave, _ := m.PrivateKey(keyParser, "dave@pod-a.example.org")
	byDave, err := salmon.Relay(msg, "dave@pod-a.example.org", dave, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReceivePublic(ctx, byDave.Marshal()); !errors.Is(err, salmon.ErrInvalidSender) {
		t.Errorf("relay by dave: %v, want ErrInvalidSender", err)
	}
	// Only relayables are relayed.
	post, err := r.ReceivePublic(ctx, mustRead(t, m, "magic_envelope_public/status_message_basic.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := salmon.Relay(post, "bob@pod-b.example.net", bob, nil); !errors.Is(err, salmon.ErrNotRelayable) {
		t.Errorf("Relay(status message) = %v", err)
	}
}

func mustRead(t testing.TB, m interface{ ReadFile(string) ([]byte, error) }, rel string) []byte {
	b, err := m.ReadFile(rel)
	if err != nil {
		if t == nil {
			panic(err)
		}
		t.Fatal(err)
	}
	return b
}
