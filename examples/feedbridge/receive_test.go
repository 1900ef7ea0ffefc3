package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// onePerson is a discovery.Directory of one person, for a fake pod.
type onePerson struct{ p *discovery.Person }

func (d onePerson) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	if id != d.p.ID {
		return nil, discovery.ErrNotFound
	}
	return d.p, nil
}

func (d onePerson) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	if guid != d.p.GUID {
		return nil, discovery.ErrNotFound
	}
	return d.p, nil
}

func testConfig(t *testing.T, feedURL string) Config {
	return Config{URL: "http://bridge.test/", DataDir: filepath.Join(t.TempDir(), "data"), FeedURL: feedURL,
		Name: "news", Poll: time.Hour, Dev: true, KeyBits: 2048, Logger: testLogger(t)}
}

func testBridge(t *testing.T) *Bridge {
	t.Helper()
	b, err := New(testConfig(t, "http://127.0.0.1:1/feed"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReceiveContact drives the receive routes with Contact entities from
// a person on a fake pod: a forgery, a wrong recipient, sharing and
// stopping.
func TestReceiveContact(t *testing.T) {
	b := testBridge(t)
	h := b.Handler()

	carolKey, err := magicenv.GenerateKey(2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	pod := httptest.NewServer(http.NotFoundHandler())
	defer pod.Close()
	u, _ := url.Parse(pod.URL)
	carol := &discovery.Person{ID: "carol@" + u.Host, GUID: newGUID(), PublicKey: &carolKey.PublicKey, FullName: "Carol"}
	mux := http.NewServeMux()
	(&discovery.Handler{BaseURL: pod.URL + "/", Directory: onePerson{carol}}).Register(mux)
	pod.Config.Handler = mux

	send := func(route string, c entities.Entity, key *rsa.PrivateKey) int {
		t.Helper()
		payload, err := entities.MarshalXML(c)
		if err != nil {
			t.Fatal(err)
		}
		var ds []salmon.Delivery
		if route == "public" {
			ds, err = salmon.PublicDeliveries(payload, carol.ID, key, []string{"http://bridge.test/"}, nil)
		} else {
			ds, err = salmon.PrivateDeliveries(payload, carol.ID, key,
				[]salmon.Recipient{{GUID: route, Pod: "http://bridge.test/", PublicKey: &b.key.PublicKey}}, nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest(http.MethodPost, ds[0].URL, bytes.NewReader(ds[0].Body))
		req.Header.Set("Content-Type", ds[0].ContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	follows := &entities.Contact{Author: carol.ID, Recipient: b.id, Following: true, Sharing: true}
	stops := &entities.Contact{Author: carol.ID, Recipient: b.id}
	other, err := magicenv.GenerateKey(2048, nil)
	if err != nil {
		t.Fatal(err)
	}

	for _, step := range []struct {
		name      string
		route     string
		c         *entities.Contact
		key       *rsa.PrivateKey
		status    int
		followers []string
	}{
		{"forged signature", b.guid, follows, other, http.StatusAccepted, []string{}},
		{"someone else's guid", newGUID(), follows, carolKey, http.StatusNotFound, []string{}},
		// The public route takes a Contact too, as the reference does: it
		// has no public flag to be false.
		{"public route", "public", follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"stopping", b.guid, stops, carolKey, http.StatusAccepted, []string{}},
		{"sharing", b.guid, follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"sharing again", b.guid, follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"stopping again", b.guid, stops, carolKey, http.StatusAccepted, []string{}},
	} {
		if status := send(step.route, step.c, step.key); status != step.status {
			t.Errorf("%s: status %d, want %d", step.name, status, step.status)
		}
		if f := b.followers(); !slices.Equal(f, step.followers) {
			t.Errorf("%s: followers %v, want %v", step.name, f, step.followers)
		}
	}
	// A like of one of the bridge's posts is refused for good, not retried.
	like := &entities.Like{Author: carol.ID, GUID: newGUID(), ParentGUID: newGUID(), ParentType: "Post", Positive: true}
	if err := like.Sign(carolKey); err != nil {
		t.Fatal(err)
	}
	if status := send("public", like, carolKey); status != http.StatusAccepted {
		t.Errorf("a like: status %d, want 202", status)
	}
	// The follower is in the state file, which a restart reads.
	send(b.guid, follows, carolKey)
	st, err := openState(b.cfg.DataDir, b.id, 0)
	if err != nil || st.Followers[carol.ID] != pod.URL+"/" {
		t.Errorf("state after sharing: %+v, %v", st, err)
	}
}

// TestDiscoveryAndFetch checks the documents the bridge serves and that
// /fetch knows only its own posts.
func TestDiscoveryAndFetch(t *testing.T) {
	b := testBridge(t)
	h := b.Handler()
	get := func(path string) (int, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://bridge.test"+path, nil))
		return rec.Code, rec.Body.String()
	}
	for path, want := range map[string]string{
		"/.well-known/host-meta":                                "http://bridge.test/.well-known/webfinger.xml?resource={uri}",
		"/.well-known/webfinger?resource=acct:news@bridge.test": "http://bridge.test/hcard/users/" + b.guid,
		"/hcard/users/" + b.guid:                                "BEGIN PUBLIC KEY",
		"/.well-known/nodeinfo":                                 "http://bridge.test/nodeinfo/2.1",
		"/nodeinfo/2.1":                                         "go-diaspora-feedbridge",
	} {
		if status, body := get(path); status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q in\n%.300s", path, status, want, body)
		}
	}
	for _, path := range []string{"/.well-known/webfinger?resource=acct:someone@bridge.test", "/hcard/users/" + newGUID()} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}

	p, ds := b.publish(Entry{ID: "urn:1", Title: "Hello", Link: "https://blog.example/1"}, []string{"https://pod.example/", "https://pod.test/"})
	if len(ds) != 2 || ds[0].URL != "https://pod.example/receive/public" || ds[1].URL != "https://pod.test/receive/public" ||
		string(ds[1].Body) != p.Envelope {
		t.Fatalf("publish: %+v, %+v", p, ds)
	}
	b.st.Posts["urn:1"] = p
	if status, body := get("/fetch/post/" + p.GUID); status != http.StatusOK || body != p.Envelope {
		t.Errorf("fetch of a published post: %d %.200s", status, body)
	}
	for _, path := range []string{"/fetch/post/" + newGUID(), "/fetch/comment/" + p.GUID, "/fetch/post/bad"} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
}

// TestNewErrors checks that a wrong configuration is refused with an
// error that names the flag.
func TestNewErrors(t *testing.T) {
	good := Config{URL: "https://feeds.example/", DataDir: t.TempDir(), FeedURL: "https://blog.example/atom.xml", Name: "news",
		Poll: time.Minute, KeyBits: 2048}
	for flag, change := range map[string]func(*Config){
		"--url":  func(c *Config) { c.URL = "http://feeds.example/" }, // http without --dev
		"--url ": func(c *Config) { c.URL = "" },
		"--name": func(c *Config) { c.Name = "News Feed" },
		"--feed": func(c *Config) { c.FeedURL = "file:///etc/passwd" },
		"--poll": func(c *Config) { c.Poll = 0 },
	} {
		c := good
		change(&c)
		if _, err := New(c); err == nil || !strings.Contains(err.Error(), strings.TrimSpace(flag)) {
			t.Errorf("%s: error %v", flag, err)
		}
	}
	if _, err := New(good); err != nil {
		t.Fatal(err)
	}
	// The data directory now belongs to news@feeds.example.
	c := good
	c.Name = "other"
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "news@feeds.example") {
		t.Errorf("another person on the same data: %v", err)
	}
}

// TestPollAndRestart polls a feed with the bridge's own code, without a
// pod: nothing is published before the first follower, each entry is
// published once (one delivery per pod), and a bridge started again on
// the same data does not publish them again.
func TestPollAndRestart(t *testing.T) {
	feed := &testFeed{}
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		feed.ServeHTTP(w, r)
	}))
	defer srv.Close()
	feed.base = srv.URL
	feed.set(1, 2)
	cfg := testConfig(t, srv.URL+"/feed.atom")
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Poll(ctx); err != nil || len(b.st.Posts) != 0 || requests.Load() != 1 {
		t.Fatalf("without followers: %v, %d posts, %d requests", err, len(b.st.Posts), requests.Load())
	}
	b.st.Followers["alice@pod.example"] = "http://127.0.0.1:1/"
	b.st.Followers["bob@pod.example"] = "http://127.0.0.1:1/"
	for range 2 {
		if err := b.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.st.Posts) != 2 || b.queue.Len() != 2 {
		t.Fatalf("%d posts, %d deliveries queued; want 2 posts, each to one pod", len(b.st.Posts), b.queue.Len())
	}
	before := map[string]string{}
	for id, p := range b.st.Posts {
		before[id] = p.GUID
	}

	b, err = New(cfg) // a restart
	if err != nil {
		t.Fatal(err)
	}
	feed.set(1, 2, 3)
	if err := b.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.st.Posts) != 3 || b.queue.Len() != 1 {
		t.Fatalf("%d posts and %d new deliveries after the restart, want 3 and 1", len(b.st.Posts), b.queue.Len())
	}
	for id, guid := range before {
		if b.st.Posts[id].GUID != guid {
			t.Errorf("entry %s published again as %s (was %s)", id, b.st.Posts[id].GUID, guid)
		}
	}
}

// TestFetchFeed checks the feed's HTTP side: links resolved against the
// feed's URL, errors for other statuses and for oversized bodies.
func TestFetchFeed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			w.Write([]byte(strings.Repeat(" ", maxFeedBytes+1)))
		case "/gone":
			http.Error(w, "gone", http.StatusGone)
		default:
			w.Write([]byte(atomSample))
		}
	}))
	defer srv.Close()
	for path, want := range map[string]string{"/feeds/atom.xml": "", "/big": "larger than", "/gone": "410"} {
		b, err := New(testConfig(t, srv.URL+path))
		if err != nil {
			t.Fatal(err)
		}
		entries, err := b.fetchFeed(context.Background())
		switch {
		case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
			t.Errorf("%s: error %v, want %q", path, err, want)
		case want == "" && (err != nil || len(entries) != 2 || entries[0].Link != srv.URL+"/2026/second"):
			t.Errorf("%s: %v, %+v", path, err, entries)
		}
	}
}
