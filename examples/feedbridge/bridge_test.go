package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
)

// TestBridgeWithPod is the proof the issue asks for: the reference pod
// shares with the bridge person over loopback, the bridge publishes a
// local test feed's entries, and they appear in the pod's stream exactly
// once, also after a restart of the bridge.
func TestBridgeWithPod(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the reference pod")
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tmp := t.TempDir()

	// The pod: built from this repository, one user, serving in --dev
	// mode on loopback.
	bin := buildPod(ctx, t, tmp)
	podAddr := freeAddr(t)
	podURL := "http://" + podAddr + "/"
	podData := filepath.Join(tmp, "pod-data")
	const password = "correct horse battery staple"
	out, err := exec.CommandContext(ctx, bin, "user", "add", "alice", "--dev", "--data", podData, "--addr", podAddr,
		"--key-bits", "2048", "--password", password).CombinedOutput()
	if err != nil {
		t.Fatalf("pod user add: %v\n%s", err, out)
	}
	alice := "alice@" + podAddr
	startPod(ctx, t, bin, "serve", "--dev", "--data", podData, "--addr", podAddr, "--retry-base", "1s")
	waitFor(ctx, t, "the pod to serve", func() bool {
		resp, err := http.Get(podURL + ".well-known/host-meta")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	api := &podAPI{t: t, base: podURL}
	api.token = api.signIn(ctx, "alice", password)
	t.Logf("pod ready after %v", time.Since(start).Round(time.Millisecond))

	// The feed, and the bridge on a loopback port of its own.
	feed := &testFeed{}
	feedSrv := httptest.NewServer(feed)
	defer feedSrv.Close()
	feed.base = feedSrv.URL
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	bridgeAddr := ln.Addr().String()
	cfg := Config{URL: "http://" + bridgeAddr + "/", DataDir: filepath.Join(tmp, "bridge"), FeedURL: feedSrv.URL + "/feed.atom",
		Name: "news", Poll: 300 * time.Millisecond, Dev: true, KeyBits: 2048, Logger: testLogger(t)}
	b, stop := startBridge(ctx, t, cfg, ln)
	newsID := "news@" + bridgeAddr
	if b.id != newsID {
		t.Fatalf("bridge ID %q, want %q", b.id, newsID)
	}

	// Alice shares with the bridge person: her pod finds it by WebFinger
	// and sends it a Contact, which the bridge checks and records.
	var contact struct{ ID, GUID string }
	if status := api.call(ctx, "POST", "api/contacts", map[string]any{"id": newsID}, &contact); status != http.StatusCreated {
		t.Fatalf("POST /api/contacts: %d", status)
	}
	waitFor(ctx, t, "the bridge to record alice as a follower", func() bool {
		f := b.followers()
		return len(f) == 1 && f[0] == alice
	})

	// Two entries: each reaches alice's stream once.
	feed.set(1, 2)
	waitFor(ctx, t, "entries 1 and 2 in alice's stream", func() bool {
		s := api.stream(ctx)
		return s.count(feed.link(1)) >= 1 && s.count(feed.link(2)) >= 1
	})
	settle(t, b)
	s := api.stream(ctx)
	s.checkOnce(t, newsID, feed, 1, 2)
	checkFetch(ctx, t, b, "http://"+bridgeAddr+"/", s.guidOf(feed.link(1)))

	// Restart the bridge on the same address and data directory, with a
	// third entry: the first two are not published again.
	stop()
	ln, err = listenAgain(ctx, bridgeAddr)
	if err != nil {
		t.Fatal(err)
	}
	b, stop = startBridge(ctx, t, cfg, ln)
	defer stop()
	if f := b.followers(); len(f) != 1 || f[0] != alice {
		t.Fatalf("after the restart the bridge has followers %v, want [%s]", f, alice)
	}
	feed.set(1, 2, 3)
	waitFor(ctx, t, "entry 3 in alice's stream", func() bool { return api.stream(ctx).count(feed.link(3)) >= 1 })
	settle(t, b)
	api.stream(ctx).checkOnce(t, newsID, feed, 1, 2, 3)
	t.Logf("whole test: %v", time.Since(start).Round(time.Millisecond))
}

// settle gives the bridge a few more polls, so that a duplicate, if it
// made one, would have had the time to reach the pod.
func settle(t *testing.T, b *Bridge) {
	t.Helper()
	time.Sleep(3*b.cfg.Poll + time.Second)
}

// checkFetch gets a post from the bridge's /fetch route and verifies it.
func checkFetch(ctx context.Context, t *testing.T, b *Bridge, base, guid string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"fetch/post/"+guid, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /fetch/post/%s: %s", guid, resp.Status)
	}
	env, err := magicenv.Parse(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(&b.key.PublicKey); err != nil {
		t.Fatalf("fetched envelope: %v", err)
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if sm, ok := e.(*entities.StatusMessage); !ok || sm.GUID != guid || !sm.Public || sm.Author != b.id {
		t.Fatalf("fetched %#v, want the public status message %s by %s", e, guid, b.id)
	}
}

// buildPod builds examples/pod from the repository root into dir.
func buildPod(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("no go.mod above the test's directory")
		}
		root = parent
	}
	bin := filepath.Join(dir, "pod")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/pod")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the pod: %v\n%s", err, out)
	}
	return bin
}

// startPod runs the pod until the test ends; its output is shown if the
// test fails.
func startPod(ctx context.Context, t *testing.T, bin string, args ...string) {
	t.Helper()
	var out lockedBuffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("pod output:\n%s", out.String())
		}
	})
}

// startBridge serves a bridge on ln; stop ends it and waits until it has
// stopped.
func startBridge(ctx context.Context, t *testing.T, cfg Config, ln net.Listener) (*Bridge, func()) {
	t.Helper()
	b, err := New(cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, b, ln) }()
	var once sync.Once
	return b, func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("bridge stopped with %v", err)
			}
		})
	}
}

// listenAgain listens on addr, retrying while the port is still taken.
func listenAgain(ctx context.Context, addr string) (net.Listener, error) {
	for {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			return ln, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("listening on %s again: %w", addr, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freeAddr returns a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// waitFor polls cond every 200 ms until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// testLogger sends the bridge's records to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// followers returns the IDs of the bridge's followers, sorted.
func (b *Bridge) followers() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Sorted(maps.Keys(b.st.Followers))
}

// testFeed serves an Atom feed of the entries set, newest first.
type testFeed struct {
	mu      sync.Mutex
	base    string
	entries []int
}

func (f *testFeed) set(n ...int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.entries = n
}

func (f *testFeed) title(n int) string { return fmt.Sprintf("Entry number %d", n) }
func (f *testFeed) link(n int) string  { return fmt.Sprintf("%s/posts/%d", f.base, n) }

func (f *testFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/feed.atom" {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<feed xmlns="http://www.w3.org/2005/Atom"><title>Test feed</title>`)
	for i := len(f.entries) - 1; i >= 0; i-- {
		n := f.entries[i]
		fmt.Fprintf(&b, `<entry><id>urn:test:entry:%d</id><title>%s</title><link href="/posts/%d"/>`+
			`<summary type="html">&lt;p&gt;Summary of &lt;b&gt;entry&lt;/b&gt; %d &amp;amp; more&lt;/p&gt;</summary></entry>`,
			n, f.title(n), n, n)
	}
	b.WriteString("</feed>\n")
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/atom+xml")
	io.WriteString(w, b.String())
}

// podAPI is a client of the pod's JSON API (docs/api.md).
type podAPI struct {
	t           *testing.T
	base, token string
}

func (a *podAPI) call(ctx context.Context, method, path string, in, out any) int {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		j, _ := json.Marshal(in)
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if resp.StatusCode/100 != 2 {
		a.t.Logf("%s %s: %s %s", method, path, resp.Status, data)
	} else if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			a.t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func (a *podAPI) signIn(ctx context.Context, user, password string) string {
	var s struct{ Token string }
	if st := a.call(ctx, "POST", "api/session", map[string]string{"username": user, "password": password}, &s); st != http.StatusCreated {
		a.t.Fatalf("sign-in: %d", st)
	}
	return s.Token
}

type streamPost struct {
	GUID, Author, Text, Type string
}

type stream []streamPost

func (a *podAPI) stream(ctx context.Context) stream {
	var s struct{ Posts stream }
	if st := a.call(ctx, "GET", "api/stream?limit=100", nil, &s); st != http.StatusOK {
		a.t.Fatalf("GET /api/stream: %d", st)
	}
	return s.Posts
}

// count is the number of posts whose text holds s.
func (s stream) count(sub string) int {
	n := 0
	for _, p := range s {
		if strings.Contains(p.Text, sub) {
			n++
		}
	}
	return n
}

func (s stream) guidOf(sub string) string {
	for _, p := range s {
		if strings.Contains(p.Text, sub) {
			return p.GUID
		}
	}
	return ""
}

// checkOnce checks that each numbered entry is in the stream once, by
// the bridge person, with its title, link and summary.
func (s stream) checkOnce(t *testing.T, author string, f *testFeed, ns ...int) {
	t.Helper()
	for _, n := range ns {
		var found []streamPost
		for _, p := range s {
			if strings.Contains(p.Text, f.link(n)) {
				found = append(found, p)
			}
		}
		if len(found) != 1 {
			t.Errorf("entry %d is %d times in the stream, want once: %+v", n, len(found), found)
			continue
		}
		p := found[0]
		want := fmt.Sprintf("**%s**\n\n<%s>\n\nSummary of entry %d & more", f.title(n), f.link(n), n)
		if p.Author != author || p.Type != "status_message" || p.Text != want {
			t.Errorf("entry %d: %s by %s with text %q, want a status_message by %s with text %q", n, p.Type, p.Author, p.Text, author, want)
		}
	}
	if len(s) != len(ns) {
		t.Errorf("the stream has %d posts, want %d: %+v", len(s), len(ns), s)
	}
}
