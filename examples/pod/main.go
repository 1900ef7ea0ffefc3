// Command pod is a small reference diaspora* pod built only on the public
// API of github.com/go-diaspora/federation: discovery documents, the
// receive endpoints with a durable inbox, a durable outbox worked by the
// SDK's Sender, /fetch, HTML profile pages and a JSON API with bearer
// tokens, stored in one SQLite file (pod.db in the data directory) or in
// a PostgreSQL database (--db).
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
// Atom: /public/{name}.atom; the default avatar the hCard names,
// /assets/user/default.png. The web interface (internal/web) serves the
// pages for people on diaspora*'s routes (/, /users/sign_in, /stream,
// /posts/{guid}, /people, /conversations, ...) and the podmin's
// dashboard under /admins.
//
// The JSON API under /api/ (sessions, posts, comments, likes, reshares,
// polls, contacts and aspects in diaspora*'s sharing model, people,
// notifications, profile, conversations, account deletion) is described
// route by route in docs/api.md, whose examples TestAPIDoc runs against
// a pod.
//
// The code is laid out by part: this directory is the command line (one
// file per group of subcommands: cmd_serve.go, cmd_user.go, cmd_admin.go,
// cmd_store.go; flags.go reads flags and environment variables);
// internal/pod is the federation core and its HTTP routes; internal/store
// holds every query, with the SQLite and PostgreSQL backends and their
// migrations; internal/loadgen is pod load.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/loadgen"
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
	cfg            *configState // the configuration in effect and where each value came from (config.go)
}

// commands lists every subcommand, in the order help shows them.
var commands = []command{
	{name: "serve", summary: "serve the pod: federation routes, JSON API, pages, inbox and outbox workers (the default)",
		flags: []string{"addr", "url", "data", "db", "role", "dev", "retry-base", "max-inbox", "receive-per-addr", "receive-mib-per-minute", "registrations", "invitations", "pod-name", "admin", "config", "trust-proxy", "tls-domain", "tls-cert", "tls-key", "http-addr", "acme-directory", "acme-ca", "acme-email"},
		run:   func(ctx context.Context, e *cmdEnv, _ []string) error { return serve(ctx, e.o, e.logger) }},
	{name: "user add", args: "NAME", summary: "create a local person (new key, default aspects); prints the diaspora* ID",
		flags: []string{"url", "addr", "tls-domain", "data", "db", "key-bits", "password", "admin"},
		run:   func(ctx context.Context, e *cmdEnv, a []string) error { return userAdd(ctx, e, a[0]) }},
	{name: "user admin", args: "NAME", summary: "make a local account an admin of the pod's dashboard (--remove: no longer)",
		flags: []string{"data", "db", "remove"}, run: setAdmin},
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
	{name: "config check", summary: "check the configuration (flags, environment, --config file) and print it in effect as TOML, secrets masked, each value's source beside it",
		flags: []string{"config"}, run: configCheck},
	{name: "load", args: "[load flags]", summary: "receive benchmark on loopback: accepted/s, time to 202, drain (pod help load)"},
	{name: "load fanout", args: "[fanout flags]", summary: "one public post to many loopback pods (pod help load fanout)"},
	{name: "help", args: "[COMMAND]", summary: "show this help, or a command's flags"},
}

// run parses the command line; flags may come before or after the
// subcommand's arguments.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "load" {
		return loadgen.Run(ctx, args[1:], stdout, stderr)
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
	cfg, err := loadConfig(fs, e.o.configFile) // config.go: the --config file, below flags and environment
	if err != nil {
		return err
	}
	e.cfg = cfg
	if err := e.o.applyTLS(fs); err != nil { // tls.go: --tls-domain, --tls-cert and what they imply
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
		if err := loadgen.Run(ctx, args, w, w); !errors.Is(err, flag.ErrHelp) {
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
