package store

import (
	"context"
	"database/sql"
	"errors"
)

// More of what the web interface reads: a person's like of a post (to
// take it back).

// LikeOf returns the GUID of author's like of a post, or ErrNotFound
// when there is none.
func LikeOf(ctx context.Context, q Q, author, postGUID string) (string, error) {
	var guid string
	err := q.queryRow(ctx, `SELECT guid FROM interactions WHERE type = 'Like' AND author = ? AND parent_type = 'Post' AND parent_guid = ?`,
		author, postGUID).Scan(&guid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return guid, err
}
