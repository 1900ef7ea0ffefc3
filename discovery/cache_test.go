package discovery_test

import (
	"crypto/rsa"
	"errors"
	"math/big"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

func TestMemoryCache(t *testing.T) {
	ctx := ctxT(t)
	var c discovery.MemoryCache
	if _, err := c.Get(ctx, "alice@pod.example"); !errors.Is(err, discovery.ErrCacheMiss) {
		t.Fatalf("Get on empty cache = %v, want ErrCacheMiss", err)
	}
	k1 := &rsa.PublicKey{N: big.NewInt(1001), E: 65537}
	k2 := &rsa.PublicKey{N: big.NewInt(1003), E: 65537}
	if err := c.Put(ctx, &discovery.Person{ID: "alice@pod.example", GUID: "g1", PublicKey: k1}); err != nil {
		t.Fatal(err)
	}
	// same key: updated
	if err := c.Put(ctx, &discovery.Person{ID: "alice@pod.example", GUID: "g2", PublicKey: k1}); err != nil {
		t.Fatal(err)
	}
	// different key: refused, old entry kept
	if err := c.Put(ctx, &discovery.Person{ID: "alice@pod.example", GUID: "g3", PublicKey: k2}); !errors.Is(err, discovery.ErrKeyConflict) {
		t.Fatalf("Put with another key = %v, want ErrKeyConflict", err)
	}
	p, err := c.Get(ctx, "alice@pod.example")
	if err != nil || p.GUID != "g2" || !p.PublicKey.Equal(k1) {
		t.Fatalf("Get = %+v, %v", p, err)
	}
	if err := c.Delete(ctx, "alice@pod.example"); err != nil {
		t.Fatal(err)
	}
	if err := c.Put(ctx, &discovery.Person{ID: "alice@pod.example", PublicKey: k2}); err != nil {
		t.Fatalf("Put after Delete = %v", err)
	}
}

func TestResolver(t *testing.T) {
	p := newPod(t, true)
	cache := &discovery.MemoryCache{}
	r := &discovery.Resolver{Client: p.client(), Cache: cache}
	k1, err := r.PublicKey(ctxT(t), p.id())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.PublicKey(ctxT(t), p.id()); err != nil {
		t.Fatal(err)
	}
	if n := p.count("/.well-known/webfinger"); n != 1 {
		t.Errorf("WebFinger fetched %d times, want 1 (second from the cache)", n)
	}
	// the pod now publishes another key: rediscovery reports the conflict
	// and the cache keeps the first key
	other, err := discovery.MarshalPublicKey(&rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(3), 2046), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	p.dir.mu.Lock()
	p.dir.people[0].PublicKeyPEM = other
	p.dir.mu.Unlock()
	if _, err := r.Rediscover(ctxT(t), p.id()); !errors.Is(err, discovery.ErrKeyConflict) {
		t.Fatalf("Rediscover = %v, want ErrKeyConflict", err)
	}
	k, err := r.PublicKey(ctxT(t), p.id())
	if err != nil || !k.Equal(k1) {
		t.Errorf("key after conflict = %v, %v; want the first key", k, err)
	}
}
