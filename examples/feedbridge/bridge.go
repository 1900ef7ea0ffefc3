package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

const (
	userAgent    = "go-diaspora-feedbridge/0.1"
	maxPerPoll   = 20     // entries published by one poll; the rest wait for the next
	maxFollowers = 10_000 // people the bridge delivers to
)

// Config configures a Bridge; main.go's flags fill it.
type Config struct {
	URL     string        // public base URL; its host is the domain of the person's ID
	DataDir string        // holds state.json
	FeedURL string        // the Atom or RSS feed
	Name    string        // Name@host is the person's diaspora* ID
	Poll    time.Duration // time between two fetches of the feed
	Dev     bool          // allow http, loopback peers and any port: never in production
	KeyBits int           // size of the RSA key made on first start; 0 means 4096
	Logger  *slog.Logger  // required
}

// Bridge is a diaspora* person whose posts are the entries of a feed.
type Bridge struct {
	cfg      Config
	id, guid string // the person's diaspora* ID and guid
	base     string // public base URL, ending in "/"
	key      *rsa.PrivateKey
	log      *slog.Logger
	disc     *discovery.Client   // looks people up; its guarded HTTP client delivers
	resolver *discovery.Resolver // disc with a cache: senders' keys, followers' pods
	feed     *http.Client
	queue    salmon.MemoryQueue // deliveries waiting for the Sender

	mu sync.Mutex // guards st and writes of the state file
	st *state
}

// New checks cfg, opens the state in cfg.DataDir and sets up the clients.
func New(cfg Config) (*Bridge, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(cfg.Dev && u.Scheme == "http")) {
		return nil, fmt.Errorf("--url %q: want the bridge's https base URL (http only with --dev)", cfg.URL)
	}
	if fu, err := url.Parse(cfg.FeedURL); err != nil || (fu.Scheme != "https" && fu.Scheme != "http") || fu.Host == "" {
		return nil, fmt.Errorf("--feed %q: want the http(s) URL of an Atom or RSS feed", cfg.FeedURL)
	}
	if cfg.Poll <= 0 {
		return nil, fmt.Errorf("--poll %v: want a positive interval", cfg.Poll)
	}
	host := strings.ToLower(u.Host)
	b := &Bridge{cfg: cfg, log: cfg.Logger, base: u.Scheme + "://" + host + "/", id: cfg.Name + "@" + host}
	if err := discovery.ValidateID(b.id); err != nil {
		return nil, fmt.Errorf("--name %q: want a lowercase name such as \"news\": %w", cfg.Name, err)
	}
	if b.st, err = openState(cfg.DataDir, b.id, cfg.KeyBits); err != nil {
		return nil, fmt.Errorf("--data %s: %w", cfg.DataDir, err)
	}
	if b.key, err = magicenv.ParsePrivateKey([]byte(b.st.PrivateKey), nil); err != nil {
		return nil, err
	}
	b.guid = b.st.GUID
	// The zero discovery.Client takes https on port 443 only and refuses
	// reserved addresses (no SSRF); --dev admits loopback on any port, as
	// the pod's --dev does. The feed may be on http: the operator chose it.
	b.disc = &discovery.Client{UserAgent: userAgent, Logger: b.log, AllowHTTP: cfg.Dev}
	feed := &discovery.Client{UserAgent: userAgent, AllowHTTP: true}
	if cfg.Dev {
		b.disc.AllowedAddrs = []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("[::1]:0")}
		b.disc.AllowedPorts = []uint16{0}
		feed = b.disc
	}
	// Anyone may post to /receive/public: keep at most 10,000 senders' keys.
	b.resolver = &discovery.Resolver{Client: b.disc, Cache: &discovery.MemoryCache{MaxEntries: 10000}}
	b.feed = feed.GuardedHTTPClient()
	b.feed.Timeout = 30 * time.Second
	b.feed.CheckRedirect = nil // follow up to 10 redirects; the guard checks every hop
	return b, nil
}

// Handler returns the bridge's routes: the discovery documents, the two
// receive routes and /fetch.
func (b *Bridge) Handler() http.Handler {
	mux := http.NewServeMux()
	(&discovery.Handler{BaseURL: b.base, Directory: b, Logger: b.log,
		Software: discovery.Software{Name: "go-diaspora-feedbridge", Version: "0.1"}}).Register(mux)
	// SyncInbox has the Receiver check each body at once (decryption with
	// RecipientKey, the sender's key from the resolver, signature, entity,
	// sender rules) before receive sees the message.
	inbox := &salmon.SyncInbox{Receiver: &salmon.Receiver{Keys: b.resolver, RecipientKeys: b, Entities: b}, Deliver: b.receive}
	mux.Handle("/receive/", &salmon.Handler{Inbox: inbox, Logger: b.log})
	mux.Handle("/fetch/", &salmon.FetchHandler{Source: b, Logger: b.log})
	return mux
}

// PersonByID and PersonByGUID make the bridge a discovery.Directory.
func (b *Bridge) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	return b.person(id == b.id)
}

func (b *Bridge) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	return b.person(guid == b.guid)
}

func (b *Bridge) person(found bool) (*discovery.Person, error) {
	if !found {
		return nil, discovery.ErrNotFound
	}
	return &discovery.Person{ID: b.id, GUID: b.guid, PublicKey: &b.key.PublicKey,
		FullName: b.cfg.Name, FirstName: b.cfg.Name, Searchable: true}, nil
}

// RecipientKey implements salmon.RecipientKeys: the private route opens
// bodies for the bridge person only (any other guid is 404).
func (b *Bridge) RecipientKey(_ context.Context, guid string) (string, crypto.Decrypter, error) {
	if guid != b.guid {
		return "", nil, salmon.ErrRecipientNotFound
	}
	return b.id, b.key, nil
}

// RelatedEntity implements salmon.EntityStore: the bridge keeps no
// entities to comment on, like or reshare, so such messages are refused
// for good (202), not retried.
func (b *Bridge) RelatedEntity(context.Context, string, string) (*salmon.RelatedEntity, error) {
	return nil, salmon.ErrNotFound
}

// receive gets every message the Receiver accepted. A Contact to the
// bridge person starts or ends a follower; anything else is ignored. An
// error is answered 503, so that the sender tries again later.
func (b *Bridge) receive(ctx context.Context, m *salmon.Message) error {
	c, ok := m.Entity.(*entities.Contact)
	if !ok || c.Recipient != b.id {
		return nil
	}
	p, err := b.resolver.Person(ctx, c.Author) // cached by the key lookup; says where their pod is
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if !c.Following || c.Blocking {
		delete(b.st.Followers, c.Author)
	} else if len(b.st.Followers) < maxFollowers || b.st.Followers[c.Author] != "" {
		b.st.Followers[c.Author] = p.PodURL
	}
	b.log.Info("contact", "id", c.Author, "following", b.st.Followers[c.Author] != "")
	return b.st.save(b.cfg.DataDir)
}

// Run polls the feed every cfg.Poll and delivers what is published, until
// ctx ends.
func (b *Bridge) Run(ctx context.Context) {
	// The Sender works the queue: 8 attempts at a time, 2 per host, no
	// redirects, retries with backoff. Deliveries still queued when ctx
	// ends are lost: a MemoryQueue lives in memory only.
	sender := &salmon.Sender{HTTPClient: b.disc.GuardedHTTPClient(), UserAgent: userAgent, Logger: b.log}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { _ = sender.Run(ctx, &b.queue) }) // returns when ctx ends
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	for {
		if err := b.Poll(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("polling the feed", "feed", b.cfg.FeedURL, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Poll fetches the feed once and publishes its new entries, oldest first.
// They are in the state file before anything is sent, so that no restart
// publishes them again. While no one follows the bridge they wait.
func (b *Bridge) Poll(ctx context.Context) error {
	entries, err := b.fetchFeed(ctx)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	pods := slices.Compact(slices.Sorted(maps.Values(b.st.Followers))) // each pod once
	if len(pods) == 0 {
		return nil
	}
	var fresh []string
	var deliveries []salmon.Delivery
	inFeed := map[string]bool{}
	for _, e := range slices.Backward(entries) { // feeds list the newest first
		inFeed[e.ID] = true
		if b.st.Posts[e.ID] == nil && len(fresh) < maxPerPoll {
			p, ds := b.publish(e, pods)
			b.st.Posts[e.ID] = p
			fresh = append(fresh, e.ID)
			deliveries = append(deliveries, ds...)
		}
	}
	for id := range b.st.Posts { // forget what the feed no longer lists, down to maxPosts
		if len(b.st.Posts) > maxPosts && !inFeed[id] {
			delete(b.st.Posts, id)
		}
	}
	if err := b.st.save(b.cfg.DataDir); err != nil {
		for _, id := range fresh {
			delete(b.st.Posts, id) // nothing was sent: published next time
		}
		return err
	}
	for _, d := range deliveries {
		b.queue.Add(d)
	}
	return nil
}

// publish signs e once as a public status message, one delivery per pod; an
// entry that makes no valid message is kept as an empty post, not retried.
func (b *Bridge) publish(e Entry, pods []string) (*post, []salmon.Delivery) {
	sm := &entities.StatusMessage{Author: b.id, GUID: newGUID(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Public: true, Text: statusText(e), ProviderDisplayName: "feedbridge"}
	var env *magicenv.Envelope
	var ds []salmon.Delivery
	payload, err := entities.MarshalXML(sm)
	if err == nil {
		err = sm.Validate()
	}
	if err == nil {
		env, err = magicenv.Sign(payload, b.id, b.key, nil) // once, kept for /fetch
	}
	if err == nil {
		ds, err = salmon.EnvelopeDeliveries(env, pods)
	}
	if err != nil {
		b.log.Warn("entry skipped", "entry", e.ID, "err", err)
		return &post{}, nil
	}
	b.log.Info("published", "entry", e.ID, "guid", sm.GUID, "pods", len(pods))
	return &post{GUID: sm.GUID, Envelope: string(env.Marshal())}, ds
}

// Fetch implements salmon.FetchSource: GET /fetch/post/{guid} answers
// with the signed envelope of a published entry.
func (b *Bridge) Fetch(_ context.Context, typ, guid string) (*salmon.Fetched, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range b.st.Posts {
		if p.GUID == guid && p.Envelope != "" && (typ == "post" || typ == "status_message") {
			return &salmon.Fetched{Envelope: []byte(p.Envelope)}, nil
		}
	}
	return nil, salmon.ErrNotFound
}
