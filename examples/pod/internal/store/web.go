package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// What the web interface needs besides what the API reads: invitation
// codes, reports, passwords and sessions, profiles and the streams of a
// person in a browser.

// Invitation is an invitation code of a user.
type Invitation struct {
	Code      string
	UsedBy    string // the account it made, "" while unused
	CreatedAt time.Time
}

// Invitations returns a user's invitation codes, making new ones until
// the user has n, oldest first.
func (s *Store) Invitations(ctx context.Context, username string, n int) ([]Invitation, error) {
	err := s.Do(ctx, func(tx *Tx) error {
		var have int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM invitations WHERE username = ?`, username).Scan(&have); err != nil {
			return err
		}
		for ; have < n; have++ {
			code := strings.ToLower(rand.Text()[:16])
			if _, err := tx.exec(ctx, `INSERT INTO invitations (code, username, created_at) VALUES (?, ?, ?)`, code, username, now()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT code, used_by, created_at FROM invitations WHERE username = ? ORDER BY created_at, code`, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Invitation
	for rows.Next() {
		var in Invitation
		var t int64
		if err := rows.Scan(&in.Code, &in.UsedBy, &t); err != nil {
			return nil, err
		}
		in.CreatedAt = time.UnixMilli(t).UTC()
		out = append(out, in)
	}
	return out, rows.Err()
}

// ClaimInvitation marks an unused invitation code used by username and
// returns who gave it; a code that does not exist or was used is
// ErrNotFound.
func (s *Store) ClaimInvitation(ctx context.Context, code, username string) (inviter string, err error) {
	err = s.Do(ctx, func(tx *Tx) error {
		err := tx.queryRow(ctx, `UPDATE invitations SET used_by = ?, used_at = ? WHERE code = ? AND used_by = '' RETURNING username`,
			username, now(), strings.ToLower(strings.TrimSpace(code))).Scan(&inviter)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: no unused invitation %q", ErrNotFound, code)
		}
		return err
	})
	return inviter, err
}

// ReleaseInvitation makes a claimed code unused again (the account it
// was claimed for could not be made).
func (s *Store) ReleaseInvitation(ctx context.Context, code string) error {
	_, err := s.exec(ctx, `UPDATE invitations SET used_by = '', used_at = 0 WHERE code = ?`, strings.ToLower(strings.TrimSpace(code)))
	return err
}

// AddReport records a user's report of a post or comment for the
// podmin; a second report of the same content by the same user is
// ErrConflict.
func (s *Store) AddReport(ctx context.Context, username, targetType, guid, reason string) error {
	return s.Do(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM reports WHERE username = ? AND target_type = ? AND target_guid = ?`,
			username, targetType, guid).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: you reported this already", ErrConflict)
		}
		_, err := tx.exec(ctx, `INSERT INTO reports (username, target_type, target_guid, reason, created_at) VALUES (?, ?, ?, ?, ?)`,
			username, targetType, guid, reason, now())
		return err
	})
}

// SetPassword replaces a user's password hash and ends every session of
// the user but keep (the token hash of the session that changed it; nil
// ends them all).
func (s *Store) SetPassword(ctx context.Context, username, hash string, keep []byte) error {
	return s.Do(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `UPDATE users SET password_hash = ? WHERE username = ?`, hash, username); err != nil {
			return err
		}
		if keep == nil {
			_, err := tx.exec(ctx, `DELETE FROM sessions WHERE username = ?`, username)
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM sessions WHERE username = ? AND token_hash <> ?`, username, keep)
		return err
	})
}

// ProfileView is a person's profile as a page shows it.
type ProfileView struct {
	ID, GUID, PodURL, FullName, Bio, Location, ImageURL string
	Local, Searchable, NSFW                             bool
}

// Profile loads the profile of a person the pod knows by diaspora* ID or,
// with byGUID, by GUID; ErrNotFound otherwise.
func (s *Store) Profile(ctx context.Context, key string, byGUID bool) (*ProfileView, error) {
	col := "id"
	if byGUID {
		col = "guid"
	}
	var p ProfileView
	err := s.db.queryRow(ctx, `SELECT id, guid, pod_url, full_name, bio, location, image_url, local, searchable, nsfw FROM people WHERE `+col+` = ?`, key).
		Scan(&p.ID, &p.GUID, &p.PodURL, &p.FullName, &p.Bio, &p.Location, &p.ImageURL, &p.Local, &p.Searchable, &p.NSFW)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &p, err
}

// SetProfileDetails sets the parts of a profile besides name and bio.
func SetProfileDetails(ctx context.Context, tx *Tx, id, location, imageURL string, searchable, nsfw bool) error {
	_, err := tx.exec(ctx, `UPDATE people SET location = ?, image_url = ?, searchable = ?, nsfw = ? WHERE id = ?`,
		location, imageURL, searchable, nsfw, id)
	return err
}

// StreamQuery selects the posts of a stream.
type StreamQuery struct {
	// Kind is "stream" (the user's own posts, those of people the user
	// shares with and public ones with a tag the user follows), "public" (every public post the pod has),
	// "activity" (posts the user commented on or liked), "tag" or
	// "author".
	Kind string
	// Tag or Author, for those kinds.
	Tag, Author string
	// Limit caps the posts (20 if 0); Before pages back by creation time.
	Limit  int
	Before time.Time
}

// Posts returns a stream for u (nil: a signed-out reader, who sees public
// posts only), newest first.
func (s *Store) Posts(ctx context.Context, u *User, q StreamQuery) ([]PostView, error) {
	if q.Limit <= 0 {
		q.Limit = 20
	}
	if q.Before.IsZero() {
		q.Before = time.Now().Add(time.Hour)
	}
	vis, args := `p.public = 1`, []any{}
	if u != nil {
		vis, args = visibleTo, []any{u.ID, u.Username, u.Username}
	}
	args = append(args, q.Before.UnixMilli())
	var cond string
	switch q.Kind {
	case "public":
		cond = `AND p.public = 1`
	case "tag":
		cond = `AND p.guid IN (SELECT post_guid FROM post_tags WHERE tag = ?)`
		args = append(args, strings.ToLower(q.Tag))
	case "author":
		cond = `AND p.author = ?`
		args = append(args, q.Author)
	case "activity":
		if u == nil {
			return []PostView{}, nil
		}
		cond = `AND p.guid IN (SELECT post_guid FROM interactions WHERE author = ? AND type IN ('Comment', 'Like'))`
		args = append(args, u.ID)
	default:
		if u == nil {
			return []PostView{}, nil
		}
		cond = `AND (p.author = ? OR p.author IN (SELECT person_id FROM contacts WHERE username = ? AND receiving = 1)
			OR (p.public = 1 AND p.guid IN (SELECT pt.post_guid FROM post_tags pt JOIN followed_tags ft ON ft.tag = pt.tag WHERE ft.username = ?)))`
		args = append(args, u.ID, u.Username, u.Username)
	}
	args = append(args, q.Limit)
	guids, err := strings1(ctx, s.db, `SELECT p.guid FROM posts p WHERE `+vis+` AND p.created_at < ? `+cond+
		` ORDER BY p.created_at DESC, p.rowid DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	out := []PostView{}
	for _, g := range guids {
		v, err := s.PostView(ctx, u, g)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
