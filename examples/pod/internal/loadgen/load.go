package loadgen

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
	"golang.org/x/crypto/bcrypt"
)

// The load command (pod load, pod load fanout) measures the pod on
// loopback, in this process: see runLoad.

// ErrLoadConfig reports unusable load command flags.
var ErrLoadConfig = errors.New("pod load: bad configuration")

// ErrLoadInvariant reports a load run that broke a promise of the pod:
// an accepted (202) message lost or stored twice, a delivery missing or
// repeated, a message signed more than once.
var ErrLoadInvariant = errors.New("pod load: invariant broken")

// loadTag is the hashtag of every message of a receive run: its post_tags
// rows count the effects of each message.
const loadTag = "podload"

// ReceiveLoad configures a receive run: Senders goroutines post
// Messages distinct public envelopes (plus Dup of them a second time) to
// /receive/public of a pod with durable storage, each sender signing as
// its own remote account.
type ReceiveLoad struct {
	// Senders is the number of concurrent senders, each with its own
	// remote account and key (64 if 0).
	Senders int
	// Messages is the number of distinct envelopes (10,000 if 0).
	Messages int
	// Dup is the fraction of envelopes sent a second time (0 to 1).
	Dup float64
	// KeyBits is the senders' RSA key size (2048 if 0).
	KeyBits int
	// Size is the approximate envelope size in bytes (4096 if 0).
	Size int
	// Dir holds the pod's database; empty means a new temporary
	// directory, removed afterwards.
	Dir string
	// DB is the pod's --db: empty for SQLite in Dir, or a postgres://
	// URL of an empty database (or one a previous run left).
	DB string
	// MaxInbox is the pod's inbound high-water mark; 0 means above the
	// whole run, so that no request is refused for it.
	MaxInbox int
	// Workers, with a PostgreSQL DB, splits the pod: this process serves
	// HTTP only (pod serve --role web) and Workers processes of Binary
	// (pod serve --role worker) work the inbox and outbox.
	Workers int
	// Binary is the pod command the workers run (default: this
	// executable, which is the pod when pod load runs).
	Binary string
	// DrainTimeout bounds the wait for the inbox to drain (5 min if 0).
	DrainTimeout time.Duration
	// CPUProfile, when set, is a file that receives a CPU profile of the
	// run (requests and drain).
	CPUProfile string
	// Progress receives a line per phase; nil discards them.
	Progress io.Writer
}

// ReceiveReport is the outcome of a receive run.
type ReceiveReport struct {
	Senders, Messages, Requests int
	KeyBits, EnvelopeBytes      int
	SignTime                    time.Duration // pre-signing, before the clock starts
	Elapsed                     time.Duration // first request to last answer
	AcceptedPerSec              float64
	P50, P90, P99, Max          time.Duration // time to 202
	Drain                       time.Duration // last answer to empty inbox
	Statuses                    map[int]int   // answers by status
	TransportErrors             int
	AcceptedGUIDs               int // distinct GUIDs answered 202 at least once
	Persisted                   int // distinct GUIDs of the run stored
	Lost                        int // accepted GUIDs not stored
	Unacknowledged              int // stored GUIDs never answered 202 (not an error)
	Duplicates                  int // extra rows: posts or tag rows beyond one per GUID
	Dead                        int // bodies the worker refused
}

func (c *ReceiveLoad) defaults() error {
	if c.Senders == 0 {
		c.Senders = 64
	}
	if c.Messages == 0 {
		c.Messages = 10000
	}
	if c.KeyBits == 0 {
		c.KeyBits = 2048
	}
	if c.Size == 0 {
		c.Size = 4096
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = 5 * time.Minute
	}
	switch {
	case c.Senders < 1 || c.Senders > 4096:
		return fmt.Errorf("%w: --senders must be 1 to 4096", ErrLoadConfig)
	case c.Messages < 1 || c.Messages > 10_000_000:
		return fmt.Errorf("%w: --messages must be 1 to 10,000,000", ErrLoadConfig)
	case c.Dup < 0 || c.Dup > 1:
		return fmt.Errorf("%w: --dup must be between 0 and 1", ErrLoadConfig)
	case c.KeyBits < 2048 || c.KeyBits > 8192:
		return fmt.Errorf("%w: --key-bits must be 2048 to 8192", ErrLoadConfig)
	case c.Size < 1024 || c.Size > 512<<10:
		return fmt.Errorf("%w: --size must be 1 KiB to 512 KiB", ErrLoadConfig)
	case c.MaxInbox < 0 || c.DrainTimeout < 0:
		return fmt.Errorf("%w: negative --max-inbox or --drain-timeout", ErrLoadConfig)
	}
	return nil
}

func progress(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}

// loadPod is a pod serving on a loopback port with its workers running.
type loadPod struct {
	*pod.Pod
	URL  string
	stop func()
}

// startLoadPod starts a development-mode pod (loopback peers allowed)
// with its durable store in dir.
func startLoadPod(ctx context.Context, dir string, workers int, binary string, tune func(*pod.Config)) (*loadPod, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	u := "http://" + ln.Addr().String() + "/"
	cfg := pod.Config{PublicURL: u, DataDir: dir, KeyBits: 2048, Dev: true, BcryptCost: bcrypt.MinCost,
		Poll: 50 * time.Millisecond, BaseBackoff: 200 * time.Millisecond, InboxBackoff: 200 * time.Millisecond}
	pod.LoopbackBurst(&cfg, 256) // every simulated sender is 127.0.0.1
	if tune != nil {
		tune(&cfg)
	}
	p, err := pod.NewPod(ctx, cfg)
	if err != nil {
		ln.Close()
		return nil, err
	}
	srv := pod.NewServer(p.Handler(), slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	var procs []*exec.Cmd
	if workers == 0 {
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(wctx) }()
	} else {
		procs, err = startWorkers(workers, binary, cfg, u)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
			cancel()
			wg.Wait()
			for _, c := range procs {
				c.Process.Signal(os.Interrupt)
			}
			for _, c := range procs {
				c.Wait()
			}
			p.Close()
		})
	}
	if err != nil {
		stop()
		return nil, err
	}
	return &loadPod{Pod: p, URL: u, stop: stop}, nil
}

// startWorkers starts n worker processes of the pod (binary, by default
// this executable) on the web pod's database and public URL.
func startWorkers(n int, binary string, cfg pod.Config, publicURL string) ([]*exec.Cmd, error) {
	if !store.IsPostgresURL(cfg.DB) {
		return nil, fmt.Errorf("%w: --workers needs a --db postgres:// URL (processes share PostgreSQL, not a SQLite file)", ErrLoadConfig)
	}
	if binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		binary = exe
	}
	var procs []*exec.Cmd
	for range n {
		c := exec.Command(binary, "serve", "--role", "worker", "--db", cfg.DB, "--url", publicURL, "--addr", "127.0.0.1:0",
			"--dev", "--retry-base", cfg.InboxBackoff.String(), "--max-inbox", strconv.Itoa(cfg.MaxInboxPending))
		if err := c.Start(); err != nil {
			for _, p := range procs {
				p.Process.Kill()
				p.Wait()
			}
			return nil, fmt.Errorf("starting a worker: %w", err)
		}
		procs = append(procs, c)
	}
	return procs, nil
}

// loadDir returns dir, or a new temporary directory and its removal.
func loadDir(dir string) (string, func(), error) {
	if dir != "" {
		return dir, func() {}, nil
	}
	d, err := os.MkdirTemp("", "pod-load-")
	if err != nil {
		return "", nil, err
	}
	return d, func() { os.RemoveAll(d) }, nil
}

// accountServer serves the discovery documents (host-meta, WebFinger,
// hCard) of remote accounts on a loopback port, as their pod would.
type accountServer struct {
	URL, host string
	mu        sync.Mutex
	byID      map[string]*discovery.Person
	byGUID    map[string]*discovery.Person
	srv       *http.Server
}

func startAccountServer() (*accountServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	a := &accountServer{URL: "http://" + ln.Addr().String() + "/", host: ln.Addr().String(),
		byID: map[string]*discovery.Person{}, byGUID: map[string]*discovery.Person{}}
	mux := http.NewServeMux()
	(&discovery.Handler{BaseURL: a.URL, Directory: a}).Register(mux)
	a.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go a.srv.Serve(ln)
	return a, nil
}

func (a *accountServer) close() { a.srv.Close() }

// add publishes an account name@host with key.
func (a *accountServer) add(name string, key *rsa.PrivateKey) *discovery.Person {
	p := &discovery.Person{ID: name + "@" + a.host, GUID: pod.NewGUID(), PublicKey: &key.PublicKey, FullName: name,
		FirstName: name, Searchable: true}
	a.mu.Lock()
	a.byID[p.ID], a.byGUID[p.GUID] = p, p
	a.mu.Unlock()
	return p
}

// PersonByID implements discovery.Directory.
func (a *accountServer) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.byID[id]; ok {
		return p, nil
	}
	return nil, discovery.ErrNotFound
}

// PersonByGUID implements discovery.Directory.
func (a *accountServer) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if p, ok := a.byGUID[guid]; ok {
		return p, nil
	}
	return nil, discovery.ErrNotFound
}

// generateKeys makes n RSA keys on every core.
func generateKeys(n, bits int) ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, n)
	errs := make([]error, n)
	parallel(n, func(i int) { keys[i], errs[i] = magicenv.GenerateKey(bits, nil) })
	return keys, errors.Join(errs...)
}

// parallel runs fn(0..n-1) on GOMAXPROCS goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// loadRequest is one envelope a sender posts.
type loadRequest struct {
	guid string
	body []byte
}

// loadResult is the answer to one request.
type loadResult struct {
	guid   string
	status int
	took   time.Duration
	err    error
}

// RunReceiveLoad runs a receive burst against a new pod and checks that
// every accepted message was stored exactly once. The report is returned
// with ErrLoadInvariant when it was not.
func RunReceiveLoad(ctx context.Context, c ReceiveLoad) (*ReceiveReport, error) {
	if err := c.defaults(); err != nil {
		return nil, err
	}
	dups := int(float64(c.Messages) * c.Dup)
	total := c.Messages + dups
	dir, cleanup, err := loadDir(c.Dir)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	maxInbox := c.MaxInbox
	if maxInbox == 0 {
		maxInbox = max(pod.DefaultMaxInboxPending, 2*total)
	}
	tp, err := startLoadPod(ctx, dir, c.Workers, c.Binary, func(cfg *pod.Config) { cfg.MaxInboxPending, cfg.DB = maxInbox, c.DB })
	if err != nil {
		return nil, err
	}
	defer tp.stop()
	accounts, err := startAccountServer()
	if err != nil {
		return nil, err
	}
	defer accounts.close()

	progress(c.Progress, "generating %d sender keys of %d bits", c.Senders, c.KeyBits)
	keys, err := generateKeys(c.Senders, c.KeyBits)
	if err != nil {
		return nil, err
	}
	authors := make([]string, c.Senders)
	for i, k := range keys {
		authors[i] = accounts.add(fmt.Sprintf("sender%d", i), k).ID
	}

	// Sign everything before the clock starts; message i belongs to
	// sender i % Senders.
	progress(c.Progress, "signing %d envelopes", c.Messages)
	signStart := time.Now()
	pad := strings.Repeat("lorem ipsum ", max(0, (c.Size-530)*3/4-300)/12)
	reqs := make([]loadRequest, c.Messages)
	errs := make([]error, c.Messages)
	created := time.Now().UTC().Truncate(time.Second)
	parallel(c.Messages, func(i int) {
		s := i % c.Senders
		sm := &entities.StatusMessage{Author: authors[s], GUID: pod.NewGUID(), CreatedAt: created, Public: true,
			Text: fmt.Sprintf("load %d #%s %s", i, loadTag, pad)}
		payload, err := entities.MarshalXML(sm)
		if err == nil {
			var env *magicenv.Envelope
			if env, err = magicenv.Sign(payload, authors[s], keys[s], nil); err == nil {
				reqs[i] = loadRequest{guid: sm.GUID, body: env.Marshal()}
			}
		}
		errs[i] = err
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	rep := &ReceiveReport{Senders: c.Senders, Messages: c.Messages, Requests: total, KeyBits: c.KeyBits,
		SignTime: time.Since(signStart), Statuses: map[int]int{}}
	perSender := make([][]loadRequest, c.Senders)
	size := 0
	for i, r := range reqs {
		perSender[i%c.Senders] = append(perSender[i%c.Senders], r)
		size += len(r.body)
	}
	rep.EnvelopeBytes = size / len(reqs)
	if dups > 0 {
		step := c.Messages / dups
		for i := range dups {
			r := reqs[i*step]
			s := (i*step + 1) % c.Senders // another connection sends it again
			perSender[s] = append(perSender[s], r)
		}
	}

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
	progress(c.Progress, "posting %d requests from %d senders", total, c.Senders)
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: c.Senders, DisableCompression: true},
		Timeout: 60 * time.Second}
	defer client.CloseIdleConnections()
	target := tp.URL + "receive/public"
	results := make([][]loadResult, c.Senders)
	var wg sync.WaitGroup
	start := time.Now()
	for s := range c.Senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out := make([]loadResult, 0, len(perSender[s]))
			for _, r := range perSender[s] {
				if ctx.Err() != nil {
					break
				}
				t0 := time.Now()
				status, err := postOnce(ctx, client, target, r.body)
				out = append(out, loadResult{guid: r.guid, status: status, took: time.Since(t0), err: err})
			}
			results[s] = out
		}()
	}
	wg.Wait()
	rep.Elapsed = time.Since(start)
	lastAnswer := time.Now()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	accepted := map[string]bool{}
	var lat []time.Duration
	for _, rs := range results {
		for _, r := range rs {
			if r.err != nil {
				rep.TransportErrors++
				continue
			}
			rep.Statuses[r.status]++
			if r.status == http.StatusAccepted {
				accepted[r.guid] = true
				lat = append(lat, r.took)
			}
		}
	}
	rep.AcceptedGUIDs = len(accepted)
	rep.AcceptedPerSec = float64(len(lat)) / rep.Elapsed.Seconds()
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
		rep.P50, rep.P90, rep.P99, rep.Max = pct(0.50), pct(0.90), pct(0.99), lat[len(lat)-1]
	}

	progress(c.Progress, "waiting for the inbox to drain")
	deadline := time.Now().Add(c.DrainTimeout)
	for {
		n, err := tp.Store().PendingInbox(ctx)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return rep, fmt.Errorf("%w: %d bodies still pending %v after the last answer", ErrLoadInvariant, n, c.DrainTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rep.Drain = time.Since(lastAnswer)
	if err := rep.verify(ctx, tp.Store(), authors, reqs, accepted); err != nil {
		return rep, err
	}
	return rep, nil
}

// postOnce posts one envelope and reads the whole answer.
func postOnce(ctx context.Context, client *http.Client, target string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", magicenv.ContentType)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

// verify compares what the pod stored with what it accepted.
func (rep *ReceiveReport) verify(ctx context.Context, s *store.Store, authors []string, reqs []loadRequest, accepted map[string]bool) error {
	var err error
	if rep.Dead, err = s.Rows(ctx, "inbox_rejected"); err != nil {
		return err
	}
	stored, tags, err := s.PostCounts(ctx, authors, loadTag) // guid -> post rows, tag rows
	if err != nil {
		return err
	}
	sent := make(map[string]bool, len(reqs))
	for _, r := range reqs {
		sent[r.guid] = true
	}
	for g, n := range stored {
		if !sent[g] {
			continue
		}
		rep.Persisted++
		rep.Duplicates += n - 1 + max(tags[g]-1, 0)
		if !accepted[g] {
			rep.Unacknowledged++
		}
	}
	for g := range accepted {
		if stored[g] == 0 {
			rep.Lost++
		}
	}
	var problems []string
	if rep.Lost > 0 {
		problems = append(problems, fmt.Sprintf("%d accepted GUIDs not stored", rep.Lost))
	}
	if rep.Duplicates > 0 {
		problems = append(problems, fmt.Sprintf("%d duplicate effects", rep.Duplicates))
	}
	if rep.Dead > 0 {
		problems = append(problems, fmt.Sprintf("%d valid bodies refused by the worker", rep.Dead))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: %s", ErrLoadInvariant, strings.Join(problems, "; "))
	}
	return nil
}

// Print writes the report as a table.
func (rep *ReceiveReport) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }
	fmt.Fprintf(tw, "senders\t%d (one %d-bit account each)\n", rep.Senders, rep.KeyBits)
	fmt.Fprintf(tw, "requests\t%d (%d distinct envelopes of ~%d bytes, %d resent)\n", rep.Requests, rep.Messages,
		rep.EnvelopeBytes, rep.Requests-rep.Messages)
	fmt.Fprintf(tw, "signing (before the clock)\t%v\n", rep.SignTime.Round(time.Millisecond))
	fmt.Fprintf(tw, "elapsed\t%v\n", rep.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(tw, "accepted/s\t%.0f\n", rep.AcceptedPerSec)
	fmt.Fprintf(tw, "time to 202 p50\t%s\n", ms(rep.P50))
	fmt.Fprintf(tw, "time to 202 p90\t%s\n", ms(rep.P90))
	fmt.Fprintf(tw, "time to 202 p99\t%s\n", ms(rep.P99))
	fmt.Fprintf(tw, "time to 202 max\t%s\n", ms(rep.Max))
	fmt.Fprintf(tw, "drain (last answer to empty inbox)\t%v\n", rep.Drain.Round(time.Millisecond))
	codes := make([]int, 0, len(rep.Statuses))
	for c := range rep.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var st []string
	for _, c := range codes {
		st = append(st, fmt.Sprintf("%d × %d", rep.Statuses[c], c))
	}
	if rep.TransportErrors > 0 {
		st = append(st, fmt.Sprintf("%d transport errors", rep.TransportErrors))
	}
	fmt.Fprintf(tw, "answers\t%s\n", strings.Join(st, ", "))
	fmt.Fprintf(tw, "distinct GUIDs accepted\t%d\n", rep.AcceptedGUIDs)
	fmt.Fprintf(tw, "distinct GUIDs persisted\t%d\n", rep.Persisted)
	fmt.Fprintf(tw, "accepted but lost\t%d\n", rep.Lost)
	fmt.Fprintf(tw, "duplicate effects\t%d\n", rep.Duplicates)
	fmt.Fprintf(tw, "refused by the worker\t%d\n", rep.Dead)
	fmt.Fprintf(tw, "persisted without a 202\t%d\n", rep.Unacknowledged)
	tw.Flush()
}

// Run is the pod load command:
//
//	pod load [--senders 64] [--messages 10000] [--dup 0.05] [--key-bits 2048]
//	         [--size 4096] [--dir DIR] [--max-inbox N] [--drain-timeout 5m] [--cpuprofile FILE]
//	pod load fanout [--pods 1000] [--key-bits 4096] [--dir DIR] [--timeout 5m] [--cpuprofile FILE]
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "fanout" {
		return runFanoutCommand(ctx, args[1:], stdout, stderr)
	}
	var c ReceiveLoad
	fs := flag.NewFlagSet("pod load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.Senders, "senders", 64, "concurrent senders, each a remote account with its own key")
	fs.IntVar(&c.Messages, "messages", 10000, "distinct public envelopes")
	fs.Float64Var(&c.Dup, "dup", 0.05, "fraction of the envelopes sent a second time")
	fs.IntVar(&c.KeyBits, "key-bits", 2048, "RSA key size of the senders")
	fs.IntVar(&c.Size, "size", 4096, "approximate envelope size in bytes")
	storeFlags(fs, &c.Dir, &c.DB, &c.Workers)
	fs.IntVar(&c.MaxInbox, "max-inbox", 0, "the pod's inbound high-water mark (default: above the whole run)")
	fs.DurationVar(&c.DrainTimeout, "drain-timeout", 5*time.Minute, "longest wait for the inbox to drain")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write a CPU profile of the requests and the drain to this file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c.Progress = stderr
	rep, err := RunReceiveLoad(ctx, c)
	if rep != nil {
		rep.Print(stdout)
	}
	return err
}

// storeFlags defines the flags both load commands take for where the pod
// keeps its data and how it is split into processes.
func storeFlags(fs *flag.FlagSet, dir, db *string, workers *int) {
	fs.StringVar(dir, "dir", "", "data directory of the pod (default: a temporary directory, removed)")
	fs.StringVar(db, "db", "", "the pod's database: empty for SQLite in --dir, or a postgres:// URL")
	fs.IntVar(workers, "workers", 0, "with --db postgres://: serve HTTP here and work the queues in this many worker processes")
}

// parseFlags parses a load command's flags, which take no arguments.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrLoadConfig, fs.Arg(0))
	}
	return nil
}
