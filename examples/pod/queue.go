package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"

	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// storeInbox is the salmon.Inbox of the pod: it writes the raw body to the
// inbox table (committed, fsynced, in a group commit with the bodies of
// concurrent requests) before the handler answers 202.
type storeInbox struct {
	s       *store.Store
	wake    func()
	log     *slog.Logger
	envOpts magicenv.Options
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
		env, err := in.envOpts.Parse(m.Body)
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

// outboxQueue is a durable salmon.Queue over the outbox table. Next
// polls the table (and wakes early when something is enqueued); claimed
// rows are leased so that a crash never loses them.
type outboxQueue struct {
	s    *store.Store
	log  *slog.Logger
	wake chan struct{}
	poll time.Duration
	p    *Pod
}

func (q *outboxQueue) Next(ctx context.Context) (*salmon.Job, error) {
	for {
		j, err := q.s.ClaimOutbox(ctx)
		if err == nil {
			return j, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, store.ErrNotFound) {
			q.log.ErrorContext(ctx, "outbox claim", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-q.wake:
		case <-time.After(q.poll):
		}
	}
}

// Done records the final outcome: the row leaves the queue, the pod's
// health keeps the result (and the error of a final failure). Errors are
// logged, not returned: the row's lease then runs out and it is tried
// again (at least once).
func (q *outboxQueue) Done(ctx context.Context, j *salmon.Job, a salmon.Attempt) error {
	if q.p != nil {
		q.p.blocked.Delete(j.Delivery.ID)
	}
	errText := ""
	if a.Err != nil {
		errText = a.Err.Error()
	}
	err := q.s.OutboxDone(ctx, j.Delivery.ID, a.Outcome == salmon.Delivered, errText)
	if err != nil {
		q.log.ErrorContext(ctx, "outbox done", "id", j.Delivery.ID, "err", err)
	}
	return nil
}

// Reschedule puts a job back after a temporary failure. A delivery the
// SSRF guard refused (a peer URL in a reserved range) is a final failure
// instead: retrying cannot make the address allowed.
func (q *outboxQueue) Reschedule(ctx context.Context, j *salmon.Job, due time.Time) error {
	if q.p != nil {
		if v, ok := q.p.blocked.LoadAndDelete(j.Delivery.ID); ok {
			q.log.WarnContext(ctx, "delivery refused by the address guard", "id", j.Delivery.ID, "url", j.Delivery.URL)
			return q.Done(ctx, j, salmon.Attempt{Delivery: &j.Delivery, Number: j.Attempts, Outcome: salmon.Failed, Err: v.(error)})
		}
	}
	err := q.s.OutboxRetry(ctx, j.Delivery.ID, j.Attempts, due)
	if err != nil {
		q.log.ErrorContext(ctx, "outbox reschedule", "id", j.Delivery.ID, "err", err)
	}
	return nil
}
