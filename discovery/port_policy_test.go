package discovery_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

// TestPortPolicyRedirects follows redirects to ports the policy does not
// admit: each hop is refused before any name is resolved or any
// connection attempted, and the loopback canary sees nothing. The
// positive control is the same client following a redirect to the pod's
// own (listed) address and port.
func TestPortPolicyRedirects(t *testing.T) {
	can := newCanary(t, "tcp4", "127.0.0.1:0")
	for _, tc := range []struct {
		name   string
		target string
		ports  []uint16
		want   error
	}{
		// .invalid never resolves: reaching the resolver would be a
		// network error, not ErrBlockedURL.
		{"name on 8443", "https://pod.invalid:8443/x", nil, discovery.ErrBlockedURL},
		{"name on 22", "https://pod.invalid:22/x", []uint16{443, 8443}, discovery.ErrBlockedURL},
		{"public literal on 8080", "https://8.8.8.8:8080/x", nil, discovery.ErrBlockedURL},
		{"http on 80 without AllowHTTP", "http://pod.invalid/x", nil, discovery.ErrBlockedURL},
		{"localhost on the canary's port", fmt.Sprintf("https://localhost:%d/x", can.port()), nil, discovery.ErrBlockedURL},
		// With the canary's port admitted, the address is refused at dial.
		{"localhost on an admitted port", fmt.Sprintf("https://localhost:%d/x", can.port()), []uint16{443, uint16(can.port())}, discovery.ErrBlockedAddress},
		{"wildcard keeps loopback out", fmt.Sprintf("https://localhost:%d/x", can.port()), []uint16{0}, discovery.ErrBlockedAddress},
		{"control: the pod's own port", "", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPod(t, true)
			target := tc.target
			if target == "" {
				target = "https://" + p.host + "/r1"
			}
			p.handle("/.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, target, http.StatusFound)
			})
			p.handle("/r1", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, jrdFor(p, "acct:"+p.id())) })
			c := p.client()
			c.AllowedPorts = tc.ports
			c.NoHostMetaFallback = true
			_, err := c.Lookup(ctxT(t), p.id())
			if tc.want == nil {
				if err != nil {
					t.Fatalf("control: %v", err)
				}
				if p.count("/r1") != 1 {
					t.Errorf("control: /r1 served %d times", p.count("/r1"))
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Lookup = %v, want %v", err, tc.want)
			}
			if discovery.IsTemporary(err) {
				t.Errorf("IsTemporary(%v) = true", err)
			}
		})
	}
	if n := can.conns.Load(); n != 0 {
		t.Errorf("the loopback canary saw %d connections", n)
	}
}

// TestGuardedHTTPClientPorts: the pod's deliveries and fetches go through
// the same port policy, redirect hops included.
func TestGuardedHTTPClientPorts(t *testing.T) {
	p := newPod(t, true)
	p.handle("/ok", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	p.handle("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://pod.invalid:8443/x", http.StatusFound)
	})
	hc := p.client().GuardedHTTPClient()
	resp, err := hc.Get("https://" + p.host + "/ok")
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("control: GET the pod: %v %v", resp, err)
	}
	resp.Body.Close()
	for _, u := range []string{"https://pod.invalid:8443/x", "https://8.8.8.8:8080/x", "https://pod.invalid:80/x"} {
		if _, err := hc.Get(u); !errors.Is(err, discovery.ErrBlockedURL) {
			t.Errorf("GET %s = %v, want ErrBlockedURL", u, err)
		}
	}
	hc.CheckRedirect = nil
	if _, err := hc.Get("https://" + p.host + "/away"); !errors.Is(err, discovery.ErrBlockedURL) {
		t.Errorf("redirect to a refused port = %v, want ErrBlockedURL", err)
	}
}
