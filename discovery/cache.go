package discovery

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync"
)

// Cache stores people found by discovery. Implementations return
// [ErrCacheMiss] from Get when they hold nothing for an ID, and must never
// replace a stored public key silently: Put of a person whose key differs
// from the stored one returns [ErrKeyConflict] and keeps the old entry
// (trust on first use; only the caller, for example after a verified
// AccountMigration, may Delete and Put again). Nor may two IDs share a
// GUID: Put of a person whose GUID is already held by another ID returns
// a [*GUIDConflictError] (matching [ErrGUIDConflict]) and changes nothing;
// [Resolver] then re-discovers the holder to tell a stale entry from a
// valid one. An empty GUID is held by no one.
type Cache interface {
	// Get returns the stored person, or an error wrapping ErrCacheMiss.
	Get(ctx context.Context, id string) (*Person, error)
	// Put stores p under p.ID. Same key: the entry is updated. Different
	// key: ErrKeyConflict, nothing changed. GUID held by another ID: a
	// *GUIDConflictError, nothing changed.
	Put(ctx context.Context, p *Person) error
	// Delete removes the entry for id, if any, and frees its GUID.
	Delete(ctx context.Context, id string) error
}

// MemoryCache is a [Cache] in memory, safe for concurrent use. Its zero
// value is empty, unbounded and ready.
type MemoryCache struct {
	// MaxEntries bounds the number of people held; 0 means no bound. When
	// a Put of a new person would exceed it, the person stored longest
	// ago is forgotten first. A forgotten person is a stranger again: the
	// next lookup trusts whatever key it finds, so a service that must
	// keep trust on first use for everyone it ever met keeps people in a
	// durable Cache instead (as examples/pod does). Set it before the
	// first Put.
	MaxEntries int

	mu     sync.Mutex
	m      map[string]*Person
	byGUID map[string]string // GUID -> ID, for every non-empty GUID in m
	order  []string          // IDs in the order they were first stored (with MaxEntries)
}

// Get implements [Cache].
func (c *MemoryCache) Get(_ context.Context, id string) (*Person, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrCacheMiss, id)
	}
	cp := *p
	return &cp, nil
}

// Put implements [Cache]: a different key for a stored ID is
// ErrKeyConflict, a GUID stored for another ID a *GUIDConflictError; in
// both cases nothing changes.
func (c *MemoryCache) Put(_ context.Context, p *Person) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	old, ok := c.m[p.ID]
	if ok && !sameKey(old.PublicKey, p.PublicKey) {
		return fmt.Errorf("%w: %s", ErrKeyConflict, p.ID)
	}
	if holder, held := c.byGUID[p.GUID]; held && p.GUID != "" && holder != p.ID {
		return &GUIDConflictError{GUID: p.GUID, ID: p.ID, Holder: holder}
	}
	if c.m == nil {
		c.m = map[string]*Person{}
	}
	if c.byGUID == nil {
		c.byGUID = map[string]string{}
	}
	if ok && old.GUID != "" {
		delete(c.byGUID, old.GUID)
	}
	if !ok && c.MaxEntries > 0 {
		c.evict(c.MaxEntries - 1)
		c.order = append(c.order, p.ID)
	}
	cp := *p
	c.m[p.ID] = &cp
	if p.GUID != "" {
		c.byGUID[p.GUID] = p.ID
	}
	return nil
}

// evict forgets the people stored longest ago until at most n remain.
// c.order may hold IDs deleted meanwhile; they are skipped.
func (c *MemoryCache) evict(n int) {
	for len(c.m) > n && len(c.order) > 0 {
		id := c.order[0]
		c.order = c.order[1:]
		if old, ok := c.m[id]; ok {
			if old.GUID != "" && c.byGUID[old.GUID] == id {
				delete(c.byGUID, old.GUID)
			}
			delete(c.m, id)
		}
	}
	if len(c.order) > 2*c.MaxEntries { // drop the skipped IDs of deleted people
		live := c.order[:0]
		for _, id := range c.order {
			if _, ok := c.m[id]; ok {
				live = append(live, id)
			}
		}
		c.order = live
	}
}

// Delete implements [Cache].
func (c *MemoryCache) Delete(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[id]; ok && old.GUID != "" && c.byGUID[old.GUID] == id {
		delete(c.byGUID, old.GUID)
	}
	delete(c.m, id)
	return nil
}

func sameKey(a, b *rsa.PublicKey) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b)
}

// Resolver combines a [Client] with a [Cache]: people are looked up once
// and then served from the cache. Its PublicKey method fits the receive
// pipeline's key resolver (magicenv.KeyResolver).
type Resolver struct {
	// Client does the lookups; nil means a zero Client.
	Client *Client
	// Cache stores what was found; nil means no caching.
	Cache Cache
}

// Person returns the cached person for id or looks it up and stores it.
// If the cache already holds a different key for the ID (a concurrent
// lookup raced), the stored person is returned, never the new one.
//
// A person can be re-discovered: when the cache holds the new person's
// GUID for another ID (a [*GUIDConflictError]), that holder is looked up
// again, bypassing the cache. If the holder's lookup fails with a final
// error (see [IsTemporary]; for example its WebFinger document now links
// an hCard on another host, [ErrForeignHCard], or the person is gone) or
// finds another GUID, the holder's entry is stale or was never
// legitimate: it is deleted and the new person stored and returned.
// Otherwise (the holder still validly claims the GUID, or its lookup
// failed temporarily) the error is the conflict, wrapping
// [ErrGUIDConflict], and the cache is left unchanged. A Cache that reports
// ErrGUIDConflict without a *GUIDConflictError gets no re-discovery.
func (r *Resolver) Person(ctx context.Context, id string) (*Person, error) {
	nid, err := NormalizeID(id)
	if err != nil {
		return nil, err
	}
	if r.Cache != nil {
		p, err := r.Cache.Get(ctx, nid)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, ErrCacheMiss) {
			return nil, err
		}
	}
	p, err := r.client().Lookup(ctx, nid)
	if err != nil {
		return nil, err
	}
	if r.Cache != nil {
		if err := r.put(ctx, p); err != nil {
			if errors.Is(err, ErrKeyConflict) {
				return r.Cache.Get(ctx, nid)
			}
			return nil, err
		}
	}
	return p, nil
}

func (r *Resolver) client() *Client {
	if r.Client == nil {
		return &Client{}
	}
	return r.Client
}

// put stores p; on a GUID conflict it re-discovers the holder as
// [Resolver.Person] describes.
func (r *Resolver) put(ctx context.Context, p *Person) error {
	err := r.Cache.Put(ctx, p)
	var conflict *GUIDConflictError
	if !errors.As(err, &conflict) || conflict.Holder == "" || conflict.Holder == p.ID {
		return err
	}
	holder, lerr := r.client().Lookup(ctx, conflict.Holder)
	switch {
	case lerr == nil && holder.GUID == conflict.GUID:
		return err // the holder still claims the GUID on its own host
	case ctx.Err() != nil:
		return fmt.Errorf("%w; re-discovery of %s: %w", err, conflict.Holder, ctx.Err())
	case lerr != nil && IsTemporary(lerr):
		return fmt.Errorf("%w; re-discovery of %s: %w", err, conflict.Holder, lerr)
	}
	// The holder's entry is stale (another GUID now) or was never
	// legitimate (the lookup is refused or the person is gone).
	if derr := r.Cache.Delete(ctx, conflict.Holder); derr != nil {
		return fmt.Errorf("%w; deleting the stale entry of %s: %w", err, conflict.Holder, derr)
	}
	return r.Cache.Put(ctx, p)
}

// PublicKey returns the public key of author, from the cache if present.
// Its errors are [*KeyError]s.
func (r *Resolver) PublicKey(ctx context.Context, author string) (*rsa.PublicKey, error) {
	p, err := r.Person(ctx, author)
	if err != nil {
		return nil, &KeyError{Author: author, Err: err}
	}
	return p.PublicKey, nil
}

// Rediscover looks id up again, bypassing the cache, and compares the key
// with the stored one. It returns the fresh person; when its key differs
// from the cached one the error wraps ErrKeyConflict and the cache is left
// unchanged, so the caller decides. Otherwise the cache is updated.
//
// A person can be re-discovered when the cache holds its GUID for another
// ID: the holder is re-discovered as [Resolver.Person] describes, and its
// stale entry deleted, or the error wraps [ErrGUIDConflict] (a
// [*GUIDConflictError]) with the cache unchanged.
func (r *Resolver) Rediscover(ctx context.Context, id string) (*Person, error) {
	p, err := r.client().Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Cache != nil {
		if err := r.put(ctx, p); err != nil {
			return p, err
		}
	}
	return p, nil
}
