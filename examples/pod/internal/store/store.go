package store

import (
	"context"
	"crypto/rsa"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/magicenv"
)

// The store's errors. ErrInvalid and ErrConflict wrap a message meant
// for the person who made the request.
var (
	// ErrNotFound is what lookups return for a missing row.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request breaks a rule of the data (an unknown
	// aspect name, too many of something).
	ErrInvalid = errors.New("invalid request")
	// ErrConflict: the request clashes with what exists (a second like,
	// an aspect name in use).
	ErrConflict = errors.New("conflict")
	// ErrWrongAuthor: a known guid arrived again with another author.
	ErrWrongAuthor = errors.New("guid already used by another author")
	// ErrSecondVote: a person's second like of a post or vote in a poll
	// (under another GUID). Nothing is stored.
	ErrSecondVote = errors.New("one like per post and one vote per poll")
	// ErrUnknownConversation: a message for a conversation not (yet) here.
	ErrUnknownConversation = errors.New("unknown conversation")
	// ErrNotParticipant: a message by someone who is no participant of
	// its conversation.
	ErrNotParticipant = errors.New("no participant")
)

// Store is the pod's SQLite database. Every table lives in one file,
// pod.db in the data directory, opened in WAL mode with full sync so that a
// committed row (an inbox body, an outbox delivery) survives a crash.
//
// Writes are serialized in the process by wmu (SQLite has one writer at a
// time; waiting on a Go mutex hands the lock over at once, where SQLite's
// busy handler sleeps up to 100 ms between tries), and received bodies
// are written by one goroutine in group commits (see inboxWriter).
type Store struct {
	db   *DB
	path string // of pod.db (SQLite)

	migrations     []string // of the backend, applied in order
	lockMigrations string   // statement that serializes migrating processes
	shared         bool     // other processes may work the same queues
	owner          int32    // the lease owner number of this process (0 on SQLite)
	ownerConn      *sql.Conn
	endStale       func(context.Context) error // releases leases of processes that are gone (shared stores)

	wmu   sync.Mutex // held around every write transaction of this process
	inbox *inboxWriter

	blockedMu    sync.Mutex
	blockedAt    time.Time
	blockedHosts map[string]bool // cache of the blocked pods (see BlockedCached)

	keysMu   sync.Mutex
	keys     map[string]*rsa.PublicKey  // parsed public keys by PEM (see parsedKey)
	privKeys map[string]*rsa.PrivateKey // parsed private keys by PEM (see privateKey)

	checkpoints      chan struct{} // closed to stop the checkpointer
	checkpointerDone chan struct{}

	closeOnce sync.Once
	closeErr  error
}

// IsPostgresURL reports whether a --db value names a PostgreSQL database.
func IsPostgresURL(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

// Open opens the pod's store: with db empty the SQLite file in dir
// (sqlite.go), with a postgres:// URL that PostgreSQL database
// (postgres.go), whose schema the pod creates and migrates; the
// database itself is the podmin's.
func Open(ctx context.Context, db, dir string) (*Store, error) {
	var s *Store
	var err error
	switch {
	case db == "":
		s, err = openSQLite(ctx, dir)
	case IsPostgresURL(db):
		s, err = openPostgres(ctx, db)
	default:
		return nil, errors.New("--db takes a postgres:// URL, or nothing for the SQLite file in the data directory")
	}
	if err != nil {
		return nil, err
	}
	s.inbox = startInboxWriter(s)
	return s, nil
}

// EndStaleLeases makes the inbox and outbox rows a crashed process had
// claimed due at once. On a store no other process works (SQLite) every
// lease is stale when a process starts; on a shared one (PostgreSQL)
// only the leases of processes that are gone, which it may be asked for
// at any time.
func (s *Store) EndStaleLeases(ctx context.Context) error {
	if s.shared {
		return s.endStale(ctx)
	}
	for _, q := range []string{`UPDATE inbox SET lease_until = 0 WHERE state = 'pending'`, `UPDATE outbox SET lease_until = 0 WHERE state = 'pending'`} {
		if _, err := s.exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
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
		if s.ownerConn != nil {
			s.ownerConn.Close() // ends the session and its advisory lock
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.db.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	for {
		done, err := s.tx(ctx, func(tx *Tx) (bool, error) {
			if s.lockMigrations != "" { // other processes migrate one at a time
				if _, err := tx.exec(ctx, s.lockMigrations); err != nil {
					return false, err
				}
			}
			var n int
			if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM schema_version`).Scan(&n); err != nil {
				return false, err
			}
			if n == 0 {
				if _, err := tx.exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
					return false, err
				}
			}
			var v int
			if err := tx.queryRow(ctx, `SELECT version FROM schema_version`).Scan(&v); err != nil {
				return false, err
			}
			if v >= len(s.migrations) {
				return true, nil
			}
			if _, err := tx.exec(ctx, s.migrations[v]); err != nil {
				return false, fmt.Errorf("migration %d: %w", v+1, err)
			}
			_, err := tx.exec(ctx, `UPDATE schema_version SET version = ?`, v+1)
			return false, err
		})
		if err != nil || done {
			return err
		}
	}
}

// The channels a shared store notifies when a queue gains rows.
const (
	InboxChannel  = "pod_inbox"
	OutboxChannel = "pod_outbox"
)

// Listen wakes this process's workers when another process queues work
// (wake gets InboxChannel or OutboxChannel), until ctx ends. On a store
// no other process shares it returns at once: the process wakes its own
// workers.
func (s *Store) Listen(ctx context.Context, wake func(channel string)) {
	if s.shared {
		s.listenPostgres(ctx, wake)
	}
}

// SchemaVersion returns the number of migrations applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.db.queryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
	return v, err
}

// tx runs fn in a transaction, committing when it returns no error.
func (s *Store) tx(ctx context.Context, fn func(*Tx) (bool, error)) (bool, error) {
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

// Do runs fn in a write transaction, committed when fn returns nil.
func (s *Store) Do(ctx context.Context, fn func(*Tx) error) error {
	_, err := s.tx(ctx, func(tx *Tx) (bool, error) { return false, fn(tx) })
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
	Admin     bool // may use the podmin's dashboard
}

// DefaultAspects are created with every user.
var DefaultAspects = []string{"Family", "Friends", "Work", "Acquaintances"}

// CreateUser stores a new local person with its key, password hash and
// aspects (DefaultAspects when nil).
func (s *Store) CreateUser(ctx context.Context, username, id, guid, podURL string, key *rsa.PrivateKey, passwordHash string, aspects []string) error {
	if aspects == nil {
		aspects = DefaultAspects
	}
	privPEM, err := magicenv.MarshalPrivateKey(key)
	if err != nil {
		return err
	}
	pubPEM, err := magicenv.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return s.Do(ctx, func(tx *Tx) error {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE username = ?`, username).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("user %q already exists", username)
		}
		if _, err := tx.exec(ctx, `INSERT INTO people (id, guid, pod_url, public_key, full_name, local, discovered_at) VALUES (?, ?, ?, ?, ?, 1, ?)`,
			id, guid, podURL, string(pubPEM), username, now()); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `INSERT INTO users (username, person_id, private_key, password_hash, created_at) VALUES (?, ?, ?, ?, ?)`,
			username, id, string(privPEM), passwordHash, now()); err != nil {
			return err
		}
		for _, a := range aspects {
			if _, err := tx.exec(ctx, `INSERT INTO aspects (username, name) VALUES (?, ?)`, username, a); err != nil {
				return err
			}
		}
		return nil
	})
}

// userWhere loads one user by a condition on users (u) or people (p).
func (s *Store) userWhere(ctx context.Context, q Q, cond string, arg any) (*User, error) {
	var u User
	var keyPEM string
	err := q.queryRow(ctx, `SELECT u.username, p.id, p.guid, p.full_name, u.private_key, u.suspended, u.admin
		FROM users u JOIN people p ON p.id = u.person_id WHERE `+cond, arg).
		Scan(&u.Username, &u.ID, &u.GUID, &u.FullName, &keyPEM, &u.Suspended, &u.Admin)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
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
	k, err := magicenv.ParsePrivateKey([]byte(pem), nil)
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

// Q is what a read runs on: the store itself or one of its
// transactions. Only this package runs queries on it.
type Q interface {
	queryRow(ctx context.Context, query string, args ...any) *sql.Row
	query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return s.db.queryRow(ctx, query, args...)
}

func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return s.db.query(ctx, query, args...)
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
	err := s.db.queryRow(ctx, `SELECT password_hash FROM users WHERE username = ? AND suspended = 0`, username).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return h, err
}

// SetSuspended suspends or reinstates a local account; suspending also
// ends its sessions.
func (s *Store) SetSuspended(ctx context.Context, username string, suspended bool) error {
	return s.Do(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE users SET suspended = ? WHERE username = ?`, suspended, username)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ErrNotFound
		}
		if suspended {
			_, err = tx.exec(ctx, `DELETE FROM sessions WHERE username = ?`, username)
		}
		return err
	})
}

// CreateSession stores the hash of a new bearer token.
func (s *Store) CreateSession(ctx context.Context, tokenHash []byte, username string, expires time.Time) error {
	return s.Do(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO sessions (token_hash, username, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			tokenHash, username, now(), expires.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `UPDATE users SET last_seen_at = ? WHERE username = ?`, now(), username)
		return err
	})
}

// SessionUser returns the user of a live, unexpired session.
func (s *Store) SessionUser(ctx context.Context, tokenHash []byte) (*User, error) {
	var name string
	err := s.db.queryRow(ctx, `SELECT s.username FROM sessions s JOIN users u ON u.username = s.username
		WHERE s.token_hash = ? AND s.expires_at > ? AND u.suspended = 0`, tokenHash, now()).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
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
	_, err := s.exec(ctx, `DELETE FROM post_requests WHERE created_at < ?`, now()-IdempotencyWindow.Milliseconds())
	return err
}

// DeleteSession ends a session.
func (s *Store) DeleteSession(ctx context.Context, tokenHash []byte) error {
	_, err := s.db.exec(ctx, `DELETE FROM sessions WHERE token_hash = ?`, tokenHash)
	return err
}

// Person is a row of people.
type Person struct {
	ID, GUID, PodURL, PublicKeyPEM, FullName string
	Local                                    bool
}

// Person loads a person (local or remote) the pod knows, or returns
// ErrNotFound.
func (s *Store) Person(ctx context.Context, q Q, id string) (*Person, error) {
	var p Person
	err := q.queryRow(ctx, `SELECT id, guid, pod_url, public_key, full_name, local FROM people WHERE id = ?`, id).
		Scan(&p.ID, &p.GUID, &p.PodURL, &p.PublicKeyPEM, &p.FullName, &p.Local)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &p, err
}

// --- discovery.Cache over the people table (trust on first use) ---

// PersonCache implements discovery.Cache with the people table.
type PersonCache struct{ s *Store }

func (c PersonCache) Get(ctx context.Context, id string) (*discovery.Person, error) {
	p, err := c.s.Person(ctx, c.s.db, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s", discovery.ErrCacheMiss, id)
	}
	if err != nil {
		return nil, err
	}
	pub, err := c.s.ParsedKey(p.PublicKeyPEM)
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
func (s *Store) ParsedKey(pem string) (*rsa.PublicKey, error) {
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

func (c PersonCache) Put(ctx context.Context, p *discovery.Person) error {
	return c.s.Do(ctx, func(tx *Tx) error {
		old, err := c.s.Person(ctx, tx, p.ID)
		if err == nil {
			oldKey, perr := discovery.ParsePublicKey([]byte(old.PublicKeyPEM))
			if perr != nil || p.PublicKey == nil || !oldKey.Equal(p.PublicKey) {
				return fmt.Errorf("%w: %s", discovery.ErrKeyConflict, p.ID)
			}
			_, err = tx.exec(ctx, `UPDATE people SET pod_url = ?, full_name = ? WHERE id = ? AND local = 0`,
				NormPod(p.PodURL), p.FullName, p.ID)
			return err
		}
		if !errors.Is(err, ErrNotFound) {
			return err
		}
		// A GUID is one person's: another ID claiming it is refused (the
		// resolver then re-discovers the holder, see discovery.Resolver).
		var holder string
		if err := tx.queryRow(ctx, `SELECT id FROM people WHERE guid = ?`, p.GUID).Scan(&holder); err == nil {
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
		_, err = tx.exec(ctx, `INSERT INTO people (id, guid, pod_url, public_key, full_name, local, discovered_at) VALUES (?, ?, ?, ?, ?, 0, ?)`,
			p.ID, p.GUID, NormPod(p.PodURL), key, p.FullName, now())
		return err
	})
}

func (c PersonCache) Delete(ctx context.Context, id string) error {
	_, err := c.s.db.exec(ctx, `DELETE FROM people WHERE id = ? AND local = 0`, id)
	return err
}

// NormPod gives a pod URL its trailing slash.
func NormPod(u string) string {
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
	// Software and Version are what the pod's NodeInfo said it runs
	// ("" until it has been asked; see NodeInfoDue).
	Software string `json:"software,omitempty"`
	Version  string `json:"version,omitempty"`
}

// SetBlocked blocks or unblocks a pod by host (host[:port]); blocking
// drops the deliveries queued for it.
func (s *Store) SetBlocked(ctx context.Context, host string, blocked bool) error {
	err := s.Do(ctx, func(tx *Tx) error {
		if _, err := tx.exec(ctx, `INSERT INTO pods (host, blocked) VALUES (?, ?)
			ON CONFLICT (host) DO UPDATE SET blocked = excluded.blocked`, host, blocked); err != nil {
			return err
		}
		if !blocked {
			return nil
		}
		// The deliveries queued for a blocked pod are dropped, also those
		// a worker holds (its OutboxDone or OutboxRetry then finds no row).
		if _, err := tx.exec(ctx, `DELETE FROM outbox WHERE host = ? AND state = 'pending'`, host); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `DELETE FROM outbox_bodies WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.body_id = outbox_bodies.id)`)
		return err
	})
	s.blockedMu.Lock()
	s.blockedHosts = nil // read again on next use
	s.blockedMu.Unlock()
	return err
}

// blockedCacheTTL is how long BlockedCached trusts its copy of the blocked
// pods: a block set by another process (pod admin block) reaches the
// receive route's early refusal within it (the worker checks afresh).
const blockedCacheTTL = time.Second

// BlockedCached is Blocked from an in-memory copy of the blocked pods,
// read again after blockedCacheTTL or a SetBlocked of this process: the
// receive route asks it for every public body.
func (s *Store) BlockedCached(ctx context.Context, host string) (bool, error) {
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
	return s.db.exec(ctx, query, args...)
}

// Blocked reports whether a host is blocked. It answers from a copy of
// the blocked pods at most blockedCacheTTL old (a SetBlocked of this
// process takes effect at once).
func (s *Store) Blocked(ctx context.Context, host string) (bool, error) {
	return s.BlockedCached(ctx, host)
}

// Health lists every pod known to the outbox or the pods table.
func (s *Store) Health(ctx context.Context) ([]PodHealth, error) {
	rows, err := s.db.query(ctx, `
		WITH hosts AS (SELECT host FROM pods UNION SELECT host FROM outbox)
		SELECT h.host, COALESCE(p.blocked, 0), COALESCE(p.delivered, 0), COALESCE(p.failures, 0),
			COALESCE(p.last_success, 0), COALESCE(p.last_failure, 0), COALESCE(p.last_error, ''),
			(SELECT COUNT(*) FROM outbox o WHERE o.host = h.host AND o.state = 'pending'),
			COALESCE(p.software, ''), COALESCE(p.version, '')
		FROM hosts h LEFT JOIN pods p ON p.host = h.host ORDER BY h.host`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PodHealth{}
	for rows.Next() {
		var h PodHealth
		var ls, lf int64
		if err := rows.Scan(&h.Host, &h.Blocked, &h.Delivered, &h.Failures, &ls, &lf, &h.LastError, &h.QueueDepth, &h.Software, &h.Version); err != nil {
			return nil, err
		}
		h.LastSuccess, h.LastFailure = fmtMilli(ls), fmtMilli(lf)
		out = append(out, h)
	}
	return out, rows.Err()
}

// NodeInfoDue returns up to n pods, not blocked, that took a delivery
// and whose NodeInfo was last asked before the cutoff (or never).
func (s *Store) NodeInfoDue(ctx context.Context, before time.Time, n int) ([]string, error) {
	rows, err := s.db.query(ctx, `SELECT host FROM pods WHERE blocked = 0 AND delivered > 0 AND nodeinfo_at < ?
		ORDER BY nodeinfo_at, host LIMIT ?`, before.UnixMilli(), n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, err
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

// SetNodeInfo records that a pod's NodeInfo was asked now, with the
// software and version it named; ok false (the pod did not answer) keeps
// what was known.
func (s *Store) SetNodeInfo(ctx context.Context, host, software, version string, ok bool) error {
	if !ok {
		_, err := s.exec(ctx, `INSERT INTO pods (host, nodeinfo_at) VALUES (?, ?)
			ON CONFLICT (host) DO UPDATE SET nodeinfo_at = excluded.nodeinfo_at`, host, now())
		return err
	}
	_, err := s.exec(ctx, `INSERT INTO pods (host, software, version, nodeinfo_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (host) DO UPDATE SET software = excluded.software, version = excluded.version, nodeinfo_at = excluded.nodeinfo_at`,
		host, software, version, now())
	return err
}

func fmtMilli(ms int64) string {
	if ms == 0 {
		return ""
	}
	return time.UnixMilli(ms).UTC().Format(time.RFC3339)
}

// LocalUser loads the local user with a diaspora* ID in q (the store or
// a transaction), or returns ErrNotFound.
func (s *Store) LocalUser(ctx context.Context, q Q, id string) (*User, error) {
	return s.userWhere(ctx, q, `p.id = ?`, id)
}

// The store as the SDK's interfaces.

// Cache is the people table as a discovery.Cache.
func (s *Store) Cache() PersonCache { return PersonCache{s} }

// Entities is the posts and interactions tables as a salmon.EntityStore.
func (s *Store) Entities() EntityStore { return EntityStore{s} }

// Keys is the local users' private keys as salmon.RecipientKeys.
func (s *Store) Keys() RecipientKeys { return RecipientKeys{s} }

// Directory is the local users as a discovery.Directory.
func (s *Store) Directory() Directory { return Directory{s} }

// Shared reports whether other processes may work this store's queues
// (PostgreSQL).
func (s *Store) Shared() bool { return s.shared }

// Backend names the database: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.db.d.name }

// SQL is the store's database for statements of a test's or a tool's
// own, with placeholders (?) and booleans rebound for the backend. The
// pod never uses it: each of its queries is a function of this package.
func (s *Store) SQL() *DB { return s.db }

// SQLiteMigrations is the number of the SQLite schema's migrations, and
// PostgresMigrations of the PostgreSQL schema's: SchemaVersion after a
// migrated start.
var (
	SQLiteMigrations   = len(sqliteMigrations)
	PostgresMigrations = len(postgresMigrations)
)

// CheckpointInterval is how often the SQLite checkpointer runs.
const CheckpointInterval = checkpointInterval

// Batch runs fn for items 0..n-1 in one write transaction, each in a
// savepoint of its own: an item whose fn fails leaves nothing behind and
// gets its error in errs, and the others commit together (one commit,
// one fsync, for the batch). err is the transaction's own error: then
// nothing was committed.
func (s *Store) Batch(ctx context.Context, n int, fn func(tx *Tx, i int) error) (errs []error, err error) {
	errs = make([]error, n)
	err = s.Do(ctx, func(tx *Tx) error {
		for i := range n {
			if _, err := tx.raw.ExecContext(ctx, `SAVEPOINT batch_item`); err != nil {
				return err
			}
			if errs[i] = fn(tx, i); errs[i] != nil {
				if _, err := tx.raw.ExecContext(ctx, `ROLLBACK TO SAVEPOINT batch_item`); err != nil {
					return err
				}
			}
			if _, err := tx.raw.ExecContext(ctx, `RELEASE SAVEPOINT batch_item`); err != nil {
				return err
			}
		}
		return nil
	})
	return errs, err
}
