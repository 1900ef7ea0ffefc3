// Package store is the reference pod's database: every query the pod
// runs is a function or method of this package, one file per concern
// (users and people, posts, contacts and aspects, notifications,
// conversations, the inbox and the outbox, backups).
//
// Two backends implement it, each with its own schema as an ordered list
// of migrations: the embedded SQLite file (sqlite.go, the default) and
// PostgreSQL (postgres.go) for pods that grow, where several processes
// share the queues through FOR UPDATE SKIP LOCKED and LISTEN/NOTIFY.
// Queries are written once with ? placeholders; db.go rebinds them for
// the backend.
package store
