// Command pod is a small reference diaspora* pod built only on the public
// API of github.com/go-diaspora/federation: discovery documents, the
// receive endpoints with a durable inbox, a durable outbox worked by the
// SDK's Sender, /fetch, HTML profile pages and a JSON API with bearer
// tokens, all stored in one SQLite file (pod.db in the data directory).
//
// Usage:
//
//	pod [flags]                      serve (default localhost:3000, data in ./pod-data)
//	pod user add NAME [flags]        create a local person; prints the diaspora* ID
//	pod user suspend|unsuspend NAME  suspend or reinstate a local account
//	pod admin block|unblock HOST     stop or resume federating with a pod (host[:port])
//	pod admin health                 delivery health per pod (JSON)
//	pod load [load flags]            receive benchmark on loopback (see below)
//	pod load fanout [fanout flags]   one public post to many loopback pods
//
// Flags (and environment variables): --addr (POD_ADDR), --url (POD_URL),
// --data (POD_DATA), --key-bits (POD_KEY_BITS), --dev (POD_DEV=1),
// --retry-base (POD_RETRY_BASE, first retry delay of deliveries and of
// received bodies), --max-inbox (POD_MAX_INBOX, the inbound high-water mark:
// above this many unprocessed received bodies, 10,000 by default, the
// receive routes answer 503 with Retry-After), --password (POD_PASSWORD, for user add; else read from
// stdin).
// Use the same --url (or --addr) for user add and for serving: it is the
// domain of the diaspora* IDs.
//
// The load command runs a pod in this process, with its durable store in a
// temporary directory (or --dir), and measures it on loopback. pod load
// generates --senders remote accounts with --key-bits keys (2048), serves
// their WebFinger and hCard documents so that the pod discovers their keys,
// signs --messages public envelopes of about --size bytes (plus a --dup
// fraction sent twice) before the clock starts, then posts them to
// /receive/public from all senders at once. It prints accepted/s, the
// p50/p90/p99/max time to 202, the drain time (last answer to empty inbox),
// the answers by status and the stored GUIDs, and fails when an accepted
// GUID is not stored exactly once. pod load fanout --pods N gives a local
// user a follower on each of N loopback receivers that verify what they
// get, creates one public post, and prints the signatures made, the
// deliveries per receiver, the peak heap and the sender's concurrency;
// it fails unless every receiver got exactly one valid delivery of a body
// signed once. Both take --cpuprofile FILE.
//
// Federation routes: /.well-known/host-meta, /.well-known/webfinger,
// /hcard/users/{guid}, /.well-known/nodeinfo, /nodeinfo/2.1,
// POST /receive/public, POST /receive/users/{guid}, GET /fetch/{type}/{guid};
// HTML: /u/{name}, /posts/{guid}, /people/{guid}, Atom: /public/{name}.atom.
//
// JSON API (Authorization: Bearer TOKEN except for the login):
//
//	POST   /api/session                      {"username","password"} -> {"token",...}
//	DELETE /api/session                      log out (revokes the token)
//	GET    /api/me
//	POST   /api/posts                        {"text","public","aspects","photos","location","poll"}
//	GET    /api/stream?limit=&before=        followed people, own, shared with or mentioning me
//	GET    /api/tags/{tag}                   tag stream
//	GET    /api/posts/{guid}                 a post with comments, likes and poll counts
//	DELETE /api/posts/{guid}                 retraction
//	POST   /api/posts/{guid}/comments        {"text"}
//	POST   /api/posts/{guid}/likes
//	POST   /api/posts/{guid}/reshares
//	POST   /api/posts/{guid}/poll            {"answer": answer guid}
//	POST   /api/contacts                     {"id","aspect"} follow
//	DELETE /api/contacts/{id}                stop following
//	PUT    /api/profile                      {"full_name","bio"}
//	DELETE /api/account                      {"password"} account deletion
//	GET    /api/conversations
//	POST   /api/conversations                {"subject","text","participants"}
//	GET    /api/conversations/{guid}
//	POST   /api/conversations/{guid}/messages {"text"}
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "pod:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, url, data, password string
	retryBase                 time.Duration
	keyBits, maxInbox         int
	dev                       bool
}

func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func newFlags(o *options, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pod", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bits, _ := strconv.Atoi(envOr("POD_KEY_BITS", "4096"))
	dev, _ := strconv.ParseBool(envOr("POD_DEV", "false"))
	fs.StringVar(&o.addr, "addr", envOr("POD_ADDR", "localhost:3000"), "listen address (POD_ADDR)")
	fs.StringVar(&o.url, "url", envOr("POD_URL", ""), "public base URL; default http://ADDR/ (POD_URL)")
	fs.StringVar(&o.data, "data", envOr("POD_DATA", "pod-data"), "data directory (POD_DATA)")
	fs.IntVar(&o.keyBits, "key-bits", bits, "RSA key size of new users (POD_KEY_BITS)")
	fs.BoolVar(&o.dev, "dev", dev, "development mode: allow http and loopback peers (POD_DEV)")
	fs.StringVar(&o.password, "password", envOr("POD_PASSWORD", ""), "password for user add; read from stdin if empty (POD_PASSWORD)")
	maxInbox, _ := strconv.Atoi(envOr("POD_MAX_INBOX", strconv.Itoa(defaultMaxInboxPending)))
	fs.IntVar(&o.maxInbox, "max-inbox", maxInbox, "inbound high-water mark: above this many unprocessed bodies /receive answers 503 (POD_MAX_INBOX)")
	retry, _ := time.ParseDuration(envOr("POD_RETRY_BASE", "0"))
	fs.DurationVar(&o.retryBase, "retry-base", retry, "first retry delay of deliveries and of received bodies; 0 means 30s and 10s (POD_RETRY_BASE)")
	return fs
}

func (o *options) config(logger *slog.Logger) Config {
	u := o.url
	if u == "" {
		u = "http://" + o.addr + "/"
	}
	cfg := Config{PublicURL: u, DataDir: o.data, KeyBits: o.keyBits, Dev: o.dev, MaxInboxPending: o.maxInbox, Logger: logger}
	if o.retryBase > 0 {
		cfg.BaseBackoff, cfg.InboxBackoff = o.retryBase, o.retryBase
		cfg.Poll = min(o.retryBase, time.Second)
	}
	return cfg
}

// run parses the command line; flags may come before or after the
// subcommand's arguments.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		return runLoad(ctx, args[1:], stdout, stderr)
	}
	var o options
	fs := newFlags(&o, stderr)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if o.keyBits != 0 && o.keyBits < 2048 {
		return errors.New("--key-bits must be at least 2048")
	}
	cmd := strings.Join(pos, " ")
	switch {
	case len(pos) == 0 || cmd == "serve":
		return serve(ctx, o, logger)
	case len(pos) == 3 && pos[0] == "user" && pos[1] == "add":
		return userAdd(ctx, o, pos[2], stdin, stdout, stderr)
	case len(pos) == 3 && pos[0] == "user" && (pos[1] == "suspend" || pos[1] == "unsuspend"):
		return withStore(ctx, o, func(s *Store) error { return s.SetSuspended(ctx, strings.ToLower(pos[2]), pos[1] == "suspend") })
	case len(pos) == 3 && pos[0] == "admin" && (pos[1] == "block" || pos[1] == "unblock"):
		return withStore(ctx, o, func(s *Store) error { return s.SetBlocked(ctx, strings.ToLower(pos[2]), pos[1] == "block") })
	case cmd == "admin health":
		return withStore(ctx, o, func(s *Store) error {
			h, err := s.Health(ctx)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			return enc.Encode(h)
		})
	}
	return fmt.Errorf("unknown command %q; see go doc ./examples/pod", cmd)
}

func withStore(ctx context.Context, o options, fn func(*Store) error) error {
	s, err := OpenStore(ctx, o.data)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func userAdd(ctx context.Context, o options, name string, stdin io.Reader, stdout, stderr io.Writer) error {
	pw := o.password
	if pw == "" {
		fmt.Fprint(stderr, "password for "+name+": ")
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	p, err := NewPod(ctx, o.config(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer p.Close()
	id, err := p.AddUser(ctx, name, pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, id)
	return nil
}

func serve(ctx context.Context, o options, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := o.config(logger)
	p, err := NewPod(ctx, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	if strings.HasPrefix(cfg.PublicURL, "http:") && !cfg.Dev {
		logger.Warn("the public URL is http: other pods expect https; serve behind a TLS proxy and set --url, or use --dev for local federation")
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	srv := newServer(p.Handler(), logger)
	workers, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(workers) }()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("pod serving", "addr", ln.Addr().String(), "url", p.base, "data", o.data, "dev", o.dev)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	serr := srv.Shutdown(sctx)
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return serr
}

// Server limits of SECURITY.md R3 and T19.
const (
	serverReadHeaderTimeout = 5 * time.Second
	serverReadTimeout       = 30 * time.Second
	serverWriteTimeout      = 30 * time.Second
	serverIdleTimeout       = 60 * time.Second
	serverMaxHeaderBytes    = 16 << 10 // net/http allows 4 KiB of slack on top
)

// newServer sets the server timeouts of SECURITY.md R3 and the header cap
// of T19 (a larger header is answered 431).
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serverReadHeaderTimeout,
		ReadTimeout:       serverReadTimeout,
		WriteTimeout:      serverWriteTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
