package discovery_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

// The exported guarded client: allowed pod reachable, everything else
// refused before a connection, redirects not followed by default and
// refused per hop when the caller follows them.
func TestGuardedHTTPClient(t *testing.T) {
	p := newPod(t, true)
	p.handle("/receive/public", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusAccepted) })
	canary := newCanary(t, "tcp4", "127.0.0.1:0")
	p.handle("/to-canary", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, fmt.Sprintf("https://127.0.0.1:%d/x", canary.port()), http.StatusFound)
	})
	c := p.client()
	hc := c.GuardedHTTPClient()

	resp, err := hc.Post("https://"+p.host+"/receive/public", "application/magic-envelope+xml", strings.NewReader("<x/>"))
	if err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST to the allowed pod: %v %v", resp, err)
	}
	resp.Body.Close()

	for _, u := range []string{
		fmt.Sprintf("https://127.0.0.1:%d/x", canary.port()),
		"https://10.0.0.1/x",
		"https://[::ffff:127.0.0.1]:443/x",
		"http://" + p.host + "/receive/public",
		"ftp://" + p.host + "/x",
		"https://user:pw@" + p.host + "/x",
	} {
		if _, err := hc.Get(u); err == nil {
			t.Errorf("GET %s succeeded", u)
		}
	}
	// Not followed by default...
	resp, err = hc.Get("https://" + p.host + "/to-canary")
	if err != nil || resp.StatusCode != http.StatusFound {
		t.Fatalf("redirect: %v %v, want the 302 itself", resp, err)
	}
	resp.Body.Close()
	// ...and refused at the hop when a caller follows redirects.
	hc.CheckRedirect = nil
	if _, err := hc.Get("https://" + p.host + "/to-canary"); err == nil {
		t.Error("redirect to a reserved address followed")
	}
	if n := canary.conns.Load(); n != 0 {
		t.Errorf("the canary saw %d connections", n)
	}
	// http with AllowHTTP.
	dev := &discovery.Client{AllowHTTP: true, AllowedAddrs: c.AllowedAddrs}
	if _, err := dev.GuardedHTTPClient().Get("http://10.0.0.1/x"); err == nil {
		t.Error("AllowHTTP opened reserved addresses")
	}
}
