package pod

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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// subPod is a pod running as its own process, so that it can be killed
// with SIGKILL: no deferred code, no graceful shutdown.
type subPod struct {
	bin, dir, addr string
	dbURL          string   // --db: "" for SQLite in dir (see testDB)
	flags          []string // added when serving
	ready          string   // the path that answers 200 once it serves (host-meta if empty)
	cmd            *exec.Cmd
	log            *os.File
}

func (s *subPod) url() string { return "http://" + s.addr + "/" }

func (s *subPod) run(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(s.bin, append(args, "--addr", s.addr, "--data", s.dir, "--db", s.dbURL, "--dev", "--key-bits", "2048", "--retry-base", "200ms")...)
	cmd.Env = append(os.Environ(), "POD_PASSWORD=password-alice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pod %v: %v\n%s", args, err, out)
	}
}

func (s *subPod) start(t *testing.T) {
	t.Helper()
	s.cmd = exec.Command(s.bin, append([]string{"--addr", s.addr, "--data", s.dir, "--db", s.dbURL, "--dev", "--retry-base", "200ms"}, s.flags...)...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := s.ready
	if ready == "" {
		ready = ".well-known/host-meta"
	}
	waitFor(t, "the pod process to serve", func() bool {
		resp, err := http.Get(s.url() + ready)
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

// stopShowingLog stops the pod and, if the test failed, logs the last
// 32 KiB of its log; tests defer it right after start.
func (s *subPod) stopShowingLog(t *testing.T) {
	t.Helper()
	s.stop(t)
	if t.Failed() {
		b, _ := os.ReadFile(s.log.Name())
		if len(b) > 32<<10 {
			b = b[len(b)-32<<10:]
		}
		t.Logf("pod log (end):\n%s", b)
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

// envInt reads a positive integer from the environment, or returns def.
func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// waitLong is waitFor with a deadline of d.
func waitLong(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestKill9 kills a pod with SIGKILL in the middle of bursts of outgoing
// and incoming deliveries, restarts it on the same data each time, and
// checks that every post arrived exactly once on both sides and that no
// queue is left behind (R8 and R10 of scripts/reliability-long). POD_KILLS
// sets the number of kills (2 by default: half of them, rounded up, during
// the outgoing burst, the rest during the incoming one; 10 is the release
// figure); POD_KILL_OUT and POD_KILL_IN the sizes of the outgoing and
// incoming bursts (25 each by default; R10's 5,000 and R8's 10,000 in
// scripts/reliability-long). The figures are logged as "R8 " and "R10 "
// lines.
func TestKill9(t *testing.T) {
	kills := max(2, envInt("POD_KILLS", 2))
	outKills, inKills := (kills+1)/2, kills/2
	nOut, nIn := envInt("POD_KILL_OUT", 25), envInt("POD_KILL_IN", 25)
	// Deadlines grow with the bursts: at least 30 s, and 20 ms a message.
	drain := max(30*time.Second, time.Duration(nOut+nIn)*20*time.Millisecond)
	tmp := t.TempDir()
	bin := podtest.BuildBinary(t, tmp)
	logf, err := os.Create(filepath.Join(tmp, "pod.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	a := &subPod{bin: bin, dir: filepath.Join(tmp, "a"), dbURL: testDB(t), addr: freeAddr(t), log: logf}
	a.run(t, "user", "add", "alice")
	a.start(t)
	defer func() {
		a.stop(t)
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 64<<10 {
				b = b[len(b)-64<<10:]
			}
			t.Logf("pod A log (end):\n%s", b)
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
	waitFor(t, "B to learn its follower", func() bool { return b.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1 })
	// And A its follower: alice's posts go only to the pods of followers
	// A knows when they are created (under load A may still be working
	// on bob's Contact).
	waitFor(t, "A to learn its follower", func() bool {
		st, err := store.Open(context.Background(), a.dbURL, a.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var n int
		if err := st.SQL().QueryRow(`SELECT COUNT(*) FROM contacts WHERE sharing = 1`).Scan(&n); err != nil {
			return false
		}
		return n == 1
	})

	// Outgoing: alice posts a burst of concurrent requests, each retried
	// until acknowledged (an unacknowledged request may or may not have
	// made a post); the pod is killed each time another share of them is
	// acknowledged, with the rest in flight and deliveries queued or
	// under way, and restarted at once.
	start := time.Now()
	acked := map[string]bool{}
	{
		jobs := make(chan int, nOut)
		for i := range nOut {
			jobs <- i
		}
		close(jobs)
		results := make(chan string, nOut)
		var attempts atomic.Int64
		var wg sync.WaitGroup
		for range min(nOut, 32) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					for {
						attempts.Add(1)
						var post store.PostView
						if apiTry(api.URL, "/api/posts", aliceTok, map[string]any{"text": fmt.Sprintf("outgoing %d", i)}, &post) {
							results <- post.GUID
							break
						}
						time.Sleep(20 * time.Millisecond)
					}
				}
			}()
		}
		killed := 0
		for range nOut {
			acked[<-results] = true
			if killed < outKills && len(acked) >= (killed+1)*nOut/(outKills+1) {
				a.kill9(t)
				killed++
				t.Logf("outgoing: kill %d with %d of %d posts acknowledged, %d posts on B", killed, len(acked), nOut,
					b.count(t, `SELECT COUNT(*) FROM posts WHERE author = ?`, alice))
				a.start(t)
			}
		}
		wg.Wait()
		t.Logf("outgoing: %d posts acknowledged after %d requests in %v", len(acked), attempts.Load(), time.Since(start).Round(time.Millisecond))
	}

	// Incoming: bob posts a burst (8 concurrent API clients on B); A is
	// killed each time another share of it is created (bodies being
	// received, stored, processed) and comes back a little later, while
	// B's deliveries fail and are retried.
	inStart := time.Now()
	{
		jobs := make(chan int, nIn)
		for i := range nIn {
			jobs <- i
		}
		close(jobs)
		created := make(chan bool, nIn)
		var wg sync.WaitGroup
		for range min(nIn, 8) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range jobs {
					var post store.PostView
					created <- apiTry(b.URL, "/api/posts", bobTok, map[string]any{"text": fmt.Sprintf("incoming %d", i)}, &post)
				}
			}()
		}
		gap := max(1, nIn/(4*(inKills+1)))
		killed, down, restartAt := 0, false, 0
		for done := 1; done <= nIn; done++ {
			if !<-created {
				t.Errorf("B refused a post")
			}
			if !down && killed < inKills && done >= (killed+1)*nIn/(inKills+1) {
				a.kill9(t)
				killed++
				down, restartAt = true, done+gap
				t.Logf("incoming: kill %d with %d of %d posts created on B", killed, done, nIn)
			}
			if down && done >= restartAt {
				a.start(t)
				down = false
			}
		}
		wg.Wait()
		if down {
			time.Sleep(500 * time.Millisecond) // B's deliveries fail meanwhile
			a.start(t)
		}
	}

	// A's own store is the truth: every post it holds must reach B once,
	// and every acknowledged post must be in it.
	countA := func(query string, args ...any) int {
		st, err := store.Open(context.Background(), a.dbURL, a.dir)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var v int
		if err := st.SQL().QueryRow(query, args...).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	waitLong(t, "A's outbox to drain", drain, func() bool { return countA(`SELECT COUNT(*) FROM outbox`) == 0 })
	waitLong(t, "B's outbox to drain", drain, func() bool { return b.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	waitLong(t, "A's inbox to drain", drain, func() bool { return countA(`SELECT COUNT(*) FROM inbox`) == 0 })
	settled := time.Since(start)
	a.stop(t) // gracefully, to read its store

	st, err := store.Open(context.Background(), a.dbURL, a.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	q := func(query string, args ...any) int {
		var v int
		if err := st.SQL().QueryRow(query, args...).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	inRows, inDistinct := q(`SELECT COUNT(*) FROM posts WHERE author = ?`, bob), q(`SELECT COUNT(DISTINCT guid) FROM posts WHERE author = ?`, bob)
	if inRows != nIn {
		t.Errorf("A holds %d of bob's %d posts", inRows, nIn)
	}
	if inDistinct != nIn {
		t.Errorf("A holds %d distinct posts of bob, want %d", inDistinct, nIn)
	}
	mine := map[string]bool{}
	rows, err := st.SQL().Query(`SELECT guid FROM posts WHERE author = ?`, alice)
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
	lost := 0
	for g := range acked {
		if !mine[g] {
			lost++
			t.Errorf("acknowledged post %s lost by A", g)
		}
	}
	notOnce := 0
	for g := range mine {
		if got := b.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, g); got != 1 {
			notOnce++
			t.Errorf("alice's post %s is on B %d times", g, got)
		}
	}
	onB := b.count(t, `SELECT COUNT(*) FROM posts WHERE author = ?`, alice)
	if onB != len(mine) {
		t.Errorf("B holds %d posts of alice, A holds %d", onB, len(mine))
	}
	if got := q(`SELECT COUNT(*) FROM outbox`); got != 0 {
		t.Errorf("A's outbox holds %d deliveries", got)
	}
	if got := q(`SELECT COUNT(*) FROM inbox`); got != 0 {
		t.Errorf("A's inbox holds %d unprocessed or refused bodies", got)
	}
	t.Logf("R10 sender crash: kills=%d deliveries=%d acknowledged=%d posts_on_A=%d lost=%d on_B=%d not_exactly_once_on_B=%d",
		outKills, nOut, len(acked), len(mine), lost, onB, notOnce)
	t.Logf("R8 receive crash: kills=%d messages=%d stored_on_A=%d distinct=%d duplicates=%d missing=%d incoming_phase=%v total_until_settled=%v",
		inKills, nIn, inRows, inDistinct, inRows-inDistinct, nIn-inDistinct, time.Since(inStart).Round(time.Millisecond), settled.Round(time.Millisecond))
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
