package salmon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/logs"
	"github.com/go-diaspora/federation/internal/rules"
	"github.com/go-diaspora/federation/magicenv"
)

// Fetching errors.
var (
	// ErrFetchLoop: the entity is already being fetched in this task.
	ErrFetchLoop = errors.New("salmon: fetch loop")
	// ErrFetchBudget: the task used up its depth or request budget.
	ErrFetchBudget = errors.New("salmon: fetch budget exhausted")
	// ErrOriginMismatch: the fetched entity is not the one asked for
	// (type, guid or author).
	ErrOriginMismatch = errors.New("salmon: fetched entity is not the one asked for")
	// ErrInvalidURI: not a diaspora:// URI.
	ErrInvalidURI = errors.New("salmon: invalid diaspora:// URI")
)

// typePattern is the snake_case type segment of /fetch and diaspora:// URIs.
var typePattern = regexp.MustCompile(`^[a-z]+(?:_[a-z]+)*$`)

// Fetched is what a [FetchSource] has for a fetch request: the signed
// envelope of a public entity by a local author, or the pod of a remote
// author to redirect to.
type Fetched struct {
	// Envelope is the Magic Envelope of the entity XML signed by the
	// entity's author (see [magicenv.Sign]).
	Envelope []byte
	// Pod is the base URL of the author's pod, for an entity whose
	// author is not local.
	Pod string
}

// FetchSource finds what GET /fetch/{type}/{guid} serves. typ is the
// snake_case type of the request ("post" stands for status messages and
// reshares). It returns an error wrapping [ErrNotFound] for unknown and
// for private entities, which must look the same from outside.
type FetchSource interface {
	// Fetch returns the entity of type typ (the snake_case name of the
	// URL) with the given guid.
	Fetch(ctx context.Context, typ, guid string) (*Fetched, error)
}

// FetchSourceFunc adapts a function to [FetchSource].
type FetchSourceFunc func(ctx context.Context, typ, guid string) (*Fetched, error)

// Fetch calls f(ctx, typ, guid).
func (f FetchSourceFunc) Fetch(ctx context.Context, typ, guid string) (*Fetched, error) {
	return f(ctx, typ, guid)
}

// FetchHandler serves GET /fetch/{type}/{guid}: 200 with the author's
// signed envelope, 302 to the author's pod, or 404 for anything unknown,
// private or malformed.
type FetchHandler struct {
	// Source finds the entities to serve. Required.
	Source FetchSource
	// Logger receives one record per request; nil discards them.
	Logger *slog.Logger
}

// ServeHTTP implements [http.Handler].
func (h *FetchHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := h.serve(w, r)
	if log := logs.Or(h.Logger); log.Enabled(r.Context(), slog.LevelInfo) {
		log.LogAttrs(r.Context(), slog.LevelInfo, "fetch", slog.String("path", r.URL.Path), slog.Int("status", status))
	}
}

func (h *FetchHandler) serve(w http.ResponseWriter, r *http.Request) int {
	fail := func(status int) int {
		http.Error(w, http.StatusText(status), status)
		return status
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/fetch/")
	typ, guid, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || !typePattern.MatchString(typ) || !rules.ValidGUID(guid) {
		return fail(http.StatusNotFound)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return fail(http.StatusMethodNotAllowed)
	}
	if h.Source == nil {
		return fail(http.StatusNotFound)
	}
	f, err := h.Source.Fetch(r.Context(), typ, guid)
	switch {
	case errors.Is(err, ErrNotFound), err == nil && f == nil:
		return fail(http.StatusNotFound)
	case err != nil:
		w.Header().Set("Retry-After", "60")
		return fail(http.StatusServiceUnavailable)
	case len(f.Envelope) > 0:
		w.Header().Set("Content-Type", magicenv.ContentType+"; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write(f.Envelope)
		}
		return http.StatusOK
	default:
		target, err := receiveURL(f.Pod, "fetch/"+typ+"/"+guid)
		if err != nil {
			return fail(http.StatusNotFound)
		}
		http.Redirect(w, r, target, http.StatusFound)
		return http.StatusFound
	}
}

// ParseURI splits a diaspora://author/type/guid URI (also
// web+diaspora://) into its parts, checking each.
func ParseURI(uri string) (author, typ, guid string, err error) {
	rest, ok := strings.CutPrefix(uri, "diaspora://")
	if !ok {
		rest, ok = strings.CutPrefix(uri, "web+diaspora://")
	}
	parts := strings.Split(rest, "/")
	if !ok || len(parts) != 3 || !entities.ValidDiasporaID(parts[0]) || !typePattern.MatchString(parts[1]) || !rules.ValidGUID(parts[2]) {
		return "", "", "", fmt.Errorf("%w: %q", ErrInvalidURI, uri)
	}
	return parts[0], parts[1], parts[2], nil
}

// Fetcher retrieves public entities from other pods and verifies them
// through a [Receiver] exactly like a public delivery. It also serves as
// the Receiver's way to resolve unknown parents and reshare roots (see
// [Receiver.Fetch]).
type Fetcher struct {
	// HTTPClient makes the requests; nil means a client with no proxy
	// that refuses to connect to a reserved address, as [Sender]'s does
	// ([ErrBlockedAddress]). A client given here is used as it is:
	// (*discovery.Client).GuardedHTTPClient adds discovery's port policy
	// and allow-lists. Fetcher follows redirects itself (MaxRedirects);
	// the guard checks every hop.
	HTTPClient *http.Client
	// Pod returns the base URL of a person's pod (WebFinger's seed
	// location, e.g. from a discovery.Resolver).
	Pod func(ctx context.Context, id string) (string, error)
	// Receiver verifies what was fetched. Required.
	Receiver *Receiver
	// Store, when set, is told about every entity fetched and verified,
	// so that the application keeps it.
	Store func(ctx context.Context, m *Message) error
	// Limits; zero means the default in brackets.
	MaxBodyBytes int64         // response size [1 MiB]
	MaxDepth     int           // nested fetches in one task [3]
	MaxRequests  int           // requests in one task [5]
	MaxRedirects int           // redirects per request [4]
	Timeout      time.Duration // per request [20 s]
	UserAgent    string        // the User-Agent header [none]
}

type fetchTaskKey struct{}

// fetchTask is shared by the fetches of one task, through the context.
type fetchTask struct {
	mu       sync.Mutex
	requests int
	depth    int
	inFlight map[string]bool
}

// FetchURI fetches the entity a diaspora:// URI names from its author's
// pod; see [Fetcher.Fetch].
func (f *Fetcher) FetchURI(ctx context.Context, uri string) (*Message, error) {
	author, typ, guid, err := ParseURI(uri)
	if err != nil {
		return nil, err
	}
	return f.Fetch(ctx, author, typ, guid)
}

// Fetch gets /fetch/{typ}/{guid} from the pod of author, verifies the
// body through the Receiver (as a public delivery: envelope, signature,
// entity, sender and public rules), and checks that the entity is the one
// asked for: its type ("post" accepts a status message or a reshare,
// "poll" and "event" the status message holding them), its guid and, when
// author is the entity's author, its author. Fetches started while
// verifying (an unknown parent of the fetched entity) share the task's
// budget: MaxDepth levels, MaxRequests requests, and no entity twice.
func (f *Fetcher) Fetch(ctx context.Context, author, typ, guid string) (*Message, error) {
	return f.fetch(ctx, author, typ, guid, true)
}

func (f *Fetcher) fetch(ctx context.Context, author, typ, guid string, checkAuthor bool) (*Message, error) {
	if !typePattern.MatchString(typ) || !rules.ValidGUID(guid) {
		return nil, fmt.Errorf("salmon: fetch %q %q: invalid type or guid", typ, guid)
	}
	if f.Receiver == nil || f.Pod == nil {
		return nil, errors.New("salmon: Fetcher needs a Receiver and Pod")
	}
	task, _ := ctx.Value(fetchTaskKey{}).(*fetchTask)
	if task == nil {
		task = &fetchTask{inFlight: map[string]bool{}}
		ctx = context.WithValue(ctx, fetchTaskKey{}, task)
	}
	key := typ + ":" + guid
	task.mu.Lock()
	switch {
	case task.inFlight[key]:
		task.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrFetchLoop, key)
	case task.depth >= orDefault(f.MaxDepth, 3), task.requests >= orDefault(f.MaxRequests, 5):
		task.mu.Unlock()
		return nil, fmt.Errorf("%w: at %s", ErrFetchBudget, key)
	}
	task.inFlight[key] = true
	task.depth++
	task.requests++
	task.mu.Unlock()
	defer func() {
		task.mu.Lock()
		delete(task.inFlight, key)
		task.depth--
		task.mu.Unlock()
	}()

	pod, err := f.Pod(ctx, author)
	if err != nil {
		return nil, fmt.Errorf("salmon: pod of %s: %w", author, err)
	}
	start, err := receiveURL(pod, "fetch/"+typ+"/"+guid)
	if err != nil {
		return nil, err
	}
	body, err := f.get(ctx, start)
	if err != nil {
		return nil, err
	}
	msg, err := f.Receiver.ReceivePublic(ctx, body)
	if err != nil {
		return nil, err
	}
	if err := matches(msg.Entity, typ, guid); err != nil {
		return nil, err
	}
	if checkAuthor && entities.Author(msg.Entity) != author {
		return nil, fmt.Errorf("%w: author %s, asked for %s", ErrOriginMismatch, entities.Author(msg.Entity), author)
	}
	if f.Store != nil {
		if err := f.Store(ctx, msg); err != nil {
			return nil, fmt.Errorf("salmon: storing fetched %s: %w", key, err)
		}
	}
	return msg, nil
}

// get fetches a URL, following at most MaxRedirects redirects, each to
// an http(s) URL.
func (f *Fetcher) get(ctx context.Context, target string) ([]byte, error) {
	client := http.DefaultClient
	if f.HTTPClient != nil {
		client = f.HTTPClient
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > orDefault(f.MaxRedirects, 4) {
			return fmt.Errorf("salmon: fetch: too many redirects")
		}
		if req.URL.Scheme != "https" && req.URL.Scheme != "http" {
			return fmt.Errorf("salmon: fetch: redirect to %q refused", req.URL.Scheme)
		}
		return nil
	}
	if f.HTTPClient == nil {
		c.Transport = guardedTransport()
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(f.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("salmon: fetch: %w", err)
	}
	req.Header.Set("Accept", magicenv.ContentType)
	if f.UserAgent != "" {
		req.Header.Set("User-Agent", f.UserAgent)
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, &LookupError{What: "fetch", Key: target, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		err := error(&StatusError{StatusCode: resp.StatusCode, URL: resp.Request.URL.String()})
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			err = fmt.Errorf("%w: %w", ErrNotFound, err)
		}
		return nil, lookupErr("fetch", target, err, ErrRelatedNotFound)
	}
	limit := f.MaxBodyBytes
	if limit <= 0 {
		limit = magicenv.DefaultMaxSize
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &LookupError{What: "fetch", Key: target, Err: err}
	}
	if int64(len(body)) > limit {
		return nil, fmt.Errorf("%w: fetched body over %d bytes", magicenv.ErrTooLarge, limit)
	}
	return body, nil
}

// matches checks that a fetched entity is the one the request named.
func matches(e entities.Entity, typ, guid string) error {
	var got string
	switch x := e.(type) {
	case *entities.StatusMessage:
		switch typ {
		case "post", "status_message":
			got = x.GUID
		case "poll":
			if x.Poll != nil {
				got = x.Poll.GUID
			}
		case "event":
			if x.Event != nil {
				got = x.Event.GUID
			}
		}
	case *entities.Reshare:
		if typ == "post" || typ == "reshare" {
			got = x.GUID
		}
	default:
		if e.Type() == typ {
			got = guidOf(e)
		}
	}
	if got == "" || got != guid {
		return fmt.Errorf("%w: got %s, asked for %s %s", ErrOriginMismatch, e.Type(), typ, guid)
	}
	return nil
}

// guidOf reads the guid of an entity through its neutral view.
func guidOf(e entities.Entity) string {
	if v := entities.ViewOf(e); v != nil {
		if g, ok := v.Properties["guid"].(string); ok {
			return g
		}
	}
	return ""
}

// pathType turns a reference class name ("Post", "PollParticipation")
// into the snake_case type of fetch paths ("post", "poll_participation").
func pathType(class string) string {
	var b strings.Builder
	for i, r := range class {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Related resolves an entity the receiver does not know by fetching it
// from hint's pod (the relayable author's or the reshare's root author's;
// that pod redirects to the owner's), and describes it for the receive
// rules. It is what [Receiver.Fetch] expects.
func (f *Fetcher) Related(ctx context.Context, hint, class, guid string) (*RelatedEntity, error) {
	msg, err := f.fetch(ctx, hint, pathType(class), guid, false)
	if err != nil {
		return nil, err
	}
	re := &RelatedEntity{Type: class, GUID: guid, Author: entities.Author(msg.Entity), Public: true}
	if r, ok := msg.Entity.(entities.Relayable); ok {
		ptyp, pguid := r.Parent()
		parent, err := f.Receiver.related(ctx, ptyp, pguid, re.Author)
		if err != nil {
			return nil, err
		}
		re.Parent = parent
	}
	return re, nil
}
