package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/browsertest"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// TestIgnore: carol ignores dave, whom she shares with: sharing stops,
// his post, comment and like disappear from her pages (not from
// others'), his old notifications go and new ones are not made; /privacy
// lists him, and stopping brings his post back.
func TestIgnore(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	carol, dave := tp.addUser(t, "carol"), tp.addUser(t, "dave")
	tp.addUser(t, "erin")
	public := true
	if _, err := tp.ShareWith(ctx, carol, dave.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	davePost, err := tp.CreatePost(ctx, dave, pod.PostInput{Text: "dave speaking", Public: &public})
	if err != nil {
		t.Fatal(err)
	}
	carolPost, err := tp.CreatePost(ctx, carol, pod.PostInput{Text: "carol speaking", Public: &public})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Interact(ctx, dave, carolPost.GUID, "dave's comment", false); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Interact(ctx, dave, carolPost.GUID, "", true); err != nil {
		t.Fatal(err)
	}
	c := tp.client(t)
	c.signIn("carol")
	if _, n, _ := tp.Store().Notifications(ctx, "carol", false); n == 0 {
		t.Fatal("carol has no notifications from dave to begin with")
	}

	if _, page, _ := c.get("/posts/" + carolPost.GUID); !strings.Contains(page, "dave&#39;s comment") || !strings.Contains(page, "1 like") {
		t.Fatalf("carol's post before she ignores dave lacks his comment or like:\n%s", excerptOf(page))
	}
	if _, page, _ := c.get("/public"); !strings.Contains(page, "dave speaking") {
		t.Fatalf("carol's public stream before she ignores dave lacks his post:\n%s", excerptOf(page))
	}
	if st, _, _ := c.post("/people/ignore", url.Values{"id": {dave.ID}, "ignore": {"1"}}, "/u/dave"); st != http.StatusSeeOther {
		t.Fatalf("ignoring dave: %d", st)
	}
	if _, page, _ := c.get("/public"); strings.Contains(page, "dave speaking") || !strings.Contains(page, "carol speaking") {
		t.Errorf("carol's public stream while she ignores dave:\n%s", excerptOf(page))
	}
	if st, _, _ := c.get("/posts/" + davePost.GUID); st != http.StatusNotFound {
		t.Errorf("dave's post for carol: %d, want 404", st)
	}
	if _, page, _ := c.get("/posts/" + carolPost.GUID); strings.Contains(page, "dave&#39;s comment") || strings.Contains(page, "dave's comment") || strings.Contains(page, "1 like") {
		t.Errorf("carol's post still shows dave's comment or like:\n%s", excerptOf(page))
	}
	if ns, _, _ := tp.Store().Notifications(ctx, "carol", false); len(ns) != 0 {
		t.Errorf("carol's notifications after ignoring dave: %+v", ns)
	}
	if co, err := tp.Store().Contact(ctx, "carol", dave.ID); err == nil && co.Receiving {
		t.Error("carol still shares with dave")
	}
	if _, err := tp.Interact(ctx, dave, carolPost.GUID, "are you there?", false); err != nil {
		t.Fatal(err)
	}
	if ns, _, _ := tp.Store().Notifications(ctx, "carol", false); len(ns) != 0 {
		t.Errorf("a new comment of dave's notified carol: %+v", ns)
	}
	if _, page, _ := c.get("/privacy"); !strings.Contains(page, dave.ID) {
		t.Errorf("/privacy does not list dave:\n%s", excerptOf(page))
	}
	// erin, who does not ignore him, sees everything.
	e := tp.client(t)
	e.signIn("erin")
	if _, page, _ := e.get("/posts/" + carolPost.GUID); !strings.Contains(page, "are you there?") {
		t.Errorf("erin does not see dave's comment:\n%s", excerptOf(page))
	}
	// Nobody ignores themselves; a bad ID changes nothing.
	if st, _, _ := c.post("/people/ignore", url.Values{"id": {carol.ID}, "ignore": {"1"}}, "/privacy"); st != http.StatusUnprocessableEntity {
		t.Errorf("ignoring oneself: %d, want 422", st)
	}
	if st, _, _ := c.post("/people/ignore", url.Values{"id": {"not an id"}, "ignore": {"1"}}, "/privacy"); st != http.StatusUnprocessableEntity {
		t.Errorf("ignoring a non-ID: %d, want 422", st)
	}

	c.post("/people/ignore", url.Values{"id": {dave.ID}, "ignore": {"0"}}, "/privacy")
	if _, page, _ := c.get("/public"); !strings.Contains(page, "dave speaking") {
		t.Errorf("dave's post after carol stopped ignoring him:\n%s", excerptOf(page))
	}
	if ids, _ := tp.Store().Ignored(ctx, "carol"); len(ids) != 0 {
		t.Errorf("carol still ignores %v", ids)
	}
}

// TestBrowserIgnore: in Chromium, carol ignores dave from his page, his
// post leaves her public stream, and she stops from /privacy.
func TestBrowserIgnore(t *testing.T) {
	b := browsertest.New(t)
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	tp.addUser(t, "carol")
	dave := tp.addUser(t, "dave")
	public := true
	if _, err := tp.CreatePost(ctx, dave, pod.PostInput{Text: "dave speaking", Public: &public}); err != nil {
		t.Fatal(err)
	}
	p := b.Page(t)
	signInBrowser(p, tp.URL, "carol")
	p.Open(tp.URL + "u/dave")
	p.Submit(`form.ignore`)
	if !strings.Contains(p.Text("main"), "You ignore them") || strings.Contains(p.Text("main"), "dave speaking") {
		t.Errorf("dave's page after ignoring him:\n%s", p.Text("main"))
	}
	p.Open(tp.URL + "public")
	if strings.Contains(p.Text("main"), "dave speaking") {
		t.Error("dave's post is in carol's public stream while she ignores him")
	}
	p.Open(tp.URL + "user/edit")
	if !p.Exists(`form[action="/user/export"] button`) { // the download itself: TestExportData
		t.Error("the account page has no Download my data button")
	}
	p.Click(`a[href="/privacy"]`)
	if !strings.Contains(p.Text("main"), dave.ID) {
		t.Fatalf("/privacy:\n%s", p.Text("main"))
	}
	p.Submit(`ul.ignored form`)
	p.Open(tp.URL + "public")
	if !strings.Contains(p.Text("main"), "dave speaking") {
		t.Error("dave's post is not back after carol stopped ignoring him")
	}
}
