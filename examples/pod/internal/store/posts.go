package store

import (
	"context"
	"crypto"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/salmon"
)

// PostRow is a row of posts.
type PostRow struct {
	GUID, Type, Author, Text, RootGUID string
	Extra                              PostExtra
	Public, Local                      bool
	Payload                            []byte
	CreatedAt                          time.Time
}

// InteractionRow is a row of interactions (comments and likes).
type InteractionRow struct {
	GUID, Type, Author, ParentType, ParentGUID, PostGUID, Text string
	Positive                                                   bool
	Payload                                                    []byte
	CreatedAt                                                  time.Time
}

// Tombstoned reports a retracted (type family, guid).
func Tombstoned(ctx context.Context, tx *Tx, family, guid string) (bool, error) {
	var n int
	err := tx.queryRow(ctx, `SELECT COUNT(*) FROM tombstones WHERE type = ? AND guid = ?`, family, guid).Scan(&n)
	return n > 0, err
}

// InsertPost stores a post once: the same (guid, author) again is a
// no-op, another author for a known guid is ErrWrongAuthor, and a
// retracted guid stays retracted.
func InsertPost(ctx context.Context, tx *Tx, p *PostRow, tags, mentions []string) (bool, error) {
	if dead, err := Tombstoned(ctx, tx, "Post", p.GUID); err != nil || dead {
		return true, err
	}
	var author string
	err := tx.queryRow(ctx, `SELECT author FROM posts WHERE guid = ?`, p.GUID).Scan(&author)
	if err == nil {
		if author != p.Author {
			return true, ErrWrongAuthor
		}
		return true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	extra, err := json.Marshal(p.Extra)
	if err != nil {
		return false, err
	}
	if _, err := tx.exec(ctx, `INSERT INTO posts (guid, type, author, public, local, text, root_guid, extra, payload, created_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.GUID, p.Type, p.Author, p.Public, p.Local, p.Text, p.RootGUID, string(extra), p.Payload,
		p.CreatedAt.UnixMilli(), now()); err != nil {
		return false, err
	}
	if p.Extra.Poll != nil {
		if _, err := tx.exec(ctx, `INSERT INTO polls (guid, post_guid) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.Extra.Poll.GUID, p.GUID); err != nil {
			return false, err
		}
	}
	for _, t := range tags {
		if _, err := tx.exec(ctx, `INSERT INTO post_tags (post_guid, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.GUID, t); err != nil {
			return false, err
		}
	}
	for _, m := range mentions {
		if _, err := tx.exec(ctx, `INSERT INTO post_mentions (post_guid, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.GUID, m); err != nil {
			return false, err
		}
	}
	return false, nil
}

// InsertInteraction stores a comment or like once, with the same rules;
// a like or poll vote by someone who already has one on that parent is
// ErrSecondVote (the unique index interactions_one_per_person holds it
// against races too).
func InsertInteraction(ctx context.Context, tx *Tx, i *InteractionRow) (bool, error) {
	if dead, err := Tombstoned(ctx, tx, i.Type, i.GUID); err != nil || dead {
		return true, err
	}
	var author string
	err := tx.queryRow(ctx, `SELECT author FROM interactions WHERE guid = ?`, i.GUID).Scan(&author)
	if err == nil {
		if author != i.Author {
			return true, ErrWrongAuthor
		}
		return true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if i.Type == "Like" || i.Type == "PollParticipation" {
		var n int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM interactions WHERE type = ? AND author = ? AND parent_guid = ?`,
			i.Type, i.Author, i.ParentGUID).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, ErrSecondVote
		}
	}
	_, err = tx.exec(ctx, `INSERT INTO interactions (guid, type, author, parent_type, parent_guid, post_guid, text, positive, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, i.GUID, i.Type, i.Author, i.ParentType, i.ParentGUID, i.PostGUID, i.Text,
		i.Positive, i.Payload, i.CreatedAt.UnixMilli())
	return false, err
}

func GetPost(ctx context.Context, q Q, guid string) (*PostRow, error) {
	var p PostRow
	var created int64
	var root sql.NullString
	var extra string
	err := q.queryRow(ctx, `SELECT guid, type, author, public, local, text, root_guid, extra, payload, created_at FROM posts WHERE guid = ?`, guid).
		Scan(&p.GUID, &p.Type, &p.Author, &p.Public, &p.Local, &p.Text, &root, &extra, &p.Payload, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(extra), &p.Extra); err != nil {
		return nil, err
	}
	p.RootGUID = root.String
	p.CreatedAt = time.UnixMilli(created).UTC()
	return &p, err
}

func GetInteraction(ctx context.Context, q Q, guid string) (*InteractionRow, error) {
	var i InteractionRow
	var created int64
	err := q.queryRow(ctx, `SELECT guid, type, author, parent_type, parent_guid, post_guid, text, positive, payload, created_at
		FROM interactions WHERE guid = ?`, guid).
		Scan(&i.GUID, &i.Type, &i.Author, &i.ParentType, &i.ParentGUID, &i.PostGUID, &i.Text, &i.Positive, &i.Payload, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	i.CreatedAt = time.UnixMilli(created).UTC()
	return &i, err
}

// Retract deletes a post or an interaction and leaves a tombstone.
// Retracting something unknown or already gone is a no-op.
func Retract(ctx context.Context, tx *Tx, family, guid, author string) error {
	switch family {
	case "Post":
		if _, err := tx.exec(ctx, `DELETE FROM interactions WHERE post_guid = ?`, guid); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM posts WHERE guid = ?`, guid); err != nil {
			return err
		}
	case "Comment", "Like", "PollParticipation":
		if _, err := tx.exec(ctx, `DELETE FROM interactions WHERE parent_type = 'Comment' AND parent_guid = ?`, guid); err != nil {
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM interactions WHERE guid = ?`, guid); err != nil {
			return err
		}
	default:
		return nil
	}
	_, err := tx.exec(ctx, `INSERT INTO tombstones (type, guid, author, deleted_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		family, guid, author, now())
	return err
}

// strings1 runs a query of one text column and returns its values, an
// empty (not nil) list when there are none, so that JSON shows [].
func strings1(ctx context.Context, q Q, query string, args ...any) ([]string, error) {
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// --- salmon.EntityStore ---

// EntityStore answers the receiver's questions about parents, roots and
// retraction targets from the posts and interactions tables.
type EntityStore struct{ s *Store }

func (e EntityStore) RelatedEntity(ctx context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	return e.related(ctx, typ, guid, 0)
}

func (e EntityStore) related(ctx context.Context, typ, guid string, depth int) (*salmon.RelatedEntity, error) {
	if depth > 4 {
		return nil, fmt.Errorf("%w: parent chain too deep", salmon.ErrNotFound)
	}
	switch typ {
	case "Post", "StatusMessage", "Reshare":
		p, err := GetPost(ctx, e.s.db, guid)
		if errors.Is(err, ErrNotFound) {
			return nil, fmt.Errorf("%w: Post %s", salmon.ErrNotFound, guid)
		}
		if err != nil {
			return nil, err
		}
		return &salmon.RelatedEntity{Type: "Post", GUID: p.GUID, Author: p.Author, Local: p.Local, Public: p.Public}, nil
	case "Poll":
		var postGUID string
		err := e.s.db.queryRow(ctx, `SELECT post_guid FROM polls WHERE guid = ?`, guid).Scan(&postGUID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: Poll %s", salmon.ErrNotFound, guid)
		}
		if err != nil {
			return nil, err
		}
		post, err := e.related(ctx, "Post", postGUID, depth+1)
		if err != nil {
			return nil, err
		}
		return &salmon.RelatedEntity{Type: "Poll", GUID: guid, Author: post.Author, Local: post.Local, Public: post.Public, Parent: post}, nil
	case "Comment", "Like", "PollParticipation":
		i, err := GetInteraction(ctx, e.s.db, guid)
		if errors.Is(err, ErrNotFound) || (err == nil && i.Type != typ) {
			return nil, fmt.Errorf("%w: %s %s", salmon.ErrNotFound, typ, guid)
		}
		if err != nil {
			return nil, err
		}
		parent, err := e.related(ctx, i.ParentType, i.ParentGUID, depth+1)
		if err != nil {
			return nil, err
		}
		return &salmon.RelatedEntity{Type: typ, GUID: i.GUID, Author: i.Author, Local: parent.Local, Public: parent.Public, Parent: parent}, nil
	}
	return nil, fmt.Errorf("%w: %s %s", salmon.ErrNotFound, typ, guid)
}

// --- salmon.RecipientKeys ---

type RecipientKeys struct{ s *Store }

func (r RecipientKeys) RecipientKey(ctx context.Context, guid string) (string, crypto.Decrypter, error) {
	u, err := r.s.UserByGUID(ctx, guid)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Suspended) {
		return "", nil, salmon.ErrRecipientNotFound
	}
	if err != nil {
		return "", nil, err
	}
	return u.ID, u.Key, nil
}

// --- discovery.Directory and UsageCounter ---

type Directory struct{ s *Store }

func (d Directory) PersonByID(ctx context.Context, id string) (*discovery.Person, error) {
	u, err := d.s.UserByID(ctx, id)
	return d.person(u, err)
}

func (d Directory) PersonByGUID(ctx context.Context, guid string) (*discovery.Person, error) {
	u, err := d.s.UserByGUID(ctx, guid)
	return d.person(u, err)
}

func (d Directory) person(u *User, err error) (*discovery.Person, error) {
	if errors.Is(err, ErrNotFound) || (err == nil && u.Suspended) {
		return nil, discovery.ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	name := u.FullName
	if name == "" {
		name = u.Username
	}
	return &discovery.Person{ID: u.ID, GUID: u.GUID, PublicKey: &u.Key.PublicKey, FullName: name,
		FirstName: u.Username, Searchable: true}, nil
}

func (d Directory) Usage(ctx context.Context) (discovery.Usage, error) {
	var users, posts, comments int64
	err := d.s.db.queryRow(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE suspended = 0),
		(SELECT COUNT(*) FROM posts WHERE local = 1),
		(SELECT COUNT(*) FROM interactions i JOIN people p ON p.id = i.author WHERE i.type = 'Comment' AND p.local = 1)`).
		Scan(&users, &posts, &comments)
	if err != nil {
		return discovery.Usage{}, err
	}
	return discovery.Usage{Users: discovery.UserCounts{Total: &users}, LocalPosts: &posts, LocalComments: &comments}, nil
}

// --- reading for the API ---

// PostView is a post as the API shows it.
type PostView struct {
	GUID      string `json:"guid"`
	Type      string `json:"type"`
	Author    string `json:"author"`
	Text      string `json:"text,omitempty"`
	Public    bool   `json:"public"`
	RootGUID  string `json:"root_guid,omitempty"`
	CreatedAt string `json:"created_at"`
	PostExtra
	Tags     []string          `json:"tags"`
	Comments []InteractionView `json:"comments"`
	Likes    []InteractionView `json:"likes"`
}

// InteractionView is a comment or a like.
type InteractionView struct {
	GUID      string `json:"guid"`
	Author    string `json:"author"`
	Text      string `json:"text,omitempty"`
	CreatedAt string `json:"created_at"`
}

// visibleTo is the SQL condition for posts a user may read (arguments:
// the user's ID, username and username again). Posts of suspended local
// accounts are nobody's to read, and those of people the user ignores
// are not the user's.
const visibleTo = `(p.public = 1 OR p.author = ? OR EXISTS (SELECT 1 FROM post_visibility v WHERE v.post_guid = p.guid AND v.username = ?))
	AND NOT EXISTS (SELECT 1 FROM users su WHERE su.person_id = p.author AND su.suspended = 1)
	AND NOT EXISTS (SELECT 1 FROM ignored_people ig WHERE ig.username = ? AND ig.person_id = p.author)`

// Stream lists, newest first, the posts a user may read of the user's
// own and of the people in the user's aspects (diaspora*'s stream); with
// a tag, every readable post with that tag; with an author, the
// readable posts of that person.
func (s *Store) Stream(ctx context.Context, u *User, tag, author string, limit int, before time.Time) ([]PostView, error) {
	q := StreamQuery{Kind: "stream", Limit: limit, Before: before}
	switch {
	case tag != "":
		q.Kind, q.Tag = "tag", tag
	case author != "":
		q.Kind, q.Author = "author", author
	}
	return s.Posts(ctx, u, q)
}

// PostView loads a post the user may read, with comments and likes; u
// may be nil for anonymous readers (public posts only).
func (s *Store) PostView(ctx context.Context, u *User, guid string) (*PostView, error) {
	p, err := GetPost(ctx, s.db, guid)
	if err != nil {
		return nil, err
	}
	if u == nil && !p.Public {
		return nil, ErrNotFound
	}
	id, name := "", ""
	if u != nil {
		id, name = u.ID, u.Username
	}
	var n int
	if err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM posts p WHERE p.guid = ? AND `+visibleTo, guid, id, name, name).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrNotFound
	}
	v := &PostView{GUID: p.GUID, Type: p.Type, Author: p.Author, Text: p.Text, Public: p.Public, RootGUID: p.RootGUID,
		CreatedAt: p.CreatedAt.Format(time.RFC3339), PostExtra: p.Extra, Comments: []InteractionView{}, Likes: []InteractionView{}}
	if v.Poll != nil {
		// One indexed query for all answers.
		rows, err := s.db.query(ctx, `SELECT text, COUNT(*) FROM interactions WHERE type = 'PollParticipation' AND parent_guid = ? GROUP BY text`, v.Poll.GUID)
		if err != nil {
			return nil, err
		}
		votes := map[string]int{}
		for rows.Next() {
			var answer string
			var n int
			if err := rows.Scan(&answer, &n); err != nil {
				rows.Close()
				return nil, err
			}
			votes[answer] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for i := range v.Poll.Answers {
			v.Poll.Answers[i].Votes = votes[v.Poll.Answers[i].GUID]
		}
	}
	if v.Tags, err = strings1(ctx, s.db, `SELECT tag FROM post_tags WHERE post_guid = ? ORDER BY tag`, guid); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT guid, type, author, text, created_at FROM interactions
		WHERE post_guid = ? AND parent_type = 'Post' AND type IN ('Comment', 'Like') AND positive = 1
		AND author NOT IN (SELECT person_id FROM ignored_people WHERE username = ?) ORDER BY created_at, rowid`, guid, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var i InteractionView
		var typ string
		var created int64
		if err := rows.Scan(&i.GUID, &typ, &i.Author, &i.Text, &created); err != nil {
			return nil, err
		}
		i.CreatedAt = time.UnixMilli(created).UTC().Format(time.RFC3339)
		if typ == "Comment" {
			v.Comments = append(v.Comments, i)
		} else {
			v.Likes = append(v.Likes, i)
		}
	}
	return v, rows.Err()
}

// PublicPostsBy lists a person's public posts, newest first (profile page).
func (s *Store) PublicPostsBy(ctx context.Context, author string, limit int) ([]PostView, error) {
	guids, err := strings1(ctx, s.db, `SELECT guid FROM posts WHERE author = ? AND public = 1 ORDER BY created_at DESC, rowid DESC LIMIT ?`, author, limit)
	if err != nil {
		return nil, err
	}
	var out []PostView
	for _, g := range guids {
		v, err := s.PostView(ctx, nil, g)
		if errors.Is(err, ErrNotFound) {
			continue // gone meanwhile, or its author is suspended
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// IdempotencyWindow is how long the Idempotency-Key of a post request is
// remembered.
const IdempotencyWindow = 24 * time.Hour

// PostByRequest returns the post an earlier request of username with the
// same Idempotency-Key made, or "".
func PostByRequest(ctx context.Context, q Q, username, key string) (string, error) {
	var guid string
	err := q.queryRow(ctx, `SELECT post_guid FROM post_requests WHERE username = ? AND key = ? AND created_at >= ?`,
		username, key, now()-IdempotencyWindow.Milliseconds()).Scan(&guid)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return guid, err
}

// RecordPostRequest remembers the post a request with an
// Idempotency-Key made.
func RecordPostRequest(ctx context.Context, tx *Tx, username, key, guid string) error {
	_, err := tx.exec(ctx, `INSERT INTO post_requests (username, key, post_guid, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (username, key) DO UPDATE SET post_guid = excluded.post_guid, created_at = excluded.created_at`,
		username, key, guid, now())
	return err
}

// AddPostPods records pods a local post was sent to and returns those
// that were not recorded before.
func AddPostPods(ctx context.Context, tx *Tx, guid string, pods []string) ([]string, error) {
	var added []string
	for _, pod := range pods {
		res, err := tx.exec(ctx, `INSERT INTO post_pods (post_guid, pod_url) VALUES (?, ?) ON CONFLICT DO NOTHING`, guid, pod)
		if err != nil {
			return nil, err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			added = append(added, pod)
		}
	}
	return added, nil
}

// AddPostRecipients records the remote recipients of a local limited post.
func AddPostRecipients(ctx context.Context, tx *Tx, guid string, ids []string) error {
	for _, id := range ids {
		if _, err := tx.exec(ctx, `INSERT INTO post_recipients (post_guid, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, guid, id); err != nil {
			return err
		}
	}
	return nil
}

// IsPostRecipient reports whether a person received a local limited post.
func IsPostRecipient(ctx context.Context, q Q, guid, personID string) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM post_recipients WHERE post_guid = ? AND person_id = ?`, guid, personID).Scan(&n)
	return n > 0, err
}

// AddPostVisibility lets local users read a limited post.
func AddPostVisibility(ctx context.Context, tx *Tx, guid string, usernames ...string) error {
	for _, name := range usernames {
		if _, err := tx.exec(ctx, `INSERT INTO post_visibility (post_guid, username) VALUES (?, ?) ON CONFLICT DO NOTHING`, guid, name); err != nil {
			return err
		}
	}
	return nil
}

// HasInteraction reports whether author has an interaction of a type
// (Like, PollParticipation) on a parent.
func HasInteraction(ctx context.Context, q Q, typ, author, parentGUID string) (bool, error) {
	var n int
	err := q.queryRow(ctx, `SELECT COUNT(*) FROM interactions WHERE type = ? AND author = ? AND parent_guid = ?`,
		typ, author, parentGUID).Scan(&n)
	return n > 0, err
}

// PollPost returns the guid of the post a poll belongs to, or ErrNotFound.
func PollPost(ctx context.Context, q Q, pollGUID string) (string, error) {
	var postGUID string
	err := q.queryRow(ctx, `SELECT post_guid FROM polls WHERE guid = ?`, pollGUID).Scan(&postGUID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("%w: poll %s", ErrNotFound, pollGUID)
	}
	return postGUID, err
}

// PostPods lists the pods a local public post went to.
func PostPods(ctx context.Context, q Q, guid string) ([]string, error) {
	return strings1(ctx, q, `SELECT pod_url FROM post_pods WHERE post_guid = ? ORDER BY pod_url`, guid)
}

// PostRecipients lists the remote recipients of a local limited post.
func PostRecipients(ctx context.Context, q Q, guid string) ([]string, error) {
	return strings1(ctx, q, `SELECT person_id FROM post_recipients WHERE post_guid = ? ORDER BY person_id`, guid)
}
