package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // the embedded SQL store
)

// The embedded backend: one SQLite file, pod.db in the data directory,
// in WAL mode with full sync, so that a committed row (an inbox body, an
// outbox delivery) survives a crash.

// sqliteMigrations are applied in order, each in its own transaction; the
// number of applied ones is kept in schema_version. Never edit one that
// has shipped: append a new one.
var sqliteMigrations = []string{
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
	// 5: who holds a lease (the same queue claims as PostgreSQL's, where
	// several processes share the queues; here the owner is always 0).
	`
ALTER TABLE inbox ADD COLUMN lease_owner INTEGER NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN lease_owner INTEGER NOT NULL DEFAULT 0;
`,
	// 6: the web interface: invitation codes, reports of content for the
	// podmin, and the rest of a profile.
	`
CREATE TABLE invitations (
	code       TEXT PRIMARY KEY,
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	created_at INTEGER NOT NULL,
	used_by    TEXT NOT NULL DEFAULT '',     -- the username it made
	used_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX invitations_user ON invitations (username);
CREATE TABLE reports (
	id          INTEGER PRIMARY KEY,
	username    TEXT NOT NULL,               -- who reported
	target_type TEXT NOT NULL,               -- Post or Comment
	target_guid TEXT NOT NULL,
	reason      TEXT NOT NULL,
	state       TEXT NOT NULL DEFAULT 'open',
	created_at  INTEGER NOT NULL,
	UNIQUE (username, target_type, target_guid)
);
ALTER TABLE people ADD COLUMN location TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN image_url TEXT NOT NULL DEFAULT '';
ALTER TABLE people ADD COLUMN searchable INTEGER NOT NULL DEFAULT 1;
ALTER TABLE people ADD COLUMN nsfw INTEGER NOT NULL DEFAULT 0;
`,
	// 7: the podmin's dashboard: admins, the audit log of their actions,
	// settings changed in the browser, and when a person last signed in.
	`
ALTER TABLE users ADD COLUMN admin INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
CREATE TABLE audit_log (
	id         INTEGER PRIMARY KEY,
	actor      TEXT NOT NULL,                -- the admin's username ("" for the shell)
	action     TEXT NOT NULL,
	target     TEXT NOT NULL DEFAULT '',
	detail     TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL
);
CREATE TABLE settings (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
`,
	// 8: what each known pod runs, from its NodeInfo, and when that was
	// last asked.
	`
ALTER TABLE pods ADD COLUMN software TEXT NOT NULL DEFAULT '';
ALTER TABLE pods ADD COLUMN version TEXT NOT NULL DEFAULT '';
ALTER TABLE pods ADD COLUMN nodeinfo_at INTEGER NOT NULL DEFAULT 0;
`,
	// 9: pictures people upload (photos of posts, avatars), served at
	// /uploads/images/NAME; in the database so that every process of a
	// pod serves them.
	`
CREATE TABLE uploads (
	name         TEXT PRIMARY KEY,           -- random; the file name in the URL
	username     TEXT NOT NULL,
	content_type TEXT NOT NULL,
	width        INTEGER NOT NULL,
	height       INTEGER NOT NULL,
	size         INTEGER NOT NULL,           -- bytes of data
	data         BLOB NOT NULL,
	created_at   INTEGER NOT NULL
);
CREATE INDEX uploads_user ON uploads (username, created_at);
`,
	// 10: people a user ignores (diaspora*'s blocks): their posts,
	// comments, likes and notifications are hidden from the user.
	`
CREATE TABLE ignored_people (
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	person_id  TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (username, person_id)
);
`,
	// 11: the #tags a user follows: public posts with them join the
	// user's stream.
	`
CREATE TABLE followed_tags (
	username   TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
	tag        TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	PRIMARY KEY (username, tag)
);
`,
}

// openSQLite opens (creating if needed) pod.db in dir and applies the
// pending migrations.
func openSQLite(ctx context.Context, dir string) (*Store, error) {
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
	s := &Store{db: &DB{raw: db, d: &dialect{name: "sqlite"}}, migrations: sqliteMigrations}
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
