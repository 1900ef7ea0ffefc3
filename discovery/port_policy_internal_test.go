package discovery

import (
	"errors"
	"net/netip"
	"net/url"
	"testing"
)

// TestCheckURLPorts checks the port policy of the URL stage: default
// ports, AllowHTTP's port 80, an explicit list, the 0 wildcard, and
// AllowedAddrs entries admitting their own ports.
func TestCheckURLPorts(t *testing.T) {
	listed := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8443"), netip.MustParseAddrPort("[::1]:0")}
	for _, tc := range []struct {
		name string
		c    *Client
		url  string
		want error
	}{
		{"default 443", &Client{}, "https://pod.example/x", nil},
		{"default explicit 443", &Client{}, "https://pod.example:443/x", nil},
		{"default 8443", &Client{}, "https://pod.example:8443/x", ErrBlockedURL},
		{"default 80 over https", &Client{}, "https://pod.example:80/x", ErrBlockedURL},
		{"default public literal 8080", &Client{}, "https://8.8.8.8:8080/x", ErrBlockedURL},
		{"default public literal 443", &Client{}, "https://8.8.8.8/x", nil},
		{"port 0", &Client{AllowedPorts: []uint16{0}}, "https://pod.example:0/x", ErrBlockedURL},
		{"port garbage", &Client{AllowedPorts: []uint16{0}}, "https://pod.example:99999/x", ErrBlockedURL},
		{"AllowHTTP 80", &Client{AllowHTTP: true}, "http://pod.example/x", nil},
		{"AllowHTTP 80 over https", &Client{AllowHTTP: true}, "https://pod.example:80/x", nil},
		{"AllowHTTP 3000", &Client{AllowHTTP: true}, "http://pod.example:3000/x", ErrBlockedURL},
		{"list 8443", &Client{AllowedPorts: []uint16{8443}}, "https://pod.example:8443/x", nil},
		{"list 8443 refuses 443", &Client{AllowedPorts: []uint16{8443}}, "https://pod.example/x", ErrBlockedURL},
		{"list does not add 80", &Client{AllowHTTP: true, AllowedPorts: []uint16{443}}, "http://pod.example/x", ErrBlockedURL},
		{"wildcard", &Client{AllowedPorts: []uint16{0}}, "https://pod.example:3000/x", nil},
		{"wildcard keeps reserved out", &Client{AllowedPorts: []uint16{0}}, "https://10.0.0.1:3000/x", ErrBlockedAddress},
		{"reserved before port", &Client{}, "https://127.0.0.1:9/x", ErrBlockedAddress},
		{"listed literal own port", &Client{AllowedAddrs: listed}, "https://127.0.0.1:8443/x", nil},
		{"listed literal other port", &Client{AllowedAddrs: listed}, "https://127.0.0.1:8444/x", ErrBlockedAddress},
		{"listed zero port literal", &Client{AllowedAddrs: listed}, "https://[::1]:1234/x", nil},
		{"public literal on a listed port", &Client{AllowedAddrs: listed[:1]}, "https://8.8.8.8:8443/x", ErrBlockedURL},
		{"name on a listed port goes to the dial", &Client{AllowedAddrs: listed[:1]}, "https://localhost:8443/x", nil},
		{"name on an unlisted port", &Client{AllowedAddrs: listed[:1]}, "https://localhost:8444/x", ErrBlockedURL},
		{"name with a zero-port entry goes to the dial", &Client{AllowedAddrs: listed}, "https://localhost:8444/x", nil},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		err = tc.c.checkURL(u)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: checkURL(%s) = %v, want %v", tc.name, tc.url, err, tc.want)
		}
	}
}

// TestDialControlPorts checks the port policy at dial time, where a host
// name has become an address. dialControl is called directly, so no
// connection to these addresses is ever attempted.
func TestDialControlPorts(t *testing.T) {
	listed := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:8443")}
	for _, tc := range []struct {
		c    *Client
		addr string
		ok   bool
	}{
		{&Client{}, "8.8.8.8:443", true},
		{&Client{}, "8.8.8.8:80", false},
		{&Client{}, "8.8.8.8:8443", false},
		{&Client{}, "[2606:4700::1111]:22", false},
		{&Client{AllowHTTP: true}, "8.8.8.8:80", true},
		{&Client{AllowHTTP: true}, "8.8.8.8:8080", false},
		{&Client{AllowedPorts: []uint16{8443}}, "8.8.8.8:8443", true},
		{&Client{AllowedPorts: []uint16{8443}}, "8.8.8.8:443", false},
		{&Client{AllowedPorts: []uint16{0}}, "8.8.8.8:25", true},
		{&Client{AllowedPorts: []uint16{0}}, "127.0.0.1:25", false},
		{&Client{AllowedAddrs: listed}, "127.0.0.1:8443", true},
		{&Client{AllowedAddrs: listed}, "127.0.0.1:8444", false},
		// An entry's port admits that address only, not any address on it.
		{&Client{AllowedAddrs: listed}, "8.8.8.8:8443", false},
	} {
		err := tc.c.dialControl("tcp", tc.addr, nil)
		if tc.ok != (err == nil) {
			t.Errorf("%+v: dialControl(%s) = %v, want allowed=%v", tc.c.AllowedPorts, tc.addr, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBlockedAddress) {
			t.Errorf("dialControl(%s) = %v, want ErrBlockedAddress", tc.addr, err)
		}
	}
}
