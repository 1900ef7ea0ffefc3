package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

type options struct {
	addr, url, data, password     string
	db, role                      string
	from, to                      string
	retryBase                     time.Duration
	keyBits, minKeyBits, maxInbox int
	receivePerAddr                int
	receiveMiBPerMinute           int
	dev                           bool
	registrations, podName        string
	invitations                   int
	admin                         adminFlag
	remove                        bool
	tls                           tlsOptions // built-in HTTPS (tls.go)
	configFile                    string     // --config (config.go)
	trustProxy                    cidrList   // --trust-proxy (proxy.go)
}

// adminFlag is --admin: bare on user add (make the new person an
// admin), --admin=NAME on serve (POD_ADMIN: that account is an admin).
type adminFlag struct{ v string }

func (a *adminFlag) String() string     { return a.v }
func (a *adminFlag) Set(s string) error { a.v = s; return nil }
func (a *adminFlag) IsBoolFlag() bool   { return true }

// on reports a bare --admin (or --admin=true).
func (a *adminFlag) on() bool { b, err := pod.ParseBool(a.v); return err == nil && b }

// name is the account of --admin=NAME, "" for none or a bare --admin.
func (a *adminFlag) name() string {
	if _, err := pod.ParseBool(a.v); err == nil || a.v == "" {
		return ""
	}
	return strings.ToLower(strings.TrimSpace(a.v))
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
	b, err := pod.ParseBool(v)
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
	fs.IntVar(&o.minKeyBits, "min-key-bits", env.int("POD_MIN_KEY_BITS", 1024), "shortest RSA key of other people accepted; raise it (2048) to refuse old short keys (POD_MIN_KEY_BITS)")
	fs.BoolVar(&o.dev, "dev", env.bool("POD_DEV", false), "development mode: allow http, loopback peers and any port (POD_DEV)")
	fs.StringVar(&o.password, "password", env.str("POD_PASSWORD", ""), "password for user add; asked for if empty (POD_PASSWORD)")
	fs.IntVar(&o.maxInbox, "max-inbox", env.int("POD_MAX_INBOX", pod.DefaultMaxInboxPending),
		"inbound high-water mark: above this many unprocessed bodies /receive answers 503 (POD_MAX_INBOX)")
	fs.IntVar(&o.receivePerAddr, "receive-per-addr", env.int("POD_RECEIVE_PER_ADDR", 8),
		"receive requests one client address may have in flight; past it 429 (POD_RECEIVE_PER_ADDR)")
	fs.IntVar(&o.receiveMiBPerMinute, "receive-mib-per-minute", env.int("POD_RECEIVE_MIB_PER_MINUTE", 64),
		"MiB one client address may send to the receive routes per minute; past it 429 (POD_RECEIVE_MIB_PER_MINUTE)")
	fs.StringVar(&o.registrations, "registrations", env.str("POD_REGISTRATIONS", ""),
		"who may sign up in the browser: open, invite or closed; default open on a pod without users, then invite (POD_REGISTRATIONS)")
	fs.IntVar(&o.invitations, "invitations", env.int("POD_INVITATIONS", 25), "invitation codes each user has (POD_INVITATIONS)")
	fs.StringVar(&o.podName, "pod-name", env.str("POD_NAME", ""), "the pod's name on its pages; default its domain (POD_NAME)")
	o.admin.v = env.str("POD_ADMIN", "")
	fs.Var(&o.admin, "admin", "user add: make the new person an admin; serve: --admin=NAME makes that account an admin, and new users share with it until the dashboard says otherwise (POD_ADMIN)")
	fs.BoolVar(&o.remove, "remove", false, "user admin: take the admin role away instead")
	fs.DurationVar(&o.retryBase, "retry-base", env.duration("POD_RETRY_BASE", 0),
		"first retry `delay` of deliveries and of received bodies; 0 means 30s and 10s (POD_RETRY_BASE)")
	o.tls.define(fs, env)
	fs.StringVar(&o.configFile, "config", env.str("POD_CONFIG", ""),
		"TOML `file` of flag values (key = flag name), below the command line and the environment variables (POD_CONFIG)")
	o.trustProxy = env.cidrs("POD_TRUST_PROXY")
	fs.Var(&o.trustProxy, "trust-proxy", "`CIDR`s of reverse proxies whose X-Forwarded-For and X-Forwarded-Proto are believed; comma-separated or repeated (POD_TRUST_PROXY)")
	return fs
}

func (o *options) config(logger *slog.Logger) pod.Config {
	u := o.url
	if u == "" {
		u = "http://" + o.addr + "/"
	}
	cfg := pod.Config{PublicURL: u, DB: o.db, DataDir: o.data, KeyBits: o.keyBits, MinKeyBits: o.minKeyBits, Dev: o.dev, MaxInboxPending: o.maxInbox, Logger: logger,
		Autofollow:          o.admin.name(),
		MaxReceivingPerAddr: o.receivePerAddr, ReceiveBytesPerMinute: int64(o.receiveMiBPerMinute) << 20}
	if o.retryBase > 0 {
		cfg.BaseBackoff, cfg.InboxBackoff = o.retryBase, o.retryBase
		cfg.Poll = min(o.retryBase, time.Second)
	}
	return cfg
}

var storeFlags = []string{"data", "db"}
