package web

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/browsertest"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// These tests drive a real headless Chromium (package browsertest; they
// skip without one unless POD_REQUIRE_BROWSER=1, as .ci/run sets it).
// POD_SCREENSHOTS=DIR keeps their screenshots in DIR (docs/screenshots
// holds some).

// waitUntil polls cond for up to 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// postGUID is the GUID in a /posts/{guid} URL.
func postGUID(t *testing.T, u string) string {
	t.Helper()
	m := regexp.MustCompile(`/posts/([0-9a-f]+)`).FindStringSubmatch(u)
	if m == nil {
		t.Fatalf("not a post URL: %s", u)
	}
	return m[1]
}

// TestBrowserPerson walks the web interface as a person would, in
// Chromium: sign up with an invitation code, post publicly and to an
// aspect and see both in the stream, comment, like, vote, reshare,
// delete; then, with a second pod on loopback, find a remote person by
// diaspora* ID, share with them, see their public post arrive, comment on
// it, and see the notification count change when they share back.
func TestBrowserPerson(t *testing.T) {
	b := browsertest.New(t)
	a := startTestPod(t, Config{Name: "Pod A"})
	a.addUser(t, "alice")

	// alice signs in and hands out an invitation.
	ap := b.Page(t)
	ap.Open(a.URL)
	ap.Screenshot("home-signed-out")
	ap.Click(`a[href="/users/sign_in"]`)
	ap.Fill("#username", "alice")
	ap.Fill("#password", "password-alice")
	ap.Submit(`form[action="/users/sign_in"]`)
	if !strings.HasSuffix(ap.URL(), "/stream") {
		t.Fatalf("after sign-in: %s", ap.URL())
	}
	ap.Open(a.URL + "users/invitations")
	ap.Screenshot("invitations")
	var invite string
	ap.Eval(`document.querySelector("a.invite-link").getAttribute("href")`, &invite)

	// carol, in a profile of her own, signs up with it.
	cp := b.Incognito(t).Page(t)
	cp.Open(strings.TrimSuffix(a.URL, "/") + invite)
	cp.Screenshot("sign-up")
	cp.Fill("#username", "carol")
	cp.Fill("#password", "password-carol")
	cp.Fill("#password_confirmation", "password-carol")
	cp.Submit(`form[action="/users/sign_up"]`)
	if !strings.HasSuffix(cp.URL(), "/stream") {
		t.Fatalf("after sign-up: %s\n%s", cp.URL(), cp.Text("main"))
	}
	carol, err := a.Store().UserByName(context.Background(), "carol")
	if err != nil {
		t.Fatal(err)
	}

	// A public post and one to all aspects; both in the stream.
	cp.Fill("#text", "Hello **world** from carol #introduction")
	check(cp, `input[name=visibility][value=public]`)
	cp.Submit(`.publisher form`)
	cp.Fill("#text", "Only for my aspects")
	cp.Submit(`.publisher form`)
	stream := cp.Text("main")
	if !strings.Contains(stream, "Hello world from carol") || !strings.Contains(stream, "Only for my aspects") {
		t.Fatalf("the stream lacks the two posts:\n%s", stream)
	}
	if !strings.Contains(cp.HTML(".post:nth-of-type(2) .text"), "<strong>world</strong>") && !strings.Contains(cp.HTML("main"), "<strong>world</strong>") {
		t.Error("Markdown was not rendered")
	}
	cp.Screenshot("stream")

	// Open the public post, comment, like.
	cp.Click(`article.post:has(a[href="/tags/introduction"]) a.when`)
	pubGUID := postGUID(t, cp.URL())
	cp.Fill("#comment-text", "a comment of my own")
	cp.Submit(`form[action$="/comments"]`)
	cp.Submit(`form[action$="/likes"]`)
	if txt := cp.Text("main"); !strings.Contains(txt, "a comment of my own") || !strings.Contains(txt, "1 like") {
		t.Fatalf("the post page after comment and like:\n%s", txt)
	}
	cp.Screenshot("post")

	// A poll: vote in it.
	cp.Open(a.URL + "stream")
	cp.Fill("#text", "Tea or coffee?")
	check(cp, `input[name=visibility][value=public]`)
	openDetails(cp, `.publisher details`)
	cp.Fill("#poll_question", "Which one?")
	cp.Fill("#poll_answers", "Tea\nCoffee")
	cp.Fill(`input[name=return_to]`, "")
	cp.Submit(`.publisher form`)
	check(cp, `.poll input[type=radio]`)
	cp.Submit(`.poll form`)
	if txt := cp.Text(".poll"); !strings.Contains(txt, "(1)") {
		t.Errorf("the poll after a vote: %s", txt)
	}

	// alice reshares carol's public post; carol deletes her poll.
	ap.Open(a.URL + "posts/" + pubGUID)
	ap.Submit(`form[action$="/reshares"]`)
	if !strings.Contains(ap.Text("main"), "Reshared") {
		t.Errorf("after reshare: %s", ap.Text("main"))
	}
	pollGUID := postGUID(t, cp.URL())
	cp.Submit(`form[action$="/delete"]`)
	if _, err := a.Store().PostView(context.Background(), carol, pollGUID); err == nil {
		t.Error("the deleted poll post is still there")
	}

	// A second pod with bob.
	bp := startTestPod(t, Config{Name: "Pod B"})
	bob := bp.addUser(t, "bob")
	cp.Open(a.URL + "stream")
	cp.Fill("#people-q", bob.ID)
	cp.Submit(`form.search`)
	if !strings.Contains(cp.Text("main"), bob.ID) {
		t.Fatalf("bob's page on pod A:\n%s", cp.Text("main"))
	}
	check(cp, `form.share input[value="Friends"]`)
	cp.Submit(`form.share`)
	if !strings.Contains(cp.Text(".sharing-state"), "You share with them") {
		t.Errorf("after sharing: %s", cp.Text(".sharing-state"))
	}
	cp.Screenshot("person")

	// bob shares back and posts publicly; the post and a notification
	// reach carol.
	ctx := context.Background()
	if _, err := bp.ShareWith(ctx, bob, carol.ID, []string{"Friends"}, true); err != nil {
		t.Fatal(err)
	}
	pub := true
	bpost, err := bp.CreatePost(ctx, bob, pod.PostInput{Text: "bob says hello from pod B", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "carol's sharing on pod B", func() bool {
		c, err := bp.Store().Contact(ctx, "bob", carol.ID)
		return err == nil && c.Sharing
	})
	waitUntil(t, "bob's post on pod A", func() bool { _, err := a.Store().PostView(ctx, carol, bpost.GUID); return err == nil })
	cp.Open(a.URL + "stream")
	if !strings.Contains(cp.Text("main"), "bob says hello from pod B") {
		t.Errorf("bob's post is not in carol's stream:\n%s", cp.Text("main"))
	}
	if !cp.Exists("#unread-count") {
		t.Errorf("no unread count after bob started sharing:\n%s", cp.Text("header"))
	}
	cp.Open(a.URL + "posts/" + bpost.GUID)
	cp.Fill("#comment-text", "hello back from pod A")
	cp.Submit(`form[action$="/comments"]`)
	waitUntil(t, "carol's comment on pod B", func() bool {
		v, err := bp.Store().PostView(ctx, bob, bpost.GUID)
		return err == nil && len(v.Comments) == 1 && v.Comments[0].Text == "hello back from pod A"
	})
	cp.Screenshot("remote-post")

	// A conversation with bob across the pods: bob's answer comes back.
	cp.Open(a.URL + "conversations")
	cp.Fill("#recipients", bob.ID)
	cp.Fill("#subject", "Lunch?")
	cp.Fill("#text", "Shall we have lunch, bob?")
	cp.Submit(`form[action="/conversations"]`)
	convURL := cp.URL()
	convGUID := convURL[strings.LastIndex(convURL, "/")+1:]
	waitUntil(t, "the conversation on pod B", func() bool { _, err := bp.Store().Conversation(ctx, bob, convGUID); return err == nil })
	if _, err := bp.SendMessage(ctx, bob, convGUID, "Yes, at noon!"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "bob's answer on pod A", func() bool {
		c, err := a.Store().Conversation(ctx, carol, convGUID)
		return err == nil && len(c.Messages) == 2
	})
	cp.Open(convURL)
	if txt := cp.Text("main"); !strings.Contains(txt, "Yes, at noon!") || !strings.Contains(txt, "Shall we have lunch") {
		t.Errorf("the conversation page:\n%s", txt)
	}
	cp.Screenshot("conversation")

	// The notifications page lists bob's sharing; marking them read
	// clears the count.
	cp.Open(a.URL + "notifications")
	if !strings.Contains(cp.Text("main"), bob.ID) {
		t.Errorf("the notifications page:\n%s", cp.Text("main"))
	}
	cp.Screenshot("notifications")
	cp.Submit(`form[action="/notifications/read"]`)
	if cp.Exists("#unread-count") {
		t.Error("the unread count stays after marking all read")
	}

	// carol edits her profile; pod B learns her new name.
	cp.Open(a.URL + "profile/edit")
	cp.Fill("#full_name", "Carol Example")
	cp.Fill("#bio", "Likes *tea*.")
	cp.Fill("#location", "Lisbon")
	cp.Submit(`form[action="/profile/edit"]`)
	cp.Open(a.URL + "u/carol")
	if txt := cp.Text(".profile"); !strings.Contains(txt, "Carol Example") || !strings.Contains(txt, "Lisbon") {
		t.Errorf("carol's page after editing the profile:\n%s", txt)
	}
	waitUntil(t, "carol's new name on pod B", func() bool {
		p, err := bp.Store().Profile(ctx, carol.ID, false)
		return err == nil && p.FullName == "Carol Example"
	})
	if n := cp.Dialogs(); n != 0 {
		t.Errorf("%d dialogs opened", n)
	}
	phone := b.Incognito(t).Page(t, browsertest.Phone)
	phone.Open(a.URL + "posts/" + bpost.GUID)
	phone.Screenshot("post-phone")
	keepScreenshots(t, cp)
}

// TestBrowserHostilePost: a hostile public post received over federation
// is shown in the browser and nothing in it runs: a canary the payloads
// would set stays undefined, no dialog opens, and the page stays usable.
func TestBrowserHostilePost(t *testing.T) {
	b := browsertest.New(t)
	a := startTestPod(t, Config{})
	carol := a.addUser(t, "carol")
	e := startTestPod(t, Config{})
	eve := e.addUser(t, "eve")
	ctx := context.Background()
	if _, err := a.ShareWith(ctx, carol, eve.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "carol's sharing on eve's pod", func() bool {
		c, err := e.Store().Contact(ctx, "eve", carol.ID)
		return err == nil && c.Sharing
	})
	hostile := strings.Join([]string{
		`<script>window.canary = 1; alert(1)</script>`,
		`<img src=x onerror="window.canary = 2; alert(2)">`,
		`[click me](javascript:window.canary=3)`,
		`[data](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)`,
		`<svg><script>window.canary = 4</script></svg>`,
		`<div style="background:url(javascript:window.canary=5)">styled</div>`,
		`<iframe src="javascript:window.canary=6"></iframe>`,
		`![x](javascript:window.canary=7)`,
		strings.Repeat(">", 2000) + " deep",
		strings.Repeat("- ", 1000) + "nested",
		"@{<b>Mallory</b>; mallory@evil.example} #tag<script>",
		strings.Repeat("long text ", 5500),
	}, "\n\n")
	pub := true
	hp, err := e.CreatePost(ctx, eve, pod.PostInput{Text: hostile, Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the hostile post on pod A", func() bool { _, err := a.Store().PostView(ctx, carol, hp.GUID); return err == nil })
	for _, noScript := range []bool{false, true} {
		var opts []browsertest.PageOption
		if noScript {
			opts = append(opts, browsertest.NoScript)
		}
		p := b.Incognito(t).Page(t, opts...)
		signInBrowser(p, a.URL, "carol")
		p.Open(a.URL + "posts/" + hp.GUID)
		var canary string
		p.Eval(`typeof window.canary`, &canary)
		if canary != "undefined" {
			t.Errorf("the canary is %s: something in the post ran", canary)
		}
		if n := p.Dialogs(); n != 0 {
			t.Errorf("%d dialogs opened: %v", n, p.DialogMessages())
		}
		var bad int
		p.Eval(`document.querySelectorAll("main script, main iframe, main svg, main [onerror], main [style], main a[href^='javascript'], main a[href^='data'], main img[src^='javascript']").length`, &bad)
		if bad != 0 {
			t.Errorf("%d dangerous elements in the page", bad)
		}
		// Still usable: comment on it.
		p.Fill("#comment-text", fmt.Sprintf("still usable (no script: %v)", noScript))
		p.Submit(`form[action$="/comments"]`)
		if !strings.Contains(p.Text("#comments"), "still usable") {
			t.Errorf("commenting under the hostile post failed:\n%s", p.Text("#comments"))
		}
		if !noScript {
			p.Screenshot("hostile-post")
		}
	}
}

// check checks a radio button or checkbox, as a click would.
// signInBrowser signs name in on the pod at base through its sign-in form
// (password "password-NAME", as addUser makes it).
func signInBrowser(p *browsertest.Page, base, name string) {
	p.Open(base + "users/sign_in")
	p.Fill("#username", name)
	p.Fill("#password", "password-"+name)
	p.Submit(`form[action="/users/sign_in"]`)
}

func check(p *browsertest.Page, sel string) {
	p.Eval(`(function(){const e=document.querySelector(`+strconv.Quote(sel)+`); if(!e) throw new Error("nothing matches "+`+strconv.Quote(sel)+`); e.checked=true; e.dispatchEvent(new Event("change",{bubbles:true}));})()`, nil)
}

// openDetails opens a <details> element.
func openDetails(p *browsertest.Page, sel string) {
	p.Eval(`document.querySelector(`+strconv.Quote(sel)+`).open = true`, nil)
}

// keepScreenshots copies the screenshots of the test to
// POD_SCREENSHOTS when it is set (docs/screenshots is made this way).
func keepScreenshots(t *testing.T, p *browsertest.Page) {
	dst := os.Getenv("POD_SCREENSHOTS")
	if dst == "" {
		return
	}
	src := filepath.Dir(p.Screenshot("last"))
	files, _ := filepath.Glob(filepath.Join(src, "*.png"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err == nil {
			err = os.WriteFile(filepath.Join(dst, filepath.Base(f)), b, 0o644)
		}
		if err != nil {
			t.Error(err)
		}
	}
}
