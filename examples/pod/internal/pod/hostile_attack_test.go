package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"golang.org/x/crypto/bcrypt"
)

// The pod-under-attack cases of the hostile-input corpus: PD-10
// (sign-in flood), PD-11 (duplicate votes) and PD-12 (answers to limited
// posts by strangers). Their metadata is in
// testdata/hostile/PD-1*/meta.json; TestHostilePod (hostile_pod_test.go)
// replays them with the other PD-* cases.

func init() {
	podCases["PD-10"] = casePD10
	podCases["PD-11"] = casePD11
	podCases["PD-12"] = casePD12
}

// atkAnswer is what the pod answered to one request.
type atkAnswer struct {
	status int
	header http.Header
	body   []byte
}

// atkRequest sends one JSON API request (token may be empty; hdr holds
// header name and value pairs) and returns the answer, whatever its
// status.
func atkRequest(t *testing.T, tp *testPod, method, path, token string, body any, hdr ...string) atkAnswer {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Error(err)
			return atkAnswer{}
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(tp.URL, "/")+path, rd)
	if err != nil {
		t.Error(err)
		return atkAnswer{}
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, path, err) // t.Error: also called from goroutines
		return atkAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return atkAnswer{status: resp.StatusCode, header: resp.Header, body: b}
}

// atkBurst sends n copies of a request at once and returns the answers.
func atkBurst(t *testing.T, n int, send func() atkAnswer) []atkAnswer {
	t.Helper()
	out := make([]atkAnswer, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			out[i] = send()
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// atkStatuses counts the answers by status.
func atkStatuses(as []atkAnswer) map[int]int {
	m := map[int]int{}
	for _, a := range as {
		m[a.status]++
	}
	return m
}

// checkThrottled checks a 429: a Retry-After of a whole number of
// seconds, at least one.
func checkThrottled(t *testing.T, what string, a atkAnswer) {
	t.Helper()
	if a.status != http.StatusTooManyRequests {
		t.Errorf("%s: %d %s, want 429", what, a.status, a.body)
		return
	}
	if s, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("%s: 429 with Retry-After %q, want a number of seconds ≥ 1", what, a.header.Get("Retry-After"))
	}
}

// --- PD-10 sign-in-flood ---

func casePD10(t *testing.T) map[string]func(*testing.T, podVariant) {
	// Each variant has its own pod: the throttle's buckets (per account
	// and per client address, and every request comes from 127.0.0.1)
	// must start full.
	fresh := func(t *testing.T, cost int, names ...string) *hostilePod {
		tp := startHostilePod(t, func(c *Config) { c.BcryptCost = cost }, nil, true)
		for _, n := range names {
			if _, err := tp.AddUser(context.Background(), n, "password-"+n); err != nil {
				t.Fatal(err)
			}
		}
		return tp
	}
	login := func(t *testing.T, tp *hostilePod, name, password string) atkAnswer {
		return atkRequest(t, tp.testPod, "POST", "/api/session", "", map[string]string{"username": name, "password": password})
	}
	// flood sends 30 wrong passwords for name at once. Every 401 is a
	// bcrypt comparison (the dummy hash for an unknown name); a 429 is
	// answered before bcrypt runs.
	flood := func(t *testing.T, tp *hostilePod, name string) {
		t.Helper()
		as := atkBurst(t, 30, func() atkAnswer { return login(t, tp, name, "wrong-password") })
		got := atkStatuses(as)
		t.Logf("30 wrong passwords at once for %q: %v", name, got)
		if got[http.StatusUnauthorized]+got[http.StatusTooManyRequests] != 30 {
			t.Errorf("statuses %v, want only 401 and 429", got)
		}
		if n := got[http.StatusUnauthorized]; n > loginAccountBurst {
			t.Errorf("%d of 30 parallel wrong passwords were checked with bcrypt (401), want at most the budget of %d: "+
				"loginLimits.begin (throttle.go) admits every request while the tokens are only taken when a check ends", n, loginAccountBurst)
		}
		for _, a := range as {
			if a.status == http.StatusTooManyRequests {
				checkThrottled(t, "a throttled sign-in of the burst", a)
			}
		}
		checkThrottled(t, "a wrong password after the burst", login(t, tp, name, "wrong-password"))
	}
	return map[string]func(*testing.T, podVariant){
		"parallel_wrong_passwords": func(t *testing.T, v podVariant) {
			// bcrypt at its default cost, as on a real pod: at MinCost
			// one check ends before most of the burst has arrived, which
			// hides whether the budget holds for requests in flight.
			tp := fresh(t, bcrypt.DefaultCost, "alice")
			before := tp.snapshot(t)
			flood(t, tp, "alice")
			if n := tp.count(t, `SELECT COUNT(*) FROM sessions`); n != 0 {
				t.Errorf("%d sessions after wrong passwords", n)
			}
			tp.nothingProcessed(t, before, nil)
		},
		"right_password_after_flood": func(t *testing.T, v podVariant) {
			tp := fresh(t, bcrypt.MinCost, "alice")
			flood(t, tp, "alice")
			a := login(t, tp, "alice", "password-alice")
			if a.status != v.ExpectStatus {
				t.Errorf("the right password after 30 wrong ones: %d %s, want %d", a.status, a.body, v.ExpectStatus)
			} else {
				checkThrottled(t, "the right password after the burst", a)
			}
			if n := tp.count(t, `SELECT COUNT(*) FROM sessions`); n != 0 {
				t.Errorf("%d sessions: the guess after the flood was let in", n)
			}
		},
		"unknown_username": func(t *testing.T, v podVariant) {
			// The same sequence against a known and an unknown name, each
			// on its own pod, gets the same statuses.
			known, unknown := fresh(t, bcrypt.MinCost, "alice"), fresh(t, bcrypt.MinCost, "alice")
			seq := func(tp *hostilePod, name string) []int {
				var out []int
				for range loginAccountBurst + 2 {
					a := login(t, tp, name, "wrong-password")
					if a.status == http.StatusTooManyRequests {
						checkThrottled(t, name, a)
					}
					out = append(out, a.status)
				}
				return out
			}
			k, u := seq(known, "alice"), seq(unknown, "nobody")
			t.Logf("known: %v; unknown: %v", k, u)
			if !slices.Equal(k, u) {
				t.Errorf("a known name got %v, an unknown one %v", k, u)
			}
			if last := u[len(u)-1]; last != v.ExpectStatus {
				t.Errorf("the unknown name's last attempt: %d, want %d", last, v.ExpectStatus)
			}
			if n := slices.Index(u, http.StatusTooManyRequests); n != loginAccountBurst {
				t.Errorf("the first 429 came at attempt %d, want %d", n+1, loginAccountBurst+1)
			}
			// And a burst for an unknown name is held to the same budget.
			flood(t, fresh(t, bcrypt.DefaultCost), "nobody")
		},
		"account_deletion_password": func(t *testing.T, v podVariant) {
			tp := fresh(t, bcrypt.MinCost)
			_, token := tp.user(t, "alice")
			del := func(password string) atkAnswer {
				return atkRequest(t, tp.testPod, "DELETE", "/api/account", token, map[string]string{"password": password})
			}
			for i := range loginAccountBurst {
				if a := del("wrong-password"); a.status != http.StatusForbidden {
					t.Fatalf("wrong password %d: %d %s, want 403", i+1, a.status, a.body)
				}
			}
			checkThrottled(t, "a wrong password past the budget", del("wrong-password"))
			a := del("password-alice")
			if a.status != v.ExpectStatus {
				t.Errorf("the right password past the budget: %d %s, want %d", a.status, a.body, v.ExpectStatus)
			} else {
				checkThrottled(t, "the right password past the budget", a)
			}
			var key string
			var suspended bool
			if err := tp.store.SQL().QueryRow(`SELECT private_key, suspended FROM users WHERE username = 'alice'`).Scan(&key, &suspended); err != nil {
				t.Fatal(err)
			}
			if key == "" || suspended {
				t.Errorf("the account was deleted by a guess past the budget")
			}
		},
		"control_three_typos": func(t *testing.T, v podVariant) {
			tp := fresh(t, bcrypt.MinCost, "alice")
			for i := range 3 {
				if a := login(t, tp, "alice", "pasword-alice"); a.status != http.StatusUnauthorized {
					t.Fatalf("typo %d: %d %s, want 401", i+1, a.status, a.body)
				}
			}
			a := login(t, tp, "alice", "password-alice")
			if a.status != v.ExpectStatus {
				t.Fatalf("the right password after 3 typos: %d %s, want %d", a.status, a.body, v.ExpectStatus)
			}
			var out struct{ Token string }
			if err := json.Unmarshal(a.body, &out); err != nil || out.Token == "" {
				t.Errorf("answer %s: no token", a.body)
			}
			if n := tp.count(t, `SELECT COUNT(*) FROM sessions WHERE username = 'alice'`); n != 1 {
				t.Errorf("%d sessions, want 1", n)
			}
		},
	}
}

// --- PD-11 duplicate-votes ---

// remoteLike signs a like of a post by a remote person.
func remoteLike(t *testing.T, r remote, postGUID string) []byte {
	t.Helper()
	l := &entities.Like{Author: r.ID, GUID: NewGUID(), ParentGUID: postGUID, ParentType: "Post", Positive: true}
	if err := l.Sign(r.Key); err != nil {
		t.Fatal(err)
	}
	return envelope(t, l, r.ID, r.Key)
}

func casePD11(t *testing.T) map[string]func(*testing.T, podVariant) {
	canary := newCanary(t)
	tp := startHostilePod(t, nil, nil, true)
	_, aliceTok := tp.user(t, "alice")
	_, bobTok := tp.user(t, "bob")
	rosa := plantRemote(t, tp.Pod, "rosa", "http://"+canary.addr()+"/", 0)
	rita := plantRemote(t, tp.Pod, "rita", "http://"+canary.addr()+"/", 1)
	newPost := func(t *testing.T, body map[string]any) store.PostView {
		var v store.PostView
		tp.call(t, "POST", "/api/posts", aliceTok, body, http.StatusCreated, &v)
		return v
	}
	// oneWinner checks a burst of the same request: one 201, the rest 409.
	oneWinner := func(t *testing.T, v podVariant, as []atkAnswer) {
		t.Helper()
		got := atkStatuses(as)
		t.Logf("30 at once: %v", got)
		if got[http.StatusCreated] != 1 || got[v.ExpectStatus] != len(as)-1 {
			t.Errorf("statuses %v, want one 201 and %d × %d", got, len(as)-1, v.ExpectStatus)
		}
	}
	likes := func(post string) int {
		return tp.count(t, `SELECT COUNT(*) FROM interactions WHERE type = 'Like' AND parent_guid = ?`, post)
	}
	return map[string]func(*testing.T, podVariant){
		"parallel_api_likes": func(t *testing.T, v podVariant) {
			post := newPost(t, map[string]any{"text": "like me once"})
			as := atkBurst(t, 30, func() atkAnswer {
				return atkRequest(t, tp.testPod, "POST", "/api/posts/"+post.GUID+"/likes", bobTok, nil)
			})
			oneWinner(t, v, as)
			if n := likes(post.GUID); n != 1 {
				t.Errorf("%d likes stored, want 1", n)
			}
			if pv, _ := tp.post(t, aliceTok, post.GUID); len(pv.Likes) != 1 {
				t.Errorf("the post shows %d likes, want 1", len(pv.Likes))
			}
		},
		"parallel_poll_votes": func(t *testing.T, v podVariant) {
			post := newPost(t, map[string]any{"text": "tea or coffee?", "poll": map[string]any{"question": "which?", "answers": []string{"tea", "coffee"}}})
			var i atomic.Int64
			as := atkBurst(t, 30, func() atkAnswer {
				answer := post.Poll.Answers[(i.Add(1)-1)%2].GUID // both answers, to try to count twice
				return atkRequest(t, tp.testPod, "POST", "/api/posts/"+post.GUID+"/poll", bobTok, map[string]string{"answer": answer})
			})
			oneWinner(t, v, as)
			if n := tp.count(t, `SELECT COUNT(*) FROM interactions WHERE type = 'PollParticipation' AND post_guid = ?`, post.GUID); n != 1 {
				t.Errorf("%d votes stored, want 1", n)
			}
			pv, _ := tp.post(t, aliceTok, post.GUID)
			total := 0
			for _, a := range pv.Poll.Answers {
				total += a.Votes
			}
			if total != 1 {
				t.Errorf("the poll counts %d votes, want 1", total)
			}
		},
		"remote_likes_other_guids": func(t *testing.T, v podVariant) {
			post := newPost(t, map[string]any{"text": "liked from afar"})
			before := tp.snapshot(t)
			for i := range 5 {
				if st := postEnvelope(t, tp.testPod, remoteLike(t, rosa, post.GUID)); st != v.ExpectStatus {
					t.Fatalf("like %d: status %d, want %d", i+1, st, v.ExpectStatus)
				}
			}
			tp.waitInboxSettled(t)
			if n := tp.count(t, `SELECT COUNT(*) FROM interactions WHERE type = 'Like' AND author = ? AND parent_guid = ?`, rosa.ID, post.GUID); n != 1 {
				t.Errorf("%d likes by %s stored, want 1", n, rosa.ID)
			}
			// The four later likes are dropped, not kept as dead rows.
			tp.nothingProcessed(t, before, map[string]int{"interactions": 1})
			canary.check(t)
		},
		"control_two_people_like": func(t *testing.T, v podVariant) {
			post := newPost(t, map[string]any{"text": "liked by many"})
			before := tp.snapshot(t)
			for _, r := range []remote{rosa, rita} {
				if st := postEnvelope(t, tp.testPod, remoteLike(t, r, post.GUID)); st != http.StatusAccepted {
					t.Fatalf("like by %s: status %d", r.ID, st)
				}
			}
			tp.waitInboxSettled(t)
			tp.nothingProcessed(t, before, map[string]int{"interactions": 2})
			if a := atkRequest(t, tp.testPod, "POST", "/api/posts/"+post.GUID+"/likes", bobTok, nil); a.status != v.ExpectStatus {
				t.Errorf("bob's like: %d %s, want %d", a.status, a.body, v.ExpectStatus)
			}
			if n := likes(post.GUID); n != 3 {
				t.Errorf("%d likes stored, want 3 (two remote people and bob)", n)
			}
			canary.check(t)
		},
	}
}

// --- PD-12 limited-post-answers ---

func casePD12(t *testing.T) map[string]func(*testing.T, podVariant) {
	bobsPod := newFakePod(t) // before the pod: cleanups run the other way round
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
	// bob (remote) is in alice's Family aspect; mallory, on a pod that
	// must hear nothing, is known to the pod but in none of her aspects.
	bob := plantRemote(t, tp.Pod, "bob", bobsPod.URL, 0)
	mallory := plantRemote(t, tp.Pod, "mallory", "http://"+canary.addr()+"/", 1)
	bobsPod.handle("/receive/users/"+bob.GUID, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	})
	if _, err := tp.store.SQL().Exec(`INSERT INTO contacts (username, person_id, receiving) VALUES ('alice', ?, 1)`, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.store.SQL().Exec(`INSERT INTO aspect_memberships (aspect_id, username, person_id) VALUES
		((SELECT id FROM aspects WHERE username = 'alice' AND name = 'Family'), 'alice', ?)`, bob.ID); err != nil {
		t.Fatal(err)
	}
	f := false
	post, err := tp.CreatePost(ctx, alice, PostInput{Text: "family only", Public: &f, Aspects: []string{"Family"}})
	if err != nil {
		t.Fatal(err)
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM post_recipients WHERE post_guid = ? AND person_id = ?`, post.GUID, bob.ID); n != 1 {
		t.Fatalf("bob is recorded %d times as a recipient", n)
	}
	waitFor(t, "the delivery of the limited post", func() bool { return tp.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	comment := func(r remote, text string) entities.Entity {
		c := &entities.Comment{Author: r.ID, GUID: NewGUID(), ParentGUID: post.GUID, Text: text, CreatedAt: time.Now().UTC().Truncate(time.Second)}
		if err := c.Sign(r.Key); err != nil {
			t.Fatal(err)
		}
		return c
	}
	like := func(r remote) entities.Entity {
		l := &entities.Like{Author: r.ID, GUID: NewGUID(), ParentGUID: post.GUID, ParentType: "Post", Positive: true}
		if err := l.Sign(r.Key); err != nil {
			t.Fatal(err)
		}
		return l
	}
	// private sends an entity as a diaspora* pod would answer a limited
	// post: signed by its author, encrypted for alice, to her inbox.
	private := func(t *testing.T, e entities.Entity, r remote) int {
		body, err := magicenv.Encrypt(envelope(t, e, r.ID, r.Key), &alice.Key.PublicKey, nil)
		if err != nil {
			t.Fatal(err)
		}
		st, _, _ := postBody(t, nil, tp.URL+"receive/users/"+alice.GUID, magicenv.EncryptedContentType, bytes.NewReader(body))
		return st
	}
	public := func(t *testing.T, e entities.Entity, r remote) int {
		return postEnvelope(t, tp.testPod, envelope(t, e, r.ID, r.Key))
	}
	refused := func(send func(*testing.T, entities.Entity, remote) int, e func() entities.Entity) func(*testing.T, podVariant) {
		return func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			if st := send(t, e(), mallory); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.waitInboxSettled(t)
			if n := tp.count(t, `SELECT COUNT(*) FROM interactions WHERE post_guid = ? AND author = ?`, post.GUID, mallory.ID); n != 0 {
				t.Errorf("%d answers by a stranger stored on the limited post", n)
			}
			tp.nothingProcessed(t, before, map[string]int{"inbox_rejected": 1}) // the worker's refusal: hash and prefix only
			var cat string
			if err := tp.store.SQL().QueryRow(`SELECT category FROM inbox_rejected ORDER BY id DESC LIMIT 1`).Scan(&cat); err != nil {
				t.Fatal(err)
			}
			t.Logf("refused with category %q", cat)
			canary.check(t)
		}
	}
	return map[string]func(*testing.T, podVariant){
		"stranger_comment_private": refused(private, func() entities.Entity { return comment(mallory, "I know your guid") }),
		"stranger_like_private":    refused(private, func() entities.Entity { return like(mallory) }),
		"stranger_comment_public":  refused(public, func() entities.Entity { return comment(mallory, "and your route") }),
		"control_recipient_comment": func(t *testing.T, v podVariant) {
			before := tp.snapshot(t)
			if st := private(t, comment(bob, "hello from the family"), bob); st != v.ExpectStatus {
				t.Fatalf("status %d, want %d", st, v.ExpectStatus)
			}
			tp.waitInboxSettled(t)
			if n := tp.count(t, `SELECT COUNT(*) FROM interactions WHERE type = 'Comment' AND post_guid = ? AND author = ?`, post.GUID, bob.ID); n != 1 {
				t.Fatalf("bob's comment stored %d times, want 1", n)
			}
			// The comment is relayed to the post's recipients (bob's pod).
			waitFor(t, "the relay of bob's comment", func() bool { return tp.count(t, `SELECT COUNT(*) FROM outbox`) == before["outbox"] })
			tp.nothingProcessed(t, before, map[string]int{"interactions": 1})
			pv, err := tp.store.PostView(ctx, alice, post.GUID)
			if err != nil || len(pv.Comments) != 1 || pv.Comments[0].Author != bob.ID {
				t.Errorf("alice sees %+v (%v), want bob's comment", pv, err)
			}
			canary.check(t)
		},
	}
}
