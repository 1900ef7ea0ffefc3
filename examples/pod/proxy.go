package main

import (
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// cidrList is --trust-proxy: CIDR prefixes (or single addresses), given
// comma-separated, repeated, or both. Its default is POD_TRUST_PROXY's;
// the first --trust-proxy (or the config file's list) replaces it, later
// ones add to it.
type cidrList struct {
	prefixes []netip.Prefix
	set      bool // the value is no longer the default
}

func (c *cidrList) String() string { return strings.Join(c.strings(), ",") }

func (c *cidrList) Set(s string) error {
	ps, err := pod.ParseTrustedProxies(s)
	if err != nil {
		return err
	}
	if !c.set {
		c.prefixes, c.set = nil, true
	}
	c.prefixes = append(c.prefixes, ps...)
	return nil
}

// Get makes cidrList a flag.Getter of a list (pod config check prints
// it as a TOML array, the config file gives it one).
func (c *cidrList) Get() any { return c.strings() }

func (c *cidrList) strings() []string {
	out := make([]string, len(c.prefixes))
	for i, p := range c.prefixes {
		out[i] = p.String()
	}
	return out
}

// cidrs reads a list of trusted proxies from the environment.
func (e *envReader) cidrs(name string) cidrList {
	v, ok := os.LookupEnv(name)
	if !ok {
		return cidrList{}
	}
	ps, err := pod.ParseTrustedProxies(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", name, v, err))
	}
	return cidrList{prefixes: ps}
}

// frontHandler is what a serving process listens with, around app (the
// web interface and the pod's routes, or nothing for a worker):
// /healthz and /readyz first (pod.Pod.Health), then the client address
// and scheme that --trust-proxy lets proxies tell (pod.TrustProxies), so
// that every limit kept per client address sees the same address.
func frontHandler(p *pod.Pod, o options, app http.Handler) http.Handler {
	return p.Health(pod.TrustProxies(app, o.trustProxy.prefixes))
}
