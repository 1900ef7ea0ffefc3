package main

import (
	"context"
	"crypto"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/salmon"
)

// errWrongAuthor: a known guid arrived again with another author.
var errWrongAuthor = errors.New("guid already used by another author")

// postRow is a row of posts.
type postRow struct {
	GUID, Type, Author, Text, RootGUID string
	Extra                              PostExtra
	Public, Local                      bool
	Payload                            []byte
	CreatedAt                          time.Time
}

// interactionRow is a row of interactions (comments and likes).
type interactionRow struct {
	GUID, Type, Author, ParentType, ParentGUID, PostGUID, Text string
	Positive                                                   bool
	Payload                                                    []byte
	CreatedAt                                                  time.Time
}

// tombstoned reports a retracted (type family, guid).
func tombstoned(ctx context.Context, tx *sqlTx, family, guid string) (bool, error) {
	var n int
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM tombstones WHERE type = ? AND guid = ?`, family, guid).Scan(&n)
	return n > 0, err
}

// insertPost stores a post once: the same (guid, author) again is a
// no-op, another author for a known guid is errWrongAuthor, and a
// retracted guid stays retracted.
func insertPost(ctx context.Context, tx *sqlTx, p *postRow, tags, mentions []string) (bool, error) {
	if dead, err := tombstoned(ctx, tx, "Post", p.GUID); err != nil || dead {
		return true, err
	}
	var author string
	err := tx.QueryRowContext(ctx, `SELECT author FROM posts WHERE guid = ?`, p.GUID).Scan(&author)
	if err == nil {
		if author != p.Author {
			return true, errWrongAuthor
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
	if _, err := tx.ExecContext(ctx, `INSERT INTO posts (guid, type, author, public, local, text, root_guid, extra, payload, created_at, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, p.GUID, p.Type, p.Author, p.Public, p.Local, p.Text, p.RootGUID, string(extra), p.Payload,
		p.CreatedAt.UnixMilli(), now()); err != nil {
		return false, err
	}
	if p.Extra.Poll != nil {
		if _, err := tx.ExecContext(ctx, `INSERT INTO polls (guid, post_guid) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.Extra.Poll.GUID, p.GUID); err != nil {
			return false, err
		}
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO post_tags (post_guid, tag) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.GUID, t); err != nil {
			return false, err
		}
	}
	for _, m := range mentions {
		if _, err := tx.ExecContext(ctx, `INSERT INTO post_mentions (post_guid, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, p.GUID, m); err != nil {
			return false, err
		}
	}
	return false, nil
}

// errSecondVote: a person's second like of a post or vote in a poll
// (under another GUID). Nothing is stored.
var errSecondVote = errors.New("one like per post and one vote per poll")

// insertInteraction stores a comment or like once, with the same rules;
// a like or poll vote by someone who already has one on that parent is
// errSecondVote (the unique index interactions_one_per_person holds it
// against races too).
func insertInteraction(ctx context.Context, tx *sqlTx, i *interactionRow) (bool, error) {
	if dead, err := tombstoned(ctx, tx, i.Type, i.GUID); err != nil || dead {
		return true, err
	}
	var author string
	err := tx.QueryRowContext(ctx, `SELECT author FROM interactions WHERE guid = ?`, i.GUID).Scan(&author)
	if err == nil {
		if author != i.Author {
			return true, errWrongAuthor
		}
		return true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return false, err
	}
	if i.Type == "Like" || i.Type == "PollParticipation" {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM interactions WHERE type = ? AND author = ? AND parent_guid = ?`,
			i.Type, i.Author, i.ParentGUID).Scan(&n); err != nil {
			return false, err
		}
		if n > 0 {
			return true, errSecondVote
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO interactions (guid, type, author, parent_type, parent_guid, post_guid, text, positive, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, i.GUID, i.Type, i.Author, i.ParentType, i.ParentGUID, i.PostGUID, i.Text,
		i.Positive, i.Payload, i.CreatedAt.UnixMilli())
	return false, err
}

func getPost(ctx context.Context, q queryer, guid string) (*postRow, error) {
	var p postRow
	var created int64
	var root sql.NullString
	var extra string
	err := q.QueryRowContext(ctx, `SELECT guid, type, author, public, local, text, root_guid, extra, payload, created_at FROM posts WHERE guid = ?`, guid).
		Scan(&p.GUID, &p.Type, &p.Author, &p.Public, &p.Local, &p.Text, &root, &extra, &p.Payload, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
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

func getInteraction(ctx context.Context, q queryer, guid string) (*interactionRow, error) {
	var i interactionRow
	var created int64
	err := q.QueryRowContext(ctx, `SELECT guid, type, author, parent_type, parent_guid, post_guid, text, positive, payload, created_at
		FROM interactions WHERE guid = ?`, guid).
		Scan(&i.GUID, &i.Type, &i.Author, &i.ParentType, &i.ParentGUID, &i.PostGUID, &i.Text, &i.Positive, &i.Payload, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	i.CreatedAt = time.UnixMilli(created).UTC()
	return &i, err
}

// retract deletes a post or an interaction and leaves a tombstone.
// Retracting something unknown or already gone is a no-op.
func retract(ctx context.Context, tx *sqlTx, family, guid, author string) error {
	switch family {
	case "Post":
		if _, err := tx.ExecContext(ctx, `DELETE FROM interactions WHERE post_guid = ?`, guid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM posts WHERE guid = ?`, guid); err != nil {
			return err
		}
	case "Comment", "Like", "PollParticipation":
		if _, err := tx.ExecContext(ctx, `DELETE FROM interactions WHERE parent_type = 'Comment' AND parent_guid = ?`, guid); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM interactions WHERE guid = ?`, guid); err != nil {
			return err
		}
	default:
		return nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO tombstones (type, guid, author, deleted_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
		family, guid, author, now())
	return err
}

type rowser interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func strings1(ctx context.Context, q rowser, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
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

// entityStore answers the receiver's questions about parents, roots and
// retraction targets from the posts and interactions tables.
type entityStore struct{ s *Store }

func (e entityStore) RelatedEntity(ctx context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	return e.related(ctx, typ, guid, 0)
}

func (e entityStore) related(ctx context.Context, typ, guid string, depth int) (*salmon.RelatedEntity, error) {
	if depth > 4 {
		return nil, fmt.Errorf("%w: parent chain too deep", salmon.ErrNotFound)
	}
	switch typ {
	case "Post", "StatusMessage", "Reshare":
		p, err := getPost(ctx, e.s.db, guid)
		if errors.Is(err, errNotFound) {
			return nil, fmt.Errorf("%w: Post %s", salmon.ErrNotFound, guid)
		}
		if err != nil {
			return nil, err
		}
		return &salmon.RelatedEntity{Type: "Post", GUID: p.GUID, Author: p.Author, Local: p.Local, Public: p.Public}, nil
	case "Poll":
		var postGUID string
		err := e.s.db.QueryRowContext(ctx, `SELECT post_guid FROM polls WHERE guid = ?`, guid).Scan(&postGUID)
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
		i, err := getInteraction(ctx, e.s.db, guid)
		if errors.Is(err, errNotFound) || (err == nil && i.Type != typ) {
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

type recipientKeys struct{ s *Store }

func (r recipientKeys) RecipientKey(ctx context.Context, guid string) (string, crypto.Decrypter, error) {
	u, err := r.s.UserByGUID(ctx, guid)
	if errors.Is(err, errNotFound) || (err == nil && u.Suspended) {
		return "", nil, salmon.ErrRecipientNotFound
	}
	if err != nil {
		return "", nil, err
	}
	return u.ID, u.Key, nil
}

// --- discovery.Directory and UsageCounter ---

type directory struct{ s *Store }

func (d directory) PersonByID(ctx context.Context, id string) (*discovery.Person, error) {
	u, err := d.s.UserByID(ctx, id)
	return d.person(u, err)
}

func (d directory) PersonByGUID(ctx context.Context, guid string) (*discovery.Person, error) {
	u, err := d.s.UserByGUID(ctx, guid)
	return d.person(u, err)
}

func (d directory) person(u *User, err error) (*discovery.Person, error) {
	if errors.Is(err, errNotFound) || (err == nil && u.Suspended) {
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

func (d directory) Usage(ctx context.Context) (discovery.Usage, error) {
	var users, posts, comments int64
	err := d.s.db.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM users WHERE suspended = 0),
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
// the user's ID and username). Posts of suspended local accounts are
// nobody's to read.
const visibleTo = `(p.public = 1 OR p.author = ? OR EXISTS (SELECT 1 FROM post_visibility v WHERE v.post_guid = p.guid AND v.username = ?))
	AND NOT EXISTS (SELECT 1 FROM users su WHERE su.person_id = p.author AND su.suspended = 1)`

// Stream lists, newest first, the posts a user may read of the user's
// own and of the people in the user's aspects (diaspora*'s stream); with
// a tag, every readable post with that tag; with an author, the
// readable posts of that person.
func (s *Store) Stream(ctx context.Context, u *User, tag, author string, limit int, before time.Time) ([]PostView, error) {
	if before.IsZero() {
		before = time.Now().Add(time.Hour)
	}
	args := []any{u.ID, u.Username, before.UnixMilli()}
	var cond string
	switch {
	case tag != "":
		cond = `AND p.guid IN (SELECT post_guid FROM post_tags WHERE tag = ?)`
		args = append(args, strings.ToLower(tag))
	case author != "":
		cond = `AND p.author = ?`
		args = append(args, author)
	default:
		cond = `AND (p.author = ? OR p.author IN (SELECT person_id FROM contacts WHERE username = ? AND receiving = 1))`
		args = append(args, u.ID, u.Username)
	}
	args = append(args, limit)
	guids, err := strings1(ctx, s.db, `SELECT p.guid FROM posts p WHERE `+visibleTo+` AND p.created_at < ? `+cond+
		` ORDER BY p.created_at DESC, p.rowid DESC LIMIT ?`, args...)
	if err != nil {
		return nil, err
	}
	out := []PostView{}
	for _, g := range guids {
		v, err := s.PostView(ctx, u, g)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

// PostView loads a post the user may read, with comments and likes; u
// may be nil for anonymous readers (public posts only).
func (s *Store) PostView(ctx context.Context, u *User, guid string) (*PostView, error) {
	p, err := getPost(ctx, s.db, guid)
	if err != nil {
		return nil, err
	}
	if u == nil && !p.Public {
		return nil, errNotFound
	}
	id, name := "", ""
	if u != nil {
		id, name = u.ID, u.Username
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM posts p WHERE p.guid = ? AND `+visibleTo, guid, id, name).Scan(&n); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, errNotFound
	}
	v := &PostView{GUID: p.GUID, Type: p.Type, Author: p.Author, Text: p.Text, Public: p.Public, RootGUID: p.RootGUID,
		CreatedAt: p.CreatedAt.Format(time.RFC3339), PostExtra: p.Extra, Comments: []InteractionView{}, Likes: []InteractionView{}}
	if v.Poll != nil {
		// One indexed query for all answers.
		rows, err := s.db.QueryContext(ctx, `SELECT text, COUNT(*) FROM interactions WHERE type = 'PollParticipation' AND parent_guid = ? GROUP BY text`, v.Poll.GUID)
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
	if v.Tags == nil {
		v.Tags = []string{}
	}
	rows, err := s.db.QueryContext(ctx, `SELECT guid, type, author, text, created_at FROM interactions
		WHERE post_guid = ? AND parent_type = 'Post' AND type IN ('Comment', 'Like') AND positive = 1 ORDER BY created_at, rowid`, guid)
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
		if errors.Is(err, errNotFound) {
			continue // gone meanwhile, or its author is suspended
		}
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}
