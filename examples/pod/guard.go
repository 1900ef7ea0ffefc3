package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// errBlockedAddress: the delivery client refused to dial a reserved address.
var errBlockedAddress = errors.New("pod: address not allowed")

// reserved are the ranges no federation request may reach outside
// development mode: the peer's DNS decides where a URL points, so the
// check runs on the address actually dialled.
var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64
	netip.MustParsePrefix("2001:db8::/32"),
}

// allowedAddr reports whether the pod may connect to ip. Development
// mode also allows loopback, so that pods on one machine can federate.
func allowedAddr(ip netip.Addr, dev bool) bool {
	ip = ip.Unmap()
	if dev && ip.IsLoopback() {
		return true
	}
	if !ip.IsValid() || ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() {
		return false
	}
	for _, p := range reserved {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// guardedClient is the HTTP client of the delivery Sender: its dialer
// checks every address before connecting (SSRF guard), it uses no proxy
// from the environment and has the timeouts of SECURITY.md R3.
func guardedClient(dev bool) *http.Client {
	d := &net.Dialer{
		Timeout: 5 * time.Second,
		Control: func(network, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", errBlockedAddress, address)
			}
			if !allowedAddr(ap.Addr(), dev) {
				return fmt.Errorf("%w: %s", errBlockedAddress, address)
			}
			return nil
		},
	}
	var rt http.RoundTripper = &http.Transport{
		Proxy:                 nil,
		DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: 10 * time.Second,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       90 * time.Second,
	}
	if !dev {
		rt = httpsOnly{rt}
	}
	return &http.Client{
		Transport: rt,
		Timeout:   20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// httpsOnly refuses every request that is not https, redirects included,
// whatever the client's redirect policy.
type httpsOnly struct{ next http.RoundTripper }

func (h httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "https" {
		return nil, fmt.Errorf("%w: %s is not https", errBlockedAddress, req.URL.Redacted())
	}
	return h.next.RoundTrip(req)
}
