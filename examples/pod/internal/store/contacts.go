package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// AspectView is an aspect as the API shows it.
type AspectView struct {
	ID      int64  `json:"id"`
	Name    string `json:"name"`
	Members int    `json:"members"`
}

// ContactView is a contact as the API shows it.
type ContactView struct {
	ID        string   `json:"id"`
	GUID      string   `json:"guid"`
	Name      string   `json:"name"`
	PodURL    string   `json:"pod_url"`
	Sharing   bool     `json:"sharing"`   // they share with you
	Receiving bool     `json:"receiving"` // you share with them
	Aspects   []string `json:"aspects"`
}

// Aspects lists a user's aspects with their member counts, in the order
// they were made.
func (s *Store) Aspects(ctx context.Context, username string) ([]AspectView, error) {
	rows, err := s.db.query(ctx, `SELECT a.id, a.name, (SELECT COUNT(*) FROM aspect_memberships m WHERE m.aspect_id = a.id)
		FROM aspects a WHERE a.username = ? ORDER BY a.id`, username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AspectView{}
	for rows.Next() {
		var a AspectView
		if err := rows.Scan(&a.ID, &a.Name, &a.Members); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (s *Store) Aspect(ctx context.Context, q Q, username string, id int64) (*AspectView, error) {
	var a AspectView
	err := q.queryRow(ctx, `SELECT a.id, a.name, (SELECT COUNT(*) FROM aspect_memberships m WHERE m.aspect_id = a.id)
		FROM aspects a WHERE a.username = ? AND a.id = ?`, username, id).Scan(&a.ID, &a.Name, &a.Members)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return &a, err
}

// ContactAspects lists the ids of the aspects a person is in.
func (s *Store) ContactAspects(ctx context.Context, q Q, username, personID string) ([]int64, error) {
	rows, err := q.query(ctx, `SELECT m.aspect_id FROM aspect_memberships m WHERE m.username = ? AND m.person_id = ? ORDER BY m.aspect_id`,
		username, personID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// AspectIDs resolves aspect names of a user, once each; an unknown name
// is ErrInvalid.
func (s *Store) AspectIDs(ctx context.Context, username string, names []string) ([]int64, error) {
	var unique []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !seen[n] {
			seen[n] = true
			unique = append(unique, n)
		}
	}
	if len(unique) > MaxAspects {
		return nil, fmt.Errorf("%w: more than %d aspects named", ErrInvalid, MaxAspects)
	}
	ids := make([]int64, 0, len(unique))
	for _, n := range unique {
		var id int64
		err := s.db.queryRow(ctx, `SELECT id FROM aspects WHERE username = ? AND name = ?`, username, n).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: you have no aspect named %q", ErrInvalid, n)
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// SetContact sets one direction (sharing or receiving) of a contact,
// creating the row, and deletes a row left with neither.
func SetContact(ctx context.Context, tx *Tx, username, personID, column string, on bool) error {
	if column != "sharing" && column != "receiving" {
		return fmt.Errorf("setContact: no column %q", column)
	}
	if _, err := tx.exec(ctx, `INSERT INTO contacts (username, person_id, `+column+`, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (username, person_id) DO UPDATE SET `+column+` = excluded.`+column, username, personID, on, now()); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `DELETE FROM contacts WHERE username = ? AND person_id = ? AND sharing = 0 AND receiving = 0`, username, personID)
	return err
}

// contactQuery selects contacts; their aspects come from contactAspectNames.
const contactQuery = `SELECT c.person_id, COALESCE(p.guid, ''), COALESCE(p.full_name, ''), COALESCE(p.pod_url, ''), c.sharing, c.receiving
	FROM contacts c LEFT JOIN people p ON p.id = c.person_id WHERE c.username = ?`

// contactAspectNames adds the aspect names of each contact, in the
// aspects' order.
func (s *Store) contactAspectNames(ctx context.Context, username string, cs []ContactView) error {
	if len(cs) == 0 {
		return nil
	}
	byID := make(map[string]*ContactView, len(cs))
	for i := range cs {
		cs[i].Aspects = []string{}
		byID[cs[i].ID] = &cs[i]
	}
	q := `SELECT m.person_id, a.name FROM aspect_memberships m JOIN aspects a ON a.id = m.aspect_id WHERE m.username = ?`
	args := []any{username}
	if len(cs) == 1 {
		q += ` AND m.person_id = ?`
		args = append(args, cs[0].ID)
	}
	rows, err := s.db.query(ctx, q+` ORDER BY a.id`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			return err
		}
		if c := byID[id]; c != nil {
			c.Aspects = append(c.Aspects, name)
		}
	}
	return rows.Err()
}

func scanContact(rows interface{ Scan(...any) error }) (ContactView, error) {
	var c ContactView
	err := rows.Scan(&c.ID, &c.GUID, &c.Name, &c.PodURL, &c.Sharing, &c.Receiving)
	return c, err
}

// Contacts lists a user's contacts (either direction) by diaspora* ID.
func (s *Store) Contacts(ctx context.Context, username string) ([]ContactView, error) {
	rows, err := s.db.query(ctx, contactQuery+` ORDER BY c.person_id`, username)
	if err != nil {
		return nil, err
	}
	out := []ContactView{}
	for rows.Next() {
		c, err := scanContact(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.contactAspectNames(ctx, username, out)
}

// Contact loads one contact of a user, or ErrNotFound.
func (s *Store) Contact(ctx context.Context, username, id string) (*ContactView, error) {
	c, err := scanContact(s.db.queryRow(ctx, contactQuery+` AND c.person_id = ?`, username, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	cs := []ContactView{c}
	if err := s.contactAspectNames(ctx, username, cs); err != nil {
		return nil, err
	}
	return &cs[0], nil
}

// ContactPods lists the pods of every remote contact of a user, in
// either direction: where public posts, reshares, profiles and account
// deletions go (diaspora*'s subscribers of a public post).
func ContactPods(ctx context.Context, q Q, username string) ([]string, error) {
	return strings1(ctx, q, `SELECT DISTINCT p.pod_url FROM contacts c JOIN people p ON p.id = c.person_id
		WHERE c.username = ? AND (c.sharing = 1 OR c.receiving = 1) AND p.local = 0 ORDER BY p.pod_url`, username)
}

// MaxAspectName is the longest aspect name in characters (diaspora*'s).
const MaxAspectName = 255

// MaxAspects caps the aspects of one user.
const MaxAspects = 100

// aspectName checks and trims the name of a new or renamed aspect.
func aspectName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fmt.Errorf("%w: an aspect needs a name", ErrInvalid)
	case utf8.RuneCountInString(name) > MaxAspectName:
		return "", fmt.Errorf("%w: an aspect name has at most %d characters", ErrInvalid, MaxAspectName)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("%w: an aspect name cannot contain control characters", ErrInvalid)
	}
	return name, nil
}

// ParseAspectNames reads a list of aspect names, one per line or
// separated by commas, as the default aspects of new users: each is
// checked like a new aspect's name, repeats are dropped, and the list has
// one to MaxAspects names.
func ParseAspectNames(text string) ([]string, error) {
	var out []string
	for _, f := range strings.FieldsFunc(text, func(r rune) bool { return r == '\n' || r == ',' }) {
		if strings.TrimSpace(f) == "" {
			continue
		}
		name, err := aspectName(f)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("%w: new users need at least one aspect", ErrInvalid)
	case len(out) > MaxAspects:
		return nil, fmt.Errorf("%w: at most %d aspects", ErrInvalid, MaxAspects)
	}
	return out, nil
}

// CreateAspect adds an aspect to a user's (ErrConflict when the name is
// in use, ErrInvalid past MaxAspects).
func (s *Store) CreateAspect(ctx context.Context, username, name string) (*AspectView, error) {
	name, err := aspectName(name)
	if err != nil {
		return nil, err
	}
	var id int64
	err = s.Do(ctx, func(tx *Tx) error {
		var n, same int
		if err := tx.queryRow(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN name = ? THEN 1 ELSE 0 END), 0) FROM aspects WHERE username = ?`,
			name, username).Scan(&n, &same); err != nil {
			return err
		}
		if same > 0 {
			return fmt.Errorf("%w: you already have an aspect named %q", ErrConflict, name)
		}
		if n >= MaxAspects {
			return fmt.Errorf("%w: you have %d aspects, the most a user can have", ErrInvalid, n)
		}
		return tx.queryRow(ctx, `INSERT INTO aspects (username, name) VALUES (?, ?) RETURNING id`, username, name).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return &AspectView{ID: id, Name: name}, nil
}

// RenameAspect renames one of a user's aspects.
func (s *Store) RenameAspect(ctx context.Context, username string, id int64, name string) (*AspectView, error) {
	name, err := aspectName(name)
	if err != nil {
		return nil, err
	}
	var a *AspectView
	err = s.Do(ctx, func(tx *Tx) error {
		if a, err = s.Aspect(ctx, tx, username, id); err != nil {
			return err
		}
		var same int
		if err := tx.queryRow(ctx, `SELECT COUNT(*) FROM aspects WHERE username = ? AND name = ? AND id <> ?`, username, name, id).Scan(&same); err != nil {
			return err
		}
		if same > 0 {
			return fmt.Errorf("%w: you already have an aspect named %q", ErrConflict, name)
		}
		a.Name = name
		_, err := tx.exec(ctx, `UPDATE aspects SET name = ? WHERE id = ?`, name, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// AspectMembers lists the diaspora* IDs in an aspect.
func AspectMembers(ctx context.Context, q Q, aspectID int64) ([]string, error) {
	return strings1(ctx, q, `SELECT person_id FROM aspect_memberships WHERE aspect_id = ? ORDER BY person_id`, aspectID)
}

// DeleteAspect deletes a user's aspect and its memberships.
func DeleteAspect(ctx context.Context, tx *Tx, username string, id int64) error {
	_, err := tx.exec(ctx, `DELETE FROM aspects WHERE id = ? AND username = ?`, id, username)
	return err
}

// ContactState reads both directions of a contact (false, false when
// there is none).
func ContactState(ctx context.Context, q Q, username, personID string) (receiving, sharing bool, err error) {
	err = q.queryRow(ctx, `SELECT receiving, sharing FROM contacts WHERE username = ? AND person_id = ?`, username, personID).Scan(&receiving, &sharing)
	if errors.Is(err, sql.ErrNoRows) {
		err = nil
	}
	return receiving, sharing, err
}

// SetMemberships puts a person into exactly the given aspects of a user.
func SetMemberships(ctx context.Context, tx *Tx, username, personID string, aspects []int64) error {
	if _, err := tx.exec(ctx, `DELETE FROM aspect_memberships WHERE username = ? AND person_id = ?`, username, personID); err != nil {
		return err
	}
	for _, a := range aspects {
		if _, err := tx.exec(ctx, `INSERT INTO aspect_memberships (aspect_id, username, person_id) VALUES (?, ?, ?)`, a, username, personID); err != nil {
			return err
		}
	}
	return nil
}

// AspectsMembers lists the diaspora* IDs in any of the given aspects,
// once each.
func AspectsMembers(ctx context.Context, q Q, aspects []int64) ([]string, error) {
	if len(aspects) == 0 {
		return nil, nil
	}
	args := make([]any, len(aspects))
	for i, a := range aspects {
		args[i] = a
	}
	return strings1(ctx, q, `SELECT DISTINCT person_id FROM aspect_memberships
		WHERE aspect_id IN (?`+strings.Repeat(", ?", len(aspects)-1)+`) ORDER BY person_id`, args...)
}
