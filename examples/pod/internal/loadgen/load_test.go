package loadgen

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/storetest"
)

// TestLoadReceive runs the load command's receive burst in a small
// configuration: every request is answered 202 and every accepted GUID is
// stored exactly once once the inbox drains. Figures are logged only.
func TestLoadReceive(t *testing.T) {
	var out bytes.Buffer
	err := Run(context.Background(), []string{"--senders", "8", "--messages", "200", "--dup", "0.1", "--dir", t.TempDir()}, &out, io.Discard)
	t.Logf("pod load:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := RunReceiveLoad(context.Background(), ReceiveLoad{Senders: 8, Messages: 200, Dup: 0.1, Dir: t.TempDir(), DB: storetest.DB(t)})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Requests != 220 || rep.Statuses[http.StatusAccepted] != 220 || rep.TransportErrors != 0 {
		t.Errorf("answers %v (%d transport errors), want 220 × 202", rep.Statuses, rep.TransportErrors)
	}
	if rep.AcceptedGUIDs != 200 || rep.Persisted != 200 || rep.Lost != 0 || rep.Duplicates != 0 || rep.Dead != 0 {
		t.Errorf("accepted %d, persisted %d, lost %d, duplicates %d, dead %d; want 200, 200, 0, 0, 0",
			rep.AcceptedGUIDs, rep.Persisted, rep.Lost, rep.Duplicates, rep.Dead)
	}
	if rep.P50 <= 0 || rep.P50 > rep.P99 || rep.P99 > rep.Max {
		t.Errorf("percentiles out of order: p50 %v, p99 %v, max %v", rep.P50, rep.P99, rep.Max)
	}
	for _, want := range []string{"accepted/s", "time to 202 p99", "drain", "distinct GUIDs persisted", "220 × 202"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the table lacks %q", want)
		}
	}
}

// TestLoadHighWaterMark: with a high-water mark below the burst and the
// inbox filling faster than it drains, some requests may be answered 503;
// whatever was answered 202 is still stored exactly once, and nothing
// answered 503 is stored.
func TestLoadHighWaterMark(t *testing.T) {
	rep, err := RunReceiveLoad(context.Background(), ReceiveLoad{Senders: 8, Messages: 120, MaxInbox: 10, Dir: t.TempDir(), DB: storetest.DB(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("answers %v", rep.Statuses)
	if got := rep.Statuses[http.StatusAccepted] + rep.Statuses[http.StatusServiceUnavailable]; got != 120 {
		t.Errorf("answers %v: want only 202 and 503", rep.Statuses)
	}
	if rep.Persisted != rep.AcceptedGUIDs || rep.Lost != 0 || rep.Unacknowledged != 0 || rep.Duplicates != 0 {
		t.Errorf("accepted %d, persisted %d, lost %d, unacknowledged %d, duplicates %d",
			rep.AcceptedGUIDs, rep.Persisted, rep.Lost, rep.Unacknowledged, rep.Duplicates)
	}
}

// TestLoadFanout: one public post of a local user to followers on 1,000
// loopback receivers is signed once, stored once in the outbox, reaches
// every receiver exactly once with a valid signature, stays within the
// sender's concurrency caps, and adds less than 64 MiB to the heap.
func TestLoadFanout(t *testing.T) {
	pods := 1000
	if testing.Short() {
		pods = 100
	}
	rep, err := RunFanoutLoad(context.Background(), FanoutLoad{Pods: pods, KeyBits: 2048, Dir: t.TempDir(), DB: storetest.DB(t)})
	if rep != nil {
		var out bytes.Buffer
		rep.Print(&out)
		t.Logf("fan-out:\n%s", out.String())
	}
	if err != nil {
		t.Fatal(err)
	}
	if rep.Signatures != 1 || rep.DistinctSignatures != 1 || rep.StoredBodies != 1 {
		t.Errorf("signatures %d, distinct received %d, bodies stored %d; want 1, 1, 1", rep.Signatures, rep.DistinctSignatures, rep.StoredBodies)
	}
	if rep.Delivered != pods || rep.Missing != 0 || rep.Repeated != 0 || rep.Invalid != 0 {
		t.Errorf("delivered %d, missing %d, repeated %d, invalid %d; want %d, 0, 0, 0", rep.Delivered, rep.Missing, rep.Repeated, rep.Invalid, pods)
	}
	if rep.MaxInFlight < 1 || rep.MaxInFlight > rep.Concurrency || rep.MaxInFlightPerHost > rep.PerHost {
		t.Errorf("in flight %d (cap %d), per host %d (cap %d)", rep.MaxInFlight, rep.Concurrency, rep.MaxInFlightPerHost, rep.PerHost)
	}
	if g := rep.HeapGrowth(); g >= 64<<20 {
		t.Errorf("heap grew by %d bytes during the fan-out, want < 64 MiB", g)
	}
}

// TestLoadConfigErrors: unusable flags are typed errors, not panics.
func TestLoadConfigErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--senders", "-1"}, {"--messages", "-1"}, {"--dup", "2"}, {"--key-bits", "1024"}, {"--size", "10"},
		{"extra"}, {"fanout", "--pods", "-3"}, {"fanout", "--key-bits", "512"}, {"fanout", "extra"},
	} {
		err := Run(context.Background(), args, io.Discard, io.Discard)
		if !errors.Is(err, ErrLoadConfig) {
			t.Errorf("pod load %v: %v, want ErrLoadConfig", args, err)
		}
	}
	if err := Run(context.Background(), []string{"--no-such-flag"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown flag was accepted")
	}
}

// TestLoadWorkers: on PostgreSQL, a web process and two worker processes
// (the pod binary, --role worker) take a receive burst and a fan-out:
// every accepted body is applied exactly once, every receiver gets the
// post once.
func TestLoadWorkers(t *testing.T) {
	storetest.Postgres(t)
	bin := podtest.BuildBinary(t, t.TempDir())
	rep, err := RunReceiveLoad(context.Background(), ReceiveLoad{Senders: 8, Messages: 300, Dup: 0.1, Dir: t.TempDir(),
		DB: storetest.DB(t), Workers: 2, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Statuses[http.StatusAccepted] != 330 || rep.Persisted != 300 || rep.Lost != 0 || rep.Duplicates != 0 || rep.Dead != 0 {
		t.Errorf("answers %v, persisted %d, lost %d, duplicates %d, dead %d; want 330 × 202 and 300 stored once",
			rep.Statuses, rep.Persisted, rep.Lost, rep.Duplicates, rep.Dead)
	}
	frep, err := RunFanoutLoad(context.Background(), FanoutLoad{Pods: 20, KeyBits: 2048, Dir: t.TempDir(), DB: storetest.DB(t),
		Workers: 2, Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if frep.Signatures != 1 {
		t.Errorf("%d signatures, want 1", frep.Signatures)
	}
	// Workers need a store the processes share.
	if _, err := RunReceiveLoad(context.Background(), ReceiveLoad{Senders: 1, Messages: 1, Dir: t.TempDir(), Workers: 1, Binary: bin}); !errors.Is(err, ErrLoadConfig) {
		t.Errorf("workers on SQLite: %v, want ErrLoadConfig", err)
	}
}
