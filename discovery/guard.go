package discovery

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"

	"github.com/go-diaspora/federation/internal/netguard"
)

// MaxRedirects is the number of redirects a GET may follow; every hop is
// checked again.
const MaxRedirects = 3

// maxURLLength bounds every URL the client fetches.
const maxURLLength = 2048

// reservedAddr reports whether a is an address a discovery client must
// not connect to: the module's one list, in internal/netguard.
func reservedAddr(a netip.Addr) bool { return netguard.Reserved(a) }

// DefaultPort is the only port a [Client] with an empty AllowedPorts
// connects to, besides [DefaultHTTPPort] when AllowHTTP is set.
const DefaultPort = 443

// DefaultHTTPPort is the port an empty AllowedPorts adds when AllowHTTP is
// set.
const DefaultHTTPPort = 80

// portAllowed reports whether the port policy admits port: AllowedPorts,
// or when it is empty 443 and (with AllowHTTP) 80. A 0 entry admits every
// port.
func (c *Client) portAllowed(port uint16) bool {
	if len(c.AllowedPorts) == 0 {
		return port == DefaultPort || (port == DefaultHTTPPort && c.AllowHTTP)
	}
	for _, p := range c.AllowedPorts {
		if p == 0 || p == port {
			return true
		}
	}
	return false
}

// addrListed reports whether ap is on AllowedAddrs (a zero port there
// matches any port).
func (c *Client) addrListed(ap netip.AddrPort) bool {
	for _, al := range c.AllowedAddrs {
		if al.Addr() == ap.Addr() && (al.Port() == 0 || al.Port() == ap.Port()) {
			return true
		}
	}
	return false
}

// portListed reports whether some AllowedAddrs entry admits port, so
// that a URL naming a host by name on that port may go on to the dial,
// where the address it resolves to decides.
func (c *Client) portListed(port uint16) bool {
	for _, al := range c.AllowedAddrs {
		if al.Port() == 0 || al.Port() == port {
			return true
		}
	}
	return false
}

// addrAllowed reports whether the client may connect to ap: it is on the
// allow-list, or it is not reserved and its port passes the port policy.
func (c *Client) addrAllowed(ap netip.AddrPort) bool {
	return c.addrListed(ap) || (!reservedAddr(ap.Addr()) && c.portAllowed(ap.Port()))
}

// dialControl runs after the socket is created and before it connects: it
// sees the address actually dialled, after name resolution, so a name that
// resolves (or re-resolves) to a reserved address, or a port the policy
// does not admit, is refused without a packet leaving.
func (c *Client) dialControl(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrBlockedAddress, address)
	}
	if !c.addrAllowed(ap) {
		if c.addrListed(ap) || !reservedAddr(ap.Addr()) {
			return fmt.Errorf("%w: %s (port %d not allowed)", ErrBlockedAddress, ap, ap.Port())
		}
		return fmt.Errorf("%w: %s", ErrBlockedAddress, ap)
	}
	return nil
}

// checkURL refuses URLs the client must not fetch: schemes other than
// https (and http when AllowHTTP is set), user information, no host,
// over-long URLs, ports the port policy does not admit (ErrBlockedURL),
// and IP-literal hosts in reserved ranges (ErrBlockedAddress). All of it
// happens before any name is resolved or any connection attempted; the
// address a host name resolves to is checked at dial time.
func (c *Client) checkURL(u *url.URL) error {
	switch {
	case len(u.String()) > maxURLLength:
		return fmt.Errorf("%w: longer than %d bytes", ErrBlockedURL, maxURLLength)
	case u.Scheme != "https" && !(u.Scheme == "http" && c.AllowHTTP):
		return fmt.Errorf("%w: scheme %q in %s", ErrBlockedURL, u.Scheme, truncate(u.Redacted(), 200))
	case u.User != nil:
		return fmt.Errorf("%w: user information in %s", ErrBlockedURL, truncate(u.Redacted(), 200))
	case u.Hostname() == "":
		return fmt.Errorf("%w: no host in %s", ErrBlockedURL, truncate(u.String(), 200))
	}
	port := uint16(DefaultPort)
	if u.Scheme == "http" {
		port = DefaultHTTPPort
	}
	if p := u.Port(); p != "" {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return fmt.Errorf("%w: port %q", ErrBlockedURL, truncate(p, 20))
		}
		port = uint16(n)
	}
	if a, err := netip.ParseAddr(u.Hostname()); err == nil {
		ap := netip.AddrPortFrom(a, port)
		switch {
		case c.addrListed(ap):
			return nil
		case reservedAddr(a):
			return fmt.Errorf("%w: %s", ErrBlockedAddress, net.JoinHostPort(a.String(), strconv.Itoa(int(port))))
		case !c.portAllowed(port):
			return fmt.Errorf("%w: port %d not allowed in %s", ErrBlockedURL, port, truncate(u.Redacted(), 200))
		}
		return nil
	}
	if !c.portAllowed(port) && !c.portListed(port) {
		return fmt.Errorf("%w: port %d not allowed in %s", ErrBlockedURL, port, truncate(u.Redacted(), 200))
	}
	return nil
}

// GuardedHTTPClient returns an *http.Client for a pod's other outbound
// requests (deliveries, fetches) under the same guard as c's own: only
// https (and http with AllowHTTP), no user information, only the ports of
// the port policy (AllowedPorts), IP-literal hosts in reserved ranges
// refused before any connection, and every address actually dialled
// checked against the reserved ranges and the port policy (AllowedAddrs
// excepted), with no proxy from the environment. The URL checks sit in the
// transport, so they apply to every redirect hop too. The client follows
// no redirects; set CheckRedirect on it (or let salmon.Fetcher do so) to
// follow some.
//
// With a caller-supplied c.HTTPClient the guard is that client's
// transport's business; GuardedHTTPClient then only adds the URL checks.
func (c *Client) GuardedHTTPClient() *http.Client {
	base := c.httpClient()
	next := base.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	return &http.Client{
		Transport:     guardedTransport{c: c, next: next},
		Timeout:       base.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guardedTransport applies checkURL to every request.
type guardedTransport struct {
	c    *Client
	next http.RoundTripper
}

func (g guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := g.c.checkURL(req.URL); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	return g.next.RoundTrip(req)
}
