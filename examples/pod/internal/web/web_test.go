package web

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/examples/pod/internal/storetest"
)

// testPod is a pod with its web interface on a loopback port, workers
// running.
type testPod struct {
	*pod.Pod
	URL  string
	down atomic.Bool // while set the pod answers every request 503, like a pod that is down
}

// startTestPod starts a development-mode pod (http and loopback peers
// allowed) with the web interface configured by cfg.
func startTestPod(t testing.TB, cfg Config) *testPod {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	ctx, cancel := context.WithCancel(context.Background())
	p, err := pod.NewPod(ctx, pod.Config{PublicURL: u, DB: storetest.DB(t), DataDir: t.TempDir(), KeyBits: 2048, Dev: true,
		BcryptCost: bcrypt.MinCost, Poll: 50 * time.Millisecond, BaseBackoff: 200 * time.Millisecond, InboxBackoff: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ui, err := New(p, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tp := &testPod{Pod: p, URL: u}
	h := ui.Handler()
	srv := pod.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp.down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}), ui.log)
	go srv.Serve(ln)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		srv.Shutdown(sctx)
		cancel()
		wg.Wait()
		p.Close()
	})
	return tp
}

// addUser creates a local user with password "password-NAME".
func (tp *testPod) addUser(t testing.TB, name string) *store.User {
	t.Helper()
	if _, err := tp.AddUser(context.Background(), name, "password-"+name); err != nil {
		t.Fatal(err)
	}
	u, err := tp.Store().UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed unless asked.
type client struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (tp *testPod) client(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: strings.TrimSuffix(tp.URL, "/"), c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// get fetches a path and returns the status, body and Location.
func (c *client) get(path string) (int, string, string) {
	c.t.Helper()
	resp, err := c.c.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

// post submits a form; withToken adds the authenticity_token of the page
// at from.
func (c *client) post(path string, form url.Values, from string) (int, string, string) {
	c.t.Helper()
	if from != "" {
		_, body, _ := c.get(from)
		form.Set(csrfField, formToken(c.t, body))
	}
	resp, err := c.c.PostForm(c.base+path, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location")
}

var tokenPattern = regexp.MustCompile(`name="authenticity_token" value="([0-9a-f]+)"`)

// formToken finds the CSRF token in a page's forms.
func formToken(t testing.TB, page string) string {
	t.Helper()
	m := tokenPattern.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no authenticity_token in the page:\n%s", excerptOf(page))
	}
	return m[1]
}

func excerptOf(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "…"
	}
	return s
}

// signIn signs a client in as name.
func (c *client) signIn(name string) {
	c.t.Helper()
	st, _, loc := c.post("/users/sign_in", url.Values{"username": {name}, "password": {"password-" + name}}, "/users/sign_in")
	if st != http.StatusSeeOther || loc != "/stream" {
		c.t.Fatalf("sign in as %s: %d %s", name, st, loc)
	}
}

// TestPagesSignedOut: the front page, sign-in and sign-up, public posts,
// tags and profiles are readable signed out; pages of a person's own
// redirect to the sign-in page; every response has the security headers.
func TestPagesSignedOut(t *testing.T) {
	tp := startTestPod(t, Config{})
	c := tp.client(t)
	if st, body, _ := c.get("/"); st != 200 || !strings.Contains(body, "Nobody has an account here yet") || !strings.Contains(body, `href="/users/sign_up"`) {
		t.Errorf("front page of a fresh pod: %d\n%s", st, excerptOf(body))
	}
	alice := tp.addUser(t, "alice")
	pub := true
	p, err := tp.CreatePost(context.Background(), alice, pod.PostInput{Text: "hello #web world", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/", "/users/sign_in", "/users/sign_up", "/public", "/tags/web", "/posts/" + p.GUID, "/u/alice", "/people/" + alice.GUID} {
		resp, err := c.c.Get(c.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := 200
		if path == "/users/sign_up" {
			want = 200 // invite mode shows the form with the code field
		}
		if resp.StatusCode != want {
			t.Errorf("GET %s signed out: %d", path, resp.StatusCode)
		}
		for h, v := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if resp.Header.Get(h) != v {
				t.Errorf("GET %s: %s = %q", path, h, resp.Header.Get(h))
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if strings.Contains(string(b), "<script") {
			t.Errorf("GET %s: the page has a script element", path)
		}
	}
	if _, body, _ := c.get("/posts/" + p.GUID); !strings.Contains(body, `<a href="/tags/web"`) {
		t.Errorf("the post's #web is not linked:\n%s", excerptOf(body))
	}
	for _, path := range []string{"/stream", "/activity", "/users/invitations", "/people?q=x@y.example"} {
		if st, _, loc := c.get(path); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/users/sign_in?return_to=") {
			t.Errorf("GET %s signed out: %d %q, want 303 to the sign-in page", path, st, loc)
		}
	}
}

// TestCSRF: every state-changing form of the web interface, sign-in and
// sign-up included, answers 403 without its authenticity_token (or with
// another browser's) and changes nothing.
func TestCSRF(t *testing.T) {
	tp := startTestPod(t, Config{Registrations: RegistrationsOpen})
	alice := tp.addUser(t, "alice")
	pub := true
	p, err := tp.CreatePost(context.Background(), alice, pod.PostInput{Text: "a post", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	c := tp.client(t)
	c.signIn("alice")
	other := tp.client(t)
	_, otherPage, _ := other.get("/users/sign_in")
	foreign := formToken(t, otherPage)
	forms := map[string]url.Values{
		"/users/sign_in":                 {"username": {"alice"}, "password": {"password-alice"}},
		"/users/sign_up":                 {"username": {"mallory"}, "password": {"password-x"}, "password_confirmation": {"password-x"}},
		"/users/sign_out":                {},
		"/status_messages":               {"text": {"forged"}, "visibility": {"public"}},
		"/posts/" + p.GUID + "/comments": {"text": {"forged"}},
		"/posts/" + p.GUID + "/likes":    {},
		"/posts/" + p.GUID + "/reshares": {},
		"/posts/" + p.GUID + "/vote":     {"answer": {"x"}},
		"/posts/" + p.GUID + "/delete":   {},
		"/posts/" + p.GUID + "/report":   {"reason": {"forged"}},
		"/people/share":                  {"id": {"bob@example.org"}, "aspects": {"Friends"}},
	}
	for path, form := range forms {
		for _, token := range []string{"", foreign} {
			f := url.Values{}
			for k, v := range form {
				f[k] = v
			}
			if token != "" {
				f.Set(csrfField, token)
			}
			if st, _, _ := c.post(path, f, ""); st != http.StatusForbidden {
				t.Errorf("POST %s with token %q: %d, want 403", path, token, st)
			}
		}
	}
	// Nothing changed: the post is there without comments or likes, no
	// new post or account, alice is still signed in.
	v, err := tp.Store().PostView(context.Background(), alice, p.GUID)
	if err != nil || len(v.Comments) != 0 || len(v.Likes) != 0 {
		t.Errorf("the post after forged forms: %+v, %v", v, err)
	}
	if n, _ := tp.Store().Rows(context.Background(), "posts"); n != 1 {
		t.Errorf("%d posts, want 1", n)
	}
	if _, err := tp.Store().UserByName(context.Background(), "mallory"); err == nil {
		t.Error("a forged sign-up made an account")
	}
	if st, _, _ := c.get("/stream"); st != 200 {
		t.Errorf("alice after a forged sign-out: %d", st)
	}
	// With the token, the same form works.
	if st, _, loc := c.post("/posts/"+p.GUID+"/comments", url.Values{"text": {"real"}}, "/posts/"+p.GUID); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/posts/") {
		t.Errorf("comment with the token: %d %s", st, loc)
	}
}

// TestSignUpInvitations: an invite-mode pod takes a new person with an
// unused code once; closed refuses; the first person of a fresh pod
// signs up without one.
func TestSignUpInvitations(t *testing.T) {
	tp := startTestPod(t, Config{Invitations: 3})
	first := tp.client(t)
	if st, _, loc := first.post("/users/sign_up", url.Values{"username": {"ann"}, "password": {"password-ann"}, "password_confirmation": {"password-ann"}}, "/users/sign_up"); st != http.StatusSeeOther || loc != "/stream" {
		t.Fatalf("first sign-up on a fresh pod: %d %s", st, loc)
	}
	_, page, _ := first.get("/users/invitations")
	codes := regexp.MustCompile(`/users/sign_up\?invite=([a-z0-9]+)"`).FindAllStringSubmatch(page, -1)
	if len(codes) != 3 {
		t.Fatalf("%d invitation links, want 3:\n%s", len(codes), excerptOf(page))
	}
	code := codes[0][1]
	newcomer := tp.client(t)
	form := url.Values{"username": {"ben"}, "password": {"password-ben"}, "password_confirmation": {"password-ben"}}
	if st, body, _ := newcomer.post("/users/sign_up", form, "/users/sign_up"); st != http.StatusForbidden || !strings.Contains(body, "invitation") {
		t.Errorf("sign-up without a code on an invite pod: %d", st)
	}
	form.Set("invite", code)
	if st, _, loc := newcomer.post("/users/sign_up", form, "/users/sign_up?invite="+code); st != http.StatusSeeOther || loc != "/stream" {
		t.Fatalf("sign-up with a code: %d %s", st, loc)
	}
	again := tp.client(t)
	form.Set("username", "cat")
	if st, body, _ := again.post("/users/sign_up", form, "/users/sign_up?invite="+code); st != http.StatusForbidden || !strings.Contains(body, "used already") {
		t.Errorf("a used code again: %d", st)
	}
	if _, err := tp.Store().UserByName(context.Background(), "cat"); err == nil {
		t.Error("a used code made a second account")
	}
	closed := startTestPod(t, Config{Registrations: RegistrationsClosed})
	cc := closed.client(t)
	if st, _, _ := cc.get("/users/sign_up"); st != http.StatusForbidden {
		t.Errorf("sign-up page of a closed pod: %d", st)
	}
	form.Set("username", "dan")
	if st, _, _ := cc.post("/users/sign_up", form, "/users/sign_in"); st != http.StatusForbidden {
		t.Errorf("sign-up on a closed pod: %d", st)
	}
}

// TestSignInThrottle: wrong passwords are answered alike for unknown
// users and known ones, and a burst of them is throttled with 429 while a
// few mistakes are not.
func TestSignInThrottle(t *testing.T) {
	tp := startTestPod(t, Config{})
	tp.addUser(t, "alice")
	c := tp.client(t)
	for i, name := range []string{"alice", "nobody"} {
		st, body, _ := c.post("/users/sign_in", url.Values{"username": {name}, "password": {"wrong-password"}}, "/users/sign_in")
		if st != http.StatusUnauthorized || !strings.Contains(body, "Wrong username or password.") {
			t.Errorf("attempt %d (%s): %d", i, name, st)
		}
	}
	throttled := false
	for range 30 {
		st, _, _ := c.post("/users/sign_in", url.Values{"username": {"alice"}, "password": {"wrong-password"}}, "/users/sign_in")
		if st == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Error("30 wrong passwords in a row were never throttled")
	}
}

// TestPagesAccessible: the pages of the stream, posts, people and
// signing in owe their readers what the other pages do (moreCheckPage:
// one h1, headings in order, a label for every field, a token in every
// POST form, no script), signed in and signed out.
func TestPagesAccessible(t *testing.T) {
	tp := startTestPod(t, Config{})
	alice := tp.addUser(t, "alice")
	pub := true
	p, err := tp.CreatePost(context.Background(), alice, pod.PostInput{Text: "a #poll post", Public: &pub,
		Poll: &pod.PollInput{Question: "Which?", Answers: []string{"A", "B"}}})
	if err != nil {
		t.Fatal(err)
	}
	pages := []string{"/", "/users/sign_in", "/users/sign_up", "/public", "/tags/poll", "/posts/" + p.GUID, "/u/alice", "/people/" + alice.GUID}
	anon := tp.client(t)
	for _, path := range pages {
		st, body, _ := anon.get(path)
		if st != 200 {
			t.Errorf("GET %s signed out: %d", path, st)
		}
		moreCheckPage(t, path+" (signed out)", body)
	}
	c := tp.client(t)
	c.signIn("alice")
	for _, path := range append(pages[3:], "/stream", "/activity", "/users/invitations", "/people") {
		st, body, _ := c.get(path)
		if st != 200 {
			t.Errorf("GET %s: %d", path, st)
		}
		moreCheckPage(t, path, body)
	}
}

// TestPageVisibility: a limited post is 404 to people it was not for
// (signed out or in), and a suspended person's posts and page are
// nobody's to read until the account is reinstated.
func TestPageVisibility(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	alice := tp.addUser(t, "alice")
	tp.addUser(t, "bob")
	pub := false
	limited, err := tp.CreatePost(ctx, alice, pod.PostInput{Text: "for my family only", Public: &pub, Aspects: []string{"Family"}})
	if err != nil {
		t.Fatal(err)
	}
	yes := true
	public, err := tp.CreatePost(ctx, alice, pod.PostInput{Text: "for everyone", Public: &yes})
	if err != nil {
		t.Fatal(err)
	}
	anon, bob, own := tp.client(t), tp.client(t), tp.client(t)
	bob.signIn("bob")
	own.signIn("alice")
	for who, c := range map[string]*client{"signed out": anon, "bob": bob} {
		if st, body, _ := c.get("/posts/" + limited.GUID); st != http.StatusNotFound || strings.Contains(body, "family only") {
			t.Errorf("the limited post to %s: %d", who, st)
		}
	}
	if st, body, _ := own.get("/posts/" + limited.GUID); st != 200 || !strings.Contains(body, "family only") {
		t.Errorf("the limited post to its author: %d", st)
	}
	if err := tp.Store().SetSuspended(ctx, "alice", true); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/posts/" + public.GUID, "/u/alice", "/people/" + alice.GUID} {
		if st, _, _ := anon.get(path); st != http.StatusNotFound {
			t.Errorf("GET %s of a suspended person: %d, want 404", path, st)
		}
	}
	if err := tp.Store().SetSuspended(ctx, "alice", false); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := anon.get("/posts/" + public.GUID); st != 200 {
		t.Errorf("the public post after reinstating: %d", st)
	}
}
