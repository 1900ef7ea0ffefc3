package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

func setBlocked(blocked bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, a []string) error {
		host, err := normalizeHost(a[0])
		if err != nil {
			return err
		}
		verb := "blocked"
		if !blocked {
			verb = "unblocked"
		}
		if err := withStore(ctx, e.o, func(s *store.Store) error {
			if err := s.SetBlocked(ctx, host, blocked); err != nil {
				return err
			}
			return s.Audit(ctx, "", "pod "+strings.TrimSuffix(verb, "ed"), host, "pod admin "+strings.TrimSuffix(verb, "ed"))
		}); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, verb, host)
		return nil
	}
}

// normalizeHost reads the pod of admin block: a host with an optional
// port (pod.example, pod.example:8443, 127.0.0.1:3001) or an http(s) URL,
// whose host is taken; the result is lower case, without a default port.
func normalizeHost(s string) (string, error) {
	raw := s
	s = strings.TrimSpace(s)
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return "", fmt.Errorf("%q is not a pod's URL (https://pod.example/) or host (pod.example)", raw)
		}
		s = u.Host
		if h, port, ok := strings.Cut(s, ":"); ok && !strings.HasPrefix(s, "[") &&
			((u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80")) {
			s = h
		}
	}
	s = strings.ToLower(s)
	// A host is what follows the @ of a diaspora* ID (the protocol's
	// rule), and a name or address a pod can have.
	if s == "" || discovery.ValidateID("x@"+s) != nil || !validHostPort(s) {
		return "", fmt.Errorf("%q is not a pod's host (pod.example, pod.example:8443) or URL (https://pod.example/)", raw)
	}
	return s, nil
}

// validHostPort reports a DNS name of letters, digits and inner hyphens
// or an IP address, with an optional port from 1 to 65535.
func validHostPort(s string) bool {
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
	}
	if port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return false
		}
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	labels := strings.Split(host, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, r := range l {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return len(host) <= 253
}

func adminHealth(ctx context.Context, e *cmdEnv, _ []string) error {
	return withStore(ctx, e.o, func(s *store.Store) error {
		h, err := s.Health(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(h)
	})
}
