package main

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
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
	// MaxInboxPending is the inbound high-water mark (SECURITY.md T19):
	// while more received bodies than this wait to be processed, the
	// receive routes answer 503 with Retry-After without reading or
	// storing the body (10,000 if 0).
	MaxInboxPending int
	// MaxReceiving caps the receive requests whose bodies are being read
	// at once (64 if 0); past it the receive routes answer 503.
	MaxReceiving int
	// MaxReceivingPerAddr caps them per client address (8 if 0); past it,
	// 429.
	MaxReceivingPerAddr int
	// ReceiveBytesPerMinute is what one client address may send to the
	// receive routes per minute (64 MiB if 0); past it, 429.
	ReceiveBytesPerMinute int64
	// Logger receives the pod's records; nil discards them.
	Logger *slog.Logger
}

// defaultMaxInboxPending is the default of Config.MaxInboxPending.
const defaultMaxInboxPending = 10000

// receiveRetryAfter is the Retry-After of the receive routes' 503s.
const receiveRetryAfter = 60 * time.Second

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
	envOpts  magicenv.Options

	dummyOnce sync.Once
	dummy     []byte

	// blocked holds the IDs of deliveries whose last attempt the SSRF
	// guard refused (set by the sender's OnAttempt, read by the queue).
	blocked sync.Map

	// signatures counts the envelope signatures made with local users'
	// keys (see Pod.signer).
	signatures atomic.Int64
	// receiving counts receive requests in flight (see yieldToReceives).
	receiving atomic.Int64
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
	if cfg.KeyBits == 0 {
		cfg.KeyBits = magicenv.DefaultKeyBits
	}
	if cfg.MaxInboxPending <= 0 {
		cfg.MaxInboxPending = defaultMaxInboxPending
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
		cfg:    cfg,
		base:   strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/") + "/",
		domain: strings.ToLower(u.Host),
		store:  st,
		log:    cfg.Logger,
		inWake: make(chan struct{}, 1),
		logins: newLoginLimits(),
		limits: &receiveLimits{maxInFlight: cfg.MaxReceiving, maxPerAddr: cfg.MaxReceivingPerAddr, bytesPerMinute: cfg.ReceiveBytesPerMinute},
	}
	p.bgCtx, p.bgCancel = context.WithCancel(context.Background())
	p.disc = &discovery.Client{UserAgent: "go-diaspora-pod/0.1", Logger: p.log, AllowHTTP: cfg.Dev}
	if cfg.Dev {
		p.disc.AllowedAddrs = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("[::1]:0")}
		p.disc.AllowedPorts = []uint16{0} // dev pods listen on any port (LIMITS.md, Addresses)
	}
	p.resolver = &discovery.Resolver{Client: p.disc, Cache: st.Cache()}
	p.receiver = &salmon.Receiver{Keys: magicenv.KeyResolverFunc(p.publicKey), Entities: st.Entities(),
		RecipientKeys: st.Keys(), Envelope: p.envOpts}
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

// Handler returns the pod's routes.
func (p *Pod) Handler() http.Handler {
	mux := http.NewServeMux()
	dh := &discovery.Handler{
		BaseURL:   p.base,
		Directory: p.store.Directory(),
		Software:  discovery.Software{Name: "go-diaspora-pod", Version: "0.1"},
		Metadata:  map[string]any{"nodeName": p.domain},
		Logger:    p.log,
	}
	dh.Register(mux)
	rh := &salmon.Handler{Inbox: storeInbox{s: p.store, wake: func() { notify(p.inWake) }, log: p.log, envOpts: p.envOpts},
		RetryAfter: receiveRetryAfter, Logger: p.log}
	mux.Handle("/receive/", p.receiveGate(rh))
	mux.Handle("GET /fetch/{type}/{guid}", &salmon.FetchHandler{Source: fetchSource{p}, Logger: p.log})
	mux.HandleFunc("GET /{$}", p.serveHome)
	mux.HandleFunc("GET "+discovery.DefaultAvatar, serveDefaultAvatar)
	mux.HandleFunc("GET /u/{name}", p.serveProfile)
	mux.HandleFunc("GET /people/{guid}", p.servePeople)
	mux.HandleFunc("GET /public/{feed}", p.serveAtom)
	mux.HandleFunc("GET /posts/{guid}", p.servePostPage)
	p.registerAPI(mux)
	return mux
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
	wg.Add(3)
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

// publicKey is the receiver's key resolver: the people table (local
// people and the discovery cache), else discovery. Authors on blocked
// pods have no key here, so nothing from them is accepted.
func (p *Pod) publicKey(ctx context.Context, author string) (*rsa.PublicKey, error) {
	if _, host, ok := strings.Cut(author, "@"); ok {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return nil, err
		} else if b {
			return nil, fmt.Errorf("%w: %w: %s", magicenv.ErrKeyNotFound, errBlockedPod, host)
		}
	}
	nid, err := discovery.NormalizeID(author)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", magicenv.ErrKeyNotFound, err)
	}
	if per, err := p.store.Cache().Get(ctx, nid); err == nil {
		return per.PublicKey, nil
	} else if !errors.Is(err, discovery.ErrCacheMiss) {
		return nil, err
	}
	_, host, _ := strings.Cut(nid, "@")
	if err = p.lookups.remembered(nid, host); err == nil {
		// Unknown: looked up in the background, so that a slow host never
		// holds the inbox worker.
		p.lookupInBackground(nid)
		err = errLookupPending{nid}
	}
	if ctx.Err() != nil || discovery.IsTemporary(err) || errors.As(err, new(errLookupPending)) {
		return nil, temporaryKeyError{&discovery.KeyError{Author: author, Err: err}}
	}
	return nil, fmt.Errorf("%w: %w", magicenv.ErrKeyNotFound, err)
}

// temporaryKeyError is a key lookup to try again later: the receive
// pipeline reads its Temporary method (see magicenv.KeyLookupError).
type temporaryKeyError struct{ error }

func (e temporaryKeyError) Unwrap() error { return e.error }
func (temporaryKeyError) Temporary() bool { return true }

// --- receiving ---

const maxInboxAttempts = 10

// staleLeaseCheck is how often a process on a shared store makes the
// rows claimed by processes that are gone due again.
const staleLeaseCheck = 5 * time.Second

// errBlockedPod: a body came from a pod the podmin blocked.
var errBlockedPod = errors.New("refused because the pod is blocked")

// finalError marks a refusal by the pod itself (not the SDK): no retry.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

// inboxBatch is how many due rows the worker leases at once: one commit
// (one fsync) for the leases of a batch instead of one per row.
const inboxBatch = 32

// inboxWorkers is how many received bodies are processed at once. One:
// key lookups run in the background (lookupInBackground), and on a small
// machine more workers only compete with receive requests for the CPU
// and the store (measured: 8 workers accepted a 64-sender burst at about
// 2,500/s, one at about 3,900/s).
const inboxWorkers = 1

func (p *Pod) runInbox(ctx context.Context) {
	jobs := make(chan *store.InboxItem)
	var wg sync.WaitGroup
	for range inboxWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var worked time.Duration
			for it := range jobs {
				p.yieldToReceives(ctx, worked)
				start := time.Now()
				p.process(ctx, it)
				worked = time.Since(start)
			}
		}()
	}
	defer func() {
		close(jobs)
		wg.Wait()
	}()
	var purged time.Time
	for ctx.Err() == nil {
		if time.Since(purged) > time.Hour {
			purged = time.Now()
			if err := p.store.PurgeRejected(ctx, 7*24*time.Hour); err != nil && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "inbox purge", "err", err)
			}
			if err := p.store.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "session purge", "err", err)
			}
		}
		its, err := p.store.ClaimInboxBatch(ctx, inboxBatch)
		if err != nil {
			if !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				p.log.ErrorContext(ctx, "inbox claim", "err", err)
			}
			select {
			case <-ctx.Done():
			case <-p.inWake:
			case <-time.After(p.cfg.Poll):
			}
			continue
		}
		for _, it := range its {
			select {
			case jobs <- it:
			case <-ctx.Done():
				return // the leases run out and the rows are taken again
			}
		}
	}
}

// maxKeyLookupAttempts is how often a body is tried whose sender's key
// could not be looked up (the sender's pod did not answer): fewer than
// other temporary failures, since a stranger's unreachable host is the
// cheapest way to make the pod retry.
const maxKeyLookupAttempts = 4

// process runs one inbox body through the SDK's receive pipeline and
// stores its effects. Payloads are never logged.
func (p *Pod) process(ctx context.Context, it *store.InboxItem) {
	in := &salmon.Incoming{Route: it.Route, RecipientGUID: it.RecipientGUID, Format: it.Format, ContentType: it.ContentType, Body: it.Body}
	msg, err := p.receiver.Receive(ctx, in)
	var lerr *salmon.LookupError
	if err != nil && errors.Is(err, salmon.ErrRelatedNotFound) && errors.As(err, &lerr) {
		// An unknown parent or root: fetch it once, then try again.
		if ferr := p.fetchMissing(ctx, it, lerr); ferr == nil {
			msg, err = p.receiver.Receive(ctx, in)
		} else if !errors.Is(ferr, errNoFetch) {
			p.log.InfoContext(ctx, "fetch failed", "inbox_id", it.ID, "missing", lerr.Key, "err", ferr)
		}
	}
	temporary := err != nil && salmon.Temporary(err)
	if err != nil && errors.Is(err, salmon.ErrRelatedNotFound) && it.Attempts < 3 {
		// Deliveries are not ordered: the parent may still be on its way
		// (or its pod was unreachable for the fetch). Try a few more times.
		temporary = true
	}
	if err == nil {
		err = p.apply(ctx, it.ID, msg)
		var fe finalError
		temporary = err != nil && !errors.As(err, &fe)
	}
	if err == nil {
		p.log.InfoContext(ctx, "received", "entity_type", msg.Entity.Type(), "guid", guidOf(msg.Entity),
			"author", entities.Author(msg.Entity), "sender", msg.Sender)
		return
	}
	if ctx.Err() != nil {
		return // the lease runs out and the row is taken again
	}
	cat := salmon.Category(err)
	// Error texts of private messages may quote the decrypted payload:
	// only their category is logged.
	var detail any = err
	if it.Route == salmon.RoutePrivate {
		detail = "(private: redacted)"
	}
	var pending errLookupPending
	var kerr *magicenv.KeyLookupError
	switch {
	case errors.As(err, &pending):
		// The sender is being looked up in the background: the body waits
		// for it (made due when a lookup ends) without spending an attempt.
		if err := p.store.InboxRetry(ctx, it.ID, it.Attempts, time.Now().Add(inboxLookupTimeout+time.Second), lookupPendingReason); err != nil {
			p.log.ErrorContext(ctx, "inbox retry", "err", err)
		}
		return
	case temporary && errors.As(err, &kerr) && it.Attempts+1 >= maxKeyLookupAttempts:
		temporary = false
	}
	if temporary && it.Attempts+1 < maxInboxAttempts {
		delay := time.Duration(1<<it.Attempts) * p.cfg.InboxBackoff
		p.log.WarnContext(ctx, "receive: will retry", "inbox_id", it.ID, "category", cat, "err", detail, "in", delay)
		if err := p.store.InboxRetry(ctx, it.ID, it.Attempts+1, time.Now().Add(delay), cat); err != nil {
			p.log.ErrorContext(ctx, "inbox retry", "err", err)
		}
		return
	}
	if errors.Is(err, errBlockedPod) {
		cat = "blocked_pod"
		detail = err
		p.log.InfoContext(ctx, "receive: refused because the sender's pod is blocked", "inbox_id", it.ID, "err", detail)
	} else {
		p.log.InfoContext(ctx, "receive: rejected", "inbox_id", it.ID, "category", cat, "err", detail)
	}
	if err := p.store.InboxDead(ctx, it, cat); err != nil {
		p.log.ErrorContext(ctx, "inbox dead", "err", err)
	}
}

func guidOf(e entities.Entity) string {
	switch e := e.(type) {
	case *entities.StatusMessage:
		return e.GUID
	case *entities.Reshare:
		return e.GUID
	case *entities.Comment:
		return e.GUID
	case *entities.Like:
		return e.GUID
	case *entities.PollParticipation:
		return e.GUID
	case *entities.Retraction:
		return e.TargetGUID
	case *entities.Conversation:
		return e.GUID
	case *entities.Message:
		return e.GUID
	}
	return ""
}

// postFamily maps entity class names to the posts table.
func postFamily(typ string) string {
	switch typ {
	case "StatusMessage", "Reshare", "Post":
		return "Post"
	}
	return typ
}

// apply stores a verified message and marks its inbox row done, in one
// transaction, so that a crash never applies a message twice or loses it.
func (p *Pod) apply(ctx context.Context, inboxID int64, msg *salmon.Message) error {
	if _, host, ok := strings.Cut(msg.Sender, "@"); ok {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return err
		} else if b {
			return finalError{fmt.Errorf("%w: %s (sender %s)", errBlockedPod, host, msg.Sender)}
		}
	}
	err := p.store.Do(ctx, func(tx *store.Tx) error {
		if err := p.applyTx(ctx, tx, msg); err != nil {
			return err
		}
		return store.InboxDone(ctx, tx, inboxID)
	})
	if errors.Is(err, store.ErrWrongAuthor) {
		return finalError{err}
	}
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

func (p *Pod) applyTx(ctx context.Context, tx *store.Tx, msg *salmon.Message) error {
	switch e := msg.Entity.(type) {
	case *entities.StatusMessage:
		row := &store.PostRow{GUID: e.GUID, Type: e.Type(), Author: e.Author, Text: e.Text, Public: e.Public, Payload: msg.Payload,
			CreatedAt: e.CreatedAt, Extra: extraOf(e)}
		mentions := parseMentions(e.Text)
		existed, err := store.InsertPost(ctx, tx, row, parseTags(e.Text), mentions)
		if err != nil {
			return err
		}
		if err := p.addVisibility(ctx, tx, e.GUID, e.Public, msg.Recipient); err != nil || existed {
			return err
		}
		return store.NotifyMentioned(ctx, tx, e.GUID, e.Author, mentions)
	case *entities.Reshare:
		row := &store.PostRow{GUID: e.GUID, Type: e.Type(), Author: e.Author, Public: true, RootGUID: e.RootGUID, Payload: msg.Payload, CreatedAt: e.CreatedAt}
		existed, err := store.InsertPost(ctx, tx, row, nil, nil)
		if err != nil || existed {
			return err
		}
		return store.NotifyLocalAuthor(ctx, tx, e.RootGUID, "reshared", e.Author)
	case *entities.Comment:
		row := &store.InteractionRow{GUID: e.GUID, Type: "Comment", Author: e.Author, ParentType: "Post", ParentGUID: e.ParentGUID,
			PostGUID: e.ParentGUID, Text: e.Text, Positive: true, Payload: msg.Payload, CreatedAt: e.CreatedAt}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.Like:
		row := &store.InteractionRow{GUID: e.GUID, Type: "Like", Author: e.Author, ParentType: e.ParentType, ParentGUID: e.ParentGUID,
			PostGUID: e.ParentGUID, Positive: e.Positive, Payload: msg.Payload, CreatedAt: time.Now().UTC()}
		if e.ParentType == "Comment" {
			c, err := store.GetInteraction(ctx, tx, e.ParentGUID)
			if err != nil {
				return err
			}
			row.PostGUID = c.PostGUID
		}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.PollParticipation:
		postGUID, err := store.PollPost(ctx, tx, e.ParentGUID)
		if err != nil {
			return err
		}
		row := &store.InteractionRow{GUID: e.GUID, Type: "PollParticipation", Author: e.Author, ParentType: "Poll", ParentGUID: e.ParentGUID,
			PostGUID: postGUID, Text: e.PollAnswerGUID, Positive: true, Payload: msg.Payload, CreatedAt: time.Now().UTC()}
		return p.storeRelayable(ctx, tx, msg, row)
	case *entities.Retraction:
		family := postFamily(e.TargetType)
		var relayPost string
		if family == "Comment" || family == "Like" || family == "PollParticipation" {
			if i, err := store.GetInteraction(ctx, tx, e.TargetGUID); err == nil {
				relayPost = i.PostGUID
			}
		}
		if err := store.Retract(ctx, tx, family, e.TargetGUID, e.Author); err != nil {
			return err
		}
		if relayPost != "" {
			// The retraction of an interaction on a local post goes
			// where the interaction went.
			return p.relayTx(ctx, tx, relayPost, msg.Payload, "retraction:"+e.TargetGUID)
		}
		return nil
	case *entities.Contact:
		u, err := p.store.LocalUser(ctx, tx, e.Recipient)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// diaspora*: the author shares with the recipient while the
		// entity says sharing (a block says it does not).
		return p.receiveSharing(ctx, tx, u, e.Author, e.Sharing && !e.Blocking)
	case *entities.Profile:
		name := e.FullName
		if name == "" {
			name = strings.TrimSpace(e.FirstName + " " + e.LastName)
		}
		return store.UpdateRemoteProfile(ctx, tx, e.Author, name, e.Bio)
	case *entities.Conversation:
		if !slices.Contains(e.ParticipantIDs(), msg.Recipient) {
			return finalError{fmt.Errorf("recipient %s is no participant", msg.Recipient)}
		}
		return store.StoreConversation(ctx, tx, e)
	case *entities.Message:
		return store.StoreMessage(ctx, tx, e)
	case *entities.AccountDeletion:
		return store.ForgetRemoteAccount(ctx, tx, e.Author)
	}
	return nil // other types are accepted and ignored by this small pod
}

// addVisibility records the local recipient of a limited post.
func (p *Pod) addVisibility(ctx context.Context, tx *store.Tx, guid string, public bool, recipient string) error {
	if public || recipient == "" {
		return nil
	}
	u, err := p.store.LocalUser(ctx, tx, recipient)
	if err != nil {
		return err
	}
	return store.AddPostVisibility(ctx, tx, guid, u.Username)
}

// storeRelayable stores a received comment or like and, when the post
// is local, relays it exactly as the author signed it.
func (p *Pod) storeRelayable(ctx context.Context, tx *store.Tx, msg *salmon.Message, row *store.InteractionRow) error {
	// On a local limited post only its recipients may answer.
	if post, err := store.GetPost(ctx, tx, row.PostGUID); err == nil && post.Local && !post.Public && row.Author != post.Author {
		if ok, err := store.IsPostRecipient(ctx, tx, post.GUID, row.Author); err != nil {
			return err
		} else if !ok {
			return finalError{fmt.Errorf("%s is no recipient of the limited post %s", row.Author, post.GUID)}
		}
	}
	existed, err := store.InsertInteraction(ctx, tx, row)
	if errors.Is(err, store.ErrSecondVote) {
		return nil // the author's first like or vote stands; this one is dropped
	}
	if err != nil || existed {
		return err
	}
	if err := store.NotifyInteraction(ctx, tx, row); err != nil {
		return err
	}
	post, err := store.GetPost(ctx, tx, row.PostGUID)
	if err != nil || !post.Local {
		return err
	}
	root, pods, rs, err := p.localPostAudience(ctx, tx, post)
	if err != nil {
		return err
	}
	// The payload exactly as the author signed it, in an envelope signed
	// by the root author, to everyone who received the post.
	env, err := salmon.Relay(msg, root.ID, root.Key, p.envOpts)
	if err != nil {
		return err
	}
	ds, err := envelopeDeliveries(env.Marshal(), post.Public, pods, rs)
	if err != nil {
		return err
	}
	return store.Enqueue(ctx, tx, strings.ToLower(row.Type)+":"+row.GUID, ds)
}

// relayTx sends payload (already signed by its author) to the pods of a
// local public post, in an envelope signed by the post's author.
func (p *Pod) relayTx(ctx context.Context, tx *store.Tx, postGUID string, payload []byte, entity string) error {
	post, err := store.GetPost(ctx, tx, postGUID)
	if err != nil || !post.Local {
		return nil
	}
	ds, err := p.localPostDeliveries(ctx, tx, post, payload)
	if err != nil {
		return err
	}
	return store.Enqueue(ctx, tx, entity, ds)
}

// deliveriesFor gives one public delivery of an envelope per pod.
func deliveriesFor(body []byte, pods []string) ([]salmon.Delivery, error) {
	var ds []salmon.Delivery
	for _, pod := range pods {
		u, err := url.Parse(pod)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("bad pod URL %q", pod)
		}
		ru := strings.TrimSuffix(pod, "/") + "/receive/public"
		ds = append(ds, salmon.Delivery{ID: ru, URL: ru, ContentType: magicenv.ContentType, Body: body})
	}
	return ds, nil
}

// --- fetching ---

// fetchSource serves GET /fetch/{type}/{guid} through salmon.FetchHandler:
// the author's signed envelope of a local public post or interaction, the
// author's pod for a known remote public one, not found otherwise.
type fetchSource struct{ p *Pod }

// Fetch implements salmon.FetchSource.
func (s fetchSource) Fetch(ctx context.Context, typ, guid string) (*salmon.Fetched, error) {
	p := s.p
	var author string
	var payload []byte
	var local bool
	switch typ {
	case "post", "status_message", "reshare":
		post, err := store.GetPost(ctx, p.store, guid)
		if err != nil || !post.Public || (typ != "post" && typ != post.Type) {
			return nil, salmon.ErrNotFound
		}
		author, payload, local = post.Author, post.Payload, post.Local
	case "comment", "like":
		i, err := store.GetInteraction(ctx, p.store, guid)
		if err != nil || strings.ToLower(i.Type) != typ {
			return nil, salmon.ErrNotFound
		}
		post, err := store.GetPost(ctx, p.store, i.PostGUID)
		if err != nil || !post.Public {
			return nil, salmon.ErrNotFound
		}
		author, payload = i.Author, i.Payload
		per, err := p.store.Person(ctx, p.store, author)
		local = err == nil && per.Local
	default:
		return nil, salmon.ErrNotFound
	}
	if !local {
		per, err := p.store.Person(ctx, p.store, author)
		if err != nil {
			return nil, salmon.ErrNotFound
		}
		return &salmon.Fetched{Pod: per.PodURL}, nil
	}
	u, err := p.store.UserByID(ctx, author)
	if err != nil || u.Suspended {
		return nil, salmon.ErrNotFound
	}
	key := typ + ":" + guid
	if body, ok := p.fetched.get(key); ok {
		return &salmon.Fetched{Envelope: body}, nil
	}
	env, err := p.envOpts.Sign(payload, u.ID, p.signer(u.Key))
	if err != nil {
		return nil, fmt.Errorf("fetch: signing %s: %w", guid, err)
	}
	body := env.Marshal()
	p.fetched.put(key, body)
	return &salmon.Fetched{Envelope: body}, nil
}

// maxFetchedCached bounds the signed bodies /fetch keeps.
const maxFetchedCached = 1024

// fetchedCache keeps the envelopes /fetch signed, by type and guid: a
// post's payload never changes, so strangers asking again cost no RSA
// signature. Whether the post may still be served is checked before the
// cache is asked.
type fetchedCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *fetchedCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *fetchedCache) put(k string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxFetchedCached {
		c.m = map[string][]byte{}
	}
	c.m[k] = b
}

// --- helpers ---

// newGUID returns 32 random hex digits.
func newGUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

var (
	tagPattern     = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&/#])#([\p{L}\p{N}_-]+)`)
	mentionPattern = regexp.MustCompile(`@\{(?:[^{}@;]*;\s*)?([^{};\s]+@[^{};\s]+)\s*\}`)
)

// parseTags returns the lowercased #hashtags of a text, once each.
func parseTags(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range findTags(text) { // tagPattern's captures
		t := strings.ToLower(strings.TrimRight(m, "-"))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// parseMentions returns the diaspora* IDs of @{Name; id} and @{id}
// mentions, once each.
func parseMentions(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		id, err := discovery.NormalizeID(m[1])
		if err == nil && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}
