package discovery

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

func TestReservedAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"255.255.255.255", "240.0.0.1", "192.0.0.8", "198.18.0.1", "192.0.2.1",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:7f00:1::1",
		"2001:db8::1", "fec0::1", "64:ff9b:1::1",
	}
	for _, s := range blocked {
		if !reservedAddr(netip.MustParseAddr(s)) {
			t.Errorf("reservedAddr(%s) = false, want true", s)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "172.32.0.1", "100.128.0.1"}
	for _, s := range allowed {
		if reservedAddr(netip.MustParseAddr(s)) {
			t.Errorf("reservedAddr(%s) = true, want false", s)
		}
	}
}

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
