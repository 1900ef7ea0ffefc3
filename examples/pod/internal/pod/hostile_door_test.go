package pod

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

// The pod cases of the attacks on the receive door and on identity:
// PD-06 identity poisoning, PD-07 a tarpit host, PD-08 disk fill, PD-09
// held bodies (metadata in testdata/hostile/PD-0[6-9]/meta.json).

func init() {
	podCases["PD-06"] = casePD06
	podCases["PD-07"] = casePD07
	podCases["PD-08"] = casePD08
	podCases["PD-09"] = casePD09
}

// --- PD-06 identity poisoning ---

// strangerLinkingHCard serves WebFinger for name@its-host with an hCard
// link to hcardURL (another pod's), and returns the stranger's ID.
func strangerLinkingHCard(t *testing.T, name, hcardURL string) (id string, srv *fakePod) {
	t.Helper()
	srv = newFakePod(t)
	id = name + "@" + srv.host()
	srv.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		fmt.Fprintf(w, `{"subject":"acct:%s","links":[{"rel":"http://microformats.org/profile/hcard","type":"text/html","href":%q},`+
			`{"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":%q}]}`, id, hcardURL, srv.URL+"/")
	})
	return id, srv
}

func casePD06(t *testing.T) map[string]func(*testing.T, podVariant) {
	a := startHostilePod(t, nil, nil, true)
	b := startPod(t)
	ctx := context.Background()
	_, aliceTok := a.user(t, "alice")
	vic, vicTok := b.user(t, "vic")
	vicUser, err := b.store.UserByID(ctx, vic)
	if err != nil {
		t.Fatal(err)
	}
	vicHCard := b.URL + "hcard/users/" + vicUser.GUID
	vicHeld := func() string { // the ID A stores vic's GUID under
		var id string
		if err := a.store.SQL().QueryRow(`SELECT id FROM people WHERE guid = ?`, vicUser.GUID).Scan(&id); err != nil {
			return ""
		}
		return id
	}
	return map[string]func(*testing.T, podVariant){
		"hcard_on_other_pod": func(t *testing.T, v podVariant) {
			evil, _ := strangerLinkingHCard(t, "evil", vicHCard)
			before := a.snapshot(t)
			body := envelope(t, statusMessage(evil, NewGUID(), "I am vic now"), evil, testKey(t, 3))
			if st := postEnvelope(t, a.testPod, body); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			waitFor(t, "A to refuse the body", func() bool { return a.count(t, `SELECT COUNT(*) FROM inbox`) == 0 })
			if id := vicHeld(); id != "" {
				t.Fatalf("A stores vic's GUID under %q", id)
			}
			a.nothingProcessed(t, before, map[string]int{"inbox_rejected": 1})
		},
		"poisoned_store_repaired": func(t *testing.T, v podVariant) {
			// What the old code stored for such a stranger: vic's GUID and
			// key under the stranger's ID.
			evil, _ := strangerLinkingHCard(t, "evil2", vicHCard)
			pem, err := magicenv.MarshalPublicKey(&vicUser.Key.PublicKey)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := a.store.SQL().Exec(`INSERT INTO people (id, guid, pod_url, public_key, local, discovered_at) VALUES (?, ?, ?, ?, 0, ?)`,
				evil, vicUser.GUID, "http://"+strings.SplitN(evil, "@", 2)[1]+"/", string(pem), time.Now().UnixMilli()); err != nil {
				t.Fatal(err)
			}
			var c store.ContactView
			a.call(t, "POST", "/api/contacts", aliceTok, map[string]any{"id": vic}, v.ExpectStatus, &c)
			if c.ID != vic || c.GUID != vicUser.GUID {
				t.Errorf("shared with %+v, want vic", c)
			}
			if id := vicHeld(); id != vic {
				t.Errorf("vic's GUID is held by %q after the repair, want %s", id, vic)
			}
		},
		"control_vic_heard": func(t *testing.T, v podVariant) {
			// alice shares with vic (the repair above): B sends vic's
			// public posts to A once it has learned that.
			waitFor(t, "B to learn that alice shares with vic", func() bool {
				return b.count(t, `SELECT COUNT(*) FROM contacts WHERE username = 'vic' AND sharing = 1`) == 1
			})
			refused := a.count(t, `SELECT COUNT(*) FROM inbox_rejected`)
			var post store.PostView
			b.call(t, "POST", "/api/posts", vicTok, map[string]any{"text": "the real vic"}, http.StatusCreated, &post)
			waitFor(t, "vic's post on A", func() bool { return a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, post.GUID) == 1 })
			if n := a.count(t, `SELECT COUNT(*) FROM inbox_rejected`) - refused; n != 0 {
				t.Errorf("%d of vic's bodies refused", n)
			}
		},
	}
}

// --- PD-07 tarpit ---

// tarpit accepts connections and never answers; it counts them.
type tarpit struct {
	ln        net.Listener
	open, max atomic.Int64
	total     atomic.Int64
	mu        sync.Mutex
	conns     []net.Conn
}

func newTarpit(t *testing.T) *tarpit {
	tp := &tarpit{ln: newListener(t)}
	go func() {
		for {
			c, err := tp.ln.Accept()
			if err != nil {
				return
			}
			tp.total.Add(1)
			n := tp.open.Add(1)
			for m := tp.max.Load(); n > m && !tp.max.CompareAndSwap(m, n); m = tp.max.Load() {
			}
			tp.mu.Lock()
			tp.conns = append(tp.conns, c)
			tp.mu.Unlock()
			go func() {
				io.Copy(io.Discard, c) // until the client gives up
				tp.open.Add(-1)
			}()
		}
	}()
	t.Cleanup(func() {
		tp.ln.Close()
		tp.mu.Lock()
		for _, c := range tp.conns {
			c.Close()
		}
		tp.mu.Unlock()
	})
	return tp
}

func casePD07(t *testing.T) map[string]func(*testing.T, podVariant) {
	a := startHostilePod(t, nil, nil, true)
	c := startPod(t)
	pit := newTarpit(t)
	pitHost := pit.ln.Addr().String()
	var tarpitBodies []string
	return map[string]func(*testing.T, podVariant){
		"tarpit_senders_wait": func(t *testing.T, v podVariant) {
			for i := range 6 {
				guid := NewGUID()
				tarpitBodies = append(tarpitBodies, guid)
				author := fmt.Sprintf("t%d@%s", i, pitHost)
				if st := postEnvelope(t, a.testPod, envelope(t, statusMessage(author, guid, "hello from the tarpit"), author, testKey(t, 4))); st != v.ExpectStatus {
					t.Fatalf("status %d, want %d", st, v.ExpectStatus)
				}
			}
			waitFor(t, "the tarpit to be dialled", func() bool { return pit.total.Load() > 0 })
		},
		"control_healthy_sender_applied": func(t *testing.T, v podVariant) {
			// carol is on a healthy pod that A does not know yet: her key
			// needs a lookup too.
			carol, carolTok := c.user(t, "carol")
			var post store.PostView
			c.call(t, "POST", "/api/posts", carolTok, map[string]any{"text": "a healthy post"}, http.StatusCreated, &post)
			stored, err := c.store.SQL().Query(`SELECT payload FROM posts WHERE guid = ?`, post.GUID)
			if err != nil {
				t.Fatal(err)
			}
			var payload []byte
			for stored.Next() {
				stored.Scan(&payload)
			}
			stored.Close()
			u, _ := c.store.UserByID(context.Background(), carol)
			env, err := magicenv.Sign(payload, carol, u.Key, nil)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if st := postEnvelope(t, a.testPod, env.Marshal()); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			deadline := start.Add(5 * time.Second)
			for a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, post.GUID) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the healthy post was not applied within 5 s behind the tarpit")
				}
				time.Sleep(20 * time.Millisecond)
			}
			t.Logf("healthy post applied %v after its 202; tarpit connections: %d in all, at most %d at once",
				time.Since(start).Round(time.Millisecond), pit.total.Load(), pit.max.Load())
			if m := pit.max.Load(); m > lookupsPerHost {
				t.Errorf("the tarpit held %d connections at once, want at most %d", m, lookupsPerHost)
			}
			for _, g := range tarpitBodies {
				if a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, g) != 0 {
					t.Errorf("a tarpit body was applied")
				}
			}
			if n := a.count(t, `SELECT COUNT(*) FROM inbox WHERE state = 'pending'`); n != len(tarpitBodies) {
				t.Errorf("%d bodies pending, want the %d tarpit bodies waiting", n, len(tarpitBodies))
			}
		},
	}
}

// --- PD-08 disk fill ---

// dirSize adds up the sizes of the files under dir.
func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func casePD08(t *testing.T) map[string]func(*testing.T, podVariant) {
	a := startHostilePod(t, nil, nil, true)
	sender := plantRemote(t, a.Pod, "rita", "http://127.0.0.1:9/", 5)
	junk := append([]byte(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env">`), bytes.Repeat([]byte("A"), magicenv.DefaultMaxSize-100)...)
	var statuses map[int]int
	var retryAfter string
	return map[string]func(*testing.T, podVariant){
		"control_valid_envelope_stored": func(t *testing.T, v podVariant) {
			guid := NewGUID()
			if st := postEnvelope(t, a.testPod, envelope(t, statusMessage(sender.ID, guid, "a real post"), sender.ID, sender.Key)); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			waitFor(t, "the valid post", func() bool { return a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, guid) == 1 })
		},
		"junk_envelope_starts": func(t *testing.T, v podVariant) {
			a.waitInboxSettled(t)
			dir := a.cfg.DataDir
			before := dirSize(t, dir)
			snap := a.snapshot(t)
			statuses = map[int]int{}
			for range 600 {
				st, ra, _ := postBody(t, nil, a.URL+"receive/public", magicenv.ContentType, bytes.NewReader(junk))
				statuses[st]++
				if st == http.StatusTooManyRequests && retryAfter == "" {
					retryAfter = ra
				}
			}
			time.Sleep(2 * store.CheckpointInterval) // let the checkpointer run
			after := dirSize(t, dir)
			t.Logf("600 junk bodies of %d KiB: statuses %v; data directory %d KiB before, %d KiB after", len(junk)>>10, statuses, before>>10, after>>10)
			if statuses[v.ExpectStatus] == 0 || statuses[http.StatusAccepted]+statuses[http.StatusTooManyRequests] != 600 {
				t.Errorf("statuses %v, want 202 until the address's budget is spent, then 429", statuses)
			}
			if after-before > 4<<20 {
				t.Errorf("the data directory grew by %d KiB, want at most 4 MiB", (after-before)>>10)
			}
			a.nothingProcessed(t, snap, nil)
		},
		"address_budget_spent": func(t *testing.T, v podVariant) {
			if statuses[v.ExpectStatus] < 400 {
				t.Errorf("%d answers 429 of 600, want most of them once 64 MiB were sent", statuses[v.ExpectStatus])
			}
			if retryAfter == "" || retryAfter == "0" {
				t.Errorf("429 without a Retry-After (%q)", retryAfter)
			}
		},
	}
}

// --- PD-09 held bodies ---

func casePD09(t *testing.T) map[string]func(*testing.T, podVariant) {
	a := startHostilePod(t, nil, nil, true)
	sender := plantRemote(t, a.Pod, "rosa", "http://127.0.0.1:9/", 6)
	var held []net.Conn
	return map[string]func(*testing.T, podVariant){
		"slow_bodies_one_address": func(t *testing.T, v podVariant) {
			perAddr := a.cfg.MaxReceivingPerAddr
			refused := 0
			for i := range perAddr + 12 {
				c, err := net.Dial("tcp", a.Host)
				if err != nil {
					t.Fatal(err)
				}
				held = append(held, c)
				fmt.Fprintf(c, "POST /receive/public HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n<me:env", a.Host, magicenv.ContentType, 1<<20)
				if i < perAddr {
					// Wait until the pod is reading this body, so that the
					// next request finds it in flight.
					waitFor(t, "the pod to hold the body", func() bool {
						a.limits.mu.Lock()
						defer a.limits.mu.Unlock()
						return a.limits.inFlight == i+1
					})
					continue
				}
				c.SetReadDeadline(time.Now().Add(2 * time.Second))
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatalf("request %d: no answer within 2 s: %v", i+1, err)
				}
				resp.Body.Close()
				if resp.StatusCode != v.ExpectStatus || resp.Header.Get("Retry-After") == "" {
					t.Errorf("request %d = %d (Retry-After %q), want %d with Retry-After", i+1, resp.StatusCode, resp.Header.Get("Retry-After"), v.ExpectStatus)
				}
				refused++
			}
			if refused != 12 {
				t.Errorf("%d requests refused, want 12", refused)
			}
		},
		"control_after_release": func(t *testing.T, v podVariant) {
			for _, c := range held {
				c.Close()
			}
			waitFor(t, "the held requests to end", func() bool {
				a.limits.mu.Lock()
				defer a.limits.mu.Unlock()
				return a.limits.inFlight == 0
			})
			guid := NewGUID()
			if st := postEnvelope(t, a.testPod, envelope(t, statusMessage(sender.ID, guid, "after the storm"), sender.ID, sender.Key)); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			waitFor(t, "the post", func() bool { return a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, guid) == 1 })
		},
	}
}

// TestReceiveLimitsInAll: past MaxReceiving bodies in flight in all the
// receive routes answer 503, past the per-address cap 429, past the
// address's bytes per minute 429 until the budget refills.
func TestReceiveLimitsInAll(t *testing.T) {
	l := &receiveLimits{maxInFlight: 3, maxPerAddr: 2, bytesPerMinute: 1000}
	if st, _ := l.enter("a", 10); st != 0 {
		t.Fatal(st)
	}
	if st, _ := l.enter("a", 10); st != 0 {
		t.Fatal(st)
	}
	if st, ra := l.enter("a", 10); st != http.StatusTooManyRequests || ra <= 0 {
		t.Errorf("third from a = %d %v, want 429", st, ra)
	}
	if st, _ := l.enter("b", 10); st != 0 {
		t.Fatal(st)
	}
	if st, _ := l.enter("c", 10); st != http.StatusServiceUnavailable {
		t.Errorf("fourth in all = %d, want 503", st)
	}
	l.leave("a", 600)
	l.leave("a", 300)
	l.leave("b", 10)
	if st, ra := l.enter("a", 200); st != http.StatusTooManyRequests || ra < time.Second {
		t.Errorf("a after 900 of 1000 bytes, asking 200 = %d %v, want 429 with a wait", st, ra)
	}
	if st, _ := l.enter("a", 50); st != 0 {
		t.Errorf("a asking 50 of its last 100 = %d, want admitted", st)
	}
	l.leave("a", 150) // a chunked body longer than announced
	if st, _ := l.enter("a", -1); st != http.StatusTooManyRequests {
		t.Errorf("a with its budget spent = %d, want 429", st)
	}
}
