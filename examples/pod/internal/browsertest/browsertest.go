// Package browsertest lets the pod's Go tests drive a real headless Chromium
// through the Chrome DevTools Protocol (with github.com/chromedp/chromedp), to
// test the web UI as a person's browser sees it: forms that submit with full
// page loads, pages that must work without JavaScript, hostile content that
// must not run.
//
// # Skip or require
//
// [New] needs a Chromium binary, found by [Chromium]. When there is none, New
// skips the test with
//
//	browser tests need Chromium: install Debian's chromium package (apt-get install chromium) or set POD_CHROMIUM
//
// so that "go test ./..." stays green on a machine without a browser. When the
// environment variable POD_REQUIRE_BROWSER is 1, New fails the test with the
// same message instead: a CI run that is meant to run the browser tests sets
// it, so that a missing browser can never turn them into silent skips. A
// POD_CHROMIUM that names no executable file always fails the test: it is a
// mistake, not a missing browser.
//
// # Profiles and isolation
//
// Each [New] starts its own Chromium process with a fresh profile directory
// (--user-data-dir in t.TempDir()), so two Browsers share nothing. The pages
// that [Browser.Page] opens are tabs of that one profile: they share cookies,
// local storage and the HTTP cache, as the tabs of one window do. A test of
// two users needs two cookie jars: take them from [Browser.Incognito], which
// returns a Browser on the same process with its own empty in-memory profile
// (a CDP browser context, like an incognito window). Incognito costs a few
// milliseconds where New costs a process start (about a second); both isolate
// cookies completely. Note that cookies do not depend on the port: two pods
// on 127.0.0.1 with different ports see each other's cookies in one profile.
//
// # Waiting and failures
//
// Every helper of [Page] fails the test (t.Fatalf) with a readable message:
// what was asked, the error, and the page's URL and an excerpt of its
// visible text, its JavaScript dialogs and its console errors. Each call has a
// time limit ([DefaultTimeout], or the [Timeout] option), and a helper that
// looks for an element waits at most [DefaultElementWait] (the [ElementWait]
// option) for it to appear, so a missing element fails in seconds, not at the
// end of the whole time limit. [Page.Click] and [Page.Submit] wait for the
// navigation that they cause; see [Page.Click] for how.
//
// JavaScript dialogs (alert, confirm, prompt) are dismissed as soon as they
// open and counted ([Page.Dialogs]), so a hostile alert() never blocks a test.
//
// # Environment
//
//   - POD_CHROMIUM: the Chromium binary to run (see [Chromium]).
//   - POD_REQUIRE_BROWSER=1: fail, not skip, when there is no browser.
//   - POD_SCREENSHOTS: the directory where [Page.Screenshot] writes (one
//     subdirectory per test); without it, screenshots go to a temporary
//     directory of the test, which the test's log names.
package browsertest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// missingMessage is the message of the skip (or, under POD_REQUIRE_BROWSER=1,
// the failure) of a test that finds no browser.
const missingMessage = "browser tests need Chromium: install Debian's chromium package (apt-get install chromium) or set POD_CHROMIUM"

const (
	// startTimeout bounds the start of Chromium, up to its first answer.
	startTimeout = 60 * time.Second
	// closeTimeout bounds the wait for the end of Chromium, and the
	// disposal of an incognito profile, at the end of a test.
	closeTimeout = 10 * time.Second
	// windowWidth and windowHeight are the size of the browser window and
	// of the default viewport of a page.
	windowWidth, windowHeight = 1280, 900
)

// candidates are the names that Chromium looks for on PATH, in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"}

// Chromium returns the path of a Chromium binary: $POD_CHROMIUM when it is
// set, else the first of chromium, chromium-browser, google-chrome and
// headless-shell that exec.LookPath finds on PATH. It returns "" when there is
// none. It does not check that $POD_CHROMIUM exists; [New] does.
func Chromium() string {
	if p := os.Getenv("POD_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range candidates {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Browser is a headless Chromium, or an isolated profile of one (see
// [Browser.Incognito]). Its pages are tabs that share the Browser's cookies
// and storage. A Browser is safe to use from several goroutines, but each
// [Page] belongs to one.
type Browser struct {
	proc *process
	// profile is the CDP browser context of an Incognito Browser, and ""
	// for the default profile of the process.
	profile cdp.BrowserContextID
}

// process is one running Chromium, shared by a Browser and its Incognito
// Browsers.
type process struct {
	path    string
	version string
	dataDir string
	startup time.Duration

	// ctx is the chromedp context that owns the process: each child
	// context of it is a new tab.
	ctx context.Context

	// logMu guards t and closed: chromedp logs from its own goroutines,
	// and a test's t must not be used after the test ends.
	logMu  sync.Mutex
	t      testing.TB
	closed bool

	output *tailBuffer
}

// logf sends a message of chromedp to the test's log, until the browser
// closes.
func (pr *process) logf(format string, args ...any) {
	pr.logMu.Lock()
	defer pr.logMu.Unlock()
	if !pr.closed {
		pr.t.Logf("browsertest: chromedp: "+format, args...)
	}
}

// New starts a headless Chromium for the test and returns it; t.Cleanup kills
// it with its helper processes, and removes its profile directory.
//
// When no browser is found, New calls t.Skip with the message of the package
// documentation, or t.Fatal with the same message when POD_REQUIRE_BROWSER=1.
// A browser that does not answer within a minute fails the test with its
// output.
//
// The browser runs with --headless=new, --no-sandbox (the tests may run as
// root), --disable-gpu, a window of 1280x900, and without any of the
// background traffic of a desktop browser (QUIC, component updates, sync,
// background networking), since the tests run with a closed network.
func New(t testing.TB) *Browser {
	t.Helper()
	path := Chromium()
	if path == "" {
		if os.Getenv("POD_REQUIRE_BROWSER") == "1" {
			t.Fatal(missingMessage)
		}
		t.Skip(missingMessage)
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		t.Fatalf("browsertest: %s is not an executable file (POD_CHROMIUM=%q): %v", path, os.Getenv("POD_CHROMIUM"), err)
	}

	pr := &process{path: path, dataDir: t.TempDir(), t: t, output: &tailBuffer{max: 16 << 10}}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Flag("headless", "new"),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(pr.dataDir),
		chromedp.WindowSize(windowWidth, windowHeight),
		chromedp.CombinedOutput(pr.output),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx,
		chromedp.WithBrowserOption(
			chromedp.WithBrowserLogf(pr.logf),
			chromedp.WithBrowserErrorf(pr.logf),
		))
	pr.ctx = ctx

	// stop kills the process and its helpers, and waits (within bounds)
	// until they are gone. A profile that is thrown away needs no graceful
	// close, which costs half a second more.
	stop := func() {
		done := make(chan struct{})
		go func() {
			cancelCtx()
			cancelAlloc()
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(closeTimeout):
		}
		killLeftovers(pr.dataDir)
		pr.logMu.Lock()
		pr.closed = true
		pr.logMu.Unlock()
	}

	start := time.Now()
	errc := make(chan error, 1)
	go func() {
		// The first Run starts the browser and binds it to ctx, so it must
		// not get a context with a deadline: the timer below bounds it.
		err := chromedp.Do(ctx)
		if err == nil {
			var v browser.GetVersionResult
			v, err = chromedp.CallBrowser(ctx, browser.GetVersion, cdp.Empty{})
			pr.version = v.Product
		}
		errc <- err
	}()
	var err error
	select {
	case err = <-errc:
	case <-time.After(startTimeout):
		err = fmt.Errorf("no answer within %v", startTimeout)
	}
	if err != nil {
		stop()
		t.Fatalf("browsertest: starting Chromium (%s): %v\nits output ends with:\n%s", path, err, pr.output.String())
	}
	pr.startup = time.Since(start)
	t.Logf("browsertest: %s (%s) started in %v", pr.version, path, pr.startup.Round(time.Millisecond))
	t.Cleanup(stop)
	return &Browser{proc: pr}
}

// Startup returns how long the Chromium process took to start and answer.
func (b *Browser) Startup() time.Duration { return b.proc.startup }

// Version returns the browser's product name and version, such as
// "Chrome/148.0.7778.167".
func (b *Browser) Version() string { return b.proc.version }

// Incognito returns a Browser with its own empty profile on the same Chromium
// process: its pages share cookies and storage with each other, but with no
// page of b or of another Incognito Browser. The profile lives in memory and
// t.Cleanup disposes of it, closing its pages. Use one per user in a test of
// several users; it is much cheaper than another [New].
func (b *Browser) Incognito(t testing.TB) *Browser {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.proc.ctx, DefaultTimeout)
	defer cancel()
	res, err := chromedp.CallBrowser(ctx, target.CreateBrowserContext, target.CreateBrowserContextParams{})
	if err != nil {
		t.Fatalf("browsertest: creating an incognito profile: %v", err)
	}
	id := res.BrowserContextID
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(b.proc.ctx, closeTimeout)
		defer cancel()
		if _, err := chromedp.CallBrowser(ctx, target.DisposeBrowserContext, target.DisposeBrowserContextParams{BrowserContextID: id}); err != nil && b.proc.ctx.Err() == nil {
			t.Logf("browsertest: disposing of the incognito profile %s: %v", id, err)
		}
	})
	return &Browser{proc: b.proc, profile: id}
}

// tailBuffer keeps the last max bytes written to it: the end of the
// browser's output, for a failure to start.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// Write keeps the end of p; it never fails, so the browser never blocks.
func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

// String returns what is kept, or a note when the browser printed nothing.
func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s := strings.TrimSpace(string(b.buf)); s != "" {
		return s
	}
	return "(nothing)"
}
