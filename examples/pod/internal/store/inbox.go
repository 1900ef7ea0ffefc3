package store

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"time"

	"github.com/go-diaspora/federation/salmon"
)

// leaseTime is how long a worker owns a claimed inbox or outbox row; a
// crashed worker's rows become due again when it runs out.
const leaseTime = 5 * time.Minute

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

// ClaimInbox leases the next due inbox row, or returns ErrNotFound.
func (s *Store) ClaimInbox(ctx context.Context) (*InboxItem, error) {
	its, err := s.ClaimInboxBatch(ctx, 1)
	if err != nil {
		return nil, err
	}
	return its[0], nil
}

// ClaimInboxBatch leases up to n due inbox rows in one transaction, the
// oldest first, or returns ErrNotFound.
func (s *Store) ClaimInboxBatch(ctx context.Context, n int) ([]*InboxItem, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := now()
	rows, err := s.db.query(ctx, `UPDATE inbox SET lease_until = ?, lease_owner = ?
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
		return nil, ErrNotFound
	}
	slices.SortFunc(out, func(a, b due) int { return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.it.ID, b.it.ID)) })
	its := make([]*InboxItem, len(out))
	for i, d := range out {
		its[i] = d.it
	}
	return its, nil
}

// InboxDone removes a processed inbox row, inside the transaction that
// stored its effects.
func InboxDone(ctx context.Context, tx *Tx, id int64) error {
	_, err := tx.exec(ctx, `DELETE FROM inbox WHERE id = ?`, id)
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
	return s.Do(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO inbox_rejected (route, remote_addr, size, sha256, prefix, category, received_at, rejected_at)
			SELECT ?, remote_addr, ?, ?, ?, ?, received_at, ? FROM inbox WHERE id = ?`,
			route, len(it.Body), hex.EncodeToString(sum[:]), strings.ToUpper(hex.EncodeToString(prefix)), category, now(), it.ID); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM inbox WHERE id = ?`, it.ID); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM inbox_rejected WHERE id <= (SELECT id FROM inbox_rejected ORDER BY id DESC LIMIT 1 OFFSET ?)`, maxRejectedKept)
		return err
	})
}

// InboxRetry puts a row back for a later attempt.
func (s *Store) InboxRetry(ctx context.Context, id int64, attempts int, due time.Time, reason string) error {
	_, err := s.exec(ctx, `UPDATE inbox SET attempts = ?, next_at = ?, lease_until = 0, error = ? WHERE id = ?`,
		attempts, due.UnixMilli(), reason, id)
	return err
}

// PendingForMark returns the pending bodies as far as a comparison with
// the high-water mark needs: the inbox writer's upper bound while it is
// below the mark, else the exact count (which becomes the new bound).
func (s *Store) PendingForMark(ctx context.Context, mark int) (int, error) {
	if n, ok := s.inbox.pendingAtMost(); ok && n < mark {
		return n, nil
	}
	// Under the write lock no group commits meanwhile: the count stays an
	// upper bound until the next commit replaces it.
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n, err := s.PendingInbox(ctx)
	if err == nil {
		s.inbox.pending.Store(int64(n))
	}
	return n, err
}

// PendingInbox counts the received bodies waiting to be processed (a
// counter the inbox table's triggers keep, not a scan).
func (s *Store) PendingInbox(ctx context.Context) (int, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT n FROM inbox_pending`).Scan(&n)
	return n, err
}

// LastInboxCommit is when this process last committed received bodies.
func (s *Store) LastInboxCommit() time.Time { return s.inbox.lastCommit() }

// WakeWaiting makes the inbox rows that wait with reason due now.
func (s *Store) WakeWaiting(ctx context.Context, reason string) error {
	t := now()
	_, err := s.exec(ctx, `UPDATE inbox SET next_at = ? WHERE state = 'pending' AND error = ? AND next_at > ?`, t, reason, t)
	return err
}

// WriteInbox stores a received body (committed, fsynced, in a group
// commit with the bodies of concurrent requests) for the inbox worker.
func (s *Store) WriteInbox(ctx context.Context, m *salmon.Incoming) error {
	route := "public"
	if m.Route == salmon.RoutePrivate {
		route = "private"
	}
	t := m.ReceivedAt.UnixMilli()
	if m.ReceivedAt.IsZero() {
		t = now()
	}
	return s.inbox.write(ctx, inboxRow{route: route, recipientGUID: m.RecipientGUID, format: string(m.Format),
		contentType: m.ContentType, body: m.Body, remoteAddr: m.RemoteAddr, receivedAt: t})
}
