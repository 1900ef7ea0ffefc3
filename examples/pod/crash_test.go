package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// subPod is a pod running as its own process, so that it can be killed
// with SIGKILL: no deferred code, no graceful shutdown.
type subPod struct {
	bin, dir, addr string
	cmd            *exec.Cmd
	log            *os.File
}

func (s *subPod) url() string { return "http://" + s.addr + "/" }

func (s *subPod) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(s.bin, append(args, "--addr", s.addr, "--data", s.dir, "--dev", "--key-bits", "2048", "--retry-base", "200ms")...)
	cmd.Env = append(os.Environ(), "POD_PASSWORD=password-alice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pod %v: %v\n%s", args, err, out)
	}
}

func (s *subPod) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, "--addr", s.addr, "--data", s.dir, "--dev", "--retry-base", "200ms")
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pod process to serve", func() bool {
		resp, err := http.Get(s.url() + ".well-known/host-meta")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// kill9 kills the process at once, whatever it is doing.
func (s *subPod) kill9(t *testing.T) {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = s.cmd.Wait()
}

func (s *subPod) stop(t *testing.T) {
	t.Helper()
	if s.cmd != nil && s.cmd.ProcessState == nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-done
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestKill9 kills a pod with SIGKILL twice in the middle of bursts of
// outgoing and incoming deliveries, restarts it on the same data, and
// checks that every post arrived exactly once on both sides and that no
// queue is left behind (SECURITY.md R8, R10: 2 kills here).
func TestKill9(t *testing.T) {
	const n = 25 // posts in each burst
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "pod")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	logf, err := os.Create(filepath.Join(tmp, "pod.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	a := &subPod{bin: bin, dir: filepath.Join(tmp, "a"), addr: freeAddr(t), log: logf}
	a.run(t, "user", "add", "alice")
	a.start(t)
	defer func() {
		a.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("pod A log:\n%s", b)
		}
	}()
	api := &testPod{URL: a.url()} // API calls over HTTP only
	var login struct{ Token, ID string }
	api.call(t, "POST", "/api/session", "", map[string]string{"username": "alice", "password": "password-alice"}, http.StatusCreated, &login)
	alice, aliceTok := login.ID, login.Token

	b := startPod(t)
	bob, bobTok := b.user(t, "bob")
	// Each follows the other.
	b.call(t, "POST", "/api/contacts", bobTok, map[string]string{"id": alice}, http.StatusCreated, nil)
	api.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": bob}, http.StatusCreated, nil)
	waitFor(t, "B to learn its follower", func() bool { return b.count(t, `SELECT COUNT(*) FROM contacts WHERE follower = 1`) == 1 })
	// And A its follower: alice's posts go only to the pods of followers
	// A knows when they are created (under load A may still be working
	// on bob's Contact).
	waitFor(t, "A to learn its follower", func() bool {
		st, err := OpenStore(context.Background(), a.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int
		if err := st.db.QueryRow(`SELECT COUNT(*) FROM contacts WHERE follower = 1`).Scan(&n); err != nil {
			return false
		}
		return n == 1
	})

	// Outgoing: alice posts a burst of concurrent requests; the pod is
	// killed as soon as half of them are acknowledged, with the rest in
	// flight and deliveries queued or under way.
	type result struct {
		guid string
		ok   bool
	}
	results := make(chan result, n)
	for i := 0; i < n; i++ {
		go func() {
			var post PostView
			ok := apiTry(api.URL, "/api/posts", aliceTok, map[string]any{"text": fmt.Sprintf("outgoing %d", i)}, &post)
			results <- result{post.GUID, ok}
		}()
	}
	acked := map[string]bool{}
	for i := 0; i < n; i++ {
		r := <-results
		if r.ok {
			acked[r.guid] = true
		}
		if len(acked) == n/2 && a.cmd.ProcessState == nil {
			a.kill9(t)
		}
	}
	t.Logf("outgoing: %d of %d requests acknowledged before the kill; %d posts on B at the kill", len(acked), n,
		b.count(t, `SELECT COUNT(*) FROM posts WHERE author = ?`, alice))
	a.start(t)

	// Incoming: bob posts a burst; A is killed in the middle of it
	// (bodies being received, stored, processed), and comes back later.
	for i := 0; i < n; i++ {
		b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": fmt.Sprintf("incoming %d", i)}, http.StatusCreated, nil)
		if i == n/2 {
			a.kill9(t)
		}
	}
	time.Sleep(500 * time.Millisecond) // B's deliveries fail meanwhile
	a.start(t)

	// A's own store is the truth: every post it holds must reach B once,
	// and every acknowledged post must be in it.
	countA := func(query string, args ...any) int {
		st, err := OpenStore(context.Background(), a.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var v int
		if err := st.db.QueryRow(query, args...).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitFor(t, "A's outbox to drain", func() bool { return countA(`SELECT COUNT(*) FROM outbox`) == 0 })
	waitFor(t, "B's outbox to drain", func() bool { return b.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	waitFor(t, "A's inbox to drain", func() bool { return countA(`SELECT COUNT(*) FROM inbox`) == 0 })
	a.stop(t) // gracefully, to read its store

	st, err := OpenStore(context.Background(), a.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := func(query string, args ...any) int {
		var v int
		if err := st.db.QueryRow(query, args...).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := q(`SELECT COUNT(*) FROM posts WHERE author = ?`, bob); got != n {
		t.Errorf("A holds %d of bob's %d posts", got, n)
	}
	if got := q(`SELECT COUNT(DISTINCT guid) FROM posts WHERE author = ?`, bob); got != n {
		t.Errorf("A holds %d distinct posts of bob, want %d", got, n)
	}
	mine := map[string]bool{}
	rows, err := st.db.Query(`SELECT guid FROM posts WHERE author = ?`, alice)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			t.Fatal(err)
		}
		mine[g] = true
	}
	rows.Close()
	for g := range acked {
		if !mine[g] {
			t.Errorf("acknowledged post %s lost by A", g)
		}
	}
	for g := range mine {
		if got := b.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, g); got != 1 {
			t.Errorf("alice's post %s is on B %d times", g, got)
		}
	}
	if got := b.count(t, `SELECT COUNT(*) FROM posts WHERE author = ?`, alice); got != len(mine) {
		t.Errorf("B holds %d posts of alice, A holds %d", got, len(mine))
	}
	if got := q(`SELECT COUNT(*) FROM outbox`); got != 0 {
		t.Errorf("A's outbox holds %d deliveries", got)
	}
	if got := q(`SELECT COUNT(*) FROM inbox`); got != 0 {
		t.Errorf("A's inbox holds %d unprocessed or refused bodies", got)
	}
}

// apiTry is an API call that may fail (the pod may be killed under it):
// it reports whether the request was acknowledged with 201.
func apiTry(base, path, token string, body any, out any) bool {
	b, err := json.Marshal(body)
	if err != nil {
		return false
	}
	req, err := http.NewRequest("POST", strings.TrimSuffix(base, "/")+path, bytes.NewReader(b))
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return false
	}
	return json.NewDecoder(resp.Body).Decode(out) == nil
}
