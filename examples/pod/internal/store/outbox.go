package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/go-diaspora/federation/salmon"
)

// Enqueue writes deliveries to the outbox inside tx: the body once, one
// row per receive URL. Deliveries to blocked pods are left out.
func Enqueue(ctx context.Context, tx *Tx, entity string, ds []salmon.Delivery) error {
	if len(ds) == 0 {
		return nil
	}
	if err := tx.Notify(ctx, OutboxChannel); err != nil {
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
		err = tx.queryRow(ctx, `SELECT blocked FROM pods WHERE host = ?`, u.Host).Scan(&blocked)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if blocked {
			continue
		}
		key := string(d.Body)
		id, ok := bodies[key]
		if !ok {
			if err := tx.queryRow(ctx, `INSERT INTO outbox_bodies (content_type, body) VALUES (?, ?) RETURNING id`,
				d.ContentType, d.Body).Scan(&id); err != nil {
				return err
			}
			bodies[key] = id
		}
		if _, err := tx.exec(ctx, `INSERT INTO outbox (body_id, entity, url, host, next_at, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			id, entity, d.URL, u.Host, t, t); err != nil {
			return err
		}
	}
	return nil
}

// ClaimOutbox leases the next due delivery to a pod that is not blocked,
// or returns ErrNotFound.
func (s *Store) ClaimOutbox(ctx context.Context) (*salmon.Job, error) {
	// Look before taking the write lock: the queue is woken after every
	// received message, and most of them queue nothing.
	var due int
	t0 := now()
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM outbox WHERE state = 'pending' AND next_at <= ? AND lease_until <= ? LIMIT 1) d`,
		t0, t0).Scan(&due)
	if err != nil {
		return nil, err
	}
	if due == 0 {
		return nil, ErrNotFound
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	t := now()
	var j salmon.Job
	var id int64
	err = s.db.queryRow(ctx, `UPDATE outbox SET lease_until = ?, lease_owner = ?
		WHERE id = (SELECT o.id FROM outbox o LEFT JOIN pods p ON p.host = o.host
			WHERE o.state = 'pending' AND o.next_at <= ? AND o.lease_until <= ? AND COALESCE(p.blocked, 0) = 0
			ORDER BY o.next_at, o.id LIMIT 1`+s.db.d.lockRows("o")+`)
		RETURNING id, url, attempts, (SELECT content_type FROM outbox_bodies b WHERE b.id = body_id),
			(SELECT body FROM outbox_bodies b WHERE b.id = body_id)`, t+leaseTime.Milliseconds(), s.owner, t, t).
		Scan(&id, &j.Delivery.URL, &j.Attempts, &j.Delivery.ContentType, &j.Delivery.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	j.Delivery.ID = strconv.FormatInt(id, 10)
	return &j, nil
}

// OutboxDone removes a finished delivery from the queue and keeps its
// outcome in the pod's health (errText: the error of a final failure).
func (s *Store) OutboxDone(ctx context.Context, id string, delivered bool, errText string) error {
	return s.Do(ctx, func(tx *Tx) error {
		var host string
		var bodyID int64
		err := tx.queryRow(ctx, `DELETE FROM outbox WHERE id = ? RETURNING host, body_id`, id).Scan(&host, &bodyID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // dropped meanwhile: its pod was blocked
		}
		if err != nil {
			return err
		}
		if err := recordHealth(ctx, tx, host, delivered, errText); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM outbox_bodies WHERE id = ? AND NOT EXISTS
			(SELECT 1 FROM outbox WHERE body_id = ?)`, bodyID, bodyID)
		return err
	})
}

// OutboxRetry puts a delivery back for attempt number attempts at due,
// counting a failure (with its error, when not "") in the pod's health.
func (s *Store) OutboxRetry(ctx context.Context, id string, attempts int, due time.Time, errText string) error {
	return s.Do(ctx, func(tx *Tx) error {
		var host string
		err := tx.queryRow(ctx, `UPDATE outbox SET attempts = ?, next_at = ?, lease_until = 0 WHERE id = ? RETURNING host`,
			attempts, due.UnixMilli(), id).Scan(&host)
		if errors.Is(err, sql.ErrNoRows) {
			return nil // dropped meanwhile: its pod was blocked
		}
		if err != nil {
			return err
		}
		return recordHealth(ctx, tx, host, false, errText)
	})
}

func recordHealth(ctx context.Context, tx *Tx, host string, ok bool, errText string) error {
	var err error
	if ok {
		_, err = tx.exec(ctx, `INSERT INTO pods (host, last_success, delivered) VALUES (?, ?, 1)
			ON CONFLICT (host) DO UPDATE SET last_success = excluded.last_success, delivered = pods.delivered + 1, failures = 0`, host, now())
	} else {
		_, err = tx.exec(ctx, `INSERT INTO pods (host, last_failure, failures, last_error) VALUES (?, ?, 1, ?)
			ON CONFLICT (host) DO UPDATE SET last_failure = excluded.last_failure, failures = pods.failures + 1,
			last_error = CASE WHEN excluded.last_error = '' THEN pods.last_error ELSE excluded.last_error END`, host, now(), errText)
	}
	if err != nil {
		return fmt.Errorf("pod health: %w", err)
	}
	return nil
}
