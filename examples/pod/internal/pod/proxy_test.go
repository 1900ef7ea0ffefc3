package pod

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/magicenv"
)

func mustTrusted(t testing.TB, s string) []netip.Prefix {
	t.Helper()
	ps, err := ParseTrustedProxies(s)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// TestResolveClient: only a trusted peer's X-Forwarded-For counts, and
// then its right-most address that is no trusted proxy; a malformed
// entry ends the walk; X-Forwarded-Proto only from a trusted peer.
func TestResolveClient(t *testing.T) {
	trusted := mustTrusted(t, "10.0.0.0/8, 192.0.2.10, 2001:db8:a::/48")
	cases := []struct {
		name, peer   string
		xff, proto   []string // header lines
		client       string
		https, proxy bool
	}{
		{name: "no proxy, no header", peer: "198.51.100.1:4000", client: "198.51.100.1:4000"},
		{name: "untrusted peer's X-Forwarded-For is ignored", peer: "198.51.100.1:4000", xff: []string{"203.0.113.7"}, proto: []string{"https"},
			client: "198.51.100.1:4000"},
		{name: "untrusted peer next to a trusted range", peer: "11.0.0.1:4000", xff: []string{"203.0.113.7"}, client: "11.0.0.1:4000"},
		{name: "trusted peer, one client", peer: "10.1.2.3:5555", xff: []string{"203.0.113.7"}, client: "203.0.113.7:0", proxy: true},
		{name: "single trusted address", peer: "192.0.2.10:5555", xff: []string{"203.0.113.7"}, client: "203.0.113.7:0", proxy: true},
		{name: "chain: client, proxy2", peer: "10.0.0.1:5555", xff: []string{"203.0.113.7, 10.0.0.2"}, client: "203.0.113.7:0", proxy: true},
		{name: "forged left-most entry", peer: "10.0.0.1:5555", xff: []string{"1.1.1.1, 203.0.113.7, 10.0.0.2"}, client: "203.0.113.7:0", proxy: true},
		{name: "chain over two header lines", peer: "10.0.0.1:5555", xff: []string{"1.1.1.1, 203.0.113.7", "10.0.0.2"}, client: "203.0.113.7:0", proxy: true},
		{name: "every entry trusted: the left-most", peer: "10.0.0.1:5555", xff: []string{"10.0.0.3, 10.0.0.2"}, client: "10.0.0.3:0", proxy: true},
		{name: "trusted peer without the header", peer: "10.0.0.1:5555", client: "10.0.0.1:5555", proxy: true},
		{name: "entries with ports and spaces", peer: "10.0.0.1:5555", xff: []string{" 203.0.113.7:61000 ,\t10.0.0.2:80 "}, client: "203.0.113.7:0", proxy: true},
		{name: "IPv4-mapped client", peer: "10.0.0.1:5555", xff: []string{"::ffff:203.0.113.7"}, client: "203.0.113.7:0", proxy: true},
		{name: "IPv4-mapped peer", peer: "[::ffff:10.0.0.1]:5555", xff: []string{"203.0.113.7"}, client: "203.0.113.7:0", proxy: true},
		// IPv6.
		{name: "IPv6 proxy, IPv6 client", peer: "[2001:db8:a::1]:443", xff: []string{"2001:db8:beef::7"}, client: "[2001:db8:beef::7]:0", proxy: true},
		{name: "IPv6 bracketed, with port and zone", peer: "[2001:db8:a::1]:443", xff: []string{"[2001:db8:beef::7]:1234, [2001:db8:a::2], fe80::1%eth0"},
			client: "[fe80::1]:0", proxy: true},
		{name: "IPv6 chain", peer: "[2001:db8:a::1]:443", xff: []string{"2001:db8:beef::7, [2001:db8:a::2]"}, client: "[2001:db8:beef::7]:0", proxy: true},
		{name: "IPv6 untrusted peer", peer: "[2001:db8:b::1]:443", xff: []string{"2001:db8:beef::7"}, client: "[2001:db8:b::1]:443"},
		// Malformed: the walk stops at the first entry that is no address;
		// the address is the last one read (a trusted proxy's) or the peer.
		{name: "garbage only", peer: "10.0.0.1:5555", xff: []string{"not an address"}, client: "10.0.0.1:5555", proxy: true},
		{name: "empty header", peer: "10.0.0.1:5555", xff: []string{""}, client: "10.0.0.1:5555", proxy: true},
		{name: "unknown (RFC 7239 style)", peer: "10.0.0.1:5555", xff: []string{"unknown"}, client: "10.0.0.1:5555", proxy: true},
		{name: "garbage behind a trusted hop", peer: "10.0.0.1:5555", xff: []string{"203.0.113.7, evil!, 10.0.0.2"}, client: "10.0.0.2:0", proxy: true},
		{name: "garbage left of the client", peer: "10.0.0.1:5555", xff: []string{"<script>, 203.0.113.7"}, client: "203.0.113.7:0", proxy: true},
		{name: "empty entry", peer: "10.0.0.1:5555", xff: []string{"203.0.113.7,,"}, client: "10.0.0.1:5555", proxy: true},
		{name: "host name", peer: "10.0.0.1:5555", xff: []string{"client.example"}, client: "10.0.0.1:5555", proxy: true},
		{name: "half bracket", peer: "10.0.0.1:5555", xff: []string{"[2001:db8::1"}, client: "10.0.0.1:5555", proxy: true},
		{name: "prefix instead of address", peer: "10.0.0.1:5555", xff: []string{"203.0.113.0/24"}, client: "10.0.0.1:5555", proxy: true},
		{name: "bad port", peer: "10.0.0.1:5555", xff: []string{"203.0.113.7:http"}, client: "10.0.0.1:5555", proxy: true},
		{name: "peer is not an address", peer: "pipe", xff: []string{"203.0.113.7"}, client: "pipe"},
		// X-Forwarded-Proto.
		{name: "https from a trusted proxy", peer: "10.0.0.1:5555", xff: []string{"203.0.113.7"}, proto: []string{"HTTPS"}, client: "203.0.113.7:0", https: true, proxy: true},
		{name: "http from a trusted proxy", peer: "10.0.0.1:5555", proto: []string{"http"}, client: "10.0.0.1:5555", proxy: true},
		{name: "proto list: the peer's value counts", peer: "10.0.0.1:5555", proto: []string{"http, https"}, client: "10.0.0.1:5555", https: true, proxy: true},
		{name: "proto list: a client's https on the left does not", peer: "10.0.0.1:5555", proto: []string{"https", "http"}, client: "10.0.0.1:5555", proxy: true},
		{name: "proto garbage", peer: "10.0.0.1:5555", proto: []string{"https://"}, client: "10.0.0.1:5555", proxy: true},
	}
	for _, c := range cases {
		h := http.Header{}
		for _, v := range c.xff {
			h.Add("X-Forwarded-For", v)
		}
		for _, v := range c.proto {
			h.Add("X-Forwarded-Proto", v)
		}
		h.Set("X-Real-IP", "192.0.2.99") // never believed
		client, https, proxy := ResolveClient(c.peer, h, trusted)
		if client != c.client || https != c.https || proxy != c.proxy {
			t.Errorf("%s: ResolveClient(%q, %q, %q) = %q, https %v, proxy %v; want %q, %v, %v",
				c.name, c.peer, c.xff, c.proto, client, https, proxy, c.client, c.https, c.proxy)
		}
	}
}

func TestParseTrustedProxies(t *testing.T) {
	got := mustTrusted(t, "10.1.2.3/8,, 192.0.2.10 ,2001:db8::/32,::1,::ffff:172.16.0.0/108")
	var s []string
	for _, p := range got {
		s = append(s, p.String())
	}
	if want := []string{"10.0.0.0/8", "192.0.2.10/32", "2001:db8::/32", "::1/128", "172.16.0.0/12"}; !slices.Equal(s, want) {
		t.Errorf("prefixes %v, want %v", s, want)
	}
	for _, bad := range []string{"10.0.0.0/33", "proxy.example", "10.0.0.1-10.0.0.9", "fe80::1%eth0", "10.0.0.0/8/8"} {
		if _, err := ParseTrustedProxies(bad); err == nil {
			t.Errorf("ParseTrustedProxies(%q) accepted", bad)
		}
	}
	if ps, err := ParseTrustedProxies(""); err != nil || len(ps) != 0 {
		t.Errorf(`ParseTrustedProxies("") = %v, %v`, ps, err)
	}
}

// TestTrustProxiesMiddleware: the rest of the stack sees the resolved
// address in r.RemoteAddr and the scheme in IsHTTPS; no trusted prefix
// means no middleware at all.
func TestTrustProxiesMiddleware(t *testing.T) {
	var seen *http.Request
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r })
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.1:5555"
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	TrustProxies(next, nil).ServeHTTP(httptest.NewRecorder(), r)
	if seen.RemoteAddr != "10.0.0.1:5555" {
		t.Errorf("with no trusted proxy RemoteAddr became %q", seen.RemoteAddr)
	}
	h := TrustProxies(next, mustTrusted(t, "10.0.0.0/8"))
	for _, c := range []struct {
		peer, xff, proto, want, proxyPeer string
		https                             bool
	}{
		{"10.0.0.1:5555", "203.0.113.7", "https", "203.0.113.7:0", "10.0.0.1:5555", true},
		{"10.0.0.1:5555", "203.0.113.7", "", "203.0.113.7:0", "10.0.0.1:5555", false},
		{"198.51.100.1:4000", "203.0.113.7", "https", "198.51.100.1:4000", "", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		r.Header.Set("X-Forwarded-For", c.xff)
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		peer, _ := ProxyPeer(seen)
		if seen.RemoteAddr != c.want || IsHTTPS(seen) != c.https || peer != c.proxyPeer {
			t.Errorf("peer %s, X-Forwarded-For %s, proto %q: RemoteAddr %q, https %v, proxy %q; want %q, %v, %q",
				c.peer, c.xff, c.proto, seen.RemoteAddr, IsHTTPS(seen), peer, c.want, c.https, c.proxyPeer)
		}
		if r.RemoteAddr != c.peer {
			t.Errorf("the caller's request was changed: %q", r.RemoteAddr)
		}
	}
}

// newProxiedPod is a pod (no server, no workers) behind Health and
// TrustProxies, as the pod command composes them, with the given receive
// budget per address.
func newProxiedPod(t *testing.T, trusted string, bytesPerMinute int64) (*Pod, http.Handler) {
	t.Helper()
	dir := t.TempDir()
	p, err := NewPod(context.Background(), Config{PublicURL: "http://pod.test/", DB: testDBAt(t, dir), DataDir: dir, KeyBits: 2048, Dev: true,
		BcryptCost: bcrypt.MinCost, ReceiveBytesPerMinute: bytesPerMinute, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p, p.Health(TrustProxies(p.Handler(), mustTrusted(t, trusted)))
}

// TestProxyKeysLimits: the receive limits and the API's sign-in throttle
// count per forwarded client address when the peer is a trusted proxy,
// and per peer otherwise, whatever X-Forwarded-For says.
func TestProxyKeysLimits(t *testing.T) {
	p, h := newProxiedPod(t, "10.0.0.0/8,2001:db8:a::/48", 3000)
	receive := func(peer, xff string) int {
		r := httptest.NewRequest("POST", "/receive/public", bytes.NewReader(bytes.Repeat([]byte("x"), 2000)))
		r.RemoteAddr = peer
		r.Header.Set("Content-Type", magicenv.ContentType)
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	// 2,000 bytes of a 3,000-byte budget: the second body from the same
	// address is refused, one from another address is not.
	steps := []struct {
		peer, xff string
		throttled bool
	}{
		{"10.0.0.1:5000", "203.0.113.7", false},
		{"10.0.0.2:5000", "203.0.113.7, 10.0.0.1", true}, // the same client through two proxies
		{"10.0.0.1:5000", "203.0.113.8", false},          // another client, same proxy
		{"[2001:db8:a::1]:443", "2001:db8:beef::7", false},
		{"[2001:db8:a::1]:443", "[2001:db8:beef::7]:999", true},
		// An untrusted peer: its X-Forwarded-For is ignored, so a new
		// forged address each time does not buy a new budget.
		{"198.51.100.1:4000", "203.0.113.50", false},
		{"198.51.100.1:4001", "203.0.113.51", true},
		// The forged addresses got no budget of their own: a trusted
		// proxy's client with one of them is still fresh.
		{"10.0.0.1:5000", "203.0.113.51", false},
	}
	for i, s := range steps {
		st := receive(s.peer, s.xff)
		if (st == http.StatusTooManyRequests) != s.throttled {
			t.Errorf("step %d: peer %s, X-Forwarded-For %q: %d, want throttled %v", i, s.peer, s.xff, st, s.throttled)
		}
	}
	p.limits.mu.Lock()
	var keys []string
	for k := range p.limits.addrs {
		keys = append(keys, k)
	}
	p.limits.mu.Unlock()
	slices.Sort(keys)
	if want := []string{"198.51.100.1", "2001:db8:beef::7", "203.0.113.51", "203.0.113.7", "203.0.113.8"}; !slices.Equal(keys, want) {
		t.Errorf("receive limits kept per %v, want %v", keys, want)
	}

	// The API's sign-in: 30 failures per address (each for another
	// account, so the per-account throttle stays out of it), then 429.
	login := func(peer, xff, user string) int {
		r := httptest.NewRequest("POST", "/api/session", strings.NewReader(`{"username":"`+user+`","password":"wrong"}`))
		r.RemoteAddr = peer
		r.Header.Set("Content-Type", "application/json")
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	n := 0
	spend := func(peer, xff string) {
		t.Helper()
		for range loginAddrBurst {
			n++
			if st := login(peer, xff, "nobody"+strconv.Itoa(n)); st != http.StatusUnauthorized {
				t.Fatalf("sign-in %d from %s (%s) = %d, want 401", n, peer, xff, st)
			}
		}
	}
	spend("10.0.0.1:5000", "203.0.113.7")
	if st := login("10.0.0.2:6000", "203.0.113.7", "another"); st != http.StatusTooManyRequests {
		t.Errorf("31st failure of 203.0.113.7 through a trusted proxy = %d, want 429", st)
	}
	if st := login("10.0.0.1:5000", "203.0.113.8", "another"); st != http.StatusUnauthorized {
		t.Errorf("another client through the same proxy = %d, want 401", st)
	}
	spend("198.51.100.1:4000", "203.0.113.60")
	if st := login("198.51.100.1:4000", "203.0.113.61", "another"); st != http.StatusTooManyRequests {
		t.Errorf("an untrusted peer with a new X-Forwarded-For = %d, want 429 (keyed on the peer)", st)
	}
	p.logins.mu.Lock()
	keys = keys[:0]
	for k := range p.logins.addrs.m {
		keys = append(keys, k)
	}
	p.logins.mu.Unlock()
	slices.Sort(keys)
	if want := []string{"198.51.100.1", "203.0.113.7", "203.0.113.8"}; !slices.Equal(keys, want) {
		t.Errorf("sign-ins throttled per %v, want %v", keys, want)
	}
}

// TestHealth: /healthz answers while the process does, /readyz while the
// store answers and is migrated; neither says more than ok or not ready,
// and other requests (another method too) go on to the pod.
func TestHealth(t *testing.T) {
	lb := &logBuffer{}
	dir := t.TempDir()
	p, err := NewPod(context.Background(), Config{PublicURL: "http://pod.test/", DB: testDBAt(t, dir), DataDir: dir, KeyBits: 2048, Dev: true,
		Logger: slog.New(slog.NewTextHandler(lb, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h := p.Health(TrustProxies(p.Handler(), mustTrusted(t, "10.0.0.0/8")))
	get := func(method, path string) (int, string, http.Header) {
		r := httptest.NewRequest(method, path, nil)
		r.RemoteAddr = "198.51.100.1:4000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String(), w.Header()
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		st, body, hdr := get("GET", path)
		if st != http.StatusOK || body != "ok\n" || hdr.Get("Cache-Control") != "no-store" || !strings.HasPrefix(hdr.Get("Content-Type"), "text/plain") {
			t.Errorf("GET %s = %d %q %v, want 200 ok, not cached", path, st, body, hdr)
		}
		if st, _, _ := get("HEAD", path); st != http.StatusOK {
			t.Errorf("HEAD %s = %d", path, st)
		}
		if st, _, _ := get("POST", path); st != http.StatusNotFound && st != http.StatusMethodNotAllowed {
			t.Errorf("POST %s = %d, want the pod's own answer (404/405)", path, st)
		}
	}
	if st, _, _ := get("GET", "/.well-known/host-meta"); st != http.StatusOK {
		t.Errorf("host-meta behind Health = %d", st)
	}
	p.Close()
	for range 3 {
		st, body, _ := get("GET", "/readyz")
		if st != http.StatusServiceUnavailable || body != "not ready\n" {
			t.Errorf("/readyz on a closed store = %d %q, want 503 not ready", st, body)
		}
	}
	if st, body, _ := get("GET", "/healthz"); st != http.StatusOK || body != "ok\n" {
		t.Errorf("/healthz on a closed store = %d %q, want 200 (the process answers)", st, body)
	}
	if n := strings.Count(lb.String(), "not ready"); n != 1 {
		t.Errorf("%d log records of not being ready, want 1 (once per change):\n%s", n, lb.String())
	}
}

func TestWideTrustedProxies(t *testing.T) {
	all := mustTrusted(t, "0.0.0.0/0,::/0,8.0.0.0/8,203.0.113.0/24,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,127.0.0.1,fd00::/8,2001:db8::/16,2001:db8::/48,192.0.2.10,0.0.0.0/4")
	var got []string
	for _, p := range WideTrustedProxies(all) {
		got = append(got, p.String())
	}
	want := []string{"0.0.0.0/0", "::/0", "8.0.0.0/8", "2001::/16", "0.0.0.0/4"}
	if !slices.Equal(got, want) {
		t.Errorf("WideTrustedProxies = %q, want %q", got, want)
	}
}
