package hostile_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

// maxBody is the largest body the receive routes accept (LIMITS.md R1).
const maxBody = magicenv.DefaultMaxSize

// heapBound is the bound of the memory goal R4 (scripts/reliability-long)
// on the peak heap one request may add: 8 × its size, at least 8 MiB.
func heapBound(n int) uint64 { return uint64(max(8*n, 8<<20)) }

// heapUse is one measurement of a request: the bytes it allocated in
// all, and (when measured) the peak of the live heap above the baseline.
type heapUse struct {
	allocated, peak uint64
	precise         bool // peak measured by measureLive; else peak = allocated
}

// measureHeap measures the heap f adds at its peak, in two stages.
//
// Go has no peak-heap metric. Stage 1 reads /gc/heap/allocs:bytes around
// f: everything f allocated, an upper bound of its peak that no sampling
// can miss (nothing is counted twice, garbage included). When that bound
// is within the budget, the request passes on it. Otherwise stage 2
// (measureLive) runs f again with the GC target at 1 %, so that a GC
// cycle ends every time the heap grows by about 1 %, while a goroutine
// samples /gc/heap/live:bytes (the heap marked live by the latest cycle)
// in a tight loop: the maximum, less the live heap before f (after a
// forced GC, with f's input already allocated), is the peak live heap f
// added, to within the ~1 % between two cycles. Sampling
// /memory/classes/heap/objects:bytes instead would count garbage that is
// not swept yet, which during a short request is all of it. A cycle
// also counts as live whatever was allocated while it marked, so one
// run can overstate the peak when the machine is busy: over the budget,
// stage 2 runs up to three times and keeps the smallest figure (a peak
// that is really over the budget is over it every time).
func measureHeap(prep func() func(), budget uint64) heapUse {
	f := prep()
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	runtime.GC()
	metrics.Read(s)
	a0 := s[0].Value.Uint64()
	f()
	metrics.Read(s)
	u := heapUse{allocated: s[0].Value.Uint64() - a0}
	u.peak = u.allocated
	if u.allocated > budget {
		u.peak, u.precise = measureLive(prep()), true
		for i := 0; i < 2 && u.peak > budget; i++ {
			u.peak = min(u.peak, measureLive(prep()))
		}
	}
	return u
}

// measureLive is measureHeap's stage 2: the peak of the live heap above
// the baseline while f runs, with a GC cycle every ~1 % of growth.
func measureLive(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(1))
	live := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	runtime.GC()
	metrics.Read(live)
	base := live[0].Value.Uint64()
	var peak atomic.Uint64
	peak.Store(base)
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		one := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			metrics.Read(one)
			if v := one[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			default:
				runtime.Gosched()
			}
		}
	}()
	f()
	// One more cycle while f's results may still be referenced by it:
	// the live heap at its end counts too.
	runtime.GC()
	close(stop)
	<-done
	metrics.Read(live)
	p := max(peak.Load(), live[0].Value.Uint64())
	if p <= base {
		return 0
	}
	return p - base
}

// padWhitespace pads body to size bytes with white space where the
// parser has to read it: before the closing tag of an XML root, before
// the final brace of a JSON object, at the end otherwise.
func padWhitespace(body []byte, size int) []byte {
	n := size - len(body)
	if n <= 0 {
		return body
	}
	trimmed := bytes.TrimRight(body, " \t\r\n")
	at := len(trimmed)
	switch {
	case bytes.HasSuffix(trimmed, []byte(">")):
		if i := bytes.LastIndex(trimmed, []byte("</")); i >= 0 {
			at = i
		}
	case bytes.HasSuffix(trimmed, []byte("}")):
		at = len(trimmed) - 1
	}
	out := make([]byte, 0, size)
	out = append(out, body[:at]...)
	out = append(out, bytes.Repeat([]byte(" "), n)...)
	return append(out, body[at:]...)
}

// padBase64 grows the longest base64 run of an envelope (me:data, or the
// encrypted_magic_envelope of a private body) to about size bytes with
// "AAAA" groups in front, so that the body stays decodable and the
// pipeline decodes, verifies or decrypts all of it: 64 characters are
// 48 bytes, 3 AES blocks, so CBC still decrypts and unpads (only the
// first original block is garbled). Nil when the body has no such run.
func padBase64(body []byte, size int) []byte {
	n := (size - len(body)) / 64 * 64
	if n <= 0 {
		return nil
	}
	at := -1
	for _, open := range []string{`"encrypted_magic_envelope":"`, `"encrypted_magic_envelope": "`} {
		if i := bytes.Index(body, []byte(open)); i >= 0 {
			at = i + len(open)
		}
	}
	if at < 0 {
		if i := bytes.Index(body, []byte("<me:data")); i >= 0 {
			if j := bytes.IndexByte(body[i:], '>'); j >= 0 {
				at = i + j + 1
			}
		}
	}
	if at < 0 {
		return nil
	}
	out := make([]byte, 0, len(body)+n)
	out = append(out, body[:at]...)
	out = append(out, bytes.Repeat([]byte("A"), n)...)
	return append(out, body[at:]...)
}

// heapCase is one body to measure.
type heapCase struct {
	name      string
	body      []byte
	private   bool
	recipient string
	v         Variant
}

// heapCases are the corpus's receive inputs padded to the maximum body
// size two ways, and its entity payloads signed into envelopes padded
// the same way (inputs already over the maximum are used as they are).
func heapCases(t *testing.T) []heapCase {
	var out []heapCase
	for _, m := range loadCorpus(t) {
		for _, v := range m.Variants {
			var body []byte
			switch v.Entry {
			case "receive_public", "receive_private", "receive_public_fetch", "receive_public_discovery":
				body = input(t, m, v)
				if v.Templated {
					body = []byte(strings.NewReplacer("{{POD}}", "127.0.0.1:9", "{{CANARY}}", "127.0.0.1:9").Replace(string(body)))
				}
				if v.Entry == "receive_public_discovery" {
					body = signed(t, body, alice, alice)
				}
			case "check_entity_xml":
				// The payload padded to the entity size limit, signed.
				p := padWhitespace(input(t, m, v), 500<<10)
				body = signed(t, p, alice, alice)
			default:
				continue
			}
			hc := heapCase{v: v, private: v.Entry == "receive_private", recipient: v.Recipient}
			name := m.ID + "/" + v.Name
			if len(body) >= maxBody {
				hc.name, hc.body = name+"/as_is", body
				out = append(out, hc)
				continue
			}
			hc.name, hc.body = name+"/ws", padWhitespace(body, maxBody)
			out = append(out, hc)
			if b := padBase64(body, maxBody); b != nil {
				hc.name, hc.body = name+"/b64", b
				out = append(out, hc)
			}
		}
	}
	return out
}

// TestHeapAmplification is the library half of R4
// (scripts/reliability-long): every hostile corpus input padded to the
// maximum body size (1 MiB), fed through the public receive APIs
// (salmon.Receiver, and salmon.Handler with a SyncInbox as a pod mounts
// it), may add at most 8 × its size (at least 8 MiB) to the peak heap. The
// figures are logged ("R4 heap" lines).
func TestHeapAmplification(t *testing.T) {
	if testing.Short() {
		t.Skip("measures about 500 requests")
	}
	cases := heapCases(t)
	if len(cases) < 100 {
		t.Fatalf("only %d cases", len(cases))
	}
	type row struct {
		name string
		size int
		u    heapUse
	}
	var rows []row
	precise := 0
	ctx := context.Background()
	for _, hc := range cases {
		rp := newReplay(t, hc.v)
		h := newReplay(t, hc.v).handler(hc.v.Has("legacy"))
		path := "/receive/public"
		if hc.private {
			path = "/receive/users/" + hc.recipient
		}
		ct := contentType(hc.body)
		for _, api := range []string{"receiver", "handler"} {
			var prep func() func()
			switch api {
			case "receiver":
				prep = func() func() {
					return func() {
						if hc.private {
							_, _ = rp.receiver.ReceivePrivate(ctx, hc.recipient, hc.body)
						} else {
							_, _ = rp.receiver.ReceivePublic(ctx, hc.body)
						}
					}
				}
			case "handler":
				prep = func() func() {
					req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(hc.body))
					req.Header.Set("Content-Type", ct)
					rec := httptest.NewRecorder()
					return func() { h.ServeHTTP(rec, req) }
				}
			}
			b := heapBound(len(hc.body))
			u := measureHeap(prep, b)
			rows = append(rows, row{hc.name + "/" + api, len(hc.body), u})
			if u.precise {
				precise++
			}
			if u.peak > b {
				t.Errorf("%s/%s: %d-byte body added %d bytes of peak live heap (%.1f×), bound %d (allocated %d)",
					hc.name, api, len(hc.body), u.peak, float64(u.peak)/float64(len(hc.body)), b, u.allocated)
			}
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].u.peak > rows[j].u.peak })
	for _, r := range rows[:min(10, len(rows))] {
		t.Logf("R4 heap top: %s: body %d B, peak +%.2f MiB (%.2f×, measured live: %v), allocated %.2f MiB",
			r.name, r.size, float64(r.u.peak)/(1<<20), float64(r.u.peak)/float64(r.size), r.u.precise, float64(r.u.allocated)/(1<<20))
	}
	var maxAlloc, maxLive uint64
	liveName := "-"
	for _, r := range rows {
		maxAlloc = max(maxAlloc, r.u.allocated)
		if r.u.precise && r.u.peak > maxLive {
			maxLive, liveName = r.u.peak, r.name
		}
	}
	t.Logf("R4 heap: %d requests (%d inputs × 2 APIs), %d over the budget in allocations and measured live; max peak +%.2f MiB (%.2f× of %d B, bound 8×, floor 8 MiB); max allocated by one request %.2f MiB; max measured live peak +%.2f MiB (%s)",
		len(rows), len(cases), precise, float64(rows[0].u.peak)/(1<<20), float64(rows[0].u.peak)/float64(rows[0].size), rows[0].size,
		float64(maxAlloc)/(1<<20), float64(maxLive)/(1<<20), liveName)
}

// TestMeasureHeap is the control of the measurement: a function that
// holds 16 MiB at its peak must be seen at about 16 MiB, 64 short-lived
// 1 MiB buffers (one alive at a time) as far less than 64 MiB live but
// 64 MiB allocated, and an empty function near 0.
func TestMeasureHeap(t *testing.T) {
	var keep [][]byte
	held := measureLive(func() {
		for range 16 {
			keep = append(keep, make([]byte, 1<<20))
		}
		runtime.GC() // the peak is held while a cycle runs
		keep = nil
	})
	if held < 15<<20 || held > 20<<20 {
		t.Errorf("16 MiB held: peak %d", held)
	}
	var sink atomic.Int64
	transient := func() func() {
		return func() {
			for range 64 {
				b := make([]byte, 1<<20)
				b[len(b)-1] = 1
				sink.Add(int64(b[len(b)-1]))
			}
		}
	}
	tr := measureHeap(transient, 8<<20)
	if !tr.precise || tr.allocated < 64<<20 || tr.peak > 8<<20 {
		t.Errorf("64 × 1 MiB transient: %+v, want allocated ≥ 64 MiB, measured live peak ≤ 8 MiB", tr)
	}
	if e := measureLive(func() {}); e > 1<<20 {
		t.Errorf("empty function: peak %d", e)
	}
	t.Logf("control: 16 MiB held → peak %.2f MiB; 64 × 1 MiB transient → live peak %.2f MiB, allocated %.2f MiB",
		float64(held)/(1<<20), float64(tr.peak)/(1<<20), float64(tr.allocated)/(1<<20))
}
