package pod

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/salmon"
	"golang.org/x/crypto/bcrypt"
)

// --- profile ---

// ProfileInput is a profile update.
type ProfileInput struct {
	FullName string `json:"full_name"`
	Bio      string `json:"bio"`
	// The rest of a profile; nil keeps what the profile has.
	Location   *string `json:"location,omitempty"`
	ImageURL   *string `json:"image_url,omitempty"`
	Searchable *bool   `json:"searchable,omitempty"`
	NSFW       *bool   `json:"nsfw,omitempty"`
}

// UpdateProfile stores the user's name and bio and sends the Profile
// publicly to the pods of everyone the user is connected with.
func (p *Pod) UpdateProfile(ctx context.Context, u *store.User, in ProfileInput) error {
	cur, err := p.store.Profile(ctx, u.ID, false)
	if err != nil {
		return err
	}
	location, image, searchable, nsfw := cur.Location, cur.ImageURL, cur.Searchable, cur.NSFW
	if in.Location != nil {
		location = strings.TrimSpace(*in.Location)
	}
	if in.ImageURL != nil {
		image = strings.TrimSpace(*in.ImageURL)
		if iu, err := url.Parse(image); image != "" && (err != nil || (iu.Scheme != "https" && iu.Scheme != "http") || iu.Host == "") {
			return fmt.Errorf("%w: the avatar must be an http(s) URL", store.ErrInvalid)
		}
	}
	if in.Searchable != nil {
		searchable = *in.Searchable
	}
	if in.NSFW != nil {
		nsfw = *in.NSFW
	}
	pr := &entities.Profile{Author: u.ID, EditedAt: time.Now().UTC().Truncate(time.Second), FullName: in.FullName,
		Bio: in.Bio, Location: location, ImageURL: image, ImageURLMedium: image, ImageURLSmall: image,
		Searchable: searchable, NSFW: nsfw, Public: in.Bio != "" || location != ""}
	if err := pr.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	ds, err := p.toAudience(ctx, u, pr)
	if err != nil {
		return err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.UpdateLocalProfile(ctx, tx, u.ID, in.FullName, in.Bio); err != nil {
			return err
		}
		if err := store.SetProfileDetails(ctx, tx, u.ID, location, image, searchable, nsfw); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "profile:"+u.ID, ds)
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
func (p *Pod) DeleteAccount(ctx context.Context, u *store.User, password, addr string) error {
	if _, err := p.Login(ctx, u.Username, password, addr); err != nil {
		return err
	}
	return p.CloseAccount(ctx, u)
}

// CloseAccount closes a local account as DeleteAccount does, without a
// password: the podmin's deletion.
func (p *Pod) CloseAccount(ctx context.Context, u *store.User) error {
	if u.Key == nil {
		return nil // closed already
	}
	ds, err := p.toAudience(ctx, u, &entities.AccountDeletion{Author: u.ID})
	if err != nil {
		return err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.CloseLocalAccount(ctx, tx, u.Username, u.ID); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "account_deletion:"+u.ID, ds)
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// --- reshare ---

// Reshare shares a public post with the user's contacts; the root
// author's pod gets it too.
func (p *Pod) Reshare(ctx context.Context, u *store.User, rootGUID string) (*store.PostView, error) {
	if _, err := p.store.PostView(ctx, u, rootGUID); err != nil {
		return nil, err // a post the user cannot see is not found
	}
	root, err := store.GetPost(ctx, p.store, rootGUID)
	if err != nil {
		return nil, err
	}
	if !root.Public || root.Type != "status_message" {
		return nil, fmt.Errorf("%w: only public status messages can be reshared", store.ErrInvalid)
	}
	rs := &entities.Reshare{Author: u.ID, GUID: NewGUID(), CreatedAt: time.Now().UTC().Truncate(time.Second),
		RootAuthor: root.Author, RootGUID: root.GUID}
	if err := rs.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	payload, err := entities.MarshalXML(rs)
	if err != nil {
		return nil, err
	}
	pods, err := store.ContactPods(ctx, p.store, u.Username)
	if err != nil {
		return nil, err
	}
	if !root.Local {
		if per, err := p.store.Person(ctx, p.store, root.Author); err == nil {
			pods = appendOnce(pods, per.PodURL)
		}
	}
	ds, err := salmon.PublicDeliveries(payload, u.ID, p.signer(u.Key), pods, p.envOpts)
	if err != nil {
		return nil, err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		row := &store.PostRow{GUID: rs.GUID, Type: rs.Type(), Author: u.ID, Public: true, Local: true, RootGUID: root.GUID,
			Payload: payload, CreatedAt: rs.CreatedAt}
		if _, err := store.InsertPost(ctx, tx, row, nil, nil); err != nil {
			return err
		}
		if err := store.NotifyLocalAuthor(ctx, tx, root.GUID, "reshared", u.ID); err != nil {
			return err
		}
		if _, err := store.AddPostPods(ctx, tx, rs.GUID, pods); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "reshare:"+rs.GUID, ds)
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

// StartConversation sends a Conversation with its first message privately
// to every remote participant.
func (p *Pod) StartConversation(ctx context.Context, u *store.User, in ConversationInput) (*store.ConversationView, error) {
	if strings.TrimSpace(in.Subject) == "" || strings.TrimSpace(in.Text) == "" || len(in.Participants) == 0 {
		return nil, fmt.Errorf("%w: subject, text and participants are required", store.ErrInvalid)
	}
	ids := []string{u.ID}
	for _, raw := range in.Participants {
		id, err := discovery.NormalizeID(raw)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
		}
		ids = appendOnce(ids, id)
	}
	recipients, err := p.recipients(ctx, ids, u.ID)
	if err != nil {
		return nil, err
	}
	t := time.Now().UTC().Truncate(time.Second)
	guid := NewGUID()
	msg := &entities.Message{Author: u.ID, GUID: NewGUID(), Text: in.Text, CreatedAt: t, ConversationGUID: guid}
	conv := &entities.Conversation{Author: u.ID, GUID: guid, Subject: in.Subject, CreatedAt: t,
		Participants: strings.Join(ids, ";"), Messages: []*entities.Message{msg}}
	if err := conv.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	payload, err := entities.MarshalXML(conv)
	if err != nil {
		return nil, err
	}
	ds, err := salmon.PrivateDeliveries(payload, u.ID, u.Key, recipients, p.envOpts)
	if err != nil {
		return nil, err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.StoreConversation(ctx, tx, conv); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "conversation:"+guid, ds)
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
func (p *Pod) SendMessage(ctx context.Context, u *store.User, convGUID, text string) (*store.MessageView, error) {
	cv, err := p.store.Conversation(ctx, u, convGUID)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, fmt.Errorf("%w: empty message", store.ErrInvalid)
	}
	m := &entities.Message{Author: u.ID, GUID: NewGUID(), Text: text, CreatedAt: time.Now().UTC().Truncate(time.Second), ConversationGUID: convGUID}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrInvalid, err)
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
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.StoreMessage(ctx, tx, m); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "message:"+m.GUID, ds)
	})
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	return &store.MessageView{GUID: m.GUID, Author: u.ID, Text: text, CreatedAt: m.CreatedAt.Format(time.RFC3339)}, nil
}

// toAudience serializes an entity of u and builds its public deliveries,
// signed once, to the pods of u's contacts.
func (p *Pod) toAudience(ctx context.Context, u *store.User, e entities.Entity) ([]salmon.Delivery, error) {
	payload, err := entities.MarshalXML(e)
	if err != nil {
		return nil, err
	}
	pods, err := store.ContactPods(ctx, p.store, u.Username)
	if err != nil {
		return nil, err
	}
	return salmon.PublicDeliveries(payload, u.ID, p.signer(u.Key), pods, p.envOpts)
}

// ChangePassword replaces a user's password after checking the current
// one (throttled like a sign-in from addr) and ends the user's other
// sessions (keep: the token hash of the session that asked; nil ends
// them all).
func (p *Pod) ChangePassword(ctx context.Context, u *store.User, current, next, addr string, keep []byte) error {
	if _, err := p.Login(ctx, u.Username, current, addr); err != nil {
		return err
	}
	if len(next) < 8 || len(next) > 72 {
		return fmt.Errorf("%w: the password must have 8 to 72 bytes", store.ErrInvalid)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(next), p.bcryptCost())
	if err != nil {
		return err
	}
	return p.store.SetPassword(ctx, u.Username, string(hash), keep)
}

// FindPerson finds a person by diaspora* ID in the store or through
// discovery (bounded like every lookup a person asks for).
func (p *Pod) FindPerson(ctx context.Context, id string) (*discovery.Person, error) {
	return p.lookup(ctx, id)
}
