package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// The podmin's copies of a pod: pod backup writes a consistent copy of
// the SQLite store while the pod runs; pod migrate-store moves a pod from
// its SQLite file to a PostgreSQL database. (A PostgreSQL store is backed
// up with the database's own pg_dump; see the README.)

// Tables lists every table of the pod's schema in an order that
// satisfies their references, for migrate-store.
var Tables = []string{
	"people", "users", "aspects", "aspect_memberships", "contacts", "notifications", "sessions",
	"posts", "post_tags", "post_mentions", "post_visibility", "post_recipients", "post_pods", "polls",
	"interactions", "conversations", "conversation_participants", "messages", "tombstones",
	"inbox", "inbox_rejected", "outbox_bodies", "outbox", "pods", "post_requests", "invitations", "reports", "audit_log", "settings",
}

// identityTables are the tables whose integer id PostgreSQL generates:
// after rows are copied with their ids, the generator continues after
// the largest.
var identityTables = []string{"aspects", "notifications", "inbox", "inbox_rejected", "outbox_bodies", "outbox", "reports", "audit_log"}

// Backup writes a consistent copy of the SQLite store to file, which must
// not exist, readable by its owner only. It may run while the pod runs.
func (s *Store) Backup(ctx context.Context, file string) error {
	if s.shared {
		return errors.New("the store is PostgreSQL: back it up with pg_dump (see the README)")
	}
	if _, err := os.Stat(file); err == nil {
		return fmt.Errorf("%s exists; a backup never overwrites a file", file)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	// VACUUM INTO reads one snapshot of the database and writes it to a
	// new file: writers of the running pod are not blocked.
	if _, err := s.db.exec(ctx, `VACUUM INTO ?`, file); err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	return os.Chmod(file, 0o600)
}

// CopyTo copies every row of this (SQLite) store into dst, an empty
// PostgreSQL store, in one transaction, and reports the rows copied per
// table.
func (s *Store) CopyTo(ctx context.Context, dst *Store) (map[string]int, error) {
	if s.shared || !dst.shared {
		return nil, errors.New("migrate-store copies a SQLite store into a PostgreSQL one")
	}
	var users int
	if err := dst.db.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&users); err != nil {
		return nil, err
	}
	if users > 0 {
		return nil, errors.New("the PostgreSQL database already holds a pod; migrate-store only fills an empty one")
	}
	copied := map[string]int{}
	err := dst.Do(ctx, func(tx *Tx) error {
		for _, table := range Tables {
			n, err := s.copyTable(ctx, tx, table)
			if err != nil {
				return fmt.Errorf("copying %s: %w", table, err)
			}
			copied[table] = n
		}
		for _, table := range identityTables {
			if _, err := tx.exec(ctx, `SELECT setval(pg_get_serial_sequence('`+table+`', 'id'), COALESCE((SELECT MAX(id) FROM `+table+`), 0) + 1, false)`); err != nil {
				return fmt.Errorf("continuing the ids of %s: %w", table, err)
			}
		}
		return nil
	})
	return copied, err
}

// copyTable copies one table's rows in their SQLite order (PostgreSQL
// numbers the arrival order of posts, interactions and messages anew, in
// that order).
func (s *Store) copyTable(ctx context.Context, tx *Tx, table string) (int, error) {
	rows, err := s.db.query(ctx, `SELECT * FROM `+table+` ORDER BY rowid`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	insert := `INSERT INTO ` + table + ` (` + strings.Join(cols, ", ") + `) VALUES (?` + strings.Repeat(", ?", len(cols)-1) + `)`
	n := 0
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		if _, err := tx.exec(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}
