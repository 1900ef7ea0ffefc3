package salmon

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestHostSlotsDropped checks that the per-host limit holds and that a
// Sender keeps no entry for a host once nobody holds or waits for its
// slot, so a long-running sender's map does not grow with every host it
// has ever delivered to.
func TestHostSlotsDropped(t *testing.T) {
	s := &Sender{PerHost: 1}
	var releases []func()
	for i := range 1000 {
		r := s.acquireHost(context.Background(), fmt.Sprintf("https://pod%d.example/receive/public", i))
		if r == nil {
			t.Fatalf("host %d: no slot", i)
		}
		releases = append(releases, r)
	}
	if n := s.hostsInUse(); n != 1000 {
		t.Fatalf("hosts in use with 1000 slots held = %d", n)
	}

	// The limit: a second delivery to pod0 waits, and gives up with its
	// context, which leaves the entry to the holder.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if r := s.acquireHost(ctx, "https://pod0.example/receive/users/x"); r != nil {
		t.Fatal("a second slot for pod0.example with PerHost 1")
	}
	if n := s.hostsInUse(); n != 1000 {
		t.Fatalf("hosts in use after a waiter gave up = %d", n)
	}

	// A waiter gets the slot when the holder releases it.
	got := make(chan func())
	go func() { got <- s.acquireHost(context.Background(), "https://pod0.example/") }()
	time.Sleep(10 * time.Millisecond)
	releases[0]()
	r := <-got
	if r == nil {
		t.Fatal("the waiter got no slot after the release")
	}
	releases[0] = r

	for _, r := range releases {
		r()
	}
	if n := s.hostsInUse(); n != 0 {
		t.Fatalf("hosts in use after every release = %d, want 0", n)
	}
}
