package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/storetest"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

func openTestStore(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), storetest.DB(t), dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestStoreMigrationsReopen(t *testing.T) {
	dir, db := t.TempDir(), storetest.DB(t)
	for range 2 { // the second time, the migrations run again without error
		s, err := Open(context.Background(), db, dir)
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
	key, err := magicenv.GenerateKey(2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "alice", "alice@pod.example", "0123456789abcdef0123", "https://pod.example/", key, "hash", nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, "alice", "alice@pod.example", "0123456789abcdef0124", "https://pod.example/", key, "hash", nil); err == nil {
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
	if _, err := s.UserByName(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByName(nobody) = %v, want errNotFound", err)
	}
	// The discovery directory serves her, unless she is suspended.
	d := Directory{s}
	if p, err := d.PersonByID(ctx, "alice@pod.example"); err != nil || p.GUID != u.GUID {
		t.Errorf("PersonByID = %+v, %v", p, err)
	}
	if err := s.SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	if _, err := d.PersonByGUID(ctx, u.GUID); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("suspended PersonByGUID = %v, want discovery.ErrNotFound", err)
	}
	if _, _, err := (RecipientKeys{s}).RecipientKey(ctx, u.GUID); !errors.Is(err, salmon.ErrRecipientNotFound) {
		t.Errorf("suspended RecipientKey = %v, want ErrRecipientNotFound", err)
	}
}

func TestStorePersonCacheTOFU(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	k1, _ := magicenv.GenerateKey(2048, nil)
	k2, _ := magicenv.GenerateKey(2048, nil)
	c := PersonCache{s}
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
	row := &PostRow{GUID: "0123456789abcdef0123", Type: "status_message", Author: "bob@remote.example", Text: "hi #Go", Public: true,
		Payload: []byte("<status_message/>"), CreatedAt: time.Now()}
	insert := func(r *PostRow) (bool, error) {
		var existed bool
		err := s.Do(ctx, func(tx *Tx) (err error) {
			existed, err = InsertPost(ctx, tx, r, []string{"go"}, nil)
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
	if _, err := insert(&other); !errors.Is(err, ErrWrongAuthor) {
		t.Errorf("insert by another author = %v, want errWrongAuthor", err)
	}
	// A retracted guid stays retracted.
	if err := s.Do(ctx, func(tx *Tx) error { return Retract(ctx, tx, "Post", row.GUID, row.Author) }); err != nil {
		t.Fatal(err)
	}
	if existed, err := insert(row); err != nil || !existed {
		t.Fatalf("insert after retraction = %v, %v; want a no-op", existed, err)
	}
	if _, err := GetPost(ctx, s.db, row.GUID); !errors.Is(err, ErrNotFound) {
		t.Errorf("retracted post came back: %v", err)
	}
	if _, err := (EntityStore{s}).RelatedEntity(ctx, "Post", row.GUID); !errors.Is(err, salmon.ErrNotFound) {
		t.Errorf("RelatedEntity of retracted = %v, want salmon.ErrNotFound", err)
	}
}

func TestStoreRelatedEntityChain(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	err := s.Do(ctx, func(tx *Tx) error {
		if _, err := InsertPost(ctx, tx, &PostRow{GUID: "post0123456789abcdef", Type: "status_message", Author: "bob@b.example",
			Public: true, Local: true, Payload: []byte("x"), CreatedAt: time.Now()}, nil, nil); err != nil {
			return err
		}
		if _, err := InsertInteraction(ctx, tx, &InteractionRow{GUID: "comment0123456789abc", Type: "Comment", Author: "alice@a.example",
			ParentType: "Post", ParentGUID: "post0123456789abcdef", PostGUID: "post0123456789abcdef", Payload: []byte("y"), CreatedAt: time.Now()}); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	re, err := (EntityStore{s}).RelatedEntity(ctx, "Comment", "comment0123456789abc")
	if err != nil {
		t.Fatal(err)
	}
	if re.Author != "alice@a.example" || re.Parent == nil || re.Root().Author != "bob@b.example" || !re.Root().Local || !re.Public {
		t.Errorf("RelatedEntity = %+v (root %+v)", re, re.Root())
	}
	if _, err := (EntityStore{s}).RelatedEntity(ctx, "Like", "comment0123456789abc"); !errors.Is(err, salmon.ErrNotFound) {
		t.Errorf("wrong type = %v, want ErrNotFound", err)
	}
}

func TestOutboxQueue(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	body := []byte("<env/>")
	ds := []salmon.Delivery{
		{URL: "https://a.example/receive/public", ContentType: magicenv.ContentType, Body: body},
		{URL: "https://b.example/receive/public", ContentType: magicenv.ContentType, Body: body},
		{URL: "https://blocked.example/receive/public", ContentType: magicenv.ContentType, Body: body},
	}
	if err := s.SetBlocked(ctx, "blocked.example", true); err != nil {
		t.Fatal(err)
	}
	if err := s.Do(ctx, func(tx *Tx) error { return Enqueue(ctx, tx, "status_message:x", ds) }); err != nil {
		t.Fatal(err)
	}
	var bodies, rows int
	s.SQL().QueryRow(`SELECT (SELECT COUNT(*) FROM outbox_bodies), (SELECT COUNT(*) FROM outbox)`).Scan(&bodies, &rows)
	if bodies != 1 || rows != 2 {
		t.Fatalf("bodies, rows = %d, %d; want the body once and no row for the blocked pod", bodies, rows)
	}
	j1, err := s.ClaimOutbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := s.ClaimOutbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if j1.Delivery.URL == j2.Delivery.URL || string(j1.Delivery.Body) != "<env/>" || j1.Delivery.ContentType != magicenv.ContentType {
		t.Fatalf("jobs = %+v, %+v", j1, j2)
	}
	// Both are leased: nothing more is due.
	if _, err := s.ClaimOutbox(ctx); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ClaimOutbox with all leased = %v", err)
	}
	if err := s.OutboxDone(ctx, j1.Delivery.ID, true, ""); err != nil {
		t.Fatal(err)
	}
	if err := s.OutboxRetry(ctx, j2.Delivery.ID, 1, time.Now().Add(-time.Second), ""); err != nil {
		t.Fatal(err)
	}
	j3, err := s.ClaimOutbox(ctx)
	if err != nil || j3.Delivery.URL != j2.Delivery.URL || j3.Attempts != 1 {
		t.Fatalf("rescheduled job = %+v, %v", j3, err)
	}
	if err := s.OutboxRetry(ctx, j3.Delivery.ID, 2, time.Now().Add(time.Hour), "status 503"); err != nil {
		t.Fatal(err)
	}
	if h, _ := s.Health(ctx); len(h) < 2 || h[1].LastError != "status 503" || h[1].Failures != 2 {
		t.Errorf("health after a retried failure = %+v, want b.example's error kept", h)
	}
	if err := s.OutboxDone(ctx, j3.Delivery.ID, false, "bad request"); err != nil {
		t.Fatal(err)
	}
	s.SQL().QueryRow(`SELECT (SELECT COUNT(*) FROM outbox_bodies), (SELECT COUNT(*) FROM outbox WHERE state = 'pending')`).Scan(&bodies, &rows)
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
	if b := byHost["b.example"]; b.Failures != 3 || b.LastError != "bad request" {
		t.Errorf("health b = %+v", b)
	}
	// NodeInfo is due for pods that took a delivery and are not blocked,
	// until asked; a failed look keeps what was known.
	if due, err := s.NodeInfoDue(ctx, time.Now(), 10); err != nil || !slices.Equal(due, []string{"a.example"}) {
		t.Errorf("NodeInfoDue = %v, %v; want [a.example]", due, err)
	}
	if err := s.SetNodeInfo(ctx, "a.example", "diaspora", "0.9.0", true); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeInfo(ctx, "a.example", "", "", false); err != nil {
		t.Fatal(err)
	}
	if due, _ := s.NodeInfoDue(ctx, time.Now().Add(-time.Minute), 10); len(due) != 0 {
		t.Errorf("NodeInfoDue right after asking = %v", due)
	}
	if h, _ := s.Health(ctx); h[0].Software != "diaspora" || h[0].Version != "0.9.0" {
		t.Errorf("health a after NodeInfo = %+v", h[0])
	}
	if !byHost["blocked.example"].Blocked {
		t.Errorf("health blocked = %+v", byHost["blocked.example"])
	}
}

// TestPostgresAvailable tells whether the pod's tests ran on PostgreSQL
// too; with POD_REQUIRE_POSTGRES set (as .ci/run sets it) a missing
// server is a failure.
func TestPostgresAvailable(t *testing.T) {
	storetest.Postgres(t)
	s, err := Open(t.Context(), storetest.DB(t), "")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != len(postgresMigrations) {
		t.Fatalf("schema version %d, %v; want %d", v, err, len(postgresMigrations))
	}
}

// TestStoreBatch: in a batch, an item that fails leaves nothing behind
// (not even what it wrote before failing) and the others commit together.
func TestStoreBatch(t *testing.T) {
	ctx := context.Background()
	s := openTestStore(t, t.TempDir())
	post := func(i int) *PostRow {
		return &PostRow{GUID: fmt.Sprintf("batch%015d", i), Type: "StatusMessage", Author: "bob@remote.example", Text: "hi",
			Public: true, Payload: []byte("<status_message/>"), CreatedAt: time.Now()}
	}
	boom := errors.New("boom")
	errs, err := s.Batch(ctx, 3, func(tx *Tx, i int) error {
		if _, err := InsertPost(ctx, tx, post(i), []string{"batch"}, nil); err != nil {
			return err
		}
		if i == 1 {
			return boom // after its post was written
		}
		return nil
	})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] != nil {
		t.Fatalf("Batch = %v, %v", errs, err)
	}
	for i, want := range []bool{true, false, true} {
		_, err := GetPost(ctx, s, post(i).GUID)
		if got := err == nil; got != want {
			t.Errorf("post %d stored = %v (%v), want %v", i, got, err, want)
		}
	}
	if n, err := s.Rows(ctx, "post_tags"); err != nil || n != 2 {
		t.Errorf("post_tags rows = %d, %v; want 2 (none of the failed item)", n, err)
	}
	// An empty batch commits nothing and fails nothing.
	if errs, err := s.Batch(ctx, 0, func(*Tx, int) error { return boom }); err != nil || len(errs) != 0 {
		t.Errorf("empty Batch = %v, %v", errs, err)
	}
}
