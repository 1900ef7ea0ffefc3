package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/salmon"
)

// --- profile ---

// ProfileInput is a profile update.
type ProfileInput struct {
	FullName string `json:"full_name"`
	Bio      string `json:"bio"`
}

// UpdateProfile stores the user's name and bio and sends the Profile
// publicly to the pods of everyone the user is connected with.
func (p *Pod) UpdateProfile(ctx context.Context, u *User, in ProfileInput) error {
	pr := &entities.Profile{Author: u.ID, EditedAt: time.Now().UTC().Truncate(time.Second), FullName: in.FullName,
		Bio: in.Bio, Searchable: true, Public: in.Bio != ""}
	if err := pr.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errInvalid, err)
	}
	ds, err := p.toAudience(ctx, u, pr)
	if err != nil {
		return err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE people SET full_name = ?, bio = ? WHERE id = ?`, in.FullName, in.Bio, u.ID); err != nil {
			return err
		}
		return enqueue(ctx, tx, "profile:"+u.ID, ds)
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// --- account deletion ---

// DeleteAccount closes a local account after checking its password: its
// content and sessions are deleted, the account stays as a suspended
// tombstone (so the ID is never reused) and an AccountDeletion goes to
// every connected pod.
func (p *Pod) DeleteAccount(ctx context.Context, u *User, password, addr string) error {
	if _, err := p.Login(ctx, u.Username, password, addr); err != nil {
		return err
	}
	ds, err := p.toAudience(ctx, u, &entities.AccountDeletion{Author: u.ID})
	if err != nil {
		return err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		for _, q := range []string{
			`DELETE FROM interactions WHERE author = ?`,
			`DELETE FROM interactions WHERE post_guid IN (SELECT guid FROM posts WHERE author = ?)`,
			`DELETE FROM posts WHERE author = ?`,
			`DELETE FROM conversation_participants WHERE person_id = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, u.ID); err != nil {
				return err
			}
		}
		for _, q := range []string{
			`DELETE FROM contacts WHERE username = ?`,
			`DELETE FROM aspect_memberships WHERE username = ?`,
			`DELETE FROM notifications WHERE username = ?`,
			`DELETE FROM sessions WHERE username = ?`,
			`UPDATE users SET suspended = 1, password_hash = '', private_key = '' WHERE username = ?`,
		} {
			if _, err := tx.ExecContext(ctx, q, u.Username); err != nil {
				return err
			}
		}
		for _, q := range []string{`DELETE FROM contacts WHERE person_id = ?`, `DELETE FROM aspect_memberships WHERE person_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, u.ID); err != nil {
				return err
			}
		}
		return enqueue(ctx, tx, "account_deletion:"+u.ID, ds)
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// --- reshare ---

// Reshare shares a public post with the user's contacts; the root
// author's pod gets it too.
func (p *Pod) Reshare(ctx context.Context, u *User, rootGUID string) (*PostView, error) {
	if _, err := p.store.PostView(ctx, u, rootGUID); err != nil {
		return nil, err // a post the user cannot see is not found
	}
	root, err := getPost(ctx, p.store.db, rootGUID)
	if err != nil {
		return nil, err
	}
	if !root.Public || root.Type != "status_message" {
		return nil, fmt.Errorf("%w: only public status messages can be reshared", errInvalid)
	}
	rs := &entities.Reshare{Author: u.ID, GUID: newGUID(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		RootAuthor: root.Author, RootGUID: root.GUID}
	if err := rs.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	payload, err := entities.MarshalXML(rs)
	if err != nil {
		return nil, err
	}
	pods, err := contactPods(ctx, p.store.db, u.Username)
	if err != nil {
		return nil, err
	}
	if !root.Local {
		if per, err := p.store.person(ctx, p.store.db, root.Author); err == nil {
			pods = appendOnce(pods, per.PodURL)
		}
	}
	ds, err := salmon.PublicDeliveries(payload, u.ID, p.signer(u.Key), pods, p.envOpts)
	if err != nil {
		return nil, err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		row := &postRow{GUID: rs.GUID, Type: rs.Type(), Author: u.ID, Public: true, Local: true, RootGUID: root.GUID,
			Payload: payload, CreatedAt: rs.CreatedAt}
		if _, err := insertPost(ctx, tx, row, nil, nil); err != nil {
			return err
		}
		if err := notifyLocalAuthor(ctx, tx, root.GUID, "reshared", u.ID); err != nil {
			return err
		}
		for _, pod := range pods {
			if _, err := tx.ExecContext(ctx, `INSERT INTO post_pods (post_guid, pod_url) VALUES (?, ?) ON CONFLICT DO NOTHING`, rs.GUID, pod); err != nil {
				return err
			}
		}
		return enqueue(ctx, tx, "reshare:"+rs.GUID, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	return p.store.PostView(ctx, u, rs.GUID)
}

// --- conversations ---

// ConversationInput starts a conversation.
type ConversationInput struct {
	Subject      string   `json:"subject"`
	Text         string   `json:"text"`
	Participants []string `json:"participants"` // diaspora* IDs, the author left out
}

// ConversationView is a conversation with its messages.
type ConversationView struct {
	GUID         string        `json:"guid"`
	Author       string        `json:"author"`
	Subject      string        `json:"subject"`
	CreatedAt    string        `json:"created_at"`
	Participants []string      `json:"participants"`
	Messages     []MessageView `json:"messages"`
}

// MessageView is one message of a conversation.
type MessageView struct {
	GUID      string `json:"guid"`
	Author    string `json:"author"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}

// StartConversation sends a Conversation with its first message privately
// to every remote participant.
func (p *Pod) StartConversation(ctx context.Context, u *User, in ConversationInput) (*ConversationView, error) {
	if strings.TrimSpace(in.Subject) == "" || strings.TrimSpace(in.Text) == "" || len(in.Participants) == 0 {
		return nil, fmt.Errorf("%w: subject, text and participants are required", errInvalid)
	}
	ids := []string{u.ID}
	for _, raw := range in.Participants {
		id, err := discovery.NormalizeID(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errInvalid, err)
		}
		ids = appendOnce(ids, id)
	}
	recipients, err := p.recipients(ctx, ids, u.ID)
	if err != nil {
		return nil, err
	}
	t := time.Now().UTC().Truncate(time.Second)
	guid := newGUID()
	msg := &entities.Message{Author: u.ID, GUID: newGUID(), Text: in.Text, CreatedAt: t, ConversationGUID: guid}
	conv := &entities.Conversation{Author: u.ID, GUID: guid, Subject: in.Subject, CreatedAt: t,
		Participants: strings.Join(ids, ";"), Messages: []*entities.Message{msg}}
	if err := conv.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	payload, err := entities.MarshalXML(conv)
	if err != nil {
		return nil, err
	}
	ds, err := salmon.PrivateDeliveries(payload, u.ID, u.Key, recipients, p.envOpts)
	if err != nil {
		return nil, err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		if err := storeConversation(ctx, tx, conv); err != nil {
			return err
		}
		return enqueue(ctx, tx, "conversation:"+guid, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	return p.store.Conversation(ctx, u, guid)
}

// recipients discovers the remote people among ids (except self).
func (p *Pod) recipients(ctx context.Context, ids []string, self string) ([]salmon.Recipient, error) {
	var rs []salmon.Recipient
	for _, id := range ids {
		if id == self {
			continue
		}
		if _, err := p.store.UserByID(ctx, id); err == nil {
			continue // local: stored, not sent
		}
		per, err := p.lookup(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("discovering %s: %w", id, err)
		}
		rs = append(rs, salmon.Recipient{GUID: per.GUID, Pod: per.PodURL, PublicKey: per.PublicKey})
	}
	return rs, nil
}

// SendMessage adds a message to a conversation the user takes part in.
func (p *Pod) SendMessage(ctx context.Context, u *User, convGUID, text string) (*MessageView, error) {
	cv, err := p.store.Conversation(ctx, u, convGUID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: empty message", errInvalid)
	}
	m := &entities.Message{Author: u.ID, GUID: newGUID(), Text: text, CreatedAt: time.Now().UTC().Truncate(time.Second), ConversationGUID: convGUID}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", errInvalid, err)
	}
	payload, err := entities.MarshalXML(m)
	if err != nil {
		return nil, err
	}
	recipients, err := p.recipients(ctx, cv.Participants, u.ID)
	if err != nil {
		return nil, err
	}
	ds, err := salmon.PrivateDeliveries(payload, u.ID, u.Key, recipients, p.envOpts)
	if err != nil {
		return nil, err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		if err := storeMessage(ctx, tx, m); err != nil {
			return err
		}
		return enqueue(ctx, tx, "message:"+m.GUID, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	return &MessageView{GUID: m.GUID, Author: u.ID, Text: text, CreatedAt: m.CreatedAt.Format(time.RFC3339)}, nil
}

// storeConversation stores a conversation once (same guid and author
// again is a no-op) with its participants and messages.
func storeConversation(ctx context.Context, tx *sqlTx, c *entities.Conversation) error {
	var author string
	err := tx.QueryRowContext(ctx, `SELECT author FROM conversations WHERE guid = ?`, c.GUID).Scan(&author)
	if err == nil {
		if author != c.Author {
			return errWrongAuthor
		}
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO conversations (guid, author, subject, created_at) VALUES (?, ?, ?, ?)`,
		c.GUID, c.Author, c.Subject, c.CreatedAt.UnixMilli()); err != nil {
		return err
	}
	for _, id := range c.ParticipantIDs() {
		if _, err := tx.ExecContext(ctx, `INSERT INTO conversation_participants (conversation_guid, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, c.GUID, id); err != nil {
			return err
		}
	}
	for _, m := range c.Messages {
		if err := storeMessage(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// errUnknownConversation: a message for a conversation not (yet) here.
var errUnknownConversation = errors.New("unknown conversation")

// storeMessage stores a message once; its author must take part in the
// conversation.
func storeMessage(ctx context.Context, tx *sqlTx, m *entities.Message) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversations WHERE guid = ?`, m.ConversationGUID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return errUnknownConversation
	}
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM conversation_participants WHERE conversation_guid = ? AND person_id = ?`,
		m.ConversationGUID, m.Author).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return finalError{fmt.Errorf("%s is no participant of conversation %s", m.Author, m.ConversationGUID)}
	}
	var author string
	err := tx.QueryRowContext(ctx, `SELECT author FROM messages WHERE guid = ?`, m.GUID).Scan(&author)
	if err == nil {
		if author != m.Author {
			return errWrongAuthor
		}
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO messages (guid, conversation_guid, author, text, created_at) VALUES (?, ?, ?, ?, ?)`,
		m.GUID, m.ConversationGUID, m.Author, m.Text, m.CreatedAt.UnixMilli())
	return err
}

// Conversations lists the user's conversations, newest first, without messages.
func (s *Store) Conversations(ctx context.Context, u *User) ([]ConversationView, error) {
	guids, err := strings1(ctx, s.db, `SELECT c.guid FROM conversations c JOIN conversation_participants cp ON cp.conversation_guid = c.guid
		WHERE cp.person_id = ? ORDER BY c.created_at DESC LIMIT 100`, u.ID)
	if err != nil {
		return nil, err
	}
	out := []ConversationView{}
	for _, g := range guids {
		c, err := s.Conversation(ctx, u, g)
		if err != nil {
			return nil, err
		}
		out = append(out, *c)
	}
	return out, nil
}

// Conversation loads a conversation the user takes part in.
func (s *Store) Conversation(ctx context.Context, u *User, guid string) (*ConversationView, error) {
	var c ConversationView
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT c.guid, c.author, c.subject, c.created_at FROM conversations c
		JOIN conversation_participants cp ON cp.conversation_guid = c.guid WHERE c.guid = ? AND cp.person_id = ?`, guid, u.ID).
		Scan(&c.GUID, &c.Author, &c.Subject, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	if err != nil {
		return nil, err
	}
	c.CreatedAt = time.UnixMilli(created).UTC().Format(time.RFC3339)
	if c.Participants, err = strings1(ctx, s.db, `SELECT person_id FROM conversation_participants WHERE conversation_guid = ? ORDER BY person_id`, guid); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT guid, author, text, created_at FROM messages WHERE conversation_guid = ? ORDER BY created_at, rowid`, guid)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c.Messages = []MessageView{}
	for rows.Next() {
		var m MessageView
		var t int64
		if err := rows.Scan(&m.GUID, &m.Author, &m.Text, &t); err != nil {
			return nil, err
		}
		m.CreatedAt = time.UnixMilli(t).UTC().Format(time.RFC3339)
		c.Messages = append(c.Messages, m)
	}
	return &c, rows.Err()
}

// toAudience serializes an entity of u and builds its public deliveries,
// signed once, to the pods of u's contacts.
func (p *Pod) toAudience(ctx context.Context, u *User, e entities.Entity) ([]salmon.Delivery, error) {
	payload, err := entities.MarshalXML(e)
	if err != nil {
		return nil, err
	}
	pods, err := contactPods(ctx, p.store.db, u.Username)
	if err != nil {
		return nil, err
	}
	return salmon.PublicDeliveries(payload, u.ID, p.signer(u.Key), pods, p.envOpts)
}
