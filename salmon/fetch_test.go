package salmon_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

const postGUID = "6bc23f6a8eb9ea65a46628563c8c4ba8" // status_message_basic

type sourceFunc func(ctx context.Context, typ, guid string) (*salmon.Fetched, error)

func (f sourceFunc) Fetch(ctx context.Context, typ, guid string) (*salmon.Fetched, error) {
	return f(ctx, typ, guid)
}

func TestFetchHandler(t *testing.T) {
	m := vectors.Reference(t)
	envelope := mustRead(t, m, "magic_envelope_public/status_message_basic.xml")
	h := &salmon.FetchHandler{Source: sourceFunc(func(_ context.Context, typ, guid string) (*salmon.Fetched, error) {
		switch {
		case typ == "post" && guid == postGUID:
			return &salmon.Fetched{Envelope: envelope}, nil
		case typ == "post" && guid == "remote0000000000":
			return &salmon.Fetched{Pod: "https://pod-b.example.net/"}, nil
		case typ == "post" && guid == "broken0000000000":
			return nil, errors.New("database down")
		case typ == "post" && guid == "badpod0000000000":
			return &salmon.Fetched{Pod: "javascript:alert(1)"}, nil
		}
		return nil, salmon.ErrNotFound
	})}
	tests := []struct {
		method, path string
		status       int
		location     string
	}{
		{"GET", "/fetch/post/" + postGUID, 200, ""},
		{"HEAD", "/fetch/post/" + postGUID, 200, ""},
		{"GET", "/fetch/post/remote0000000000", 302, "https://pod-b.example.net/fetch/post/remote0000000000"},
		{"GET", "/fetch/post/private000000000", 404, ""},
		{"GET", "/fetch/post/badpod0000000000", 404, ""},
		{"GET", "/fetch/post/broken0000000000", 503, ""},
		{"GET", "/fetch/Post/" + postGUID, 404, ""},
		{"GET", "/fetch/post/short", 404, ""},
		{"GET", "/fetch/post/" + postGUID + "/x", 404, ""},
		{"GET", "/fetch/../etc/passwd0000000", 404, ""},
		{"POST", "/fetch/post/" + postGUID, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status || rec.Header().Get("Location") != tt.location {
				t.Fatalf("status %d Location %q, want %d %q", rec.Code, rec.Header().Get("Location"), tt.status, tt.location)
			}
			if tt.status == 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/magic-envelope+xml; charset=utf-8" {
					t.Errorf("Content-Type %q", ct)
				}
				if want := map[string]string{"GET": string(envelope), "HEAD": ""}[tt.method]; rec.Body.String() != want {
					t.Errorf("body of %d bytes, want %d", rec.Body.Len(), len(want))
				}
			}
		})
	}
}

func TestParseURI(t *testing.T) {
	a, typ, g, err := salmon.ParseURI("diaspora://alice@pod.example/post/" + postGUID)
	if err != nil || a != "alice@pod.example" || typ != "post" || g != postGUID {
		t.Errorf("ParseURI = %q %q %q %v", a, typ, g, err)
	}
	if _, typ, _, err := salmon.ParseURI("web+diaspora://alice@pod.example:3000/poll_participation/" + postGUID); err != nil || typ != "poll_participation" {
		t.Errorf("web+diaspora: %q %v", typ, err)
	}
	for _, bad := range []string{"", "https://pod.example/post/" + postGUID, "diaspora://Alice@pod.example/post/" + postGUID,
		"diaspora://alice@pod.example/Post/" + postGUID, "diaspora://alice@pod.example/post/short", "diaspora://alice@pod.example/post",
		"diaspora://alice@pod.example/post/" + postGUID + "/x"} {
		if _, _, _, err := salmon.ParseURI(bad); !errors.Is(err, salmon.ErrInvalidURI) {
			t.Errorf("ParseURI(%q) = %v", bad, err)
		}
	}
}

// fakePod serves /fetch from a map of path → body, counting requests.
type fakePod struct {
	*httptest.Server
	bodies   map[string][]byte
	redirect map[string]string
	hits     atomic.Int32
}

func newFakePod(t *testing.T) *fakePod {
	p := &fakePod{bodies: map[string][]byte{}, redirect: map[string]string{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.hits.Add(1)
		if to, ok := p.redirect[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		b, ok := p.bodies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", magicenv.ContentType)
		_, _ = w.Write(b)
	}))
	t.Cleanup(p.Close)
	return p
}

func signEntity(t *testing.T, e entities.Entity, author string, key *rsa.PrivateKey) []byte {
	t.Helper()
	payload, err := entities.MarshalXML(e)
	if err != nil {
		t.Fatal(err)
	}
	env, err := magicenv.Sign(payload, author, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env.Marshal()
}

func TestFetcher(t *testing.T) {
	m := vectors.Reference(t)
	env := conformance.NewEnv(m)
	alice, _ := m.PrivateKey(keyParser, "alice@pod-a.example.org")
	podA, podB := newFakePod(t), newFakePod(t)
	podA.bodies["/fetch/post/"+postGUID] = mustRead(t, m, "magic_envelope_public/status_message_basic.xml")
	podA.bodies["/fetch/post/samebody00000000"] = podA.bodies["/fetch/post/"+postGUID]
	podB.redirect["/fetch/post/"+postGUID] = podA.URL + "/fetch/post/" + postGUID
	podB.redirect["/fetch/post/loop000000000000"] = podB.URL + "/fetch/post/loop000000000000"
	podA.bodies["/fetch/post/huge000000000000"] = []byte(strings.Repeat(" ", 2<<20))
	pods := map[string]string{"alice@pod-a.example.org": podA.URL, "bob@pod-b.example.net": podB.URL, "dave@pod-a.example.org": podA.URL}

	var stored []*salmon.Message
	r := &salmon.Receiver{Keys: env, Entities: env}
	f := &salmon.Fetcher{
		HTTPClient: &http.Client{}, // the test pods are on loopback
		Receiver:   r,
		Pod: func(_ context.Context, id string) (string, error) {
			if p, ok := pods[id]; ok {
				return p, nil
			}
			return "", salmon.ErrNotFound
		},
		Store:   func(_ context.Context, msg *salmon.Message) error { stored = append(stored, msg); return nil },
		Timeout: 5 * time.Second,
	}
	ctx := context.Background()
	msg, err := f.Fetch(ctx, "alice@pod-a.example.org", "post", postGUID)
	if err != nil || msg.Entity.Type() != "status_message" || len(stored) != 1 {
		t.Fatalf("Fetch = %+v, %v (stored %d)", msg, err, len(stored))
	}
	if msg, err := f.FetchURI(ctx, "diaspora://alice@pod-a.example.org/post/"+postGUID); err != nil || msg == nil {
		t.Errorf("FetchURI = %v", err)
	}
	// The redirect from another pod is followed, but the author must be
	// the one asked for.
	if _, err := f.Fetch(ctx, "bob@pod-b.example.net", "post", postGUID); !errors.Is(err, salmon.ErrOriginMismatch) {
		t.Errorf("fetched through bob's pod as bob's: %v, want ErrOriginMismatch", err)
	}
	if _, err := f.Fetch(ctx, "alice@pod-a.example.org", "post", "samebody00000000"); !errors.Is(err, salmon.ErrOriginMismatch) {
		t.Errorf("another guid's body: %v, want ErrOriginMismatch", err)
	}
	podA.bodies["/fetch/comment/"+postGUID] = podA.bodies["/fetch/post/"+postGUID]
	if _, err := f.Fetch(ctx, "alice@pod-a.example.org", "comment", postGUID); !errors.Is(err, salmon.ErrOriginMismatch) {
		t.Errorf("another type's body: %v, want ErrOriginMismatch", err)
	}
	if _, err := f.Fetch(ctx, "alice@pod-a.example.org", "post", "unknown00000000000"); !errors.Is(err, salmon.ErrNotFound) || salmon.IsTemporary(err) {
		t.Errorf("404: %v (temporary %v), want final ErrNotFound", err, salmon.IsTemporary(err))
	}
	if _, err := f.Fetch(ctx, "bob@pod-b.example.net", "post", "loop000000000000"); err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Errorf("redirect loop: %v", err)
	}
	if _, err := f.Fetch(ctx, "alice@pod-a.example.org", "post", "huge000000000000"); !errors.Is(err, magicenv.ErrTooLarge) {
		t.Errorf("huge body: %v, want ErrTooLarge", err)
	}
	if _, err := f.Fetch(ctx, "mallory@unknown.example", "post", postGUID); err == nil {
		t.Error("fetch from a person without pod succeeded")
	}

	// Two reshares whose roots point at each other: receiving the first
	// fetches the second's root, which is the first: a loop, stopped.
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	r1 := &entities.Reshare{Author: "alice@pod-a.example.org", GUID: "reshare1aaaaaaaa", CreatedAt: now, RootAuthor: "alice@pod-a.example.org", RootGUID: "reshare2aaaaaaaa"}
	r2 := &entities.Reshare{Author: "alice@pod-a.example.org", GUID: "reshare2aaaaaaaa", CreatedAt: now, RootAuthor: "alice@pod-a.example.org", RootGUID: "reshare1aaaaaaaa"}
	podA.bodies["/fetch/post/reshare1aaaaaaaa"] = signEntity(t, r1, "alice@pod-a.example.org", alice)
	podA.bodies["/fetch/post/reshare2aaaaaaaa"] = signEntity(t, r2, "alice@pod-a.example.org", alice)
	r.Fetch = f.Related
	hitsBefore := podA.hits.Load()
	_, err = r.ReceivePublic(ctx, podA.bodies["/fetch/post/reshare1aaaaaaaa"])
	if !errors.Is(err, salmon.ErrRelatedNotFound) || !errors.Is(err, salmon.ErrFetchLoop) {
		t.Errorf("reshare loop: %v, want ErrRelatedNotFound from ErrFetchLoop", err)
	}
	if n := podA.hits.Load() - hitsBefore; n != 2 {
		t.Errorf("%d requests for the loop, want 2", n)
	}
	// The same with a budget of one request: stopped earlier.
	f.MaxRequests = 1
	hitsBefore = podA.hits.Load()
	if _, err := r.ReceivePublic(ctx, podA.bodies["/fetch/post/reshare1aaaaaaaa"]); !errors.Is(err, salmon.ErrFetchBudget) {
		t.Errorf("budget: %v, want ErrFetchBudget", err)
	}
	if n := podA.hits.Load() - hitsBefore; n != 1 {
		t.Errorf("%d requests with a budget of 1", n)
	}
	f.MaxRequests = 0

	// A reshare of a post the receiver does not know: the root is fetched
	// from the root author's pod and the reshare accepted.
	r3 := &entities.Reshare{Author: "alice@pod-a.example.org", GUID: "reshare3aaaaaaaa", CreatedAt: now, RootAuthor: "alice@pod-a.example.org", RootGUID: postGUID}
	if msg, err := r.ReceivePublic(ctx, signEntity(t, r3, "alice@pod-a.example.org", alice)); err != nil || msg.Entity.Type() != "reshare" {
		t.Errorf("reshare of an unknown root: %+v, %v", msg, err)
	}
}
