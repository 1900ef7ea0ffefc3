package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-diaspora/federation/entities"
)

// StoreConversation stores a conversation once (same guid and author
// again is a no-op) with its participants and messages.
func StoreConversation(ctx context.Context, tx *Tx, c *entities.Conversation) error {
	var author string
	err := tx.queryRow(ctx, `SELECT author FROM conversations WHERE guid = ?`, c.GUID).Scan(&author)
	if err == nil {
		if author != c.Author {
			return ErrWrongAuthor
		}
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.exec(ctx, `INSERT INTO conversations (guid, author, subject, created_at) VALUES (?, ?, ?, ?)`,
		c.GUID, c.Author, c.Subject, c.CreatedAt.UnixMilli()); err != nil {
		return err
	}
	for _, id := range c.ParticipantIDs() {
		if _, err := tx.exec(ctx, `INSERT INTO conversation_participants (conversation_guid, person_id) VALUES (?, ?) ON CONFLICT DO NOTHING`, c.GUID, id); err != nil {
			return err
		}
	}
	for _, m := range c.Messages {
		if err := StoreMessage(ctx, tx, m); err != nil {
			return err
		}
	}
	return nil
}

// StoreMessage stores a message once; its author must take part in the
// conversation.
func StoreMessage(ctx context.Context, tx *Tx, m *entities.Message) error {
	var n int
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM conversations WHERE guid = ?`, m.ConversationGUID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return ErrUnknownConversation
	}
	if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM conversation_participants WHERE conversation_guid = ? AND person_id = ?`,
		m.ConversationGUID, m.Author).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: %s in conversation %s", ErrNotParticipant, m.Author, m.ConversationGUID)
	}
	var author string
	err := tx.queryRow(ctx, `SELECT author FROM messages WHERE guid = ?`, m.GUID).Scan(&author)
	if err == nil {
		if author != m.Author {
			return ErrWrongAuthor
		}
		return nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO messages (guid, conversation_guid, author, text, created_at) VALUES (?, ?, ?, ?, ?)`,
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
	err := s.db.queryRow(ctx, `SELECT c.guid, c.author, c.subject, c.created_at FROM conversations c
		JOIN conversation_participants cp ON cp.conversation_guid = c.guid WHERE c.guid = ? AND cp.person_id = ?`, guid, u.ID).
		Scan(&c.GUID, &c.Author, &c.Subject, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	c.CreatedAt = time.UnixMilli(created).UTC().Format(time.RFC3339)
	if c.Participants, err = strings1(ctx, s.db, `SELECT person_id FROM conversation_participants WHERE conversation_guid = ? ORDER BY person_id`, guid); err != nil {
		return nil, err
	}
	rows, err := s.db.query(ctx, `SELECT guid, author, text, created_at FROM messages WHERE conversation_guid = ? ORDER BY created_at, rowid`, guid)
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
