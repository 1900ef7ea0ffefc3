// Command pod is a small reference diaspora* pod built only on the public
// API of github.com/go-diaspora/federation: discovery documents, the
// receive endpoints with a durable inbox, a durable outbox worked by the
// SDK's Sender, /fetch, HTML profile pages and a JSON API with bearer
// tokens, all stored in one SQLite file (pod.db in the data directory).
//
// Usage (pod help lists the commands and their flags, pod help COMMAND
// one command's):
//
//	pod [serve] [flags]              serve (default localhost:3000, data in ./pod-data)
//	pod user add NAME [flags]        create a local person; prints the diaspora* ID
//	pod user suspend|unsuspend NAME  suspend or reinstate a local account
//	pod admin block|unblock HOST|URL stop or resume federating with a pod
//	pod admin health                 delivery health per pod (JSON)
//	pod load [load flags]            receive benchmark on loopback (see below)
//	pod load fanout [fanout flags]   one public post to many loopback pods
//	pod help [COMMAND]               the usage
//
// Flags (and environment variables): --addr (POD_ADDR), --url (POD_URL),
// --data (POD_DATA), --key-bits (POD_KEY_BITS), --dev (POD_DEV),
// --retry-base (POD_RETRY_BASE, first retry delay of deliveries and of
// received bodies), --max-inbox (POD_MAX_INBOX, the inbound high-water mark:
// above this many unprocessed received bodies, 10,000 by default, the
// receive routes answer 503 with Retry-After), --password (POD_PASSWORD, for
// user add; else asked for twice without echo on a terminal, or read as
// one line from a pipe). Environment variables are read strictly: a value
// that does not parse is an error; booleans take true/false, yes/no,
// on/off or 1/0. Admin commands need an existing database in --data.
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
// HTML: / (what the pod is and, on a fresh pod, what to do next), /u/{name},
// /posts/{guid}, /people/{guid}; Atom: /public/{name}.atom; the default
// avatar the hCard names, /assets/user/default.png.
//
// The JSON API under /api/ (sessions, posts, comments, likes, reshares,
// polls, contacts and aspects in diaspora*'s sharing model, people,
// notifications, profile, conversations, account deletion) is described
// route by route in docs/api.md, whose examples TestAPIDoc runs against
// a pod.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"

	"github.com/go-diaspora/federation/discovery"
	"golang.org/x/term"
)

func main() {
	restrictUmask()
	err := run(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return // --help asked for the usage, which is printed
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pod:", err)
		os.Exit(1)
	}
}

type options struct {
	addr, url, data, password string
	db, role                  string
	from, to                  string
	retryBase                 time.Duration
	keyBits, maxInbox         int
	receivePerAddr            int
	receiveMiBPerMinute       int
	dev                       bool
}

// envReader reads the flags' environment variables strictly: a value
// that does not parse is an error, never silently the default.
type envReader struct{ errs []error }

func (e *envReader) str(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (e *envReader) int(name string, def int) int {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

func (e *envReader) bool(name string, def bool) bool {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	b, err := parseBool(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q: %w", name, v, err))
		return def
	}
	return b
}

func (e *envReader) duration(name string, def time.Duration) time.Duration {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a duration (like 30s or 2m)", name, v))
		return def
	}
	return d
}

// parseBool reads a boolean as the flags and environment variables take
// it: 1, t, true, yes, y, on and 0, f, false, no, n, off, in any case.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, nil
	case "0", "f", "false", "no", "n", "off":
		return false, nil
	}
	return false, errors.New("not a boolean (use true or false, yes or no, on or off, 1 or 0)")
}

// newFlags defines the pod's flags with their environment variables as
// defaults; env collects the variables that do not parse.
func newFlags(o *options, env *envReader) *flag.FlagSet {
	fs := flag.NewFlagSet("pod", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports parse errors and prints the usage itself
	fs.Usage = func() {}
	fs.StringVar(&o.addr, "addr", env.str("POD_ADDR", "localhost:3000"), "listen `address` (POD_ADDR)")
	fs.StringVar(&o.url, "url", env.str("POD_URL", ""), "public base `URL`; default http://ADDR/ (POD_URL)")
	fs.StringVar(&o.data, "data", env.str("POD_DATA", "pod-data"), "data `directory` (POD_DATA)")
	fs.StringVar(&o.from, "from", "", "migrate-store: the data `directory` of the SQLite pod to copy")
	fs.StringVar(&o.to, "to", "", "migrate-store: the postgres:// `URL` of the empty database to fill")
	fs.StringVar(&o.role, "role", env.str("POD_ROLE", "all"), "what serve runs: all, web (HTTP only) or worker (inbox and outbox only; needs --db postgres://) (POD_ROLE)")
	fs.StringVar(&o.db, "db", env.str("POD_DB", ""), "database: empty for the SQLite file in --data, or a postgres:// `URL` (POD_DB)")
	fs.IntVar(&o.keyBits, "key-bits", env.int("POD_KEY_BITS", 4096), "RSA key size of new users, at least 2048 (POD_KEY_BITS)")
	fs.BoolVar(&o.dev, "dev", env.bool("POD_DEV", false), "development mode: allow http, loopback peers and any port (POD_DEV)")
	fs.StringVar(&o.password, "password", env.str("POD_PASSWORD", ""), "password for user add; asked for if empty (POD_PASSWORD)")
	fs.IntVar(&o.maxInbox, "max-inbox", env.int("POD_MAX_INBOX", defaultMaxInboxPending),
		"inbound high-water mark: above this many unprocessed bodies /receive answers 503 (POD_MAX_INBOX)")
	fs.IntVar(&o.receivePerAddr, "receive-per-addr", env.int("POD_RECEIVE_PER_ADDR", 8),
		"receive requests one client address may have in flight; past it 429 (POD_RECEIVE_PER_ADDR)")
	fs.IntVar(&o.receiveMiBPerMinute, "receive-mib-per-minute", env.int("POD_RECEIVE_MIB_PER_MINUTE", 64),
		"MiB one client address may send to the receive routes per minute; past it 429 (POD_RECEIVE_MIB_PER_MINUTE)")
	fs.DurationVar(&o.retryBase, "retry-base", env.duration("POD_RETRY_BASE", 0),
		"first retry `delay` of deliveries and of received bodies; 0 means 30s and 10s (POD_RETRY_BASE)")
	return fs
}

func (o *options) config(logger *slog.Logger) Config {
	u := o.url
	if u == "" {
		u = "http://" + o.addr + "/"
	}
	cfg := Config{PublicURL: u, DB: o.db, DataDir: o.data, KeyBits: o.keyBits, Dev: o.dev, MaxInboxPending: o.maxInbox, Logger: logger,
		MaxReceivingPerAddr: o.receivePerAddr, ReceiveBytesPerMinute: int64(o.receiveMiBPerMinute) << 20}
	if o.retryBase > 0 {
		cfg.BaseBackoff, cfg.InboxBackoff = o.retryBase, o.retryBase
		cfg.Poll = min(o.retryBase, time.Second)
	}
	return cfg
}

// command is a subcommand of the pod.
type command struct {
	name, args, summary string
	flags               []string // the pod flags it reads
	run                 func(ctx context.Context, e *cmdEnv, args []string) error
}

// cmdEnv is what a command runs with.
type cmdEnv struct {
	o              options
	stdin          io.Reader
	stdout, stderr io.Writer
	logger         *slog.Logger
}

var storeFlags = []string{"data", "db"}

// commands lists every subcommand, in the order help shows them.
var commands = []command{
	{name: "serve", summary: "serve the pod: federation routes, JSON API, pages, inbox and outbox workers (the default)",
		flags: []string{"addr", "url", "data", "db", "role", "dev", "retry-base", "max-inbox", "receive-per-addr", "receive-mib-per-minute"},
		run:   func(ctx context.Context, e *cmdEnv, _ []string) error { return serve(ctx, e.o, e.logger) }},
	{name: "user add", args: "NAME", summary: "create a local person (new key, default aspects); prints the diaspora* ID",
		flags: []string{"url", "addr", "data", "db", "key-bits", "password"},
		run:   func(ctx context.Context, e *cmdEnv, a []string) error { return userAdd(ctx, e, a[0]) }},
	{name: "user suspend", args: "NAME", summary: "suspend a local account: it can no longer sign in, its sessions end",
		flags: storeFlags, run: setSuspended(true)},
	{name: "user unsuspend", args: "NAME", summary: "reinstate a suspended account",
		flags: storeFlags, run: setSuspended(false)},
	{name: "admin block", args: "HOST|URL", summary: "stop federating with a pod: nothing sent to it or accepted from it",
		flags: storeFlags, run: setBlocked(true)},
	{name: "admin unblock", args: "HOST|URL", summary: "federate with a blocked pod again",
		flags: storeFlags, run: setBlocked(false)},
	{name: "admin health", summary: "delivery health per pod as JSON: queue depth, last success, failures",
		flags: storeFlags, run: adminHealth},
	{name: "migrate", summary: "create or migrate the store's schema (also done on every start) and print its version",
		flags: storeFlags, run: migrateStore},
	{name: "backup", args: "FILE", summary: "write a consistent copy of the SQLite store to FILE, also while the pod runs (PostgreSQL: pg_dump)",
		flags: storeFlags, run: backupStore},
	{name: "migrate-store", summary: "copy a pod from its SQLite file (--from DATA_DIR) into an empty PostgreSQL database (--to URL)",
		flags: []string{"from", "to"}, run: migrateStoreTo},
	{name: "load", args: "[load flags]", summary: "receive benchmark on loopback: accepted/s, time to 202, drain (pod help load)"},
	{name: "load fanout", args: "[fanout flags]", summary: "one public post to many loopback pods (pod help load fanout)"},
	{name: "help", args: "[COMMAND]", summary: "show this help, or a command's flags"},
}

// run parses the command line; flags may come before or after the
// subcommand's arguments.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		return runLoad(ctx, args[1:], stdout, stderr)
	}
	e := &cmdEnv{stdin: stdin, stdout: stdout, stderr: stderr}
	var env envReader
	fs := newFlags(&e.o, &env)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printUsage(stdout, fs)
				return flag.ErrHelp
			}
			return fmt.Errorf("%w (pod help lists the flags)", err)
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) > 0 && pos[0] == "help" {
		return help(ctx, stdout, fs, pos[1:])
	}
	if err := errors.Join(env.errs...); err != nil {
		return err
	}
	if e.o.receivePerAddr < 1 || e.o.receiveMiBPerMinute < 1 {
		return errors.New("--receive-per-addr and --receive-mib-per-minute must be at least 1")
	}
	if e.o.keyBits < 2048 {
		return fmt.Errorf("--key-bits is %d: it must be at least 2048", e.o.keyBits)
	}
	e.logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if len(pos) == 0 {
		pos = []string{"serve"}
	}
	c, rest := findCommand(pos)
	if c == nil || c.run == nil {
		return fmt.Errorf("unknown command %q (pod help lists the commands)", strings.Join(pos, " "))
	}
	want := 0
	if c.args != "" {
		want = 1
	}
	if len(rest) != want {
		return fmt.Errorf("usage: pod %s %s (pod help %s)", c.name, c.args, c.name)
	}
	return c.run(ctx, e, rest)
}

// findCommand finds the longest command name that starts pos.
func findCommand(pos []string) (*command, []string) {
	var best *command
	var rest []string
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(words) <= len(pos) && slices.Equal(words, pos[:len(words)]) && (best == nil || len(words) > len(strings.Fields(best.name))) {
			best, rest = &commands[i], pos[len(words):]
		}
	}
	return best, rest
}

// help prints the usage, or a command's.
func help(ctx context.Context, w io.Writer, fs *flag.FlagSet, topic []string) error {
	if len(topic) == 0 {
		printUsage(w, fs)
		return nil
	}
	c, rest := findCommand(topic)
	if c == nil || len(rest) > 0 {
		return fmt.Errorf("no command %q (pod help lists the commands)", strings.Join(topic, " "))
	}
	if c.name == "load" || c.name == "load fanout" {
		args := []string{"-h"}
		if c.name == "load fanout" {
			args = []string{"fanout", "-h"}
		}
		fmt.Fprintf(w, "Usage: pod %s %s\n\n%s.\n\nFlags:\n", c.name, c.args, c.summary)
		if err := runLoad(ctx, args, w, w); !errors.Is(err, flag.ErrHelp) {
			return err
		}
		return nil
	}
	if c.name == "help" {
		printUsage(w, fs)
		return nil
	}
	fmt.Fprintf(w, "Usage: pod %s %s\n\n%s.\n\nFlags (and their environment variables):\n", c.name, c.args, c.summary)
	printFlags(w, fs, c.flags)
	return nil
}

func printUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, `Usage: pod [COMMAND] [FLAGS]

The reference diaspora* pod of github.com/go-diaspora/federation. Flags go
before or after the command's arguments.

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	fmt.Fprint(w, "\nFlags (and their environment variables):\n")
	var all []string
	fs.VisitAll(func(f *flag.Flag) { all = append(all, f.Name) })
	printFlags(w, fs, all)
	fmt.Fprint(w, "\nBooleans take true/false, yes/no, on/off or 1/0. 'pod help COMMAND' shows a command's flags.\n")
}

func printFlags(w io.Writer, fs *flag.FlagSet, names []string) {
	for _, n := range names {
		f := fs.Lookup(n)
		if f == nil {
			continue
		}
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		fmt.Fprintf(w, "%-28s %s", line, usage)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "0s" && f.DefValue != "false" && f.Name != "password" {
			fmt.Fprintf(w, " [default %s]", f.DefValue)
		}
		fmt.Fprintln(w)
	}
}

// openExistingStore opens the store of an existing pod: a data directory
// without a database is an error, not a new empty pod. A PostgreSQL
// database (--db) is the podmin's; the pod migrates its schema there.
func openExistingStore(ctx context.Context, o options) (*store.Store, error) {
	if o.db != "" {
		return store.Open(ctx, o.db, "")
	}
	dir := o.data
	path := filepath.Join(dir, "pod.db")
	if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("no pod database in %s: pass the --data directory of your pod, or create a user first (pod user add NAME)", dir)
	} else if err != nil {
		return nil, err
	}
	return store.Open(ctx, "", dir)
}

func withStore(ctx context.Context, o options, fn func(*store.Store) error) error {
	s, err := openExistingStore(ctx, o)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

func setSuspended(suspended bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, a []string) error {
		name := strings.ToLower(a[0])
		return withStore(ctx, e.o, func(s *store.Store) error {
			err := s.SetSuspended(ctx, name, suspended)
			if errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("no local user %q", name)
			}
			return err
		})
	}
}

func setBlocked(blocked bool) func(context.Context, *cmdEnv, []string) error {
	return func(ctx context.Context, e *cmdEnv, a []string) error {
		host, err := normalizeHost(a[0])
		if err != nil {
			return err
		}
		if err := withStore(ctx, e.o, func(s *store.Store) error { return s.SetBlocked(ctx, host, blocked) }); err != nil {
			return err
		}
		verb := "blocked"
		if !blocked {
			verb = "unblocked"
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

// backupStore writes a copy of the SQLite store (pod backup FILE).
func backupStore(ctx context.Context, e *cmdEnv, a []string) error {
	return withStore(ctx, e.o, func(s *store.Store) error {
		if err := s.Backup(ctx, a[0]); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "backup written to", a[0])
		return nil
	})
}

// migrateStoreTo copies a SQLite pod into PostgreSQL (pod migrate-store).
func migrateStoreTo(ctx context.Context, e *cmdEnv, _ []string) error {
	if e.o.from == "" || !store.IsPostgresURL(e.o.to) {
		return errors.New("usage: pod migrate-store --from DATA_DIR --to postgres://URL")
	}
	src, err := openExistingStore(ctx, options{data: e.o.from})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, e.o.to, "")
	if err != nil {
		return err
	}
	defer dst.Close()
	copied, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	for _, t := range store.Tables {
		fmt.Fprintf(e.stdout, "%-26s %d\n", t, copied[t])
	}
	fmt.Fprintln(e.stdout, "the pod is in the PostgreSQL database: serve it with --db and the same --url")
	return nil
}

// migrateStore opens the store, which applies the pending migrations.
func migrateStore(ctx context.Context, e *cmdEnv, _ []string) error {
	s, err := store.Open(ctx, e.o.db, e.o.data)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema version %d (%s)\n", v, s.Backend())
	return nil
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

// userAdd creates a local person. The password comes from --password,
// else from a terminal (asked twice, not echoed) or one line of a pipe.
func userAdd(ctx context.Context, e *cmdEnv, name string) error {
	pw := e.o.password
	if pw == "" {
		var err error
		if pw, err = readNewPassword(e.stdin, e.stderr, name); err != nil {
			return err
		}
	}
	p, err := NewPod(ctx, e.o.config(slog.New(slog.DiscardHandler)))
	if err != nil {
		return err
	}
	defer p.Close()
	id, err := p.AddUser(ctx, name, pw)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, id)
	return nil
}

// readNewPassword reads a new password: on a terminal without echo and
// twice, from anything else one line.
func readNewPassword(stdin io.Reader, prompt io.Writer, name string) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fd := int(f.Fd())
		fmt.Fprintf(prompt, "password for %s: ", name)
		first, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		fmt.Fprintf(prompt, "again, to be sure: ")
		second, err := term.ReadPassword(fd)
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("reading the password: %w", err)
		}
		if string(first) != string(second) {
			return "", errors.New("the two passwords differ; nothing was created")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("reading the password from standard input: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
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
	switch o.role {
	case "all":
	case "web", "worker":
		if !p.store.Shared() {
			return fmt.Errorf("--role %s needs a store that several processes share: --db postgres://URL", o.role)
		}
	default:
		return fmt.Errorf("--role is all, web or worker, not %q", o.role)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	// A web process serves HTTP, stores received bodies and queues
	// deliveries; a worker works the inbox and outbox and answers only
	// its health check; all does both.
	h := p.Handler()
	if o.role == "worker" {
		mux := http.NewServeMux()
		mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok\n") })
		h = mux
	}
	srv := newServer(h, logger)
	workers, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if o.role != "web" {
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(workers) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	logger.Info("pod serving", "addr", ln.Addr().String(), "url", p.base, "role", o.role, "store", p.store.Backend(), "dev", o.dev)
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
