package main

import (
	"context"
	"errors"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/store"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// errNoFetch: the missing entity is not one this pod fetches.
var errNoFetch = errors.New("nothing to fetch")

// fetcher is the library's Fetcher wired to this pod: discovery's guarded
// client (https only outside dev mode, reserved addresses refused),
// people's pods from discovery, the pod's receiver, and the store for
// what was fetched.
//
// Its receiver is a copy of the pod's whose Fetch is the fetcher itself:
// a fetched entity that refers to another unknown one (a reshare of a
// reshare, a comment's parent) is fetched in the same task, under the
// library's per-task budget (depth 3, 5 requests, no entity twice:
// ErrFetchLoop, ErrFetchBudget, SECURITY.md T17). The inbox worker's
// receiver does not fetch: fetchMissing starts one task per attempt.
func (p *Pod) fetcher() *salmon.Fetcher {
	r := &salmon.Receiver{Keys: p.receiver.Keys, Entities: p.receiver.Entities, RecipientKeys: p.receiver.RecipientKeys,
		Legacy: p.receiver.Legacy, Envelope: p.receiver.Envelope, EntityOptions: p.receiver.EntityOptions}
	f := &salmon.Fetcher{
		HTTPClient: p.disc.GuardedHTTPClient(),
		Pod: func(ctx context.Context, id string) (string, error) {
			per, err := p.lookup(ctx, id)
			if err != nil {
				return "", err
			}
			return per.PodURL, nil
		},
		Receiver: r,
		Store: func(ctx context.Context, msg *salmon.Message) error {
			if err := p.store.Do(ctx, func(tx *store.Tx) error { return p.applyTx(ctx, tx, msg) }); err != nil {
				return err
			}
			p.log.InfoContext(ctx, "fetched", "entity_type", msg.Entity.Type(), "author", entities.Author(msg.Entity))
			return nil
		},
		UserAgent: "go-diaspora-pod/0.1",
	}
	r.Fetch = f.Related
	return f
}

// fetchMissing fetches the public post that a received public message
// refers to but this pod does not know (PROTOCOL.md §12.2): the parent of
// a relayable, from the relayable author's pod, or the root of a reshare,
// from the root author's pod. The library's Fetcher checks it through the
// whole receive pipeline and that it is the post asked for, and the pod
// stores it; the caller then processes the message again.
func (p *Pod) fetchMissing(ctx context.Context, it *store.InboxItem, lerr *salmon.LookupError) error {
	typ, guid, ok := strings.Cut(lerr.Key, ":")
	if !ok || postFamily(typ) != "Post" || it.Route != salmon.RoutePublic {
		return errNoFetch
	}
	env, err := magicenv.Parse(it.Body)
	if err != nil {
		return err
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		return err
	}
	if rs, ok := e.(*entities.Reshare); ok && rs.RootGUID == guid {
		// The reshare names the root's author: the fetched root must be
		// by that author (ErrOriginMismatch otherwise), not merely
		// signed by someone (SECURITY.md PD-03).
		_, err = p.fetcher().Fetch(ctx, rs.RootAuthor, "post", guid)
		return err
	}
	_, err = p.fetcher().Related(ctx, entities.Author(e), "Post", guid)
	return err
}
