package discovery

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

// TestDialControl checks the function the dialer runs between creating
// the socket and connecting it. It is called directly, so no connection
// to these addresses is ever attempted by the test.
func TestDialControl(t *testing.T) {
	c := &Client{AllowedAddrs: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8443"), netip.MustParseAddrPort("[::1]:0")}}
	for addr, ok := range map[string]bool{
		"10.0.0.1:443":          false,
		"127.0.0.1:8443":        true,
		"127.0.0.1:8444":        false,
		"[::1]:1234":            true,
		"[::ffff:127.0.0.1]:80": false,
		"8.8.8.8:443":           true,
		"garbage":               false,
	} {
		err := c.dialControl("tcp", addr, nil)
		if ok != (err == nil) {
			t.Errorf("dialControl(%s) = %v, want allowed=%v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("dialControl(%s) = %v, want ErrBlockedAddress", addr, err)
		}
	}
}

func TestCheckURL(t *testing.T) {
	c := &Client{}
	for raw, want := range map[string]error{
		"https://pod.example/x":             nil,
		"http://pod.example/x":              ErrBlockedURL,
		"file:///etc/passwd":                ErrBlockedURL,
		"gopher://pod.example/":             ErrBlockedURL,
		"https://user:pw@pod.example/":      ErrBlockedURL,
		"https:///x":                        ErrBlockedURL,
		"https://10.0.0.1/":                 ErrBlockedAddress,
		"https://[::ffff:10.0.0.1]:8080/":   ErrBlockedAddress,
		"https://pod.example/" + long(4096): ErrBlockedURL,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.checkURL(u); !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("checkURL(%.60s) = %v, want %v", raw, err, want)
		}
	}
}

func long(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}
