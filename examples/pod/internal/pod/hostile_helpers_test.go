package pod

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"golang.org/x/crypto/bcrypt"
)

// hostilePod is a test pod started with hooks: cfg may change the
// configuration, pre runs on the pod before its workers start (fields
// such as the sender's timeout must not change once in use), and run
// false leaves the inbox and outbox workers stopped.
type hostilePod struct {
	*testPod
	srv *http.Server
}

func startHostilePod(t *testing.T, cfg func(*Config), pre func(*Pod), run bool) *hostilePod {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	c := Config{PublicURL: u, DB: testDB(t), DataDir: t.TempDir(), KeyBits: 2048, Dev: true, BcryptCost: bcrypt.MinCost,
		Poll: 50 * time.Millisecond, BaseBackoff: 200 * time.Millisecond, InboxBackoff: 200 * time.Millisecond, Logger: testLogger(t)}
	if cfg != nil {
		cfg(&c)
	}
	p, err := NewPod(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if pre != nil {
		pre(p)
	}
	srv := NewServer(p.Handler(), c.Logger)
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if run {
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(ctx) }()
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		cancel()
		wg.Wait()
		p.Close()
	})
	return &hostilePod{testPod: &testPod{Pod: p, URL: u, Host: ln.Addr().String()}, srv: srv}
}

// canary is a loopback listener that must see no connection.
type canary struct {
	ln    net.Listener
	conns atomic.Int64
}

func newListener(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	c := &canary{ln: newListener(t)}
	ln := c.ln
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) addr() string { return c.ln.Addr().String() }

func (c *canary) check(t *testing.T) {
	t.Helper()
	if n := c.conns.Load(); n != 0 {
		t.Errorf("canary listener saw %d connections, want 0", n)
	}
}

// fakePod is a loopback HTTP server playing another pod; it counts the
// requests it gets.
type fakePod struct {
	*httptest.Server
	requests atomic.Int64
	mu       sync.Mutex
	routes   map[string]http.HandlerFunc // by path
}

func newFakePod(t *testing.T) *fakePod {
	t.Helper()
	f := &fakePod{routes: map[string]http.HandlerFunc{}}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		f.mu.Lock()
		h := f.routes[r.URL.Path]
		f.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePod) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	f.routes[path] = h
	f.mu.Unlock()
}

// serveBody serves a fixed body as a magic envelope.
func serveBody(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", magicenv.ContentType)
		w.Write(body)
	}
}

func (f *fakePod) host() string { return strings.TrimPrefix(f.URL, "http://") }

// remote is a person of another pod whose key the tested pod knows.
type remote struct {
	ID, GUID string
	Key      *rsa.PrivateKey
}

var (
	keyMu   sync.Mutex
	keyPool []*rsa.PrivateKey
)

// testKey returns the i-th 2048-bit test key, generated once per run.
func testKey(t *testing.T, i int) *rsa.PrivateKey {
	t.Helper()
	keyMu.Lock()
	defer keyMu.Unlock()
	for len(keyPool) <= i {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keyPool = append(keyPool, k)
	}
	return keyPool[i]
}

// plantRemote stores a remote person (on podURL) in the pod's discovery
// cache, as a completed WebFinger lookup would.
func plantRemote(t *testing.T, p *Pod, name, podURL string, keyIndex int) remote {
	t.Helper()
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(podURL, "http://"), "https://"), "/")
	r := remote{ID: name + "@" + host, GUID: NewGUID(), Key: testKey(t, keyIndex)}
	err := p.store.Cache().Put(context.Background(), &discovery.Person{ID: r.ID, GUID: r.GUID, PublicKey: &r.Key.PublicKey,
		PodURL: strings.TrimSuffix(podURL, "/") + "/"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// envelope signs an entity as signer with key (normally the author's).
func envelope(t *testing.T, e entities.Entity, signer string, key *rsa.PrivateKey) []byte {
	t.Helper()
	payload, err := entities.MarshalXML(e)
	if err != nil {
		t.Fatal(err)
	}
	env, err := magicenv.Sign(payload, signer, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env.Marshal()
}

func statusMessage(author, guid, text string) *entities.StatusMessage {
	return &entities.StatusMessage{Author: author, GUID: guid, CreatedAt: time.Now().UTC().Truncate(time.Second), Public: true, Text: text}
}

func reshare(author, guid, rootAuthor, rootGUID string) *entities.Reshare {
	return &entities.Reshare{Author: author, GUID: guid, CreatedAt: time.Now().UTC().Truncate(time.Second), RootAuthor: rootAuthor, RootGUID: rootGUID}
}

// postBody POSTs a body and returns the status, the Retry-After header and
// the answer's body.
func postBody(t *testing.T, client *http.Client, u, contentType string, body io.Reader) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), b
}

func postEnvelope(t *testing.T, tp *testPod, body []byte) int {
	t.Helper()
	st, _, _ := postBody(t, nil, tp.URL+"receive/public", magicenv.ContentType, bytes.NewReader(body))
	return st
}

// snapshot counts the rows of every table a received body could change.
type snapshot map[string]int

var oracleTables = []string{"inbox", "inbox_rejected", "posts", "interactions", "contacts", "people", "conversations", "messages", "polls",
	"tombstones", "outbox", "outbox_bodies", "post_visibility"}

func (tp *testPod) snapshot(t *testing.T) snapshot {
	t.Helper()
	s := snapshot{}
	for _, tab := range oracleTables {
		s[tab] = tp.count(t, `SELECT COUNT(*) FROM `+tab)
	}
	return s
}

// nothingProcessed is the ∅ oracle of testdata/hostile/README.md: no table
// changed except by the allowed deltas (e.g. {"inbox_rejected": 1} for a
// body that was accepted with 202 and refused by the worker, which keeps
// only its hash and first bytes).
func (tp *testPod) nothingProcessed(t *testing.T, before snapshot, allowed map[string]int) {
	t.Helper()
	after := tp.snapshot(t)
	for _, tab := range oracleTables {
		if d := after[tab] - before[tab]; d != allowed[tab] {
			t.Errorf("∅ oracle: table %s changed by %d rows, allowed %d", tab, d, allowed[tab])
		}
	}
}

// waitInboxSettled waits until no inbox row is pending.
func (tp *testPod) waitInboxSettled(t *testing.T) {
	t.Helper()
	waitFor(t, "the inbox to settle", func() bool { return tp.count(t, `SELECT COUNT(*) FROM inbox WHERE state = 'pending'`) == 0 })
}

// rawExchange sends raw bytes on a new connection and reads what comes
// back until the server closes it or the deadline passes.
func rawDial(t *testing.T, host string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}
