package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
)

// Discovery of people the pod does not know yet goes through lookups, so
// that a slow or hostile host costs the pod little:
//   - the inbox worker never waits for one: an unknown sender is looked
//     up in the background (lookupInBackground) while the worker goes on
//     with other bodies, and the body comes back when the lookup ends;
//   - at most lookupsPerHost lookups run at once per remote host; the
//     inbox does not wait for a slot (the body is tried again later), a
//     person's request waits within its deadline;
//   - a failed lookup is remembered (failedLookupTTL for a final answer,
//     hostDownTTL for a host that timed out or could not be reached, which
//     then fails every lookup on that host at once);
//   - the inbox gives up on an unknown sender's key after inboxLookupTimeout.
const (
	lookupsPerHost     = 2
	failedLookupTTL    = 10 * time.Minute
	hostDownTTL        = time.Minute
	inboxLookupTimeout = 10 * time.Second
	apiLookupTimeout   = 30 * time.Second
	maxRememberedFails = 10000
)

// errHostBusy: every lookup slot of the host is taken; try again later.
type errHostBusy struct{ host string }

func (e errHostBusy) Error() string   { return "lookups of " + e.host + " are busy; trying again later" }
func (e errHostBusy) Temporary() bool { return true }

// lookups holds the per-host slots and the failures remembered.
type lookups struct {
	mu       sync.Mutex
	slots    map[string]int       // host -> lookups running
	fails    map[string]failEntry // diaspora* ID or "host:"+host -> remembered failure
	inflight map[string]bool      // diaspora* IDs looked up in the background
}

// maxBackgroundLookups bounds the inbox's lookups running at once.
const maxBackgroundLookups = 64

// errLookupPending: the sender's key is being looked up in the background;
// the body waits for it without holding the inbox worker.
type errLookupPending struct{ id string }

func (e errLookupPending) Error() string   { return "looking up " + e.id + "; the body waits for it" }
func (e errLookupPending) Temporary() bool { return true }

// lookupInBackground starts looking id up unless it already is (or too
// many lookups run); when it ends, the bodies waiting for a lookup become
// due at once.
func (p *Pod) lookupInBackground(id string) {
	l := &p.lookups
	l.mu.Lock()
	if l.inflight[id] || len(l.inflight) >= maxBackgroundLookups {
		l.mu.Unlock()
		return
	}
	if l.inflight == nil {
		l.inflight = map[string]bool{}
	}
	l.inflight[id] = true
	l.mu.Unlock()
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		_, err := p.findPerson(p.bgCtx, id, inboxLookupTimeout, false)
		l.mu.Lock()
		delete(l.inflight, id)
		l.mu.Unlock()
		if p.bgCtx.Err() != nil {
			return
		}
		var busy errHostBusy
		if errors.As(err, &busy) {
			return // the host's slots are taken: its bodies come back on their own
		}
		if err := p.store.WakeWaiting(p.bgCtx, lookupPendingReason); err != nil {
			p.log.ErrorContext(p.bgCtx, "waking bodies after a lookup", "err", err)
		}
		notify(p.inWake)
	}()
}

// lookupPendingReason marks inbox rows that wait for a background lookup.
const lookupPendingReason = "lookup_pending"

type failEntry struct {
	err   error
	until time.Time
}

// remembered returns a failure of id or its host still in force.
func (l *lookups) remembered(id, host string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := time.Now()
	for _, k := range []string{id, "host:" + host} {
		if f, ok := l.fails[k]; ok {
			if t.Before(f.until) {
				return f.err
			}
			delete(l.fails, k)
		}
	}
	return nil
}

func (l *lookups) remember(id, host string, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fails == nil || len(l.fails) >= maxRememberedFails {
		l.fails = map[string]failEntry{}
	}
	switch {
	case discovery.IsTemporary(err):
		// The host did not answer in time or could not be reached: every
		// lookup on it fails for a while.
		l.fails["host:"+host] = failEntry{fmt.Errorf("%s did not answer a moment ago: %w", host, err), time.Now().Add(hostDownTTL)}
	default:
		l.fails[id] = failEntry{err, time.Now().Add(failedLookupTTL)}
	}
}

// acquire takes a lookup slot of host; with wait false it fails at once
// when none is free.
func (l *lookups) acquire(ctx context.Context, host string, wait bool) error {
	for {
		l.mu.Lock()
		if l.slots == nil {
			l.slots = map[string]int{}
		}
		if l.slots[host] < lookupsPerHost {
			l.slots[host]++
			l.mu.Unlock()
			return nil
		}
		l.mu.Unlock()
		if !wait {
			return errHostBusy{host}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (l *lookups) release(host string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.slots[host]--; l.slots[host] <= 0 {
		delete(l.slots, host)
	}
}

// findPerson returns a person from the store or, when unknown, through
// discovery within timeout, under the rules above. wait says whether to
// wait for a lookup slot of the person's host.
func (p *Pod) findPerson(ctx context.Context, id string, timeout time.Duration, wait bool) (*discovery.Person, error) {
	nid, err := discovery.NormalizeID(id)
	if err != nil {
		return nil, err
	}
	if per, err := p.store.Cache().Get(ctx, nid); err == nil {
		return per, nil
	} else if !errors.Is(err, discovery.ErrCacheMiss) {
		return nil, err
	}
	_, host, _ := strings.Cut(nid, "@")
	if err := p.lookups.remembered(nid, host); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.lookups.acquire(ctx, host, wait); err != nil {
		return nil, err
	}
	defer p.lookups.release(host)
	per, err := p.resolver.Person(ctx, nid)
	if err != nil && !errors.Is(err, context.Canceled) {
		p.lookups.remember(nid, host, err)
	}
	return per, err
}
