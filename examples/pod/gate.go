package main

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/salmon"
)

// receiveGate runs in front of salmon.Handler and answers, before a byte
// of the body is read:
//   - 404 for a private route whose guid is no local person (the handler
//     would read the body up to its cap first, SECURITY.md PD-02);
//   - 503 with Retry-After while more than Config.MaxInboxPending bodies
//     wait to be processed (the inbound high-water mark, T19): the peer
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
			if _, err := p.store.UserByGUID(ctx, guid); errors.Is(err, errNotFound) {
				p.plainStatus(w, r, http.StatusNotFound)
				return
			}
		} else if r.URL.Path != "/receive/public" {
			next.ServeHTTP(w, r)
			return
		}
		pending, err := p.store.PendingInbox(ctx)
		if err != nil {
			p.log.ErrorContext(ctx, "inbox depth", "err", err)
		}
		if err != nil || pending >= p.cfg.MaxInboxPending {
			w.Header().Set("Retry-After", strconv.Itoa(int(receiveRetryAfter.Seconds())))
			p.plainStatus(w, r, http.StatusServiceUnavailable)
			return
		}
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

// PendingInbox counts the received bodies waiting to be processed (a
// counter the inbox table's triggers keep, not a scan).
func (s *Store) PendingInbox(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT n FROM inbox_pending`).Scan(&n)
	return n, err
}

// noteAttempt is the sender's OnAttempt: it remembers deliveries the
// address guard refused, so that the queue fails them for good instead of
// rescheduling them (see outboxQueue.Reschedule).
func (p *Pod) noteAttempt(a salmon.Attempt) {
	if a.Outcome == salmon.Retry && (errors.Is(a.Err, discovery.ErrBlockedAddress) || errors.Is(a.Err, discovery.ErrBlockedURL)) {
		p.blocked.Store(a.Delivery.ID, a.Err)
	}
}
