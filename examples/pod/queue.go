package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// leaseTime is how long a worker owns a claimed inbox or outbox row; a
// crashed worker's rows become due again when it runs out.
const leaseTime = 5 * time.Minute

// --- inbox ---

// InboxItem is a received body waiting to be processed.
type InboxItem struct {
	ID            int64
	Route         salmon.Route
	RecipientGUID string
	Format        salmon.Format
	ContentType   string
	Body          []byte
	Attempts      int
}

// storeInbox is the salmon.Inbox of the pod: it writes the raw body to the
// inbox table (committed, fsynced, in a group commit with the bodies of
// concurrent requests) before the handler answers 202.
type storeInbox struct {
	s       *Store
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
			if b, err := in.s.blockedCached(ctx, strings.ToLower(host)); err != nil {
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
		if _, err := in.s.UserByGUID(ctx, m.RecipientGUID); errors.Is(err, errNotFound) {
			return salmon.ErrRecipientNotFound
		} else if err != nil {
			return err
		}
	}
	route := "public"
	if m.Route == salmon.RoutePrivate {
		route = "private"
	}
	t := m.ReceivedAt.UnixMilli()
	if m.ReceivedAt.IsZero() {
		t = now()
	}
	err := in.s.inbox.write(ctx, inboxRow{route: route, recipientGUID: m.RecipientGUID, format: string(m.Format),
		contentType: m.ContentType, body: m.Body, remoteAddr: m.RemoteAddr, receivedAt: t})
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

// ClaimInbox leases the next due inbox row, or returns errNotFound.
func (s *Store) ClaimInbox(ctx context.Context) (*InboxItem, error) {
	its, err := s.ClaimInboxBatch(ctx, 1)
	if err != nil {
		return nil, err
	}
	return its[0], nil
}

// inboxBatch is how many due rows the worker leases at once: one commit
// (one fsync) for the leases of a batch instead of one per row.
const inboxBatch = 32

// ClaimInboxBatch leases up to n due inbox rows in one transaction, the
// oldest first, or returns errNotFound.
func (s *Store) ClaimInboxBatch(ctx context.Context, n int) ([]*InboxItem, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := now()
	rows, err := s.db.QueryContext(ctx, `UPDATE inbox SET lease_until = ?, lease_owner = ?
		WHERE id IN (SELECT id FROM inbox WHERE state = 'pending' AND next_at <= ? AND lease_until <= ? ORDER BY next_at, id LIMIT ?`+
		s.db.d.lockRows("inbox")+`)
		RETURNING id, route, recipient_guid, format, content_type, body, attempts, next_at`, t+leaseTime.Milliseconds(), s.owner, t, t, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	type due struct {
		it *InboxItem
		at int64
	}
	var out []due
	for rows.Next() {
		var it InboxItem
		var route, format string
		var at int64
		if err := rows.Scan(&it.ID, &route, &it.RecipientGUID, &format, &it.ContentType, &it.Body, &it.Attempts, &at); err != nil {
			return nil, err
		}
		it.Format = salmon.Format(format)
		if route == "private" {
			it.Route = salmon.RoutePrivate
		}
		out = append(out, due{&it, at})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errNotFound
	}
	slices.SortFunc(out, func(a, b due) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.it.ID, b.it.ID)) })
	its := make([]*InboxItem, len(out))
	for i, d := range out {
		its[i] = d.it
	}
	return its, nil
}

// inboxDone removes a processed inbox row, inside the transaction that
// stored its effects.
func inboxDone(ctx context.Context, tx *sqlTx, id int64) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM inbox WHERE id = ?`, id)
	return err
}

// PurgeRejected deletes the records of refused bodies older than the
// forensics window.
func (s *Store) PurgeRejected(ctx context.Context, olderThan time.Duration) error {
	_, err := s.exec(ctx, `DELETE FROM inbox_rejected WHERE rejected_at < ?`, time.Now().Add(-olderThan).UnixMilli())
	return err
}

// rejectedPrefix is how many bytes of a refused body are kept.
const rejectedPrefix = 64

// maxRejectedKept caps the records of refused bodies: the oldest go first.
const maxRejectedKept = 10000

// InboxDead drops a refused body, keeping for the podmin only its size,
// SHA-256, first bytes and error category (inbox_rejected, at most
// maxRejectedKept rows).
func (s *Store) InboxDead(ctx context.Context, it *InboxItem, category string) error {
	sum := sha256.Sum256(it.Body)
	prefix := it.Body[:min(len(it.Body), rejectedPrefix)]
	route := "public"
	if it.Route == salmon.RoutePrivate {
		route = "private"
	}
	return s.do(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO inbox_rejected (route, remote_addr, size, sha256, prefix, category, received_at, rejected_at)
			SELECT ?, remote_addr, ?, ?, ?, ?, received_at, ? FROM inbox WHERE id = ?`,
			route, len(it.Body), hex.EncodeToString(sum[:]), strings.ToUpper(hex.EncodeToString(prefix)), category, now(), it.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM inbox WHERE id = ?`, it.ID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM inbox_rejected WHERE id <= (SELECT id FROM inbox_rejected ORDER BY id DESC LIMIT 1 OFFSET ?)`, maxRejectedKept)
		return err
	})
}

// InboxRetry puts a row back for a later attempt.
func (s *Store) InboxRetry(ctx context.Context, id int64, attempts int, due time.Time, reason string) error {
	_, err := s.exec(ctx, `UPDATE inbox SET attempts = ?, next_at = ?, lease_until = 0, error = ? WHERE id = ?`,
		attempts, due.UnixMilli(), reason, id)
	return err
}

// --- outbox ---

// enqueue writes deliveries to the outbox inside tx: the body once, one
// row per receive URL. Deliveries to blocked pods are left out.
func enqueue(ctx context.Context, tx *sqlTx, entity string, ds []salmon.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if err := tx.Notify(ctx, outboxChannel); err != nil {
		return err
	}
	bodies := map[string]int64{} // shared bodies (public deliveries) are stored once
	t := now()
	for _, d := range ds {
		u, err := url.Parse(d.URL)
		if err != nil {
			return err
		}
		var blocked bool
		err = tx.QueryRowContext(ctx, `SELECT blocked FROM pods WHERE host = ?`, u.Host).Scan(&blocked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if blocked {
			continue
		}
		key := string(d.Body)
		id, ok := bodies[key]
		if !ok {
			if err := tx.QueryRowContext(ctx, `INSERT INTO outbox_bodies (content_type, body) VALUES (?, ?) RETURNING id`,
				d.ContentType, d.Body).Scan(&id); err != nil {
				return err
			}
			bodies[key] = id
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (body_id, entity, url, host, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, entity, d.URL, u.Host, t, t); err != nil {
			return err
		}
	}
	return nil
}

// outboxQueue is a durable salmon.Queue over the outbox table. Next
// polls the table (and wakes early when something is enqueued); claimed
// rows are leased so that a crash never loses them.
type outboxQueue struct {
	s    *Store
	log  *slog.Logger
	wake chan struct{}
	poll time.Duration
	p    *Pod
}

func (q *outboxQueue) Next(ctx context.Context) (*salmon.Job, error) {
	for {
		j, err := q.claim(ctx)
		if err == nil {
			return j, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !errors.Is(err, errNotFound) {
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

func (q *outboxQueue) claim(ctx context.Context) (*salmon.Job, error) {
	// Look before taking the write lock: the queue is woken after every
	// received message, and most of them queue nothing.
	var due int
	t0 := now()
	err := q.s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'pending' AND next_at <= ? AND lease_until <= ? LIMIT 1) d`,
		t0, t0).Scan(&due)
	if err != nil {
		return nil, err
	}
	if due == 0 {
		return nil, errNotFound
	}
	q.s.wmu.Lock()
	defer q.s.wmu.Unlock()
	t := now()
	var j salmon.Job
	var id int64
	err = q.s.db.QueryRowContext(ctx, `UPDATE outbox SET lease_until = ?, lease_owner = ?
		WHERE id = (SELECT o.id FROM outbox o LEFT JOIN pods p ON p.host = o.host
			WHERE o.state = 'pending' AND o.next_at <= ? AND o.lease_until <= ? AND COALESCE(p.blocked, 0) = 0
			ORDER BY o.next_at, o.id LIMIT 1`+q.s.db.d.lockRows("o")+`)
		RETURNING id, url, attempts, (SELECT content_type FROM outbox_bodies b WHERE b.id = body_id),
			(SELECT body FROM outbox_bodies b WHERE b.id = body_id)`, t+leaseTime.Milliseconds(), q.s.owner, t, t).
		Scan(&id, &j.Delivery.URL, &j.Attempts, &j.Delivery.ContentType, &j.Delivery.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	j.Delivery.ID = strconv.FormatInt(id, 10)
	return &j, nil
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
	err := q.s.do(ctx, func(tx *sqlTx) error {
		var host string
		var bodyID int64
		if err := tx.QueryRowContext(ctx, `DELETE FROM outbox WHERE id = ? RETURNING host, body_id`, j.Delivery.ID).Scan(&host, &bodyID); err != nil {
			return err
		}
		if err := recordHealth(ctx, tx, host, a.Outcome == salmon.Delivered, errText); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM outbox_bodies WHERE id = ? AND NOT EXISTS
			(SELECT 1 FROM outbox WHERE body_id = ?)`, bodyID, bodyID)
		return err
	})
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
	err := q.s.do(ctx, func(tx *sqlTx) error {
		var host string
		if err := tx.QueryRowContext(ctx, `UPDATE outbox SET attempts = ?, next_at = ?, lease_until = 0 WHERE id = ? RETURNING host`,
			j.Attempts, due.UnixMilli(), j.Delivery.ID).Scan(&host); err != nil {
			return err
		}
		return recordHealth(ctx, tx, host, false, "")
	})
	if err != nil {
		q.log.ErrorContext(ctx, "outbox reschedule", "id", j.Delivery.ID, "err", err)
	}
	return nil
}

func recordHealth(ctx context.Context, tx *sqlTx, host string, ok bool, errText string) error {
	var err error
	if ok {
		_, err = tx.ExecContext(ctx, `INSERT INTO pods (host, last_success, delivered) VALUES (?, ?, 1)
			ON CONFLICT (host) DO UPDATE SET last_success = excluded.last_success, delivered = pods.delivered + 1, failures = 0`, host, now())
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO pods (host, last_failure, failures, last_error) VALUES (?, ?, 1, ?)
			ON CONFLICT (host) DO UPDATE SET last_failure = excluded.last_failure, failures = pods.failures + 1,
			last_error = CASE WHEN excluded.last_error = '' THEN pods.last_error ELSE excluded.last_error END`, host, now(), errText)
	}
	if err != nil {
		return fmt.Errorf("pod health: %w", err)
	}
	return nil
}
