package browsertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

const (
	// DefaultTimeout is the time limit of one call of a Page method (Run,
	// Open, Click, ...) unless the [Timeout] option changes it.
	DefaultTimeout = 30 * time.Second

	// DefaultElementWait is how long a helper that needs an element waits
	// for it to appear, unless the [ElementWait] option changes it.
	DefaultElementWait = 5 * time.Second

	// NavigationGrace is how long [Page.Click] and [Page.Submit] wait for a
	// navigation to start before they decide that there is none.
	NavigationGrace = 500 * time.Millisecond

	// pollInterval is the pause between two looks for an element.
	pollInterval = 50 * time.Millisecond
	// diagnoseTimeout bounds the collection of the page's state for a
	// failure message: a page that hangs must not hang the report.
	diagnoseTimeout = 3 * time.Second
	// excerptLen is the longest excerpt of a page's text in a failure.
	excerptLen = 1200
)

// PageOption changes how [Browser.Page] sets up a page.
type PageOption func(*pageConfig)

type pageConfig struct {
	noScript      bool
	width, height int64
	mobile        bool
	timeout       time.Duration
	elementWait   time.Duration
}

// NoScript runs the page with JavaScript disabled
// (Emulation.setScriptExecutionDisabled), for the pages that must work
// without it. The page's own scripts do not run; the helpers of Page (Fill,
// Text, Eval, ...) keep working, since they are DevTools calls.
var NoScript PageOption = func(c *pageConfig) { c.noScript = true }

// Phone gives the page the viewport of a phone: 390x844 CSS pixels with
// mobile emulation, so that the page's meta viewport applies.
var Phone PageOption = Viewport(390, 844, true)

// Viewport sets the page's viewport to width x height CSS pixels (the default
// is 1280x900), with mobile emulation when mobile is true.
func Viewport(width, height int, mobile bool) PageOption {
	return func(c *pageConfig) { c.width, c.height, c.mobile = int64(width), int64(height), mobile }
}

// Timeout sets the time limit of each call of a Page method (default
// [DefaultTimeout]).
func Timeout(d time.Duration) PageOption {
	return func(c *pageConfig) { c.timeout = d }
}

// ElementWait sets how long the helpers wait for an element to appear (default
// [DefaultElementWait]).
func ElementWait(d time.Duration) PageOption {
	return func(c *pageConfig) { c.elementWait = d }
}

// Page is one tab of a [Browser], bound to one test. Its methods fail that
// test when something goes wrong, so they must be called from the test's
// goroutine. The tab closes when the test ends.
type Page struct {
	t   testing.TB
	ctx context.Context
	cfg pageConfig

	// mu guards what the event listener writes. It is never held across
	// a call to the browser.
	mu        sync.Mutex
	frame     cdp.FrameID // the main frame
	nav       navState
	navChange chan struct{} // closed and replaced at each change of nav
	status    map[cdp.LoaderID]int64
	dialogs   []string
	problems  []string // dialogs that could not be dismissed
	console   []string
	marks     int
}

// navState is what the page's events say about its main frame.
type navState struct {
	started int          // navigations that started
	stopped int          // times that the frame stopped loading
	sameDoc int          // navigations within the document
	loader  cdp.LoaderID // the loader of the current document
	loaded  bool         // whether the current document fired load
	url     string       // the URL of the current document
	pending string       // where a navigation goes while it is under way
}

// Page opens a new tab in b's profile and returns it; t.Cleanup closes it.
// The tabs of one Browser share cookies and storage (see the package
// documentation; use [Browser.Incognito] for another user). Each tab has its
// own window, so it is never hidden behind another one.
func (b *Browser) Page(t testing.TB, opts ...PageOption) *Page {
	t.Helper()
	p := &Page{
		t:         t,
		navChange: make(chan struct{}),
		status:    map[cdp.LoaderID]int64{},
		cfg: pageConfig{
			width: windowWidth, height: windowHeight,
			timeout: DefaultTimeout, elementWait: DefaultElementWait,
		},
	}
	for _, o := range opts {
		o(&p.cfg)
	}
	copts := []chromedp.ContextOption{chromedp.WithListener(p.onEvent)}
	if b.profile != "" {
		copts = append(copts, chromedp.WithExistingBrowserContext(b.profile))
	}
	ctx, cancel := chromedp.NewContext(b.proc.ctx, copts...)
	p.ctx = ctx
	t.Cleanup(cancel)

	var viewport []chromedp.EmulateViewportOption
	if p.cfg.mobile {
		viewport = append(viewport, chromedp.EmulateMobile, chromedp.EmulatePortrait)
	}
	setup := []chromedp.Action[chromedp.Void]{
		chromedp.EmulateViewport(p.cfg.width, p.cfg.height, viewport...),
	}
	if p.cfg.noScript {
		setup = append(setup, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
			return err
		}))
	}
	setup = append(setup, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		tree, err := cdp.Call(ctx, tg, page.GetFrameTree, cdp.Empty{})
		if err != nil {
			return err
		}
		p.mu.Lock()
		defer p.mu.Unlock()
		f := tree.FrameTree.Frame
		p.frame = f.ID
		p.nav.loader, p.nav.loaded, p.nav.url = f.LoaderID, true, f.URL
		return nil
	}))

	// The first Run opens the tab and binds it to ctx, so it gets ctx
	// itself, and the timer bounds it.
	errc := make(chan error, 1)
	go func() { errc <- chromedp.Do(ctx, setup...) }()
	var err error
	select {
	case err = <-errc:
	case <-time.After(p.cfg.timeout):
		err = fmt.Errorf("no answer within %v", p.cfg.timeout)
	}
	if err != nil {
		t.Fatalf("browsertest: opening a tab: %v", err)
	}
	return p
}

// onEvent is the page's listener: chromedp calls it in order, for each event
// of the tab, on the goroutine that reads the tab's messages. It must return
// fast and send no command.
func (p *Page) onEvent(ev any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	main := func(id cdp.FrameID) bool { return id != "" && id == p.frame }
	before := p.nav
	switch ev := ev.(type) {
	case *page.EventFrameNavigated:
		if ev.Frame.ParentID == "" {
			p.frame = ev.Frame.ID
			if ev.Frame.LoaderID != p.nav.loader {
				p.nav.loader, p.nav.loaded = ev.Frame.LoaderID, false
			}
			p.nav.url = ev.Frame.URL + ev.Frame.URLFragment
		}
	case *page.EventLifecycleEvent:
		if main(ev.FrameID) {
			switch {
			case ev.Name == "init" && ev.LoaderID != p.nav.loader:
				p.nav.loader, p.nav.loaded = ev.LoaderID, false
			case ev.Name == "load" && ev.LoaderID == p.nav.loader:
				p.nav.loaded, p.nav.pending = true, ""
			}
		}
	case *page.EventFrameRequestedNavigation:
		if main(ev.FrameID) {
			p.nav.started++
			p.nav.pending = ev.URL
		}
	case *page.EventFrameStartedNavigating:
		if main(ev.FrameID) {
			p.nav.started++
			p.nav.pending = ev.URL
		}
	case *page.EventFrameStartedLoading:
		if main(ev.FrameID) {
			p.nav.started++
			if p.nav.pending == "" {
				p.nav.pending = "?"
			}
		}
	case *page.EventFrameStoppedLoading:
		if main(ev.FrameID) {
			p.nav.stopped++
			p.nav.pending = ""
		}
	case *page.EventNavigatedWithinDocument:
		if main(ev.FrameID) {
			p.nav.sameDoc++
			p.nav.url, p.nav.pending = ev.URL, ""
		}
	case *network.EventResponseReceived:
		if ev.Type == network.ResourceTypeDocument && main(ev.FrameID) && ev.Response != nil {
			p.status[ev.LoaderID] = ev.Response.Status
		}
	case *page.EventJavascriptDialogOpening:
		p.dialogs = append(p.dialogs, fmt.Sprintf("%s: %s", ev.Type, ev.Message))
		// A beforeunload dialog is accepted, so that the navigation goes
		// on; the others are dismissed (confirm answers false, prompt null).
		accept := ev.Type == page.DialogTypeBeforeunload
		go p.closeDialog(accept)
	case *runtime.EventConsoleAPICalled:
		if ev.Type == runtime.ConsoleAPICalledTypeError || ev.Type == runtime.ConsoleAPICalledTypeAssert {
			p.console = append(p.console, "console."+string(ev.Type)+": "+argsText(ev.Args))
		}
	case *runtime.EventExceptionThrown:
		if d := ev.ExceptionDetails; d != nil {
			s := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				desc, _, _ := strings.Cut(d.Exception.Description, "\n")
				s += " " + desc
			}
			if d.URL != "" {
				s += fmt.Sprintf(" (%s:%d)", d.URL, d.LineNumber+1)
			}
			p.console = append(p.console, "exception: "+s)
		}
	case *log.EventEntryAdded:
		if e := ev.Entry; e != nil && e.Level == log.EntryLevelError && !isFavicon(e) {
			s := string(e.Source) + ": " + e.Text
			if e.URL != "" {
				s += " (" + e.URL + ")"
			}
			p.console = append(p.console, s)
		}
	}
	if p.nav != before {
		close(p.navChange)
		p.navChange = make(chan struct{})
	}
}

// isFavicon reports whether the log entry is the failure of the favicon that
// the browser asks for by itself: that is not the page's error.
func isFavicon(e *log.Entry) bool {
	if e.Source != log.EntrySourceNetwork || e.URL == "" {
		return false
	}
	u, err := url.Parse(e.URL)
	return err == nil && u.Path == "/favicon.ico"
}

// closeDialog answers the dialog that is open in the page.
func (p *Page) closeDialog(accept bool) {
	ctx, cancel := context.WithTimeout(p.ctx, DefaultTimeout)
	defer cancel()
	_, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: accept})
	if err != nil && p.ctx.Err() == nil {
		p.mu.Lock()
		p.problems = append(p.problems, "a dialog could not be closed: "+err.Error())
		p.mu.Unlock()
	}
}

// argsText renders the arguments of a console call: strings as they are,
// other values as JSON or as their description.
func argsText(args []*runtime.RemoteObject) string {
	parts := make([]string, 0, len(args))
	for _, a := range args {
		var s string
		switch {
		case len(a.Value) > 0 && json.Unmarshal(a.Value, &s) == nil:
		case len(a.Value) > 0:
			s = string(a.Value)
		case a.Description != "":
			s = a.Description
		case a.UnserializableValue != "":
			s = string(a.UnserializableValue)
		default:
			s = string(a.Type)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// callCtx returns the context of one call of a Page method.
func (p *Page) callCtx(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(p.ctx, d)
}

// explain adds a hint to the errors that a time limit caused.
func explain(err error, limit time.Duration) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("%v (time limit %v)", err, limit)
	}
	return err.Error()
}

// Run runs chromedp actions on the page, in order, within the page's time
// limit ([DefaultTimeout]) for the whole call. An error fails the test, with
// the page's URL and an excerpt of its text.
func (p *Page) Run(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf("chromedp actions failed: %s", explain(err, p.cfg.timeout))
	}
}

// Get runs one chromedp action that returns a value on the page, as
// [Page.Run] does, and returns the value. For example:
//
//	title := browsertest.Get(p, chromedp.Title())
func Get[T any](p *Page, action chromedp.Action[T]) T {
	p.t.Helper()
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		p.fatalf("chromedp action failed: %s", explain(err, p.cfg.timeout))
	}
	return v
}

// Open navigates to url and waits until the page has loaded (its load event)
// and has a body. A network error fails the test; an HTTP error status does
// not (see [Page.Status]).
func (p *Page) Open(url string) {
	p.t.Helper()
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		p.fatalf("opening %s: %s", url, explain(err, p.cfg.timeout))
	}
	p.waitElement("body")
}

// Fill sets the value of the input, textarea or select that sel (a CSS
// selector) matches, after clearing it, and fires the input and change
// events. It fails the test when no element matches within the element wait,
// when the element is not a field that a person can type into (disabled,
// read-only, a checkbox, a radio button or a file input: use Click for the
// first two), or when the value does not read back (a select without that
// option, a number field given text).
func (p *Page) Fill(sel, value string) {
	p.t.Helper()
	p.waitElement(sel)
	const fill = `(sel, value) => {
		const el = document.querySelector(sel);
		if (!el) return "no element matches the selector any more";
		const tag = el.tagName.toLowerCase();
		if (tag !== "input" && tag !== "textarea" && tag !== "select")
			return "the element is a <" + tag + ">, not an input, a textarea or a select";
		if (el.disabled) return "the field is disabled";
		if (el.readOnly) return "the field is read-only";
		if (tag === "input" && ["checkbox", "radio", "file", "submit", "button", "image", "reset"].includes(el.type))
			return "the field is an input of type " + el.type + ", which takes no typed value";
		el.focus();
		el.value = "";
		el.value = value;
		el.dispatchEvent(new Event("input", {bubbles: true}));
		el.dispatchEvent(new Event("change", {bubbles: true}));
		if (el.value !== value) return "the value reads back as " + JSON.stringify(el.value);
		return "";
	}`
	if msg := p.call(fill, sel, value); msg != "" {
		p.fatalf("filling %q with %q: %s", sel, value, msg)
	}
}

// Click clicks, with the mouse, the middle of the element that sel matches,
// after scrolling it into view, and waits for the navigation that the click
// causes, if any. It fails the test when no element matches within the
// element wait, when the element stays invisible, or when a navigation does
// not finish loading within the time limit.
//
// How it knows: the page's listener follows the main frame through the
// DevTools events, in their order. Before the click, Click notes the loader
// of the current document and a count of the navigations that started. After
// it, Click waits until one of these holds:
//   - a new document (another loader) has fired its load event, which is
//     when document.readyState is "complete": the click navigated;
//   - a navigation within the document happened (a link to #fragment);
//   - a navigation started and the frame stopped loading with the same
//     document (a 204 response, a download, a canceled navigation);
//   - no navigation started within [NavigationGrace] (500 ms): the click
//     navigated nowhere, and Click returns.
//
// A form's submit button submits with a full page load, which the first case
// covers, also through a POST-redirect-GET.
func (p *Page) Click(sel string) {
	p.t.Helper()
	p.clickAndWait(sel, fmt.Sprintf("clicking %q", sel))
}

// Submit submits the form that formSel matches, as a person does: it clicks
// the form's first enabled submit button (a <button> without a type, a
// button or input of type submit, or an image input, also one outside the
// form that names it with form=), or calls form.requestSubmit() when the
// form has none. It then waits for the navigation as [Page.Click] does, and
// fails the test when none starts, naming the fields that the browser found
// invalid, if any.
func (p *Page) Submit(formSel string) {
	p.t.Helper()
	p.waitElement(formSel)
	p.mu.Lock()
	p.marks++
	mark := fmt.Sprint(p.marks)
	p.mu.Unlock()
	const find = `(sel, mark) => {
		let form = document.querySelector(sel);
		if (form && form.tagName.toLowerCase() !== "form") form = form.form || form.closest("form");
		if (!form) return "error:the selector matches no form, nor an element in one";
		form.setAttribute("data-browsertest-form", mark);
		// form.elements leaves out image inputs, so they are looked up
		// apart, and the first button in document order wins.
		const images = Array.from(document.querySelectorAll('input[type="image"]')).filter(e => e.form === form);
		const button = Array.from(form.elements).concat(images)
			.filter(e => (e.type === "submit" || e.type === "image") && !e.disabled)
			.sort((a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1)[0];
		if (!button) return "none";
		button.setAttribute("data-browsertest-submit", mark);
		return "button";
	}`
	how := p.call(find, formSel, mark)
	desc := fmt.Sprintf("submitting the form %q", formSel)
	var navigated bool
	switch {
	case strings.HasPrefix(how, "error:"):
		p.fatalf("%s: %s", desc, strings.TrimPrefix(how, "error:"))
	case how == "button":
		navigated = p.clickAndWait(fmt.Sprintf(`[data-browsertest-submit="%s"]`, mark), desc)
	default:
		navigated = p.navigate(desc, chromedp.Evaluate[chromedp.Void](
			fmt.Sprintf(`document.querySelector('[data-browsertest-form="%s"]').requestSubmit()`, mark)))
	}
	if !navigated {
		const invalid = `(mark) => {
			const form = document.querySelector('[data-browsertest-form="' + mark + '"]');
			if (!form) return "";
			return Array.from(form.elements).filter(e => e.willValidate && !e.checkValidity())
				.map(e => (e.name || e.id || e.tagName.toLowerCase()) + ": " + e.validationMessage).join("; ");
		}`
		msg := "no navigation started within " + NavigationGrace.String()
		if bad := p.call(invalid, mark); bad != "" {
			msg += "; the browser found invalid fields: " + bad
		}
		p.fatalf("%s: %s", desc, msg)
	}
}

// clickAndWait clicks sel and waits for the navigation, as Click documents.
// It reports whether the page navigated.
func (p *Page) clickAndWait(sel, desc string) bool {
	p.t.Helper()
	p.waitElement(sel)
	return p.navigate(desc, func(ctx context.Context, t *chromedp.Target) (chromedp.Void, error) {
		// The element exists; only its visibility is waited for, and
		// not longer than for an element.
		ectx, cancel := context.WithTimeout(ctx, p.cfg.elementWait)
		defer cancel()
		_, err := chromedp.Click(chromedp.CSS(sel))(ectx, t)
		if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
			err = fmt.Errorf("the element did not become visible within %v", p.cfg.elementWait)
		}
		return chromedp.Void{}, err
	})
}

// navigate runs the action, which may start a navigation, and waits for the
// navigation as Click documents. It reports whether the page navigated.
func (p *Page) navigate(desc string, action chromedp.Action[chromedp.Void]) bool {
	p.t.Helper()
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	p.mu.Lock()
	before := p.nav
	p.mu.Unlock()
	if err := chromedp.Do(ctx, action); err != nil {
		p.fatalf("%s: %s", desc, explain(err, p.cfg.timeout))
	}
	acted := time.Now()
	for {
		p.mu.Lock()
		now, changed := p.nav, p.navChange
		p.mu.Unlock()
		sameDocument := now.loader == before.loader
		switch {
		case !sameDocument && now.loaded:
			return true
		case now.sameDoc != before.sameDoc:
			return true
		case now.started != before.started && now.stopped != before.stopped && sameDocument:
			return true
		case now.started == before.started && sameDocument && time.Since(acted) >= NavigationGrace:
			return false
		}
		wait := time.Until(acted.Add(NavigationGrace))
		if now.started != before.started || !sameDocument || wait <= 0 {
			wait = time.Second
		}
		select {
		case <-changed:
		case <-time.After(wait):
		case <-ctx.Done():
			state := "no new document yet"
			if !sameDocument {
				state = "the new document (" + now.url + ") did not finish loading"
			}
			to := ""
			if now.pending != "" && now.pending != "?" {
				to = " to " + now.pending
			}
			p.fatalf("%s: the navigation%s did not finish within %v: %s", desc, to, p.cfg.timeout, state)
		}
	}
}

// waitElement waits until sel matches an element, up to the element wait.
// An error of the look-up (the page's scripts navigating away in the middle)
// counts as not found yet, except an invalid selector, which fails at once.
func (p *Page) waitElement(sel string) {
	p.t.Helper()
	deadline := time.Now().Add(p.cfg.elementWait)
	for {
		ok, err := p.exists(sel)
		var exc *chromedp.ExceptionError
		switch {
		case ok:
			return
		case errors.As(err, &exc):
			p.fatalf("looking for %q: %v", sel, err)
		case time.Now().After(deadline) && err != nil:
			p.fatalf("no element matches %q (waited %v; the last look failed: %v)", sel, p.cfg.elementWait, err)
		case time.Now().After(deadline):
			p.fatalf("no element matches %q (waited %v)", sel, p.cfg.elementWait)
		}
		time.Sleep(pollInterval)
	}
}

// call runs the JavaScript function fn (the source of a function expression)
// in the page with the JSON encodings of args, and returns its string
// result. Page scripts need not be enabled: DevTools runs it.
func (p *Page) call(fn string, args ...any) string {
	p.t.Helper()
	var b strings.Builder
	b.WriteString("(" + fn + ")(")
	for i, a := range args {
		enc, err := json.Marshal(a)
		if err != nil {
			p.t.Fatalf("browsertest: encoding %v: %v", a, err)
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.Write(enc)
	}
	b.WriteString(")")
	return Get(p, chromedp.Evaluate[string](b.String()))
}

// Text returns the innerText of the element that sel matches: its text as
// rendered, without hidden parts. It waits for the element as Click does.
func (p *Page) Text(sel string) string {
	p.t.Helper()
	p.waitElement(sel)
	return p.call(`(sel) => { const el = document.querySelector(sel); return el ? el.innerText : ""; }`, sel)
}

// HTML returns the outerHTML of the element that sel matches. It waits for
// the element as Click does.
func (p *Page) HTML(sel string) string {
	p.t.Helper()
	p.waitElement(sel)
	return p.call(`(sel) => { const el = document.querySelector(sel); return el ? el.outerHTML : ""; }`, sel)
}

// Exists reports whether sel matches an element now, without waiting. An
// invalid selector fails the test.
func (p *Page) Exists(sel string) bool {
	p.t.Helper()
	ok, err := p.exists(sel)
	if err != nil {
		p.fatalf("looking for %q: %s", sel, explain(err, p.cfg.timeout))
	}
	return ok
}

// exists reports whether sel matches an element now.
func (p *Page) exists(sel string) (bool, error) {
	enc, _ := json.Marshal(sel)
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf("document.querySelector(%s) !== null", enc)))
}

// URL returns the URL of the page's current document, with its fragment.
func (p *Page) URL() string {
	p.t.Helper()
	u, err := p.currentURL()
	if err != nil {
		p.fatalf("reading the URL: %s", explain(err, p.cfg.timeout))
	}
	return u
}

// currentURL asks the browser for the URL of the current history entry,
// which needs no script.
func (p *Page) currentURL() (string, error) {
	ctx, cancel := p.callCtx(p.cfg.timeout)
	defer cancel()
	h, err := chromedp.Call(ctx, page.GetNavigationHistory, cdp.Empty{})
	if err != nil {
		return "", err
	}
	if h.CurrentIndex < 0 || int(h.CurrentIndex) >= len(h.Entries) {
		return "", fmt.Errorf("no current entry in the history of the tab")
	}
	return h.Entries[h.CurrentIndex].URL, nil
}

// Status returns the HTTP status of the response that brought the page's
// current document, or 0 when there was none (about:blank, a document from
// the cache without a response event).
func (p *Page) Status() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.status[p.nav.loader])
}

// Eval evaluates the JavaScript expression js in the page and decodes its
// value, as JSON, into out (a pointer, or nil to ignore the value). A promise
// is awaited. undefined and null leave out unchanged. A thrown exception
// fails the test. It works with NoScript too: DevTools runs js.
func (p *Page) Eval(js string, out any) {
	p.t.Helper()
	raw := Get(p, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if out == nil || len(raw) == 0 {
		return
	}
	if err := json.Unmarshal(raw, out); err != nil {
		p.fatalf("decoding the value of %q (%s) into %T: %v", js, raw, out, err)
	}
}

// Dialogs returns the number of JavaScript dialogs (alert, confirm, prompt,
// beforeunload) that the page opened so far. Each was closed as soon as it
// opened: dismissed (confirm gave false, prompt null), except beforeunload,
// which is accepted.
func (p *Page) Dialogs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dialogs)
}

// DialogMessages returns the dialogs that the page opened so far, each as
// "type: message", such as "alert: hello".
func (p *Page) DialogMessages() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.dialogs...)
}

// ConsoleErrors returns the errors that the page reported so far: calls of
// console.error and console.assert, uncaught exceptions, and the browser's
// own errors (a resource that failed to load, a blocked script), except the
// failure of /favicon.ico, which the browser asks for by itself. An error
// reported during a load is there when Open or Click returns.
func (p *Page) ConsoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.console...)
}

// fatalf fails the test with the message and the state of the page.
func (p *Page) fatalf(format string, args ...any) {
	p.t.Helper()
	p.t.Fatalf("browsertest: %s\n%s", fmt.Sprintf(format, args...), p.diagnose())
}

// diagnose describes the page for a failure: its URL, an excerpt of its
// text, its dialogs and its console errors. It takes at most a few seconds,
// also when the page hangs.
func (p *Page) diagnose() string {
	var b strings.Builder
	ctx, cancel := context.WithTimeout(p.ctx, diagnoseTimeout)
	defer cancel()
	h, err := chromedp.Call(ctx, page.GetNavigationHistory, cdp.Empty{})
	if err == nil && h.CurrentIndex >= 0 && int(h.CurrentIndex) < len(h.Entries) {
		fmt.Fprintf(&b, "  page: %s", h.Entries[h.CurrentIndex].URL)
	} else {
		p.mu.Lock()
		fmt.Fprintf(&b, "  page: %s", p.nav.url)
		p.mu.Unlock()
	}
	if s := p.Status(); s != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", s)
	}
	b.WriteString("\n")
	p.mu.Lock()
	pending := p.nav.pending
	p.mu.Unlock()
	if pending != "" {
		// Chromium holds the commands for the page while a navigation is
		// under way, so reading the text would only wait.
		fmt.Fprintf(&b, "  text: (not read: a navigation is under way)\n")
	} else if text, err := chromedp.Run(ctx, chromedp.Evaluate[string](
		`document.body ? document.body.innerText : (document.documentElement ? document.documentElement.innerText : "")`)); err != nil {
		fmt.Fprintf(&b, "  text: (unavailable: %v)\n", err)
	} else {
		fmt.Fprintf(&b, "  text: %s\n", excerpt(text))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.dialogs) > 0 {
		fmt.Fprintf(&b, "  dialogs: %s\n", strings.Join(p.dialogs, " | "))
	}
	for _, s := range p.problems {
		fmt.Fprintf(&b, "  problem: %s\n", s)
	}
	if n := len(p.console); n > 0 {
		first := max(0, n-5)
		fmt.Fprintf(&b, "  console errors (%d, the last %d): %s\n", n, n-first, strings.Join(p.console[first:], " | "))
	}
	return strings.TrimRight(b.String(), "\n")
}

// excerpt shortens a page's text for a failure message: one line per
// non-empty line of text, at most excerptLen bytes.
func excerpt(text string) string {
	var lines []string
	for l := range strings.SplitSeq(text, "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" {
			lines = append(lines, l)
		}
	}
	s := strings.Join(lines, " / ")
	if s == "" {
		return "(empty)"
	}
	if len(s) > excerptLen {
		cut := excerptLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + " …"
	}
	return s
}
