package web

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/storetest"
)

// proxiedUI is the web interface as the pod command serves it: behind
// pod.Pod.Health and pod.TrustProxies (10.0.0.0/8 and 2001:db8:a::/48
// trusted), with no listener; requests carry the peer a test chooses.
func proxiedUI(t *testing.T) http.Handler {
	t.Helper()
	dir := t.TempDir()
	p, err := pod.NewPod(context.Background(), pod.Config{PublicURL: "http://pod.test/", DB: storetest.DBAt(t, dir), DataDir: dir,
		KeyBits: 2048, Dev: true, BcryptCost: bcrypt.MinCost})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ui, err := New(p, Config{})
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := pod.ParseTrustedProxies("10.0.0.0/8,2001:db8:a::/48")
	if err != nil {
		t.Fatal(err)
	}
	return p.Health(pod.TrustProxies(ui.Handler(), trusted))
}

// proxiedRequest sends one request from peer with the given headers.
func proxiedRequest(h http.Handler, method, path, peer string, header http.Header, form url.Values) *http.Response {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, path, nil)
	}
	r.RemoteAddr = peer
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

// TestProxySecureCookie: the pod's cookies are Secure on a request that
// came over https, which X-Forwarded-Proto says only from a trusted proxy.
func TestProxySecureCookie(t *testing.T) {
	h := proxiedUI(t)
	for _, c := range []struct {
		peer, proto string
		secure      bool
	}{
		{"10.0.0.1:5000", "https", true},
		{"[2001:db8:a::1]:443", "https", true},
		{"10.0.0.1:5000", "http", false},
		{"10.0.0.1:5000", "", false},
		{"198.51.100.1:4000", "https", false}, // not a trusted proxy
	} {
		hdr := http.Header{"X-Forwarded-For": {"203.0.113.7"}}
		if c.proto != "" {
			hdr.Set("X-Forwarded-Proto", c.proto)
		}
		resp := proxiedRequest(h, "GET", "/users/sign_in", c.peer, hdr, nil)
		var csrf *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == csrfCookie {
				csrf = ck
			}
		}
		if resp.StatusCode != http.StatusOK || csrf == nil {
			t.Fatalf("sign-in page from %s: %d, cookies %v", c.peer, resp.StatusCode, resp.Cookies())
		}
		if csrf.Secure != c.secure || !csrf.HttpOnly {
			t.Errorf("peer %s, X-Forwarded-Proto %q: cookie Secure %v, HttpOnly %v; want Secure %v", c.peer, c.proto, csrf.Secure, csrf.HttpOnly, c.secure)
		}
	}
}

// TestProxySignInThrottle: the web sign-in throttle counts per forwarded
// client address behind a trusted proxy, per peer otherwise.
func TestProxySignInThrottle(t *testing.T) {
	h := proxiedUI(t)
	n := 0
	signIn := func(peer, xff string) int {
		t.Helper()
		hdr := http.Header{"X-Forwarded-For": {xff}}
		page := proxiedRequest(h, "GET", "/users/sign_in", peer, hdr, nil)
		body, _ := io.ReadAll(page.Body)
		for _, ck := range page.Cookies() {
			hdr.Add("Cookie", ck.Name+"="+ck.Value)
		}
		n++ // each try for another account, so that only the address counts
		form := url.Values{"username": {"nobody" + strconv.Itoa(n)}, "password": {"wrong-password"}, csrfField: {formToken(t, string(body))}}
		return proxiedRequest(h, "POST", "/users/sign_in", peer, hdr, form).StatusCode
	}
	for i := range 30 {
		if st := signIn("10.0.0.1:5000", "203.0.113.7"); st != http.StatusUnauthorized {
			t.Fatalf("failure %d of 203.0.113.7 = %d, want 401", i+1, st)
		}
	}
	if st := signIn("10.0.0.2:5000", "203.0.113.7, 10.0.0.1"); st != http.StatusTooManyRequests {
		t.Errorf("31st failure of 203.0.113.7 (through two proxies) = %d, want 429", st)
	}
	if st := signIn("10.0.0.1:5000", "203.0.113.8"); st != http.StatusUnauthorized {
		t.Errorf("another client of the same proxy = %d, want 401", st)
	}
	// An untrusted peer cannot pass as many clients.
	for i := range 30 {
		if st := signIn("198.51.100.1:4000", "203.0.113."+strconv.Itoa(100+i)); st != http.StatusUnauthorized {
			t.Fatalf("failure %d of the untrusted peer = %d, want 401", i+1, st)
		}
	}
	if st := signIn("198.51.100.1:4000", "203.0.113.200"); st != http.StatusTooManyRequests {
		t.Errorf("31st failure of an untrusted peer with a new X-Forwarded-For = %d, want 429", st)
	}
}

// TestHealthBeforeSessions: /healthz and /readyz answer before the web
// interface: no session lookup, no cookie, no page.
func TestHealthBeforeSessions(t *testing.T) {
	h := proxiedUI(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		hdr := http.Header{"Cookie": {sessionCookie + "=not-a-session"}}
		resp := proxiedRequest(h, "GET", path, "198.51.100.1:4000", hdr, nil)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(body) != "ok\n" || len(resp.Cookies()) != 0 {
			t.Errorf("GET %s = %d %q, cookies %v; want 200 ok and no cookie", path, resp.StatusCode, body, resp.Cookies())
		}
	}
	// The same cookie on a page is forgotten by the session machinery.
	resp := proxiedRequest(h, "GET", "/users/sign_in", "198.51.100.1:4000", http.Header{"Cookie": {sessionCookie + "=not-a-session"}}, nil)
	if len(resp.Cookies()) == 0 {
		t.Error("the sign-in page set no cookie: the check above proves nothing")
	}
}
