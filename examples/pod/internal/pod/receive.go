package pod

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/salmon"
)

// receiveGate runs in front of salmon.Handler and answers, before a byte
// of the body is read:
//   - 404 for a private route whose guid is no local person (the handler
//     would read the body up to its cap first, hostile case
//     testdata/hostile/PD-02);
//   - 503 or 429 with Retry-After past the receive limits (receiveLimits):
//     bodies in flight in all and per client address, bytes per address
//     and minute;
//   - 503 with Retry-After while more than Config.MaxInboxPending bodies
//     wait to be processed (the inbound high-water mark of LIMITS.md): the peer
//     keeps the message and retries, nothing is stored.
//
// Its answers look exactly like the handler's own.
func (p *Pod) receiveGate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		ctx := r.Context()
		if guid, ok := strings.CutPrefix(r.URL.Path, "/receive/users/"); ok {
			if _, err := p.store.UserByGUID(ctx, guid); errors.Is(err, store.ErrNotFound) {
				p.plainStatus(w, r, http.StatusNotFound)
				return
			}
		} else if r.URL.Path != "/receive/public" {
			next.ServeHTTP(w, r)
			return
		}
		pending, err := p.store.PendingForMark(ctx, p.cfg.MaxInboxPending)
		if err != nil {
			p.log.ErrorContext(ctx, "inbox depth", "err", err)
		}
		if err != nil || pending >= p.cfg.MaxInboxPending {
			w.Header().Set("Retry-After", strconv.Itoa(int(receiveRetryAfter.Seconds())))
			p.plainStatus(w, r, http.StatusServiceUnavailable)
			return
		}
		addr := clientAddr(r)
		if status, retry := p.limits.enter(addr, r.ContentLength); status != 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds())))
			p.plainStatus(w, r, status)
			return
		}
		body := &countingBody{ReadCloser: r.Body}
		r.Body = body
		defer func() { p.limits.leave(addr, body.n) }()
		p.receiving.Add(1)
		defer p.receiving.Add(-1)
		next.ServeHTTP(w, r)
	})
}

// plainStatus answers like salmon.Handler does.
func (p *Pod) plainStatus(w http.ResponseWriter, r *http.Request, status int) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
	p.log.InfoContext(r.Context(), "receive", "path", r.URL.Path, "status", status, "remote_host", r.RemoteAddr)
}

// noteAttempt is the sender's OnAttempt: it remembers the error of every
// attempt that will be retried, for the pods and jobs pages, and logs a
// delivery the address guard refused (the Sender fails it for good, and
// the queue's Done records it).
func (p *Pod) noteAttempt(a salmon.Attempt) {
	switch {
	case a.Err == nil:
	case a.Outcome == salmon.Failed && (errors.Is(a.Err, discovery.ErrBlockedAddress) || errors.Is(a.Err, discovery.ErrBlockedURL)):
		p.log.Warn("delivery refused by the address guard", "id", a.Delivery.ID, "url", a.Delivery.URL)
	case a.Outcome == salmon.Retry:
		p.retryErr.Store(a.Delivery.ID, a.Err)
	}
}

// Receive requests come first: a body is answered 202 as soon as it is
// durable, and processed later. While bodies arrive (a receive request in
// flight and a body committed in the last inboxYieldActive), the inbox
// worker waits before each body, so that on a small machine its work does
// not delay the answers. The wait is at most maxInboxYield and at most as
// long as the previous body took to process, so the worker keeps at least
// half of its pace however steady the arrivals (a worker that waited the
// full maxInboxYield before every body would fall to 50 bodies/s under a
// steady stream, and the queue would grow). It does not wait at all once
// half of the high-water mark is pending: then draining matters more, and
// the senders are told to come back later only when processing truly
// cannot keep up.
const (
	maxInboxYield     = 20 * time.Millisecond
	inboxYieldActive  = 20 * time.Millisecond
	inboxYieldPolling = time.Millisecond
)

// yieldToReceives is the wait of the inbox worker described above;
// worked is how long the previous body took (0 for the first of a batch,
// which then does not wait).
func (p *Pod) yieldToReceives(ctx context.Context, worked time.Duration) {
	busy := func() bool {
		return p.receiving.Load() > 0 && time.Since(p.store.LastInboxCommit()) < inboxYieldActive
	}
	wait := min(worked, maxInboxYield)
	if wait <= 0 {
		return
	}
	if !busy() {
		return
	}
	if pending, err := p.store.PendingForMark(ctx, p.cfg.MaxInboxPending/2); err != nil || pending >= p.cfg.MaxInboxPending/2 {
		return
	}
	deadline := time.Now().Add(wait)
	t := time.NewTimer(min(inboxYieldPolling, wait))
	defer t.Stop()
	for busy() && time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			t.Reset(inboxYieldPolling)
		}
	}
}

// receiveLimits bounds what strangers can make the pod hold and store
// before anything is checked: receive bodies in flight in all and per
// client address (past either, 503 or 429 with Retry-After before a byte
// is read), and the bytes one address may send per minute (a token
// bucket of one minute's worth; past it, 429).
type receiveLimits struct {
	maxInFlight, maxPerAddr int
	bytesPerMinute          int64

	mu       sync.Mutex
	inFlight int
	addrs    map[string]*addrBudget
}

type addrBudget struct {
	inFlight int
	tokens   float64 // bytes
	at       time.Time
}

// maxTrackedAddrs bounds the addresses receiveLimits remembers; idle ones
// with a full budget are forgotten first.
const maxTrackedAddrs = 10000

// refill brings a budget up to now.
func (l *receiveLimits) refill(b *addrBudget, t time.Time) {
	b.tokens = min(float64(l.bytesPerMinute), b.tokens+t.Sub(b.at).Minutes()*float64(l.bytesPerMinute))
	b.at = t
}

// enter admits a receive request of declared length n (-1 unknown) from
// addr, or says why not and when to come back.
func (l *receiveLimits) enter(addr string, n int64) (status int, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := time.Now()
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= maxTrackedAddrs {
			for k, o := range l.addrs {
				l.refill(o, t)
				if o.inFlight == 0 && o.tokens >= float64(l.bytesPerMinute) {
					delete(l.addrs, k)
				}
			}
		}
		if l.addrs == nil {
			l.addrs = map[string]*addrBudget{}
		}
		b = &addrBudget{tokens: float64(l.bytesPerMinute), at: t}
		l.addrs[addr] = b
	}
	l.refill(b, t)
	switch {
	case l.inFlight >= l.maxInFlight:
		return http.StatusServiceUnavailable, 5 * time.Second
	case b.inFlight >= l.maxPerAddr:
		return http.StatusTooManyRequests, 5 * time.Second
	case b.tokens <= 0 || (n > 0 && float64(n) > b.tokens):
		need := float64(max(n, 1)) - b.tokens
		wait := time.Duration(need / float64(l.bytesPerMinute) * float64(time.Minute))
		return http.StatusTooManyRequests, min(max(wait, time.Second), time.Minute)
	}
	l.inFlight++
	b.inFlight++
	return 0, 0
}

// leave ends a request that read n bytes of body.
func (l *receiveLimits) leave(addr string, n int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inFlight--
	if b := l.addrs[addr]; b != nil {
		b.inFlight--
		b.tokens -= float64(n)
	}
}

// countingBody counts the bytes a handler reads from a request body.
type countingBody struct {
	io.ReadCloser
	n int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	return n, err
}

// clientAddr is the address receive limits are kept by: the peer's IP.
func clientAddr(r *http.Request) string {
	if h, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return h
	}
	return r.RemoteAddr
}

// LoopbackBurst lifts the per-address receive limits for load runs and
// tests whose simulated senders (many pods) all share one loopback
// address; the limit on bodies in flight in all stays.
func LoopbackBurst(c *Config, senders int) {
	c.MaxReceiving = max(c.MaxReceiving, senders)
	c.MaxReceivingPerAddr = max(c.MaxReceivingPerAddr, senders)
	c.ReceiveBytesPerMinute = 1 << 40
}

// storeInbox is the salmon.Inbox of the pod: it writes the raw body to the
// inbox table (committed, fsynced, in a group commit with the bodies of
// concurrent requests) before the handler answers 202.
type storeInbox struct {
	s       *store.Store
	wake    func()
	log     *slog.Logger
	envOpts *magicenv.Options
}

// refuse logs a body refused at the door: nothing of it is stored.
func (in storeInbox) refuse(ctx context.Context, m *salmon.Incoming, reason string, attrs ...any) error {
	if in.log != nil {
		in.log.InfoContext(ctx, "receive: "+reason, append(attrs, "remote_addr", m.RemoteAddr, "size", len(m.Body))...)
	}
	return salmon.ErrRejected
}

// Accept checks what can be checked without a key lookup (the envelope's
// structure, the sender's pod on the public route) and stores the body.
// A refused body is answered 202 like any other and leaves nothing
// behind.
func (in storeInbox) Accept(ctx context.Context, m *salmon.Incoming) error {
	switch m.Format {
	case salmon.FormatMagicEnvelope:
		env, err := magicenv.Parse(m.Body, in.envOpts)
		if err != nil {
			return in.refuse(ctx, m, "refused a malformed envelope", "err", err)
		}
		author, err := env.Author()
		if err != nil {
			return in.refuse(ctx, m, "refused an envelope without a valid author", "err", err)
		}
		// The public route's envelopes name their sender: refuse blocked
		// pods at once.
		if _, host, ok := strings.Cut(author, "@"); ok && m.Route == salmon.RoutePublic {
			if b, err := in.s.BlockedCached(ctx, strings.ToLower(host)); err != nil {
				return err
			} else if b {
				return in.refuse(ctx, m, "refused because the sender's pod is blocked", "host", host, "sender", author)
			}
		}
	case salmon.FormatEncryptedMagicEnvelope:
		if !encryptedShape(m.Body) {
			return in.refuse(ctx, m, "refused a malformed encrypted envelope")
		}
	}
	if m.Route == salmon.RoutePrivate {
		if _, err := in.s.UserByGUID(ctx, m.RecipientGUID); errors.Is(err, store.ErrNotFound) {
			return salmon.ErrRecipientNotFound
		} else if err != nil {
			return err
		}
	}
	err := in.s.WriteInbox(ctx, m)
	if err == nil && in.wake != nil {
		in.wake()
	}
	return err
}

// encryptedShape reports whether a body is the JSON object of an
// encrypted envelope: exactly aes_key and encrypted_magic_envelope, both
// non-empty strings. The worker decrypts and checks the rest.
func encryptedShape(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil || len(m) != 2 {
		return false
	}
	for _, k := range []string{"aes_key", "encrypted_magic_envelope"} {
		var v string
		if json.Unmarshal(m[k], &v) != nil || strings.TrimSpace(v) == "" {
			return false
		}
	}
	return true
}
