package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// NotificationView is a notification as the API shows it.
type NotificationView struct {
	ID         int64  `json:"id"`
	Type       string `json:"type"`
	Actor      string `json:"actor"`
	TargetGUID string `json:"target_guid,omitempty"`
	Unread     bool   `json:"unread"`
	CreatedAt  string `json:"created_at"`
}

// AddNotification tells a local user what someone did, unless the user
// ignores them.
func AddNotification(ctx context.Context, tx *Tx, username, typ, actor, target string) error {
	_, err := tx.exec(ctx, `INSERT INTO notifications (username, type, actor, target_guid, created_at) SELECT ?, ?, ?, ?, ?
		WHERE NOT EXISTS (SELECT 1 FROM ignored_people WHERE username = ? AND person_id = ?)`,
		username, typ, actor, target, now(), username, actor)
	return err
}

// NotifyLocalAuthor notifies the author of a post, when local and not
// the actor, of an interaction (comment_on_post, liked, reshared).
func NotifyLocalAuthor(ctx context.Context, tx *Tx, postGUID, typ, actor string) error {
	var name string
	err := tx.queryRow(ctx, `SELECT u.username FROM posts p JOIN users u ON u.person_id = p.author
		WHERE p.guid = ? AND p.author <> ?`, postGUID, actor).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return AddNotification(ctx, tx, name, typ, actor, postGUID)
}

// NotifyInteraction notifies the local author of a post of a new
// comment or like on it.
func NotifyInteraction(ctx context.Context, tx *Tx, row *InteractionRow) error {
	switch {
	case row.ParentType != "Post":
		return nil
	case row.Type == "Comment":
		return NotifyLocalAuthor(ctx, tx, row.PostGUID, "comment_on_post", row.Author)
	case row.Type == "Like" && row.Positive:
		return NotifyLocalAuthor(ctx, tx, row.PostGUID, "liked", row.Author)
	}
	return nil
}

// NotifyMentioned notifies the local people a new post mentions who can
// read it.
func NotifyMentioned(ctx context.Context, tx *Tx, postGUID, author string, mentions []string) error {
	for _, m := range mentions {
		if m == author {
			continue
		}
		var name string
		err := tx.queryRow(ctx, `SELECT u.username FROM users u JOIN posts p ON p.guid = ?
			WHERE u.person_id = ? AND u.suspended = 0 AND (p.public = 1 OR EXISTS
			(SELECT 1 FROM post_visibility v WHERE v.post_guid = p.guid AND v.username = u.username))`, postGUID, m).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if err := AddNotification(ctx, tx, name, "mentioned", author, postGUID); err != nil {
			return err
		}
	}
	return nil
}

// maxNotifications is the most notifications one API call lists.
const maxNotifications = 100

// Notifications lists a user's newest notifications (only the unread
// ones when unreadOnly) and counts the unread.
func (s *Store) Notifications(ctx context.Context, username string, unreadOnly bool) ([]NotificationView, int, error) {
	var unread int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM notifications WHERE username = ? AND unread = 1`, username).Scan(&unread); err != nil {
		return nil, 0, err
	}
	q := `SELECT id, type, actor, target_guid, unread, created_at FROM notifications WHERE username = ?`
	if unreadOnly {
		q += ` AND unread = 1`
	}
	rows, err := s.db.query(ctx, q+` ORDER BY id DESC LIMIT ?`, username, maxNotifications)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []NotificationView{}
	for rows.Next() {
		var n NotificationView
		var t int64
		if err := rows.Scan(&n.ID, &n.Type, &n.Actor, &n.TargetGUID, &n.Unread, &t); err != nil {
			return nil, 0, err
		}
		n.CreatedAt = fmtMilli(t)
		out = append(out, n)
	}
	return out, unread, rows.Err()
}

// MarkNotificationsRead marks the given notifications of a user read,
// or all of them when ids is empty.
func (s *Store) MarkNotificationsRead(ctx context.Context, username string, ids []int64) error {
	if len(ids) > maxNotifications {
		return fmt.Errorf("%w: at most %d notifications at once", ErrInvalid, maxNotifications)
	}
	return s.Do(ctx, func(tx *Tx) error {
		if len(ids) == 0 {
			_, err := tx.exec(ctx, `UPDATE notifications SET unread = 0 WHERE username = ?`, username)
			return err
		}
		for _, id := range ids {
			if _, err := tx.exec(ctx, `UPDATE notifications SET unread = 0 WHERE username = ? AND id = ?`, username, id); err != nil {
				return err
			}
		}
		return nil
	})
}
