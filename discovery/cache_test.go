package discovery_test

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
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

// MaxEntries bounds the cache: the person stored longest ago is
// forgotten first, with the GUID they held; updates do not count as new.
func TestMemoryCacheMaxEntries(t *testing.T) {
	ctx := ctxT(t)
	c := discovery.MemoryCache{MaxEntries: 3}
	key := func(i int) *rsa.PublicKey { return &rsa.PublicKey{N: big.NewInt(int64(1001 + 2*i)), E: 65537} }
	put := func(i int) error {
		return c.Put(ctx, &discovery.Person{ID: fmt.Sprintf("p%d@pod.example", i), GUID: fmt.Sprintf("guid%d", i), PublicKey: key(i)})
	}
	for i := range 3 {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(0); err != nil { // an update, not a new person
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "p1@pod.example"); err != nil {
		t.Fatal(err)
	}
	for i := 3; i < 1000; i++ {
		if err := put(i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 1000 {
		_, err := c.Get(ctx, fmt.Sprintf("p%d@pod.example", i))
		if held := i >= 997; (err == nil) != held {
			t.Errorf("p%d: Get = %v, want held %v", i, err, held)
		}
	}
	// p0 was forgotten with its GUID: another ID may now claim it, and p0
	// may come back with another key.
	if err := c.Put(ctx, &discovery.Person{ID: "other@pod.example", GUID: "guid0", PublicKey: key(5000)}); err != nil {
		t.Errorf("GUID of a forgotten person still held: %v", err)
	}
	if err := c.Put(ctx, &discovery.Person{ID: "p0@pod.example", GUID: "guid-new", PublicKey: key(5001)}); err != nil {
		t.Errorf("forgotten person with a new key: %v", err)
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

func TestMemoryCacheGUIDConflict(t *testing.T) {
	k1 := &rsa.PublicKey{N: big.NewInt(1001), E: 65537}
	k2 := &rsa.PublicKey{N: big.NewInt(1003), E: 65537}
	person := func(id, guid string, k *rsa.PublicKey) *discovery.Person {
		return &discovery.Person{ID: id, GUID: guid, PublicKey: k}
	}
	const vic, evil, mallory = "vic@b.example", "evil@a.example", "mallory@c.example"
	type step struct {
		put      *discovery.Person // nil: Delete(del)
		del      string
		conflict *discovery.GUIDConflictError // the Put's error; nil: success
	}
	tests := []struct {
		name    string
		steps   []step
		want    map[string]string // ID -> GUID held at the end
		missing []string          // IDs not held at the end
	}{
		{"another ID claims a held GUID", []step{
			{put: person(vic, "g1", k1)},
			{put: person(evil, "g1", k2), conflict: &discovery.GUIDConflictError{GUID: "g1", ID: evil, Holder: vic}},
		}, map[string]string{vic: "g1"}, []string{evil}},
		{"an update may not take another's GUID", []step{
			{put: person(vic, "g1", k1)},
			{put: person(evil, "g2", k2)},
			{put: person(evil, "g1", k2), conflict: &discovery.GUIDConflictError{GUID: "g1", ID: evil, Holder: vic}},
		}, map[string]string{vic: "g1", evil: "g2"}, nil},
		{"same ID, same key, same GUID: updated", []step{
			{put: person(vic, "g1", k1)},
			{put: person(vic, "g1", k1)},
		}, map[string]string{vic: "g1"}, nil},
		{"a GUID its holder changed is free", []step{
			{put: person(vic, "g1", k1)},
			{put: person(vic, "g2", k1)},
			{put: person(evil, "g1", k2)},
			{put: person(mallory, "g2", k2), conflict: &discovery.GUIDConflictError{GUID: "g2", ID: mallory, Holder: vic}},
		}, map[string]string{vic: "g2", evil: "g1"}, []string{mallory}},
		{"Delete frees the GUID", []step{
			{put: person(evil, "g1", k2)},
			{del: evil},
			{put: person(vic, "g1", k1)},
		}, map[string]string{vic: "g1"}, []string{evil}},
		{"Delete of another ID keeps the GUID", []step{
			{put: person(evil, "g1", k2)},
			{del: vic},
			{put: person(vic, "g1", k1), conflict: &discovery.GUIDConflictError{GUID: "g1", ID: vic, Holder: evil}},
		}, map[string]string{evil: "g1"}, []string{vic}},
		{"an empty GUID is held by no one", []step{
			{put: person(vic, "", k1)},
			{put: person(evil, "", k2)},
		}, map[string]string{vic: "", evil: ""}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := ctxT(t)
			var c discovery.MemoryCache
			for i, s := range tt.steps {
				if s.put == nil {
					if err := c.Delete(ctx, s.del); err != nil {
						t.Fatalf("step %d: Delete: %v", i, err)
					}
					continue
				}
				err := c.Put(ctx, s.put)
				if s.conflict == nil {
					if err != nil {
						t.Fatalf("step %d: Put(%s, %q) = %v", i, s.put.ID, s.put.GUID, err)
					}
					continue
				}
				var ge *discovery.GUIDConflictError
				if !errors.As(err, &ge) || *ge != *s.conflict {
					t.Fatalf("step %d: Put(%s, %q) = %v, want %+v", i, s.put.ID, s.put.GUID, err, s.conflict)
				}
				if !errors.Is(err, discovery.ErrGUIDConflict) || errors.Is(err, discovery.ErrKeyConflict) {
					t.Errorf("step %d: %v does not match ErrGUIDConflict alone", i, err)
				}
				if discovery.IsTemporary(err) || discovery.Category(err) != "guid_conflict" {
					t.Errorf("step %d: IsTemporary = %v, Category = %q; want final guid_conflict", i, discovery.IsTemporary(err), discovery.Category(err))
				}
			}
			for id, guid := range tt.want {
				if p, err := c.Get(ctx, id); err != nil || p.GUID != guid {
					t.Errorf("Get(%s) = %+v, %v; want GUID %q", id, p, err, guid)
				}
			}
			for _, id := range tt.missing {
				if p, err := c.Get(ctx, id); !errors.Is(err, discovery.ErrCacheMiss) {
					t.Errorf("Get(%s) = %+v, %v; want a miss", id, p, err)
				}
			}
		})
	}
}

// TestResolverGUIDConflict: the cache holds evil@a.example with vic's GUID
// (as a Lookup before the hCard host rule stored it when evil's WebFinger
// linked vic's hCard). Looking vic@b.example up re-discovers evil: a stale
// or illegitimate entry is deleted and vic stored; a valid claim, or a
// holder that cannot be checked now, leaves the cache as it was.
func TestResolverGUIDConflict(t *testing.T) {
	const evil, vic = "evil@a.example", "vic@b.example"
	keyPEM, err := os.ReadFile(filepath.Join(referenceSet, "keys", "alice.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := discovery.ParsePublicKey(keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	unavailable := func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}
	tests := []struct {
		name      string
		aGUID     string                      // GUID of evil's hCard on pod A
		serve     map[string]http.HandlerFunc // paths of pod A
		conflict  bool                        // want the conflict, cache unchanged
		wantCause bool                        // the conflict wraps the holder's *HTTPError
	}{
		{name: "holder's WebFinger links vic's hCard on B", aGUID: evilGUID,
			serve: map[string]http.HandlerFunc{"/.well-known/webfinger": evilJRD("a.example", "https://b.example/hcard/users/"+vicGUID)}},
		{name: "holder gone", aGUID: evilGUID,
			serve: map[string]http.HandlerFunc{"/.well-known/webfinger": notFound, "/.well-known/host-meta": notFound}},
		{name: "holder has another GUID now", aGUID: evilGUID},
		{name: "holder still claims the GUID on its own host", aGUID: vicGUID, conflict: true},
		{name: "holder's pod unavailable", aGUID: evilGUID, conflict: true, wantCause: true,
			serve: map[string]http.HandlerFunc{"/.well-known/webfinger": unavailable, "/.well-known/host-meta": unavailable}},
	}
	for _, tt := range tests {
		for _, method := range []string{"Person", "Rediscover"} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				ctx := ctxT(t)
				a := newPod(t, true).rename("a.example", "evil", tt.aGUID)
				b := newPod(t, true).rename("b.example", "vic", vicGUID)
				for path, f := range tt.serve {
					a.handle(path, f)
				}
				cache := &discovery.MemoryCache{}
				if err := cache.Put(ctx, &discovery.Person{ID: evil, GUID: vicGUID, PublicKey: key, PublicKeyPEM: string(keyPEM)}); err != nil {
					t.Fatal(err)
				}
				r := &discovery.Resolver{Client: namedClient(t, map[string]*pod{"a.example:443": a, "b.example:443": b}), Cache: cache}
				var p *discovery.Person
				if method == "Person" {
					p, err = r.Person(ctx, vic)
				} else {
					p, err = r.Rediscover(ctx, vic)
				}
				if a.requests() == 0 {
					t.Error("the holder was not re-discovered")
				}
				if n := b.count("/hcard/users/" + vicGUID); n != 1 {
					t.Errorf("vic's hCard fetched %d times, want once (vic's own lookup)", n)
				}
				held, herr := cache.Get(ctx, evil)
				stored, serr := cache.Get(ctx, vic)
				if !tt.conflict {
					if err != nil || p == nil || p.ID != vic || p.GUID != vicGUID {
						t.Fatalf("%s = %+v, %v; want vic", method, p, err)
					}
					if !errors.Is(herr, discovery.ErrCacheMiss) {
						t.Errorf("the holder's entry is still there: %+v, %v", held, herr)
					}
					if serr != nil || stored.GUID != vicGUID {
						t.Errorf("Get(vic) = %+v, %v; want vic stored", stored, serr)
					}
					return
				}
				var ge *discovery.GUIDConflictError
				if !errors.As(err, &ge) || *ge != (discovery.GUIDConflictError{GUID: vicGUID, ID: vic, Holder: evil}) {
					t.Fatalf("%s = %+v, %v; want the GUID conflict with %s", method, p, err, evil)
				}
				if !errors.Is(err, discovery.ErrGUIDConflict) || discovery.IsTemporary(err) {
					t.Errorf("%v: want a final ErrGUIDConflict", err)
				}
				var he *discovery.HTTPError
				if got := errors.As(err, &he); got != tt.wantCause {
					t.Errorf("%v wraps the holder's HTTP error: %v, want %v", err, got, tt.wantCause)
				}
				if method == "Person" && p != nil {
					t.Errorf("Person returned %+v with the conflict", p)
				}
				if method == "Rediscover" && (p == nil || p.ID != vic) {
					t.Errorf("Rediscover returned %+v, want the fresh vic", p)
				}
				if herr != nil || held.GUID != vicGUID {
					t.Errorf("Get(holder) = %+v, %v; want the holder kept", held, herr)
				}
				if !errors.Is(serr, discovery.ErrCacheMiss) {
					t.Errorf("Get(vic) = %+v, %v; want a miss", stored, serr)
				}
			})
		}
	}
}
