package pod

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
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
// ErrFetchLoop, ErrFetchBudget, LIMITS.md R2). The inbox worker's
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
// refers to but this pod does not know
// (https://diaspora.github.io/diaspora_federation/federation/fetching.html):
// the parent of a relayable, from the relayable author's pod, or the root
// of a reshare, from the root author's pod. The library's Fetcher checks it
// through the whole receive pipeline and that it is the post asked for, and
// the pod stores it; the caller then processes the message again.
func (p *Pod) fetchMissing(ctx context.Context, it *store.InboxItem, lerr *salmon.LookupError) error {
	typ, guid, ok := strings.Cut(lerr.Key, ":")
	if !ok || postFamily(typ) != "Post" || it.Route != salmon.RoutePublic {
		return errNoFetch
	}
	env, err := magicenv.Parse(it.Body, nil)
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
		// signed by someone (hostile case testdata/hostile/PD-03).
		_, err = p.fetcher().Fetch(ctx, rs.RootAuthor, "post", guid)
		return err
	}
	_, err = p.fetcher().Related(ctx, entities.Author(e), "Post", guid)
	return err
}

// fetchSource serves GET /fetch/{type}/{guid} through salmon.FetchHandler:
// the author's signed envelope of a local public post or interaction, the
// author's pod for a known remote public one, not found otherwise.
type fetchSource struct{ p *Pod }

// Fetch implements salmon.FetchSource.
func (s fetchSource) Fetch(ctx context.Context, typ, guid string) (*salmon.Fetched, error) {
	p := s.p
	var author string
	var payload []byte
	var local bool
	switch typ {
	case "post", "status_message", "reshare":
		post, err := store.GetPost(ctx, p.store, guid)
		if err != nil || !post.Public || (typ != "post" && typ != post.Type) {
			return nil, salmon.ErrNotFound
		}
		author, payload, local = post.Author, post.Payload, post.Local
	case "comment", "like":
		i, err := store.GetInteraction(ctx, p.store, guid)
		if err != nil || strings.ToLower(i.Type) != typ {
			return nil, salmon.ErrNotFound
		}
		post, err := store.GetPost(ctx, p.store, i.PostGUID)
		if err != nil || !post.Public {
			return nil, salmon.ErrNotFound
		}
		author, payload = i.Author, i.Payload
		per, err := p.store.Person(ctx, p.store, author)
		local = err == nil && per.Local
	default:
		return nil, salmon.ErrNotFound
	}
	if !local {
		per, err := p.store.Person(ctx, p.store, author)
		if err != nil {
			return nil, salmon.ErrNotFound
		}
		return &salmon.Fetched{Pod: per.PodURL}, nil
	}
	u, err := p.store.UserByID(ctx, author)
	if err != nil || u.Suspended {
		return nil, salmon.ErrNotFound
	}
	key := typ + ":" + guid
	if body, ok := p.fetched.get(key); ok {
		return &salmon.Fetched{Envelope: body}, nil
	}
	env, err := magicenv.Sign(payload, u.ID, p.signer(u.Key), p.envOpts)
	if err != nil {
		return nil, fmt.Errorf("fetch: signing %s: %w", guid, err)
	}
	body := env.Marshal()
	p.fetched.put(key, body)
	return &salmon.Fetched{Envelope: body}, nil
}

// maxFetchedCached bounds the signed bodies /fetch keeps.
const maxFetchedCached = 1024

// fetchedCache keeps the envelopes /fetch signed, by type and guid: a
// post's payload never changes, so strangers asking again cost no RSA
// signature. Whether the post may still be served is checked before the
// cache is asked.
type fetchedCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (c *fetchedCache) get(k string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *fetchedCache) put(k string, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxFetchedCached {
		c.m = map[string][]byte{}
	}
	c.m[k] = b
}
