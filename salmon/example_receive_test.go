package salmon_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// A Receiver opens a public body, verifies it with the sender's key, reads
// the entity and applies the receive rules. What it returns is safe to
// hand to the application.
func ExampleReceiver_ReceivePublic() {
	alice := testKey("alice")
	r := &salmon.Receiver{
		Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey},
	}
	body := vector("magic_envelope_public/status_message_basic.xml") // POST /receive/public

	msg, err := r.ReceivePublic(context.Background(), body)
	if err != nil {
		log.Fatal(err)
	}
	post := msg.Entity.(*entities.StatusMessage)
	fmt.Println("format:", msg.Format)
	fmt.Println("sender:", msg.Sender)
	fmt.Println("entity:", post.Type(), post.GUID)
	fmt.Println("text:", post.Text)
	// Output:
	// format: magic_envelope
	// sender: alice@pod-a.example.org
	// entity: status_message 6bc23f6a8eb9ea65a46628563c8c4ba8
	// text: Hello, federation! This is a reference status message.
}

// On the private route the Receiver first finds the recipient's private
// key by the guid of /receive/users/{guid}, decrypts, and then checks the
// envelope as on the public route.
func ExampleReceiver_ReceivePrivate() {
	alice, bob := testKey("alice"), testKey("bob")
	r := &salmon.Receiver{
		Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey},
		RecipientKeys: localPeople{
			"0f1e2d3c4b5a69788796a5b4c3d2e1f0": {ID: "bob@pod-b.example.net", Key: bob},
		},
	}
	body := vector("encrypted_magic_envelope_private/contact.json")

	msg, err := r.ReceivePrivate(context.Background(), "0f1e2d3c4b5a69788796a5b4c3d2e1f0", body)
	if err != nil {
		log.Fatal(err)
	}
	c := msg.Entity.(*entities.Contact)
	fmt.Println("format:", msg.Format)
	fmt.Println("from", msg.Sender, "to", msg.Recipient)
	fmt.Printf("%s: following %t, sharing %t\n", c.Type(), c.Following, c.Sharing)

	// An unknown guid: final, the handler answers 404.
	_, err = r.ReceivePrivate(context.Background(), "ffffffffffffffffffffffffffffffff", body)
	fmt.Println(salmon.Category(err))
	// Output:
	// format: encrypted_magic_envelope
	// from alice@pod-a.example.org to bob@pod-b.example.net
	// contact: following true, sharing true
	// recipient_not_found
}

// The sender's key comes from discovery: a discovery.Resolver looks a
// stranger up (WebFinger, then the hCard) and caches the result, so the
// second body from the same person costs no request. Here alice's pod is an
// httptest server serving discovery.Handler documents.
func Example_keysFromDiscovery() {
	aliceKey := testKey("alice")
	pubPEM, err := magicenv.MarshalPublicKey(&aliceKey.PublicKey)
	if err != nil {
		log.Fatal(err)
	}

	// Alice's pod, counting the requests it serves.
	var requests atomic.Int32
	mux := http.NewServeMux()
	pod := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	host := pod.Listener.Addr().String() // 127.0.0.1:port
	aliceID := "alice@" + host
	h := &discovery.Handler{
		BaseURL:   "http://" + host + "/",
		Directory: directory{{ID: aliceID, GUID: "b6c0ee9f3bcf577314f84bc0ccaab0b1", PublicKeyPEM: string(pubPEM), FullName: "Alice"}},
	}
	h.Register(mux)
	pod.Start()
	defer pod.Close()

	// The receiving pod. A real pod needs neither AllowHTTP nor
	// AllowedAddrs: they let this client reach the plain-http test server
	// on loopback, which the default client refuses.
	r := &salmon.Receiver{Keys: &discovery.Resolver{
		Client: &discovery.Client{
			AllowHTTP:    true,
			AllowedAddrs: []netip.AddrPort{netip.MustParseAddrPort(host)},
		},
		Cache: &discovery.MemoryCache{},
	}}

	for i, text := range []string{"First post", "Second post"} {
		post := &entities.StatusMessage{
			Author: aliceID, GUID: fmt.Sprintf("5e1f0c7a9b2d4e6f8a0b1c2d3e4f50%02d", i),
			CreatedAt: time.Date(2024, 3, 1, 12, i, 0, 0, time.UTC), Public: true, Text: text,
		}
		payload, err := entities.MarshalXML(post)
		if err != nil {
			log.Fatal(err)
		}
		env, err := magicenv.Sign(payload, aliceID, aliceKey, nil)
		if err != nil {
			log.Fatal(err)
		}
		msg, err := r.ReceivePublic(context.Background(), env.Marshal())
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%q from alice: %t; requests to her pod so far: %d\n",
			msg.Entity.(*entities.StatusMessage).Text, msg.Sender == aliceID, requests.Load())
	}
	// Output:
	// "First post" from alice: true; requests to her pod so far: 2
	// "Second post" from alice: true; requests to her pod so far: 2
}

// directory is the discovery.Directory of a pod: its own people.
type directory []*discovery.Person

func (d directory) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	for _, p := range d {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

func (d directory) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	for _, p := range d {
		if p.GUID == guid {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

// The receive Handler answers 202 as soon as a body that looks right is in
// the Inbox; it does no cryptography. A worker then checks each stored
// body with a Receiver.
func Example_receiveHandler() {
	var inbox []*salmon.Incoming // a pod stores these durably
	mux := http.NewServeMux()
	mux.Handle("/receive/", &salmon.Handler{
		Inbox: salmon.InboxFunc(func(_ context.Context, in *salmon.Incoming) error {
			inbox = append(inbox, in)
			return nil
		}),
	})
	pod := httptest.NewServer(mux)
	defer pod.Close()

	post := func(path, contentType string, body []byte) {
		resp, err := http.Post(pod.URL+path, contentType, bytes.NewReader(body))
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println("POST", path, "→", resp.Status)
	}
	post("/receive/public", magicenv.ContentType, vector("magic_envelope_public/status_message_basic.xml"))
	post("/receive/users/0f1e2d3c4b5a69788796a5b4c3d2e1f0", magicenv.EncryptedContentType,
		vector("encrypted_magic_envelope_private/contact.json"))
	post("/receive/public", "text/plain", []byte("hello"))

	// The worker.
	alice, bob := testKey("alice"), testKey("bob")
	r := &salmon.Receiver{
		Keys:          keyStore{"alice@pod-a.example.org": &alice.PublicKey},
		RecipientKeys: localPeople{"0f1e2d3c4b5a69788796a5b4c3d2e1f0": {ID: "bob@pod-b.example.net", Key: bob}},
	}
	for _, in := range inbox {
		msg, err := r.Receive(context.Background(), in)
		if err != nil {
			fmt.Println(in.Route, "refused:", salmon.Category(err))
			continue
		}
		fmt.Println(in.Route, in.Format, "→", msg.Entity.Type(), "from", msg.Sender)
	}
	// Output:
	// POST /receive/public → 202 Accepted
	// POST /receive/users/0f1e2d3c4b5a69788796a5b4c3d2e1f0 → 202 Accepted
	// POST /receive/public → 422 Unprocessable Entity
	// public magic_envelope → status_message from alice@pod-a.example.org
	// private encrypted_magic_envelope → contact from alice@pod-a.example.org
}

// SyncInbox checks each body while the sender waits, for a pod that keeps
// no queue. A forged body is answered 202 all the same: the sender learns
// nothing about signatures.
func ExampleSyncInbox() {
	alice := testKey("alice")
	h := &salmon.Handler{Inbox: &salmon.SyncInbox{
		Receiver: &salmon.Receiver{Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey}},
		Deliver: func(_ context.Context, m *salmon.Message) error {
			fmt.Println("delivered:", m.Entity.Type(), "from", m.Sender)
			return nil
		},
		Rejected: func(_ context.Context, _ *salmon.Incoming, err error) {
			fmt.Println("rejected:", salmon.Category(err))
		},
	}}
	for _, file := range []string{"status_message_basic.xml", "wrong_signing_key.xml"} {
		req := httptest.NewRequest(http.MethodPost, "/receive/public",
			bytes.NewReader(vector("magic_envelope_public/"+file)))
		req.Header.Set("Content-Type", magicenv.ContentType)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		fmt.Println(file, "→", w.Code)
	}
	// Output:
	// delivered: status_message from alice@pod-a.example.org
	// status_message_basic.xml → 202
	// rejected: invalid_envelope_signature
	// wrong_signing_key.xml → 202
}
