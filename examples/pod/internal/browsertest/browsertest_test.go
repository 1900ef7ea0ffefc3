package browsertest

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// site is the small web site of the tests: a form that posts, redirects and
// shows a result, and pages for dialogs, scripts, cookies and errors.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, title, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>%s</title></head><body>%s</body></html>`, title, body)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Form", `<h1>Say hello</h1>
<form id="hello" method="post" action="/submit">
<label>Name <input id="name" name="name" required value="placeholder"></label>
<label>Message <textarea id="msg" name="msg"></textarea></label>
<button>Send</button>
</form>
<form id="slow" method="post" action="/submit?delay=1500ms"><input type="hidden" name="name" value="slowpoke"><input type="submit" value="Slow"></form>
<form id="nobutton" method="post" action="/submit"><input name="name" value="buttonless"></form>
<form id="empty" method="post" action="/submit"><input name="name" required><button>Go</button></form>
<form id="nocontent" method="post" action="/nocontent"><button>Nothing</button></form>
<form id="image" method="post" action="/submit"><input type="hidden" name="name" value="pictured"><input type="image" alt="Picture button"></form>
<form id="hang" method="post" action="/hang"><button>Hang</button></form>
<p><a id="next" href="/result?name=link">next</a> <a id="frag" href="#below">below</a> <button type="button" id="noop">nothing</button></p>
<p id="below">the end</p>`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		if d, err := time.ParseDuration(r.URL.Query().Get("delay")); err == nil {
			time.Sleep(d)
		}
		q := url.Values{"name": {r.FormValue("name")}, "msg": {r.FormValue("msg")}}
		http.Redirect(w, r, "/result?"+q.Encode(), http.StatusSeeOther)
	})
	mux.HandleFunc("POST /hang", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	mux.HandleFunc("POST /nocontent", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /result", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Result", `<p id="greeting">Hello, `+html.EscapeString(r.FormValue("name"))+`!</p><pre id="msg">`+html.EscapeString(r.FormValue("msg"))+`</pre>`)
	})
	mux.HandleFunc("GET /alert", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Alert", `<p>before</p><script>alert("boo"); window.answer = confirm("sure?");</script><p id="after">after the dialogs</p>
<button type="button" id="hostile" onclick="alert('again'); this.textContent = 'clicked'">click me</button>`)
	})
	mux.HandleFunc("GET /script", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Script", `<p id="out">static</p><script>document.getElementById("out").textContent = "written by a script"; window.canary = 42;</script>`)
	})
	mux.HandleFunc("GET /errors", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Errors", `<p>errors</p><script>console.error("bad thing", 7); throw new Error("boom");</script>`)
	})
	mux.HandleFunc("GET /cookie", func(w http.ResponseWriter, r *http.Request) {
		if v := r.FormValue("set"); v != "" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: v, Path: "/"})
			page(w, "Cookie", `<p id="who">set `+html.EscapeString(v)+`</p>`)
			return
		}
		who := "nobody"
		if c, err := r.Cookie("who"); err == nil {
			who = c.Value
		}
		page(w, "Cookie", `<p id="who">`+html.EscapeString(who)+`</p>`)
	})
	mux.HandleFunc("GET /long", func(w http.ResponseWriter, r *http.Request) {
		page(w, "Long", `<div style="height:3000px;background:linear-gradient(#fff,#36c)">tall</div><p id="bottom">bottom</p>`)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

// recorder is a testing.TB whose Fatal and Skip record the message and end
// the goroutine, so that a test can check how a helper fails.
type recorder struct {
	testing.TB
	mu      sync.Mutex
	fatal   string
	skipped string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) { r.Fatal(fmt.Sprintf(format, args...)) }

func (r *recorder) Fatal(args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skip(args ...any) {
	r.mu.Lock()
	r.skipped = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}

// run runs f on its own goroutine, as a test body, and waits for it.
func (r *recorder) run(f func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	<-done
}

func TestSkipOrRequire(t *testing.T) {
	t.Setenv("POD_CHROMIUM", "")
	t.Setenv("PATH", t.TempDir())
	if p := Chromium(); p != "" {
		t.Fatalf("Chromium() = %q with an empty PATH", p)
	}
	for _, require := range []string{"", "1"} {
		t.Setenv("POD_REQUIRE_BROWSER", require)
		r := &recorder{TB: t}
		r.run(func() {
			New(r)
			t.Error("New returned without a browser")
		})
		got := r.skipped
		if require == "1" {
			got = r.fatal
			if r.skipped != "" {
				t.Errorf("POD_REQUIRE_BROWSER=1: skipped: %s", r.skipped)
			}
		}
		if !strings.Contains(got, missingMessage) {
			t.Errorf("POD_REQUIRE_BROWSER=%q: skip %q, fatal %q; want the message %q", require, r.skipped, r.fatal, missingMessage)
		}
	}

	t.Setenv("POD_REQUIRE_BROWSER", "")
	t.Setenv("POD_CHROMIUM", filepath.Join(t.TempDir(), "no-such-chromium"))
	r := &recorder{TB: t}
	r.run(func() { New(r) })
	if r.skipped != "" || !strings.Contains(r.fatal, "no-such-chromium") {
		t.Errorf("a POD_CHROMIUM that does not exist: skip %q, fatal %q; want a failure naming it", r.skipped, r.fatal)
	}
}

func TestBrowser(t *testing.T) {
	ts := site(t)
	b := New(t)
	t.Logf("%s started in %v", b.Version(), b.Startup())

	t.Run("form", func(t *testing.T) {
		p := b.Page(t)
		p.Open(ts.URL + "/")
		if got := p.Text("h1"); got != "Say hello" {
			t.Errorf("Text(h1) = %q", got)
		}
		if !p.Exists("#hello") || p.Exists("#nothing-here") {
			t.Error("Exists is wrong about #hello or #nothing-here")
		}
		p.Fill("#name", "Ada <b>")
		p.Fill("#msg", "two\nlines")
		p.Submit("#hello")
		if got, want := p.Text("#greeting"), "Hello, Ada <b>!"; got != want {
			t.Errorf("after Submit: greeting %q, want %q", got, want)
		}
		if got := p.Text("#msg"); got != "two\nlines" {
			t.Errorf("after Submit: message %q", got)
		}
		if u := p.URL(); !strings.HasPrefix(u, ts.URL+"/result?") {
			t.Errorf("URL() = %q after the redirect", u)
		}
		if s := p.Status(); s != http.StatusOK {
			t.Errorf("Status() = %d", s)
		}
		if h := p.HTML("#greeting"); h != `<p id="greeting">Hello, Ada &lt;b&gt;!</p>` {
			t.Errorf("HTML(#greeting) = %q", h)
		}
	})

	t.Run("click", func(t *testing.T) {
		p := b.Page(t)
		p.Open(ts.URL + "/")
		p.Click("#next")
		if got := p.Text("#greeting"); got != "Hello, link!" {
			t.Errorf("after clicking a link: %q", got)
		}

		// A submit button, a server that answers after the grace period,
		// a form without a button, a 204.
		p.Open(ts.URL + "/")
		start := time.Now()
		p.Click(`#slow input[type="submit"]`)
		if got := p.Text("#greeting"); got != "Hello, slowpoke!" {
			t.Errorf("after a slow submit (%v): %q", time.Since(start), got)
		}
		p.Open(ts.URL + "/")
		p.Submit("#nobutton")
		if got := p.Text("#greeting"); got != "Hello, buttonless!" {
			t.Errorf("after submitting a form without a button: %q", got)
		}
		p.Open(ts.URL + "/")
		p.Submit("#image")
		if got := p.Text("#greeting"); got != "Hello, pictured!" {
			t.Errorf("after submitting a form with an image button: %q", got)
		}
		p.Open(ts.URL + "/")
		p.Submit("#nocontent")
		if u := p.URL(); u != ts.URL+"/" {
			t.Errorf("a 204 moved the page to %q", u)
		}

		// No navigation: Click returns after the grace period; a fragment
		// returns at once.
		start = time.Now()
		p.Click("#noop")
		if d := time.Since(start); d < NavigationGrace || d > NavigationGrace+2*time.Second {
			t.Errorf("a click that navigates nowhere took %v", d)
		}
		p.Click("#frag")
		if u := p.URL(); u != ts.URL+"/#below" {
			t.Errorf("after clicking #frag: URL %q", u)
		}
	})

	t.Run("failures", func(t *testing.T) {
		r := &recorder{TB: t}
		p := b.Page(r, ElementWait(300*time.Millisecond))
		p.Open(ts.URL + "/")
		start := time.Now()
		r.run(func() { p.Click("#missing") })
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("a missing element failed after %v", d)
		}
		for _, want := range []string{`no element matches "#missing"`, "page: " + ts.URL + "/", "text: Say hello"} {
			if !strings.Contains(r.fatal, want) {
				t.Errorf("the failure of a missing element does not say %q:\n%s", want, r.fatal)
			}
		}

		r.fatal = ""
		r.run(func() { p.Submit("#empty") })
		if !strings.Contains(r.fatal, "no navigation started") || !strings.Contains(r.fatal, "invalid fields: name:") {
			t.Errorf("submitting a form with an empty required field:\n%s", r.fatal)
		}

		r.fatal = ""
		r.run(func() { p.Fill("#next", "x") })
		if !strings.Contains(r.fatal, "not an input") {
			t.Errorf("filling a link:\n%s", r.fatal)
		}

		r.fatal = ""
		slow := b.Page(r, Timeout(time.Second))
		slow.Open(ts.URL + "/")
		start = time.Now()
		r.run(func() { slow.Submit("#hang") })
		if !strings.Contains(r.fatal, "navigation to "+ts.URL+"/hang did not finish within 1s") {
			t.Errorf("a navigation that hangs:\n%s", r.fatal)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("a navigation that hangs failed after %v, with a time limit of 1s", d)
		}

		p.Open(ts.URL + "/nowhere")
		if s := p.Status(); s != http.StatusNotFound {
			t.Errorf("Status() = %d on a missing page", s)
		}
	})

	t.Run("dialogs", func(t *testing.T) {
		p := b.Page(t)
		start := time.Now()
		p.Open(ts.URL + "/alert")
		if got := p.Text("#after"); got != "after the dialogs" {
			t.Errorf("text after the dialogs: %q", got)
		}
		if n := p.Dialogs(); n != 2 {
			t.Errorf("Dialogs() = %d, want 2 (an alert and a confirm): %q", n, p.DialogMessages())
		}
		if got := strings.Join(p.DialogMessages(), "|"); got != "alert: boo|confirm: sure?" {
			t.Errorf("DialogMessages() = %q", got)
		}
		answer := true
		p.Eval("window.answer", &answer)
		if answer {
			t.Error("confirm() answered true: the dialog was accepted, not dismissed")
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("the page with dialogs took %v", d)
		}
		p.Click("#hostile")
		if n, text := p.Dialogs(), p.Text("#hostile"); n != 3 || text != "clicked" {
			t.Errorf("after a click that opens an alert: %d dialogs, button %q", n, text)
		}
	})

	t.Run("noscript", func(t *testing.T) {
		with := b.Page(t)
		with.Open(ts.URL + "/script")
		if got := with.Text("#out"); got != "written by a script" {
			t.Errorf("with scripts: %q", got)
		}
		var canary int
		with.Eval("window.canary", &canary)
		if canary != 42 {
			t.Errorf("with scripts: canary %d", canary)
		}

		without := b.Page(t, NoScript)
		without.Open(ts.URL + "/script")
		if got := without.Text("#out"); got != "static" {
			t.Errorf("with NoScript: %q", got)
		}
		canary = 0
		without.Eval("window.canary", &canary)
		if canary != 0 {
			t.Errorf("with NoScript: canary %d", canary)
		}
		// The forms work without JavaScript, and NoScript stays on
		// across navigations.
		without.Open(ts.URL + "/")
		without.Fill("#name", "Grace")
		without.Submit("#hello")
		if got := without.Text("#greeting"); got != "Hello, Grace!" {
			t.Errorf("a form with NoScript: %q", got)
		}
		without.Open(ts.URL + "/alert")
		if n := without.Dialogs(); n != 0 {
			t.Errorf("NoScript: %d dialogs", n)
		}
	})

	t.Run("console", func(t *testing.T) {
		p := b.Page(t)
		p.Open(ts.URL + "/errors")
		got := p.ConsoleErrors()
		// The favicon's 404 is not there: the page did not ask for it.
		if len(got) != 2 || got[0] != "console.error: bad thing 7" || !strings.HasPrefix(got[1], "exception: Uncaught Error: boom") {
			t.Errorf("ConsoleErrors() = %q", got)
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			opts  []PageOption
			width int
		}{
			{"desktop", nil, 1280},
			{"phone", []PageOption{Phone}, 390},
		} {
			p := b.Page(t, c.opts...)
			p.Open(ts.URL + "/long")
			var inner int
			p.Eval("window.innerWidth", &inner)
			if inner != c.width {
				t.Errorf("%s: innerWidth %d, want %d", c.name, inner, c.width)
			}
			path := p.Screenshot("long page/" + c.name)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")) {
				t.Fatalf("%s: %s is not a PNG", c.name, path)
			}
			cfg, err := png.DecodeConfig(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Width != c.width || cfg.Height < 3000 {
				t.Errorf("%s: screenshot %dx%d, want %d wide and the whole 3000+ px page", c.name, cfg.Width, cfg.Height, c.width)
			}
		}
	})

	t.Run("profiles", func(t *testing.T) {
		alice, bob := b.Incognito(t), b.Incognito(t)
		a1 := alice.Page(t)
		a1.Open(ts.URL + "/cookie?set=alice")
		a2 := alice.Page(t)
		a2.Open(ts.URL + "/cookie")
		if got := a2.Text("#who"); got != "alice" {
			t.Errorf("a second tab of alice's profile sees %q", got)
		}
		bp := bob.Page(t)
		bp.Open(ts.URL + "/cookie")
		if got := bp.Text("#who"); got != "nobody" {
			t.Errorf("bob's profile sees alice's cookie: %q", got)
		}
		bp.Open(ts.URL + "/cookie?set=bob")
		a2.Open(ts.URL + "/cookie")
		if got := a2.Text("#who"); got != "alice" {
			t.Errorf("alice's profile sees %q after bob set his cookie", got)
		}
		main := b.Page(t)
		main.Open(ts.URL + "/cookie")
		if got := main.Text("#who"); got != "nobody" {
			t.Errorf("the default profile sees %q", got)
		}

		// Another process shares nothing either.
		main.Open(ts.URL + "/cookie?set=main")
		other := New(t).Page(t)
		other.Open(ts.URL + "/cookie")
		if got := other.Text("#who"); got != "nobody" {
			t.Errorf("a second browser sees %q", got)
		}
	})
}
