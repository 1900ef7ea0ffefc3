package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := openStore(context.Background(), testDB(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreMigrationsReopen(t *testing.T) {
	dir, db := t.TempDir(), testDB(t)
	for range 2 { // the second time, the migrations run again without error
		s, err := openStore(context.Background(), db, dir)
		if err != nil {
			t.Fatal(err)
		}
		v, err := s.SchemaVersion(context.Background())
		if err != nil || v != len(s.migrations) || v == 0 {
			t.Fatalf("schema version = %d, %v; want %d", v, err, len(s.migrations))
		}
		s.Close()
	}
}

func TestStoreUsers(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	key, err := magicenv.GenerateKey(2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "alice", "alice@pod.example", "0123456789abcdef0123", "https://pod.example/", key, "hash"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "alice", "alice@pod.example", "0123456789abcdef0124", "https://pod.example/", key, "hash"); err == nil {
		t.Error("a second alice was created")
	}
	u, err := s.UserByGUID(ctx, "0123456789abcdef0123")
	if err != nil || u.ID != "alice@pod.example" || !u.Key.Equal(key) {
		t.Fatalf("UserByGUID = %+v, %v", u, err)
	}
	aspects, err := strings1(ctx, s.db, `SELECT name FROM aspects WHERE username = 'alice' ORDER BY id`)
	if err != nil || !reflect.DeepEqual(aspects, DefaultAspects) {
		t.Errorf("aspects = %v, %v; want %v", aspects, err, DefaultAspects)
	}
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, errNotFound) {
		t.Errorf("UserByName(nobody) = %v, want errNotFound", err)
	}
	// The discovery directory serves her, unless she is suspended.
	d := directory{s}
	if p, err := d.PersonByID(ctx, "alice@pod.example"); err != nil || p.GUID != u.GUID {
		t.Errorf("PersonByID = %+v, %v", p, err)
	}
	if err := s.SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PersonByGUID(ctx, u.GUID); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("suspended PersonByGUID = %v, want discovery.ErrNotFound", err)
	}
	if _, _, err := (recipientKeys{s}).RecipientKey(ctx, u.GUID); !errors.Is(err, salmon.ErrRecipientNotFound) {
		t.Errorf("suspended RecipientKey = %v, want ErrRecipientNotFound", err)
	}
}

func TestStorePersonCacheTOFU(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	k1, _ := magicenv.GenerateKey(2048)
	k2, _ := magicenv.GenerateKey(2048)
	c := personCache{s}
	if _, err := c.Get(ctx, "bob@remote.example"); !errors.Is(err, discovery.ErrCacheMiss) {
		t.Fatalf("Get of unknown = %v, want ErrCacheMiss", err)
	}
	p := &discovery.Person{ID: "bob@remote.example", GUID: "abcdef0123456789abcdef", PublicKey: &k1.PublicKey, PodURL: "https://remote.example"}
	if err := c.Put(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, err := c.Get(ctx, p.ID)
	if err != nil || !got.PublicKey.Equal(&k1.PublicKey) || got.PodURL != "https://remote.example/" {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	p2 := *p
	p2.PublicKey = &k2.PublicKey
	if err := c.Put(ctx, &p2); !errors.Is(err, discovery.ErrKeyConflict) {
		t.Errorf("Put with another key = %v, want ErrKeyConflict", err)
	}
	if got, _ := c.Get(ctx, p.ID); !got.PublicKey.Equal(&k1.PublicKey) {
		t.Error("the stored key was replaced")
	}
}

func TestStoreIdempotentPosts(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	row := &postRow{GUID: "0123456789abcdef0123", Type: "status_message", Author: "bob@remote.example", Text: "hi #Go", Public: true,
		Payload: []byte("<status_message/>"), CreatedAt: time.Now()}
	insert := func(r *postRow) (bool, error) {
		var existed bool
		err := s.do(ctx, func(tx *sqlTx) (err error) {
			existed, err = insertPost(ctx, tx, r, parseTags(r.Text), nil)
			return err
		})
		return existed, err
	}
	if existed, err := insert(row); err != nil || existed {
		t.Fatalf("first insert = %v, %v", existed, err)
	}
	if existed, err := insert(row); err != nil || !existed {
		t.Fatalf("second insert = %v, %v; want a no-op", existed, err)
	}
	other := *row
	other.Author = "mallory@evil.example"
	if _, err := insert(&other); !errors.Is(err, errWrongAuthor) {
		t.Errorf("insert by another author = %v, want errWrongAuthor", err)
	}
	// A retracted guid stays retracted.
	if err := s.do(ctx, func(tx *sqlTx) error { return retract(ctx, tx, "Post", row.GUID, row.Author) }); err != nil {
		t.Fatal(err)
	}
	if existed, err := insert(row); err != nil || !existed {
		t.Fatalf("insert after retraction = %v, %v; want a no-op", existed, err)
	}
	if _, err := getPost(ctx, s.db, row.GUID); !errors.Is(err, errNotFound) {
		t.Errorf("retracted post came back: %v", err)
	}
	if _, err := (entityStore{s}).RelatedEntity(ctx, "Post", row.GUID); !errors.Is(err, salmon.ErrNotFound) {
		t.Errorf("RelatedEntity of retracted = %v, want salmon.ErrNotFound", err)
	}
}

func TestStoreRelatedEntityChain(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	err := s.do(ctx, func(tx *sqlTx) error {
		if _, err := insertPost(ctx, tx, &postRow{GUID: "post0123456789abcdef", Type: "status_message", Author: "bob@b.example",
			Public: true, Local: true, Payload: []byte("x"), CreatedAt: time.Now()}, nil, nil); err != nil {
			return err
		}
		if _, err := insertInteraction(ctx, tx, &interactionRow{GUID: "comment0123456789abc", Type: "Comment", Author: "alice@a.example",
			ParentType: "Post", ParentGUID: "post0123456789abcdef", PostGUID: "post0123456789abcdef", Payload: []byte("y"), CreatedAt: time.Now()}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	re, err := (entityStore{s}).RelatedEntity(ctx, "Comment", "comment0123456789abc")
	if err != nil {
		t.Fatal(err)
	}
	if re.Author != "alice@a.example" || re.Parent == nil || re.Root().Author != "bob@b.example" || !re.Root().Local || !re.Public {
		t.Errorf("RelatedEntity = %+v (root %+v)", re, re.Root())
	}
	if _, err := (entityStore{s}).RelatedEntity(ctx, "Like", "comment0123456789abc"); !errors.Is(err, salmon.ErrNotFound) {
		t.Errorf("wrong type = %v, want ErrNotFound", err)
	}
}

func TestOutboxQueue(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	q := &outboxQueue{s: s, log: testLogger(t), wake: make(chan struct{}, 1), poll: 10 * time.Millisecond}
	body := []byte("<env/>")
	ds := []salmon.Delivery{
		{URL: "https://a.example/receive/public", ContentType: magicenv.ContentType, Body: body},
		{URL: "https://b.example/receive/public", ContentType: magicenv.ContentType, Body: body},
		{URL: "https://blocked.example/receive/public", ContentType: magicenv.ContentType, Body: body},
	}
	if err := s.SetBlocked(ctx, "blocked.example", true); err != nil {
		t.Fatal(err)
	}
	if err := s.do(ctx, func(tx *sqlTx) error { return enqueue(ctx, tx, "status_message:x", ds) }); err != nil {
		t.Fatal(err)
	}
	var bodies, rows int
	s.db.QueryRow(`SELECT (SELECT COUNT(*) FROM outbox_bodies), (SELECT COUNT(*) FROM outbox)`).Scan(&bodies, &rows)
	if bodies != 1 || rows != 2 {
		t.Fatalf("bodies, rows = %d, %d; want the body once and no row for the blocked pod", bodies, rows)
	}
	j1, err := q.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := q.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if j1.Delivery.URL == j2.Delivery.URL || string(j1.Delivery.Body) != "<env/>" || j1.Delivery.ContentType != magicenv.ContentType {
		t.Fatalf("jobs = %+v, %+v", j1, j2)
	}
	// Both are leased: nothing more is due.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := q.Next(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next with all leased = %v", err)
	}
	j1.Attempts = 1
	q.Done(ctx, j1, salmon.Attempt{Outcome: salmon.Delivered, StatusCode: 202})
	j2.Attempts = 1
	q.Reschedule(ctx, j2, time.Now().Add(-time.Second))
	j3, err := q.Next(ctx)
	if err != nil || j3.Delivery.URL != j2.Delivery.URL || j3.Attempts != 1 {
		t.Fatalf("rescheduled job = %+v, %v", j3, err)
	}
	j3.Attempts = 2
	q.Done(ctx, j3, salmon.Attempt{Outcome: salmon.Failed, StatusCode: 400, Err: errors.New("bad request")})
	s.db.QueryRow(`SELECT (SELECT COUNT(*) FROM outbox_bodies), (SELECT COUNT(*) FROM outbox WHERE state = 'pending')`).Scan(&bodies, &rows)
	if bodies != 0 || rows != 0 {
		t.Errorf("after both finished: bodies, pending = %d, %d; want 0, 0", bodies, rows)
	}
	h, err := s.Health(ctx)
	if err != nil {
		t.Fatal(err)
	}
	byHost := map[string]PodHealth{}
	for _, x := range h {
		byHost[x.Host] = x
	}
	if a := byHost["a.example"]; a.Delivered != 1 || a.LastSuccess == "" || a.Failures != 0 {
		t.Errorf("health a = %+v", a)
	}
	if b := byHost["b.example"]; b.Failures != 2 || b.LastFailure == "" {
		t.Errorf("health b = %+v", b)
	}
	if !byHost["blocked.example"].Blocked {
		t.Errorf("health blocked = %+v", byHost["blocked.example"])
	}
}

func TestParseTagsAndMentions(t *testing.T) {
	text := "Hello #Go and #go, #diaspora-fed! a#b &#39; @{Bob Smith; Bob@Pod.Example} @{carol@c.example:3000} @{broken}"
	if got, want := parseTags(text), []string{"go", "diaspora-fed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseTags = %v, want %v", got, want)
	}
	if got, want := parseMentions(text), []string{"bob@pod.example", "carol@c.example:3000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseMentions = %v, want %v", got, want)
	}
}

// The pod's outbound client is discovery's guarded one: loopback only in
// development mode, never other reserved addresses.
func TestOutboundGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, dev := range []bool{false, true} {
		p, err := NewPod(context.Background(), Config{PublicURL: "https://pod.example/", DB: testDB(t), DataDir: t.TempDir(), KeyBits: 2048,
			BcryptCost: 4, Dev: dev, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.sender.HTTPClient.Get(srv.URL)
		if dev {
			if err != nil {
				t.Errorf("dev client to loopback: %v", err)
			} else {
				resp.Body.Close()
			}
		} else if err == nil {
			resp.Body.Close()
			t.Error("production client reached loopback")
		}
		for _, u := range []string{"http://10.1.2.3/x", "https://169.254.169.254/x", "https://[::ffff:127.0.0.1]/x"} {
			if _, err := p.sender.HTTPClient.Get(u); err == nil {
				t.Errorf("dev=%v: %s reached", dev, u)
			}
		}
		p.Close()
	}
}

func TestSSRFGuardOnFollow(t *testing.T) {
	p, err := NewPod(context.Background(), Config{PublicURL: "https://pod.example/", DB: testDB(t), DataDir: t.TempDir(), KeyBits: 2048,
		BcryptCost: 4, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AddUser(context.Background(), "ivy", "password-ivy"); err != nil {
		t.Fatal(err)
	}
	u, _ := p.store.UserByName(context.Background(), "ivy")
	for _, id := range []string{"victim@127.0.0.1:8080", "victim@localhost", "victim@10.0.0.1"} {
		if _, err := p.ShareWith(context.Background(), u, id, []string{"Friends"}, true); !errors.Is(err, discovery.ErrBlockedAddress) && !errors.Is(err, discovery.ErrBlockedURL) {
			t.Errorf("ShareWith(%s) without --dev = %v, want a blocked address", id, err)
		}
	}
	var n int
	if err := p.store.db.QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil || n != 0 {
		t.Errorf("outbox rows = %d, %v; want none", n, err)
	}
}
