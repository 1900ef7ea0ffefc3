package loadgen

import (
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

// FanoutLoad configures a fan-out run: one local user of a new pod, with
// a follower on each of Pods loopback receivers, creates one public post.
type FanoutLoad struct {
	// Pods is the number of receivers, each on its own loopback port
	// (1,000 if 0).
	Pods int
	// KeyBits is the posting user's RSA key size (4096 if 0).
	KeyBits int
	// ReceiverDelay is how long a receiver takes to answer, so that
	// deliveries overlap and the sender's caps show (5 ms if 0).
	ReceiverDelay time.Duration
	// Dir holds the pod's database; empty means a new temporary
	// directory, removed afterwards.
	Dir string
	// DB is the pod's --db: empty for SQLite in Dir, or a postgres://
	// URL of an empty database (or one a previous run left).
	DB string
	// Workers and Binary split the pod into processes as in ReceiveLoad.
	Workers int
	Binary  string
	// Timeout bounds the wait for every delivery (5 min if 0).
	Timeout time.Duration
	// CPUProfile, when set, is a file that receives a CPU profile of the
	// fan-out.
	CPUProfile string
	// Progress receives a line per phase; nil discards them.
	Progress io.Writer
}

// FanoutReport is the outcome of a fan-out run.
type FanoutReport struct {
	Pods, KeyBits        int
	Wall                 time.Duration // CreatePost called to the last delivery answered
	Signatures           int64         // signatures the pod made for the post
	StoredBodies         int           // outbox bodies right after the post was queued
	DistinctSignatures   int           // distinct me:sig values the receivers saw
	Delivered            int           // receivers with exactly one valid delivery
	Missing, Repeated    int           // receivers with none, with more than one
	Invalid              int           // deliveries that failed verification
	MaxInFlight          int           // deliveries in progress at once, at the receivers
	MaxInFlightPerHost   int           // the same, at one receiver
	Concurrency, PerHost int           // the sender's caps
	HeapBase, HeapPeak   uint64        // live heap objects: before the post, peak during the fan-out
	Allocated            uint64        // bytes allocated during the fan-out
}

// HeapGrowth is the peak heap above the heap before the post.
func (r *FanoutReport) HeapGrowth() uint64 {
	if r.HeapPeak < r.HeapBase {
		return 0
	}
	return r.HeapPeak - r.HeapBase
}

func (c *FanoutLoad) defaults() error {
	if c.Pods == 0 {
		c.Pods = 1000
	}
	if c.KeyBits == 0 {
		c.KeyBits = 4096
	}
	if c.ReceiverDelay == 0 {
		c.ReceiverDelay = 5 * time.Millisecond
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	switch {
	case c.Pods < 1 || c.Pods > 5000:
		return fmt.Errorf("%w: --pods must be 1 to 5,000", ErrLoadConfig)
	case c.KeyBits < 2048 || c.KeyBits > 8192:
		return fmt.Errorf("%w: --key-bits must be 2048 to 8192", ErrLoadConfig)
	case c.ReceiverDelay < 0 || c.Timeout < 0:
		return fmt.Errorf("%w: negative --receiver-delay or --timeout", ErrLoadConfig)
	}
	return nil
}

// fanoutReceivers is one HTTP server on many loopback listeners, each a
// "pod" that verifies the magic envelopes it receives with the SDK and
// counts them by listener (Host header).
type fanoutReceivers struct {
	author string
	key    *rsa.PublicKey
	delay  time.Duration
	srv    *http.Server
	urls   []string

	mu          sync.Mutex
	valid       map[string]int // by host
	sigs        map[string]bool
	invalid     int
	inFlight    int
	perHost     map[string]int
	maxInFlight int
	maxPerHost  int
	last        time.Time
	got         atomic.Int64 // valid deliveries
}

func startFanoutReceivers(n int, delay time.Duration) (*fanoutReceivers, error) {
	f := &fanoutReceivers{delay: delay, valid: map[string]int{}, sigs: map[string]bool{}, perHost: map[string]int{}}
	f.srv = &http.Server{Handler: http.HandlerFunc(f.serve), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 5 * time.Second}
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.close()
			return nil, err
		}
		f.urls = append(f.urls, "http://"+ln.Addr().String()+"/")
		go f.srv.Serve(ln)
	}
	return f, nil
}

func (f *fanoutReceivers) close() { f.srv.Close() }

func (f *fanoutReceivers) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/receive/public" {
		http.NotFound(w, r)
		return
	}
	host := r.Host
	f.mu.Lock()
	f.inFlight++
	f.perHost[host]++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.maxPerHost = max(f.maxPerHost, f.perHost[host])
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inFlight--
		f.perHost[host]--
		f.mu.Unlock()
	}()
	env, err := magicenv.Read(r.Body, nil)
	var author string
	if err == nil {
		author, err = env.Author()
	}
	if err == nil && author != f.author {
		err = fmt.Errorf("author %s, want %s", author, f.author)
	}
	if err == nil {
		err = env.Verify(f.key)
	}
	time.Sleep(f.delay)
	f.mu.Lock()
	if err != nil {
		f.invalid++
	} else {
		f.valid[host]++
		f.sigs[string(env.Signature())] = true
		f.last = time.Now()
	}
	f.mu.Unlock()
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	f.got.Add(1)
	w.WriteHeader(http.StatusAccepted)
}

// heapSampler records the peak of the live heap while it runs.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	peak atomic.Uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

func startHeapSampler() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	h.peak.Store(readMetric(heapMetric))
	go func() {
		defer close(h.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			if v := readMetric(heapMetric); v > h.peak.Load() {
				h.peak.Store(v)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// RunFanoutLoad runs a fan-out: one public post of a local user to a
// follower on each of c.Pods loopback receivers. It checks that every
// receiver got exactly one valid delivery and that the post was signed
// once; the report is returned with ErrLoadInvariant when not.
func RunFanoutLoad(ctx context.Context, c FanoutLoad) (*FanoutReport, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	dir, cleanup, err := loadDir(c.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	tp, err := startLoadPod(ctx, dir, c.Workers, c.Binary, func(cfg *pod.Config) { cfg.KeyBits, cfg.DB = c.KeyBits, c.DB })
	if err != nil {
		return nil, err
	}
	defer tp.stop()
	progress(c.Progress, "creating the posting user (%d-bit key)", c.KeyBits)
	id, err := tp.AddUser(ctx, "fanout", "password-fanout")
	if err != nil {
		return nil, err
	}
	u, err := tp.Store().UserByID(ctx, id)
	if err != nil {
		return nil, err
	}

	progress(c.Progress, "starting %d receivers", c.Pods)
	recv, err := startFanoutReceivers(c.Pods, c.ReceiverDelay)
	if err != nil {
		return nil, err
	}
	defer recv.close()
	recv.author, recv.key = u.ID, &u.Key.PublicKey
	if err := plantFollowers(ctx, tp.Store(), u.Username, recv.urls); err != nil {
		return nil, err
	}

	rep := &FanoutReport{Pods: c.Pods, KeyBits: c.KeyBits}
	rep.Concurrency, rep.PerHost = tp.SenderLimits()
	if c.CPUProfile != "" {
		f, err := os.Create(c.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	progress(c.Progress, "posting once to %d followers", c.Pods)
	runtime.GC()
	rep.HeapBase = readMetric(heapMetric)
	allocBase := readMetric("/gc/heap/allocs:bytes")
	heap := startHeapSampler()
	signsBefore := tp.Signatures()
	start := time.Now()
	if _, err := tp.CreatePost(ctx, u, pod.PostInput{Text: "one post to a thousand pods #fanout"}); err != nil {
		heap.finish()
		return nil, err
	}
	rep.Signatures = tp.Signatures() - signsBefore
	rep.StoredBodies, err = tp.Store().Rows(ctx, "outbox_bodies")
	if err != nil {
		heap.finish()
		return nil, err
	}
	deadline := time.Now().Add(c.Timeout)
	for {
		left, err := tp.Store().Rows(ctx, "outbox")
		if err != nil {
			heap.finish()
			return nil, err
		}
		if left == 0 && int(recv.got.Load()) >= c.Pods {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep.HeapPeak = heap.finish()
	rep.Allocated = readMetric("/gc/heap/allocs:bytes") - allocBase

	recv.mu.Lock()
	rep.Wall = recv.last.Sub(start)
	rep.DistinctSignatures = len(recv.sigs)
	rep.Invalid = recv.invalid
	rep.MaxInFlight, rep.MaxInFlightPerHost = recv.maxInFlight, recv.maxPerHost
	for _, u := range recv.urls {
		switch n := recv.valid[hostOf(u)]; {
		case n == 0:
			rep.Missing++
		case n == 1:
			rep.Delivered++
		default:
			rep.Repeated++
		}
	}
	recv.mu.Unlock()
	return rep, rep.check()
}

func hostOf(u string) string {
	if len(u) > len("http://") {
		return u[len("http://") : len(u)-1]
	}
	return u
}

// check lists the broken invariants.
func (r *FanoutReport) check() error {
	var errs []error
	if r.Missing > 0 || r.Repeated > 0 || r.Invalid > 0 {
		errs = append(errs, fmt.Errorf("%d receivers without a delivery, %d with several, %d invalid deliveries",
			r.Missing, r.Repeated, r.Invalid))
	}
	if r.Signatures != 1 || r.DistinctSignatures > 1 || r.StoredBodies > 1 {
		errs = append(errs, fmt.Errorf("%d signatures made, %d distinct seen, %d bodies stored; want 1",
			r.Signatures, r.DistinctSignatures, r.StoredBodies))
	}
	if r.MaxInFlight > r.Concurrency || r.MaxInFlightPerHost > r.PerHost {
		errs = append(errs, fmt.Errorf("%d deliveries in flight (cap %d), %d to one host (cap %d)",
			r.MaxInFlight, r.Concurrency, r.MaxInFlightPerHost, r.PerHost))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrLoadInvariant, err)
	}
	return nil
}

// plantFollowers stores a remote follower of username on each pod URL,
// as accepted Contact messages would have (they share one public key,
// which nothing here uses).
func plantFollowers(ctx context.Context, s *store.Store, username string, pods []string) error {
	key, err := magicenv.GenerateKey(2048, nil)
	if err != nil {
		return err
	}
	pem, err := magicenv.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	people := make([]store.Person, len(pods))
	for i, u := range pods {
		people[i] = store.Person{ID: fmt.Sprintf("follower%d@%s", i, hostOf(u)), GUID: pod.NewGUID(), PodURL: u, PublicKeyPEM: string(pem)}
	}
	return s.AddFollowers(ctx, username, people)
}

// Print writes the report as a table.
func (r *FanoutReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mib := func(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
	fmt.Fprintf(tw, "receivers (loopback pods)\t%d\n", r.Pods)
	fmt.Fprintf(tw, "signatures made\t%d (%d-bit key)\n", r.Signatures, r.KeyBits)
	fmt.Fprintf(tw, "bodies stored in the outbox\t%d\n", r.StoredBodies)
	fmt.Fprintf(tw, "distinct signatures received\t%d\n", r.DistinctSignatures)
	fmt.Fprintf(tw, "receivers with exactly one valid delivery\t%d\n", r.Delivered)
	fmt.Fprintf(tw, "receivers without / with several\t%d / %d\n", r.Missing, r.Repeated)
	fmt.Fprintf(tw, "invalid deliveries\t%d\n", r.Invalid)
	fmt.Fprintf(tw, "max in flight (cap)\t%d (%d)\n", r.MaxInFlight, r.Concurrency)
	fmt.Fprintf(tw, "max in flight to one host (cap)\t%d (%d)\n", r.MaxInFlightPerHost, r.PerHost)
	fmt.Fprintf(tw, "wall time (post to last delivery)\t%v\n", r.Wall.Round(time.Millisecond))
	fmt.Fprintf(tw, "heap before / peak / growth\t%s / %s / %s\n", mib(r.HeapBase), mib(r.HeapPeak), mib(r.HeapGrowth()))
	fmt.Fprintf(tw, "allocated during the fan-out\t%s\n", mib(r.Allocated))
	tw.Flush()
}

func runFanoutCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c FanoutLoad
	fs := flag.NewFlagSet("pod load fanout", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Pods, "pods", 1000, "loopback receivers, one follower each")
	fs.IntVar(&c.KeyBits, "key-bits", 4096, "RSA key size of the posting user")
	fs.DurationVar(&c.ReceiverDelay, "receiver-delay", 5*time.Millisecond, "time a receiver takes to answer")
	storeFlags(fs, &c.Dir, &c.DB, &c.Workers)
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Minute, "longest wait for the deliveries")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the fan-out to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.Progress = stderr
	rep, err := RunFanoutLoad(ctx, c)
	if rep != nil {
		rep.Print(stdout)
	}
	return err
}
