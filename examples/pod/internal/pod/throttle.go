package pod

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Password checks are throttled so that guessing is slow and a flood of
// them cannot take the pod's CPU:
//   - per account, loginAccountBurst failed checks, then one more every
//     loginAccountRefill (a person who mistypes a few times a minute is
//     never locked out; a guesser gets about 60 tries an hour);
//   - per client address, loginAddrBurst failed checks, then one every
//     loginAddrRefill, whatever the accounts;
//   - at most maxPasswordChecks bcrypt comparisons run at once; a check
//     that cannot start within passwordCheckWait is refused.
//
// A refused check answers 429 with Retry-After before bcrypt runs. An
// unknown username is throttled like a known one, so the answers tell
// nothing about which accounts exist.
const (
	loginAccountBurst  = 10
	loginAccountRefill = time.Minute
	loginAddrBurst     = 30
	loginAddrRefill    = 10 * time.Second
	maxPasswordChecks  = 4
	passwordCheckWait  = 5 * time.Second
	maxThrottleKeys    = 10000
)

// ThrottledError: too many password checks; try again after Retry.
type ThrottledError struct{ Retry time.Duration }

func (e ThrottledError) Error() string {
	return fmt.Sprintf("too many failed sign-ins; try again in %d seconds", int(e.Retry.Seconds()+0.999))
}

// bucket is a token bucket: burst tokens, one more every refill.
type bucket struct {
	tokens float64
	at     time.Time
}

// throttle keeps the buckets of one kind of key.
type throttle struct {
	burst  float64
	refill time.Duration
	m      map[string]*bucket
}

func (t *throttle) get(key string, now time.Time) *bucket {
	if t.m == nil || len(t.m) >= maxThrottleKeys {
		// Forget full buckets first; if all are in use, start over (an
		// attacker with 10,000 keys gains little from the reset).
		for k, b := range t.m {
			t.top(b, now)
			if b.tokens >= t.burst {
				delete(t.m, k)
			}
		}
		if t.m == nil || len(t.m) >= maxThrottleKeys {
			t.m = map[string]*bucket{}
		}
	}
	b := t.m[key]
	if b == nil {
		b = &bucket{tokens: t.burst, at: now}
		t.m[key] = b
	}
	t.top(b, now)
	return b
}

func (t *throttle) top(b *bucket, now time.Time) {
	b.tokens = min(t.burst, b.tokens+float64(now.Sub(b.at))/float64(t.refill))
	b.at = now
}

// wait is how long until the bucket holds a token.
func (t *throttle) wait(b *bucket) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(t.refill))
}

// loginLimits holds the throttles and the password-check slots.
type loginLimits struct {
	mu       sync.Mutex
	accounts throttle
	addrs    throttle
	slots    chan struct{}
}

func newLoginLimits() *loginLimits {
	return &loginLimits{
		accounts: throttle{burst: loginAccountBurst, refill: loginAccountRefill},
		addrs:    throttle{burst: loginAddrBurst, refill: loginAddrRefill},
		slots:    make(chan struct{}, maxPasswordChecks),
	}
}

// begin admits a password check for account from addr and takes a
// check slot; done must be called with whether the password was right.
// The check is counted as a failure from the start (a token of both
// buckets is taken at once, so that parallel guesses cannot all pass
// before the first fails) and given back when the password was right.
func (l *loginLimits) begin(ctx context.Context, account, addr string) (done func(ok bool), err error) {
	l.mu.Lock()
	now := time.Now()
	acct, from := l.accounts.get(account, now), l.addrs.get(addr, now)
	if wait := max(l.accounts.wait(acct), l.addrs.wait(from)); wait > 0 {
		l.mu.Unlock()
		return nil, ThrottledError{wait}
	}
	acct.tokens--
	from.tokens--
	l.mu.Unlock()
	refund := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		now := time.Now()
		a, f := l.accounts.get(account, now), l.addrs.get(addr, now)
		a.tokens = min(l.accounts.burst, a.tokens+1)
		f.tokens = min(l.addrs.burst, f.tokens+1)
	}
	t := time.NewTimer(passwordCheckWait)
	defer t.Stop()
	select {
	case l.slots <- struct{}{}:
	case <-t.C:
		refund()
		return nil, ThrottledError{time.Second}
	case <-ctx.Done():
		refund()
		return nil, ctx.Err()
	}
	return func(ok bool) {
		<-l.slots
		if ok {
			refund()
		}
	}, nil
}
