package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"
)

// The podmin's side: admins, the audit log, settings, statistics and the
// accounts as the dashboard shows them.

// SetAdmin makes a local user an admin or not; ErrNotFound when there is
// no such user.
func (s *Store) SetAdmin(ctx context.Context, username string, admin bool) error {
	res, err := s.exec(ctx, `UPDATE users SET admin = ? WHERE username = ?`, admin, username)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// RevokeSessions ends every session (browser and API) of a user.
func (s *Store) RevokeSessions(ctx context.Context, username string) error {
	_, err := s.exec(ctx, `DELETE FROM sessions WHERE username = ?`, username)
	return err
}

// AuditEntry is one action of an admin.
type AuditEntry struct {
	Actor, Action, Target, Detail string
	At                            time.Time
}

// Audit records an admin's action (actor "" is the shell).
func (s *Store) Audit(ctx context.Context, actor, action, target, detail string) error {
	_, err := s.exec(ctx, `INSERT INTO audit_log (actor, action, target, detail, created_at) VALUES (?, ?, ?, ?, ?)`,
		actor, action, target, detail, now())
	return err
}

// AuditLog returns the newest n entries of the audit log.
func (s *Store) AuditLog(ctx context.Context, n int) ([]AuditEntry, error) {
	rows, err := s.db.query(ctx, `SELECT actor, action, target, detail, created_at FROM audit_log ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var e AuditEntry
		var t int64
		if err := rows.Scan(&e.Actor, &e.Action, &e.Target, &e.Detail, &t); err != nil {
			return nil, err
		}
		e.At = time.UnixMilli(t).UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

// Setting returns a setting changed in the browser, or "" and false.
func (s *Store) Setting(ctx context.Context, key string) (string, bool, error) {
	var v string
	err := s.db.queryRow(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// SetSetting stores a setting.
func (s *Store) SetSetting(ctx context.Context, key, value string) error {
	_, err := s.exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`, key, value)
	return err
}

// Stats are the numbers of the dashboard (the user counts are the ones
// NodeInfo publishes).
type Stats struct {
	Users, Active30, Active180          int
	LocalPosts, LocalComments           int
	KnownPods, BlockedPods              int
	InboxPending, OutboxPending         int
	PodsFailing24h, Reports, OpenReport int
}

// Stats counts what the dashboard shows. A person is active in a window
// when they signed in or posted in it.
func (s *Store) Stats(ctx context.Context) (*Stats, error) {
	var st Stats
	t := time.Now()
	d30, d180, d1 := t.Add(-30*24*time.Hour).UnixMilli(), t.Add(-180*24*time.Hour).UnixMilli(), t.Add(-24*time.Hour).UnixMilli()
	active := `(SELECT COUNT(*) FROM users u WHERE u.suspended = 0 AND (u.last_seen_at >= ? OR EXISTS
		(SELECT 1 FROM posts p WHERE p.author = u.person_id AND p.created_at >= ?)))`
	err := s.db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM users WHERE suspended = 0), `+active+`, `+active+`,
		(SELECT COUNT(*) FROM posts WHERE local = 1),
		(SELECT COUNT(*) FROM interactions i JOIN people p ON p.id = i.author WHERE i.type = 'Comment' AND p.local = 1),
		(SELECT COUNT(DISTINCT pod_url) FROM people WHERE local = 0),
		(SELECT COUNT(*) FROM pods WHERE blocked = 1),
		(SELECT n FROM inbox_pending),
		(SELECT COUNT(*) FROM outbox WHERE state = 'pending'),
		(SELECT COUNT(*) FROM pods WHERE last_failure >= ?),
		(SELECT COUNT(*) FROM reports),
		(SELECT COUNT(*) FROM reports WHERE state = 'open')`, d30, d30, d180, d180, d1).
		Scan(&st.Users, &st.Active30, &st.Active180, &st.LocalPosts, &st.LocalComments, &st.KnownPods, &st.BlockedPods,
			&st.InboxPending, &st.OutboxPending, &st.PodsFailing24h, &st.Reports, &st.OpenReport)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// Account is a local account as the dashboard shows it.
type Account struct {
	Username, ID, GUID string
	Suspended, Admin   bool
	Deleted            bool // closed: no key left
	Sessions           int
	InvitationsLeft    int
	LastSeen           time.Time
}

// Accounts finds local accounts whose username or diaspora* ID contains
// query (all of them, up to 100, when it is empty).
func (s *Store) Accounts(ctx context.Context, query string) ([]Account, error) {
	like := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(strings.TrimSpace(query))) + "%"
	rows, err := s.db.query(ctx, `SELECT u.username, p.id, p.guid, u.suspended, u.admin, u.private_key = '', u.last_seen_at,
		(SELECT COUNT(*) FROM sessions s WHERE s.username = u.username),
		(SELECT COUNT(*) FROM invitations i WHERE i.username = u.username AND i.used_by = '')
		FROM users u JOIN people p ON p.id = u.person_id
		WHERE LOWER(u.username) LIKE ? ESCAPE '\' OR LOWER(p.id) LIKE ? ESCAPE '\' ORDER BY u.username LIMIT 100`, like, like)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		var a Account
		var seen int64
		if err := rows.Scan(&a.Username, &a.ID, &a.GUID, &a.Suspended, &a.Admin, &a.Deleted, &seen, &a.Sessions, &a.InvitationsLeft); err != nil {
			return nil, err
		}
		if seen > 0 {
			a.LastSeen = time.UnixMilli(seen).UTC()
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// GrantInvitations gives a user n more invitation codes.
func (s *Store) GrantInvitations(ctx context.Context, username string, n int) error {
	var have int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM invitations WHERE username = ?`, username).Scan(&have); err != nil {
		return err
	}
	_, err := s.Invitations(ctx, username, have+n)
	return err
}

// RetryHost makes the queued deliveries to a pod due now.
func (s *Store) RetryHost(ctx context.Context, host string) (int, error) {
	t := now()
	res, err := s.exec(ctx, `UPDATE outbox SET next_at = ? WHERE host = ? AND state = 'pending' AND lease_until <= ?`, t, host, t)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Report is a person's report of a post or comment.
type Report struct {
	ID                                       int64
	Reporter, TargetType, TargetGUID, Reason string
	State                                    string // open, deleted, dismissed
	At                                       time.Time
}

// Reports lists the reports, open ones first, newest first.
func (s *Store) Reports(ctx context.Context) ([]Report, error) {
	rows, err := s.db.query(ctx, `SELECT id, username, target_type, target_guid, reason, state, created_at FROM reports
		ORDER BY CASE WHEN state = 'open' THEN 0 ELSE 1 END, id DESC LIMIT 200`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Report
	for rows.Next() {
		var r Report
		var t int64
		if err := rows.Scan(&r.ID, &r.Reporter, &r.TargetType, &r.TargetGUID, &r.Reason, &r.State, &t); err != nil {
			return nil, err
		}
		r.At = time.UnixMilli(t).UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

// ReportByID loads one report, or ErrNotFound.
func (s *Store) ReportByID(ctx context.Context, id int64) (*Report, error) {
	var r Report
	var t int64
	err := s.db.queryRow(ctx, `SELECT id, username, target_type, target_guid, reason, state, created_at FROM reports WHERE id = ?`, id).
		Scan(&r.ID, &r.Reporter, &r.TargetType, &r.TargetGUID, &r.Reason, &r.State, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	r.At = time.UnixMilli(t).UTC()
	return &r, err
}

// SetReportState closes the reports of one piece of content (state
// deleted or dismissed), or reopens them.
func (s *Store) SetReportState(ctx context.Context, targetType, guid, state string) error {
	_, err := s.exec(ctx, `UPDATE reports SET state = ? WHERE target_type = ? AND target_guid = ?`, state, targetType, guid)
	return err
}
