package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/salmon"
)

// diaspora*'s sharing model: a contact of a user has two directions.
// sharing means the person shares with the user (their Contact entity
// said so); receiving means the user shares with the person, which is
// the same as the person being in at least one of the user's aspects.
// Public posts go to the pods of every contact in either direction (and
// of mentioned people); limited posts to the members of the chosen
// aspects. A Contact entity goes out only when receiving changes.

// errConflict: the request clashes with what exists (a second like, an
// aspect name in use).
var errConflict = errors.New("conflict")

// maxAspectName is the longest aspect name in characters (diaspora*'s).
const maxAspectName = 255

// maxAspects caps the aspects of one user.
const maxAspects = 100

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
	rows, err := s.db.QueryContext(ctx, `SELECT a.id, a.name, (SELECT COUNT(*) FROM aspect_memberships m WHERE m.aspect_id = a.id)
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

func (s *Store) aspect(ctx context.Context, q queryer, username string, id int64) (*AspectView, error) {
	var a AspectView
	err := q.QueryRowContext(ctx, `SELECT a.id, a.name, (SELECT COUNT(*) FROM aspect_memberships m WHERE m.aspect_id = a.id)
		FROM aspects a WHERE a.username = ? AND a.id = ?`, username, id).Scan(&a.ID, &a.Name, &a.Members)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
	}
	return &a, err
}

// aspectName checks and trims the name of a new or renamed aspect.
func aspectName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", fmt.Errorf("%w: an aspect needs a name", errInvalid)
	case utf8.RuneCountInString(name) > maxAspectName:
		return "", fmt.Errorf("%w: an aspect name has at most %d characters", errInvalid, maxAspectName)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("%w: an aspect name cannot contain control characters", errInvalid)
	}
	return name, nil
}

// CreateAspect adds an aspect.
func (p *Pod) CreateAspect(ctx context.Context, u *User, name string) (*AspectView, error) {
	name, err := aspectName(name)
	if err != nil {
		return nil, err
	}
	var id int64
	err = p.store.do(ctx, func(tx *sqlTx) error {
		var n, same int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN name = ? THEN 1 ELSE 0 END), 0) FROM aspects WHERE username = ?`,
			name, u.Username).Scan(&n, &same); err != nil {
			return err
		}
		if same > 0 {
			return fmt.Errorf("%w: you already have an aspect named %q", errConflict, name)
		}
		if n >= maxAspects {
			return fmt.Errorf("%w: you have %d aspects, the most a user can have", errInvalid, n)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO aspects (username, name) VALUES (?, ?) RETURNING id`, u.Username, name).Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	return &AspectView{ID: id, Name: name}, nil
}

// RenameAspect renames one of the user's aspects.
func (p *Pod) RenameAspect(ctx context.Context, u *User, id int64, name string) (*AspectView, error) {
	name, err := aspectName(name)
	if err != nil {
		return nil, err
	}
	var a *AspectView
	err = p.store.do(ctx, func(tx *sqlTx) error {
		if a, err = p.store.aspect(ctx, tx, u.Username, id); err != nil {
			return err
		}
		var same int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM aspects WHERE username = ? AND name = ? AND id <> ?`, u.Username, name, id).Scan(&same); err != nil {
			return err
		}
		if same > 0 {
			return fmt.Errorf("%w: you already have an aspect named %q", errConflict, name)
		}
		a.Name = name
		_, err := tx.ExecContext(ctx, `UPDATE aspects SET name = ? WHERE id = ?`, name, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// DeleteAspect deletes one of the user's aspects. Its members stay in
// their other aspects; those it was the last aspect of are no longer
// shared with, and learn it as diaspora* tells them (a Contact entity).
func (p *Pod) DeleteAspect(ctx context.Context, u *User, id int64) error {
	if _, err := p.store.aspect(ctx, p.store.db, u.Username, id); err != nil {
		return err
	}
	members, err := strings1(ctx, p.store.db, `SELECT person_id FROM aspect_memberships WHERE aspect_id = ? ORDER BY person_id`, id)
	if err != nil {
		return err
	}
	// Members who are only in this aspect stop receiving: their Contact
	// entities are made before the transaction (signing takes time).
	plans := map[string]*contactPlan{}
	for _, m := range members {
		cur, err := p.store.contactAspects(ctx, p.store.db, u.Username, m)
		if err != nil {
			return err
		}
		if len(cur) == 1 {
			if plans[m], err = p.planContact(ctx, u, m, false, true); err != nil {
				return err
			}
		}
	}
	err = p.store.do(ctx, func(tx *sqlTx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM aspects WHERE id = ? AND username = ?`, id, u.Username); err != nil {
			return err
		}
		for _, m := range members {
			left, err := p.store.contactAspects(ctx, tx, u.Username, m)
			if err != nil {
				return err
			}
			if len(left) > 0 {
				continue
			}
			plan := plans[m]
			if plan == nil { // joined another aspect meanwhile and left it again
				continue
			}
			if err := p.applyContactPlan(ctx, tx, u, plan, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// contactAspects lists the ids of the aspects a person is in.
func (s *Store) contactAspects(ctx context.Context, q rowser, username, personID string) ([]int64, error) {
	rows, err := q.QueryContext(ctx, `SELECT m.aspect_id FROM aspect_memberships m WHERE m.username = ? AND m.person_id = ? ORDER BY m.aspect_id`,
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

// aspectIDs resolves aspect names of a user, once each; an unknown name
// is errInvalid.
func (s *Store) aspectIDs(ctx context.Context, username string, names []string) ([]int64, error) {
	var unique []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if !seen[n] {
			seen[n] = true
			unique = append(unique, n)
		}
	}
	if len(unique) > maxAspects {
		return nil, fmt.Errorf("%w: more than %d aspects named", errInvalid, maxAspects)
	}
	ids := make([]int64, 0, len(unique))
	for _, n := range unique {
		var id int64
		err := s.db.QueryRowContext(ctx, `SELECT id FROM aspects WHERE username = ? AND name = ?`, username, n).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: you have no aspect named %q", errInvalid, n)
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// contactPlan is what changing a contact needs that is made before the
// write transaction: who the person is and the Contact entity that tells
// them the new state.
type contactPlan struct {
	person    *discovery.Person
	local     *User // the person's account when they are on this pod
	receiving bool  // the state the Contact entity announces
	ds        []salmon.Delivery
}

// planContact finds a person (discovering a new one) and, with announce,
// signs the Contact entity that tells them receiving.
func (p *Pod) planContact(ctx context.Context, u *User, id string, receiving, announce bool) (*contactPlan, error) {
	if _, host, ok := strings.Cut(id, "@"); ok && receiving {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return nil, err
		} else if b {
			return nil, fmt.Errorf("%w: %s is on %s, a pod this pod has blocked; the podmin can unblock it", errInvalid, id, host)
		}
	}
	per, err := p.lookup(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("discovering %s: %w", id, err)
	}
	plan := &contactPlan{person: per, receiving: receiving}
	if lu, err := p.store.UserByID(ctx, id); err == nil {
		plan.local = lu
		return plan, nil
	} else if !errors.Is(err, errNotFound) {
		return nil, err
	}
	if !announce {
		return plan, nil
	}
	c := &entities.Contact{Author: u.ID, Recipient: id, Following: receiving, Sharing: receiving}
	payload, err := entities.MarshalXML(c)
	if err != nil {
		return nil, err
	}
	plan.ds, err = salmon.PrivateDeliveries(payload, u.ID, p.signer(u.Key),
		[]salmon.Recipient{{GUID: per.GUID, Pod: per.PodURL, PublicKey: per.PublicKey}}, p.envOpts)
	return plan, err
}

// applyContactPlan sets a contact's aspects (nil: none) in tx and, when
// receiving changes, tells the person: a Contact entity to a remote
// person, the other side of the contact for a local one.
func (p *Pod) applyContactPlan(ctx context.Context, tx *sqlTx, u *User, plan *contactPlan, aspects []int64) error {
	id := plan.person.ID
	var receiving, sharing bool
	err := tx.QueryRowContext(ctx, `SELECT receiving, sharing FROM contacts WHERE username = ? AND person_id = ?`, u.Username, id).Scan(&receiving, &sharing)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM aspect_memberships WHERE username = ? AND person_id = ?`, u.Username, id); err != nil {
		return err
	}
	for _, a := range aspects {
		if _, err := tx.ExecContext(ctx, `INSERT INTO aspect_memberships (aspect_id, username, person_id) VALUES (?, ?, ?)`, a, u.Username, id); err != nil {
			return err
		}
	}
	now := len(aspects) > 0
	if err := setContact(ctx, tx, u.Username, id, "receiving", now); err != nil {
		return err
	}
	if now == receiving {
		return nil
	}
	if now != plan.receiving || (plan.local == nil && plan.ds == nil) {
		return fmt.Errorf("%w: the contact %s changed while it was being updated; try again", errConflict, id)
	}
	if plan.local != nil {
		return p.receiveSharing(ctx, tx, plan.local, u.ID, now)
	}
	return enqueue(ctx, tx, "contact:"+id, plan.ds)
}

// setContact sets one direction (sharing or receiving) of a contact,
// creating the row, and deletes a row left with neither.
func setContact(ctx context.Context, tx *sqlTx, username, personID, column string, on bool) error {
	if column != "sharing" && column != "receiving" {
		return fmt.Errorf("setContact: no column %q", column)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO contacts (username, person_id, `+column+`, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (username, person_id) DO UPDATE SET `+column+` = excluded.`+column, username, personID, on, now()); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM contacts WHERE username = ? AND person_id = ? AND sharing = 0 AND receiving = 0`, username, personID)
	return err
}

// receiveSharing records that author started (or stopped) sharing with
// the local user u: the Contact entity of a remote author, or a local
// user's aspect change.
func (p *Pod) receiveSharing(ctx context.Context, tx *sqlTx, u *User, author string, sharing bool) error {
	var was bool
	err := tx.QueryRowContext(ctx, `SELECT sharing FROM contacts WHERE username = ? AND person_id = ?`, u.Username, author).Scan(&was)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if err := setContact(ctx, tx, u.Username, author, "sharing", sharing); err != nil {
		return err
	}
	if sharing && !was {
		return addNotification(ctx, tx, u.Username, "started_sharing", author, "")
	}
	return nil
}

// ShareWith changes the aspects a person is in for the user. add puts
// them into the named aspects besides those they are in; otherwise the
// named aspects replace the current ones, and none means stop sharing.
// The person is discovered when new; a Contact entity goes out only
// when sharing starts or stops.
func (p *Pod) ShareWith(ctx context.Context, u *User, rawID string, aspects []string, add bool) (*ContactView, error) {
	id, err := discovery.NormalizeID(rawID)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a diaspora* ID (like someone@example.org)", errInvalid, rawID)
	}
	if id == u.ID {
		return nil, fmt.Errorf("%w: you cannot share with yourself", errInvalid)
	}
	if add && len(aspects) == 0 {
		return nil, fmt.Errorf("%w: name at least one aspect to add the person to", errInvalid)
	}
	ids, err := p.store.aspectIDs(ctx, u.Username, aspects)
	if err != nil {
		return nil, err
	}
	cur, err := p.store.contactAspects(ctx, p.store.db, u.Username, id)
	if err != nil {
		return nil, err
	}
	if add {
		for _, c := range cur {
			if !slices.Contains(ids, c) {
				ids = append(ids, c)
			}
		}
	}
	if len(ids) == 0 && len(cur) == 0 {
		// Nothing to stop: not found unless they share with the user.
		return p.store.Contact(ctx, u.Username, id)
	}
	// A Contact entity is signed only when sharing starts or stops.
	plan, err := p.planContact(ctx, u, id, len(ids) > 0, (len(ids) > 0) != (len(cur) > 0))
	if err != nil {
		return nil, err
	}
	err = p.store.do(ctx, func(tx *sqlTx) error { return p.applyContactPlan(ctx, tx, u, plan, ids) })
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	c, err := p.store.Contact(ctx, u.Username, id)
	if errors.Is(err, errNotFound) { // no longer a contact in either direction
		per := plan.person
		return &ContactView{ID: id, GUID: per.GUID, Name: per.FullName, PodURL: per.PodURL, Aspects: []string{}}, nil
	}
	return c, err
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
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY a.id`, args...)
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
	rows, err := s.db.QueryContext(ctx, contactQuery+` ORDER BY c.person_id`, username)
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

// Contact loads one contact of a user, or errNotFound.
func (s *Store) Contact(ctx context.Context, username, id string) (*ContactView, error) {
	c, err := scanContact(s.db.QueryRowContext(ctx, contactQuery+` AND c.person_id = ?`, username, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound
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

// contactPods lists the pods of every remote contact of a user, in
// either direction: where public posts, reshares, profiles and account
// deletions go (diaspora*'s subscribers of a public post).
func contactPods(ctx context.Context, q rowser, username string) ([]string, error) {
	return strings1(ctx, q, `SELECT DISTINCT p.pod_url FROM contacts c JOIN people p ON p.id = c.person_id
		WHERE c.username = ? AND (c.sharing = 1 OR c.receiving = 1) AND p.local = 0 ORDER BY p.pod_url`, username)
}

// --- notifications ---

// NotificationView is a notification as the API shows it.
type NotificationView struct {
	ID         int64  `json:"id"`
	Type       string `json:"type"`
	Actor      string `json:"actor"`
	TargetGUID string `json:"target_guid,omitempty"`
	Unread     bool   `json:"unread"`
	CreatedAt  string `json:"created_at"`
}

// addNotification tells a local user what someone did.
func addNotification(ctx context.Context, tx *sqlTx, username, typ, actor, target string) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO notifications (username, type, actor, target_guid, created_at) VALUES (?, ?, ?, ?, ?)`,
		username, typ, actor, target, now())
	return err
}

// notifyLocalAuthor notifies the author of a post, when local and not
// the actor, of an interaction (comment_on_post, liked, reshared).
func notifyLocalAuthor(ctx context.Context, tx *sqlTx, postGUID, typ, actor string) error {
	var name string
	err := tx.QueryRowContext(ctx, `SELECT u.username FROM posts p JOIN users u ON u.person_id = p.author
		WHERE p.guid = ? AND p.author <> ?`, postGUID, actor).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	return addNotification(ctx, tx, name, typ, actor, postGUID)
}

// notifyInteraction notifies the local author of a post of a new
// comment or like on it.
func notifyInteraction(ctx context.Context, tx *sqlTx, row *interactionRow) error {
	switch {
	case row.ParentType != "Post":
		return nil
	case row.Type == "Comment":
		return notifyLocalAuthor(ctx, tx, row.PostGUID, "comment_on_post", row.Author)
	case row.Type == "Like" && row.Positive:
		return notifyLocalAuthor(ctx, tx, row.PostGUID, "liked", row.Author)
	}
	return nil
}

// notifyMentioned notifies the local people a new post mentions who can
// read it.
func notifyMentioned(ctx context.Context, tx *sqlTx, postGUID, author string, mentions []string) error {
	for _, m := range mentions {
		if m == author {
			continue
		}
		var name string
		err := tx.QueryRowContext(ctx, `SELECT u.username FROM users u JOIN posts p ON p.guid = ?
			WHERE u.person_id = ? AND u.suspended = 0 AND (p.public = 1 OR EXISTS
			(SELECT 1 FROM post_visibility v WHERE v.post_guid = p.guid AND v.username = u.username))`, postGUID, m).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return err
		}
		if err := addNotification(ctx, tx, name, "mentioned", author, postGUID); err != nil {
			return err
		}
	}
	return nil
}

// maxNotifications is the most notifications one API call lists.
const maxNotifications = 100

// Notifications lists a user's newest notifications (only the unread
// ones when unreadOnly) and counts the unread.
func (s *Store) Notifications(ctx context.Context, username string, unreadOnly bool) ([]NotificationView, int, error) {
	var unread int
	if err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications WHERE username = ? AND unread = 1`, username).Scan(&unread); err != nil {
		return nil, 0, err
	}
	q := `SELECT id, type, actor, target_guid, unread, created_at FROM notifications WHERE username = ?`
	if unreadOnly {
		q += ` AND unread = 1`
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id DESC LIMIT ?`, username, maxNotifications)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	out := []NotificationView{}
	for rows.Next() {
		var n NotificationView
		var t int64
		if err := rows.Scan(&n.ID, &n.Type, &n.Actor, &n.TargetGUID, &n.Unread, &t); err != nil {
			return nil, 0, err
		}
		n.CreatedAt = fmtMilli(t)
		out = append(out, n)
	}
	return out, unread, rows.Err()
}

// MarkNotificationsRead marks the given notifications of a user read,
// or all of them when ids is empty.
func (s *Store) MarkNotificationsRead(ctx context.Context, username string, ids []int64) error {
	if len(ids) > maxNotifications {
		return fmt.Errorf("%w: at most %d notifications at once", errInvalid, maxNotifications)
	}
	return s.do(ctx, func(tx *sqlTx) error {
		if len(ids) == 0 {
			_, err := tx.ExecContext(ctx, `UPDATE notifications SET unread = 0 WHERE username = ?`, username)
			return err
		}
		for _, id := range ids {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications SET unread = 0 WHERE username = ? AND id = ?`, username, id); err != nil {
				return err
			}
		}
		return nil
	})
}
