package pod

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// A pod behind a reverse proxy sees the proxy as the peer of every
// request. TrustProxies puts the client's address back, in one place, for
// everything keyed by client address: the receive limits, the sign-in
// throttle of the API and of the web interface, the request logs and the
// address stored with a received body all read r.RemoteAddr.
//
// Only X-Forwarded-For and X-Forwarded-Proto count, and only from a peer
// inside a trusted prefix. X-Real-IP and RFC 7239's Forwarded are
// ignored: X-Real-IP carries one address with no chain to check, and a
// proxy that does not overwrite it passes on whatever the client wrote.

// TrustProxies returns next behind the resolution of the client address:
// when the direct peer (r.RemoteAddr) is inside one of trusted, the
// client is the right-most address of X-Forwarded-For that is not itself
// inside trusted, and r.RemoteAddr becomes that address (port 0) for the
// rest of the stack; X-Forwarded-Proto: https from such a peer makes
// IsHTTPS true. Requests from any other peer pass unchanged, their
// forwarding headers ignored. With no trusted prefixes it returns next.
//
// The walk from the right stops at an entry that is not an IP address
// (or an empty one): the address is then the last one read, a trusted
// proxy's, never anything a client wrote further left. When every entry
// is trusted the left-most is the address. The left-most entry is never
// believed for being left-most: a client can write anything there.
func TrustProxies(next http.Handler, trusted []netip.Prefix) http.Handler {
	if len(trusted) == 0 {
		return next
	}
	trusted = append([]netip.Prefix(nil), trusted...)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client, https, ok := ResolveClient(r.RemoteAddr, r.Header, trusted)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), proxiedKey{}, proxied{peer: r.RemoteAddr, https: https}))
		r.RemoteAddr = client
		next.ServeHTTP(w, r)
	})
}

// ResolveClient is TrustProxies' decision for one request: the client
// address (host:port, the port 0 when it came from X-Forwarded-For),
// whether a trusted proxy said the request was https, and whether the
// peer is a trusted proxy at all (false: remoteAddr is returned as it is).
func ResolveClient(remoteAddr string, h http.Header, trusted []netip.Prefix) (client string, https, fromProxy bool) {
	peer, ok := parseAddr(remoteAddr)
	if !ok || !inPrefixes(peer, trusted) {
		return remoteAddr, false, false
	}
	client = remoteAddr
	xff := h.Values("X-Forwarded-For")
walk:
	for i := len(xff) - 1; i >= 0; i-- {
		entries := strings.Split(xff[i], ",")
		for j := len(entries) - 1; j >= 0; j-- {
			a, ok := parseAddr(entries[j])
			if !ok {
				break walk
			}
			client = netip.AddrPortFrom(a, 0).String()
			if !inPrefixes(a, trusted) {
				break walk
			}
		}
	}
	if protos := h.Values("X-Forwarded-Proto"); len(protos) > 0 {
		last := protos[len(protos)-1]
		if k := strings.LastIndexByte(last, ','); k >= 0 {
			last = last[k+1:]
		}
		https = strings.EqualFold(strings.TrimSpace(last), "https")
	}
	return client, https, true
}

// IsHTTPS reports whether the request reached the pod over https: on a TLS
// connection of its own, or through a trusted proxy that said so with
// X-Forwarded-Proto.
func IsHTTPS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	p, ok := r.Context().Value(proxiedKey{}).(proxied)
	return ok && p.https
}

// ProxyPeer is the address of the trusted proxy a request came through,
// and false when it did not come through one (r.RemoteAddr is the peer).
func ProxyPeer(r *http.Request) (string, bool) {
	p, ok := r.Context().Value(proxiedKey{}).(proxied)
	return p.peer, ok
}

type proxiedKey struct{}

type proxied struct {
	peer  string
	https bool
}

// ParseTrustedProxies reads a comma-separated list of CIDR prefixes
// (10.0.0.0/8, fd00::/8) or single addresses (192.0.2.10, a /32 or /128).
// Empty entries are skipped.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil || p.Addr().Zone() != "" {
				return nil, fmt.Errorf("%q is not a CIDR prefix like 10.0.0.0/8 or fd00::/8", f)
			}
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil || a.Zone() != "" {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", f)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// WideTrustedProxies returns the prefixes of trusted that reach past
// private networks into a wide public range (an IPv4 prefix shorter than
// /16, an IPv6 one shorter than /32, 0.0.0.0/0 and ::/0 included): any
// client there can write the X-Forwarded-For that the per-address limits
// believe, which is almost never what a podmin meant. A prefix inside the
// loopback, private or unique-local ranges is never wide.
func WideTrustedProxies(trusted []netip.Prefix) []netip.Prefix {
	var wide []netip.Prefix
	for _, p := range trusted {
		if inPrivateRange(p) {
			continue
		}
		if (p.Addr().Is4() && p.Bits() < 16) || (p.Addr().Is6() && p.Bits() < 32) {
			wide = append(wide, p)
		}
	}
	return wide
}

// privateRanges are where proxies usually sit: loopback, private,
// link-local and unique-local networks.
var privateRanges = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"), netip.MustParsePrefix("fe80::/10"),
}

// inPrivateRange reports whether the whole of p lies in one of
// privateRanges (10.0.0.0/8 does, 0.0.0.0/0 does not).
func inPrivateRange(p netip.Prefix) bool {
	for _, rp := range privateRanges {
		if rp.Contains(p.Addr()) && p.Bits() >= rp.Bits() {
			return true
		}
	}
	return false
}

// parseAddr reads an address as a peer or an X-Forwarded-For entry may
// hold it: 192.0.2.1, 192.0.2.1:1234, 2001:db8::1, [2001:db8::1] or
// [2001:db8::1]:443; IPv4-mapped IPv6 addresses become IPv4 and zones are
// dropped. Anything else (unknown, an obfuscated RFC 7239 name, a host
// name, an empty entry) is not an address.
func parseAddr(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		if ap, perr := netip.ParseAddrPort(s); perr == nil {
			a, err = ap.Addr(), nil
		} else if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			a, err = netip.ParseAddr(s[1 : len(s)-1])
		}
	}
	if err != nil {
		return netip.Addr{}, false
	}
	return a.WithZone("").Unmap(), true
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
