package pod

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// requirePostgres skips a test that needs PostgreSQL when none is set up,
// and fails it when POD_REQUIRE_POSTGRES says one must be (.ci/run).
func requirePostgres(t *testing.T) {
	t.Helper()
	if os.Getenv("POD_TEST_POSTGRES") != "" {
		return
	}
	if os.Getenv("POD_REQUIRE_POSTGRES") != "" {
		t.Fatal("POD_REQUIRE_POSTGRES is set but POD_TEST_POSTGRES names no database")
	}
	t.Skip("needs PostgreSQL: install Debian's postgresql package and set POD_TEST_POSTGRES (scripts/pg-test-server prints a URL)")
}

// TestMultiProcess runs one pod as one web and two worker processes on
// one PostgreSQL database: received public bodies and outgoing posts to
// a peer, with one worker killed with SIGKILL and restarted while each
// burst is worked. Every acknowledged body is applied, every post reaches
// the peer, each exactly once in effect, and no queue row is left.
// POD_MP_IN and POD_MP_OUT size the bursts (1,000 and 200; the issue's
// 10,000 and 1,000 in scripts/reliability-long).
func TestMultiProcess(t *testing.T) {
	requirePostgres(t)
	nIn, nOut := envInt("POD_MP_IN", 1000), envInt("POD_MP_OUT", 200)
	tmp := t.TempDir()
	bin := podtest.BuildBinary(t, tmp)
	logf, err := os.Create(filepath.Join(tmp, "pods.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	db := testDB(t)
	webAddr := freeAddr(t)
	public := "http://" + webAddr + "/"
	web := &subPod{bin: bin, dir: filepath.Join(tmp, "web"), dbURL: db, addr: webAddr, log: logf,
		flags: []string{"--role", "web", "--receive-per-addr", "256", "--receive-mib-per-minute", "1000000"}}
	web.run(t, "user", "add", "alice")
	var workers []*subPod
	for i := range 2 {
		w := &subPod{bin: bin, dir: filepath.Join(tmp, fmt.Sprint("worker", i)), dbURL: db, addr: freeAddr(t), log: logf,
			flags: []string{"--role", "worker", "--url", public}, ready: "healthz"}
		workers = append(workers, w)
	}
	for _, p := range append([]*subPod{web}, workers...) {
		p.start(t)
		defer p.stop(t)
	}
	defer func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 48<<10 {
				b = b[len(b)-48<<10:]
			}
			t.Logf("pods' log (end):\n%s", b)
		}
	}()
	st, err := store.Open(context.Background(), db, "")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	count := func(q string, args ...any) int {
		var n int
		if err := st.SQL().QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(`SELECT COUNT(*) FROM users`); n != 1 {
		t.Fatalf("%d users in the shared database", n)
	}

	api := &testPod{URL: public}
	var login struct{ Token, ID string }
	api.call(t, "POST", "/api/session", "", map[string]string{"username": "alice", "password": "password-alice"}, http.StatusCreated, &login)
	alice, aliceTok := login.ID, login.Token
	b := startPod(t)
	bob, bobTok := b.user(t, "bob")
	api.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": bob}, http.StatusCreated, nil)
	b.call(t, "POST", "/api/contacts", bobTok, map[string]string{"id": alice}, http.StatusCreated, nil)
	waitFor(t, "both sides to learn the sharing", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1 && count(`SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1
	})

	// Incoming: public posts of remote people the pod knows, from 16
	// concurrent senders; worker 0 is killed when a third is acknowledged.
	cache := st.Cache()
	var senders []remote
	for i := range 4 {
		k := testKey(t, i)
		r := remote{ID: fmt.Sprintf("sender%d@127.0.0.1:9", i), GUID: NewGUID(), Key: k}
		if err := cache.Put(context.Background(), &discovery.Person{ID: r.ID, GUID: r.GUID, PublicKey: &k.PublicKey, PodURL: "http://127.0.0.1:9/"}); err != nil {
			t.Fatal(err)
		}
		senders = append(senders, r)
	}
	bodies := make([][]byte, nIn)
	guids := make([]string, nIn)
	for i := range nIn {
		s := senders[i%len(senders)]
		guids[i] = NewGUID()
		bodies[i] = envelope(t, statusMessage(s.ID, guids[i], fmt.Sprintf("incoming %d", i)), s.ID, s.Key)
	}
	start := time.Now()
	ackedIn := burst(t, nIn, 16, func(i int) bool {
		st, _, _ := postBody(t, nil, public+"receive/public", "application/magic-envelope+xml", bytes.NewReader(bodies[i]))
		return st == http.StatusAccepted
	}, func(acked int) {
		if acked == nIn/3 {
			workers[0].kill9(t)
			t.Logf("incoming: worker 0 killed with %d of %d bodies acknowledged, %d applied", acked, nIn, count(`SELECT COUNT(*) FROM posts WHERE local = 0`))
			workers[0].start(t)
		}
	})
	waitLong(t, "every acknowledged body applied", 3*time.Minute, func() bool {
		return count(`SELECT COUNT(*) FROM inbox`) == 0
	})
	applied := count(`SELECT COUNT(*) FROM posts WHERE local = 0 AND text LIKE 'incoming %'`)
	t.Logf("incoming: %d bodies acknowledged, %d applied, %v", ackedIn, applied, time.Since(start).Round(time.Millisecond))
	if ackedIn != nIn || applied != nIn {
		t.Errorf("%d of %d bodies acknowledged, %d applied; want all, once each", ackedIn, nIn, applied)
	}
	for _, g := range guids {
		if count(`SELECT COUNT(*) FROM posts WHERE guid = ?`, g) != 1 {
			t.Fatalf("an acknowledged body %s is not applied", g)
		}
	}

	// Outgoing: alice's posts through the web process, each retried until
	// acknowledged; worker 1 is killed when half are.
	start = time.Now()
	var mu sync.Mutex
	posted := map[string]bool{}
	burst(t, nOut, 16, func(i int) bool {
		var post store.PostView
		if !apiTry(public, "/api/posts", aliceTok, map[string]any{"text": fmt.Sprintf("outgoing %d", i)}, &post) {
			return false
		}
		mu.Lock()
		posted[post.GUID] = true
		mu.Unlock()
		return true
	}, func(acked int) {
		if acked == nOut/2 {
			workers[1].kill9(t)
			t.Logf("outgoing: worker 1 killed with %d of %d posts acknowledged", acked, nOut)
			workers[1].start(t)
		}
	})
	waitLong(t, "every post on B", 3*time.Minute, func() bool {
		return b.count(t, `SELECT COUNT(*) FROM posts WHERE author = ?`, alice) == nOut
	})
	waitLong(t, "the outbox to drain", time.Minute, func() bool { return count(`SELECT COUNT(*) FROM outbox`) == 0 })
	t.Logf("outgoing: %d posts acknowledged, all on B after %v", len(posted), time.Since(start).Round(time.Millisecond))
	if len(posted) != nOut {
		t.Errorf("%d distinct posts acknowledged, want %d", len(posted), nOut)
	}
	for g := range posted {
		if b.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, g) != 1 {
			t.Fatalf("post %s is not on B exactly once", g)
		}
	}
	if n := count(`SELECT COUNT(*) FROM inbox`) + count(`SELECT COUNT(*) FROM outbox`) + count(`SELECT COUNT(*) FROM outbox_bodies`); n != 0 {
		t.Errorf("%d queue rows left behind", n)
	}
}

// burst runs send(i) for i in [0, n) on c goroutines, retrying each until
// it succeeds, and calls after(acked) on the test's goroutine after each
// success; it returns the successes.
func burst(t *testing.T, n, c int, send func(i int) bool, after func(acked int)) int {
	t.Helper()
	jobs := make(chan int, n)
	for i := range n {
		jobs <- i
	}
	close(jobs)
	done := make(chan struct{}, n)
	var wg sync.WaitGroup
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				for deadline := time.Now().Add(2 * time.Minute); !send(i); {
					if time.Now().After(deadline) {
						return
					}
					time.Sleep(20 * time.Millisecond)
				}
				done <- struct{}{}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()
	acked := 0
	for range done {
		acked++
		after(acked)
	}
	return acked
}
