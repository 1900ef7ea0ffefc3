package main

import (
	"context"
	"database/sql"
	"errors"
	"strings"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// errNoFetch: the missing entity is not one this pod fetches.
var errNoFetch = errors.New("pod: nothing to fetch")

// fetcher is the library's Fetcher wired to this pod: discovery's guarded
// client (https only outside dev mode, reserved addresses refused),
// people's pods from discovery, the pod's receiver, and the store for
// what was fetched.
func (p *Pod) fetcher() *salmon.Fetcher {
	return &salmon.Fetcher{
		HTTPClient: p.disc.GuardedHTTPClient(),
		Pod: func(ctx context.Context, id string) (string, error) {
			per, err := p.lookup(ctx, id)
			if err != nil {
				return "", err
			}
			return per.PodURL, nil
		},
		Receiver: p.receiver,
		Store: func(ctx context.Context, msg *salmon.Message) error {
			if err := p.store.do(ctx, func(tx *sql.Tx) error { return p.applyTx(ctx, tx, msg) }); err != nil {
				return err
			}
			p.log.InfoContext(ctx, "fetched", "entity_type", msg.Entity.Type(), "author", entities.Author(msg.Entity))
			return nil
		},
		UserAgent: "go-diaspora-pod/0.1",
	}
}

// fetchMissing fetches the public post that a received public message
// refers to but this pod does not know (PROTOCOL.md §12.2): the parent of
// a relayable, from the relayable author's pod, or the root of a reshare,
// from the root author's pod. The library's Fetcher checks it through the
// whole receive pipeline and that it is the post asked for, and the pod
// stores it; the caller then processes the message again.
func (p *Pod) fetchMissing(ctx context.Context, it *InboxItem, lerr *salmon.LookupError) error {
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
	hint := entities.Author(e)
	if rs, ok := e.(*entities.Reshare); ok {
		hint = rs.RootAuthor
	}
	_, err = p.fetcher().Related(ctx, hint, "Post", guid)
	return err
}
