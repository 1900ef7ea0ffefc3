package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
)

const discoverUsage = "usage: dfed discover [--trace] [--timeout D] [--insecure-dev] ID"

// discoverFailure is what discover prints when the person cannot be
// found.
type discoverFailure struct {
	ID    string            `json:"id"`
	Found bool              `json:"found"`
	Error discoverErrorJSON `json:"error"`
}

type discoverErrorJSON struct {
	Category  string `json:"category"`
	Message   string `json:"message"`
	Temporary bool   `json:"temporary"`
}

// discover looks up a diaspora* ID and prints the Person as JSON:
//
//	dfed discover [--trace] [--timeout D] [--insecure-dev] ID
//
// --trace prints every request, redirect and response status to stderr,
// for people debugging a pod that cannot be found. --insecure-dev is for
// development only: it allows plain http (with an http retry after a
// failed https request) and connections to loopback addresses.
//
// Exit status: 0 found, 1 not found or rejected, 2 usage error.
func discover(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("discover", flag.ContinueOnError)
	fs.SetOutput(stderr)
	trace := fs.Bool("trace", false, "print every request and response status to stderr")
	timeout := fs.Duration("timeout", discovery.DefaultTimeout, "time limit of each request")
	insecure := fs.Bool("insecure-dev", false, "DEVELOPMENT ONLY: allow plain http and loopback addresses")
	// flags may come before or after the ID
	var ids []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		ids = append(ids, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(ids) != 1 {
		fmt.Fprintln(stderr, discoverUsage)
		return 2
	}
	id := ids[0]

	c := &discovery.Client{Timeout: *timeout}
	if *insecure {
		c.AllowHTTP = true
		c.AllowedAddrs = []netip.AddrPort{
			netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), 0),
			netip.AddrPortFrom(netip.MustParseAddr("::1"), 0),
		}
		c.AllowedPorts = []uint16{0} // dev pods listen on any port
		fmt.Fprintln(stderr, "dfed: --insecure-dev: plain http, loopback and any port allowed; do not trust keys found this way")
	}
	if *trace {
		c.Logger = slog.New(&traceHandler{w: stderr, mu: new(sync.Mutex)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*(*timeout)+time.Second) // JRD, host-meta, template, hCard
	defer cancel()

	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	p, err := c.Lookup(ctx, id)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		_ = enc.Encode(discoverFailure{ID: id, Error: discoverErrorJSON{
			Category: discovery.Category(err), Message: err.Error(), Temporary: discovery.IsTemporary(err),
		}})
		return 1
	}
	if err := enc.Encode(p); err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 1
	}
	return 0
}

// traceHandler is a slog.Handler that prints the discovery client's
// request records as one short line each:
//
//	> GET https://pod.example/.well-known/webfinger?resource=acct:alice@pod.example
//	< 404 https://pod.example/.well-known/webfinger?resource=acct:alice@pod.example
type traceHandler struct {
	w  io.Writer
	mu *sync.Mutex
}

func (h *traceHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *traceHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *traceHandler) WithGroup(string) slog.Handler            { return h }

func (h *traceHandler) Handle(_ context.Context, r slog.Record) error {
	a := map[string]string{}
	r.Attrs(func(at slog.Attr) bool {
		a[at.Key] = at.Value.String()
		return true
	})
	var line string
	switch r.Message {
	case "discovery request":
		line = "> " + a["method"] + " " + a["url"]
	case "discovery redirect":
		line = "< " + a["status"] + " " + a["from"] + "\n  redirected to " + a["url"]
	case "discovery response":
		line = "< " + a["status"] + " " + a["url"]
	case "discovery request failed":
		line = "! " + a["url"] + ": " + a["error"]
	case "discovery retrying over http":
		line = "  retrying over http: " + a["url"]
	default:
		parts := []string{r.Message}
		for k, v := range a {
			parts = append(parts, k+"="+v)
		}
		line = "  " + strings.Join(parts, " ")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := fmt.Fprintln(h.w, line)
	return err
}
