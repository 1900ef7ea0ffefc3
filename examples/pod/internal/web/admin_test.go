package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/browsertest"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/salmon"
)

// adminRoutes are the dashboard's pages and actions.
var (
	adminPages   = []string{"/admins/dashboard", "/admins/user_search", "/admins/user_search?q=bob", "/admins/reports", "/admins/pods", "/admins/jobs", "/admins/settings"}
	adminActions = []string{"/admins/users/bob/suspend", "/admins/users/bob/unsuspend", "/admins/users/bob/admin", "/admins/users/bob/unadmin",
		"/admins/users/bob/revoke_sessions", "/admins/users/bob/invitations", "/admins/users/bob/delete",
		"/admins/pods/block", "/admins/pods/unblock", "/admins/pods/retry", "/admins/settings",
		"/admins/jobs/retry", "/admins/jobs/discard", "/admins/jobs/retry_received",
		"/admins/reports/1/delete", "/admins/reports/1/dismiss", "/admins/reports/1/suspend", "/admins/reports/1/block"}
)

// TestAdminAccess: every admin page answers 404 to a signed-out reader
// and to a person who is not an admin, and every admin action 403
// (without a token) or 404 (with one), changing nothing; an admin gets
// the pages.
func TestAdminAccess(t *testing.T) {
	tp := startTestPod(t, Config{})
	tp.addUser(t, "root")
	tp.addUser(t, "bob")
	if err := tp.Store().SetAdmin(context.Background(), "root", true); err != nil {
		t.Fatal(err)
	}
	anon := tp.client(t)
	user := tp.client(t)
	user.signIn("bob")
	for _, path := range adminPages {
		for who, c := range map[string]*client{"signed out": anon, "bob": user} {
			if st, body, _ := c.get(path); st != http.StatusNotFound || strings.Contains(body, "Dashboard") {
				t.Errorf("GET %s %s: %d, want 404", path, who, st)
			}
		}
	}
	for _, path := range adminActions {
		form := url.Values{"host": {"bad.example"}, "n": {"5"}, "registrations": {"closed"}, "name": {"x"}}
		if st, _, _ := user.post(path, form, ""); st != http.StatusForbidden {
			t.Errorf("POST %s by bob without a token: %d, want 403", path, st)
		}
		if st, _, _ := user.post(path, form, "/stream"); st != http.StatusNotFound {
			t.Errorf("POST %s by bob with a token: %d, want 404", path, st)
		}
		if st, _, _ := anon.post(path, form, "/users/sign_in"); st != http.StatusNotFound {
			t.Errorf("POST %s signed out with a token: %d, want 404", path, st)
		}
	}
	ctx := context.Background()
	if u, _ := tp.Store().UserByName(ctx, "bob"); u.Suspended || u.Admin || u.Key == nil {
		t.Errorf("bob after the refused actions: %+v", u)
	}
	if b, _ := tp.Store().Blocked(ctx, "bad.example"); b {
		t.Error("a refused action blocked a pod")
	}
	if log, _ := tp.Store().AuditLog(ctx, 10); len(log) != 0 {
		t.Errorf("refused actions were audited: %v", log)
	}
	root := tp.client(t)
	root.signIn("root")
	for _, path := range adminPages {
		st, body, _ := root.get(path)
		if st != 200 {
			t.Errorf("GET %s as admin: %d", path, st)
		}
		moreCheckPage(t, path, body)
	}
}

// TestAdminActions: what the dashboard does, checked in the page and in
// the database: statistics follow a post, a suspension ends the person's
// session at once, roles, invitations, sessions, deletion, a block drops
// the pod's queued deliveries, settings close registrations; every
// action is in the audit log.
func TestAdminActions(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	tp.addUser(t, "root")
	bob := tp.addUser(t, "bob")
	tp.addUser(t, "carl")
	if err := tp.Store().SetAdmin(ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	root := tp.client(t)
	root.signIn("root")
	_, before, _ := root.get("/admins/dashboard")
	pub := true
	if _, err := tp.CreatePost(ctx, bob, pod.PostInput{Text: "counted", Public: &pub}); err != nil {
		t.Fatal(err)
	}
	_, after, _ := root.get("/admins/dashboard")
	if !strings.Contains(before, `id="stat-posts">0<`) || !strings.Contains(after, `id="stat-posts">1<`) || !strings.Contains(after, `id="stat-users">3<`) {
		t.Errorf("the dashboard's counts do not follow a post")
	}
	bc := tp.client(t)
	bc.signIn("bob")
	if st, _, loc := root.post("/admins/users/bob/suspend", url.Values{}, "/admins/user_search?q=bob"); st != http.StatusSeeOther || !strings.Contains(loc, "done=suspend") {
		t.Fatalf("suspend: %d %s", st, loc)
	}
	if st, _, loc := bc.get("/stream"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/users/sign_in") {
		t.Errorf("bob's session after his suspension: %d %s", st, loc)
	}
	if u, _ := tp.Store().UserByName(ctx, "bob"); !u.Suspended {
		t.Error("bob is not suspended in the store")
	}
	root.post("/admins/users/bob/unsuspend", url.Values{}, "/admins/user_search")
	root.post("/admins/users/carl/admin", url.Values{}, "/admins/user_search")
	if u, _ := tp.Store().UserByName(ctx, "carl"); !u.Admin {
		t.Error("carl is not an admin")
	}
	root.post("/admins/users/carl/invitations", url.Values{"n": {"7"}}, "/admins/user_search")
	if ins, _ := tp.Store().Invitations(ctx, "carl", 0); len(ins) != 7 {
		t.Errorf("carl has %d invitations, want 7", len(ins))
	}
	if st, _, _ := root.post("/admins/users/root/suspend", url.Values{}, "/admins/user_search"); st != http.StatusUnprocessableEntity {
		t.Errorf("an admin suspending themselves: %d, want 422", st)
	}
	cc := tp.client(t)
	cc.signIn("carl")
	root.post("/admins/users/carl/revoke_sessions", url.Values{}, "/admins/user_search")
	if st, _, _ := cc.get("/stream"); st != http.StatusSeeOther {
		t.Errorf("carl's session after revoke: %d", st)
	}
	// Deleting needs the box ticked; without it nothing changes.
	if st, _, _ := root.post("/admins/users/carl/delete", url.Values{}, "/admins/user_search"); st != http.StatusUnprocessableEntity {
		t.Errorf("deleting an account without confirming: %d, want 422", st)
	}
	if u, _ := tp.Store().UserByName(ctx, "carl"); u.Suspended || u.Key == nil {
		t.Errorf("carl after an unconfirmed deletion: suspended %v, key %v", u.Suspended, u.Key != nil)
	}
	root.post("/admins/users/carl/delete", url.Values{"confirm": {"yes"}}, "/admins/user_search")
	if u, _ := tp.Store().UserByName(ctx, "carl"); !u.Suspended || u.Key != nil {
		t.Errorf("carl after deletion: suspended %v, key %v", u.Suspended, u.Key != nil)
	}
	// A block drops what is queued for the pod.
	ds := []salmon.Delivery{{URL: "http://blocked.example/receive/public", ContentType: "application/magic-envelope+xml", Body: []byte("<x/>")}}
	if err := tp.Store().Do(ctx, func(tx *store.Tx) error { return store.Enqueue(ctx, tx, "status_message:test", ds) }); err != nil {
		t.Fatal(err)
	}
	if st, _, _ := root.post("/admins/pods/block", url.Values{"host": {"https://Blocked.example/"}}, "/admins/pods"); st != http.StatusSeeOther {
		t.Fatalf("block: %d", st)
	}
	if b, _ := tp.Store().Blocked(ctx, "blocked.example"); !b {
		t.Error("the pod is not blocked")
	}
	if n, _ := tp.Store().Rows(ctx, "outbox"); n != 0 {
		t.Errorf("%d deliveries queued after the block, want 0", n)
	}
	if _, page, _ := root.get("/admins/pods"); !strings.Contains(page, "blocked.example") || !strings.Contains(page, ">blocked<") {
		t.Errorf("the pods page after the block:\n%s", excerptOf(page))
	}
	// Settings: new people get the chosen aspects and share with root.
	if st, _, _ := root.post("/admins/settings", url.Values{"name": {"Our Pod"}, "registrations": {"open"},
		"aspects": {"Friends\r\nNeighbours"}, "autofollow": {"root"}}, "/admins/settings"); st != http.StatusSeeOther {
		t.Fatalf("settings: %d", st)
	}
	if _, page, _ := root.get("/admins/settings"); !strings.Contains(page, "Friends\nNeighbours</textarea>") || !strings.Contains(page, `value="root"`) {
		t.Errorf("the settings page does not show the saved defaults:\n%s", excerptOf(page))
	}
	anon := tp.client(t)
	if st, _, loc := anon.post("/users/sign_up", url.Values{"username": {"dora"}, "password": {"password-dora"}, "password_confirmation": {"password-dora"}}, "/users/sign_up"); st != http.StatusSeeOther || loc != "/stream" {
		t.Fatalf("sign-up: %d %s", st, loc)
	}
	if c, err := tp.Store().Contact(ctx, "root", "dora@"+tp.Domain()); err != nil || !c.Sharing {
		t.Errorf("root's contact dora after she joined: %+v, %v", c, err)
	}
	if as, _ := tp.Store().Aspects(ctx, "dora"); len(as) != 2 || as[1].Name != "Neighbours" {
		t.Errorf("dora's aspects: %+v", as)
	}
	if st, body, _ := root.post("/admins/settings", url.Values{"registrations": {"open"}, "aspects": {"Friends"}, "autofollow": {"nobody"}}, "/admins/settings"); st != http.StatusUnprocessableEntity || !strings.Contains(body, "no local account is named") {
		t.Errorf("an unknown autofollow account: %d", st)
	}
	// Closed registrations refuse sign-up; the name shows.
	if st, _, _ := root.post("/admins/settings", url.Values{"name": {"Our Pod"}, "registrations": {"closed"}, "rules": {"Be kind."},
		"aspects": {"Friends"}, "autofollow": {""}}, "/admins/settings"); st != http.StatusSeeOther {
		t.Fatalf("settings: %d", st)
	}
	anon = tp.client(t)
	if st, body, _ := anon.get("/users/sign_up"); st != http.StatusForbidden || !strings.Contains(body, "Our Pod") {
		t.Errorf("sign-up after closing registrations: %d", st)
	}
	if _, body, _ := anon.get("/"); !strings.Contains(body, "Be kind.") {
		t.Error("the front page lacks the rules")
	}
	if st, _, _ := root.post("/admins/settings", url.Values{"registrations": {"everyone"}}, "/admins/settings"); st != http.StatusUnprocessableEntity {
		t.Errorf("an unknown registration mode: %d", st)
	}
	log, err := tp.Store().AuditLog(ctx, 50)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range log {
		if e.Actor != "root" {
			t.Errorf("audit entry by %q", e.Actor)
		}
		actions = append(actions, e.Action+" "+e.Target)
	}
	for _, want := range []string{"user suspend bob", "user unsuspend bob", "user admin carl", "user invitations carl",
		"user revoke_sessions carl", "user delete carl", "pod block blocked.example", "settings "} {
		if !strings.Contains(strings.Join(actions, "\n"), want) {
			t.Errorf("the audit log lacks %q: %v", want, actions)
		}
	}
	if _, page, _ := root.get("/admins/dashboard"); !strings.Contains(page, "pod block") {
		t.Error("the dashboard does not show the audit log")
	}
}

// TestBrowserAdmin: the podmin's dashboard in Chromium: statistics, a
// suspension, a block and closing registrations, each seen in the page
// and in the database; screenshots of each page.
func TestBrowserAdmin(t *testing.T) {
	b := browsertest.New(t)
	tp := startTestPod(t, Config{Name: "Pod A"})
	ctx := context.Background()
	tp.addUser(t, "root")
	tp.addUser(t, "bob")
	if err := tp.Store().SetAdmin(ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	// A public post from another pod, reported by bob.
	e := startTestPod(t, Config{})
	eve := e.addUser(t, "eve")
	root, _ := tp.Store().UserByName(ctx, "root")
	if _, err := tp.ShareWith(ctx, root, eve.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "root's sharing on eve's pod", func() bool { c, err := e.Store().Contact(ctx, "eve", root.ID); return err == nil && c.Sharing })
	pub := true
	spam, err := e.CreatePost(ctx, eve, pod.PostInput{Text: "buy cheap things", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "eve's post on pod A", func() bool { _, err := store.GetPost(ctx, tp.Store(), spam.GUID); return err == nil })
	if err := tp.Store().AddReport(ctx, "bob", "Post", spam.GUID, "spam"); err != nil {
		t.Fatal(err)
	}

	p := b.Page(t)
	signInBrowser(p, tp.URL, "root")
	p.Click(`a[href="/admins/dashboard"]`)
	if got := p.Text("#stat-users"); got != "2" {
		t.Errorf("users on the dashboard: %q", got)
	}
	if got := p.Text("#stat-posts"); got != "0" {
		t.Errorf("local posts on the dashboard before bob posts: %q", got)
	}
	// bob, in his own browser, posts; the dashboard counts it.
	bp := b.Incognito(t).Page(t)
	signInBrowser(bp, tp.URL, "bob")
	bp.Fill("#text", "bob was here")
	check(bp, `input[name=visibility][value=public]`)
	bp.Submit(`.publisher form`)
	p.Open(tp.URL + "admins/dashboard")
	if got := p.Text("#stat-posts"); got != "1" {
		t.Errorf("local posts on the dashboard after bob posted: %q", got)
	}
	if st, err := tp.Store().Stats(ctx); err != nil || st.LocalPosts != 1 {
		t.Errorf("stats in the store: %+v, %v", st, err)
	}
	p.Screenshot("admin-dashboard")
	p.Open(tp.URL + "admins/reports")
	if !strings.Contains(p.Text("main"), "buy cheap things") {
		t.Errorf("the reports page:\n%s", p.Text("main"))
	}
	p.Screenshot("admin-reports")
	p.Submit(`form[action$="/delete"]`)
	if _, err := store.GetPost(ctx, tp.Store(), spam.GUID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the reported remote post is still on pod A: %v", err)
	}
	if _, err := store.GetPost(ctx, e.Store(), spam.GUID); err != nil {
		t.Errorf("the remote post is gone from its own pod too: %v", err)
	}
	if !strings.Contains(p.Text("main"), "deleted") {
		t.Errorf("the report after deletion:\n%s", p.Text("main"))
	}
	p.Open(tp.URL + "admins/user_search?q=bob")
	p.Submit(`form[action="/admins/users/bob/suspend"]`)
	if !strings.Contains(p.Text("#account-bob"), "suspended") {
		t.Errorf("bob's account after suspension: %s", p.Text("#account-bob"))
	}
	if u, _ := tp.Store().UserByName(ctx, "bob"); !u.Suspended {
		t.Error("bob is not suspended in the store")
	}
	// bob's session stops at once: his next page is the sign-in form.
	bp.Open(tp.URL + "stream")
	if !strings.HasSuffix(strings.SplitN(bp.URL(), "?", 2)[0], "/users/sign_in") || bp.Exists(`.publisher form`) {
		t.Errorf("bob after his suspension is at %s", bp.URL())
	}
	p.Screenshot("admin-accounts")
	// Destructive buttons are drawn in red; deleting an account asks for
	// a ticked box, which the browser enforces before anything is sent.
	var red []string
	p.Eval(`Array.from(document.querySelectorAll("#account-bob button")).filter(b => getComputedStyle(b).color === "rgb(161, 32, 32)").map(b => b.textContent)`, &red)
	if !slices.Equal(red, []string{"Delete account"}) {
		t.Errorf("red buttons on bob's suspended account: %q, want only Delete account", red)
	}
	var valid bool
	p.Eval(`document.querySelector('form[action="/admins/users/bob/delete"]').checkValidity()`, &valid)
	if valid {
		t.Error("the account deletion form is valid with its box unticked")
	}
	check(p, "#confirm-bob")
	p.Submit(`form[action="/admins/users/bob/delete"]`)
	if got := p.Text("#account-bob"); !strings.Contains(got, "deleted") {
		t.Errorf("bob's account after deletion: %s", got)
	}
	if u, _ := tp.Store().UserByName(ctx, "bob"); u.Key != nil {
		t.Error("bob's key is still in the store after the deletion")
	}
	p.Open(tp.URL + "admins/pods")
	p.Fill("#block-host", "spam.example")
	p.Submit(`form[action="/admins/pods/block"]`)
	if !strings.Contains(p.Text("main"), "spam.example") {
		t.Errorf("the pods page after a block:\n%s", p.Text("main"))
	}
	if blocked, _ := tp.Store().Blocked(ctx, "spam.example"); !blocked {
		t.Error("spam.example is not blocked in the store")
	}
	// eve's pod goes down: root's next post waits in the queue and
	// fails; once the pod is back, "Retry now" delivers it.
	eveHost := strings.TrimSuffix(strings.TrimPrefix(e.URL, "http://"), "/")
	e.down.Store(true)
	p.Open(tp.URL + "stream")
	p.Fill("#text", "while eve's pod was down")
	check(p, `input[name=visibility][value=public]`)
	p.Submit(`.publisher form`)
	var down store.PodHealth
	waitUntil(t, "failed deliveries to eve's pod", func() bool {
		down = podHealth(t, tp, eveHost)
		return down.Failures >= 4 && down.QueueDepth == 1
	})
	p.Open(tp.URL + "admins/jobs")
	if !strings.Contains(p.Text("main"), eveHost) || !strings.Contains(p.Text("main"), "503") {
		t.Errorf("the jobs page does not show the delivery waiting for %s:\n%s", eveHost, p.Text("main"))
	}
	p.Screenshot("admin-jobs")
	// The wide table stays inside the page: nothing scrolls sideways.
	var widths [2]int
	p.Eval(`[document.documentElement.scrollWidth, document.documentElement.clientWidth]`, &widths)
	if widths[0] > widths[1] {
		t.Errorf("the jobs page is %d px wide in a %d px window", widths[0], widths[1])
	}
	var dangers []string
	p.Eval(`Array.from(document.querySelectorAll("table.jobs button.danger")).map(b => b.textContent)`, &dangers)
	if !slices.Equal(dangers, []string{"Discard", "Discard all to this pod"}) {
		t.Errorf("destructive buttons on the jobs page: %q", dangers)
	}
	p.Open(tp.URL + "admins/pods")
	if row := p.Text(`tr[id="pod-` + eveHost + `"]`); !strings.Contains(row, "503") {
		t.Errorf("eve's pod on the pods page while it is down lacks the last error: %q", row)
	}
	p.Screenshot("admin-pods")
	e.down.Store(false)
	p.Submit(`form[action="/admins/pods/retry"]`)
	waitUntil(t, "root's post on eve's pod", func() bool {
		n, _ := e.Store().Rows(ctx, "posts")
		return n == 2 && podHealth(t, tp, eveHost).QueueDepth == 0
	})
	waitUntil(t, "eve's pod's NodeInfo", func() bool { return podHealth(t, tp, eveHost).Software != "" })
	p.Open(tp.URL + "admins/pods")
	if row := p.Text(`tr[id="pod-` + eveHost + `"]`); !strings.Contains(row, "go-diaspora-pod 0.1") || !strings.Contains(row, "federating") {
		t.Errorf("eve's pod on the pods page after the retry: %q", row)
	}
	if h := podHealth(t, tp, eveHost); h.Failures != 0 || h.LastSuccess == "" {
		t.Errorf("eve's pod after the retry: %+v", h)
	}
	p.Open(tp.URL + "admins/settings")
	check(p, "#reg-closed")
	p.Fill("#autofollow", "root")
	p.Submit(`form[action="/admins/settings"]`)
	if v, err := tp.Autofollow(ctx); err != nil || v != "root" {
		t.Errorf("autofollow after saving the settings: %q, %v", v, err)
	}
	if !p.Exists(`#reg-closed:checked`) {
		t.Error("the settings page does not show closed registrations")
	}
	p.Screenshot("admin-settings")
	if v, ok, _ := tp.Store().Setting(ctx, settingRegistrations); !ok || v != RegistrationsClosed {
		t.Errorf("registrations setting %q", v)
	}
	anon := b.Incognito(t).Page(t)
	anon.Open(tp.URL + "users/sign_up")
	if anon.Status() != http.StatusForbidden || anon.Exists(`form[action="/users/sign_up"]`) {
		t.Errorf("sign-up after closing registrations: %d", anon.Status())
	}
	keepScreenshots(t, p)
}

// TestAdminReports: a report made in the web interface reaches the
// admin's page; suspending a local author, refusing to block this pod,
// deleting local content (a retraction) and dismissing work and are
// audited.
func TestAdminReports(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	tp.addUser(t, "root")
	bob := tp.addUser(t, "bob")
	tp.addUser(t, "carl")
	if err := tp.Store().SetAdmin(ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	pub := true
	p1, _ := tp.CreatePost(ctx, bob, pod.PostInput{Text: "first bad post", Public: &pub})
	p2, _ := tp.CreatePost(ctx, bob, pod.PostInput{Text: "second post", Public: &pub})
	cc := tp.client(t)
	cc.signIn("carl")
	for _, g := range []string{p1.GUID, p2.GUID} {
		if st, body, _ := cc.post("/posts/"+g+"/report", url.Values{"reason": {"not nice"}}, "/posts/"+g); st != 200 || !strings.Contains(body, "podmin will look") {
			t.Fatalf("report: %d", st)
		}
	}
	root := tp.client(t)
	root.signIn("root")
	_, page, _ := root.get("/admins/reports")
	if !strings.Contains(page, "first bad post") || !strings.Contains(page, "not nice") {
		t.Fatalf("the reports page:\n%s", excerptOf(page))
	}
	rs, _ := tp.Store().Reports(ctx)
	ids := map[string]string{}
	for _, r := range rs {
		ids[r.TargetGUID] = strconv.FormatInt(r.ID, 10)
	}
	if st, _, _ := root.post("/admins/reports/"+ids[p1.GUID]+"/block", url.Values{}, "/admins/reports"); st != http.StatusUnprocessableEntity {
		t.Errorf("blocking this pod's own author: %d, want 422", st)
	}
	if st, _, _ := root.post("/admins/reports/"+ids[p1.GUID]+"/delete", url.Values{}, "/admins/reports"); st != http.StatusSeeOther {
		t.Fatalf("delete: %d", st)
	}
	if _, err := store.GetPost(ctx, tp.Store(), p1.GUID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the deleted post: %v", err)
	}
	root.post("/admins/reports/"+ids[p2.GUID]+"/suspend", url.Values{}, "/admins/reports")
	if u, _ := tp.Store().UserByName(ctx, "bob"); !u.Suspended {
		t.Error("bob is not suspended")
	}
	root.post("/admins/reports/"+ids[p2.GUID]+"/dismiss", url.Values{}, "/admins/reports")
	states := map[string]string{}
	rs, _ = tp.Store().Reports(ctx)
	for _, r := range rs {
		states[r.TargetGUID] = r.State
	}
	if states[p1.GUID] != "deleted" || states[p2.GUID] != "dismissed" {
		t.Errorf("report states %v", states)
	}
	log, _ := tp.Store().AuditLog(ctx, 10)
	if len(log) != 3 || log[0].Action != "report dismiss" || log[1].Action != "report suspend" || log[2].Action != "report delete" {
		t.Errorf("audit log %+v", log)
	}
}

// TestAdminJobs: the jobs page lists queued deliveries with their pod's
// last error; one is discarded, a pod's are retried and then discarded,
// each audited.
func TestAdminJobs(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	tp.addUser(t, "root")
	if err := tp.Store().SetAdmin(ctx, "root", true); err != nil {
		t.Fatal(err)
	}
	// A pod that refuses connections: its deliveries fail and wait.
	down := "http://127.0.0.1:1/receive/public"
	ds := []salmon.Delivery{{URL: down, ContentType: "application/magic-envelope+xml", Body: []byte("<a/>")},
		{URL: down, ContentType: "application/magic-envelope+xml", Body: []byte("<b/>")},
		{URL: down, ContentType: "application/magic-envelope+xml", Body: []byte("<c/>")}}
	if err := tp.Store().Do(ctx, func(tx *store.Tx) error { return store.Enqueue(ctx, tx, "status_message:test", ds) }); err != nil {
		t.Fatal(err)
	}
	tp.WakeOutbox()
	waitUntil(t, "a failed attempt", func() bool {
		out, _, _, err := tp.Store().Jobs(ctx, 10)
		return err == nil && len(out) == 3 && out[0].Attempts > 0
	})
	root := tp.client(t)
	root.signIn("root")
	_, page, _ := root.get("/admins/jobs")
	if !strings.Contains(page, "127.0.0.1:1") || !strings.Contains(page, "status_message:test") {
		t.Fatalf("the jobs page:\n%s", excerptOf(page))
	}
	moreCheckPage(t, "/admins/jobs", page)
	out, _, _, _ := tp.Store().Jobs(ctx, 10)
	var id int64
	waitUntil(t, "an unleased delivery", func() bool {
		out, _, _, _ = tp.Store().Jobs(ctx, 10)
		for _, j := range out {
			if !j.Leased {
				id = j.ID
				return true
			}
		}
		return false
	})
	if st, _, _ := root.post("/admins/jobs/discard", url.Values{"id": {strconv.FormatInt(id, 10)}}, "/admins/jobs"); st != http.StatusSeeOther {
		t.Fatalf("discard one: %d", st)
	}
	if st, _, _ := root.post("/admins/jobs/retry", url.Values{"host": {"127.0.0.1:1"}}, "/admins/jobs"); st != http.StatusSeeOther {
		t.Errorf("retry a pod's: %d", st)
	}
	waitUntil(t, "the pod's deliveries discarded", func() bool {
		root.post("/admins/jobs/discard", url.Values{"host": {"127.0.0.1:1"}}, "/admins/jobs")
		n, _ := tp.Store().Rows(ctx, "outbox")
		return n == 0
	})
	if n, _ := tp.Store().Rows(ctx, "outbox_bodies"); n != 0 {
		t.Errorf("%d bodies left behind", n)
	}
	log, _ := tp.Store().AuditLog(ctx, 20)
	var actions []string
	for _, e := range log {
		actions = append(actions, e.Action)
	}
	got := strings.Join(actions, ",")
	for _, want := range []string{"jobs discard", "jobs retry"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit log %v lacks %q", actions, want)
		}
	}
}

// podHealth returns the health of one pod known to tp.
func podHealth(t *testing.T, tp *testPod, host string) store.PodHealth {
	t.Helper()
	hs, err := tp.Store().Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Host == host {
			return h
		}
	}
	return store.PodHealth{}
}
