package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// The pod's queries are written once, in the SQL that SQLite and
// PostgreSQL share, with ? placeholders. DB and Tx hand them to
// database/sql through the backend's dialect (sqlite.go,
// postgres.go), which numbers the placeholders where the backend
// wants $1, $2, ... and passes booleans as the integers the schema keeps
// flags in. What the backends do differently (schema, claiming queue rows,
// checkpoints) lives in their own files.

// dialect is what a backend changes in every statement.
type dialect struct {
	name       string // "sqlite" or "postgres"
	numbered   bool   // $n placeholders instead of ?
	skipLocked bool   // queue claims lock the rows they take and skip locked ones

	cache sync.Map // query -> rebound query
}

// rebind numbers the ? placeholders of q outside string literals.
func (d *dialect) rebind(q string) string {
	if !d.numbered {
		return q
	}
	if r, ok := d.cache.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	r := b.String()
	d.cache.Store(q, r)
	return r
}

// lockRows is what ends the row selection of a queue claim: rows locked
// by another process's claim are skipped (PostgreSQL); SQLite has one
// writer at a time and needs nothing.
func (d *dialect) lockRows(alias string) string {
	if !d.skipLocked {
		return ""
	}
	return " FOR UPDATE OF " + alias + " SKIP LOCKED"
}

// args converts booleans to 0 or 1: flags are INTEGER columns in both
// schemas.
func (d *dialect) args(args []any) []any {
	for i, a := range args {
		if b, ok := a.(bool); ok {
			if b {
				args[i] = int64(1)
			} else {
				args[i] = int64(0)
			}
		}
	}
	return args
}

// DB is the pod's database handle.
type DB struct {
	raw *sql.DB
	d   *dialect
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return db.raw.QueryRowContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.raw.QueryContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.raw.ExecContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *DB) QueryRow(q string, args ...any) *sql.Row {
	return db.queryRow(context.Background(), q, args...)
}

func (db *DB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.query(context.Background(), q, args...)
}

func (db *DB) Exec(q string, args ...any) (sql.Result, error) {
	return db.exec(context.Background(), q, args...)
}

// BeginTx starts a transaction.
func (db *DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.raw.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{raw: tx, d: db.d}, nil
}

// Close closes the handle.
func (db *DB) Close() error { return db.raw.Close() }

// Tx is a transaction of DB.
type Tx struct {
	raw *sql.Tx
	d   *dialect
}

func (tx *Tx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.raw.QueryRowContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

func (tx *Tx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.raw.QueryContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

func (tx *Tx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.raw.ExecContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

// PrepareContext prepares a statement; its arguments are not converted,
// so pass no booleans to it.
func (tx *Tx) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	return tx.raw.PrepareContext(ctx, tx.d.rebind(q))
}

// Notify wakes, when the transaction commits, the processes that listen
// on channel (PostgreSQL's NOTIFY; SQLite has one process, woken in
// memory).
func (tx *Tx) Notify(ctx context.Context, channel string) error {
	if tx.d.name != "postgres" {
		return nil
	}
	_, err := tx.raw.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel)
	return err
}

func (tx *Tx) Commit() error   { return tx.raw.Commit() }
func (tx *Tx) Rollback() error { return tx.raw.Rollback() }
