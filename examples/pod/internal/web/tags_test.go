package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/browsertest"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// TestFollowTag: a public post with a tag carol follows joins her
// stream though she shares with nobody; a limited one never does; she
// stops and it leaves; a non-tag is refused.
func TestFollowTag(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	tp.addUser(t, "carol")
	dave := tp.addUser(t, "dave")
	public, limited := true, false
	if _, err := tp.CreatePost(ctx, dave, pod.PostInput{Text: "sourdough #Baking tips", Public: &public}); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.CreatePost(ctx, dave, pod.PostInput{Text: "secret #baking", Public: &limited, Aspects: []string{"Friends"}}); err != nil {
		t.Fatal(err)
	}
	c := tp.client(t)
	c.signIn("carol")
	if _, page, _ := c.get("/stream"); strings.Contains(page, "sourdough") {
		t.Fatal("dave's post is in carol's stream before she follows #baking")
	}
	if st, _, loc := c.post("/tags/Baking/follow", url.Values{"follow": {"1"}}, "/tags/baking"); st != http.StatusSeeOther || loc != "/tags/baking" {
		t.Fatalf("following #Baking: %d to %q", st, loc)
	}
	_, page, _ := c.get("/stream")
	if !strings.Contains(page, "sourdough") || strings.Contains(page, "secret") || !strings.Contains(page, `href="/tags/baking">#baking</a>`) {
		t.Errorf("carol's stream while she follows #baking:\n%s", excerptOf(page))
	}
	if tags, _ := tp.Store().FollowedTags(ctx, "carol"); len(tags) != 1 || tags[0] != "baking" {
		t.Errorf("followed tags: %v", tags)
	}
	if _, page, _ := c.get("/tags/baking"); !strings.Contains(page, "Stop following #baking") {
		t.Errorf("the tag page does not offer to stop:\n%s", excerptOf(page))
	}
	if st, _, _ := c.post("/tags/"+url.PathEscape("no good!")+"/follow", url.Values{"follow": {"1"}}, "/tags/baking"); st != http.StatusUnprocessableEntity {
		t.Errorf("following a non-tag: %d, want 422", st)
	}
	c.post("/tags/baking/follow", url.Values{"follow": {"0"}}, "/tags/baking")
	if _, page, _ := c.get("/stream"); strings.Contains(page, "sourdough") {
		t.Error("dave's post stays in carol's stream after she stopped following #baking")
	}
	// Signed out, the tag page has no form.
	if _, page, _ := tp.client(t).get("/tags/baking"); strings.Contains(page, "/follow") || !strings.Contains(page, "sourdough") {
		t.Errorf("the tag page signed out:\n%s", excerptOf(page))
	}
	for i := range store.MaxFollowedTags {
		if err := tp.Store().FollowTag(ctx, "carol", "t"+strings.Repeat("x", i), true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tp.FollowTag(ctx, mustUser(t, tp, "carol"), "onemore", true); err == nil {
		t.Errorf("carol follows more than %d tags", store.MaxFollowedTags)
	}
}

func mustUser(t *testing.T, tp *testPod, name string) *store.User {
	t.Helper()
	u, err := tp.Store().UserByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// TestBrowserFollowTag: in Chromium, carol follows #baking from its page
// and finds dave's post in her stream.
func TestBrowserFollowTag(t *testing.T) {
	b := browsertest.New(t)
	tp := startTestPod(t, Config{})
	tp.addUser(t, "carol")
	dave := tp.addUser(t, "dave")
	public := true
	if _, err := tp.CreatePost(context.Background(), dave, pod.PostInput{Text: "sourdough #baking tips", Public: &public}); err != nil {
		t.Fatal(err)
	}
	p := b.Page(t)
	signInBrowser(p, tp.URL, "carol")
	p.Open(tp.URL + "public")
	p.Click(`a[href="/tags/baking"]`)
	p.Submit(`form.follow-tag`)
	if !strings.Contains(p.Text("main"), "Stop following #baking") {
		t.Fatalf("the tag page after following:\n%s", p.Text("main"))
	}
	p.Click(`a[href="/stream"]`)
	if txt := p.Text("main"); !strings.Contains(txt, "sourdough") || !strings.Contains(txt, "Tags you follow: #baking") {
		t.Errorf("carol's stream:\n%s", txt)
	}
}
