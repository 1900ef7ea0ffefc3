package pod

import (
	"context"
	"errors"
	"testing"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/magicenv"
)

// Config.MinKeyBits is the SDK's key policy for the whole pod: a pod that
// raises it refuses the 2048-bit key of a person on another pod, in
// discovery and for envelopes; a pod on the default accepts it.
func TestMinKeyBits(t *testing.T) {
	a := startPod(t) // new users get 2048-bit keys
	alice, _ := a.user(t, "alice")
	strict, _ := startPodConfigured(t, t.TempDir(), "127.0.0.1:0", testLogger(t), func(c *Config) { c.MinKeyBits = 4096 })
	lenient := startPod(t)
	ctx := context.Background()

	if _, err := lenient.disc.Lookup(ctx, alice); err != nil {
		t.Fatalf("default pod: Lookup(%s) = %v", alice, err)
	}
	var weak *discovery.WeakKeyError
	if _, err := strict.disc.Lookup(ctx, alice); !errors.As(err, &weak) || weak.Bits != 2048 || weak.Min != 4096 {
		t.Fatalf("strict pod: Lookup(%s) = %v, want a WeakKeyError for 2048 < 4096", alice, err)
	}

	u, err := a.store.UserByName(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	key := u.Key
	env, err := magicenv.Sign([]byte("<x/>"), alice, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := magicenv.Parse(env.Marshal(), strict.envOpts)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(&key.PublicKey); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict pod: envelope by a 2048-bit key verifies: %v", err)
	}
	if parsed, err = magicenv.Parse(env.Marshal(), lenient.envOpts); err != nil || parsed.Verify(&key.PublicKey) != nil {
		t.Errorf("default pod: envelope by a 2048-bit key refused: %v", err)
	}
}
