package main

import (
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// openExistingStore opens the store of an existing pod: a data directory
// without a database is an error, not a new empty pod. A PostgreSQL
// database (--db) is the podmin's; the pod migrates its schema there.
func openExistingStore(ctx context.Context, o options) (*store.Store, error) {
	if o.db != "" {
		return store.Open(ctx, o.db, "")
	}
	dir := o.data
	path := filepath.Join(dir, "pod.db")
	if _, err := os.Stat(path); errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("no pod database in %s: pass the --data directory of your pod, or create a user first (pod user add NAME)", dir)
	} else if err != nil {
		return nil, err
	}
	return store.Open(ctx, "", dir)
}

func withStore(ctx context.Context, o options, fn func(*store.Store) error) error {
	s, err := openExistingStore(ctx, o)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(s)
}

// backupStore writes a copy of the SQLite store (pod backup FILE).
func backupStore(ctx context.Context, e *cmdEnv, a []string) error {
	return withStore(ctx, e.o, func(s *store.Store) error {
		if err := s.Backup(ctx, a[0]); err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, "backup written to", a[0])
		return nil
	})
}

// migrateStoreTo copies a SQLite pod into PostgreSQL (pod migrate-store).
func migrateStoreTo(ctx context.Context, e *cmdEnv, _ []string) error {
	if e.o.from == "" || !store.IsPostgresURL(e.o.to) {
		return errors.New("usage: pod migrate-store --from DATA_DIR --to postgres://URL")
	}
	src, err := openExistingStore(ctx, options{data: e.o.from})
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := store.Open(ctx, e.o.to, "")
	if err != nil {
		return err
	}
	defer dst.Close()
	copied, err := src.CopyTo(ctx, dst)
	if err != nil {
		return err
	}
	for _, t := range store.Tables {
		fmt.Fprintf(e.stdout, "%-26s %d\n", t, copied[t])
	}
	fmt.Fprintln(e.stdout, "the pod is in the PostgreSQL database: serve it with --db and the same --url")
	return nil
}

// migrateStore opens the store, which applies the pending migrations.
func migrateStore(ctx context.Context, e *cmdEnv, _ []string) error {
	s, err := store.Open(ctx, e.o.db, e.o.data)
	if err != nil {
		return err
	}
	defer s.Close()
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "schema version %d (%s)\n", v, s.Backend())
	return nil
}
