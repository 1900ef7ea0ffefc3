package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Upload is a picture a local person uploaded: a photo of a post or an
// avatar, served at /uploads/images/Name.
type Upload struct {
	Name          string // random, the file name in its URL
	Username      string // who uploaded it
	ContentType   string // image/jpeg, image/png or image/gif
	Width, Height int
	Data          []byte
	CreatedAt     time.Time
}

// UploadLimits are what AddUpload holds a person to: at most Max
// pictures since Since (a day's allowance), and at most Quota bytes of
// pictures in all.
type UploadLimits struct {
	Since time.Time
	Max   int
	Quota int64
}

// AddUpload stores u within its owner's limits (ErrInvalid past them).
func (s *Store) AddUpload(ctx context.Context, u Upload, l UploadLimits) error {
	return s.Do(ctx, func(tx *Tx) error {
		var n int
		var total int64
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM uploads WHERE username = ? AND created_at >= ?`,
			u.Username, l.Since.UnixMilli()).Scan(&n); err != nil {
			return err
		}
		if n >= l.Max {
			return fmt.Errorf("%w: you have uploaded as many pictures as a day allows (%d); try again tomorrow", ErrInvalid, l.Max)
		}
		if err := tx.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM uploads WHERE username = ?`, u.Username).Scan(&total); err != nil {
			return err
		}
		if total+int64(len(u.Data)) > l.Quota {
			return fmt.Errorf("%w: your pictures would take more than the %d MiB this pod keeps for one person; delete posts with pictures first", ErrInvalid, l.Quota>>20)
		}
		_, err := tx.exec(ctx, `INSERT INTO uploads (name, username, content_type, width, height, size, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			u.Name, u.Username, u.ContentType, u.Width, u.Height, len(u.Data), u.Data, u.CreatedAt.UnixMilli())
		return err
	})
}

// GetUpload returns the upload called name (ErrNotFound when there is
// none).
func (s *Store) GetUpload(ctx context.Context, name string) (*Upload, error) {
	var u Upload
	var created int64
	err := s.db.queryRow(ctx, `SELECT name, username, content_type, width, height, data, created_at FROM uploads WHERE name = ?`, name).
		Scan(&u.Name, &u.Username, &u.ContentType, &u.Width, &u.Height, &u.Data, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	u.CreatedAt = time.UnixMilli(created)
	return &u, nil
}

// DeleteUploads deletes the uploads of username with the given names (a
// deleted post's photos); others' are left alone.
func DeleteUploads(ctx context.Context, tx *Tx, username string, names []string) error {
	for _, n := range names {
		if _, err := tx.exec(ctx, `DELETE FROM uploads WHERE name = ? AND username = ?`, n, username); err != nil {
			return err
		}
	}
	return nil
}
