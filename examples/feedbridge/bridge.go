package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

const (
	userAgent      = "go-diaspora-feedbridge/0.1"
	maxPerPoll     = 20               // entries published by one poll; the rest wait for the next
	maxFollowers   = 10_000           // people the bridge delivers to
	feedTimeout    = 30 * time.Second // one fetch of the feed, body included
	receiveTimeout = 30 * time.Second // checking one received body (key lookups included)
	maxReceiving   = 4                // received bodies checked at the same time
)

// Config configures a Bridge.
type Config struct {
	// URL is the public base URL, such as https://feeds.example/. Its host
	// (and port) is the domain of the person's diaspora* ID.
	URL string
	// DataDir holds state.json: the key, the followers and what was
	// published.
	DataDir string
	// FeedURL is the Atom or RSS feed to publish.
	FeedURL string
	// Name is the person's local name: Name@host is the diaspora* ID.
	Name string
	// DisplayName is the name on the person's profile; empty means Name.
	DisplayName string
	// Poll is the time between two fetches of the feed; 0 means 15 minutes.
	Poll time.Duration
	// Dev allows http and loopback peers on any port, for a bridge and a
	// pod on one machine. Never in production: it lifts the SSRF guard.
	Dev bool
	// KeyBits is the size of the RSA key made on first start; 0 means 4096.
	KeyBits int
	// Logger receives the bridge's records; nil discards them.
	Logger *slog.Logger
}

// Bridge is a diaspora* person whose posts are the entries of a feed. It
// serves the person's discovery documents, takes sharing requests
// (Contact entities) through the SDK's receive pipeline, and publishes
// every new feed entry as a public status message to the pods of the
// people who share with it.
type Bridge struct {
	cfg       Config
	id, guid  string // the person's diaspora* ID and guid
	base      string // public base URL, ending in "/"
	key       *rsa.PrivateKey
	log       *slog.Logger
	envOpts   *magicenv.Options
	resolver  *discovery.Resolver
	receiver  *salmon.Receiver
	sender    *salmon.Sender
	queue     *deliveryQueue
	feed      *fetcher
	avatar    []byte
	receiving chan struct{} // a slot per body being checked

	mu     sync.Mutex // guards st and byGUID, and writes of the state file
	st     *state
	byGUID map[string]*post

	polls atomic.Int64 // polls that ran to the end, for tests and the status page
}

// New checks cfg, loads the state from cfg.DataDir or creates it (a new
// key and guid), and wires the SDK's parts together.
func New(cfg Config) (*Bridge, error) {
	if cfg.Poll == 0 {
		cfg.Poll = 15 * time.Minute
	}
	if cfg.KeyBits == 0 {
		cfg.KeyBits = magicenv.DefaultKeyBits
	}
	if cfg.DisplayName == "" {
		cfg.DisplayName = cfg.Name
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bridge{cfg: cfg, log: cfg.Logger, envOpts: &magicenv.Options{}, receiving: make(chan struct{}, maxReceiving)}
	if err := b.checkConfig(); err != nil {
		return nil, err
	}
	if err := b.loadOrCreate(); err != nil {
		return nil, err
	}

	// Discovery: how the bridge finds people (their keys and pods). The
	// zero Client refuses plain http, ports other than 443 and reserved
	// addresses; --dev lifts that for loopback, as the pod's --dev does.
	disc := &discovery.Client{UserAgent: userAgent, Logger: b.log, AllowHTTP: cfg.Dev}
	feedDisc := &discovery.Client{UserAgent: userAgent, AllowHTTP: true, AllowedPorts: []uint16{443, 80}}
	if cfg.Dev {
		loopback := []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:0"), netip.MustParseAddrPort("[::1]:0")}
		disc.AllowedAddrs, disc.AllowedPorts = loopback, []uint16{0}
		feedDisc.AllowedAddrs, feedDisc.AllowedPorts = loopback, []uint16{0}
	} else if fu, _ := url.Parse(cfg.FeedURL); fu.Port() != "" {
		port, _ := strconv.ParseUint(fu.Port(), 10, 16) // checked by checkConfig
		feedDisc.AllowedPorts = append(feedDisc.AllowedPorts, uint16(port))
	}
	b.resolver = &discovery.Resolver{Client: disc, Cache: &discovery.MemoryCache{}}
	b.receiver = &salmon.Receiver{Keys: b.resolver, Entities: b, RecipientKeys: b, Envelope: *b.envOpts}
	b.sender = &salmon.Sender{HTTPClient: disc.GuardedHTTPClient(), UserAgent: userAgent, Logger: b.log,
		BaseBackoff: 30 * time.Second, MaxBackoff: 2 * time.Hour}
	b.queue = &deliveryQueue{done: b.delivered}
	b.queue.KeepFinished = -1

	// The feed is fetched under the same guard, but over http too: its
	// URL comes from the operator, not from a stranger.
	fc := feedDisc.GuardedHTTPClient()
	fc.Timeout = feedTimeout
	fc.CheckRedirect = func(_ *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return errors.New("feed: too many redirects")
		}
		return nil
	}
	b.feed = &fetcher{client: fc, url: cfg.FeedURL, userAgent: userAgent}
	b.avatar = makeAvatar()
	return b, nil
}

// checkConfig validates the configuration and derives the person's ID.
func (b *Bridge) checkConfig() error {
	cfg := b.cfg
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("--url %q: want the base URL of the bridge, such as https://feeds.example/", cfg.URL)
	}
	if u.Scheme == "http" && !cfg.Dev {
		return fmt.Errorf("--url %q: plain http only with --dev; pods need https", cfg.URL)
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		host = strings.ToLower(u.Hostname())
	}
	b.base = u.Scheme + "://" + host + "/"
	b.id = cfg.Name + "@" + host
	if err := discovery.ValidateID(b.id); err != nil || strings.ContainsAny(cfg.Name, "@:") {
		return fmt.Errorf("--name %q: want a lowercase local name such as \"news\" (the ID would be %q)", cfg.Name, b.id)
	}
	if utf8.RuneCountInString(cfg.DisplayName) > 70 || strings.Contains(cfg.DisplayName, ";") {
		return fmt.Errorf("--display-name %q: at most 70 characters, no \";\"", cfg.DisplayName)
	}
	fu, err := url.Parse(cfg.FeedURL)
	if err != nil || (fu.Scheme != "https" && fu.Scheme != "http") || fu.Host == "" {
		return fmt.Errorf("--feed %q: want the http(s) URL of an Atom or RSS feed", cfg.FeedURL)
	}
	if p := fu.Port(); p != "" {
		if n, err := strconv.ParseUint(p, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("--feed %q: bad port", cfg.FeedURL)
		}
	}
	if cfg.Poll < 0 {
		return fmt.Errorf("--poll %v: want a positive interval", cfg.Poll)
	}
	if cfg.DataDir == "" {
		return errors.New("--data: a data directory is needed")
	}
	return nil
}

// loadOrCreate reads the state, or makes the person: a key and a guid.
func (b *Bridge) loadOrCreate() error {
	if err := os.MkdirAll(b.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	st, err := loadState(b.cfg.DataDir)
	if err != nil {
		return err
	}
	if st == nil {
		b.log.Info("first start: generating the person's key", "id", b.id, "bits", b.cfg.KeyBits)
		key, err := magicenv.GenerateKey(b.cfg.KeyBits, b.envOpts)
		if err != nil {
			return fmt.Errorf("generating key: %w", err)
		}
		pem, err := magicenv.MarshalPrivateKey(key)
		if err != nil {
			return err
		}
		st = &state{Version: stateVersion, ID: b.id, GUID: newGUID(), PrivateKey: string(pem),
			Followers: map[string]follower{}, Posts: map[string]*post{}}
		if err := st.save(b.cfg.DataDir); err != nil {
			return err
		}
	}
	if st.ID != b.id {
		return fmt.Errorf("%s belongs to %s, not %s: --url and --name must stay what they were", b.cfg.DataDir, st.ID, b.id)
	}
	if b.key, err = magicenv.ParsePrivateKey([]byte(st.PrivateKey), b.envOpts); err != nil {
		return fmt.Errorf("the key in %s: %w", b.cfg.DataDir, err)
	}
	if !discovery.ValidGUID(st.GUID) {
		return fmt.Errorf("the guid in %s is not valid: %q", b.cfg.DataDir, st.GUID)
	}
	b.st, b.guid = st, st.GUID
	b.byGUID = map[string]*post{}
	for _, p := range st.Posts {
		if p.GUID != "" {
			b.byGUID[p.GUID] = p
		}
	}
	return nil
}

// newGUID returns 32 random hexadecimal digits, as diaspora* makes guids.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ID returns the person's diaspora* ID.
func (b *Bridge) ID() string { return b.id }

// Handler returns the bridge's HTTP routes: the discovery documents, the
// receive routes, /fetch, the avatar and a status page.
func (b *Bridge) Handler() http.Handler {
	mux := http.NewServeMux()
	(&discovery.Handler{
		BaseURL:   b.base,
		Directory: b,
		Software:  discovery.Software{Name: "go-diaspora-feedbridge", Version: "0.1"},
		Metadata:  map[string]any{"nodeName": b.id},
		Logger:    b.log,
	}).Register(mux)
	mux.Handle("/receive/", &salmon.Handler{Inbox: salmon.InboxFunc(b.accept), Logger: b.log})
	mux.Handle("GET /fetch/{type}/{guid}", &salmon.FetchHandler{Source: b, Logger: b.log})
	mux.HandleFunc("GET "+discovery.DefaultAvatar, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Cache-Control", "public, max-age=86400")
		_, _ = w.Write(b.avatar)
	})
	// WebFinger (as discovery.Handler writes it) also links a profile
	// page, an alias and an Atom feed of the person's posts: the profile
	// is the status page, the Atom feed the bridged feed itself.
	mux.HandleFunc("GET /{$}", b.serveStatus)
	mux.HandleFunc("GET /u/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") != b.cfg.Name {
			http.NotFound(w, r)
			return
		}
		b.serveStatus(w, r)
	})
	mux.HandleFunc("GET /people/{guid}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("guid") != b.guid {
			http.NotFound(w, r)
			return
		}
		b.serveStatus(w, r)
	})
	mux.HandleFunc("GET /public/{feed}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("feed") != b.cfg.Name+".atom" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, b.cfg.FeedURL, http.StatusFound)
	})
	return mux
}

// serveStatus says in a line who the bridge is and what it did.
func (b *Bridge) serveStatus(w http.ResponseWriter, _ *http.Request) {
	b.mu.Lock()
	followers, posts := len(b.st.Followers), len(b.byGUID)
	b.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	fmt.Fprintf(w, "%s publishes %s on diaspora*: %d posts, %d followers.\n", b.id, b.cfg.FeedURL, posts, followers)
}

// Run polls the feed every cfg.Poll and delivers what is published, until
// ctx ends. Deliveries left over from the last run go out first.
func (b *Bridge) Run(ctx context.Context) {
	b.mu.Lock()
	for _, p := range b.st.Posts {
		for _, u := range p.Pending {
			b.queue.Add(salmon.Delivery{ID: p.GUID + " " + u, URL: u, ContentType: magicenv.ContentType, Body: []byte(p.Envelope)})
		}
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { _ = b.sender.Run(ctx, b.queue) }) // returns when ctx ends
	defer wg.Wait()
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

// Poll fetches the feed once and publishes its new entries. While no one
// follows the bridge it publishes nothing (a post would reach no one):
// the entries wait for the first follower.
func (b *Bridge) Poll(ctx context.Context) error {
	if len(b.followerPods()) == 0 {
		b.log.Debug("no followers yet: the feed is not polled")
		b.polls.Add(1)
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, feedTimeout)
	defer cancel()
	data, err := b.feed.fetch(ctx)
	if errors.Is(err, errNotModified) {
		b.polls.Add(1)
		return nil
	}
	if err != nil {
		return err
	}
	f, err := ParseFeed(data)
	if err != nil {
		return err
	}
	resolveLinks(f.Entries, b.cfg.FeedURL)
	inFeed := map[string]bool{}
	for _, e := range f.Entries {
		inFeed[e.ID] = true
	}
	fresh := newEntries(f.Entries, b.published, maxPerPoll)
	for _, e := range fresh {
		if err := b.publish(ctx, e); err != nil {
			return fmt.Errorf("publishing %q: %w", e.ID, err)
		}
	}
	b.mu.Lock()
	if b.st.prune(inFeed) {
		b.reindex()
		err = b.st.save(b.cfg.DataDir)
	}
	b.mu.Unlock()
	if err != nil {
		return err
	}
	if len(fresh) < maxPerPoll { // else ask for the whole feed again next time
		b.feed.commit()
	}
	b.polls.Add(1)
	return nil
}

// published reports whether the entry with this ID was published.
func (b *Bridge) published(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.st.Posts[id]
	return ok
}

// reindex rebuilds byGUID after posts were forgotten. Callers hold b.mu.
func (b *Bridge) reindex() {
	clear(b.byGUID)
	for _, p := range b.st.Posts {
		if p.GUID != "" {
			b.byGUID[p.GUID] = p
		}
	}
}

// publish makes e a public status message, signs it once, records it
// (before anything is sent, so that a restart never publishes it again)
// and queues one delivery per follower's pod.
func (b *Bridge) publish(ctx context.Context, e Entry) error {
	sm := &entities.StatusMessage{Author: b.id, GUID: newGUID(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		Public: true, Text: statusText(e), ProviderDisplayName: "feedbridge"}
	if err := sm.Validate(); err != nil {
		// Nothing to say (or nothing valid): remember the entry anyway,
		// so that it is not looked at again.
		b.log.Warn("entry skipped", "entry", e.ID, "err", err)
		return b.record(e.ID, &post{CreatedAt: sm.CreatedAt})
	}
	payload, err := entities.MarshalXML(sm)
	if err != nil {
		return err
	}
	pods := b.followerPods()
	ds, err := salmon.PublicDeliveries(payload, b.id, b.key, pods, b.envOpts)
	if err != nil {
		return err
	}
	var body []byte
	if len(ds) > 0 {
		body = ds[0].Body // one envelope, shared by every delivery
	} else { // no follower (any more): sign for /fetch only
		env, err := magicenv.Sign(payload, b.id, b.key, b.envOpts)
		if err != nil {
			return err
		}
		body = env.Marshal()
	}
	p := &post{GUID: sm.GUID, CreatedAt: sm.CreatedAt, Envelope: string(body)}
	for i := range ds {
		ds[i].ID = p.GUID + " " + ds[i].URL // delivered() finds the post by it
		p.Pending = append(p.Pending, ds[i].URL)
	}
	if err := b.record(e.ID, p); err != nil {
		return err
	}
	for _, d := range ds {
		b.queue.Add(d)
	}
	b.log.InfoContext(ctx, "published", "entry", e.ID, "guid", p.GUID, "pods", len(pods))
	return nil
}

// record remembers a published entry and saves the state.
func (b *Bridge) record(entryID string, p *post) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Posts[entryID] = p
	if err := b.st.save(b.cfg.DataDir); err != nil {
		delete(b.st.Posts, entryID)
		return err
	}
	if p.GUID != "" {
		b.byGUID[p.GUID] = p
	}
	return nil
}

// followerPods returns the base URLs of the followers' pods, each once.
func (b *Bridge) followerPods() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var pods []string
	for _, f := range b.st.Followers {
		if !slices.Contains(pods, f.Pod) {
			pods = append(pods, f.Pod)
		}
	}
	slices.Sort(pods)
	return pods
}

// deliveryQueue is the Sender's queue: in memory, with every finished
// delivery reported, so that the state forgets it.
type deliveryQueue struct {
	salmon.MemoryQueue
	done func(salmon.Delivery, salmon.Attempt)
}

// Done implements salmon.Queue.
func (q *deliveryQueue) Done(ctx context.Context, j *salmon.Job, a salmon.Attempt) error {
	q.done(j.Delivery, a)
	return q.MemoryQueue.Done(ctx, j, a)
}

// delivered takes a finished delivery off its post's pending list.
func (b *Bridge) delivered(d salmon.Delivery, a salmon.Attempt) {
	guid, target, _ := strings.Cut(d.ID, " ")
	if a.Outcome == salmon.Delivered {
		b.log.Info("delivered", "guid", guid, "url", target, "status", a.StatusCode)
	} else {
		b.log.Warn("delivery failed for good", "guid", guid, "url", target, "status", a.StatusCode, "err", a.Err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byGUID[guid]
	if p == nil {
		return
	}
	p.Pending = slices.DeleteFunc(p.Pending, func(u string) bool { return u == target })
	if err := b.st.save(b.cfg.DataDir); err != nil {
		b.log.Error("saving state", "err", err) // the delivery is repeated after a restart: harmless
	}
}

// accept is the receive handler's Inbox: it checks the body at once
// through the SDK's Receiver (envelope, signature with the sender's key
// from discovery, entity, sender rules) and acts on Contact entities.
func (b *Bridge) accept(ctx context.Context, in *salmon.Incoming) error {
	if in.Route == salmon.RoutePrivate && in.RecipientGUID != b.guid {
		return salmon.ErrRecipientNotFound
	}
	ctx, cancel := context.WithTimeout(ctx, receiveTimeout)
	defer cancel()
	select {
	case b.receiving <- struct{}{}:
		defer func() { <-b.receiving }()
	case <-ctx.Done():
		return errors.New("receive: busy") // 503: the sender tries again later
	}
	msg, err := b.receiver.Receive(ctx, in)
	if err != nil {
		if salmon.IsTemporary(err) {
			b.log.Warn("receive: cannot check now", "route", in.Route, "err", err)
			return err // 503
		}
		b.log.Info("receive: rejected", "route", in.Route, "category", salmon.Category(err), "err", err)
		return salmon.ErrRejected // 202 all the same
	}
	switch e := msg.Entity.(type) {
	case *entities.Contact:
		return b.contact(ctx, e)
	default:
		b.log.Debug("receive: ignored", "type", e.Type(), "sender", msg.Sender)
		return nil
	}
}

// contact records or forgets a follower. The Receiver has checked that
// the Contact's author signed it.
func (b *Bridge) contact(ctx context.Context, c *entities.Contact) error {
	if c.Recipient != b.id {
		return nil
	}
	if !c.Following || c.Blocking {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.st.Followers[c.Author]; !ok {
			return nil
		}
		delete(b.st.Followers, c.Author)
		b.log.Info("follower left", "id", c.Author)
		return b.st.save(b.cfg.DataDir)
	}
	per, err := b.resolver.Person(ctx, c.Author) // cached by the key lookup
	if err != nil {
		if discovery.IsTemporary(err) {
			return err
		}
		b.log.Info("receive: follower not found", "id", c.Author, "err", err)
		return salmon.ErrRejected
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	old, had := b.st.Followers[c.Author]
	if had && old.Pod == per.PodURL && old.GUID == per.GUID {
		return nil
	}
	if !had && len(b.st.Followers) >= maxFollowers {
		b.log.Warn("follower refused: too many followers", "id", c.Author, "max", maxFollowers)
		return salmon.ErrRejected
	}
	b.st.Followers[c.Author] = follower{GUID: per.GUID, Pod: per.PodURL, Since: time.Now().UTC().Truncate(time.Second)}
	if err := b.st.save(b.cfg.DataDir); err != nil {
		if had {
			b.st.Followers[c.Author] = old
		} else {
			delete(b.st.Followers, c.Author)
		}
		return err // 503: the pod sends the Contact again
	}
	b.log.Info("new follower", "id", c.Author, "pod", per.PodURL)
	return nil
}

// followers returns the IDs of the followers, sorted.
func (b *Bridge) followers() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	ids := make([]string, 0, len(b.st.Followers))
	for id := range b.st.Followers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// pending counts the deliveries not yet finished.
func (b *Bridge) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, p := range b.st.Posts {
		n += len(p.Pending)
	}
	return n
}

// person is the bridge person as discovery serves it.
func (b *Bridge) person() *discovery.Person {
	return &discovery.Person{ID: b.id, GUID: b.guid, PublicKey: &b.key.PublicKey, FullName: b.cfg.DisplayName,
		FirstName: b.cfg.DisplayName, Searchable: true}
}

// PersonByID implements discovery.Directory: the bridge has one person.
func (b *Bridge) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	if id != b.id {
		return nil, discovery.ErrNotFound
	}
	return b.person(), nil
}

// PersonByGUID implements discovery.Directory.
func (b *Bridge) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	if guid != b.guid {
		return nil, discovery.ErrNotFound
	}
	return b.person(), nil
}

// Usage implements discovery.UsageCounter for NodeInfo.
func (b *Bridge) Usage(context.Context) (discovery.Usage, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	users, posts := int64(1), int64(len(b.byGUID))
	return discovery.Usage{Users: discovery.UserCounts{Total: &users}, LocalPosts: &posts}, nil
}

// RecipientKey implements salmon.RecipientKeys: the private route opens
// bodies for the bridge person only.
func (b *Bridge) RecipientKey(_ context.Context, guid string) (string, crypto.Decrypter, error) {
	if guid != b.guid {
		return "", nil, salmon.ErrRecipientNotFound
	}
	return b.id, b.key, nil
}

// RelatedEntity implements salmon.EntityStore: the bridge knows its own
// posts, so that comments and likes on them pass the receive rules
// (they are then ignored).
func (b *Bridge) RelatedEntity(_ context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	if typ != "Post" && typ != "StatusMessage" {
		return nil, salmon.ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.byGUID[guid] == nil {
		return nil, salmon.ErrNotFound
	}
	return &salmon.RelatedEntity{Type: "Post", GUID: guid, Author: b.id, Local: true, Public: true}, nil
}

// Fetch implements salmon.FetchSource: GET /fetch/post/{guid} (or
// status_message) answers with the signed envelope of a published entry.
func (b *Bridge) Fetch(_ context.Context, typ, guid string) (*salmon.Fetched, error) {
	if typ != "post" && typ != "status_message" {
		return nil, salmon.ErrNotFound
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.byGUID[guid]
	if p == nil || p.Envelope == "" {
		return nil, salmon.ErrNotFound
	}
	return &salmon.Fetched{Envelope: []byte(p.Envelope)}, nil
}

// makeAvatar draws the picture the hCard advertises: an orange square,
// the colour of feed icons.
func makeAvatar() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 100, 100))
	for y := range 100 {
		for x := range 100 {
			img.Set(x, y, color.RGBA{0xf2, 0x8c, 0x28, 0xff})
		}
	}
	var buf bytes.Buffer
	_ = png.Encode(&buf, img) // cannot fail on a bytes.Buffer
	return buf.Bytes()
}
