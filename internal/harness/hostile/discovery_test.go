package hostile_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// directory serves alice on the fake pod.
type directory struct{ p *discovery.Person }

func (d directory) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	if id == d.p.ID {
		return d.p, nil
	}
	return nil, discovery.ErrNotFound
}

func (d directory) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	if guid == d.p.GUID {
		return d.p, nil
	}
	return nil, discovery.ErrNotFound
}

// fakePod is a loopback pod serving alice's genuine discovery documents,
// except for the paths a variant overrides.
type fakePod struct {
	srv      *httptest.Server
	host     string
	scheme   string
	requests atomic.Int64
	hcards   atomic.Int64 // requests for /hcard/...
	subst    func([]byte) []byte
	// otherHost is the address of the other fake pod ({{OTHER_POD}}),
	// when the variant has one.
	otherHost string
	// canaryPort is admitted by the client's port policy, so that the
	// canary's address is what the guard refuses.
	canaryPort uint16
}

var (
	bombOnce sync.Once
	bomb     []byte
)

// gzipBomb is 1,024 gzip members of 1 MiB of zeros: 1 GiB inflated.
func gzipBomb(t testing.TB) []byte {
	bombOnce.Do(func() {
		var one bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
		zw.Write(make([]byte, 1<<20))
		zw.Close()
		bomb = bytes.Repeat(one.Bytes(), 1024)
	})
	return bomb
}

func newFakePod(t *testing.T, m Meta, v Variant, useTLS bool, can *canary) *fakePod {
	t.Helper()
	p := &fakePod{}
	var handler *discovery.Handler
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.requests.Add(1)
		if strings.HasPrefix(r.URL.Path, "/hcard/") {
			p.hcards.Add(1)
		}
		spec, ok := v.Serve[r.URL.Path]
		if !ok {
			handler.ServeHTTP(w, r)
			return
		}
		kind, arg, _ := strings.Cut(spec, ":")
		switch kind {
		case "file":
			b, err := os.ReadFile(filepath.Join(corpusDir, m.ID, arg))
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			w.Header().Set("Content-Type", contentTypeOf(arg))
			w.Write(p.subst(b))
		case "gen":
			w.Header().Set("Content-Type", "application/jrd+json")
			w.Write(p.subst(generators[spec](t)))
		case "status":
			code, _ := strconv.Atoi(arg)
			http.Error(w, "no", code)
		case "redirect":
			http.Redirect(w, r, string(p.subst([]byte(arg))), http.StatusFound)
		case "special":
			serveSpecial(t, w, r, arg)
		default:
			http.Error(w, "bad spec", 500)
		}
	})
	if useTLS {
		p.srv, p.scheme = httptest.NewTLSServer(h), "https"
	} else {
		p.srv, p.scheme = httptest.NewServer(h), "http"
	}
	t.Cleanup(p.srv.Close)
	p.host = p.srv.Listener.Addr().String()
	_, canaryPort, _ := net.SplitHostPort(can.addr())
	cp, _ := strconv.ParseUint(canaryPort, 10, 16)
	p.canaryPort = uint16(cp)
	_, podPort, _ := net.SplitHostPort(p.host)
	rep := strings.NewReplacer("{{POD}}", p.host, "{{CANARY}}", can.addr(), "{{CANARY_PORT}}", canaryPort, "{{POD_PORT}}", podPort, "{{SCHEME}}", p.scheme)
	p.subst = func(b []byte) []byte {
		return []byte(strings.ReplaceAll(rep.Replace(string(b)), "{{OTHER_POD}}", p.otherHost))
	}
	key, err := vectors.Reference(t).ReadFile("keys/alice.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	handler = &discovery.Handler{BaseURL: p.srv.URL + "/", Directory: directory{&discovery.Person{
		ID: "alice@" + p.host, GUID: aliceGUID, PublicKeyPEM: string(key),
		FullName: "Alice Liddell", FirstName: "Alice", LastName: "Liddell", Searchable: true, AvatarLarge: "/uploads/l.jpg",
	}}}
	return p
}

func (p *fakePod) substString(s string) string { return string(p.subst([]byte(s))) }

func contentTypeOf(name string) string {
	switch filepath.Ext(name) {
	case ".json":
		return "application/jrd+json"
	case ".xml":
		return "application/xrd+xml"
	}
	return "text/html; charset=utf-8"
}

func serveSpecial(t testing.TB, w http.ResponseWriter, r *http.Request, what string) {
	switch what {
	case "gzip_bomb":
		w.Header().Set("Content-Type", "application/jrd+json")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gzipBomb(t))
	case "short_content_length":
		hj, ok := w.(http.Hijacker)
		if !ok {
			http.Error(w, "no hijack", 500)
			return
		}
		conn, buf, err := hj.Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		body := `{"subject":"acct:alice@x","links":[]}`
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/jrd+json\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" + body)
		buf.Flush()
	case "trickle":
		w.Header().Set("Content-Type", "application/jrd+json")
		f, _ := w.(http.Flusher)
		for i := 0; i < 100; i++ {
			if _, err := w.Write([]byte("{")); err != nil {
				return
			}
			if f != nil {
				f.Flush()
			}
			select {
			case <-r.Context().Done():
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	case "endless":
		w.Header().Set("Content-Type", "application/jrd+json")
		chunk := bytes.Repeat([]byte(" "), 32<<10)
		for i := 0; i < 2048; i++ { // at most 64 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
			if r.Context().Err() != nil {
				return
			}
		}
	default:
		http.Error(w, "unknown special", 500)
	}
}

func (p *fakePod) client(v Variant, useTLS bool) *discovery.Client {
	c := &discovery.Client{
		AllowHTTP:    !useTLS,
		AllowedAddrs: []netip.AddrPort{netip.MustParseAddrPort(p.host)},
		AllowedPorts: []uint16{80, 443, p.canaryPort},
		Timeout:      5 * time.Second,
	}
	if v.Has("timeout_1s") {
		c.Timeout = time.Second
	}
	c.NoHostMetaFallback = v.Has("no_host_meta_fallback")
	if useTLS {
		pool := x509.NewCertPool()
		pool.AddCert(p.srv.Certificate())
		c.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return c
}

func discoveryCategory(err error) string {
	if errors.Is(err, discovery.ErrKeyConflict) {
		return "key_conflict"
	}
	return discovery.Category(err)
}

func replayDiscovery(t *testing.T, m Meta, v Variant) {
	can := newCanary(t)
	useTLS := v.Has("tls") || v.Entry == "discovery_no_downgrade"
	p := newFakePod(t, m, v, useTLS, can)
	if v.Entry == "discovery_no_downgrade" {
		// The pod speaks plain http only.
		p.srv.Close()
		p2 := newFakePod(t, m, v, false, can)
		c := &discovery.Client{AllowedAddrs: []netip.AddrPort{netip.MustParseAddrPort(p2.host)}, Timeout: 5 * time.Second}
		_, err := c.Lookup(ctxT(t), p2.substString(v.LookupID))
		checkErr(t, v, err, discoveryCategory)
		if n := p2.requests.Load(); n != 0 {
			t.Errorf("the plain-http pod served %d requests", n)
		}
		if n := can.conns.Load(); n != 0 {
			t.Errorf("canary saw %d connections", n)
		}
		return
	}
	// The other fake pod serves alice's genuine documents on another
	// port of 127.0.0.1, which the client may reach: the hCard host rule,
	// not the address guard, is what keeps it out of a lookup.
	var other *fakePod
	if v.Has("other_pod") || v.Entry == "discovery_guid_conflict" {
		ov := v
		ov.Serve = nil
		other = newFakePod(t, m, ov, useTLS, can)
		p.otherHost = other.host
	}
	client := p.client(v, useTLS)
	if other != nil {
		client.AllowedAddrs = append(client.AllowedAddrs, netip.MustParseAddrPort(other.host))
	}
	cache := &discovery.MemoryCache{}
	id := p.substString(v.LookupID)
	var err error
	var person *discovery.Person
	switch v.Entry {
	case "discovery_guid_conflict":
		replayGUIDConflict(t, v, p, other, client, cache, id)
	case "discovery_rediscover":
		stored, perr := magicenv.ParsePublicKey(input(t, m, v), &magicenv.Options{MinKeyBits: 1024})
		if perr != nil {
			t.Fatal(perr)
		}
		pemText, _ := discovery.MarshalPublicKey(stored)
		if err := cache.Put(ctxT(t), &discovery.Person{ID: id, GUID: aliceGUID, PublicKey: stored, PublicKeyPEM: pemText}); err != nil {
			t.Fatal(err)
		}
		person, err = client.Lookup(ctxT(t), id)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		err = cache.Put(ctxT(t), person)
		checkErr(t, v, err, discoveryCategory)
		got, gerr := cache.Get(ctxT(t), id)
		if gerr != nil || !got.PublicKey.Equal(stored) {
			t.Errorf("stored key replaced (%v)", gerr)
		}
	default:
		var dns *testDNS
		var host string
		if v.Has("test_dns") {
			dns = newTestDNS(t)
			client.Resolver = dns.resolver()
			host = hostOnly(id)
			if v.Has("dns_preflight") {
				// What a resolve-then-check guard would see: a public
				// address. The client's own dial resolves again.
				addrs, perr := client.Resolver.LookupNetIP(ctxT(t), "ip4", host)
				if perr != nil || len(addrs) != 1 || addrs[0] != rebindPublic {
					t.Fatalf("pre-flight resolution of %s = %v, %v; want %v", host, addrs, perr, rebindPublic)
				}
			}
		}
		r := &discovery.Resolver{Client: client, Cache: cache}
		person, err = r.Person(ctxT(t), id)
		if dns != nil {
			want := 1
			if v.Has("dns_preflight") {
				want = 2
			}
			if n := dns.queries(host); n < want {
				t.Errorf("the test DNS server saw %d A queries for %s, want ≥ %d: the dial did not resolve through it", n, host, want)
			}
			if len(v.AllowedOutbound) > 0 && p.requests.Load() == 0 {
				t.Error("control: the fake pod saw no request through the test DNS server")
			}
		}
		checkErr(t, v, err, discoveryCategory)
		if err == nil {
			alice := privateKey(t, alice).PublicKey
			if !person.PublicKey.Equal(&alice) {
				t.Error("control: not alice's key")
			}
		} else {
			nid, nerr := discovery.NormalizeID(id)
			if nerr == nil {
				if _, gerr := cache.Get(ctxT(t), nid); !errors.Is(gerr, discovery.ErrCacheMiss) {
					t.Errorf("something was cached after %v", err)
				}
			}
		}
	}
	if n := can.conns.Load(); n != 0 {
		t.Errorf("canary saw %d connections", n)
	}
	if len(v.AllowedOutbound) == 0 && p.requests.Load() != 0 {
		t.Errorf("fake pod saw %d requests; none allowed", p.requests.Load())
	}
	if other != nil && !slices.Contains(v.AllowedOutbound, "the other fake pod") && other.requests.Load() != 0 {
		t.Errorf("the other fake pod saw %d requests; none allowed", other.requests.Load())
	}
}

// replayGUIDConflict is the discovery_guid_conflict entry: the cache
// holds v.Holder with alice's GUID, either discovered through the
// Resolver (the holder's documents are the fake pod's) or, with the
// option poisoned_cache, stored directly as a Lookup without the hCard
// host rule would have stored it. Then the Resolver looks up id, alice on
// the other fake pod, which serves the same GUID: the holder must be
// re-discovered, and the cache either repaired (holder deleted, alice
// stored) or left unchanged with a *GUIDConflictError.
func replayGUIDConflict(t *testing.T, v Variant, p, other *fakePod, client *discovery.Client, cache *discovery.MemoryCache, id string) {
	ctx := ctxT(t)
	holder := p.substString(v.Holder)
	r := &discovery.Resolver{Client: client, Cache: cache}
	alicePub := privateKey(t, alice).PublicKey
	if v.Has("poisoned_cache") {
		pemText, err := discovery.MarshalPublicKey(&alicePub)
		if err != nil {
			t.Fatal(err)
		}
		if err := cache.Put(ctx, &discovery.Person{ID: holder, GUID: aliceGUID, PublicKey: &alicePub, PublicKeyPEM: pemText}); err != nil {
			t.Fatal(err)
		}
	} else if hp, err := r.Person(ctx, holder); err != nil || hp.GUID != aliceGUID {
		t.Fatalf("discovering the holder %s: %+v, %v; want alice's GUID", holder, hp, err)
	}
	holderRequests, otherHCards := p.requests.Load(), other.hcards.Load()
	person, err := r.Person(ctx, id)
	checkErr(t, v, err, discoveryCategory)
	if p.requests.Load() == holderRequests {
		t.Error("the holder was not re-discovered")
	}
	if n := other.hcards.Load() - otherHCards; n != 1 {
		t.Errorf("the other fake pod served %d hCards; want 1, to the lookup of %s only", n, id)
	}
	held, herr := cache.Get(ctx, holder)
	stored, serr := cache.Get(ctx, id)
	if err == nil {
		if person.GUID != aliceGUID || !person.PublicKey.Equal(&alicePub) {
			t.Errorf("control: %+v is not alice", person)
		}
		if !errors.Is(herr, discovery.ErrCacheMiss) {
			t.Errorf("the holder's entry is still cached: %+v, %v", held, herr)
		}
		if serr != nil || stored.GUID != aliceGUID {
			t.Errorf("alice not cached: %+v, %v", stored, serr)
		}
		return
	}
	var ge *discovery.GUIDConflictError
	if !errors.As(err, &ge) || ge.GUID != aliceGUID || ge.ID != id || ge.Holder != holder {
		t.Errorf("error %v is not the *GUIDConflictError of %s with %s", err, id, holder)
	}
	if herr != nil || held.GUID != aliceGUID {
		t.Errorf("the holder's entry changed: %+v, %v", held, herr)
	}
	if !errors.Is(serr, discovery.ErrCacheMiss) {
		t.Errorf("%s cached despite the conflict: %+v, %v", id, stored, serr)
	}
}

func replayDiscoveryParse(t *testing.T, m Meta, v Variant) {
	body := input(t, m, v)
	var err error
	switch v.Entry {
	case "discovery_parse_hcard":
		var h *discovery.HCard
		if h, err = discovery.ParseHCard(body); err == nil {
			_, err = h.PublicKey()
		}
	case "discovery_parse_host_meta":
		_, err = discovery.ParseHostMeta(body)
	case "discovery_parse_jrd":
		_, err = discovery.ParseJRD(body)
	}
	checkErr(t, v, err, discoveryCategory)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// errTestBlocked is the test dialer's refusal.
var errTestBlocked = errors.New("hostile test: address not allowed")

// replayFetch receives a relayable whose parent is unknown, with a
// Fetcher resolving the parent from a fake pod.
func replayFetch(t *testing.T, m Meta, v Variant) {
	can := newCanary(t)
	p := newFakePod(t, m, v, false, can)
	body := input(t, m, v)
	keys := &countingKeys{env: conformance.NewEnv(vectors.Reference(t))}
	r := &salmon.Receiver{Keys: keys, Entities: keys.env}
	dialer := &net.Dialer{Timeout: 2 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		if address != p.host {
			return errTestBlocked
		}
		return nil
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	var pods atomic.Int64
	f := &salmon.Fetcher{
		Receiver:   r,
		HTTPClient: hc,
		Pod: func(context.Context, string) (string, error) {
			pods.Add(1)
			return p.srv.URL + "/", nil
		},
		Timeout: 5 * time.Second,
	}
	r.Fetch = f.Related
	msg, err := r.ReceivePublic(ctxT(t), body)
	checkErr(t, v, err, category)
	if err == nil && msg == nil {
		t.Error("no message")
	}
	if err != nil && msg != nil {
		t.Error("message returned with an error")
	}
	if n := can.conns.Load(); n != 0 {
		t.Errorf("canary saw %d connections", n)
	}
	if n := p.requests.Load(); n > 2 {
		t.Errorf("%d requests to the fake pod for one parent", n)
	}
	if v.Name == "parent_redirect_to_loopback" && !errors.Is(err, errTestBlocked) {
		t.Errorf("redirect not refused by the client's dialer: %v", err)
	}
}

// replayDiscoveredSender receives an envelope whose sender's key is
// found by a discovery.Client against the fake pod.
func replayDiscoveredSender(t *testing.T, m Meta, v Variant) {
	can := newCanary(t)
	p := newFakePod(t, m, v, false, can)
	payload := p.subst(input(t, m, v))
	sender := p.substString(v.Sender)
	body := signed(t, payload, sender, v.Signer)
	env := conformance.NewEnv(vectors.Reference(t))
	r := &salmon.Receiver{Keys: p.client(v, false), Entities: env}
	msg, err := r.ReceivePublic(ctxT(t), body)
	checkErr(t, v, err, category)
	if err != nil && salmon.IsTemporary(err) {
		t.Errorf("temporary: %v", err)
	}
	if v.Positive && (msg == nil || msg.Sender != sender) {
		t.Errorf("message %+v", msg)
	}
	if n := can.conns.Load(); n != 0 {
		t.Errorf("canary saw %d connections", n)
	}
	if n := p.requests.Load(); n > 3 {
		t.Errorf("%d requests to the fake pod", n)
	}
	t.Logf("%d requests to the fake pod", p.requests.Load())
}
