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

func testBridge(t *testing.T) *Bridge {
	t.Helper()
	b, err := New(Config{URL: "http://bridge.test/", DataDir: filepath.Join(t.TempDir(), "data"), FeedURL: "http://127.0.0.1:1/feed",
		Name: "news", Dev: true, KeyBits: 2048, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestReceiveContact drives the receive route with Contact entities from
// a person on a fake pod: a forgery, a wrong recipient, sharing and
// stopping.
func TestReceiveContact(t *testing.T) {
	b := testBridge(t)
	h := b.Handler()

	carolKey, err := magicenv.GenerateKey(2048, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := onePerson{}
	pod := httptest.NewServer(http.NotFoundHandler())
	defer pod.Close()
	u, _ := url.Parse(pod.URL)
	carol := &discovery.Person{ID: "carol@" + u.Host, GUID: newGUID(), PublicKey: &carolKey.PublicKey, FullName: "Carol"}
	dir.p = carol
	mux := http.NewServeMux()
	(&discovery.Handler{BaseURL: pod.URL + "/", Directory: dir}).Register(mux)
	pod.Config.Handler = mux

	send := func(route string, c *entities.Contact, key *rsa.PrivateKey) int {
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
	follows := &entities.Contact{Author: carol.ID, Recipient: b.ID(), Following: true, Sharing: true}
	stops := &entities.Contact{Author: carol.ID, Recipient: b.ID()}
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
		{"forged signature", b.guid, follows, other, http.StatusAccepted, nil},
		{"someone else's guid", newGUID(), follows, carolKey, http.StatusNotFound, nil},
		// The public route takes a Contact too, as the reference does: it
		// has no public flag to be false.
		{"public route", "public", follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"stopping", b.guid, stops, carolKey, http.StatusAccepted, nil},
		{"sharing", b.guid, follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"sharing again", b.guid, follows, carolKey, http.StatusAccepted, []string{carol.ID}},
		{"stopping again", b.guid, stops, carolKey, http.StatusAccepted, nil},
	} {
		if status := send(step.route, step.c, step.key); status != step.status {
			t.Errorf("%s: status %d, want %d", step.name, status, step.status)
		}
		if f := b.followers(); !slices.Equal(f, step.followers) && !(len(f) == 0 && len(step.followers) == 0) {
			t.Errorf("%s: followers %v, want %v", step.name, f, step.followers)
		}
	}
	// The follower is in the state file, which a restart reads.
	send(b.guid, follows, carolKey)
	st, err := loadState(b.cfg.DataDir)
	if err != nil || st.Followers[carol.ID].Pod != pod.URL+"/" {
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
		"/nodeinfo/2.1":                                         "go-diaspora-feedbridge",
		"/":                                                     "news@bridge.test publishes",
		discovery.DefaultAvatar:                                 "PNG",
	} {
		if status, body := get(path); status != http.StatusOK || !strings.Contains(body, want) {
			t.Errorf("GET %s: %d, want 200 with %q in\n%.300s", path, status, want, body)
		}
	}
	for _, path := range []string{"/.well-known/webfinger?resource=acct:someone@bridge.test", "/u/someone", "/public/someone.atom", "/people/" + newGUID()} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
	if status, _ := get("/public/news.atom"); status != http.StatusFound {
		t.Errorf("GET /public/news.atom: %d, want a redirect to the feed", status)
	}

	if err := b.publish(context.Background(), Entry{ID: "urn:1", Title: "Hello", Link: "https://blog.example/1"}); err != nil {
		t.Fatal(err)
	}
	guid := b.st.Posts["urn:1"].GUID
	if status, body := get("/fetch/post/" + guid); status != http.StatusOK || !strings.Contains(body, "<me:env") {
		t.Errorf("fetch of a published post: %d %.200s", status, body)
	}
	for _, path := range []string{"/fetch/post/" + newGUID(), "/fetch/comment/" + guid, "/fetch/post/bad"} {
		if status, _ := get(path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
}

// TestNewErrors checks that a wrong configuration is refused with an
// error that names the flag.
func TestNewErrors(t *testing.T) {
	good := Config{URL: "https://feeds.example/", DataDir: t.TempDir(), FeedURL: "https://blog.example/atom.xml", Name: "news", KeyBits: 2048}
	for flag, change := range map[string]func(*Config){
		"--url":          func(c *Config) { c.URL = "https://feeds.example/sub/" },
		"--url ":         func(c *Config) { c.URL = "http://feeds.example/" }, // http without --dev
		"--name":         func(c *Config) { c.Name = "News Feed" },
		"--feed":         func(c *Config) { c.FeedURL = "file:///etc/passwd" },
		"--display-name": func(c *Config) { c.DisplayName = "a;b" },
		"--data":         func(c *Config) { c.DataDir = "" },
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
// pod: nothing happens before the first follower, each entry is
// published once, and a bridge started again on the same data does not
// publish them again.
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
	cfg := Config{URL: "http://bridge.test/", DataDir: t.TempDir(), FeedURL: srv.URL + "/feed.atom", Name: "news", Dev: true,
		KeyBits: 2048, Logger: testLogger(t)}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := b.Poll(ctx); err != nil || requests.Load() != 0 {
		t.Fatalf("without followers: %v, %d requests", err, requests.Load())
	}
	b.st.Followers["alice@pod.example"] = follower{Pod: "http://127.0.0.1:1/"}
	b.st.Followers["bob@pod.example"] = follower{Pod: "http://127.0.0.1:1/"}
	for range 2 { // the second poll gets 304 Not Modified
		if err := b.Poll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.st.Posts) != 2 || b.queue.Len() != 2 || b.pending() != 2 {
		t.Fatalf("%d posts, %d deliveries queued, %d pending; want 2 posts, each to one pod", len(b.st.Posts), b.queue.Len(), b.pending())
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
	if len(b.st.Posts) != 3 {
		t.Fatalf("%d posts after the restart, want 3", len(b.st.Posts))
	}
	for id, guid := range before {
		if b.st.Posts[id].GUID != guid {
			t.Errorf("entry %s published again as %s (was %s)", id, b.st.Posts[id].GUID, guid)
		}
	}
	if requests.Load() != 3 {
		t.Errorf("%d requests to the feed, want 3", requests.Load())
	}
}
