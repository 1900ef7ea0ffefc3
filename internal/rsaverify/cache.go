package rsaverify

import (
	"crypto/rsa"
	"runtime"
	"sync"
	"weak"
)

// cacheMax bounds the number of keys whose precomputation is kept
// (about 1.5 KiB each at 4096 bits).
const cacheMax = 512

// cacheEntry is one cached key. The cleanup removes the entry once the
// key is garbage; it is stopped when the entry is evicted instead.
type cacheEntry struct {
	mk      *montKey
	cleanup runtime.Cleanup
}

// keyCache maps a key (by weak pointer, so it does not keep the key
// alive) to its precomputation.
var keyCache struct {
	sync.RWMutex
	m map[weak.Pointer[rsa.PublicKey]]cacheEntry
}

// precomputed returns the Montgomery constants for pub (N odd and
// positive, E checked by the caller), from the cache when they were
// computed from the same N and E, computing and caching them otherwise.
func precomputed(pub *rsa.PublicKey) *montKey {
	wp := weak.Make(pub)
	keyCache.RLock()
	ent, ok := keyCache.m[wp]
	keyCache.RUnlock()
	if ok && ent.mk.matches(pub.N, pub.E) {
		return ent.mk
	}
	mk := newMontKey(pub.N, pub.E)

	keyCache.Lock()
	defer keyCache.Unlock()
	if keyCache.m == nil {
		keyCache.m = make(map[weak.Pointer[rsa.PublicKey]]cacheEntry)
	}
	if ent, ok := keyCache.m[wp]; ok {
		// The key changed since it was cached (or another goroutine
		// cached it meanwhile): replace the constants, keep the cleanup.
		ent.mk = mk
		keyCache.m[wp] = ent
		return mk
	}
	if len(keyCache.m) >= cacheMax {
		for w, old := range keyCache.m { // map order: an arbitrary victim
			old.cleanup.Stop()
			delete(keyCache.m, w)
			break
		}
	}
	keyCache.m[wp] = cacheEntry{mk: mk, cleanup: runtime.AddCleanup(pub, forget, wp)}
	return mk
}

// forget drops a collected key's entry.
func forget(wp weak.Pointer[rsa.PublicKey]) {
	keyCache.Lock()
	delete(keyCache.m, wp)
	keyCache.Unlock()
}

// cacheLen reports the number of cached keys (for tests).
func cacheLen() int {
	keyCache.RLock()
	defer keyCache.RUnlock()
	return len(keyCache.m)
}
