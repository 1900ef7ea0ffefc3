package discovery_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
)

const aliceGUID = "b6c0ee9f3bcf577314f84bc0ccaab0b1"

// directory is an in-memory discovery.Directory.
type directory struct {
	mu     sync.Mutex
	people []*discovery.Person
}

func (d *directory) add(p *discovery.Person) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.people = append(d.people, p)
}

func (d *directory) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.people {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

func (d *directory) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, p := range d.people {
		if p.GUID == guid {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

func (d *directory) Usage(context.Context) (discovery.Usage, error) {
	n := int64(len(d.people))
	return discovery.Usage{Users: discovery.UserCounts{Total: &n}}, nil
}

// pod is a fake remote pod on loopback. Its mux starts with the
// discovery.Handler routes; tests override paths with handle.
type pod struct {
	t       *testing.T
	srv     *httptest.Server
	host    string // 127.0.0.1:port
	dir     *directory
	mu      sync.Mutex
	custom  map[string]http.HandlerFunc
	hits    sync.Map // path -> *atomic.Int64
	handler *discovery.Handler
}

func newPod(t *testing.T, useTLS bool) *pod {
	t.Helper()
	p := &pod{t: t, dir: &directory{}, custom: map[string]http.HandlerFunc{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := p.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
		c.(*atomic.Int64).Add(1)
		p.mu.Lock()
		f := p.custom[r.URL.Path]
		p.mu.Unlock()
		if f != nil {
			f(w, r)
			return
		}
		p.handler.ServeHTTP(w, r)
	})
	if useTLS {
		p.srv = httptest.NewTLSServer(h)
	} else {
		p.srv = httptest.NewServer(h)
	}
	t.Cleanup(p.srv.Close)
	p.host = p.srv.Listener.Addr().String()
	p.handler = &discovery.Handler{BaseURL: p.srv.URL + "/", Directory: p.dir}
	key, err := os.ReadFile(filepath.Join(referenceSet, "keys", "alice.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	p.dir.add(&discovery.Person{
		ID: "alice@" + p.host, GUID: aliceGUID, PublicKeyPEM: string(key),
		FullName: "Alice Liddell", FirstName: "Alice", LastName: "Liddell", Searchable: true,
		AvatarLarge: "/uploads/l.jpg",
	})
	return p
}

func (p *pod) id() string { return "alice@" + p.host }

func (p *pod) handle(path string, f http.HandlerFunc) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.custom[path] = f
}

func (p *pod) count(path string) int64 {
	c, ok := p.hits.Load(path)
	if !ok {
		return 0
	}
	return c.(*atomic.Int64).Load()
}

// client returns a Client that trusts the pod's certificate and may
// connect to the pod's exact address and port, and nowhere else on
// loopback.
func (p *pod) client() *discovery.Client {
	pool := x509.NewCertPool()
	if cert := p.srv.Certificate(); cert != nil {
		pool.AddCert(cert)
	}
	return &discovery.Client{
		TLSClientConfig: &tls.Config{RootCAs: pool},
		AllowedAddrs:    []netip.AddrPort{netip.MustParseAddrPort(p.host)},
		Timeout:         5 * time.Second,
	}
}

// requests returns how many requests the pod received, on any path.
func (p *pod) requests() int64 {
	var n int64
	p.hits.Range(func(_, c any) bool {
		n += c.(*atomic.Int64).Load()
		return true
	})
	return n
}

// rename makes the pod answer as the pod at name (the host[:port] of its
// URLs and of its person's ID): its base URL becomes https://name/ and its
// only person user@name, with GUID guid.
func (p *pod) rename(name, user, guid string) *pod {
	p.dir.mu.Lock()
	p.dir.people[0].ID = user + "@" + name
	p.dir.people[0].GUID = guid
	p.dir.mu.Unlock()
	p.handler.BaseURL = "https://" + name + "/"
	return p
}

// namedClient returns a Client that reaches test pods by name: a request
// for host:port is dialled at names[host:port] (host lowercased), any other
// address is refused by the test's dialer. The pods' certificate is trusted
// for every name. AllowedPorts admits 80, 443 and 8443.
func namedClient(t *testing.T, names map[string]*pod) *discovery.Client {
	t.Helper()
	pool := x509.NewCertPool()
	for _, p := range names {
		if cert := p.srv.Certificate(); cert != nil {
			pool.AddCert(cert)
		}
	}
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			p, ok := names[strings.ToLower(addr)]
			if !ok {
				return nil, fmt.Errorf("test dialer: %s is not a test pod", addr)
			}
			return d.DialContext(ctx, network, p.host)
		},
		// httptest's certificate is for example.com (and loopback).
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "example.com"},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &discovery.Client{HTTPClient: &http.Client{Transport: tr}, AllowedPorts: []uint16{80, 443, 8443}, Timeout: 5 * time.Second}
}

// canary is a loopback listener that must never see a connection.
type canary struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCanary(t *testing.T, network, addr string) *canary {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) port() int { return c.ln.Addr().(*net.TCPAddr).Port }

func jrdFor(p *pod, subject string) string {
	return fmt.Sprintf(`{"subject":%q,"links":[{"rel":"http://microformats.org/profile/hcard","type":"text/html","href":"https://%s/hcard/users/%s"},{"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":"https://%s/"}]}`,
		subject, p.host, aliceGUID, p.host)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func notFound(w http.ResponseWriter, _ *http.Request) { http.NotFound(w, nil) }
