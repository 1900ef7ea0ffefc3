package store

import (
	"context"
	"time"
)

// The queues as the podmin's jobs page shows them.

// OutboxJob is a queued delivery.
type OutboxJob struct {
	ID             int64
	Entity, Host   string
	URL, LastError string // LastError: the pod's last error
	Attempts       int
	NextAt         time.Time
	Leased         bool
}

// InboxJob is a received body waiting to be processed.
type InboxJob struct {
	ID                 int64
	Route, RemoteAddr  string
	Reason             string // why it waits: the category of its last failure
	Attempts, Size     int
	ReceivedAt, NextAt time.Time
}

// Rejected is the record of a received body the pod gave up on.
type Rejected struct {
	Route, RemoteAddr, Category, SHA256 string
	Size                                int
	RejectedAt                          time.Time
}

// Jobs lists up to n of each: queued deliveries (retried ones first),
// waiting received bodies and the newest refused bodies.
func (s *Store) Jobs(ctx context.Context, n int) ([]OutboxJob, []InboxJob, []Rejected, error) {
	t := now()
	rows, err := s.db.query(ctx, `SELECT o.id, o.entity, o.host, o.url, COALESCE(p.last_error, ''), o.attempts, o.next_at, o.lease_until > ?
		FROM outbox o LEFT JOIN pods p ON p.host = o.host WHERE o.state = 'pending'
		ORDER BY o.attempts DESC, o.next_at, o.id LIMIT ?`, t, n)
	if err != nil {
		return nil, nil, nil, err
	}
	var out []OutboxJob
	for rows.Next() {
		var j OutboxJob
		var next int64
		if err := rows.Scan(&j.ID, &j.Entity, &j.Host, &j.URL, &j.LastError, &j.Attempts, &next, &j.Leased); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		j.NextAt = time.UnixMilli(next).UTC()
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	rows, err = s.db.query(ctx, `SELECT id, route, remote_addr, error, attempts, LENGTH(body), received_at, next_at FROM inbox
		WHERE state = 'pending' ORDER BY attempts DESC, next_at, id LIMIT ?`, n)
	if err != nil {
		return nil, nil, nil, err
	}
	var in []InboxJob
	for rows.Next() {
		var j InboxJob
		var recv, next int64
		if err := rows.Scan(&j.ID, &j.Route, &j.RemoteAddr, &j.Reason, &j.Attempts, &j.Size, &recv, &next); err != nil {
			rows.Close()
			return nil, nil, nil, err
		}
		j.ReceivedAt, j.NextAt = time.UnixMilli(recv).UTC(), time.UnixMilli(next).UTC()
		in = append(in, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, nil, err
	}
	rows, err = s.db.query(ctx, `SELECT route, remote_addr, category, sha256, size, rejected_at FROM inbox_rejected ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, nil, nil, err
	}
	defer rows.Close()
	var rej []Rejected
	for rows.Next() {
		var r Rejected
		var at int64
		if err := rows.Scan(&r.Route, &r.RemoteAddr, &r.Category, &r.SHA256, &r.Size, &at); err != nil {
			return nil, nil, nil, err
		}
		r.RejectedAt = time.UnixMilli(at).UTC()
		rej = append(rej, r)
	}
	return out, in, rej, rows.Err()
}

// RetryDelivery makes one queued delivery due now (ErrNotFound when it is
// not queued or a worker holds it).
func (s *Store) RetryDelivery(ctx context.Context, id int64) error {
	t := now()
	res, err := s.exec(ctx, `UPDATE outbox SET next_at = ? WHERE id = ? AND state = 'pending' AND lease_until <= ?`, t, id, t)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// DiscardDeliveries drops queued deliveries: one by id, or (id 0) every
// one to host. Leased ones are left to their worker. It returns how many
// were dropped.
func (s *Store) DiscardDeliveries(ctx context.Context, id int64, host string) (int, error) {
	var n int64
	err := s.Do(ctx, func(tx *Tx) error {
		t := now()
		q, arg := `DELETE FROM outbox WHERE id = ? AND state = 'pending' AND lease_until <= ?`, any(id)
		if id == 0 {
			q, arg = `DELETE FROM outbox WHERE host = ? AND state = 'pending' AND lease_until <= ?`, host
		}
		res, err := tx.exec(ctx, q, arg, t)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		_, err = tx.exec(ctx, `DELETE FROM outbox_bodies WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.body_id = outbox_bodies.id)`)
		return err
	})
	return int(n), err
}

// RetryReceived makes a waiting received body due now.
func (s *Store) RetryReceived(ctx context.Context, id int64) error {
	t := now()
	res, err := s.exec(ctx, `UPDATE inbox SET next_at = ? WHERE id = ? AND state = 'pending' AND lease_until <= ?`, t, id, t)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}
