package pod

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/examples/pod/internal/storetest"
)

// testPod is a pod serving on a loopback port, in development mode.
type testPod struct {
	*Pod
	URL  string
	Host string
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() || os.Getenv("POD_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

// startPod starts a pod on 127.0.0.1 with small keys and fast retries.
func startPod(t *testing.T) *testPod {
	t.Helper()
	tp, _ := startPodAt(t, t.TempDir(), "127.0.0.1:0")
	return tp
}

// startPodAt starts a pod with its data in dir, listening on addr; stop
// shuts it down (server, workers, store) as a restart would.
func startPodAt(t *testing.T, dir, addr string) (tp *testPod, stop func()) {
	t.Helper()
	return startPodLogging(t, dir, addr, testLogger(t))
}

// logBuffer collects a pod's log records for a test to read.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startLoggedPod starts a pod whose log records go to the returned buffer.
func startLoggedPod(t *testing.T) (*testPod, *logBuffer) {
	t.Helper()
	lb := &logBuffer{}
	tp, _ := startPodLogging(t, t.TempDir(), "127.0.0.1:0", slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})))
	return tp, lb
}

func startPodLogging(t *testing.T, dir, addr string, logger *slog.Logger) (tp *testPod, stop func()) {
	t.Helper()
	return startPodConfigured(t, dir, addr, logger, nil)
}

// startPodConfigured is startPodLogging with a last change to the
// configuration (none when configure is nil).
func startPodConfigured(t *testing.T, dir, addr string, logger *slog.Logger, configure func(*Config)) (tp *testPod, stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + ln.Addr().String() + "/"
	cfg := Config{PublicURL: u, DB: testDBAt(t, dir), DataDir: dir, KeyBits: 2048, Dev: true,
		BcryptCost: bcrypt.MinCost, Poll: 50 * time.Millisecond, BaseBackoff: 200 * time.Millisecond,
		InboxBackoff: 200 * time.Millisecond, Logger: logger}
	if configure != nil {
		configure(&cfg)
	}
	p, err := NewPod(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := NewServer(p.Handler(), logger)
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer scancel()
			srv.Shutdown(sctx)
			cancel()
			wg.Wait()
			p.Close()
		})
	}
	t.Cleanup(stop)
	return &testPod{Pod: p, URL: u, Host: ln.Addr().String()}, stop
}

// user creates a local user and logs in through the API.
func (tp *testPod) user(t *testing.T, name string) (id, token string) {
	t.Helper()
	id, err := tp.AddUser(context.Background(), name, "password-"+name)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Token, ID string }
	tp.call(t, "POST", "/api/session", "", map[string]string{"username": name, "password": "password-" + name}, http.StatusCreated, &out)
	if out.ID != id || out.Token == "" {
		t.Fatalf("login = %+v, want id %s and a token", out, id)
	}
	return id, out.Token
}

// call sends an API request and checks the status; out receives the JSON.
func (tp *testPod) call(t *testing.T, method, path, token string, body any, want int, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimSuffix(tp.URL, "/")+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, data, want)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, data)
		}
	}
}

// post reads a post through the API; ok is false on 404.
func (tp *testPod) post(t *testing.T, token, guid string) (store.PostView, bool) {
	t.Helper()
	req, _ := http.NewRequest("GET", tp.URL+"api/posts/"+guid, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v store.PostView
	if resp.StatusCode == http.StatusNotFound {
		return v, false
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET post = %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v, true
}

// waitFor polls cond until it holds or the bounded wait ends.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// count runs a COUNT query on a pod's store.
func (tp *testPod) count(t *testing.T, query string, args ...any) int {
	t.Helper()
	var n int
	if err := tp.store.SQL().QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// testDB and testDBAt give a test pod its database (see storetest).
func testDB(t testing.TB) string { t.Helper(); return storetest.DB(t) }

func testDBAt(t testing.TB, dir string) string { t.Helper(); return storetest.DBAt(t, dir) }
