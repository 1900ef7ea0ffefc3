package salmon_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// receiveHandler is the receive Handler of a pod that checks each body at
// once with r and tells accept about every message it accepted.
func receiveHandler(r *salmon.Receiver, accept func(*salmon.Message)) http.Handler {
	return &salmon.Handler{Inbox: &salmon.SyncInbox{
		Receiver: r,
		Deliver: func(_ context.Context, m *salmon.Message) error {
			accept(m)
			return nil
		},
	}}
}

// A public entity is signed once and the same body goes to every pod that
// should have it. Send makes one attempt and classifies it.
func ExampleSender_Send() {
	alice := testKey("alice")
	r := &salmon.Receiver{Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey}}
	accepted := func(pod string) func(*salmon.Message) {
		return func(m *salmon.Message) { fmt.Println(pod, "accepted a", m.Entity.Type(), "from", m.Sender) }
	}
	podB := httptest.NewServer(receiveHandler(r, accepted("pod B")))
	defer podB.Close()
	podC := httptest.NewServer(receiveHandler(r, accepted("pod C")))
	defer podC.Close()

	post := &entities.StatusMessage{
		Author: "alice@pod-a.example.org", GUID: "7d2f9c1e3b5a4d6f8e0a1b2c3d4e5f60",
		CreatedAt: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Public: true, Text: "Hello, world",
	}
	payload, err := entities.MarshalXML(post)
	if err != nil {
		log.Fatal(err)
	}
	deliveries, err := salmon.PublicDeliveries(payload, "alice@pod-a.example.org", alice,
		[]string{podB.URL, podC.URL}, nil)
	if err != nil {
		log.Fatal(err)
	}

	// The test pods are on loopback, which a Sender without an
	// HTTPClient refuses to connect to (ErrBlockedAddress).
	s := salmon.Sender{HTTPClient: &http.Client{}}
	for i := range deliveries {
		a := s.Send(context.Background(), &deliveries[i])
		u, _ := url.Parse(a.Delivery.URL)
		fmt.Println("POST", u.Path, "→", a.Outcome, a.StatusCode)
	}
	// Output:
	// pod B accepted a status_message from alice@pod-a.example.org
	// POST /receive/public → delivered 202
	// pod C accepted a status_message from alice@pod-a.example.org
	// POST /receive/public → delivered 202
}

// A private entity is signed once and encrypted for each recipient. Run
// works a queue: it delivers with bounded concurrency and retries what
// failed for a while (here, a pod that answers 503 once).
func ExampleSender_Run() {
	alice, bob, carol := testKey("alice"), testKey("bob"), testKey("carol")
	// Pod B, where bob and carol have their accounts.
	var mu sync.Mutex
	var got []string
	r := &salmon.Receiver{
		Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey},
		RecipientKeys: localPeople{
			"0f1e2d3c4b5a69788796a5b4c3d2e1f0": {ID: "bob@pod-b.example.net", Key: bob},
			"9a8b7c6d5e4f30211203f4e5d6c7b8a9": {ID: "carol@pod-b.example.net", Key: carol},
		},
	}
	h := receiveHandler(r, func(m *salmon.Message) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, fmt.Sprintf("%s got %q from %s", m.Recipient, m.Entity.(*entities.StatusMessage).Text, m.Sender))
	})
	var busy atomic.Bool // the pod is too busy for the first request
	pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if busy.CompareAndSwap(false, true) {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	}))
	defer pod.Close()

	post := &entities.StatusMessage{
		Author: "alice@pod-a.example.org", GUID: "3c4d5e6f708192a3b4c5d6e7f8091a2b",
		CreatedAt: time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC), Text: "Dinner on Saturday?",
	}
	payload, err := entities.MarshalXML(post)
	if err != nil {
		log.Fatal(err)
	}
	deliveries, err := salmon.PrivateDeliveries(payload, "alice@pod-a.example.org", alice, []salmon.Recipient{
		{GUID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Pod: pod.URL, PublicKey: &bob.PublicKey},
		{GUID: "9a8b7c6d5e4f30211203f4e5d6c7b8a9", Pod: pod.URL, PublicKey: &carol.PublicKey},
	}, nil)
	if err != nil {
		log.Fatal(err)
	}
	q := &salmon.MemoryQueue{} // a pod uses a durable Queue
	for _, d := range deliveries {
		q.Add(d)
	}

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var attempts, finished atomic.Int32
	s := &salmon.Sender{
		HTTPClient:  pod.Client(),          // without one, a Sender refuses loopback and private addresses
		BaseBackoff: 10 * time.Millisecond, // diaspora*'s schedule when zero: 81 s, 4.3 min, ...
		OnAttempt: func(a salmon.Attempt) {
			attempts.Add(1)
			if a.Outcome != salmon.Retry && finished.Add(1) == int32(len(deliveries)) {
				stop() // everything delivered: Run returns
			}
		},
	}
	if err := s.Run(ctx, q); !errors.Is(err, context.Canceled) {
		log.Fatal(err)
	}

	sort.Strings(got)
	fmt.Println(strings.Join(got, "\n"))
	fmt.Println(attempts.Load(), "attempts,", len(q.Finished()), "finished,", q.Len(), "waiting")
	// Output:
	// bob@pod-b.example.net got "Dinner on Saturday?" from alice@pod-a.example.org
	// carol@pod-b.example.net got "Dinner on Saturday?" from alice@pod-a.example.org
	// 3 attempts, 2 finished, 0 waiting
}

// A comment travels through the post author's pod: alice signs her comment
// (author_signature) and sends it to bob, whose post it is; bob's pod relays
// it, exactly as alice signed it, to everyone who has the post.
func ExampleRelay() {
	alice, bob := testKey("alice"), testKey("bob")
	keys := keyStore{"alice@pod-a.example.org": &alice.PublicKey, "bob@pod-b.example.net": &bob.PublicKey}
	const postGUID = "150bd6a707a2f2aa31d6a9902e3e2212" // bob's public post
	ctx := context.Background()

	// Alice's pod.
	comment := &entities.Comment{
		Author: "alice@pod-a.example.org", GUID: "4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f", ParentGUID: postGUID,
		Text: "Nice; thanks!", CreatedAt: time.Date(2024, 3, 1, 17, 5, 9, 0, time.UTC),
	}
	if err := comment.Sign(alice); err != nil {
		log.Fatal(err)
	}
	payload, err := entities.MarshalXML(comment)
	if err != nil {
		log.Fatal(err)
	}
	fromAlice, err := magicenv.Sign(payload, "alice@pod-a.example.org", alice, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Bob's pod, where the post is local, accepts the comment from its author
	// and relays it in an envelope signed by bob.
	atBob := &salmon.Receiver{Keys: keys, Entities: entityStore{
		postGUID: {Type: "Post", GUID: postGUID, Author: "bob@pod-b.example.net", Public: true, Local: true},
	}}
	msg, err := atBob.ReceivePublic(ctx, fromAlice.Marshal())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("bob's pod:", msg.Entity.Type(), "by", entities.Author(msg.Entity), "from", msg.Sender)
	fromBob, err := salmon.Relay(msg, "bob@pod-b.example.net", bob, nil)
	if err != nil {
		log.Fatal(err)
	}

	// Carol's pod knows the post as bob's. It accepts the comment relayed by
	// bob, after checking alice's author_signature, but not from alice.
	atCarol := &salmon.Receiver{Keys: keys, Entities: entityStore{
		postGUID: {Type: "Post", GUID: postGUID, Author: "bob@pod-b.example.net", Public: true},
	}}
	msg, err = atCarol.ReceivePublic(ctx, fromBob.Marshal())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("carol's pod:", msg.Entity.Type(), "by", entities.Author(msg.Entity), "from", msg.Sender)
	_, err = atCarol.ReceivePublic(ctx, fromAlice.Marshal())
	fmt.Println("carol's pod, sent by alice herself:", salmon.Category(err))
	// Output:
	// bob's pod: comment by alice@pod-a.example.org from alice@pod-a.example.org
	// carol's pod: comment by alice@pod-a.example.org from bob@pod-b.example.net
	// carol's pod, sent by alice herself: invalid_sender
}

// A pod serves its people's public entities at /fetch/{type}/{guid}
// (FetchHandler); another pod gets one it misses with a Fetcher, which
// verifies it like a public delivery.
func ExampleFetcher_Fetch() {
	alice := testKey("alice")
	signed := vector("magic_envelope_public/status_message_basic.xml") // as alice's pod stored it

	// Alice's pod.
	pod := httptest.NewServer(&salmon.FetchHandler{Source: salmon.FetchSourceFunc(
		func(_ context.Context, typ, guid string) (*salmon.Fetched, error) {
			if typ == "post" && guid == "6bc23f6a8eb9ea65a46628563c8c4ba8" {
				return &salmon.Fetched{Envelope: signed}, nil
			}
			return nil, salmon.ErrNotFound // unknown and private look the same
		})})
	defer pod.Close()

	// The fetching pod. In production, Pod comes from discovery (the
	// Person's PodURL) and HTTPClient is nil or discovery's
	// GuardedHTTPClient; the test pod is on loopback, which they refuse.
	f := &salmon.Fetcher{
		HTTPClient: pod.Client(),
		Receiver:   &salmon.Receiver{Keys: keyStore{"alice@pod-a.example.org": &alice.PublicKey}},
		Pod: func(_ context.Context, id string) (string, error) {
			if id == "alice@pod-a.example.org" {
				return pod.URL + "/", nil
			}
			return "", salmon.ErrNotFound
		},
	}
	msg, err := f.FetchURI(context.Background(), "diaspora://alice@pod-a.example.org/post/6bc23f6a8eb9ea65a46628563c8c4ba8")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(msg.Entity.Type(), "by", msg.Sender+":", msg.Entity.(*entities.StatusMessage).Text)

	_, err = f.Fetch(context.Background(), "alice@pod-a.example.org", "post", "00000000000000000000000000000000")
	fmt.Println("unknown guid:", errors.Is(err, salmon.ErrNotFound))
	// Output:
	// status_message by alice@pod-a.example.org: Hello, federation! This is a reference status message.
	// unknown guid: true
}
