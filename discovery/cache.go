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
// AccountMigration, may Delete and Put again).
type Cache interface {
	// Get returns the stored person, or an error wrapping ErrCacheMiss.
	Get(ctx context.Context, id string) (*Person, error)
	// Put stores p under p.ID. Same key: the entry is updated. Different
	// key: ErrKeyConflict, nothing changed.
	Put(ctx context.Context, p *Person) error
	// Delete removes the entry for id, if any.
	Delete(ctx context.Context, id string) error
}

// MemoryCache is a [Cache] in memory, safe for concurrent use. Its zero
// value is empty and ready. It never evicts; bound it by recreating it if
// needed.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]*Person
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

// Put implements [Cache].
func (c *MemoryCache) Put(_ context.Context, p *Person) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[p.ID]; ok && !sameKey(old.PublicKey, p.PublicKey) {
		return fmt.Errorf("%w: %s", ErrKeyConflict, p.ID)
	}
	if c.m == nil {
		c.m = map[string]*Person{}
	}
	cp := *p
	c.m[p.ID] = &cp
	return nil
}

// Delete implements [Cache].
func (c *MemoryCache) Delete(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
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
	c := r.Client
	if c == nil {
		c = &Client{}
	}
	p, err := c.Lookup(ctx, nid)
	if err != nil {
		return nil, err
	}
	if r.Cache != nil {
		if err := r.Cache.Put(ctx, p); err != nil {
			if errors.Is(err, ErrKeyConflict) {
				return r.Cache.Get(ctx, nid)
			}
			return nil, err
		}
	}
	return p, nil
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
func (r *Resolver) Rediscover(ctx context.Context, id string) (*Person, error) {
	c := r.Client
	if c == nil {
		c = &Client{}
	}
	p, err := c.Lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.Cache != nil {
		if err := r.Cache.Put(ctx, p); err != nil {
			return p, err
		}
	}
	return p, nil
}
