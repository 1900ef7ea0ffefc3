package pod

import (
	"context"
	"fmt"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// DeleteInteraction takes back a comment or like of the user: deleted
// here, and a Retraction goes where the interaction went (the audience
// of a local post, relayed by its author; the author's pod of a remote
// one). An interaction on a post the user cannot read is not found; one
// by someone else is ErrForbidden.
func (p *Pod) DeleteInteraction(ctx context.Context, u *store.User, guid string) error {
	i, err := store.GetInteraction(ctx, p.store, guid)
	if err != nil {
		return err
	}
	if _, err := p.store.PostView(ctx, u, i.PostGUID); err != nil {
		return err // on a post the user cannot see: not found
	}
	if i.Type != "Comment" && i.Type != "Like" {
		return fmt.Errorf("%w: only comments and likes can be deleted", store.ErrInvalid)
	}
	if i.Author != u.ID {
		return ErrForbidden
	}
	post, err := store.GetPost(ctx, p.store, i.PostGUID)
	if err != nil {
		return err
	}
	r := &entities.Retraction{Author: u.ID, TargetGUID: guid, TargetType: i.Type}
	if err := r.Validate(); err != nil {
		return fmt.Errorf("%w: %v", store.ErrInvalid, err)
	}
	payload, err := entities.MarshalXML(r)
	if err != nil {
		return err
	}
	ds, err := p.interactionDeliveries(ctx, u, post, payload)
	if err != nil {
		return err
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.Retract(ctx, tx, i.Type, guid, u.ID); err != nil {
			return err
		}
		return store.Enqueue(ctx, tx, "retraction:"+guid, ds)
	})
	if err == nil {
		notify(p.queue.wake)
	}
	return err
}

// RemoveContent is the podmin's deletion of a reported post or comment:
// local content is retracted as its author would (a federated
// Retraction signed with the author's key); remote content is removed
// from this pod only, and a tombstone keeps it from coming back.
func (p *Pod) RemoveContent(ctx context.Context, targetType, guid string) error {
	var author string
	local := false
	family := "Post"
	switch targetType {
	case "Post":
		post, err := store.GetPost(ctx, p.store, guid)
		if err != nil {
			return err
		}
		author, local = post.Author, post.Local
	case "Comment":
		c, err := store.GetInteraction(ctx, p.store, guid)
		if err != nil {
			return err
		}
		author, family = c.Author, "Comment"
		if u, err := p.store.LocalUser(ctx, p.store, c.Author); err == nil && u.Key != nil {
			local = true
		}
	default:
		return fmt.Errorf("%w: no content type %q", store.ErrInvalid, targetType)
	}
	if local {
		u, err := p.store.UserByID(ctx, author)
		if err != nil {
			return err
		}
		if family == "Post" {
			return p.DeletePost(ctx, u, guid)
		}
		return p.DeleteInteraction(ctx, u, guid)
	}
	return p.store.Do(ctx, func(tx *store.Tx) error { return store.Retract(ctx, tx, family, guid, author) })
}
