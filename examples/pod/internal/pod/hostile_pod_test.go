package pod

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/internal/harness/hostile"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// The pod's cases of the hostile-input corpus (testdata/hostile/PD-*).
// Their metadata lives in testdata/hostile/PD-*/meta.json with pod entry
// points; internal/harness/hostile replays the other cases through the SDK and
// leaves these to this test.

type (
	podMeta    = hostile.Meta
	podVariant = hostile.Variant
)

func loadPodCorpus(t *testing.T) []podMeta {
	return hostile.Load(t, func(id string) bool { return strings.HasPrefix(id, "PD-") })
}

// podCase runs the variants of one case against pods it sets up; its
// variants map has one function per variant name of the metadata.
type podCase func(t *testing.T) map[string]func(t *testing.T, v podVariant)

var podCases = map[string]podCase{
	"PD-01": casePD01,
	"PD-02": casePD02,
	"PD-03": casePD03,
	"PD-04": casePD04,
	"PD-05": casePD05,
}

// TestHostilePod replays the PD-* cases through running pods on loopback
// and checks the ∅ oracle of testdata/hostile/README.md for each.
func TestHostilePod(t *testing.T) {
	corpus := loadPodCorpus(t)
	if len(corpus) != len(podCases) {
		t.Fatalf("%d PD cases in testdata, %d in the test", len(corpus), len(podCases))
	}
	var positives, negatives int
	for _, m := range corpus {
		t.Run(m.ID, func(t *testing.T) {
			setup, ok := podCases[m.ID]
			if !ok {
				t.Fatalf("no replay for %s", m.ID)
			}
			t.Parallel()
			runners := setup(t)
			seen := map[string]bool{}
			for _, v := range m.Variants {
				seen[v.Name] = true
				if v.Positive {
					positives++
				} else {
					negatives++
				}
				run, ok := runners[v.Name]
				if !ok {
					t.Errorf("variant %s has no replay", v.Name)
					continue
				}
				t.Run(v.Name, func(t *testing.T) { run(t, v) })
			}
			for name := range runners {
				if !seen[name] {
					t.Errorf("replay %s has no variant in meta.json", name)
				}
			}
		})
	}
	t.Cleanup(func() {
		if positives == 0 || negatives == 0 {
			t.Errorf("%d positive and %d negative variants; both kinds are needed", positives, negatives)
		}
	})
}

// --- PD-01 http-limits ---

// unsized hides the length of a reader so that the client sends it chunked.
type unsized struct{ io.Reader }

func casePD01(t *testing.T) map[string]func(*testing.T, podVariant) {
	tp := startHostilePod(t, nil, nil, true)
	canary := newCanary(t)
	_, err := tp.AddUser(context.Background(), "alice", "password-alice")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := tp.store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	sender := plantRemote(t, tp.Pod, "rita", "http://"+canary.addr()+"/", 0)
	over := bytes.Repeat([]byte("a"), magicenv.DefaultMaxSize+1)
	overCap := func(path, contentType string, body func() io.Reader) func(*testing.T, podVariant) {
		return func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			st, _, _ := postBody(t, nil, tp.URL+path, contentType, body())
			if st != v.ExpectStatus {
				t.Errorf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.nothingProcessed(t, before, nil)
			canary.check(t)
		}
	}
	// slowServer serves the pod's handler with the pod's own server
	// settings except for one shortened timeout.
	slowServer := func(t *testing.T, shorten func(*http.Server)) string {
		srv := NewServer(tp.Handler(), tp.log)
		shorten(srv)
		return startServer(t, srv)
	}
	return map[string]func(*testing.T, podVariant){
		"body_over_cap_public": overCap("receive/public", magicenv.ContentType, func() io.Reader { return bytes.NewReader(over) }),
		"body_over_cap_public_chunked": overCap("receive/public", magicenv.ContentType,
			func() io.Reader { return unsized{bytes.NewReader(over)} }),
		"body_over_cap_private": overCap("receive/users/"+alice.GUID, magicenv.EncryptedContentType,
			func() io.Reader { return bytes.NewReader(over) }),
		"body_over_cap_legacy_form": overCap("receive/public", salmon.FormContentType,
			func() io.Reader { return io.MultiReader(strings.NewReader("xml="), bytes.NewReader(over)) }),
		"header_20KiB": func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			req, _ := http.NewRequest("POST", tp.URL+"receive/public", strings.NewReader("x"))
			req.Header.Set("X-Pad", strings.Repeat("p", 20<<10))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != v.ExpectStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, v.ExpectStatus)
			}
			tp.nothingProcessed(t, before, nil)
		},
		"server_limits": func(t *testing.T, v podVariant) {
			srv := NewServer(http.NotFoundHandler(), tp.log)
			if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 30*time.Second || srv.WriteTimeout != 30*time.Second ||
				srv.IdleTimeout != 60*time.Second || srv.MaxHeaderBytes != 16<<10 {
				t.Errorf("server limits: header %v, read %v, write %v, idle %v, max header %d; want 5s, 30s, 30s, 1m, 16 KiB",
					srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes)
			}
		},
		"slow_header": func(t *testing.T, v podVariant) {
			host := slowServer(t, func(s *http.Server) { s.ReadHeaderTimeout = 300 * time.Millisecond })
			before := tp.snapshot(t)
			start := time.Now() // before the server's clock starts (at accept)
			conn := rawDial(t, host)
			closed := make(chan time.Duration, 1)
			go func() {
				io.Copy(io.Discard, conn) // returns when the server closes
				closed <- time.Since(start)
			}()
			head := "POST /receive/public HTTP/1.1\r\nHost: pod\r\nContent-Type: " + magicenv.ContentType + "\r\nX-Slow: "
			var took time.Duration
		trickle:
			for i := 0; ; i++ {
				if i < len(head) {
					conn.Write([]byte{head[i]})
				} else {
					conn.Write([]byte{'z'})
				}
				select {
				case took = <-closed:
					break trickle
				case <-time.After(50 * time.Millisecond):
				}
				if time.Since(start) > 10*time.Second {
					t.Fatal("the server still reads a header sent at 20 bytes/s after 10 s")
				}
			}
			if took < 300*time.Millisecond {
				t.Errorf("closed after %v, before the header timeout", took)
			}
			t.Logf("slow header cut after %v (ReadHeaderTimeout 300ms)", took.Round(time.Millisecond))
			tp.nothingProcessed(t, before, nil)
		},
		"endless_chunked_body": func(t *testing.T, v podVariant) {
			host := slowServer(t, func(s *http.Server) { s.ReadTimeout = 500 * time.Millisecond })
			before := tp.snapshot(t)
			conn := rawDial(t, host)
			fmt.Fprintf(conn, "POST /receive/public HTTP/1.1\r\nHost: pod\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n", magicenv.ContentType)
			start := time.Now()
			answered := make(chan string, 1)
			go func() {
				line, _ := bufio.NewReader(conn).ReadString('\n')
				answered <- line
			}()
			var line string
		send:
			for {
				if _, err := fmt.Fprintf(conn, "10\r\n%s\r\n", strings.Repeat("b", 16)); err != nil {
					line = <-answered
					break
				}
				select {
				case line = <-answered:
					break send
				case <-time.After(50 * time.Millisecond):
				}
				if time.Since(start) > 10*time.Second {
					t.Fatal("the server still reads an endless body after 10 s")
				}
			}
			t.Logf("endless body cut after %v with %q", time.Since(start).Round(time.Millisecond), strings.TrimSpace(line))
			if strings.Contains(line, " 202 ") {
				t.Errorf("an unfinished body was accepted: %q", line)
			}
			tp.nothingProcessed(t, before, nil)
		},
		"control_small_body": func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			body := envelope(t, statusMessage(sender.ID, NewGUID(), "small and valid"), sender.ID, sender.Key)
			if st := postEnvelope(t, tp.testPod, body); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.waitInboxSettled(t)
			tp.nothingProcessed(t, before, map[string]int{"posts": 1})
		},
	}
}

// startServer serves srv on a loopback port until the test ends.
func startServer(t *testing.T, srv *http.Server) string {
	t.Helper()
	ln := newListener(t)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// --- PD-02 endpoint-uniformity ---

func casePD02(t *testing.T) map[string]func(*testing.T, podVariant) {
	bobsPod := newFakePod(t)
	canary := newCanary(t)
	tp := startHostilePod(t, nil, nil, true)
	ctx := context.Background()
	if _, err := tp.AddUser(ctx, "alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	alice, err := tp.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// A limited post needs someone in the aspect: a remote contact.
	bob := plantRemote(t, tp.Pod, "bob", bobsPod.URL, 1)
	bobsPod.handle("/receive/users/"+bob.GUID, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	if _, err := tp.store.SQL().Exec(`INSERT INTO contacts (username, person_id, receiving) VALUES ('alice', ?, 1)`, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.store.SQL().Exec(`INSERT INTO aspect_memberships (aspect_id, username, person_id) VALUES
		((SELECT id FROM aspects WHERE username = 'alice' AND name = 'Family'), 'alice', ?)`, bob.ID); err != nil {
		t.Fatal(err)
	}
	f := false
	private, err := tp.CreatePost(ctx, alice, PostInput{Text: "family only", Public: &f, Aspects: []string{"Family"}})
	if err != nil {
		t.Fatal(err)
	}
	public, err := tp.CreatePost(ctx, alice, PostInput{Text: "for everyone"})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the deliveries of the posts", func() bool { return tp.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	missing := NewGUID()
	var refBody []byte
	var refType string
	fetch := func(path string) (int, string, []byte) {
		resp, err := http.Get(strings.TrimSuffix(tp.URL, "/") + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), b
	}
	refSt, refType, refBody := fetch("/fetch/post/" + missing)
	if refSt != http.StatusNotFound {
		t.Fatalf("reference fetch = %d", refSt)
	}
	fetchCase := func(t *testing.T, v podVariant) {
		path := strings.NewReplacer("{{PRIVATE_GUID}}", private.GUID, "{{MISSING_GUID}}", missing, "{{PUBLIC_GUID}}", public.GUID).Replace(v.Path)
		before := tp.snapshot(t)
		st, ct, body := fetch(path)
		if st != v.ExpectStatus {
			t.Errorf("GET %s = %d, want %d", path, st, v.ExpectStatus)
		}
		if st >= 500 {
			t.Errorf("GET %s = %d: a fetch must never fail with 5xx", path, st)
		}
		if !v.Positive && (ct != refType || !bytes.Equal(body, refBody)) {
			t.Errorf("GET %s answered %q %q; a missing post answers %q %q", path, ct, body, refType, refBody)
		}
		if v.Positive {
			if _, err := magicenv.Parse(body, nil); err != nil {
				t.Errorf("GET %s: %v", path, err)
			}
		}
		tp.nothingProcessed(t, before, nil)
		canary.check(t)
	}
	runs := map[string]func(*testing.T, podVariant){
		"private_unknown_guid_unread_body": func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			conn := rawDial(t, tp.Host)
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "POST /receive/users/%s HTTP/1.1\r\nHost: pod\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n0123456789",
				NewGUID(), magicenv.EncryptedContentType, 100<<20)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while 100 MiB are announced and 10 bytes sent: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != v.ExpectStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, v.ExpectStatus)
			}
			tp.nothingProcessed(t, before, nil)
		},
		"private_known_guid_garbage": func(t *testing.T, v podVariant) {
			body := hostile.ReadFile(t, "PD-02", v.File)
			before := tp.snapshot(t)
			st, _, answer := postBody(t, nil, tp.URL+"receive/users/"+alice.GUID, magicenv.EncryptedContentType, bytes.NewReader(body))
			if st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			if string(answer) != "Accepted\n" {
				t.Errorf("answer %q", answer)
			}
			tp.waitInboxSettled(t)
			var cat string
			if err := tp.store.SQL().QueryRow(`SELECT category FROM inbox_rejected ORDER BY id DESC LIMIT 1`).Scan(&cat); err != nil {
				t.Fatal(err)
			}
			if cat != v.ExpectCategory {
				t.Errorf("dead inbox row category %q, want %q", cat, v.ExpectCategory)
			}
			tp.nothingProcessed(t, before, map[string]int{"inbox_rejected": 1}) // its hash and first bytes kept for the podmin
		},
	}
	for _, name := range []string{"fetch_private_post", "fetch_private_status_message", "fetch_missing_post", "fetch_type_traversal",
		"fetch_guid_traversal", "fetch_unknown_type", "fetch_unknown_type_long_guid", "control_fetch_public_post"} {
		runs[name] = fetchCase
	}
	return runs
}

// --- PD-03 fetched-origin ---

// fetchOutcome posts a reshare of an unknown root to the pod, checks the
// sentinel of the pod's fetch for it (pod.fetchMissing, called directly)
// and waits until the inbox worker has given up on it.
func fetchOutcome(t *testing.T, tp *hostilePod, v podVariant, body []byte, sentinel error) {
	t.Helper()
	ctx := context.Background()
	in := &salmon.Incoming{Route: salmon.RoutePublic, Format: salmon.FormatMagicEnvelope, ContentType: magicenv.ContentType, Body: body}
	_, err := tp.receiver.Receive(ctx, in)
	var lerr *salmon.LookupError
	if !errors.Is(err, salmon.ErrRelatedNotFound) || !errors.As(err, &lerr) {
		t.Fatalf("receive before the fetch: %v, want an unknown root", err)
	}
	ferr := tp.fetchMissing(ctx, &store.InboxItem{Route: salmon.RoutePublic, Body: body}, lerr)
	switch {
	case v.Positive && ferr != nil:
		t.Fatalf("fetch: %v", ferr)
	case !v.Positive && ferr == nil:
		t.Fatal("fetch succeeded")
	case sentinel != nil && !errors.Is(ferr, sentinel):
		t.Errorf("fetch: %v, want %v", ferr, sentinel)
	case v.ExpectCategory != "" && salmon.Category(ferr) != v.ExpectCategory:
		t.Errorf("fetch: category %q (%v), want %q", salmon.Category(ferr), ferr, v.ExpectCategory)
	}
	t.Logf("fetch: %v", ferr)
}

func casePD03(t *testing.T) map[string]func(*testing.T, podVariant) {
	fp := newFakePod(t) // before the pod: cleanups run the other way round
	canary := newCanary(t)
	tp := startHostilePod(t, nil, nil, true)
	r := plantRemote(t, tp.Pod, "rosa", fp.URL, 0)
	m := plantRemote(t, tp.Pod, "mallory", fp.URL, 1)
	variant := func(serve func(g string) []byte, sentinel error) func(*testing.T, podVariant) {
		return func(t *testing.T, v podVariant) {
			g := NewGUID()
			fp.handle("/fetch/post/"+g, serveBody(serve(g)))
			body := envelope(t, reshare(r.ID, NewGUID(), r.ID, g), r.ID, r.Key)
			before := tp.snapshot(t)
			if v.Positive {
				// End to end only: the worker fetches the root and
				// stores it with the reshare.
				if st := postEnvelope(t, tp.testPod, body); st != v.ExpectStatus {
					t.Fatalf("status %d, want %d", st, v.ExpectStatus)
				}
				tp.waitInboxSettled(t)
				if n := tp.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ? AND author = ?`, g, r.ID); n != 1 {
					t.Errorf("root stored %d times", n)
				}
				tp.nothingProcessed(t, before, map[string]int{"posts": 2})
				return
			}
			fetchOutcome(t, tp, v, body, sentinel)
			if st := postEnvelope(t, tp.testPod, body); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.waitInboxSettled(t)
			tp.nothingProcessed(t, before, map[string]int{"inbox_rejected": 1})
			canary.check(t)
		}
	}
	return map[string]func(*testing.T, podVariant){
		"root_other_guid": variant(func(g string) []byte {
			return envelope(t, statusMessage(r.ID, NewGUID(), "not the root"), r.ID, r.Key)
		}, salmon.ErrOriginMismatch),
		"root_other_type": variant(func(g string) []byte {
			return envelope(t, &entities.Profile{Author: r.ID, FirstName: "Rosa", Public: true, Searchable: true}, r.ID, r.Key)
		}, salmon.ErrOriginMismatch),
		"root_other_author": variant(func(g string) []byte {
			return envelope(t, statusMessage(m.ID, g, "mallory's words"), m.ID, m.Key)
		}, salmon.ErrOriginMismatch),
		"root_signed_by_other_key": variant(func(g string) []byte {
			return envelope(t, statusMessage(r.ID, g, "forged"), r.ID, m.Key)
		}, magicenv.ErrInvalidSignature),
		"control_root_by_author": variant(func(g string) []byte {
			return envelope(t, statusMessage(r.ID, g, "the real root"), r.ID, r.Key)
		}, nil),
	}
}

// --- PD-04 loops-and-amplification ---

func casePD04(t *testing.T) map[string]func(*testing.T, podVariant) {
	p1, p2 := newFakePod(t), newFakePod(t)
	canary := newCanary(t)
	tp := startHostilePod(t, nil, nil, true)
	r1 := plantRemote(t, tp.Pod, "una", p1.URL, 0)
	r2 := plantRemote(t, tp.Pod, "duo", p2.URL, 1)
	requests := func() int64 { return p1.requests.Load() + p2.requests.Load() }
	// fetchCase checks the sentinel and the requests of one fetch task,
	// then the ∅ oracle for the same body through the running pod.
	fetchCase := func(t *testing.T, v podVariant, body []byte, sentinel error, maxRequests int64, errText string) {
		before := tp.snapshot(t)
		n0 := requests()
		fetchOutcome(t, tp, v, body, sentinel)
		n := requests() - n0
		if n > maxRequests {
			t.Errorf("one fetch task made %d requests, want ≤ %d", n, maxRequests)
		}
		t.Logf("one fetch task: %d requests", n)
		if errText != "" {
			in := &salmon.Incoming{Route: salmon.RoutePublic, Format: salmon.FormatMagicEnvelope, Body: body}
			_, err := tp.receiver.Receive(context.Background(), in)
			var lerr *salmon.LookupError
			errors.As(err, &lerr)
			if ferr := tp.fetchMissing(context.Background(), &store.InboxItem{Route: salmon.RoutePublic, Body: body}, lerr); ferr == nil || !strings.Contains(ferr.Error(), errText) {
				t.Errorf("fetch: %v, want %q", ferr, errText)
			}
		}
		if st := postEnvelope(t, tp.testPod, body); st != v.ExpectStatus {
			t.Fatalf("status %d, want %d", st, v.ExpectStatus)
		}
		tp.waitInboxSettled(t)
		tp.nothingProcessed(t, before, map[string]int{"inbox_rejected": 1})
		canary.check(t)
	}
	return map[string]func(*testing.T, podVariant){
		"reshare_root_loop_two_pods": func(t *testing.T, v podVariant) {
			a, b := NewGUID(), NewGUID()
			p1.handle("/fetch/post/"+a, serveBody(envelope(t, reshare(r1.ID, a, r2.ID, b), r1.ID, r1.Key)))
			p2.handle("/fetch/post/"+b, serveBody(envelope(t, reshare(r2.ID, b, r1.ID, a), r2.ID, r2.Key)))
			body := envelope(t, reshare(r1.ID, NewGUID(), r1.ID, a), r1.ID, r1.Key)
			fetchCase(t, v, body, salmon.ErrFetchLoop, 6, "")
		},
		"reshare_root_chain_too_deep": func(t *testing.T, v podVariant) {
			// g[0] by una on pod 1 reshares g[1] by duo on pod 2, ...
			g := []string{NewGUID(), NewGUID(), NewGUID(), NewGUID(), NewGUID()}
			people := []remote{r1, r2}
			pods := []*fakePod{p1, p2}
			for i := 0; i+1 < len(g); i++ {
				by, next := people[i%2], people[(i+1)%2]
				pods[i%2].handle("/fetch/post/"+g[i], serveBody(envelope(t, reshare(by.ID, g[i], next.ID, g[i+1]), by.ID, by.Key)))
			}
			body := envelope(t, reshare(r1.ID, NewGUID(), r1.ID, g[0]), r1.ID, r1.Key)
			fetchCase(t, v, body, salmon.ErrFetchBudget, 3, "")
		},
		"root_redirects_forever": func(t *testing.T, v podVariant) {
			c := NewGUID()
			var hop atomic.Int64
			p1.handle("/fetch/post/"+c, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, fmt.Sprintf("/fetch/post/%s?hop=%d", c, hop.Add(1)), http.StatusFound)
			})
			body := envelope(t, reshare(r1.ID, NewGUID(), r1.ID, c), r1.ID, r1.Key)
			fetchCase(t, v, body, nil, 5, "too many redirects")
		},
		"post_with_1000_diaspora_links": func(t *testing.T, v podVariant) {
			var text strings.Builder
			text.WriteString("links:")
			for i := 0; i < 1000; i++ {
				fmt.Fprintf(&text, " diaspora://x@%s/post/%016x", canary.addr(), i)
			}
			if text.Len() > 65535 {
				t.Fatalf("text of %d characters", text.Len())
			}
			g := NewGUID()
			body := envelope(t, statusMessage(r1.ID, g, text.String()), r1.ID, r1.Key)
			before := tp.snapshot(t)
			n0 := requests()
			if st := postEnvelope(t, tp.testPod, body); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.waitInboxSettled(t)
			if n := tp.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, g); n != 1 {
				t.Errorf("post stored %d times", n)
			}
			if n := requests() - n0; n != 0 {
				t.Errorf("%d fetches for the links", n)
			}
			tp.nothingProcessed(t, before, map[string]int{"posts": 1})
			canary.check(t)
		},
	}
}

// --- PD-05 delivery-hostility ---

func casePD05(t *testing.T) map[string]func(*testing.T, podVariant) {
	canary := newCanary(t)
	peer := func(h http.HandlerFunc) *fakePod {
		f := newFakePod(t)
		f.handle("/receive/public", h)
		return f
	}
	status := func(code int, hdr ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			for i := 0; i+1 < len(hdr); i += 2 {
				w.Header().Set(hdr[i], hdr[i+1])
			}
			w.WriteHeader(code)
		}
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	peers := map[string]*fakePod{
		"peer_301": peer(status(http.StatusMovedPermanently, "Location", "http://"+canary.addr()+"/receive/public")),
		"peer_stalls": peer(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body) // so that the server notices the sender hanging up
			select {
			case <-r.Context().Done():
			case <-stop:
			case <-time.After(5 * time.Second):
			}
		}),
		"peer_410":         peer(status(http.StatusGone)),
		"peer_429":         peer(status(http.StatusTooManyRequests, "Retry-After", "1")),
		"peer_503":         peer(status(http.StatusServiceUnavailable)),
		"control_peer_202": peer(status(http.StatusAccepted)),
	}
	tp := startHostilePod(t, nil, func(p *Pod) {
		// The pod leaves the sender's timeout at salmon.DefaultTimeout
		// (20 s, LIMITS.md R3); a stalling peer is cut after 300 ms here.
		if p.sender.Timeout != 0 || salmon.DefaultTimeout != 20*time.Second {
			t.Errorf("sender timeout %v (default %v), want the 20 s default", p.sender.Timeout, salmon.DefaultTimeout)
		}
		p.sender.Timeout = 300 * time.Millisecond
	}, true)
	if tp.sender.MaxAttempts != 0 {
		t.Fatalf("sender MaxAttempts %d", tp.sender.MaxAttempts)
	}
	ctx := context.Background()
	if _, err := tp.AddUser(ctx, "alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	alice, err := tp.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	hostOf := map[string]string{"peer_private_ip": "10.0.0.1:9"}
	i := 0
	for name, f := range peers {
		hostOf[name] = f.host()
		i++
		plantRemote(t, tp.Pod, fmt.Sprintf("f%d", i), f.URL, i%2)
	}
	// The follower on a private address: a URL with an IP literal in
	// 10.0.0.0/8, refused by the guard before any dial.
	plantRemote(t, tp.Pod, "hidden", "http://10.0.0.1:9/", 0)
	if _, err := tp.store.SQL().Exec(`INSERT INTO contacts (username, person_id, sharing) SELECT 'alice', id, 1 FROM people WHERE local = 0`); err != nil {
		t.Fatal(err)
	}
	post, err := tp.CreatePost(ctx, alice, PostInput{Text: "hello, hostile world"})
	if err != nil {
		t.Fatal(err)
	}
	// One delivery per pod: those still queued, and those the worker
	// already finished (delivered or refused for good: their pod's health
	// counts it and their row is gone), read in one statement so that a
	// delivery finishing meanwhile is counted once.
	if n := tp.count(t, `SELECT (SELECT COUNT(*) FROM outbox) + (SELECT COUNT(*) FROM pods p
		WHERE (p.delivered > 0 OR p.failures > 0) AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.host = p.host))`); n != len(hostOf) {
		t.Fatalf("%d deliveries queued or made for %d pods", n, len(hostOf))
	}
	t.Logf("post %s queued for %d pods", post.GUID, len(hostOf))
	outbox := func(host string) (rows, attempts int) {
		tp.store.SQL().QueryRow(`SELECT COUNT(*), COALESCE(MAX(attempts), 0) FROM outbox WHERE host = ?`, host).Scan(&rows, &attempts)
		return
	}
	health := func(host string) (delivered, failures int, lastErr string) {
		tp.store.SQL().QueryRow(`SELECT delivered, failures, last_error FROM pods WHERE host = ?`, host).Scan(&delivered, &failures, &lastErr)
		return
	}
	retried := func(t *testing.T, v podVariant) {
		host := hostOf[v.Name]
		waitFor(t, v.Name+" retried", func() bool { _, a := outbox(host); return a >= 2 })
		if rows, _ := outbox(host); rows != 1 {
			t.Errorf("%d outbox rows, want 1 (pending)", rows)
		}
		if f := peers[v.Name]; f != nil && f.requests.Load() < 2 {
			t.Errorf("peer got %d requests", f.requests.Load())
		}
		canary.check(t)
	}
	final := func(t *testing.T, v podVariant, want string) {
		host := hostOf[v.Name]
		waitFor(t, v.Name+" final", func() bool { rows, _ := outbox(host); return rows == 0 })
		delivered, failures, lastErr := health(host)
		if v.Positive {
			if delivered != 1 || failures != 0 {
				t.Errorf("health: delivered %d, failures %d, last error %q", delivered, failures, lastErr)
			}
			return
		}
		if delivered != 0 || failures != 1 || !strings.Contains(lastErr, want) {
			t.Errorf("health: delivered %d, failures %d, last error %q; want one failure with %q", delivered, failures, lastErr, want)
		}
		if f := peers[v.Name]; f != nil && f.requests.Load() != 1 {
			t.Errorf("peer got %d requests, want 1", f.requests.Load())
		}
		canary.check(t)
	}
	return map[string]func(*testing.T, podVariant){
		"peer_301":    retried,
		"peer_stalls": retried,
		"peer_429":    retried,
		"peer_503":    retried,
		"peer_410":    func(t *testing.T, v podVariant) { final(t, v, "410") },
		"peer_private_ip": func(t *testing.T, v podVariant) {
			final(t, v, discovery.ErrBlockedAddress.Error())
		},
		"control_peer_202": func(t *testing.T, v podVariant) { final(t, v, "") },
	}
}
