package pod

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/salmon"
)

// diaspora*'s sharing model: a contact of a user has two directions.
// sharing means the person shares with the user (their Contact entity
// said so); receiving means the user shares with the person, which is
// the same as the person being in at least one of the user's aspects.
// Public posts go to the pods of every contact in either direction (and
// of mentioned people); limited posts to the members of the chosen
// aspects. A Contact entity goes out only when receiving changes.

// CreateAspect adds an aspect.
func (p *Pod) CreateAspect(ctx context.Context, u *store.User, name string) (*store.AspectView, error) {
	return p.store.CreateAspect(ctx, u.Username, name)
}

// RenameAspect renames one of the user's aspects.
func (p *Pod) RenameAspect(ctx context.Context, u *store.User, id int64, name string) (*store.AspectView, error) {
	return p.store.RenameAspect(ctx, u.Username, id, name)
}

// DeleteAspect deletes one of the user's aspects. Its members stay in
// their other aspects; those it was the last aspect of are no longer
// shared with, and learn it as diaspora* tells them (a Contact entity).
func (p *Pod) DeleteAspect(ctx context.Context, u *store.User, id int64) error {
	if _, err := p.store.Aspect(ctx, p.store, u.Username, id); err != nil {
		return err
	}
	members, err := store.AspectMembers(ctx, p.store, id)
	if err != nil {
		return err
	}
	// Members who are only in this aspect stop receiving: their Contact
	// entities are made before the transaction (signing takes time).
	plans := map[string]*contactPlan{}
	for _, m := range members {
		cur, err := p.store.ContactAspects(ctx, p.store, u.Username, m)
		if err != nil {
			return err
		}
		if len(cur) == 1 {
			if plans[m], err = p.planContact(ctx, u, m, false, true); err != nil {
				return err
			}
		}
	}
	err = p.store.Do(ctx, func(tx *store.Tx) error {
		if err := store.DeleteAspect(ctx, tx, u.Username, id); err != nil {
			return err
		}
		for _, m := range members {
			left, err := p.store.ContactAspects(ctx, tx, u.Username, m)
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

// contactPlan is what changing a contact needs that is made before the
// write transaction: who the person is and the Contact entity that tells
// them the new state.
type contactPlan struct {
	person    *discovery.Person
	local     *store.User // the person's account when they are on this pod
	receiving bool        // the state the Contact entity announces
	ds        []salmon.Delivery
}

// planContact finds a person (discovering a new one) and, with announce,
// signs the Contact entity that tells them receiving.
func (p *Pod) planContact(ctx context.Context, u *store.User, id string, receiving, announce bool) (*contactPlan, error) {
	if _, host, ok := strings.Cut(id, "@"); ok && receiving {
		if b, err := p.store.Blocked(ctx, host); err != nil {
			return nil, err
		} else if b {
			return nil, fmt.Errorf("%w: %s is on %s, a pod this pod has blocked; the podmin can unblock it", store.ErrInvalid, id, host)
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
	} else if !errors.Is(err, store.ErrNotFound) {
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
func (p *Pod) applyContactPlan(ctx context.Context, tx *store.Tx, u *store.User, plan *contactPlan, aspects []int64) error {
	id := plan.person.ID
	receiving, _, err := store.ContactState(ctx, tx, u.Username, id)
	if err != nil {
		return err
	}
	if err := store.SetMemberships(ctx, tx, u.Username, id, aspects); err != nil {
		return err
	}
	now := len(aspects) > 0
	if err := store.SetContact(ctx, tx, u.Username, id, "receiving", now); err != nil {
		return err
	}
	if now == receiving {
		return nil
	}
	if now != plan.receiving || (plan.local == nil && plan.ds == nil) {
		return fmt.Errorf("%w: the contact %s changed while it was being updated; try again", store.ErrConflict, id)
	}
	if plan.local != nil {
		return p.receiveSharing(ctx, tx, plan.local, u.ID, now)
	}
	return store.Enqueue(ctx, tx, "contact:"+id, plan.ds)
}

// receiveSharing records that author started (or stopped) sharing with
// the local user u: the Contact entity of a remote author, or a local
// user's aspect change.
func (p *Pod) receiveSharing(ctx context.Context, tx *store.Tx, u *store.User, author string, sharing bool) error {
	_, was, err := store.ContactState(ctx, tx, u.Username, author)
	if err != nil {
		return err
	}
	if err := store.SetContact(ctx, tx, u.Username, author, "sharing", sharing); err != nil {
		return err
	}
	if sharing && !was {
		return store.AddNotification(ctx, tx, u.Username, "started_sharing", author, "")
	}
	return nil
}

// ShareWith changes the aspects a person is in for the user. add puts
// them into the named aspects besides those they are in; otherwise the
// named aspects replace the current ones, and none means stop sharing.
// The person is discovered when new; a Contact entity goes out only
// when sharing starts or stops.
func (p *Pod) ShareWith(ctx context.Context, u *store.User, rawID string, aspects []string, add bool) (*store.ContactView, error) {
	id, err := discovery.NormalizeID(rawID)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a diaspora* ID (like someone@example.org)", store.ErrInvalid, rawID)
	}
	if id == u.ID {
		return nil, fmt.Errorf("%w: you cannot share with yourself", store.ErrInvalid)
	}
	if add && len(aspects) == 0 {
		return nil, fmt.Errorf("%w: name at least one aspect to add the person to", store.ErrInvalid)
	}
	ids, err := p.store.AspectIDs(ctx, u.Username, aspects)
	if err != nil {
		return nil, err
	}
	cur, err := p.store.ContactAspects(ctx, p.store, u.Username, id)
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
	err = p.store.Do(ctx, func(tx *store.Tx) error { return p.applyContactPlan(ctx, tx, u, plan, ids) })
	if err != nil {
		return nil, err
	}
	notify(p.queue.wake)
	c, err := p.store.Contact(ctx, u.Username, id)
	if errors.Is(err, store.ErrNotFound) { // no longer a contact in either direction
		per := plan.person
		return &store.ContactView{ID: id, GUID: per.GUID, Name: per.FullName, PodURL: per.PodURL, Aspects: []string{}}, nil
	}
	return c, err
}

// --- notifications ---
