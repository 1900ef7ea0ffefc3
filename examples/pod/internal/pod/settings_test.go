package pod

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// TestAccountDefaults: new users get the configured aspects and start
// sharing with the autofollow account (Config.Autofollow until the
// setting changes it; empty switches it off); a refused setting changes
// nothing.
func TestAccountDefaults(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	p, err := NewPod(ctx, Config{PublicURL: "http://pod.test/", DB: testDBAt(t, dir), DataDir: dir, KeyBits: 2048, Dev: true,
		BcryptCost: bcrypt.MinCost, Poll: 50 * time.Millisecond, Autofollow: "root", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	aspectsOf := func(name string) []string {
		t.Helper()
		as, err := p.Store().Aspects(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range as {
			out = append(out, a.Name)
		}
		return out
	}
	sharesWithRoot := func(name string) *store.ContactView {
		t.Helper()
		c, err := p.Store().Contact(ctx, "root", name+"@pod.test")
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if _, err := p.AddUser(ctx, "root", "password-root"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddUser(ctx, "ann", "password-ann"); err != nil {
		t.Fatal(err)
	}
	if got := aspectsOf("ann"); !slices.Equal(got, store.DefaultAspects) {
		t.Errorf("ann's aspects %v, want %v", got, store.DefaultAspects)
	}
	if c := sharesWithRoot("ann"); c == nil || !c.Sharing || c.Receiving {
		t.Errorf("root's contact ann after ann joined: %+v, want ann sharing with root", c)
	}
	if c, err := p.Store().Contact(ctx, "ann", "root@pod.test"); err != nil || !slices.Equal(c.Aspects, []string{"Family"}) {
		t.Errorf("ann's contact root: %+v, %v; want in her first aspect", c, err)
	}
	if _, n, _ := p.Store().Notifications(ctx, "root", true); n != 1 {
		t.Errorf("root has %d unread notifications, want 1 (started sharing)", n)
	}

	// Refused settings change nothing.
	for _, bad := range [][2]string{{"", "root"}, {" , \n", "root"}, {"Friends", "nobody"}, {"Fri\x01ends", ""}} {
		if err := p.SetAccountDefaults(ctx, bad[0], bad[1]); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("SetAccountDefaults(%q, %q) = %v, want ErrInvalid", bad[0], bad[1], err)
		}
	}
	if got, _ := p.Autofollow(ctx); got != "root" {
		t.Errorf("autofollow after refused settings: %q", got)
	}

	// Switched off, with other aspects.
	if err := p.SetAccountDefaults(ctx, "Friends, Coworkers\nFriends\n", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddUser(ctx, "bob", "password-bob"); err != nil {
		t.Fatal(err)
	}
	if got := aspectsOf("bob"); !slices.Equal(got, []string{"Friends", "Coworkers"}) {
		t.Errorf("bob's aspects %v", got)
	}
	if c := sharesWithRoot("bob"); c != nil {
		t.Errorf("bob shares with root although autofollow is off: %+v", c)
	}
	// Switched on again for another account; its own sign-up does not share with itself.
	if err := p.SetAccountDefaults(ctx, "Friends", "BOB"); err != nil {
		t.Fatal(err)
	}
	if _, err := p.AddUser(ctx, "carl", "password-carl"); err != nil {
		t.Fatal(err)
	}
	if c, err := p.Store().Contact(ctx, "bob", "carl@pod.test"); err != nil || !c.Sharing {
		t.Errorf("bob's contact carl: %+v, %v", c, err)
	}
}
