package pod

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Focused tests of the pod's hardening against abuse by its own users
// and by strangers (the commit "pod under attack"); each asserts
// something the pod got wrong before. The corpus cases PD-10 to PD-12
// are in hostile_attack_test.go.

// TestAttackMentionsUnreachableHost: mentioning people on a host that
// never answers does not hold the request; the people are looked up
// after the post is stored.
func TestAttackMentionsUnreachableHost(t *testing.T) {
	pit := newTarpit(t) // before the pod: its cleanup (which ends the lookups) runs first
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	h := pit.ln.Addr().String()
	text := fmt.Sprintf("hello @{Ann; ann@%s}, @{bo@%s} and @{cy@%s}", h, h, h)
	body, _ := json.Marshal(map[string]any{"text": text})
	req, _ := http.NewRequest("POST", tp.URL+"api/posts", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Timeout: 10 * time.Second} // a pod waiting for the host fails here, not after minutes
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("POST /api/posts: %v after %v", err, time.Since(start).Round(time.Millisecond))
	}
	d := time.Since(start)
	defer resp.Body.Close()
	var v store.PostView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/posts = %d (%v)", resp.StatusCode, err)
	}
	if d > 2*time.Second {
		t.Errorf("creating a post that mentions 3 people on a silent host took %v, want < 2 s", d.Round(time.Millisecond))
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM posts WHERE author = 'alice@`+tp.Host+`'`); n != 1 {
		t.Errorf("%d posts stored, want 1", n)
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM post_mentions WHERE post_guid = ?`, v.GUID); n != 3 {
		t.Errorf("%d mentions stored, want 3", n)
	}
	// The lookups run all the same, in the background.
	waitFor(t, "the mentioned people's host to be asked", func() bool { return pit.total.Load() > 0 })
}

// atkCreatePost sends POST /api/posts with an Idempotency-Key and returns the
// post.
func atkCreatePost(t *testing.T, tp *testPod, token, key string, body map[string]any) store.PostView {
	t.Helper()
	a := atkRequest(t, tp, "POST", "/api/posts", token, body, "Idempotency-Key", key)
	if a.status != http.StatusCreated {
		t.Fatalf("POST /api/posts (key %q) = %d %s", key, a.status, a.body)
	}
	var v store.PostView
	if err := json.Unmarshal(a.body, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestAttackIdempotencyKey: a client that retries POST /api/posts (its
// first answer was lost) with the same Idempotency-Key gets the first
// post back instead of a second one.
func TestAttackIdempotencyKey(t *testing.T) {
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	posts := func() int { return tp.count(t, `SELECT COUNT(*) FROM posts`) }
	body := map[string]any{"text": "said once"}
	first := atkCreatePost(t, tp, tok, "retry-1", body)
	again := atkCreatePost(t, tp, tok, "retry-1", body)
	if again.GUID != first.GUID {
		t.Errorf("a retry with the same key made post %s, the first was %s", again.GUID, first.GUID)
	}
	if n := posts(); n != 1 {
		t.Errorf("%d posts after a retry, want 1", n)
	}
	other := atkCreatePost(t, tp, tok, "retry-2", body)
	if other.GUID == first.GUID {
		t.Error("another key returned the first post")
	}
	if n := posts(); n != 2 {
		t.Errorf("%d posts after a new key, want 2", n)
	}
}

// TestAttackMentionCap: a post mentioning 150 people keeps maxMentions of
// them and looks up at most maxMentionLookups unknown ones.
func TestAttackMentionCap(t *testing.T) {
	fp := newFakePod(t)
	var mu sync.Mutex
	asked := map[string]bool{}
	fp.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Query().Get("resource")] = true
		mu.Unlock()
		http.NotFound(w, r)
	})
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	var text strings.Builder
	text.WriteString("hello")
	for i := range 150 {
		fmt.Fprintf(&text, " @{p%03d@%s}", i, fp.host())
	}
	var v store.PostView
	tp.call(t, "POST", "/api/posts", tok, map[string]any{"text": text.String()}, http.StatusCreated, &v)
	if n := tp.count(t, `SELECT COUNT(*) FROM post_mentions WHERE post_guid = ?`, v.GUID); n != maxMentions {
		t.Errorf("%d mentions stored, want %d", n, maxMentions)
	}
	tp.bg.Wait() // the lookups after the post
	mu.Lock()
	defer mu.Unlock()
	if len(asked) == 0 || len(asked) > maxMentionLookups {
		t.Errorf("%d mentioned people looked up, want 1 to %d", len(asked), maxMentionLookups)
	}
}

// TestAttackRememberedLookupFailure: a person whose host said there is
// no such person is not asked for again at once.
func TestAttackRememberedLookupFailure(t *testing.T) {
	fp := newFakePod(t) // 404 for everything
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	get := func(id string) int {
		return atkRequest(t, tp, "GET", "/api/people/"+id, tok, nil).status
	}
	nobody := "nobody@" + fp.host()
	st := get(nobody)
	n := fp.requests.Load()
	if st != http.StatusNotFound || n == 0 {
		t.Fatalf("first lookup: %d after %d requests, want 404 after at least one", st, n)
	}
	if st := get(nobody); st != http.StatusNotFound {
		t.Errorf("second lookup: %d, want 404", st)
	}
	if m := fp.requests.Load(); m != n {
		t.Errorf("the second lookup of %s made %d more requests, want 0", nobody, m-n)
	}
	// Another person on that host is still looked up.
	get("somebody@" + fp.host())
	if fp.requests.Load() == n {
		t.Error("another person of the host was not looked up")
	}
}

// TestAttackDataFileModes: a data directory others may read is closed to
// its owner, and the SQLite database with its WAL and shared memory are
// 0600, also after a restart. The pod is built here with the SQLite store
// (a Config without a database URL keeps pod.db in the data
// directory), whatever database the other tests use.
func TestAttackDataFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil { // whatever the umask
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		want := map[string]os.FileMode{dir: 0o700}
		for _, f := range []string{"pod.db", "pod.db-wal", "pod.db-shm"} {
			want[filepath.Join(dir, f)] = 0o600
		}
		for path, mode := range want {
			fi, err := os.Stat(path)
			if err != nil {
				t.Errorf("%s: %v", when, err)
				continue
			}
			if got := fi.Mode().Perm(); got != mode {
				t.Errorf("%s: %s has mode %#o, want %#o", when, filepath.Base(path), got, mode)
			}
		}
	}
	ctx := context.Background()
	open := func() *Pod {
		p, err := NewPod(ctx, Config{PublicURL: "http://pod.test/", DataDir: dir, KeyBits: 2048, Dev: true,
			BcryptCost: bcrypt.MinCost, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := open()
	if _, err := p.AddUser(ctx, "alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	alice, err := p.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreatePost(ctx, alice, PostInput{Text: "written"}); err != nil {
		t.Fatal(err)
	}
	check("after the first start")
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	p = open()
	defer p.Close()
	if _, err := p.AddUser(ctx, "bob", "password-bob"); err != nil {
		t.Fatal(err)
	}
	check("after a restart")
}

// TestAttackFetchSignsOnce: asking /fetch for the same public post again
// costs no second RSA signature.
func TestAttackFetchSignsOnce(t *testing.T) {
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	var v store.PostView
	tp.call(t, "POST", "/api/posts", tok, map[string]any{"text": "fetch me"}, http.StatusCreated, &v)
	fetch := func() []byte {
		resp, err := http.Get(tp.URL + "fetch/post/" + v.GUID)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("fetch = %d %s", resp.StatusCode, b)
		}
		return b
	}
	n0 := tp.signatures.Load()
	a, b := fetch(), fetch()
	if n := tp.signatures.Load() - n0; n != 1 {
		t.Errorf("two fetches made %d signatures, want 1", n)
	}
	if string(a) != string(b) {
		t.Error("the two fetches answered different bodies")
	}
}

// atkStatus answers the status of a GET with an optional bearer token.
func atkStatus(t *testing.T, tp *testPod, path, token string) int {
	t.Helper()
	return atkRequest(t, tp, "GET", path, token, nil).status
}

// TestAttackSuspendedAuthorHidden: a suspended user's public posts are
// nobody's to read until the account is reinstated.
func TestAttackSuspendedAuthorHidden(t *testing.T) {
	tp := startPod(t)
	_, aliceTok := tp.user(t, "alice")
	_, bobTok := tp.user(t, "bob")
	var v store.PostView
	tp.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "soon hidden"}, http.StatusCreated, &v)
	check := func(when string, want int) {
		t.Helper()
		if st := atkStatus(t, tp, "/api/posts/"+v.GUID, bobTok); st != want {
			t.Errorf("%s: GET /api/posts/{guid} by bob = %d, want %d", when, st, want)
		}
		if st := atkStatus(t, tp, "/fetch/post/"+v.GUID, ""); st != want {
			t.Errorf("%s: GET /fetch/post/{guid} = %d, want %d", when, st, want)
		}
	}
	ctx := context.Background()
	check("before", http.StatusOK)
	if err := tp.store.SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	check("while alice is suspended", http.StatusNotFound)
	if err := tp.store.SetSuspended(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	check("after alice is reinstated", http.StatusOK)
}

// TestAttackDeletedAccountKeepsNoKey: deleting an account removes its
// private key (and password hash) from the database; the pod still
// answers about the deleted person.
func TestAttackDeletedAccountKeepsNoKey(t *testing.T) {
	tp := startPod(t)
	alice, aliceTok := tp.user(t, "alice")
	_, bobTok := tp.user(t, "bob")
	tp.call(t, "DELETE", "/api/account", aliceTok, map[string]string{"password": "password-alice"}, http.StatusNoContent, nil)
	var key, hash string
	var suspended bool
	if err := tp.store.SQL().QueryRow(`SELECT private_key, password_hash, suspended FROM users WHERE username = 'alice'`).Scan(&key, &hash, &suspended); err != nil {
		t.Fatal(err)
	}
	if key != "" || hash != "" || !suspended {
		t.Errorf("after deletion: private key of %d bytes, password hash of %d, suspended %v; want none, none, true", len(key), len(hash), suspended)
	}
	for _, path := range []string{"/api/people/" + alice, "/api/stream"} {
		if st := atkStatus(t, tp, path, bobTok); st >= 500 {
			t.Errorf("GET %s after alice's deletion = %d", path, st)
		}
	}
}

// TestAttackExpiredSessionsPurged: expired sessions are deleted, live
// ones kept.
func TestAttackExpiredSessionsPurged(t *testing.T) {
	tp := startPod(t)
	tp.user(t, "alice") // one live session
	expired := make([]byte, 32)
	rand.Read(expired)
	day := (24 * time.Hour).Milliseconds()
	if _, err := tp.store.SQL().Exec(`INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, 'alice', ?, ?)`,
		expired, time.Now().UnixMilli()-31*day, time.Now().UnixMilli()-day); err != nil {
		t.Fatal(err)
	}
	if err := tp.store.PurgeExpired(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM sessions WHERE token_hash = ?`, expired); n != 0 {
		t.Error("the expired session is still stored")
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM sessions WHERE username = 'alice'`); n != 1 {
		t.Errorf("%d sessions left, want the live one", n)
	}
}

// TestAttackUnseenPostNotFound: deleting or resharing a limited post one
// cannot see answers 404, as for a post that does not exist (not 403 or
// 422, which would tell that it exists).
func TestAttackUnseenPostNotFound(t *testing.T) {
	tp := startPod(t)
	_, aliceTok := tp.user(t, "alice")
	_, bobTok := tp.user(t, "bob")
	var limited, public store.PostView
	tp.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "family only", "public": false, "aspects": []string{"Family"}}, http.StatusCreated, &limited)
	tp.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "for everyone"}, http.StatusCreated, &public)
	missing := NewGUID()
	for _, c := range []struct{ method, path string }{{"DELETE", ""}, {"POST", "/reshares"}} {
		unseen := atkRequest(t, tp, c.method, "/api/posts/"+limited.GUID+c.path, bobTok, nil)
		none := atkRequest(t, tp, c.method, "/api/posts/"+missing+c.path, bobTok, nil)
		if unseen.status != http.StatusNotFound || string(unseen.body) != string(none.body) {
			t.Errorf("%s on a post bob cannot see: %d %s; a missing post: %d %s", c.method+" /api/posts/{guid}"+c.path,
				unseen.status, unseen.body, none.status, none.body)
		}
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM posts`); n != 2 {
		t.Errorf("%d posts, want alice's 2", n)
	}
	// Control: a post bob can see but is not his.
	if a := atkRequest(t, tp, "DELETE", "/api/posts/"+public.GUID, bobTok, nil); a.status != http.StatusForbidden {
		t.Errorf("DELETE of alice's public post by bob = %d %s, want 403", a.status, a.body)
	}
	tp.call(t, "POST", "/api/posts/"+public.GUID+"/reshares", bobTok, nil, http.StatusCreated, nil)
}

// TestAttackPhotoAndAnswerLimits: a post has at most 64 photos and a
// poll 64 answers, the limits other pods hold received posts to.
func TestAttackPhotoAndAnswerLimits(t *testing.T) {
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	photos := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("https://img.example/%d.png", i)
		}
		return out
	}
	answers := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("answer %d", i)
		}
		return out
	}
	for _, c := range []struct {
		name string
		body map[string]any
		want int
	}{
		{"65 photos", map[string]any{"text": "album", "photos": photos(65)}, http.StatusUnprocessableEntity},
		{"65 answers", map[string]any{"text": "poll", "poll": map[string]any{"question": "?", "answers": answers(65)}}, http.StatusUnprocessableEntity},
		{"64 photos", map[string]any{"text": "album", "photos": photos(64)}, http.StatusCreated},
		{"64 answers", map[string]any{"text": "poll", "poll": map[string]any{"question": "?", "answers": answers(64)}}, http.StatusCreated},
	} {
		a := atkRequest(t, tp, "POST", "/api/posts", tok, c.body)
		if a.status != c.want {
			t.Errorf("%s: %d %.200s, want %d", c.name, a.status, a.body, c.want)
		}
		if c.want == http.StatusUnprocessableEntity && !strings.Contains(string(a.body), "at most 64") {
			t.Errorf("%s: %.200s, want the limit named", c.name, a.body)
		}
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM posts`); n != 2 {
		t.Errorf("%d posts, want the 2 within the limits", n)
	}
}

// TestAttackJSONErrorNamesNoGoType: a body of the wrong shape is a 400
// that names the member in the API's terms, not the pod's Go types.
func TestAttackJSONErrorNamesNoGoType(t *testing.T) {
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	for _, c := range []struct {
		body  string
		names string
	}{
		{`{"text": 5}`, `"text"`},
		{`{"text": "x", "public": "yes"}`, `"public"`},
		{`{"text": "x", "poll": {"question": "?", "answers": "tea"}}`, `answers`},
		{`{"text": "x", "photos": [1]}`, `photos`},
	} {
		req, _ := http.NewRequest("POST", tp.URL+"api/posts", strings.NewReader(c.body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var e struct{ Error string }
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(e.Error, c.names) {
			t.Errorf("%s: %d %q, want 400 naming %s", c.body, resp.StatusCode, e.Error, c.names)
		}
		for _, goName := range []string{"main.", "PostInput", "PollInput", "Go ", "json:", "float64", "[]string", "*bool"} {
			if strings.Contains(e.Error, goName) {
				t.Errorf("%s: error %q shows %q", c.body, e.Error, goName)
			}
		}
		t.Logf("%s → %q", c.body, e.Error)
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM posts`); n != 0 {
		t.Errorf("%d posts stored from refused bodies", n)
	}
}
