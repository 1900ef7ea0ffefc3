package main

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// The pod's queries are written once, in the SQL that SQLite and
// PostgreSQL share, with ? placeholders. sqlDB and sqlTx hand them to
// database/sql through the backend's dialect (store_sqlite.go,
// store_postgres.go), which numbers the placeholders where the backend
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

// sqlDB is the pod's database handle.
type sqlDB struct {
	raw *sql.DB
	d   *dialect
}

func (db *sqlDB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.raw.QueryRowContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *sqlDB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.raw.QueryContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *sqlDB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.raw.ExecContext(ctx, db.d.rebind(q), db.d.args(args)...)
}

func (db *sqlDB) QueryRow(q string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), q, args...)
}

func (db *sqlDB) Query(q string, args ...any) (*sql.Rows, error) {
	return db.QueryContext(context.Background(), q, args...)
}

func (db *sqlDB) Exec(q string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), q, args...)
}

// BeginTx starts a transaction.
func (db *sqlDB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*sqlTx, error) {
	tx, err := db.raw.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &sqlTx{raw: tx, d: db.d}, nil
}

// Close closes the handle.
func (db *sqlDB) Close() error { return db.raw.Close() }

// sqlTx is a transaction of sqlDB.
type sqlTx struct {
	raw *sql.Tx
	d   *dialect
}

func (tx *sqlTx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.raw.QueryRowContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

func (tx *sqlTx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.raw.QueryContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

func (tx *sqlTx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.raw.ExecContext(ctx, tx.d.rebind(q), tx.d.args(args)...)
}

// PrepareContext prepares a statement; its arguments are not converted,
// so pass no booleans to it.
func (tx *sqlTx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return tx.raw.PrepareContext(ctx, tx.d.rebind(q))
}

// Notify wakes, when the transaction commits, the processes that listen
// on channel (PostgreSQL's NOTIFY; SQLite has one process, woken in
// memory).
func (tx *sqlTx) Notify(ctx context.Context, channel string) error {
	if tx.d.name != "postgres" {
		return nil
	}
	_, err := tx.raw.ExecContext(ctx, `SELECT pg_notify($1, '')`, channel)
	return err
}

func (tx *sqlTx) Commit() error   { return tx.raw.Commit() }
func (tx *sqlTx) Rollback() error { return tx.raw.Rollback() }
