package store

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// errStoreClosed is the error of a body handed to a closed store.
var errStoreClosed = errors.New("store closed")

// maxInboxGroup bounds the bodies written in one group commit.
const maxInboxGroup = 256

// inboxRow is a received body to write to the inbox table.
type inboxRow struct {
	route, recipientGUID, format, contentType, remoteAddr string
	body                                                  []byte
	receivedAt                                            int64
}

type inboxWrite struct {
	row  inboxRow
	done chan error
}

// inboxWriter writes received bodies in group commits: one goroutine
// takes every body waiting when it is free, writes them in one
// transaction and answers each caller once that transaction is committed
// (synchronous=FULL: fsynced). Concurrent receive requests so share one
// commit, and a body is never acknowledged before it is durable.
type inboxWriter struct {
	s    *Store
	reqs chan *inboxWrite
	quit chan struct{}
	done chan struct{}
	last atomic.Int64 // UnixNano of the last commit
	// pending is the pending count read in the last commit (or by
	// pendingAtMost): an upper bound of the pending rows, as only this
	// writer adds them; -1 when unknown.
	pending atomic.Int64
}

// pendingAtMost returns an upper bound of the pending inbox rows without
// reading the database, or ok false when none is known yet.
func (w *inboxWriter) pendingAtMost() (n int, ok bool) {
	v := w.pending.Load()
	return int(v), v >= 0
}

// lastCommit is when the last group was committed.
func (w *inboxWriter) lastCommit() time.Time { return time.Unix(0, w.last.Load()) }

func startInboxWriter(s *Store) *inboxWriter {
	w := &inboxWriter{s: s, reqs: make(chan *inboxWrite, maxInboxGroup), quit: make(chan struct{}), done: make(chan struct{})}
	w.pending.Store(-1)
	go w.run()
	return w
}

// stop ends the writer after the group in progress.
func (w *inboxWriter) stop() {
	close(w.quit)
	<-w.done
}

// write stores one body; it returns once the body is committed, or with
// the error of its group, ctx's error, or errStoreClosed. After a ctx or
// close error the body may still have been stored (the sender, who got
// no 202, sends it again; the worker drops the duplicate by GUID).
func (w *inboxWriter) write(ctx context.Context, row inboxRow) error {
	req := &inboxWrite{row: row, done: make(chan error, 1)}
	select {
	case w.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errStoreClosed
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errStoreClosed
	}
}

func (w *inboxWriter) run() {
	defer close(w.done)
	group := make([]*inboxWrite, 0, maxInboxGroup)
	for {
		group = group[:0]
		select {
		case r := <-w.reqs:
			group = append(group, r)
		case <-w.quit:
			return
		}
	more:
		for len(group) < maxInboxGroup {
			select {
			case r := <-w.reqs:
				group = append(group, r)
			default:
				break more
			}
		}
		pending, err := w.commit(group)
		if err == nil {
			w.last.Store(time.Now().UnixNano())
			w.pending.Store(int64(pending))
		}
		for _, r := range group {
			r.done <- err
		}
	}
}

// commit writes a group in one transaction and returns the number of
// pending rows it leaves.
func (w *inboxWriter) commit(group []*inboxWrite) (pending int, err error) {
	s := w.s
	ctx := context.Background() // a group outlives the requests that wait for it
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.prepare(ctx, `INSERT INTO inbox (route, recipient_guid, format, content_type, body, remote_addr, received_at, next_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	for _, r := range group {
		m := &r.row
		if _, err := stmt.ExecContext(ctx, m.route, m.recipientGUID, m.format, m.contentType, m.body, m.remoteAddr,
			m.receivedAt, m.receivedAt); err != nil {
			return 0, fmt.Errorf("inbox write: %w", err)
		}
	}
	if err := tx.queryRow(ctx, `SELECT n FROM inbox_pending`).Scan(&pending); err != nil {
		return 0, err
	}
	if err := tx.Notify(ctx, InboxChannel); err != nil {
		return 0, err
	}
	return pending, tx.Commit()
}
