package salmon_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

func delivery(url string) *salmon.Delivery {
	return &salmon.Delivery{ID: "d1", URL: url, ContentType: magicenv.ContentType, Body: []byte("<me:env/>")}
}

func TestSendClassifies(t *testing.T) {
	tests := []struct {
		status     int
		retryAfter string
		want       salmon.Outcome
		wantAfter  time.Duration
	}{
		{http.StatusAccepted, "", salmon.Delivered, 0},
		{http.StatusOK, "", salmon.Delivered, 0},
		{http.StatusInternalServerError, "", salmon.Retry, 0},
		{http.StatusServiceUnavailable, "120", salmon.Retry, 120 * time.Second},
		{http.StatusTooManyRequests, "7", salmon.Retry, 7 * time.Second},
		{http.StatusTooManyRequests, "999999999", salmon.Retry, 24 * time.Hour},
		{http.StatusRequestTimeout, "", salmon.Retry, 0},
		{http.StatusNotFound, "", salmon.Failed, 0},
		{http.StatusUnprocessableEntity, "", salmon.Failed, 0},
		{http.StatusFound, "", salmon.Retry, 0},
		{http.StatusMovedPermanently, "", salmon.Retry, 0},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			var got struct {
				method, ct, ua string
				body           []byte
			}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got.method, got.ct, got.ua = r.Method, r.Header.Get("Content-Type"), r.Header.Get("User-Agent")
				buf := make([]byte, 64)
				n, _ := r.Body.Read(buf)
				got.body = buf[:n]
				if tt.retryAfter != "" {
					w.Header().Set("Retry-After", tt.retryAfter)
				}
				if tt.status == http.StatusFound {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			s := &salmon.Sender{HTTPClient: srv.Client(), UserAgent: "test-pod/1"}
			a := s.Send(context.Background(), delivery(srv.URL+"/receive/public"))
			if a.Outcome != tt.want || a.StatusCode != tt.status || a.RetryAfter != tt.wantAfter {
				t.Fatalf("attempt = %+v", a)
			}
			if (a.Err == nil) != (tt.want == salmon.Delivered) {
				t.Errorf("Err = %v", a.Err)
			}
			var se *salmon.StatusError
			if tt.want != salmon.Delivered && (!errors.As(a.Err, &se) || se.StatusCode != tt.status) {
				t.Errorf("Err = %v, want StatusError %d", a.Err, tt.status)
			}
			if got.method != http.MethodPost || got.ct != magicenv.ContentType || got.ua != "test-pod/1" || string(got.body) != "<me:env/>" {
				t.Errorf("request = %+v", got)
			}
		})
	}
}

func TestSendNoRedirectOnPost(t *testing.T) {
	var elsewhere atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			elsewhere.Add(1)
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	// Even a client that would follow redirects does not.
	s := &salmon.Sender{HTTPClient: &http.Client{}}
	a := s.Send(context.Background(), delivery(srv.URL+"/receive/public"))
	if a.Outcome != salmon.Retry || a.StatusCode != http.StatusTemporaryRedirect || elsewhere.Load() != 0 {
		t.Fatalf("attempt = %+v, redirect target hit %d times", a, elsewhere.Load())
	}
}

func TestSendTimeoutsAndBadURLs(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s := &salmon.Sender{HTTPClient: srv.Client(), Timeout: 50 * time.Millisecond}
	start := time.Now()
	a := s.Send(context.Background(), delivery(srv.URL))
	if a.Outcome != salmon.Retry || !errors.Is(a.Err, context.DeadlineExceeded) {
		t.Errorf("slow peer: %+v", a)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("timeout not applied: %v", time.Since(start))
	}
	for _, u := range []string{"", "ftp://x/y", "http://", "://bad"} {
		if a := s.Send(context.Background(), delivery(u)); a.Outcome != salmon.Failed {
			t.Errorf("Send(%q) = %+v, want Failed", u, a)
		}
	}
	// A refused connection is temporary.
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	if a := s.Send(context.Background(), delivery(deadURL)); a.Outcome != salmon.Retry {
		t.Errorf("refused connection: %+v, want Retry", a)
	}
}

func TestBackoff(t *testing.T) {
	s := &salmon.Sender{BaseBackoff: time.Second, MaxBackoff: 10 * time.Second}
	for next, want := range map[int]time.Duration{2: time.Second, 3: 2 * time.Second, 4: 4 * time.Second, 5: 8 * time.Second, 6: 10 * time.Second, 40: 10 * time.Second} {
		seen := map[time.Duration]bool{}
		for range 200 {
			d := s.Backoff(next)
			if d < want/2 || d > want {
				t.Fatalf("Backoff(%d) = %v, want in [%v, %v]", next, d, want/2, want)
			}
			seen[d] = true
		}
		if len(seen) < 10 {
			t.Errorf("Backoff(%d) has no jitter: %d distinct values", next, len(seen))
		}
	}
}

// TestRun delivers through a queue: retries after 500 and 429 (honouring
// Retry-After), gives up after MaxAttempts, fails 404 for good, and never
// exceeds the concurrency bounds.
func TestRun(t *testing.T) {
	var (
		mu          sync.Mutex
		calls       = map[string]int{}
		inFlight    atomic.Int32
		maxInFlight atomic.Int32
		times       = map[string][]time.Time{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		calls[r.URL.Path]++
		c := calls[r.URL.Path]
		times[r.URL.Path] = append(times[r.URL.Path], time.Now())
		mu.Unlock()
		switch r.URL.Path {
		case "/flaky": // 500, 500, then accepted
			if c < 3 {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
		case "/busy": // 429 with Retry-After: 1, then accepted
			if c < 2 {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return
			}
		case "/down":
			w.WriteHeader(http.StatusBadGateway)
			return
		case "/gone":
			w.WriteHeader(http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	var q salmon.MemoryQueue
	for i, path := range []string{"/flaky", "/busy", "/down", "/gone", "/ok1", "/ok2", "/ok3", "/ok4", "/ok5", "/ok6"} {
		q.Add(salmon.Delivery{ID: path, URL: srv.URL + path, ContentType: magicenv.ContentType, Body: []byte{byte(i)}})
	}
	var attempts []salmon.Attempt
	var amu sync.Mutex
	s := &salmon.Sender{
		HTTPClient:  srv.Client(),
		Concurrency: 3, PerHost: 2, MaxAttempts: 3,
		BaseBackoff: 20 * time.Millisecond, MaxBackoff: 40 * time.Millisecond,
		OnAttempt: func(a salmon.Attempt) { amu.Lock(); attempts = append(attempts, a); amu.Unlock() },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, &q) }()
	for len(q.Finished()) < 10 && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	final := map[string]salmon.Attempt{}
	for _, a := range q.Finished() {
		final[a.Delivery.ID] = a
	}
	check := func(id string, outcome salmon.Outcome, number int, giveUp bool) {
		t.Helper()
		a, ok := final[id]
		if !ok || a.Outcome != outcome || a.Number != number || a.GiveUp != giveUp {
			t.Errorf("%s: final attempt %+v, want %v after %d attempts (give up %v)", id, a, outcome, number, giveUp)
		}
	}
	check("/flaky", salmon.Delivered, 3, false)
	check("/busy", salmon.Delivered, 2, false)
	check("/down", salmon.Retry, 3, true)
	check("/gone", salmon.Failed, 1, false)
	for _, id := range []string{"/ok1", "/ok2", "/ok3", "/ok4", "/ok5", "/ok6"} {
		check(id, salmon.Delivered, 1, false)
	}
	if len(attempts) != 3+2+3+1+6 {
		t.Errorf("%d attempts reported, want 15", len(attempts))
	}
	if m := maxInFlight.Load(); m > 2 {
		t.Errorf("%d requests in flight to one host, PerHost is 2", m)
	}
	mu.Lock()
	defer mu.Unlock()
	if b := times["/busy"]; len(b) != 2 || b[1].Sub(b[0]) < 900*time.Millisecond {
		t.Errorf("Retry-After: 1 not honoured: %v", b)
	}
	if f := times["/flaky"]; len(f) != 3 || f[1].Sub(f[0]) < 10*time.Millisecond {
		t.Errorf("backoff not applied between retries: %v", f)
	}
	if q.Len() != 0 {
		t.Errorf("%d deliveries left in the queue", q.Len())
	}
}

func TestRunNilQueue(t *testing.T) {
	if err := new(salmon.Sender).Run(context.Background(), nil); err == nil {
		t.Error("Run(nil queue) succeeded")
	}
}

// The default schedule is diaspora*'s: (c+3)^4 s + rand(30)·(c+1) s before
// retry c, about 17 hours for 10 retries.
func TestDefaultSchedule(t *testing.T) {
	s := &salmon.Sender{}
	var total time.Duration
	for next := 2; next <= salmon.DefaultMaxAttempts; next++ {
		c := time.Duration(next - 2)
		lo := (c + 3) * (c + 3) * (c + 3) * (c + 3) * time.Second
		hi := lo + 29*(c+1)*time.Second
		d := s.Backoff(next)
		if d < lo || d > hi {
			t.Errorf("Backoff(%d) = %v, want in [%v, %v]", next, d, lo, hi)
		}
		total += d
	}
	if total < 16*time.Hour || total > 18*time.Hour {
		t.Errorf("10 retries take %v, want about 17 h", total)
	}
}

// scaledClock runs k times faster than the wall clock.
type scaledClock struct {
	start time.Time
	k     float64
}

func (c scaledClock) Now() time.Time {
	return c.start.Add(time.Duration(float64(time.Since(c.start)) * c.k))
}

func (c scaledClock) After(d time.Duration) <-chan time.Time {
	return time.After(time.Duration(float64(d) / c.k))
}

// TestPeerOutage: delivery survives a peer outage. For the first four
// attempts of every message the peer drops the connection (twice) and then
// answers 503 (twice); then it recovers. With the default schedule on a
// scaled clock (hours in seconds), all 1,000 messages are delivered, each
// persisted once at the peer after exactly five attempts.
func TestPeerOutage(t *testing.T) {
	const n = 1000
	var (
		mu        sync.Mutex
		attempts  = map[string]int{}
		persisted = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		mu.Lock()
		attempts[id]++
		a := attempts[id]
		mu.Unlock()
		switch {
		case a <= 2: // connection dropped without an answer
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		case a <= 4:
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		persisted[id]++
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()

	clock := scaledClock{start: time.Now(), k: 200000} // 17 h in about 0.3 s
	q := &salmon.MemoryQueue{Clock: clock}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("m%04d", i)
		q.Add(salmon.Delivery{ID: id, URL: srv.URL + "/receive/public?id=" + id, ContentType: magicenv.ContentType, Body: []byte("<x/>")})
	}
	s := &salmon.Sender{HTTPClient: srv.Client(), Clock: clock, Concurrency: 16, PerHost: 16, Timeout: 5 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, q) }()
	for len(q.Finished()) < n && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	delivered := 0
	for _, a := range q.Finished() {
		if a.Outcome == salmon.Delivered && a.Number == 5 {
			delivered++
		}
	}
	if delivered != n {
		t.Errorf("%d of %d delivered after exactly 5 attempts", delivered, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(persisted) != n {
		t.Errorf("%d messages persisted at the peer, want %d", len(persisted), n)
	}
	for id, c := range persisted {
		if c != 1 {
			t.Errorf("%s persisted %d times", id, c)
		}
	}
}

// TestMemoryQueueKeepsFinishedBounded: a MemoryQueue remembers the most
// recent KeepFinished attempts, not every one.
func TestMemoryQueueKeepsFinishedBounded(t *testing.T) {
	for _, tt := range []struct{ keep, done, want int }{{3, 10, 3}, {0, 2500, salmon.DefaultKeepFinished}, {-1, 5, 0}, {5, 4, 4}} {
		q := &salmon.MemoryQueue{KeepFinished: tt.keep}
		for i := range tt.done {
			q.Done(context.Background(), nil, salmon.Attempt{Number: i})
		}
		got := q.Finished()
		if len(got) != tt.want {
			t.Fatalf("keep %d, %d done: %d finished, want %d", tt.keep, tt.done, len(got), tt.want)
		}
		if len(got) > 0 && got[len(got)-1].Number != tt.done-1 {
			t.Errorf("keep %d: the last finished is attempt %d, want the most recent (%d)", tt.keep, got[len(got)-1].Number, tt.done-1)
		}
	}
}

// A StatusError answers IsTemporary by its status, like discovery's
// HTTPError; a fetch's 404 is final.
func TestStatusErrorTemporary(t *testing.T) {
	for code, want := range map[int]bool{400: false, 404: false, 429: true, 503: true} {
		err := fmt.Errorf("delivery: %w", &salmon.StatusError{StatusCode: code, URL: "https://pod.example/receive/public"})
		if got := salmon.IsTemporary(err); got != want {
			t.Errorf("IsTemporary(HTTP %d) = %v, want %v", code, got, want)
		}
	}
	gone := fmt.Errorf("%w: %w", salmon.ErrNotFound, &salmon.StatusError{StatusCode: 503})
	if salmon.IsTemporary(gone) {
		t.Error("ErrNotFound beside a 503 is temporary; want final")
	}
}

// TestDefaultClientRefusesReserved: a Sender or Fetcher without an
// HTTPClient never connects to a reserved address (here loopback, where a
// listener counts connections): the delivery fails for good at once, the
// fetch is refused, and both errors are ErrBlockedAddress and final.
func TestDefaultClientRefusesReserved(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var conns atomic.Int32
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			c.Close()
		}
	}()
	base := "http://" + ln.Addr().String()

	var s salmon.Sender
	a := s.Send(context.Background(), delivery(base+"/receive/public"))
	if a.Outcome != salmon.Failed || !errors.Is(a.Err, salmon.ErrBlockedAddress) || salmon.IsTemporary(a.Err) {
		t.Errorf("Send to loopback: outcome %v, err %v (temporary %v); want Failed, ErrBlockedAddress, final", a.Outcome, a.Err, salmon.IsTemporary(a.Err))
	}
	// Run gives it up after that one attempt.
	var q salmon.MemoryQueue
	q.Add(salmon.Delivery{ID: "x", URL: "http://localhost:" + strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:") + "/receive/public", ContentType: magicenv.ContentType, Body: []byte("<x/>")})
	var attempts []salmon.Attempt
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := &salmon.Sender{OnAttempt: func(a salmon.Attempt) { attempts = append(attempts, a); cancel() }}
	_ = r.Run(ctx, &q)
	if len(attempts) != 1 || attempts[0].Outcome != salmon.Failed || !errors.Is(attempts[0].Err, salmon.ErrBlockedAddress) {
		t.Errorf("Run on a delivery to localhost: %+v", attempts)
	}

	f := &salmon.Fetcher{
		Receiver: &salmon.Receiver{},
		Pod:      func(context.Context, string) (string, error) { return base + "/", nil },
	}
	if _, err := f.Fetch(context.Background(), "alice@pod.example", "post", "0123456789abcdef"); !errors.Is(err, salmon.ErrBlockedAddress) || salmon.IsTemporary(err) {
		t.Errorf("Fetch from loopback: %v (temporary %v), want ErrBlockedAddress, final", err, salmon.IsTemporary(err))
	}
	if n := conns.Load(); n != 0 {
		t.Errorf("%d connections reached the loopback listener", n)
	}
}
