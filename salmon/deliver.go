package salmon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/go-diaspora/federation/internal/logs"
	"github.com/go-diaspora/federation/internal/netguard"
	"github.com/go-diaspora/federation/internal/temporary"
)

// Delivery is one body to POST to one receive URL.
type Delivery struct {
	// ID identifies the delivery in events and in the queue. The
	// functions that build deliveries (PublicDeliveries, ...) make it
	// ⟨URL⟩#⟨the first 16 hex digits of the body's SHA-256⟩: one per
	// message and destination, the same each time it is built.
	ID string
	// URL is the receive endpoint: https://pod/receive/public or
	// https://pod/receive/users/{guid}.
	URL string
	// ContentType is magicenv.ContentType for a public envelope and
	// magicenv.EncryptedContentType for a private one.
	ContentType string
	// Body is the envelope or encrypted envelope. Build it once per
	// entity (public) or once per recipient (private) and share it.
	Body []byte
}

// Outcome classifies one delivery attempt.
type Outcome int

const (
	// Delivered: the peer answered 2xx.
	Delivered Outcome = iota
	// Retry: a temporary failure (network error, timeout, 3xx — never
	// followed —, 408, 425, 429, 5xx); try again later.
	Retry
	// Failed: a final failure (another 4xx, a bad URL, an address the
	// client refuses to connect to); do not try again.
	Failed
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case Delivered:
		return "delivered"
	case Retry:
		return "retry"
	case Failed:
		return "failed"
	}
	return "unknown"
}

// Attempt is what one delivery attempt reported; [Sender.OnAttempt]
// receives one per attempt.
type Attempt struct {
	Delivery   *Delivery     // the delivery attempted
	Number     int           // 1 for the first attempt
	Outcome    Outcome       // what became of it
	StatusCode int           // 0 when no response arrived
	Err        error         // nil when delivered
	Duration   time.Duration // how long the attempt took
	RetryAfter time.Duration // for Retry outcomes: when the next attempt is due
	GiveUp     bool          // a Retry outcome that used up MaxAttempts
}

// Defaults used where a [Sender] field is zero.
const (
	DefaultConcurrency = 8
	DefaultPerHost     = 2
	DefaultTimeout     = 20 * time.Second
	// DefaultMaxAttempts is a first attempt and 10 retries.
	DefaultMaxAttempts = 11
	maxRetryAfter      = 24 * time.Hour
	maxResponseDrain   = 64 << 10
)

// Clock tells time to a [Sender] and a [MemoryQueue]. Nil means the real
// clock. Tests inject a scaled one to run a schedule of hours in seconds.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After waits for d as the clock counts it.
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

func clockOr(c Clock) Clock {
	if c == nil {
		return realClock{}
	}
	return c
}

// Sender delivers bodies to other pods. The zero value is ready to use;
// fields configure it and must not change once it is in use.
type Sender struct {
	// HTTPClient sends the requests; nil means a client with no proxy
	// and the timeouts below that refuses to connect to a reserved
	// address (loopback, private networks, link-local and cloud
	// metadata, other reserved ranges: [ErrBlockedAddress]), checked
	// after name resolution, since delivery URLs come from other pods.
	// Redirects are never followed, whatever the client's CheckRedirect
	// says. A client given here is used as it is: give one to deliver to
	// pods on a private network or to a test server, or
	// (*discovery.Client).GuardedHTTPClient for discovery's port policy
	// and allow-lists as well.
	HTTPClient *http.Client
	// UserAgent is sent with every request; empty means a default.
	UserAgent string
	// Concurrency bounds the attempts in flight in Run; 0 means
	// DefaultConcurrency.
	Concurrency int
	// PerHost bounds the attempts in flight to one host; 0 means
	// DefaultPerHost.
	PerHost int
	// Timeout bounds one attempt, response included; 0 means DefaultTimeout.
	Timeout time.Duration
	// MaxAttempts is how many attempts a delivery gets before Run gives
	// up; 0 means DefaultMaxAttempts (a first attempt and 10 retries).
	MaxAttempts int
	// BaseBackoff and MaxBackoff choose an exponential backoff between
	// attempts: BaseBackoff doubling up to MaxBackoff (6 h when zero),
	// jittered in the upper half. When BaseBackoff is zero the delays are
	// diaspora*'s schedule: before retry c (counted from 0), (c+3)^4
	// seconds plus rand(30)·(c+1) seconds of jitter: 81 s, 4.3 min,
	// 10.4 min, ... about 17 h for 10 retries.
	BaseBackoff, MaxBackoff time.Duration
	// Clock tells time (due times, Retry-After dates); nil is the real
	// clock.
	Clock Clock
	// OnAttempt, when set, is called after every attempt, from the
	// goroutine that made it.
	OnAttempt func(Attempt)
	// Logger receives one record per attempt; nil means no logging.
	Logger *slog.Logger

	clientOnce sync.Once
	client     *http.Client
	hostsMu    sync.Mutex
	hosts      map[string]*hostSlots
}

// hostSlots is the per-host concurrency limit of a Sender: a semaphore
// and the number of deliveries holding or waiting for it, so that the
// entry is dropped when the last one is done and the map holds only
// hosts in use, however many hosts a long-running sender meets.
type hostSlots struct {
	sem   chan struct{}
	users int
}

func (s *Sender) httpClient() *http.Client {
	s.clientOnce.Do(func() {
		var c http.Client
		if s.HTTPClient != nil {
			c = *s.HTTPClient
		} else {
			c.Transport = guardedTransport()
		}
		c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		s.client = &c
	})
	return s.client
}

// ErrBlockedAddress means a Sender or Fetcher without an HTTPClient
// refused to connect to a reserved address (loopback, private, link-local,
// CGNAT, unique local, IPv4-mapped, ...). No connection was made, and the
// refusal is final: [IsTemporary] reports false, and Run gives the
// delivery up at once.
var ErrBlockedAddress = temporary.Final("salmon: address not allowed")

// guardedTransport is the transport of a Sender or Fetcher without an
// HTTPClient: the default transport's timeouts, no proxy, and no
// connection to a reserved address. They all share it, as clients share
// http.DefaultTransport.
var guardedTransport = sync.OnceValue(func() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: netguard.Control(ErrBlockedAddress)}
	t.DialContext = d.DialContext
	return t
})

func orDefault[T int | time.Duration](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// StatusError reports a request (a delivery, a fetch) answered with an
// unexpected status.
type StatusError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// URL is the URL requested.
	URL string
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("salmon: %s: HTTP %d", e.URL, e.StatusCode)
}

// Temporary reports whether the status says "try again later": 408, 425,
// 429 and every 5xx, the rule discovery.HTTPError follows too.
func (e *StatusError) Temporary() bool { return temporary.Status(e.StatusCode) }

// Send makes one attempt to deliver d and classifies it. It does not
// retry; [Sender.Run] does. The Attempt's RetryAfter is the peer's
// Retry-After when it sent one, else zero.
func (s *Sender) Send(ctx context.Context, d *Delivery) Attempt {
	a := Attempt{Delivery: d, Number: 1}
	if d == nil {
		a.Outcome, a.Err = Failed, errors.New("salmon: nil delivery")
		return a
	}
	start := time.Now()
	defer func() { a.Duration = time.Since(start) }()
	u, err := url.Parse(d.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		a.Outcome, a.Err = Failed, fmt.Errorf("salmon: delivery URL %q is not an http(s) URL", d.URL)
		return a
	}
	ctx, cancel := context.WithTimeout(ctx, orDefault(s.Timeout, DefaultTimeout))
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, bytes.NewReader(d.Body))
	if err != nil {
		a.Outcome, a.Err = Failed, fmt.Errorf("salmon: %w", err)
		return a
	}
	req.Header.Set("Content-Type", d.ContentType)
	ua := s.UserAgent
	if ua == "" {
		ua = "go-diaspora-federation"
	}
	req.Header.Set("User-Agent", ua)
	resp, err := s.httpClient().Do(req)
	if err != nil {
		// A network failure is worth another attempt; a refusal to
		// connect (ErrBlockedAddress, or discovery's from a guarded
		// client) is not.
		a.Outcome, a.Err = Retry, fmt.Errorf("salmon: delivery to %s: %w", d.URL, err)
		if temporary.Refused(err) {
			a.Outcome = Failed
		}
		return a
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxResponseDrain))
	a.StatusCode = resp.StatusCode
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		a.Outcome = Delivered
		return a
	case temporary.Status(code), code >= 300 && code < 400:
		// A redirect is never followed, but it is no verdict on the
		// message either (a pod moving to https answers 301 for a
		// while): like the reference, try again later.
		a.Outcome = Retry
		a.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), clockOr(s.Clock).Now())
	default:
		a.Outcome = Failed
	}
	a.Err = &StatusError{StatusCode: resp.StatusCode, URL: d.URL}
	return a
}

// parseRetryAfter reads a Retry-After header (seconds or an HTTP date),
// capped at a day; 0 when absent or unreadable.
func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		if secs < 0 {
			return 0
		}
		d = time.Duration(min(secs, int(maxRetryAfter/time.Second))) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// Backoff returns the delay before attempt number next (2 for the first
// retry). With BaseBackoff set: BaseBackoff·2^(next-2), capped at
// MaxBackoff (6 h when zero), drawn uniformly from its upper half so that
// peers coming back are not hit all at once. Without: diaspora*'s
// schedule, (c+3)^4 + rand(30)·(c+1) seconds for retry c = next-2.
func (s *Sender) Backoff(next int) time.Duration {
	if s.BaseBackoff <= 0 {
		c := int64(max(next-2, 0))
		return time.Duration((c+3)*(c+3)*(c+3)*(c+3)+rand.Int64N(30)*(c+1)) * time.Second
	}
	base, maxB := s.BaseBackoff, orDefault(s.MaxBackoff, 6*time.Hour)
	d := base
	for i := 2; i < next && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(d-half)+1))
}

// Job is a delivery in a [Queue], with the number of attempts it had.
type Job struct {
	// Delivery is what to send.
	Delivery Delivery
	// Attempts is the number of attempts made so far.
	Attempts int
}

// Queue holds deliveries waiting to be made. A pod backs it with durable
// storage so that nothing is lost when it stops; [MemoryQueue] keeps it in
// memory. Implementations must be safe for concurrent use.
type Queue interface {
	// Next blocks until a job is due, and hands it out to one caller
	// until Done or Reschedule. It returns ctx.Err() when ctx ends.
	Next(ctx context.Context) (*Job, error)
	// Done removes a job that was delivered or failed for good.
	Done(ctx context.Context, j *Job, a Attempt) error
	// Reschedule puts a job back, due at the given time; j.Attempts
	// already counts the attempt just made.
	Reschedule(ctx context.Context, j *Job, due time.Time) error
}

// Run takes jobs from q and delivers them until ctx ends, with at most
// Concurrency attempts in flight (PerHost per host). A delivered job, or
// one that failed for good or used up MaxAttempts, is Done; one that can
// be retried is rescheduled after Backoff or the peer's Retry-After,
// whichever is later. Run returns ctx.Err() or the first queue error.
func (s *Sender) Run(ctx context.Context, q Queue) error {
	if q == nil {
		return errNoQueue
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, orDefault(s.Concurrency, DefaultConcurrency))
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		j, err := q.Next(ctx)
		if err != nil {
			<-slots
			if ctx.Err() != nil {
				return context.Cause(ctx)
			}
			return err
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := s.work(ctx, q, j); err != nil {
				cancel(err)
			}
		}()
	}
}

func (s *Sender) work(ctx context.Context, q Queue, j *Job) error {
	release := s.acquireHost(ctx, j.Delivery.URL)
	if release == nil { // stopping: put it back untried
		return q.Reschedule(context.WithoutCancel(ctx), j, clockOr(s.Clock).Now())
	}
	a := s.Send(ctx, &j.Delivery)
	release()
	a.Number = j.Attempts + 1
	if a.Outcome == Retry {
		if a.Number >= orDefault(s.MaxAttempts, DefaultMaxAttempts) {
			a.GiveUp = true
		} else {
			a.RetryAfter = max(a.RetryAfter, s.Backoff(a.Number+1))
		}
	}
	s.report(ctx, a)
	qctx := context.WithoutCancel(ctx) // record the outcome even while stopping
	j.Attempts = a.Number
	if a.Outcome == Retry && !a.GiveUp {
		return q.Reschedule(qctx, j, clockOr(s.Clock).Now().Add(a.RetryAfter))
	}
	return q.Done(qctx, j, a)
}

// acquireHost waits for a per-host slot; nil when ctx ended first.
func (s *Sender) acquireHost(ctx context.Context, rawURL string) (release func()) {
	host := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		host = u.Host
	}
	s.hostsMu.Lock()
	if s.hosts == nil {
		s.hosts = map[string]*hostSlots{}
	}
	slot, ok := s.hosts[host]
	if !ok {
		slot = &hostSlots{sem: make(chan struct{}, orDefault(s.PerHost, DefaultPerHost))}
		s.hosts[host] = slot
	}
	slot.users++
	s.hostsMu.Unlock()
	select {
	case slot.sem <- struct{}{}:
		return func() {
			<-slot.sem
			s.leaveHost(host, slot)
		}
	case <-ctx.Done():
		s.leaveHost(host, slot)
		return nil
	}
}

// leaveHost counts one user of slot out and drops the host's entry when
// nobody holds or waits for it any more.
func (s *Sender) leaveHost(host string, slot *hostSlots) {
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	slot.users--
	if slot.users == 0 && s.hosts[host] == slot {
		delete(s.hosts, host)
	}
}

// hostsInUse is the number of hosts with a per-host slot held or awaited.
func (s *Sender) hostsInUse() int {
	s.hostsMu.Lock()
	defer s.hostsMu.Unlock()
	return len(s.hosts)
}

func (s *Sender) report(ctx context.Context, a Attempt) {
	if s.OnAttempt != nil {
		s.OnAttempt(a)
	}
	if log := logs.Or(s.Logger); log.Enabled(ctx, slog.LevelInfo) {
		log.LogAttrs(ctx, slog.LevelInfo, "delivery attempt",
			slog.String("delivery", a.Delivery.ID), slog.String("url", a.Delivery.URL),
			slog.Int("attempt", a.Number), slog.String("outcome", a.Outcome.String()),
			slog.Int("status", a.StatusCode), slog.Duration("duration", a.Duration),
			slog.Duration("retry_after", a.RetryAfter), slog.Bool("give_up", a.GiveUp))
	}
}

// MemoryQueue is a [Queue] in memory: for tests, tools and pods that
// accept losing undelivered messages on restart. The zero value is empty
// and ready.
type MemoryQueue struct {
	// Clock tells when jobs are due; nil is the real clock.
	Clock Clock
	// KeepFinished is how many finished attempts [MemoryQueue.Finished]
	// remembers, the most recent ones (DefaultKeepFinished if 0; a
	// negative value keeps none), so that a long-running queue does not
	// grow without bound.
	KeepFinished int

	mu      sync.Mutex
	pending []*Job
	due     map[*Job]time.Time
	wake    chan struct{}
	done    []Attempt
}

func (m *MemoryQueue) now() time.Time { return clockOr(m.Clock).Now() }

// Add queues a delivery, due now.
func (m *MemoryQueue) Add(d Delivery) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(&Job{Delivery: d}, m.now())
}

func (m *MemoryQueue) put(j *Job, due time.Time) {
	if m.due == nil {
		m.due = map[*Job]time.Time{}
	}
	m.pending = append(m.pending, j)
	m.due[j] = due
	if m.wake != nil {
		close(m.wake)
		m.wake = nil
	}
}

// Next implements [Queue].
func (m *MemoryQueue) Next(ctx context.Context) (*Job, error) {
	for {
		m.mu.Lock()
		now := m.now()
		var next time.Time
		for i, j := range m.pending {
			due := m.due[j]
			if !due.After(now) {
				m.pending = append(m.pending[:i], m.pending[i+1:]...)
				delete(m.due, j)
				m.mu.Unlock()
				return j, nil
			}
			if next.IsZero() || due.Before(next) {
				next = due
			}
		}
		if m.wake == nil {
			m.wake = make(chan struct{})
		}
		wake := m.wake
		m.mu.Unlock()
		var fire <-chan time.Time
		if !next.IsZero() {
			fire = clockOr(m.Clock).After(next.Sub(now))
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-wake:
		case <-fire:
		}
	}
}

// DefaultKeepFinished is the number of finished attempts a
// [MemoryQueue] remembers when KeepFinished is 0.
const DefaultKeepFinished = 1000

func (m *MemoryQueue) keep() int {
	switch {
	case m.KeepFinished < 0:
		return 0
	case m.KeepFinished == 0:
		return DefaultKeepFinished
	}
	return m.KeepFinished
}

// Done implements [Queue]; the attempt is kept for [MemoryQueue.Finished].
func (m *MemoryQueue) Done(_ context.Context, _ *Job, a Attempt) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keep()
	if k == 0 {
		return nil
	}
	m.done = append(m.done, a)
	if len(m.done) >= 2*k { // drop the oldest now and then, not on every call
		m.done = append(m.done[:0], m.done[len(m.done)-k:]...)
	}
	return nil
}

// Reschedule implements [Queue].
func (m *MemoryQueue) Reschedule(_ context.Context, j *Job, due time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.put(j, due)
	return nil
}

// Len returns the number of deliveries waiting.
func (m *MemoryQueue) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.pending)
}

// Finished returns the last attempt of the deliveries that left the
// queue, oldest first: all of them, or the most recent KeepFinished.
func (m *MemoryQueue) Finished() []Attempt {
	m.mu.Lock()
	defer m.mu.Unlock()
	d := m.done
	if k := m.keep(); len(d) > k {
		d = d[len(d)-k:]
	}
	return append([]Attempt(nil), d...)
}

var errNoQueue = errors.New("salmon: nil queue")
