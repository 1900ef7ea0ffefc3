package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Rows counts the rows of one of the pod's tables.
func (s *Store) Rows(ctx context.Context, table string) (int, error) {
	if !slices.Contains(Tables, table) {
		return 0, fmt.Errorf("no table %q", table)
	}
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n)
	return n, err
}

// PostCounts counts, per guid, the post rows of the given authors and
// their rows of one tag (the load generator's exactly-once check).
func (s *Store) PostCounts(ctx context.Context, authors []string, tag string) (posts, tagged map[string]int, err error) {
	posts, tagged = map[string]int{}, map[string]int{}
	for chunk := range slices.Chunk(authors, 100) {
		args := make([]any, len(chunk))
		for i, a := range chunk {
			args[i] = a
		}
		in := strings.TrimSuffix(strings.Repeat("?,", len(chunk)), ",")
		if err := s.scanCounts(ctx, posts, `SELECT guid, COUNT(*) FROM posts WHERE author IN (`+in+`) GROUP BY guid`, args...); err != nil {
			return nil, nil, err
		}
		if err := s.scanCounts(ctx, tagged, `SELECT t.post_guid, COUNT(*) FROM post_tags t JOIN posts p ON p.guid = t.post_guid
			WHERE t.tag = ? AND p.author IN (`+in+`) GROUP BY t.post_guid`, append([]any{tag}, args...)...); err != nil {
			return nil, nil, err
		}
	}
	return posts, tagged, nil
}

// scanCounts adds the (key, count) rows of a query to m.
func (s *Store) scanCounts(ctx context.Context, m map[string]int, query string, args ...any) error {
	rows, err := s.db.query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return err
		}
		m[k] += n
	}
	return rows.Err()
}

// AddFollowers stores remote people who share with a local user, as
// their accepted Contact entities would have (for load tests).
func (s *Store) AddFollowers(ctx context.Context, username string, people []Person) error {
	return s.Do(ctx, func(tx *Tx) error {
		for _, p := range people {
			if _, err := tx.exec(ctx, `INSERT INTO people (id, guid, pod_url, public_key, full_name, local, discovered_at)
				VALUES (?, ?, ?, ?, ?, 0, ?)`, p.ID, p.GUID, p.PodURL, p.PublicKeyPEM, p.FullName, now()); err != nil {
				return err
			}
			if _, err := tx.exec(ctx, `INSERT INTO contacts (username, person_id, sharing) VALUES (?, ?, 1)`, username, p.ID); err != nil {
				return err
			}
		}
		return nil
	})
}
