package pod

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

// procStatus reads VmRSS and VmHWM (peak RSS) of a process, in bytes.
func procStatus(pid int) (rss, hwm int64, err error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: %q", k, v)
		}
		if k == "VmRSS" {
			rss = n << 10
		} else {
			hwm = n << 10
		}
	}
	if rss == 0 || hwm == 0 {
		return 0, 0, fmt.Errorf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return rss, hwm, sc.Err()
}

// rssSampler samples a process's VmRSS until stopped.
type rssSampler struct {
	pid       int
	mu        sync.Mutex
	max, last int64
	n         int
	stop      chan struct{}
	done      chan struct{}
}

func startRSSSampler(pid int, every time.Duration) *rssSampler {
	s := &rssSampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			if rss, _, err := procStatus(pid); err == nil {
				s.mu.Lock()
				s.max, s.last, s.n = max(s.max, rss), rss, s.n+1
				s.mu.Unlock()
			}
			select {
			case <-s.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the largest and the last sample.
func (s *rssSampler) finish() (maxRSS, last int64, samples int) {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.max, s.last, s.n
}

// healthProbe times a GET of nodeinfo every interval until stopped.
type healthProbe struct {
	lat  []time.Duration
	errs int
	stop chan struct{}
	done chan struct{}
}

func startHealthProbe(url string, every time.Duration) *healthProbe {
	h := &healthProbe{stop: make(chan struct{}), done: make(chan struct{})}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	go func() {
		defer close(h.done)
		for {
			t0 := time.Now()
			resp, err := client.Get(url)
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					err = fmt.Errorf("status %d", resp.StatusCode)
				}
			}
			if err != nil {
				h.errs++
			} else {
				h.lat = append(h.lat, time.Since(t0))
			}
			select {
			case <-h.stop:
				return
			case <-time.After(every):
			}
		}
	}()
	return h
}

// finish stops the probe and returns its latencies, sorted.
func (h *healthProbe) finish() ([]time.Duration, int) {
	close(h.stop)
	<-h.done
	slices.Sort(h.lat)
	return h.lat, h.errs
}

// hostileBody is one request of the storm.
type hostileBody struct {
	name, path, contentType string
	body                    []byte
	want                    int
}

// padWS pads an XML or JSON body to size bytes with white space before
// its last closing tag or brace, where the parser has to read it.
func padWS(body []byte, size int) []byte {
	n := size - len(body)
	if n <= 0 {
		return body
	}
	at := bytes.LastIndex(body, []byte("</"))
	if bytes.HasSuffix(bytes.TrimSpace(body), []byte("}")) {
		at = bytes.LastIndexByte(body, '}')
	}
	if at < 0 {
		at = len(body)
	}
	out := make([]byte, 0, size)
	out = append(out, body[:at]...)
	out = append(out, bytes.Repeat([]byte(" "), n)...)
	return append(out, body[at:]...)
}

// padData grows the me:data of an envelope to about size bytes with
// "AAAA" groups in front (still base64, no longer what was signed).
func padData(env []byte, size int) []byte {
	n := (size - len(env)) / 4 * 4
	i := bytes.Index(env, []byte("<me:data"))
	j := bytes.IndexByte(env[i:], '>') + i + 1
	out := make([]byte, 0, len(env)+n)
	out = append(out, env[:j]...)
	out = append(out, bytes.Repeat([]byte("A"), n)...)
	return append(out, env[j:]...)
}

// maxSizeHostileBodies are 1 MiB hostile bodies for the receive routes of
// a pod whose user has recipient's public key, from sender (whose key the
// pod knows): an envelope whose signed payload has 100,000 elements
// (entity budget), an envelope whose me:data no longer matches its
// signature, a private body that decrypts (full RSA + AES work) to such an
// envelope, a private body with garbage keys and 1 MiB of ciphertext, and
// one byte over the limit (413).
func maxSizeHostileBodies(t *testing.T, sender string, key *rsa.PrivateKey, recipient *rsa.PublicKey, privatePath string) []hostileBody {
	t.Helper()
	const size = magicenv.DefaultMaxSize
	sign := func(payload string) []byte {
		env, err := magicenv.Sign([]byte(payload), sender, key, nil)
		if err != nil {
			t.Fatal(err)
		}
		return env.Marshal()
	}
	siblings := sign("<status_message>" + strings.Repeat("<a/>", 100000) + "</status_message>")
	plain := sign(fmt.Sprintf("<status_message><author>%s</author><guid>%s</guid><created_at>2024-01-02T03:04:05Z</created_at><public>true</public><text>hostile</text></status_message>", sender, NewGUID()))
	badSig := padData(plain, size)
	inner := padData(plain, size*3/4-2048)
	enc, err := magicenv.Encrypt(inner, recipient, nil)
	if err != nil {
		t.Fatal(err)
	}
	garbage := []byte(`{"aes_key":"` + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 512)) +
		`","encrypted_magic_envelope":"` + strings.Repeat("A", (size-1024)/64*64) + `"}`)
	over := padWS(plain, size+1)
	out := []hostileBody{
		{"public_100000_elements", "receive/public", magicenv.ContentType, padWS(siblings, size), http.StatusAccepted},
		{"public_bad_signature_1mib_data", "receive/public", magicenv.ContentType, badSig, http.StatusAccepted},
		{"private_decrypts_to_bad_signature", privatePath, magicenv.EncryptedContentType, padWS(enc, size), http.StatusAccepted},
		{"private_garbage_key_1mib_ciphertext", privatePath, magicenv.EncryptedContentType, garbage, http.StatusAccepted},
		{"public_1mib_plus_1", "receive/public", magicenv.ContentType, over, http.StatusRequestEntityTooLarge},
	}
	for _, b := range out {
		if len(b.body) > size+1 || (b.want != http.StatusRequestEntityTooLarge && len(b.body) > size) || len(b.body) < size-4096 {
			t.Fatalf("%s: %d bytes", b.name, len(b.body))
		}
	}
	return out
}

// prepareStormPod builds the pod binary and a data directory with user
// alice (a keyBits-bit key) and a remote sender on a loopback fake pod
// that answers 404 to everything (plant may store more people there); it
// returns the pod (not started), the sender, and alice's public key and
// private receive path.
func prepareStormPod(t *testing.T, tmp string, keyBits int, plant func(pc store.PersonCache, podURL string)) (*subPod, remote, *rsa.PublicKey, string) {
	t.Helper()
	bin := podtest.BuildBinary(t, tmp)
	logf, err := os.Create(filepath.Join(tmp, "pod.log"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	// The storm stands for many senders, all on loopback here: the
	// per-address receive limits (which would answer most of it 429) are
	// lifted, so that what is measured is the pod holding the bodies.
	s := &subPod{bin: bin, dir: filepath.Join(tmp, "data"), dbURL: testDB(t), addr: freeAddr(t), log: logf,
		flags: []string{"--receive-per-addr", "1000", "--receive-mib-per-minute", "1000000"}}
	cmd := exec.Command(bin, "user", "add", "alice", "--addr", s.addr, "--data", s.dir, "--db", s.dbURL, "--dev", "--key-bits", strconv.Itoa(keyBits))
	cmd.Env = append(os.Environ(), "POD_PASSWORD=password-alice")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pod user add: %v\n%s", err, out)
	}
	fake := newFakePod(t)
	r := remote{ID: "mallory@" + fake.host(), GUID: NewGUID(), Key: testKey(t, 0)}
	ctx := context.Background()
	st, err := store.Open(ctx, s.dbURL, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Cache().Put(ctx, &discovery.Person{ID: r.ID, GUID: r.GUID, PublicKey: &r.Key.PublicKey, PodURL: fake.URL + "/"}); err != nil {
		t.Fatal(err)
	}
	if plant != nil {
		plant(st.Cache(), fake.URL+"/")
	}
	var guid, keyPEM string
	if err := st.SQL().QueryRow(`SELECT p.guid, u.private_key FROM users u JOIN people p ON p.id = u.person_id WHERE u.username = 'alice'`).Scan(&guid, &keyPEM); err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode([]byte(keyPEM))
	if blk == nil {
		t.Fatal("alice's key is not PEM")
	}
	priv, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return s, r, &priv.PublicKey, "receive/users/" + guid
}

// TestMemoryStorm is the pod half of the memory goal R4
// (scripts/reliability-long): a pod running as its own process gets 64
// concurrent max-size (1 MiB) hostile bodies at a time on its public and
// private receive routes (POD_MEM_ROUNDS rounds of 64, 3 by default) while
// a prober GETs /.well-known/nodeinfo every 50 ms and the pod's RSS is
// sampled from /proc/<pid>/status. The peak RSS (VmHWM, the kernel's own
// high-water mark, so no spike is missed) must stay at or under 512 MiB,
// the probes must answer in 1 s or less (the 99th percentile; every one
// of them under POD_R4_STRICT=1, which scripts/reliability-long sets, and
// none over 5 s in any case: one probe's time on a machine that other
// tests share measures the machine more than the pod), nothing hostile
// may be stored, and the pod must still be serving afterwards. Figures
// are logged as "R4 pod" lines.
func TestMemoryStorm(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a pod process and sends 192 MiB")
	}
	const concurrency = 64
	rounds := envInt("POD_MEM_ROUNDS", 3)
	tmp := t.TempDir()
	s, r, alicePub, privatePath := prepareStormPod(t, tmp, 2048, nil)
	s.start(t)
	defer s.stopShowingLog(t)
	pid := s.cmd.Process.Pid
	bodies := maxSizeHostileBodies(t, r.ID, r.Key, alicePub, privatePath)

	rss0, hwm0, err := procStatus(pid)
	if err != nil {
		t.Fatal(err)
	}
	sampler := startRSSSampler(pid, 10*time.Millisecond)
	probe := startHealthProbe(s.url()+".well-known/nodeinfo", 50*time.Millisecond)

	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	type result struct {
		name   string
		status int
		took   time.Duration
		err    error
	}
	jobs := make(chan hostileBody)
	results := make(chan result, concurrency*rounds)
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range jobs {
				t0 := time.Now()
				resp, err := client.Post(s.url()+b.path, b.contentType, bytes.NewReader(b.body))
				if err != nil {
					results <- result{name: b.name, err: err}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				st := resp.StatusCode
				if st != b.want {
					err = fmt.Errorf("status %d, want %d", st, b.want)
				}
				results <- result{name: b.name, status: st, took: time.Since(t0), err: err}
			}
		}()
	}
	for i := range concurrency * rounds {
		jobs <- bodies[i%len(bodies)]
	}
	close(jobs)
	wg.Wait()
	close(results)
	storm := time.Since(start)

	// Let the pod work through what it accepted while still probing.
	waitLong(t, "the inbox to settle", 120*time.Second, func() bool {
		st, err := store.Open(context.Background(), s.dbURL, s.dir)
		if err != nil {
			return false
		}
		defer st.Close()
		var n int
		if err := st.SQL().QueryRow(`SELECT COUNT(*) FROM inbox WHERE state = 'pending'`).Scan(&n); err != nil {
			return false
		}
		return n == 0
	})
	settled := time.Since(start)
	lat, probeErrs := probe.finish()
	maxRSS, lastRSS, samples := sampler.finish()
	_, hwm, err := procStatus(pid)
	if err != nil {
		t.Fatalf("the pod is gone after the storm: %v", err)
	}

	statuses := map[int]int{}
	var slowest time.Duration
	for res := range results {
		if res.err != nil {
			t.Errorf("%s: %v", res.name, res.err)
		}
		statuses[res.status]++
		slowest = max(slowest, res.took)
	}
	if len(lat) == 0 {
		t.Fatal("no health probe answered")
	}
	pct := func(p float64) time.Duration {
		return lat[min(len(lat)-1, int(float64(len(lat))*p))].Round(time.Millisecond)
	}
	t.Logf("R4 pod: %d × %d concurrent 1 MiB hostile requests in %v (statuses %v, slowest %v), inbox settled after %v",
		rounds, concurrency, storm.Round(time.Millisecond), statuses, slowest.Round(time.Millisecond), settled.Round(time.Millisecond))
	t.Logf("R4 pod RSS: before %.1f MiB (VmHWM %.1f), sampled max %.1f MiB over %d samples, last %.1f MiB, VmHWM %.1f MiB (bound 512)",
		float64(rss0)/(1<<20), float64(hwm0)/(1<<20), float64(maxRSS)/(1<<20), samples, float64(lastRSS)/(1<<20), float64(hwm)/(1<<20))
	t.Logf("R4 pod health: %d nodeinfo GETs, %d failed; p50 %v, p99 %v, max %v (bounds: p99 1 s, max 5 s, 1 s strict)", len(lat), probeErrs, pct(0.5), pct(0.99), lat[len(lat)-1].Round(time.Millisecond))
	if hwm > 512<<20 {
		t.Errorf("peak RSS (VmHWM) %d bytes, bound 512 MiB", hwm)
	}
	if probeErrs != 0 {
		t.Errorf("%d health probes failed", probeErrs)
	}
	maxBound := 5 * time.Second
	if os.Getenv("POD_R4_STRICT") == "1" {
		maxBound = time.Second
	}
	if p99 := lat[min(len(lat)-1, len(lat)*99/100)]; p99 > time.Second {
		t.Errorf("99th percentile of the health answers %v, bound 1 s", p99)
	}
	if m := lat[len(lat)-1]; m > maxBound {
		t.Errorf("slowest health answer %v, bound %v", m, maxBound)
	}

	// Nothing hostile stored, and the pod still serves.
	st, err := store.Open(context.Background(), s.dbURL, s.dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var n int
	if err := st.SQL().QueryRow(`SELECT (SELECT COUNT(*) FROM posts) + (SELECT COUNT(*) FROM interactions) + (SELECT COUNT(*) FROM messages)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d entities stored from hostile bodies", n)
	}
	resp, err := http.Get(s.url() + ".well-known/nodeinfo")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("after the storm: %v %v", resp, err)
	}
	resp.Body.Close()
}
