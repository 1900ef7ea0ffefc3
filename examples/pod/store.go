package main

import (
	"context"
	"crypto/rsa"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/magicenv"

	_ "modernc.org/sqlite" // the embedded SQL store
)

// errNotFound is what store lookups return for a missing row.
var errNotFound = errors.New("not found")

// Store is the pod's SQLite database. Every table lives in one file,
// pod.db in the data directory, opened in WAL mode with full sync so that a
// committed row (an inbox body, an outbox delivery) survives a crash.
//
// Writes are serialized in the process by wmu (SQLite has one writer at a
// time; waiting on a Go mutex hands the lock over at once, where SQLite's
// busy handler sleeps up to 100 ms between tries), and received bodies
// are written by one goroutine in group commits (see inboxWriter).
type Store struct {
	db   *sql.DB
	path string // of pod.db

	wmu   sync.Mutex // held around every write transaction of this process
	inbox *inboxWriter

	blockedMu    sync.Mutex
	blockedAt    time.Time
	blockedHosts map[string]bool // cache of the blocked pods (see blockedCached)

	keysMu   sync.Mutex
	keys     map[string]*rsa.PublicKey  // parsed public keys by PEM (see parsedKey)
	privKeys map[string]*rsa.PrivateKey // parsed private keys by PEM (see privateKey)

	checkpoints      chan struct{} // closed to stop the checkpointer
	checkpointerDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// migrations are applied in order, each in its own transaction; the
// number of applied ones is kept in schema_version. Never edit one that
// has shipped: append a new one.
var migrations = []string{
	// 1: the initial schema.
	`
CREATE TABLE people (
	id            TEXT PRIMARY KEY,          -- diaspora* ID
	guid          TEXT NOT NULL UNIQUE,
	pod_url       TEXT NOT NULL,             -- seed_location, with trailing slash
	public_key    TEXT NOT NULL,             -- PEM
	full_name     TEXT NOT NULL DEFAULT '',
	bio           TEXT NOT NULL DEFAULT '',
	local         INTEGER NOT NULL DEFAULT 0,
	discovered_at INTEGER NOT NULL
);
CREATE TABLE users (
	username      TEXT PRIMARY KEY,
	person_id     TEXT NOT NULL UNIQUE REFERENCES people(id),
	private_key   TEXT NOT NULL,             -- PKCS#1 PEM
	password_hash TEXT NOT NULL,             -- bcrypt
	suspended     INTEGER NOT NULL DEFAULT 0,
	created_at    INTEGER NOT NULL
);
CREATE TABLE aspects (
	id       INTEGER PRIMARY KEY,
	username TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	name     TEXT NOT NULL,
	UNIQUE (username, name)
);
CREATE TABLE contacts (
	username  TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	person_id TEXT NOT NULL,
	aspect_id INTEGER REFERENCES aspects(id) ON DELETE SET NULL,
	following INTEGER NOT NULL DEFAULT 0,    -- the local user follows the person
	follower  INTEGER NOT NULL DEFAULT 0,    -- the person follows the local user
	PRIMARY KEY (username, person_id)
);
CREATE TABLE sessions (
	token_hash BLOB PRIMARY KEY,             -- SHA-256 of the bearer token
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE TABLE posts (
	guid        TEXT PRIMARY KEY,
	type        TEXT NOT NULL,               -- status_message, reshare
	author      TEXT NOT NULL,
	public      INTEGER NOT NULL,
	local       INTEGER NOT NULL,
	text        TEXT NOT NULL DEFAULT '',
	root_guid   TEXT,
	extra       TEXT NOT NULL DEFAULT '{}',  -- JSON: photos, location, poll
	payload     BLOB NOT NULL,               -- entity XML as signed
	created_at  INTEGER NOT NULL,
	received_at INTEGER NOT NULL
);
CREATE INDEX posts_created ON posts (created_at);
CREATE INDEX posts_author ON posts (author);
CREATE TABLE post_tags (
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	tag       TEXT NOT NULL,
	PRIMARY KEY (post_guid, tag)
);
CREATE INDEX post_tags_tag ON post_tags (tag);
CREATE TABLE post_mentions (
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	person_id TEXT NOT NULL,
	PRIMARY KEY (post_guid, person_id)
);
CREATE TABLE post_visibility (               -- local recipients of a limited post
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	username  TEXT NOT NULL,
	PRIMARY KEY (post_guid, username)
);
CREATE TABLE post_recipients (               -- remote recipients of a local limited post: relay targets
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	person_id TEXT NOT NULL,
	PRIMARY KEY (post_guid, person_id)
);
CREATE TABLE post_pods (                     -- pods a local post was sent to: relay targets
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	pod_url   TEXT NOT NULL,
	PRIMARY KEY (post_guid, pod_url)
);
CREATE TABLE interactions (                  -- comments, likes and poll participations
	guid        TEXT PRIMARY KEY,
	type        TEXT NOT NULL,               -- Comment, Like, PollParticipation
	author      TEXT NOT NULL,
	parent_type TEXT NOT NULL,               -- Post, Comment, Poll
	parent_guid TEXT NOT NULL,
	post_guid   TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE,
	text        TEXT NOT NULL DEFAULT '',    -- comment text; answer guid of a poll participation
	positive    INTEGER NOT NULL DEFAULT 1,
	payload     BLOB NOT NULL,               -- entity XML exactly as the author signed it
	created_at  INTEGER NOT NULL
);
CREATE INDEX interactions_post ON interactions (post_guid);
CREATE TABLE conversations (
	guid       TEXT PRIMARY KEY,
	author     TEXT NOT NULL,
	subject    TEXT NOT NULL,
	created_at INTEGER NOT NULL
);
CREATE TABLE conversation_participants (
	conversation_guid TEXT NOT NULL REFERENCES conversations(guid) ON DELETE CASCADE,
	person_id         TEXT NOT NULL,
	PRIMARY KEY (conversation_guid, person_id)
);
CREATE TABLE messages (
	guid              TEXT PRIMARY KEY,
	conversation_guid TEXT NOT NULL REFERENCES conversations(guid) ON DELETE CASCADE,
	author            TEXT NOT NULL,
	text              TEXT NOT NULL,
	created_at        INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_guid, created_at);
CREATE TABLE polls (
	guid      TEXT PRIMARY KEY,
	post_guid TEXT NOT NULL REFERENCES posts(guid) ON DELETE CASCADE
);
CREATE TABLE tombstones (                    -- retracted entities stay retracted
	type       TEXT NOT NULL,
	guid       TEXT NOT NULL,
	author     TEXT NOT NULL,
	deleted_at INTEGER NOT NULL,
	PRIMARY KEY (type, guid)
);
CREATE TABLE inbox (                         -- received bodies, written before the 202
	id             INTEGER PRIMARY KEY,
	route          TEXT NOT NULL,            -- public, private
	recipient_guid TEXT NOT NULL DEFAULT '',
	format         TEXT NOT NULL,
	content_type   TEXT NOT NULL DEFAULT '',
	body           BLOB NOT NULL,
	remote_addr    TEXT NOT NULL DEFAULT '',
	received_at    INTEGER NOT NULL,
	attempts       INTEGER NOT NULL DEFAULT 0,
	next_at        INTEGER NOT NULL,
	lease_until    INTEGER NOT NULL DEFAULT 0,
	state          TEXT NOT NULL DEFAULT 'pending', -- pending, dead (processed rows are deleted)
	error          TEXT NOT NULL DEFAULT ''
);
CREATE INDEX inbox_due ON inbox (state, next_at);
CREATE TABLE outbox_bodies (                 -- one signed body, shared by its deliveries
	id           INTEGER PRIMARY KEY,
	content_type TEXT NOT NULL,
	body         BLOB NOT NULL
);
CREATE TABLE outbox (                        -- one row per (body, receive URL) until delivered or given up
	id          INTEGER PRIMARY KEY,
	body_id     INTEGER NOT NULL REFERENCES outbox_bodies(id),
	entity      TEXT NOT NULL,               -- type:guid, for logs
	url         TEXT NOT NULL,
	host        TEXT NOT NULL,
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	state       TEXT NOT NULL DEFAULT 'pending',
	last_status INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL
);
CREATE INDEX outbox_due ON outbox (state, next_at);
CREATE TABLE pods (                          -- per remote pod: block flag and delivery health
	host         TEXT PRIMARY KEY,
	blocked      INTEGER NOT NULL DEFAULT 0,
	last_success INTEGER NOT NULL DEFAULT 0,
	last_failure INTEGER NOT NULL DEFAULT 0,
	failures     INTEGER NOT NULL DEFAULT 0, -- consecutive
	delivered    INTEGER NOT NULL DEFAULT 0,
	last_error   TEXT NOT NULL DEFAULT ''
);
`,
	// 2: the number of pending inbox rows, kept by triggers, so that the
	// inbound high-water mark is one row read instead of a count.
	`
CREATE TABLE inbox_pending (n INTEGER NOT NULL);
INSERT INTO inbox_pending SELECT COUNT(*) FROM inbox WHERE state = 'pending';
CREATE TRIGGER inbox_pending_insert AFTER INSERT ON inbox WHEN NEW.state = 'pending'
BEGIN UPDATE inbox_pending SET n = n + 1; END;
CREATE TRIGGER inbox_pending_delete AFTER DELETE ON inbox WHEN OLD.state = 'pending'
BEGIN UPDATE inbox_pending SET n = n - 1; END;
CREATE TRIGGER inbox_pending_update AFTER UPDATE OF state ON inbox WHEN OLD.state IS NOT NEW.state
BEGIN UPDATE inbox_pending SET n = n + (NEW.state = 'pending') - (OLD.state = 'pending'); END;
`,
	// 3: diaspora*'s sharing model. A contact has two directions, sharing
	// (the person shares with the user) and receiving (the user shares
	// with the person: the person is in at least one of the user's
	// aspects), and may be in several aspects. Notifications for the
	// user arrive with what they are about.
	`
CREATE TABLE aspect_memberships (
	aspect_id INTEGER NOT NULL REFERENCES aspects(id) ON DELETE CASCADE,
	username  TEXT NOT NULL,
	person_id TEXT NOT NULL,
	PRIMARY KEY (aspect_id, person_id)
);
CREATE INDEX aspect_memberships_contact ON aspect_memberships (username, person_id);
INSERT INTO aspect_memberships (aspect_id, username, person_id)
	SELECT aspect_id, username, person_id FROM contacts WHERE following = 1 AND aspect_id IS NOT NULL;
CREATE TABLE contacts_v3 (
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	person_id  TEXT NOT NULL,
	sharing    INTEGER NOT NULL DEFAULT 0,   -- the person shares with the user
	receiving  INTEGER NOT NULL DEFAULT 0,   -- the user shares with the person (aspect_memberships)
	created_at INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (username, person_id)
);
INSERT INTO contacts_v3 (username, person_id, sharing, receiving)
	SELECT username, person_id, follower, following FROM contacts WHERE follower = 1 OR following = 1;
DROP TABLE contacts;
ALTER TABLE contacts_v3 RENAME TO contacts;
CREATE INDEX contacts_person ON contacts (person_id);
CREATE TABLE notifications (
	id          INTEGER PRIMARY KEY,
	username    TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	type        TEXT NOT NULL,               -- started_sharing, comment_on_post, liked, reshared, mentioned
	actor       TEXT NOT NULL,               -- diaspora* ID of who did it
	target_guid TEXT NOT NULL DEFAULT '',    -- the post it is about
	unread      INTEGER NOT NULL DEFAULT 1,
	created_at  INTEGER NOT NULL
);
CREATE INDEX notifications_user ON notifications (username, id);
`,
	// 4: no refused body is kept, only its hash and a short prefix for the
	// podmin (under a cap, see maxRejectedKept); one like per person and
	// post, one vote per person and poll; post creation retried with the
	// same Idempotency-Key gives the same post.
	`
CREATE TABLE inbox_rejected (
	id          INTEGER PRIMARY KEY,
	route       TEXT NOT NULL,
	remote_addr TEXT NOT NULL DEFAULT '',
	size        INTEGER NOT NULL,
	sha256      TEXT NOT NULL,               -- hex; '' for rows from before migration 4
	prefix      TEXT NOT NULL,               -- the first bytes, hex
	category    TEXT NOT NULL,
	received_at INTEGER NOT NULL,
	rejected_at INTEGER NOT NULL
);
INSERT INTO inbox_rejected (route, remote_addr, size, sha256, prefix, category, received_at, rejected_at)
	SELECT route, remote_addr, length(body), '', hex(substr(body, 1, 64)), error, received_at, received_at FROM inbox WHERE state = 'dead';
DELETE FROM inbox WHERE state = 'dead';
DELETE FROM interactions WHERE type IN ('Like', 'PollParticipation') AND rowid NOT IN
	(SELECT MIN(rowid) FROM interactions WHERE type IN ('Like', 'PollParticipation') GROUP BY type, author, parent_guid);
CREATE UNIQUE INDEX interactions_one_per_person ON interactions (type, author, parent_guid) WHERE type IN ('Like', 'PollParticipation');
CREATE INDEX interactions_parent ON interactions (parent_guid, type);
CREATE TABLE post_requests (
	username   TEXT NOT NULL,
	key        TEXT NOT NULL,                -- the client's Idempotency-Key
	post_guid  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (username, key)
);
`,
}

// OpenStore opens (creating if needed) the database in dir and applies the
// pending migrations.
func OpenStore(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// The directory holds private keys: a group- or world-readable one
	// (made by hand, or under a permissive umask) is closed to its owner.
	if fi, err := os.Stat(dir); err != nil {
		return nil, err
	} else if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return nil, fmt.Errorf("the data directory %s is readable by others and cannot be closed: %w", dir, err)
		}
	}
	path := filepath.Join(dir, "pod.db")
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(0)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(4)
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("migrating %s: %w", path, err)
	}
	// The database, its WAL and shared memory hold private keys: keep
	// them to their owner.
	for _, f := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(f, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			db.Close()
			return nil, err
		}
	}
	s.path = path
	s.inbox = startInboxWriter(s)
	s.checkpoints = make(chan struct{})
	s.checkpointerDone = make(chan struct{})
	go s.checkpointer()
	return s, nil
}

// checkpointInterval is how often the WAL is copied into the database
// file. Connections do not checkpoint when they commit
// (wal_autocheckpoint(0)): the commit that crossed the threshold would
// pay for it, and that may be the group commit that receive requests wait
// for.
const checkpointInterval = 250 * time.Millisecond

// walTruncateAt is the WAL size above which the checkpointer truncates
// the WAL file: a passive checkpoint copies pages back but leaves the
// file as large as it grew.
const walTruncateAt = 16 << 20

// checkpointer runs passive checkpoints (they neither wait for nor block
// writers) until the store closes, and truncates the WAL once it has
// grown past walTruncateAt (holding the write lock, so that no commit of
// this process waits on it).
func (s *Store) checkpointer() {
	defer close(s.checkpointerDone)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-s.checkpoints:
			return
		case <-t.C:
			_, _ = s.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
			if fi, err := os.Stat(s.path + "-wal"); err == nil && fi.Size() > walTruncateAt {
				s.wmu.Lock()
				_, _ = s.db.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
				s.wmu.Unlock()
			}
		}
	}
}

// Close stops the inbox writer (bodies waiting for it get an error) and
// closes the database. Closing twice is harmless.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.inbox != nil {
			s.inbox.stop()
		}
		if s.checkpoints != nil {
			close(s.checkpoints)
			<-s.checkpointerDone
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	for {
		done, err := s.tx(ctx, func(tx *sql.Tx) (bool, error) {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil {
				return false, err
			}
			if n == 0 {
				if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
					return false, err
				}
			}
			var v int
			if err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
				return false, err
			}
			if v >= len(migrations) {
				return true, nil
			}
			if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
				return false, fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, v+1)
			return false, err
		})
		if err != nil || done {
			return err
		}
	}
}

// tx runs fn in a transaction, committing when it returns no error.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) (bool, error)) (bool, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	v, err := fn(tx)
	if err != nil {
		tx.Rollback()
		return v, err
	}
	return v, tx.Commit()
}

// do runs fn in a transaction.
func (s *Store) do(ctx context.Context, fn func(*sql.Tx) error) error {
	_, err := s.tx(ctx, func(tx *sql.Tx) (bool, error) { return false, fn(tx) })
	return err
}

func now() int64 { return time.Now().UnixMilli() }

// User is a local account.
type User struct {
	Username  string
	ID        string // diaspora* ID
	GUID      string
	FullName  string
	Key       *rsa.PrivateKey
	Suspended bool
}

// DefaultAspects are created with every user.
var DefaultAspects = []string{"Family", "Friends", "Work", "Acquaintances"}

// CreateUser stores a new local person with its key, password hash and
// the default aspects.
func (s *Store) CreateUser(ctx context.Context, username, id, guid, podURL string, key *rsa.PrivateKey, passwordHash string) error {
	privPEM, err := magicenv.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	pubPEM, err := magicenv.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return s.do(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE username = ?`, username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q already exists", username)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO people (id, guid, pod_url, public_key, full_name, local, discovered_at) VALUES (?, ?, ?, ?, ?, 1, ?)`,
			id, guid, podURL, string(pubPEM), username, now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (username, person_id, private_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			username, id, string(privPEM), passwordHash, now()); err != nil {
			return err
		}
		for _, a := range DefaultAspects {
			if _, err := tx.ExecContext(ctx, `INSERT INTO aspects (username, name) VALUES (?, ?)`, username, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// userWhere loads one user by a condition on users (u) or people (p).
func (s *Store) userWhere(ctx context.Context, q queryer, cond string, arg any) (*User, error) {
	var u User
	var keyPEM string
	err := q.QueryRowContext(ctx, `SELECT u.username, p.id, p.guid, p.full_name, u.private_key, u.suspended
		FROM users u JOIN people p ON p.id = u.person_id WHERE `+cond, arg).
		Scan(&u.Username, &u.ID, &u.GUID, &u.FullName, &keyPEM, &u.Suspended)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	if keyPEM == "" { // a deleted account keeps no key
		return &u, nil
	}
	u.Key, err = s.privateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	return &u, nil
}

// privateKey parses a PEM private key of the users table, keeping the
// result (parsing a 4096-bit key costs more than many requests do).
func (s *Store) privateKey(pem string) (*rsa.PrivateKey, error) {
	s.keysMu.Lock()
	k, ok := s.privKeys[pem]
	s.keysMu.Unlock()
	if ok {
		return k, nil
	}
	k, err := magicenv.Options{MinKeyBits: 1024}.ParsePrivateKey([]byte(pem))
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if s.privKeys == nil || len(s.privKeys) >= maxParsedKeys {
		s.privKeys = map[string]*rsa.PrivateKey{}
	}
	s.privKeys[pem] = k
	s.keysMu.Unlock()
	return k, nil
}

type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// UserByName, UserByID and UserByGUID load a local user.
func (s *Store) UserByName(ctx context.Context, name string) (*User, error) {
	return s.userWhere(ctx, s.db, `u.username = ?`, name)
}

func (s *Store) UserByID(ctx context.Context, id string) (*User, error) {
	return s.userWhere(ctx, s.db, `p.id = ?`, id)
}

func (s *Store) UserByGUID(ctx context.Context, guid string) (*User, error) {
	return s.userWhere(ctx, s.db, `p.guid = ?`, guid)
}

// PasswordHash returns a user's password hash.
func (s *Store) PasswordHash(ctx context.Context, username string) (string, error) {
	var h string
	err := s.db.QueryRowContext(ctx, `SELECT password_hash FROM users WHERE username = ? AND suspended = 0`, username).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errNotFound
	}
	return h, err
}

// SetSuspended suspends or reinstates a local account; suspending also
// ends its sessions.
func (s *Store) SetSuspended(ctx context.Context, username string, suspended bool) error {
	return s.do(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE users SET suspended = ? WHERE username = ?`, suspended, username)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errNotFound
		}
		if suspended {
			_, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE username = ?`, username)
		}
		return err
	})
}

// CreateSession stores the hash of a new bearer token.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, username string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
		tokenHash, username, now(), expires.UnixMilli())
	return err
}

// SessionUser returns the user of a live, unexpired session.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte) (*User, error) {
	var name string
	err := s.db.QueryRowContext(ctx, `SELECT s.username FROM sessions s JOIN users u ON u.username = s.username
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.suspended = 0`, tokenHash, now()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	return s.UserByName(ctx, name)
}

// PurgeExpired deletes expired sessions and post-request keys older than
// a day (their retry window).
func (s *Store) PurgeExpired(ctx context.Context) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now()); err != nil {
		return err
	}
	_, err := s.exec(ctx, `DELETE FROM post_requests WHERE created_at < ?`, now()-idempotencyWindow.Milliseconds())
	return err
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// Person is a row of people.
type Person struct {
	ID, GUID, PodURL, PublicKeyPEM, FullName string
	Local                                    bool
}

func (s *Store) person(ctx context.Context, q queryer, id string) (*Person, error) {
	var p Person
	err := q.QueryRowContext(ctx, `SELECT id, guid, pod_url, public_key, full_name, local FROM people WHERE id = ?`, id).
		Scan(&p.ID, &p.GUID, &p.PodURL, &p.PublicKeyPEM, &p.FullName, &p.Local)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return &p, err
}

// --- discovery.Cache over the people table (trust on first use) ---

// personCache implements discovery.Cache with the people table.
type personCache struct{ s *Store }

func (c personCache) Get(ctx context.Context, id string) (*discovery.Person, error) {
	p, err := c.s.person(ctx, c.s.db, id)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: %s", discovery.ErrCacheMiss, id)
	}
	if err != nil {
		return nil, err
	}
	pub, err := c.s.parsedKey(p.PublicKeyPEM)
	if err != nil {
		return nil, err
	}
	return &discovery.Person{ID: p.ID, GUID: p.GUID, PublicKey: pub, PublicKeyPEM: p.PublicKeyPEM,
		FullName: p.FullName, PodURL: p.PodURL,
		ReceiveURL: p.PodURL + "receive/users/" + p.GUID, PublicReceiveURL: p.PodURL + "receive/public"}, nil
}

// maxParsedKeys bounds the parsed public keys kept by parsedKey.
const maxParsedKeys = 4096

// parsedKey parses a PEM public key of the people table, keeping the
// result: the worker needs the key of every body's author, and parsing
// costs more than the signature check.
func (s *Store) parsedKey(pem string) (*rsa.PublicKey, error) {
	s.keysMu.Lock()
	k, ok := s.keys[pem]
	s.keysMu.Unlock()
	if ok {
		return k, nil
	}
	k, err := discovery.ParsePublicKey([]byte(pem))
	if err != nil {
		return nil, err
	}
	s.keysMu.Lock()
	if s.keys == nil || len(s.keys) >= maxParsedKeys {
		s.keys = map[string]*rsa.PublicKey{}
	}
	s.keys[pem] = k
	s.keysMu.Unlock()
	return k, nil
}

func (c personCache) Put(ctx context.Context, p *discovery.Person) error {
	return c.s.do(ctx, func(tx *sql.Tx) error {
		old, err := c.s.person(ctx, tx, p.ID)
		if err == nil {
			oldKey, perr := discovery.ParsePublicKey([]byte(old.PublicKeyPEM))
			if perr != nil || p.PublicKey == nil || !oldKey.Equal(p.PublicKey) {
				return fmt.Errorf("%w: %s", discovery.ErrKeyConflict, p.ID)
			}
			_, err = tx.ExecContext(ctx, `UPDATE people SET pod_url = ?, full_name = ? WHERE id = ? AND local = 0`,
				normPod(p.PodURL), p.FullName, p.ID)
			return err
		}
		if !errors.Is(err, errNotFound) {
			return err
		}
		// A GUID is one person's: another ID claiming it is refused (the
		// resolver then re-discovers the holder, see discovery.Resolver).
		var holder string
		if err := tx.QueryRowContext(ctx, `SELECT id FROM people WHERE guid = ?`, p.GUID).Scan(&holder); err == nil {
			return &discovery.GUIDConflictError{GUID: p.GUID, ID: p.ID, Holder: holder}
		} else if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		key := p.PublicKeyPEM
		if key == "" && p.PublicKey != nil {
			k, err := magicenv.MarshalPublicKey(p.PublicKey)
			if err != nil {
				return err
			}
			key = string(k)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO people (id, guid, pod_url, public_key, full_name, local, discovered_at) VALUES (?, ?, ?, ?, ?, 0, ?)`,
			p.ID, p.GUID, normPod(p.PodURL), key, p.FullName, now())
		return err
	})
}

func (c personCache) Delete(ctx context.Context, id string) error {
	_, err := c.s.db.ExecContext(ctx, `DELETE FROM people WHERE id = ? AND local = 0`, id)
	return err
}

// normPod gives a pod URL its trailing slash.
func normPod(u string) string {
	if u != "" && u[len(u)-1] != '/' {
		return u + "/"
	}
	return u
}

// --- admin ---

// PodHealth is the delivery health of one remote pod.
type PodHealth struct {
	Host        string `json:"host"`
	Blocked     bool   `json:"blocked"`
	QueueDepth  int    `json:"queue_depth"`
	Delivered   int    `json:"delivered"`
	Failures    int    `json:"consecutive_failures"`
	LastSuccess string `json:"last_success,omitempty"`
	LastFailure string `json:"last_failure,omitempty"`
	LastError   string `json:"last_error,omitempty"`
}

// SetBlocked blocks or unblocks a pod by host (host[:port]).
func (s *Store) SetBlocked(ctx context.Context, host string, blocked bool) error {
	_, err := s.exec(ctx, `INSERT INTO pods (host, blocked) VALUES (?, ?)
		ON CONFLICT (host) DO UPDATE SET blocked = excluded.blocked`, host, blocked)
	s.blockedMu.Lock()
	s.blockedHosts = nil // read again on next use
	s.blockedMu.Unlock()
	return err
}

// blockedCacheTTL is how long blockedCached trusts its copy of the blocked
// pods: a block set by another process (pod admin block) reaches the
// receive route's early refusal within it (the worker checks afresh).
const blockedCacheTTL = time.Second

// blockedCached is Blocked from an in-memory copy of the blocked pods,
// read again after blockedCacheTTL or a SetBlocked of this process: the
// receive route asks it for every public body.
func (s *Store) blockedCached(ctx context.Context, host string) (bool, error) {
	s.blockedMu.Lock()
	defer s.blockedMu.Unlock()
	if s.blockedHosts == nil || time.Since(s.blockedAt) > blockedCacheTTL {
		hosts, err := strings1(ctx, s.db, `SELECT host FROM pods WHERE blocked = 1`)
		if err != nil {
			return false, err
		}
		s.blockedHosts = make(map[string]bool, len(hosts))
		for _, h := range hosts {
			s.blockedHosts[h] = true
		}
		s.blockedAt = time.Now()
	}
	return s.blockedHosts[host], nil
}

// exec runs one write statement outside a transaction, serialized with
// the other writes of this process.
func (s *Store) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.db.ExecContext(ctx, query, args...)
}

// Blocked reports whether a host is blocked. It answers from a copy of
// the blocked pods at most blockedCacheTTL old (a SetBlocked of this
// process takes effect at once).
func (s *Store) Blocked(ctx context.Context, host string) (bool, error) {
	return s.blockedCached(ctx, host)
}

// Health lists every pod known to the outbox or the pods table.
func (s *Store) Health(ctx context.Context) ([]PodHealth, error) {
	rows, err := s.db.QueryContext(ctx, `
		WITH hosts AS (SELECT host FROM pods UNION SELECT host FROM outbox)
		SELECT h.host, COALESCE(p.blocked, 0), COALESCE(p.delivered, 0), COALESCE(p.failures, 0),
			COALESCE(p.last_success, 0), COALESCE(p.last_failure, 0), COALESCE(p.last_error, ''),
			(SELECT COUNT(*) FROM outbox o WHERE o.host = h.host AND o.state = 'pending')
		FROM hosts h LEFT JOIN pods p ON p.host = h.host ORDER BY h.host`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PodHealth{}
	for rows.Next() {
		var h PodHealth
		var ls, lf int64
		if err := rows.Scan(&h.Host, &h.Blocked, &h.Delivered, &h.Failures, &ls, &lf, &h.LastError, &h.QueueDepth); err != nil {
			return nil, err
		}
		h.LastSuccess, h.LastFailure = fmtMilli(ls), fmtMilli(lf)
		out = append(out, h)
	}
	return out, rows.Err()
}

func fmtMilli(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}
