package store

import (
	"context"
	"encoding/json"
	"time"
)

// Export is everything a local person put on the pod, as the "download
// my data" of the account page gives it: JSON a person can read and keep.
// It holds no password hash and no private key.
type Export struct {
	Format        string             `json:"format"` // "go-diaspora-pod export 1"
	ExportedAt    string             `json:"exported_at"`
	Account       ExportAccount      `json:"account"`
	Profile       ExportProfile      `json:"profile"`
	Aspects       []string           `json:"aspects"`
	Contacts      []ContactView      `json:"contacts"`
	Ignored       []string           `json:"ignored_people"`
	Posts         []ExportPost       `json:"posts"`
	Interactions  []ExportComment    `json:"comments_and_likes"`
	Conversations []ConversationView `json:"conversations"`
	Uploads       []ExportUpload     `json:"uploads"`
}

// ExportAccount is the account part of an Export.
type ExportAccount struct {
	Username  string `json:"username"`
	ID        string `json:"diaspora_id"`
	GUID      string `json:"guid"`
	CreatedAt string `json:"created_at"`
}

// ExportProfile is the profile part of an Export.
type ExportProfile struct {
	FullName   string `json:"full_name"`
	Bio        string `json:"bio"`
	Location   string `json:"location"`
	ImageURL   string `json:"image_url"`
	Searchable bool   `json:"searchable"`
	NSFW       bool   `json:"nsfw"`
}

// ExportPost is one of the person's posts (a status message or a
// reshare).
type ExportPost struct {
	GUID      string `json:"guid"`
	Type      string `json:"type"`
	Public    bool   `json:"public"`
	Text      string `json:"text,omitempty"`
	RootGUID  string `json:"root_guid,omitempty"`
	CreatedAt string `json:"created_at"`
	PostExtra
}

// ExportComment is one of the person's comments, likes or poll votes.
type ExportComment struct {
	GUID      string `json:"guid"`
	Type      string `json:"type"`
	PostGUID  string `json:"post_guid"`
	Text      string `json:"text,omitempty"`
	CreatedAt string `json:"created_at"`
}

// ExportUpload describes one of the person's uploaded pictures (its
// bytes are at its URL).
type ExportUpload struct {
	Name        string `json:"name"`
	URL         string `json:"url"` // filled in by the pod, which knows its address
	ContentType string `json:"content_type"`
	Width       int    `json:"width"`
	Height      int    `json:"height"`
	CreatedAt   string `json:"created_at"`
}

// ExportUser gathers the Export of a local user.
func (s *Store) ExportUser(ctx context.Context, u *User) (*Export, error) {
	x := &Export{Format: "go-diaspora-pod export 1", ExportedAt: time.Now().UTC().Format(time.RFC3339),
		Aspects: []string{}, Posts: []ExportPost{}, Interactions: []ExportComment{}, Conversations: []ConversationView{}, Uploads: []ExportUpload{}}
	var created int64
	if err := s.db.queryRow(ctx, `SELECT created_at FROM users WHERE username = ?`, u.Username).Scan(&created); err != nil {
		return nil, err
	}
	x.Account = ExportAccount{Username: u.Username, ID: u.ID, GUID: u.GUID, CreatedAt: fmtMilli(created)}
	p, err := s.Profile(ctx, u.ID, false)
	if err != nil {
		return nil, err
	}
	x.Profile = ExportProfile{FullName: p.FullName, Bio: p.Bio, Location: p.Location, ImageURL: p.ImageURL, Searchable: p.Searchable, NSFW: p.NSFW}
	as, err := s.Aspects(ctx, u.Username)
	if err != nil {
		return nil, err
	}
	for _, a := range as {
		x.Aspects = append(x.Aspects, a.Name)
	}
	if x.Contacts, err = s.Contacts(ctx, u.Username); err != nil {
		return nil, err
	}
	if x.Ignored, err = s.Ignored(ctx, u.Username); err != nil {
		return nil, err
	}

	rows, err := s.db.query(ctx, `SELECT guid, type, public, text, root_guid, extra, created_at FROM posts WHERE author = ? ORDER BY created_at, rowid`, u.ID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var ep ExportPost
		var root *string
		var extra string
		var t int64
		if err := rows.Scan(&ep.GUID, &ep.Type, &ep.Public, &ep.Text, &root, &extra, &t); err != nil {
			rows.Close()
			return nil, err
		}
		if root != nil {
			ep.RootGUID = *root
		}
		if err := json.Unmarshal([]byte(extra), &ep.PostExtra); err != nil {
			rows.Close()
			return nil, err
		}
		ep.CreatedAt = fmtMilli(t)
		x.Posts = append(x.Posts, ep)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	rows, err = s.db.query(ctx, `SELECT guid, type, post_guid, text, created_at FROM interactions WHERE author = ? AND positive = 1 ORDER BY created_at, rowid`, u.ID)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c ExportComment
		var t int64
		if err := rows.Scan(&c.GUID, &c.Type, &c.PostGUID, &c.Text, &t); err != nil {
			rows.Close()
			return nil, err
		}
		c.CreatedAt = fmtMilli(t)
		x.Interactions = append(x.Interactions, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	guids, err := strings1(ctx, s.db, `SELECT conversation_guid FROM conversation_participants WHERE person_id = ? ORDER BY conversation_guid`, u.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range guids {
		c, err := s.Conversation(ctx, u, g)
		if err != nil {
			return nil, err
		}
		x.Conversations = append(x.Conversations, *c)
	}

	rows, err = s.db.query(ctx, `SELECT name, content_type, width, height, created_at FROM uploads WHERE username = ? ORDER BY created_at, name`, u.Username)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var up ExportUpload
		var t int64
		if err := rows.Scan(&up.Name, &up.ContentType, &up.Width, &up.Height, &t); err != nil {
			return nil, err
		}
		up.CreatedAt = fmtMilli(t)
		x.Uploads = append(x.Uploads, up)
	}
	return x, rows.Err()
}
