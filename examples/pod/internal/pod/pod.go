package pod

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// Config configures a pod. Zero durations mean the defaults.
type Config struct {
	// PublicURL is the base URL other pods reach this one at; its host
	// (with port) is the domain of local diaspora* IDs.
	PublicURL string
	// DB is the database: empty for the SQLite file pod.db in DataDir,
	// or a postgres:// URL (then DataDir is not used).
	DB string
	// DataDir holds pod.db.
	DataDir string
	// KeyBits is the RSA key size of new users (4096 by default).
	KeyBits int
	// MinKeyBits is the shortest RSA key of other people the pod accepts,
	// for their envelopes, their relayable signatures and their
	// discovery documents alike (magicenv.Options.MinKeyBits and
	// discovery.Client.MinKeyBits). Zero means the SDK's 1024.
	MinKeyBits int
	// Dev allows http and loopback peers. Off by default: then only https
	// is used and reserved addresses are refused (SSRF guard).
	Dev bool
	// BcryptCost is the password hashing cost (bcrypt.DefaultCost if 0).
	BcryptCost int
	// Poll is how often idle workers look at the inbox and outbox (1 s).
	Poll time.Duration
	// BaseBackoff is the first retry delay of deliveries (30 s).
	BaseBackoff time.Duration
	// InboxBackoff is the first retry delay of a received body whose
	// processing failed temporarily (10 s); it doubles each time.
	InboxBackoff time.Duration
	// MaxInboxPending is the inbound high-water mark (LIMITS.md):
	// while more received bodies than this wait to be processed, the
	// receive routes answer 503 with Retry-After without reading or
	// storing the body (10,000 if 0).
	MaxInboxPending int
	// MaxReceiving caps the receive requests whose bodies are being read
	// at once (64 if 0); past it the receive routes answer 503.
	MaxReceiving int
	// UploadQuota caps the bytes of pictures one person keeps on the pod
	// (DefaultUploadQuota, 1 GiB, if 0).
	UploadQuota int64
	// MaxReceivingPerAddr caps them per client address (8 if 0); past it,
	// 429.
	MaxReceivingPerAddr int
	// ReceiveBytesPerMinute is what one client address may send to the
	// receive routes per minute (64 MiB if 0); past it, 429.
	ReceiveBytesPerMinute int64
	// Autofollow is the local account every new user starts sharing
	// with ("" for none) until the podmin changes it on the dashboard
	// (SettingAutofollow); the pod command sets it to --admin's account.
	Autofollow string
	// Logger receives the pod's records; nil discards them.
	Logger *slog.Logger
}

// DefaultMaxInboxPending is the default of Config.MaxInboxPending.
const DefaultMaxInboxPending = 10000

// Pod is a running diaspora* pod: a store, the federation endpoints, the
// inbox worker and the delivery sender.
type Pod struct {
	cfg      Config
	base     string // public URL with a trailing slash
	domain   string // host[:port] of local IDs
	store    *store.Store
	log      *slog.Logger
	disc     *discovery.Client
	resolver *discovery.Resolver
	receiver *salmon.Receiver
	sender   *salmon.Sender
	queue    *outboxQueue
	inWake   chan struct{}
	// nodeInfoWake is notified when a delivery succeeded (runNodeInfo).
	nodeInfoWake chan struct{}
	envOpts      *magicenv.Options

	dummyOnce sync.Once
	dummy     []byte

	// retryErr holds the error of the last attempt of deliveries that
	// will be retried, until Reschedule records it (noteAttempt).
	retryErr sync.Map

	// signatures counts the envelope signatures made with local users'
	// keys (see Pod.signer).
	signatures atomic.Int64
	// receiving counts receive requests in flight (see yieldToReceives).
	receiving atomic.Int64
	// notReady is set while GET /readyz fails (Health logs each change).
	notReady atomic.Bool
	// limits bounds receive requests per client address (receiveGate).
	limits *receiveLimits
	// lookups bounds and remembers discovery of unknown people.
	lookups lookups
	// logins throttles password checks (Login).
	logins *loginLimits
	// fetched keeps the bodies /fetch signed.
	fetched fetchedCache
	// bg runs work that outlives a request (mention lookups) until Close.
	bg       sync.WaitGroup
	bgCtx    context.Context
	bgCancel context.CancelFunc
}

// NewPod opens the store in cfg.DataDir and wires the SDK's parts.
func NewPod(ctx context.Context, cfg Config) (*Pod, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, fmt.Errorf("public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll == 0 {
		cfg.Poll = time.Second
	}
	if cfg.InboxBackoff == 0 {
		cfg.InboxBackoff = 10 * time.Second
	}
	if cfg.UploadQuota <= 0 {
		cfg.UploadQuota = DefaultUploadQuota
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = magicenv.DefaultKeyBits
	}
	if cfg.MaxInboxPending <= 0 {
		cfg.MaxInboxPending = DefaultMaxInboxPending
	}
	if cfg.MaxReceiving <= 0 {
		cfg.MaxReceiving = 64
	}
	if cfg.MaxReceivingPerAddr <= 0 {
		cfg.MaxReceivingPerAddr = 8
	}
	if cfg.ReceiveBytesPerMinute <= 0 {
		cfg.ReceiveBytesPerMinute = 64 << 20
	}
	st, err := store.Open(ctx, cfg.DB, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	p := &Pod{
		cfg:          cfg,
		base:         strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/") + "/",
		domain:       strings.ToLower(u.Host),
		store:        st,
		log:          cfg.Logger,
		inWake:       make(chan struct{}, 1),
		envOpts:      &magicenv.Options{MinKeyBits: cfg.MinKeyBits},
		nodeInfoWake: make(chan struct{}, 1),
		logins:       newLoginLimits(),
		limits:       &receiveLimits{maxInFlight: cfg.MaxReceiving, maxPerAddr: cfg.MaxReceivingPerAddr, bytesPerMinute: cfg.ReceiveBytesPerMinute},
	}
	p.bgCtx, p.bgCancel = context.WithCancel(context.Background())
	p.disc = &discovery.Client{UserAgent: "go-diaspora-pod/0.1", Logger: p.log, AllowHTTP: cfg.Dev, MinKeyBits: cfg.MinKeyBits}
	if cfg.Dev {
		p.disc.AllowedAddrs = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("[::1]:0")}
		p.disc.AllowedPorts = []uint16{0} // dev pods listen on any port (LIMITS.md, Addresses)
	}
	p.resolver = &discovery.Resolver{Client: p.disc, Cache: st.Cache()}
	p.receiver = &salmon.Receiver{Keys: magicenv.KeyResolverFunc(p.publicKey), Entities: st.Entities(),
		RecipientKeys: st.Keys(), Envelope: *p.envOpts}
	p.sender = &salmon.Sender{HTTPClient: p.disc.GuardedHTTPClient(), UserAgent: "go-diaspora-pod/0.1",
		BaseBackoff: cfg.BaseBackoff, Logger: p.log, OnAttempt: p.noteAttempt}
	p.queue = &outboxQueue{s: st, log: p.log, wake: make(chan struct{}, 1), poll: cfg.Poll, p: p}
	return p, nil
}

// Close closes the store.
func (p *Pod) Close() error {
	p.bgCancel()
	p.bg.Wait()
	return p.store.Close()
}

func notify(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run works the inbox and the outbox until ctx ends.
func (p *Pod) Run(ctx context.Context) {
	if err := p.store.EndStaleLeases(ctx); err != nil {
		p.log.ErrorContext(ctx, "resetting leases", "err", err)
	}
	var wg sync.WaitGroup
	if p.store.Shared() { // other processes come and go: look for their stale leases now and then
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(staleLeaseCheck)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					if err := p.store.EndStaleLeases(ctx); err != nil && ctx.Err() == nil {
						p.log.ErrorContext(ctx, "resetting stale leases", "err", err)
					}
				}
			}
		}()
	}
	wg.Add(4)
	go func() { defer wg.Done(); p.runNodeInfo(ctx) }()
	go func() {
		defer wg.Done()
		p.store.Listen(ctx, func(ch string) {
			if ch == store.InboxChannel {
				notify(p.inWake)
			} else {
				notify(p.queue.wake)
			}
		})
	}()
	go func() { defer wg.Done(); p.runInbox(ctx) }()
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if err := p.sender.Run(ctx, p.queue); err != nil && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "sender stopped", "err", err)
				sleep(ctx, time.Second)
			}
		}
	}()
	wg.Wait()
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// --- receiving ---

// staleLeaseCheck is how often a process on a shared store makes the
// rows claimed by processes that are gone due again.
const staleLeaseCheck = 5 * time.Second

// --- fetching ---

// --- helpers ---

// NewGUID returns 32 random hex digits.
func NewGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Store is the pod's store.
func (p *Pod) Store() *store.Store { return p.store }

// Signatures counts the envelope signatures made with local users' keys.
func (p *Pod) Signatures() int64 { return p.signatures.Load() }

// SenderLimits are the deliveries the sender makes at once, in all and
// per host.
func (p *Pod) SenderLimits() (concurrency, perHost int) {
	return cmp.Or(p.sender.Concurrency, salmon.DefaultConcurrency), cmp.Or(p.sender.PerHost, salmon.DefaultPerHost)
}

// BaseURL is the pod's public URL, with a trailing slash.
func (p *Pod) BaseURL() string { return p.base }

// Domain is the host[:port] of the pod's diaspora* IDs.
func (p *Pod) Domain() string { return p.domain }

// SecurityHeaders wraps h so that every response carries the pod's
// security headers (http.go); the web interface's routes use it too.
func SecurityHeaders(h http.Handler) http.Handler { return securityHeaders(h) }

// WakeOutbox makes the outbox worker look for due deliveries now.
func (p *Pod) WakeOutbox() { notify(p.queue.wake) }
