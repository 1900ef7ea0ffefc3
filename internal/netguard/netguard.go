// Package netguard holds the module's one list of addresses a client
// fetching URLs learnt from other pods must not connect to (loopback,
// private networks, link-local, cloud metadata, other reserved ranges),
// and a dialer hook that applies it after name resolution. discovery's
// Client and salmon's Sender and Fetcher use it. It is a leaf (standard
// library only).
package netguard

import (
	"fmt"
	"net/netip"
	"syscall"
)

// blockedPrefixes are reserved ranges beyond what netip's predicates
// cover: "this network", CGNAT, IETF protocol assignments, documentation,
// benchmarking, the reserved class E and broadcast, discard-only, Teredo,
// NAT64 local use, documentation and deprecated site-local IPv6.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("198.51.100.0/24"),
	netip.MustParsePrefix("203.0.113.0/24"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("100::/64"),
	netip.MustParsePrefix("2001::/32"),
	netip.MustParsePrefix("2001:db8::/32"),
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("fec0::/10"),
}

var (
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour   = netip.MustParsePrefix("2002::/16")
)

// Reserved reports whether a is an address a client of other pods must
// not connect to: loopback, private (RFC 1918, unique local), link-local,
// CGNAT, multicast, unspecified, IPv4-mapped IPv6, other reserved ranges,
// and NAT64 or 6to4 addresses that embed one of those. An invalid address
// is reserved.
func Reserved(a netip.Addr) bool {
	if !a.IsValid() || a.Is4In6() {
		return true
	}
	if a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	b := a.As16()
	if nat64Prefix.Contains(a) {
		return Reserved(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	if sixToFour.Contains(a) {
		return Reserved(netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}))
	}
	return false
}

// Control returns a function for net.Dialer.Control that refuses, with
// an error wrapping blocked, to connect to a reserved address. It runs
// after the socket is created and before it connects, so it sees the
// address actually dialled, after name resolution: a host name that
// resolves (or re-resolves) to a reserved address is refused without a
// packet leaving, on every redirect hop too.
func Control(blocked error) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: %s", blocked, address)
		}
		if Reserved(ap.Addr()) {
			return fmt.Errorf("%w: %s", blocked, ap)
		}
		return nil
	}
}
