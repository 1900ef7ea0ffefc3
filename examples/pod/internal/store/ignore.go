package store

import (
	"context"
	"fmt"
)

// SetIgnored makes username ignore the person (diaspora*'s block), or
// stop ignoring them: an ignored person's posts, comments and likes are
// hidden from the user, and what they do makes no notification.
func (s *Store) SetIgnored(ctx context.Context, username, personID string, ignored bool) error {
	if !ignored {
		_, err := s.exec(ctx, `DELETE FROM ignored_people WHERE username = ? AND person_id = ?`, username, personID)
		return err
	}
	return s.Do(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO ignored_people (username, person_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`,
			username, personID, now()); err != nil {
			return err
		}
		// What they did before is not news either.
		_, err := tx.exec(ctx, `DELETE FROM notifications WHERE username = ? AND actor = ?`, username, personID)
		return err
	})
}

// Ignored lists the people username ignores, by diaspora* ID, in order.
func (s *Store) Ignored(ctx context.Context, username string) ([]string, error) {
	return strings1(ctx, s.db, `SELECT person_id FROM ignored_people WHERE username = ? ORDER BY person_id`, username)
}

// IsIgnored reports whether username ignores the person.
func (s *Store) IsIgnored(ctx context.Context, username, personID string) (bool, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM ignored_people WHERE username = ? AND person_id = ?`, username, personID).Scan(&n)
	return n > 0, err
}

// MaxFollowedTags is how many #tags one person may follow.
const MaxFollowedTags = 100

// FollowTag makes username follow a (normalized) tag, or stop following
// it: public posts with a followed tag join the user's stream.
func (s *Store) FollowTag(ctx context.Context, username, tag string, follow bool) error {
	if !follow {
		_, err := s.exec(ctx, `DELETE FROM followed_tags WHERE username = ? AND tag = ?`, username, tag)
		return err
	}
	return s.Do(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM followed_tags WHERE username = ? AND tag <> ?`, username, tag).Scan(&n); err != nil {
			return err
		}
		if n >= MaxFollowedTags {
			return fmt.Errorf("%w: you follow %d tags already, as many as one may", ErrInvalid, n)
		}
		_, err := tx.exec(ctx, `INSERT INTO followed_tags (username, tag, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING`, username, tag, now())
		return err
	})
}

// FollowedTags lists the tags username follows, in order.
func (s *Store) FollowedTags(ctx context.Context, username string) ([]string, error) {
	return strings1(ctx, s.db, `SELECT tag FROM followed_tags WHERE username = ? ORDER BY tag`, username)
}
