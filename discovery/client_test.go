package discovery_test

import (
	"bytes"
	"compress/gzip"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
)

func TestLookupJRD(t *testing.T) {
	p := newPod(t, true)
	c := p.client()
	person, err := c.Lookup(ctxT(t), "  ACCT:Alice@"+p.host+" ")
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	base := "https://" + p.host + "/"
	want := discovery.Person{
		ID: p.id(), GUID: aliceGUID, FullName: "Alice Liddell", FirstName: "Alice", LastName: "Liddell",
		Searchable: true, PodURL: base, HCardURL: base + "hcard/users/" + aliceGUID,
		ProfileURL: base + "u/alice", ReceiveURL: base + "receive/users/" + aliceGUID,
		PublicReceiveURL: base + "receive/public",
		AvatarLarge:      base + "uploads/l.jpg", AvatarMedium: base + "assets/user/default.png",
		AvatarSmall: base + "assets/user/default.png",
	}
	got := *person
	if got.PublicKey == nil || got.PublicKey.N.BitLen() != 2048 {
		t.Errorf("PublicKey = %v, want the 2048-bit key", got.PublicKey)
	}
	if !strings.HasPrefix(got.PublicKeyPEM, "-----BEGIN PUBLIC KEY-----\n") {
		t.Errorf("PublicKeyPEM = %q", got.PublicKeyPEM)
	}
	got.PublicKey, got.PublicKeyPEM = nil, ""
	if got != want {
		t.Errorf("Lookup =\n%+v\nwant\n%+v", got, want)
	}
	if n := p.count("/.well-known/host-meta"); n != 0 {
		t.Errorf("host-meta fetched %d times after a good JRD", n)
	}
	key, err := c.PublicKey(ctxT(t), p.id())
	if err != nil || !key.Equal(person.PublicKey) {
		t.Errorf("PublicKey = %v, %v", key, err)
	}
}

func TestLookupXRDOnly(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", notFound)
	person, err := p.client().Lookup(ctxT(t), p.id())
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if person.GUID != aliceGUID || person.PublicKey == nil {
		t.Errorf("Lookup = %+v", person)
	}
	for _, path := range []string{"/.well-known/webfinger", "/.well-known/host-meta", "/.well-known/webfinger.xml"} {
		if p.count(path) != 1 {
			t.Errorf("%s fetched %d times, want 1", path, p.count(path))
		}
	}
	c := p.client()
	c.NoHostMetaFallback = true
	if _, err := c.Lookup(ctxT(t), p.id()); !errors.Is(err, discovery.ErrNotFound) {
		t.Errorf("Lookup without fallback = %v, want ErrNotFound", err)
	}
}

func TestLookupDeadTemplate(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", notFound)
	p.handle("/.well-known/host-meta", func(w http.ResponseWriter, r *http.Request) {
		h := &discovery.HostMeta{Links: []discovery.Link{{Rel: "lrdd", Template: "https://" + p.host + "/dead?q={uri}"}}}
		w.Write(h.XRD())
	})
	p.handle("/dead", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "gone", http.StatusBadGateway) })
	_, err := p.client().Lookup(ctxT(t), p.id())
	var he *discovery.HTTPError
	if !errors.As(err, &he) || !errors.Is(err, discovery.ErrNotFound) {
		t.Fatalf("Lookup = %v, want the JRD 404 and the template's HTTP error", err)
	}
	if !discovery.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = false; a 502 from the template is worth a retry", err)
	}
	if p.count("/dead") != 1 || p.count("/hcard/users/"+aliceGUID) != 0 {
		t.Errorf("template fetched %d times, hCard %d times", p.count("/dead"), p.count("/hcard/users/"+aliceGUID))
	}
}

func TestLookupTemplateOnAnotherHost(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", notFound)
	p.handle("/.well-known/host-meta", func(w http.ResponseWriter, r *http.Request) {
		w.Write(discovery.NewHostMeta("https://evil.example").XRD())
	})
	_, err := p.client().Lookup(ctxT(t), p.id())
	if !errors.Is(err, discovery.ErrBlockedURL) {
		t.Fatalf("Lookup = %v, want ErrBlockedURL", err)
	}
}

func TestLookupWrongSubject(t *testing.T) {
	for _, subject := range []string{"acct:bob@HOST", "acct:alice@other.example", ""} {
		t.Run(subject, func(t *testing.T) {
			p := newPod(t, true)
			subject := strings.ReplaceAll(subject, "HOST", p.host)
			p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, jrdFor(p, subject))
			})
			c := p.client()
			c.NoHostMetaFallback = true // the empty subject is a validation error, after which Lookup would fall back
			_, err := c.Lookup(ctxT(t), p.id())
			want := discovery.ErrSubjectMismatch
			if subject == "" {
				want = discovery.ErrValidation // the reference: acct_uri not_empty
			}
			if !errors.Is(err, want) {
				t.Fatalf("Lookup = %v, want %v", err, want)
			}
			if discovery.IsTemporary(err) {
				t.Errorf("IsTemporary(%v) = true", err)
			}
			if p.count("/hcard/users/"+aliceGUID) != 0 {
				t.Error("hCard fetched after a bad WebFinger document")
			}
		})
	}
}

func TestLookupOversizedBody(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run(fmt.Sprint("chunked=", chunked), func(t *testing.T) {
			p := newPod(t, true)
			big := `{"subject":"acct:` + p.id() + `","aliases":["` + strings.Repeat("a", 300<<10) + `"],"links":[]}`
			p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
				if chunked {
					w.Write([]byte(big[:1000]))
					w.(http.Flusher).Flush()
					w.Write([]byte(big[1000:]))
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				w.Write([]byte(big))
			})
			c := p.client()
			c.NoHostMetaFallback = true
			_, err := c.Lookup(ctxT(t), p.id())
			if !errors.Is(err, discovery.ErrResponseTooLarge) {
				t.Fatalf("Lookup = %v, want ErrResponseTooLarge", err)
			}
		})
	}
}

func TestLookupSlowBody(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		w.WriteHeader(http.StatusOK)
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte(" ")); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
	c := p.client()
	c.Timeout = 300 * time.Millisecond
	c.NoHostMetaFallback = true
	start := time.Now()
	_, err := c.Lookup(ctxT(t), p.id())
	if err == nil {
		t.Fatal("Lookup succeeded on a trickling body")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Lookup took %v with a 300ms timeout", d)
	}
	if !discovery.IsTemporary(err) {
		t.Errorf("IsTemporary(%v) = false, want true for a timeout", err)
	}
}

func TestLookupRedirectLoop(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	p.handle("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	_, err := p.client().Lookup(ctxT(t), p.id())
	if !errors.Is(err, discovery.ErrTooManyRedirects) {
		t.Fatalf("Lookup = %v, want ErrTooManyRedirects", err)
	}
	if n := p.count("/loop"); n != discovery.MaxRedirects {
		t.Errorf("followed %d redirects, want %d", n, discovery.MaxRedirects)
	}
	if p.count("/.well-known/host-meta") != 0 {
		t.Error("fell back to host-meta after a redirect loop")
	}
}

func TestLookupRedirectsFollowed(t *testing.T) {
	p := newPod(t, true)
	p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/r1?"+r.URL.RawQuery, http.StatusMovedPermanently)
	})
	p.handle("/r1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/r2", http.StatusFound)
	})
	p.handle("/r2", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/r3", http.StatusTemporaryRedirect)
	})
	p.handle("/r3", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, jrdFor(p, "acct:"+p.id())) })
	if _, err := p.client().Lookup(ctxT(t), p.id()); err != nil {
		t.Fatalf("Lookup through 3 redirects: %v", err)
	}
}

func TestLookupRedirectToReservedAddress(t *testing.T) {
	c4 := newCanary(t, "tcp4", "127.0.0.1:0")
	targets := []string{
		fmt.Sprintf("https://127.0.0.1:%d/x", c4.port()),
		"https://10.0.0.1/x",
		"http://10.0.0.1:8080/x",
		"https://169.254.169.254/latest/meta-data/",
		"https://100.64.0.1/x",
		fmt.Sprintf("https://[::1]:%d/x", c4.port()),
		fmt.Sprintf("https://[::ffff:127.0.0.1]:%d/x", c4.port()),
		"https://[fd00::1]/x",
		"https://[fe80::1]/x",
		fmt.Sprintf("https://localhost:%d/x", c4.port()), // refused at dial time
	}
	for _, target := range targets {
		t.Run(target, func(t *testing.T) {
			p := newPod(t, true)
			p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusFound)
			})
			c := p.client()
			c.AllowHTTP = true // the scheme must not be what saves us
			// Nor the port policy: the canary's port passes it, so the
			// address is what is refused (at dial time for localhost).
			c.AllowedPorts = []uint16{80, 443, uint16(c4.port())}
			_, err := c.Lookup(ctxT(t), p.id())
			if !errors.Is(err, discovery.ErrBlockedAddress) {
				t.Fatalf("Lookup = %v, want ErrBlockedAddress", err)
			}
			if discovery.IsTemporary(err) {
				t.Errorf("IsTemporary(%v) = true", err)
			}
		})
	}
	if n := c4.conns.Load(); n != 0 {
		t.Errorf("the loopback canary saw %d connections", n)
	}
}

func TestLookupReservedIDHosts(t *testing.T) {
	c := &discovery.Client{Timeout: 2 * time.Second}
	for _, id := range []string{"alice@127.0.0.1", "alice@[::1]", "alice@10.0.0.5:8080", "alice@169.254.169.254", "alice@0.0.0.0"} {
		_, err := c.Lookup(ctxT(t), id)
		if !errors.Is(err, discovery.ErrBlockedAddress) {
			t.Errorf("Lookup(%q) = %v, want ErrBlockedAddress", id, err)
		}
	}
}

func TestLookupInvalidID(t *testing.T) {
	c := &discovery.Client{}
	for _, id := range []string{"", "alice", "@pod.example", "alice@", "alice@pod.example/x", "alice@pod.example?x", "a@b@c",
		"alice@pod.example#x", "alice smith@pod.example", "alice@[::1", strings.Repeat("a", 250) + "@pod.example"} {
		_, err := c.Lookup(ctxT(t), id)
		if !errors.Is(err, discovery.ErrInvalidID) {
			t.Errorf("Lookup(%q) = %v, want ErrInvalidID", id, err)
		}
	}
}

func TestLookupHTTPOnlyPod(t *testing.T) {
	p := newPod(t, false)
	p.handler.BaseURL = "http://" + p.host + "/"
	_, err := p.client().Lookup(ctxT(t), p.id())
	if err == nil {
		t.Fatal("Lookup of an http-only pod succeeded without AllowHTTP")
	}
	for _, path := range []string{"/.well-known/webfinger", "/.well-known/host-meta", "/hcard/users/" + aliceGUID} {
		if n := p.count(path); n != 0 {
			t.Errorf("%s served %d plain-http requests without AllowHTTP", path, n)
		}
	}
	c := p.client()
	c.AllowHTTP = true
	person, err := c.Lookup(ctxT(t), p.id())
	if err != nil {
		t.Fatalf("Lookup with AllowHTTP: %v", err)
	}
	if person.PodURL != "http://"+p.host+"/" {
		t.Errorf("PodURL = %q", person.PodURL)
	}
}

func TestLookupHCardProblems(t *testing.T) {
	tests := []struct {
		name string
		body string
		want error
	}{
		{"no key", strings.Replace(string(readRef(t, "hcard_html/full.html")), `class="key"`, `class="nokey"`, 1), discovery.ErrValidation},
		{"not an hcard", "<html><body>hello</body></html>", discovery.ErrInvalidDocument},
		{"pkcs1 key", strings.Replace(string(readRef(t, "hcard_html/full.html")), `class="key">`, `class="key">`+pkcs1(t)+`</pre><pre>`, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod(t, true)
			p.handle("/hcard/users/"+aliceGUID, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tt.body) })
			_, err := p.client().Lookup(ctxT(t), p.id())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Lookup: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("Lookup = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLookupGzipBomb(t *testing.T) {
	p := newPod(t, true)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	zw.Write([]byte(`{"subject":"acct:` + p.id() + `","aliases":["`))
	zeros := make([]byte, 1<<20)
	for i := range zeros {
		zeros[i] = 'a'
	}
	for i := 0; i < 64; i++ { // 64 MiB inflated
		zw.Write(zeros)
	}
	zw.Close()
	p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Write(bomb.Bytes())
	})
	c := p.client()
	c.NoHostMetaFallback = true
	_, err := c.Lookup(ctxT(t), p.id())
	if !errors.Is(err, discovery.ErrResponseTooLarge) {
		t.Fatalf("Lookup = %v, want ErrResponseTooLarge", err)
	}
}

func TestLookupHostileKeys(t *testing.T) {
	full := string(readRef(t, "hcard_html/full.html"))
	ec, err := os.ReadFile(filepath.Join("..", "testdata", "keys", "ec-p256.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	weak := weakKeyPEM(t)
	tests := []struct {
		name, body string
		want       error
	}{
		{"ec key", replaceKey(full, string(ec)), discovery.ErrInvalidKey},
		{"512-bit key", replaceKey(full, weak), discovery.ErrWeakKey},
		// the reference reads the first .key; a second one is ignored
		{"two keys", strings.Replace(full, `</body>`, `<pre class="key">`+weak+`</pre></body>`, 1), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod(t, true)
			p.handle("/hcard/users/"+aliceGUID, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tt.body) })
			_, err := p.client().Lookup(ctxT(t), p.id())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Lookup: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) || discovery.IsTemporary(err) {
				t.Fatalf("Lookup = %v, want final %v", err, tt.want)
			}
		})
	}
}

// Client.MinKeyBits raises the minimum of Lookup; the refusal names the
// key's size and the minimum, and is final.
func TestLookupMinKeyBits(t *testing.T) {
	h, err := discovery.ParseHCard(readRef(t, "hcard_html/full.html"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := h.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	bits := key.N.BitLen()
	for _, tt := range []struct {
		min  int
		want bool
	}{{0, true}, {512, true}, {bits, true}, {bits + 1, false}} {
		p := newPod(t, true)
		c := p.client()
		c.MinKeyBits = tt.min
		_, err := c.Lookup(ctxT(t), p.id())
		if tt.want {
			if err != nil {
				t.Errorf("MinKeyBits %d: Lookup = %v", tt.min, err)
			}
			continue
		}
		var wk *discovery.WeakKeyError
		if !errors.As(err, &wk) || wk.Bits != bits || wk.Min != tt.min || discovery.IsTemporary(err) {
			t.Errorf("MinKeyBits %d: Lookup = %v, want a final WeakKeyError{%d, %d}", tt.min, err, bits, tt.min)
		}
	}
}

func replaceKey(hcard, key string) string {
	start := strings.Index(hcard, `<pre class="key">`) + len(`<pre class="key">`)
	end := strings.Index(hcard, `</pre>`)
	return hcard[:start] + key + hcard[end:]
}

func weakKeyPEM(t *testing.T) string {
	t.Helper()
	n := new(big.Int).Lsh(big.NewInt(1), 511)
	n.Add(n, big.NewInt(1))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// TestLookupIgnoresProxyEnvironment checks that the default client does not
// take a proxy from the environment: the "proxy" is a canary that must see
// no connection.
func TestLookupIgnoresProxyEnvironment(t *testing.T) {
	c4 := newCanary(t, "tcp4", "127.0.0.1:0")
	proxy := fmt.Sprintf("http://127.0.0.1:%d", c4.port())
	t.Setenv("HTTPS_PROXY", proxy)
	t.Setenv("HTTP_PROXY", proxy)
	t.Setenv("NO_PROXY", "")
	p := newPod(t, true)
	if _, err := p.client().Lookup(ctxT(t), p.id()); err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if n := c4.conns.Load(); n != 0 {
		t.Errorf("the proxy from the environment got %d connections", n)
	}
}

// GUIDs of the identity-poisoning tests: evil's own, and vic's on pod B.
const (
	evilGUID = "e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0"
	vicGUID  = "7e57c0de7e57c0de7e57c0de7e57c0de"
)

// evilJRD is the WebFinger document of evil@host linking hcard.
func evilJRD(host, hcard string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jrd+json")
		fmt.Fprintf(w, `{"subject":"acct:evil@%s","links":[{"rel":"http://microformats.org/profile/hcard","type":"text/html","href":%q},{"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":"https://%s/"}]}`,
			host, hcard, host)
	}
}

// TestLookupHCardOnAnotherPod is identity poisoning with the default
// client: evil@A's WebFinger links vic's hCard on pod B (another port of
// 127.0.0.1, which the client may reach). The lookup is refused before
// anything is asked of B.
func TestLookupHCardOnAnotherPod(t *testing.T) {
	a, b := newPod(t, true), newPod(t, true)
	a.handle("/.well-known/webfinger", evilJRD(a.host, "https://"+b.host+"/hcard/users/"+aliceGUID))
	c := a.client()
	c.AllowedAddrs = append(c.AllowedAddrs, b.client().AllowedAddrs...)
	if _, err := b.client().Lookup(ctxT(t), b.id()); err != nil { // B itself is reachable
		t.Fatalf("Lookup of B's own person: %v", err)
	}
	before := b.requests()
	person, err := c.Lookup(ctxT(t), "evil@"+a.host)
	if !errors.Is(err, discovery.ErrForeignHCard) {
		t.Fatalf("Lookup = %+v, %v; want ErrForeignHCard", person, err)
	}
	if discovery.IsTemporary(err) || discovery.Category(err) != "foreign_hcard" {
		t.Errorf("IsTemporary = %v, Category = %q; want final foreign_hcard", discovery.IsTemporary(err), discovery.Category(err))
	}
	if n := b.requests() - before; n != 0 {
		t.Errorf("pod B received %d requests", n)
	}
	if n := a.count("/.well-known/host-meta"); n != 0 {
		t.Errorf("fell back to host-meta %d times after a foreign hCard", n)
	}
}

// TestLookupHCardHost checks the hCard host rule with pods reached by name:
// evil@a.example's WebFinger (on pod A) links the hCard of each case. Pod
// B answers for b.example and for a.example:8443 and x.a.example; it serves
// vic's hCard and must never be asked. Pod P is a plain-http a.example:80.
func TestLookupHCardHost(t *testing.T) {
	tests := []struct {
		name      string
		href      string
		serve     map[string]http.HandlerFunc // extra paths of pod A
		allowHTTP bool
		want      error  // nil: accepted
		wantURL   string // Person.HCardURL when accepted; "" means href
	}{
		{name: "other host", href: "https://b.example/hcard/users/" + vicGUID, want: discovery.ErrForeignHCard},
		{name: "subdomain", href: "https://x.a.example/hcard/users/" + vicGUID, want: discovery.ErrForeignHCard},
		{name: "other port", href: "https://a.example:8443/hcard/users/" + vicGUID, want: discovery.ErrForeignHCard},
		{name: "scheme-relative other host", href: "//b.example/hcard/users/" + vicGUID, want: discovery.ErrForeignHCard},
		{name: "redirect to other host", href: "https://a.example/moved/" + vicGUID, want: discovery.ErrForeignHCard,
			serve: map[string]http.HandlerFunc{"/moved/" + vicGUID: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "https://b.example/hcard/users/"+vicGUID, http.StatusFound)
			}}},
		{name: "legacy XRD links other host", want: discovery.ErrForeignHCard,
			serve: map[string]http.HandlerFunc{
				"/.well-known/webfinger": notFound,
				"/.well-known/webfinger.xml": func(w http.ResponseWriter, r *http.Request) {
					wf := discovery.NewWebFinger("https://a.example/", "evil@a.example", evilGUID)
					wf.Links[0].Href = "https://b.example/hcard/users/" + vicGUID
					w.Write(wf.XRD())
				},
			}},
		{name: "same host", href: "https://a.example/hcard/users/" + evilGUID},
		{name: "same host in upper case", href: "https://A.Example/hcard/users/" + evilGUID},
		{name: "explicit default https port", href: "https://a.example:443/hcard/users/" + evilGUID},
		{name: "explicit default http port", href: "http://a.example:80/hcard/users/" + evilGUID, allowHTTP: true},
		{name: "scheme-relative same host", href: "//a.example/hcard/users/" + evilGUID, wantURL: "https://a.example/hcard/users/" + evilGUID},
		{name: "redirect within the host", href: "https://a.example/moved/" + evilGUID,
			serve: map[string]http.HandlerFunc{"/moved/" + evilGUID: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/hcard/users/"+evilGUID, http.StatusFound)
			}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newPod(t, true).rename("a.example", "evil", evilGUID)
			b := newPod(t, true).rename("b.example", "vic", vicGUID)
			plain := newPod(t, false).rename("a.example", "evil", evilGUID)
			if tt.href != "" {
				a.handle("/.well-known/webfinger", evilJRD("a.example", tt.href))
			}
			for path, f := range tt.serve {
				a.handle(path, f)
			}
			c := namedClient(t, map[string]*pod{"a.example:443": a, "a.example:80": plain,
				"b.example:443": b, "a.example:8443": b, "x.a.example:443": b})
			c.AllowHTTP = tt.allowHTTP
			person, err := c.Lookup(ctxT(t), "evil@a.example")
			if n := b.requests(); n != 0 {
				t.Errorf("pod B received %d requests", n)
			}
			if tt.want != nil {
				if !errors.Is(err, tt.want) || discovery.IsTemporary(err) {
					t.Fatalf("Lookup = %+v, %v; want final %v", person, err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			wantURL := tt.wantURL
			if wantURL == "" {
				wantURL = tt.href
			}
			if person.ID != "evil@a.example" || person.GUID != evilGUID || person.HCardURL != wantURL {
				t.Errorf("Lookup = ID %q GUID %q HCardURL %q; want evil@a.example, %s, %s", person.ID, person.GUID, person.HCardURL, evilGUID, wantURL)
			}
		})
	}
}
