package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Tests of the contacts, aspects, conversations, notifications and
// settings pages and of taking back comments and likes, with a browser
// without JavaScript (the client of web_test.go).

// moreFormFields finds the labelable fields of a page (inputs but hidden
// ones, textareas, selects) and their ids.
var (
	moreFieldRE   = regexp.MustCompile(`<(input|textarea|select)\b[^>]*>`)
	moreIDRE      = regexp.MustCompile(`\bid="([^"]+)"`)
	moreHeadingRE = regexp.MustCompile(`<h([1-6])\b`)
	moreH1RE      = regexp.MustCompile(`(?s)<h1[^>]*>(.*?)</h1>`)
)

// moreCheckPage checks what every page owes its readers: one h1 with
// text, headings that never skip a level, a label (for=id) for every
// field, a token in every POST form and no script.
func moreCheckPage(t *testing.T, path, body string) {
	t.Helper()
	main := body
	if i := strings.Index(body, `<main`); i >= 0 {
		main = body[i:]
	}
	levels := moreHeadingRE.FindAllStringSubmatch(main, -1)
	if len(levels) == 0 || levels[0][1] != "1" {
		t.Errorf("%s: the first heading is not an h1", path)
	}
	prev, h1s := 0, 0
	for _, l := range levels {
		n, _ := strconv.Atoi(l[1])
		if n == 1 {
			h1s++
		}
		if n > prev+1 {
			t.Errorf("%s: an h%d follows an h%d", path, n, prev)
		}
		prev = n
	}
	if h1s != 1 {
		t.Errorf("%s: %d h1 elements", path, h1s)
	}
	if m := moreH1RE.FindStringSubmatch(main); m == nil || strings.TrimSpace(m[1]) == "" {
		t.Errorf("%s: an empty h1", path)
	}
	for _, f := range moreFieldRE.FindAllString(body, -1) {
		if strings.Contains(f, `type="hidden"`) {
			continue
		}
		id := moreIDRE.FindStringSubmatch(f)
		if id == nil {
			t.Errorf("%s: a field without id: %s", path, f)
			continue
		}
		if !strings.Contains(body, `for="`+id[1]+`"`) {
			t.Errorf("%s: no label for %s", path, f)
		}
	}
	if n, m := strings.Count(body, `method="post"`), strings.Count(body, `name="authenticity_token"`); n != m {
		t.Errorf("%s: %d POST forms, %d tokens", path, n, m)
	}
	if strings.Contains(body, "<script") {
		t.Errorf("%s: the page has a script element", path)
	}
}

// moreSetup is a pod with alice and bob; alice shares with bob (Friends)
// and has started a conversation with him.
type moreSetup struct {
	tp         *testPod
	alice, bob *store.User
	conv       string
}

func moreStart(t *testing.T) *moreSetup {
	t.Helper()
	tp := startTestPod(t, Config{})
	m := &moreSetup{tp: tp, alice: tp.addUser(t, "alice"), bob: tp.addUser(t, "bob")}
	ctx := context.Background()
	if _, err := tp.ShareWith(ctx, m.alice, m.bob.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	c, err := tp.StartConversation(ctx, m.alice, pod.ConversationInput{Subject: "Hello", Text: "first", Participants: []string{m.bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	m.conv = c.GUID
	return m
}

// moreAspectID finds the id of an aspect on the aspects page.
func moreAspectID(t *testing.T, page, name string) string {
	t.Helper()
	re := regexp.MustCompile(`<a href="/contacts\?aspect=(\d+)">` + regexp.QuoteMeta(name) + `</a>`)
	m := re.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no aspect %q on the page:\n%s", name, excerptOf(page))
	}
	return m[1]
}

func moreAspectNames(t *testing.T, st *store.Store, username string) []string {
	t.Helper()
	as, err := st.Aspects(context.Background(), username)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range as {
		out = append(out, a.Name)
	}
	return out
}

// TestMorePagesAccess: each page renders for a signed-in person, with a
// proper h1, labelled fields and tokens in its forms, and sends a
// signed-out one to the sign-in page (a POST is refused).
func TestMorePagesAccess(t *testing.T) {
	m := moreStart(t)
	pages := []string{"/contacts", "/aspects", "/conversations", "/conversations/" + m.conv, "/notifications", "/profile/edit", "/user/edit"}
	anon := m.tp.client(t)
	for _, path := range pages {
		st, _, loc := anon.get(path)
		if st != http.StatusSeeOther || loc != "/users/sign_in?return_to="+url.QueryEscape(path) {
			t.Errorf("GET %s signed out: %d %q", path, st, loc)
		}
	}
	_, signIn, _ := anon.get("/users/sign_in")
	token := formToken(t, signIn)
	for _, path := range []string{"/aspects", "/conversations", "/notifications/read", "/profile/edit", "/user/edit/password", "/user/edit/delete"} {
		if st, _, _ := anon.post(path, url.Values{csrfField: {token}, "name": {"x"}}, ""); st != http.StatusForbidden {
			t.Errorf("POST %s signed out: %d, want 403", path, st)
		}
	}
	for _, name := range []string{"alice", "bob"} {
		c := m.tp.client(t)
		c.signIn(name)
		for _, path := range pages {
			st, body, _ := c.get(path)
			if st != http.StatusOK {
				t.Errorf("GET %s as %s: %d\n%s", path, name, st, excerptOf(body))
				continue
			}
			moreCheckPage(t, path+" as "+name, body)
		}
	}
	c := m.tp.client(t)
	c.signIn("alice")
	for _, path := range []string{"/conversations/0123456789abcdef0123456789abcdef", "/contacts?aspect=999999", "/contacts?aspect=x"} {
		if st, _, _ := c.get(path); st != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, st)
		}
	}
}

// TestMorePagesCSRF: every form of these pages answers 403 without its
// authenticity_token and changes nothing.
func TestMorePagesCSRF(t *testing.T) {
	m := moreStart(t)
	ctx := context.Background()
	st := m.tp.Store()
	pub := true
	post, err := m.tp.CreatePost(ctx, m.alice, pod.PostInput{Text: "a post", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	comment, err := m.tp.Interact(ctx, m.bob, post.GUID, "bob's comment", false)
	if err != nil {
		t.Fatal(err)
	}
	like, err := m.tp.Interact(ctx, m.bob, post.GUID, "", true)
	if err != nil {
		t.Fatal(err)
	}
	c := m.tp.client(t)
	c.signIn("bob")
	_, page, _ := c.get("/aspects")
	friends := moreAspectID(t, page, "Friends")
	aspectsBefore := moreAspectNames(t, st, "bob")
	_, unreadBefore, _ := st.Notifications(ctx, "bob", true)
	if unreadBefore == 0 {
		t.Fatal("bob has no unread notification to begin with")
	}
	forms := map[string]url.Values{
		"/aspects":                               {"name": {"Forged"}},
		"/aspects/" + friends + "/rename":        {"name": {"Forged"}},
		"/aspects/" + friends + "/delete":        {},
		"/conversations":                         {"subject": {"forged"}, "recipients": {m.alice.ID}, "text": {"forged"}},
		"/conversations/" + m.conv + "/messages": {"text": {"forged"}},
		"/notifications/read":                    {},
		"/profile/edit":                          {"full_name": {"Forged"}, "bio": {"forged"}, "image_url": {"https://evil.example/x.png"}},
		"/user/edit/password":                    {"current_password": {"password-bob"}, "password": {"forged-password"}, "password_confirmation": {"forged-password"}},
		"/user/edit/delete":                      {"current_password": {"password-bob"}},
		"/comments/" + comment.GUID + "/delete":  {},
		"/likes/" + like.GUID + "/delete":        {},
		"/likes/" + post.GUID + "/delete":        {},
	}
	for path, form := range forms {
		if code, _, _ := c.post(path, form, ""); code != http.StatusForbidden {
			t.Errorf("POST %s without a token: %d, want 403", path, code)
		}
	}
	if got := moreAspectNames(t, st, "bob"); !slices.Equal(got, aspectsBefore) {
		t.Errorf("bob's aspects after forged forms: %v, want %v", got, aspectsBefore)
	}
	if cs, err := st.Conversations(ctx, m.bob); err != nil || len(cs) != 1 || len(cs[0].Messages) != 1 {
		t.Errorf("bob's conversations after forged forms: %+v %v", cs, err)
	}
	if _, n, _ := st.Notifications(ctx, "bob", true); n != unreadBefore {
		t.Errorf("bob has %d unread notifications, want %d", n, unreadBefore)
	}
	if p, err := st.Profile(ctx, m.bob.ID, false); err != nil || p.FullName == "Forged" || p.ImageURL != "" {
		t.Errorf("bob's profile after forged forms: %+v %v", p, err)
	}
	if v, err := st.PostView(ctx, m.bob, post.GUID); err != nil || len(v.Comments) != 1 || len(v.Likes) != 1 {
		t.Errorf("the post after forged forms: %+v %v", v, err)
	}
	if _, err := m.tp.Login(ctx, "bob", "password-bob", "192.0.2.1"); err != nil {
		t.Errorf("bob's password after forged forms: %v", err)
	}
	if code, _, _ := c.get("/stream"); code != http.StatusOK {
		t.Errorf("bob after forged forms: %d", code)
	}
}

// TestMoreAspects: making, renaming and deleting an aspect shows on the
// aspects page; a taken or empty name is explained on the page.
func TestMoreAspects(t *testing.T) {
	m := moreStart(t)
	c := m.tp.client(t)
	c.signIn("alice")
	if st, _, loc := c.post("/aspects", url.Values{"name": {"Book <club>"}}, "/aspects"); st != http.StatusSeeOther || loc != "/aspects" {
		t.Fatalf("create: %d %q", st, loc)
	}
	_, page, _ := c.get("/aspects")
	if !strings.Contains(page, "Book &lt;club&gt;") || strings.Contains(page, "Book <club>") {
		t.Errorf("the new aspect is not shown escaped:\n%s", excerptOf(page))
	}
	id := moreAspectID(t, page, "Book &lt;club&gt;")
	if !regexp.MustCompile(`(?s)href="/contacts\?aspect=\d+">Friends</a></h3>\s*<p class="members">1 person</p>`).MatchString(page) {
		t.Errorf("Friends does not show its one member:\n%s", page)
	}
	if st, body, _ := c.post("/aspects", url.Values{"name": {"Friends"}}, "/aspects"); st != http.StatusConflict || !strings.Contains(body, "already have an aspect named") {
		t.Errorf("a taken name: %d\n%s", st, excerptOf(body))
	}
	if st, body, _ := c.post("/aspects", url.Values{"name": {"  "}}, "/aspects"); st != http.StatusUnprocessableEntity || !strings.Contains(body, "needs a name") {
		t.Errorf("an empty name: %d\n%s", st, excerptOf(body))
	}
	if st, _, loc := c.post("/aspects/"+id+"/rename", url.Values{"name": {"Readers"}}, "/aspects"); st != http.StatusSeeOther || loc != "/aspects" {
		t.Fatalf("rename: %d %q", st, loc)
	}
	_, page, _ = c.get("/aspects")
	if moreAspectID(t, page, "Readers") != id || strings.Contains(page, "Book &lt;club&gt;") {
		t.Errorf("the renamed aspect:\n%s", excerptOf(page))
	}
	if st, _, loc := c.post("/aspects/"+id+"/delete", url.Values{}, "/aspects"); st != http.StatusSeeOther || loc != "/aspects" {
		t.Fatalf("delete: %d %q", st, loc)
	}
	if _, page, _ = c.get("/aspects"); strings.Contains(page, "Readers") {
		t.Errorf("the deleted aspect is still listed")
	}
	if got := moreAspectNames(t, m.tp.Store(), "alice"); !slices.Equal(got, store.DefaultAspects) {
		t.Errorf("alice's aspects: %v", got)
	}
	// Another person's aspect, or none, is not found.
	b := m.tp.client(t)
	b.signIn("bob")
	_, bobPage, _ := b.get("/aspects")
	bobs := moreAspectID(t, bobPage, "Work")
	for _, path := range []string{"/aspects/" + bobs + "/rename", "/aspects/" + bobs + "/delete", "/aspects/x/delete"} {
		if st, _, _ := c.post(path, url.Values{"name": {"Mine"}}, "/aspects"); st != http.StatusNotFound {
			t.Errorf("POST %s by alice: %d, want 404", path, st)
		}
	}
	if got := moreAspectNames(t, m.tp.Store(), "bob"); !slices.Equal(got, store.DefaultAspects) {
		t.Errorf("bob's aspects: %v", got)
	}
}

// TestMoreContacts: both sides of a contact are listed with who shares
// with whom; the aspect form changes the aspects and comes back; the
// aspect filter shows the members of one aspect.
func TestMoreContacts(t *testing.T) {
	m := moreStart(t)
	a := m.tp.client(t)
	a.signIn("alice")
	_, page, _ := a.get("/contacts")
	if !strings.Contains(page, `href="/people/`+m.bob.GUID+`"`) || !strings.Contains(page, m.bob.ID) ||
		!strings.Contains(page, "You share with them; they do not share with you.") {
		t.Errorf("alice's contacts:\n%s", excerptOf(page))
	}
	if !regexp.MustCompile(`<input type="checkbox" id="contact-0-aspect-\d+" name="aspects" value="Friends" checked>`).MatchString(page) {
		t.Errorf("bob's Friends box is not checked:\n%s", page)
	}
	b := m.tp.client(t)
	b.signIn("bob")
	if _, page, _ := b.get("/contacts"); !strings.Contains(page, m.alice.ID) || !strings.Contains(page, "Shares with you; you do not share with them.") {
		t.Errorf("bob's contacts:\n%s", excerptOf(page))
	}
	_, aspects, _ := a.get("/aspects")
	work := moreAspectID(t, aspects, "Work")
	st, _, loc := a.post("/people/share", url.Values{"id": {m.bob.ID}, "aspects": {"Work", "Family"}, "return_to": {"/contacts?aspect=" + work}}, "/contacts")
	if st != http.StatusSeeOther || loc != "/contacts?aspect="+work {
		t.Fatalf("the aspect form: %d %q", st, loc)
	}
	if c, err := m.tp.Store().Contact(context.Background(), "alice", m.bob.ID); err != nil || !slices.Equal(c.Aspects, []string{"Family", "Work"}) {
		t.Errorf("bob's aspects: %+v %v", c, err)
	}
	if _, page, _ := a.get("/contacts?aspect=" + work); !strings.Contains(page, m.bob.ID) || !strings.Contains(page, "<h1>Contacts in Work</h1>") {
		t.Errorf("the Work filter:\n%s", excerptOf(page))
	}
	_, aspects, _ = a.get("/aspects")
	friends := moreAspectID(t, aspects, "Friends")
	if _, page, _ := a.get("/contacts?aspect=" + friends); strings.Contains(page, m.bob.ID) || !strings.Contains(page, "Nobody is in this aspect.") {
		t.Errorf("the Friends filter:\n%s", excerptOf(page))
	}
	// No aspects: alice stops sharing, bob is no contact of hers any more.
	if st, _, _ := a.post("/people/share", url.Values{"id": {m.bob.ID}}, "/contacts"); st != http.StatusSeeOther {
		t.Fatalf("stop sharing: %d", st)
	}
	if _, page, _ := a.get("/contacts"); strings.Contains(page, m.bob.ID) {
		t.Errorf("bob is still a contact:\n%s", excerptOf(page))
	}
}

// TestMoreConversations: alice starts a conversation with bob on the same
// pod; bob sees it, the text rendered, and answers; alice sees the
// answer; someone else cannot read it; a wrong recipient is explained.
func TestMoreConversations(t *testing.T) {
	m := moreStart(t)
	m.tp.addUser(t, "carol")
	a := m.tp.client(t)
	a.signIn("alice")
	form := url.Values{"subject": {"Lunch <b>plans</b>"}, "recipients": {" @" + m.bob.ID + ",\n" + m.bob.ID + " "}, "text": {"Shall we meet at **noon**?"}}
	st, _, loc := a.post("/conversations", form, "/conversations")
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/conversations/") {
		t.Fatalf("start: %d %q", st, loc)
	}
	guid := strings.TrimPrefix(loc, "/conversations/")
	b := m.tp.client(t)
	b.signIn("bob")
	_, list, _ := b.get("/conversations")
	if !strings.Contains(list, `href="/conversations/`+guid+`">Lunch &lt;b&gt;plans&lt;/b&gt;</a>`) || !strings.Contains(list, m.alice.ID) {
		t.Errorf("bob's conversations:\n%s", excerptOf(list))
	}
	_, page, _ := b.get("/conversations/" + guid)
	if !strings.Contains(page, "Shall we meet at <strong>noon</strong>?") || !strings.Contains(page, "<h1>Lunch &lt;b&gt;plans&lt;/b&gt;</h1>") {
		t.Errorf("the conversation as bob sees it:\n%s", excerptOf(page))
	}
	st, _, loc = b.post("/conversations/"+guid+"/messages", url.Values{"text": {"Yes, <script>x</script> at the usual place."}}, "/conversations/"+guid)
	if st != http.StatusSeeOther || !strings.HasPrefix(loc, "/conversations/"+guid+"#message-") {
		t.Fatalf("reply: %d %q", st, loc)
	}
	if st, body, _ := b.post("/conversations/"+guid+"/messages", url.Values{"text": {"  "}}, "/conversations/"+guid); st != http.StatusUnprocessableEntity || !strings.Contains(body, "empty message") {
		t.Errorf("an empty reply: %d", st)
	}
	_, page, _ = a.get("/conversations/" + guid)
	first, reply := strings.Index(page, "noon"), strings.Index(page, "at the usual place.")
	if first < 0 || reply < first || strings.Contains(page, "<script>") {
		t.Errorf("the conversation as alice sees it:\n%s", excerptOf(page))
	}
	c := m.tp.client(t)
	c.signIn("carol")
	if st, _, _ := c.get("/conversations/" + guid); st != http.StatusNotFound {
		t.Errorf("carol reads alice and bob's conversation: %d", st)
	}
	if st, _, _ := c.post("/conversations/"+guid+"/messages", url.Values{"text": {"hi"}}, "/conversations"); st != http.StatusNotFound {
		t.Errorf("carol answers in alice and bob's conversation: %d", st)
	}
	if _, list, _ := c.get("/conversations"); strings.Contains(list, guid) {
		t.Errorf("carol's list shows alice and bob's conversation")
	}
	// Wrong recipients: the form comes back with what was typed.
	st, body, _ := a.post("/conversations", url.Values{"subject": {"Oops"}, "recipients": {"not an id"}, "text": {"kept text"}}, "/conversations")
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert"`) || !strings.Contains(body, "kept text") {
		t.Errorf("a wrong recipient: %d\n%s", st, excerptOf(body))
	}
	if st, body, _ := a.post("/conversations", url.Values{"subject": {"Oops"}, "recipients": {""}, "text": {"x"}}, "/conversations"); st != http.StatusUnprocessableEntity || !strings.Contains(body, "participants are required") {
		t.Errorf("no recipients: %d\n%s", st, excerptOf(body))
	}
	if cs, _ := m.tp.Store().Conversations(context.Background(), m.alice); len(cs) != 2 {
		t.Errorf("alice has %d conversations, want 2", len(cs))
	}
}

// TestMoreNotifications: bob sees that alice started sharing with him,
// and alice that bob commented on, liked and reshared her post, as
// sentences with links, unread until the button marks them read.
func TestMoreNotifications(t *testing.T) {
	m := moreStart(t)
	ctx := context.Background()
	b := m.tp.client(t)
	b.signIn("bob")
	_, page, _ := b.get("/notifications")
	want := `<a class="actor" href="/people?q=` + url.QueryEscape(m.alice.ID) + `">` + m.alice.ID + `</a> started sharing with you.`
	if !strings.Contains(page, want) || !strings.Contains(page, `class="notification started_sharing unread"`) {
		t.Errorf("bob's notifications, want %s:\n%s", want, excerptOf(page))
	}
	// Looking does not mark them read.
	if _, n, _ := m.tp.Store().Notifications(ctx, "bob", true); n != 1 {
		t.Errorf("bob has %d unread after looking, want 1", n)
	}
	if st, _, loc := b.post("/notifications/read", url.Values{}, "/notifications"); st != http.StatusSeeOther || loc != "/notifications" {
		t.Fatalf("mark read: %d %q", st, loc)
	}
	_, page, _ = b.get("/notifications")
	if strings.Contains(page, "unread") || !strings.Contains(page, "started sharing with you.") {
		t.Errorf("bob's notifications after marking them read:\n%s", excerptOf(page))
	}
	pub := true
	post, err := m.tp.CreatePost(ctx, m.alice, pod.PostInput{Text: "hello @{bob; " + m.bob.ID + "}", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.tp.Interact(ctx, m.bob, post.GUID, "nice", false); err != nil {
		t.Fatal(err)
	}
	if _, err := m.tp.Interact(ctx, m.bob, post.GUID, "", true); err != nil {
		t.Fatal(err)
	}
	if _, err := m.tp.Reshare(ctx, m.bob, post.GUID); err != nil {
		t.Fatal(err)
	}
	a := m.tp.client(t)
	a.signIn("alice")
	_, page, _ = a.get("/notifications")
	target := `<a href="/posts/` + post.GUID + `">your post</a>.`
	for _, s := range []string{"commented on " + target, "liked " + target, "reshared " + target} {
		if !strings.Contains(page, m.bob.ID+"</a> "+s) {
			t.Errorf("alice's notifications lack %q:\n%s", s, excerptOf(page))
		}
	}
	if n := len(regexp.MustCompile(`class="notification [a-z_]+ unread"`).FindAllString(page, -1)); n != 3 || !strings.Contains(page, `id="unread-count"`) {
		t.Errorf("alice's 3 unread notifications are not marked:\n%s", excerptOf(page))
	}
	_, page, _ = b.get("/notifications")
	if !strings.Contains(page, m.alice.ID+`</a> mentioned you in <a href="/posts/`+post.GUID+`">a post</a>.`) {
		t.Errorf("bob's mention:\n%s", excerptOf(page))
	}
}

// TestMoreProfileEdit: the profile form saves and shows all six fields,
// unchecking works, and an avatar that is no http(s) URL is refused with
// a message and changes nothing.
func TestMoreProfileEdit(t *testing.T) {
	m := moreStart(t)
	ctx := context.Background()
	a := m.tp.client(t)
	a.signIn("alice")
	form := url.Values{"full_name": {"Alice <Liddell>"}, "bio": {"Down the rabbit hole & back"}, "location": {"Wonderland"},
		"image_url": {"https://example.org/alice.png"}, "searchable": {"1"}, "nsfw": {"1"}}
	st, _, loc := a.post("/profile/edit", form, "/profile/edit")
	if st != http.StatusSeeOther || loc != "/profile/edit?saved=1" {
		t.Fatalf("save: %d %q", st, loc)
	}
	_, page, _ := a.get(loc)
	for _, s := range []string{`<p class="notice" role="status">Saved.</p>`, `value="Alice &lt;Liddell&gt;"`, `>Down the rabbit hole &amp; back</textarea>`,
		`value="Wonderland"`, `value="https://example.org/alice.png"`, `name="searchable" value="1" checked>`, `name="nsfw" value="1" checked>`} {
		if !strings.Contains(page, s) {
			t.Errorf("the saved form lacks %s:\n%s", s, excerptOf(page))
		}
	}
	p, err := m.tp.Store().Profile(ctx, m.alice.ID, false)
	if err != nil || p.FullName != "Alice <Liddell>" || p.Bio != "Down the rabbit hole & back" || p.Location != "Wonderland" ||
		p.ImageURL != "https://example.org/alice.png" || !p.Searchable || !p.NSFW {
		t.Errorf("the stored profile: %+v %v", p, err)
	}
	// Unchecked boxes are sent as nothing: both off.
	form.Del("searchable")
	form.Del("nsfw")
	if st, _, _ := a.post("/profile/edit", form, "/profile/edit"); st != http.StatusSeeOther {
		t.Fatalf("save without the boxes: %d", st)
	}
	if p, _ := m.tp.Store().Profile(ctx, m.alice.ID, false); p.Searchable || p.NSFW {
		t.Errorf("searchable %v, nsfw %v after unchecking", p.Searchable, p.NSFW)
	}
	if _, page, _ := a.get("/profile/edit"); strings.Contains(page, "checked") || strings.Contains(page, "Saved.") {
		t.Errorf("the form after unchecking:\n%s", excerptOf(page))
	}
	form.Set("image_url", "javascript:alert(1)")
	form.Set("location", "Elsewhere")
	st, body, _ := a.post("/profile/edit", form, "/profile/edit")
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "the avatar must be an http(s) URL") || !strings.Contains(body, `value="Elsewhere"`) {
		t.Errorf("a javascript: avatar: %d\n%s", st, excerptOf(body))
	}
	if p, _ := m.tp.Store().Profile(ctx, m.alice.ID, false); p.ImageURL != "https://example.org/alice.png" || p.Location != "Wonderland" {
		t.Errorf("the profile after a refused avatar: %+v", p)
	}
	// The person's page shows the new profile.
	if _, page, _ := a.get("/people/" + m.alice.GUID); !strings.Contains(page, "Alice &lt;Liddell&gt;") || !strings.Contains(page, "Wonderland") {
		t.Errorf("alice's page:\n%s", excerptOf(page))
	}
}

// moreSignIn signs a new browser in with a password and says whether
// that worked.
func moreSignIn(t *testing.T, tp *testPod, name, password string) (*client, int) {
	t.Helper()
	c := tp.client(t)
	st, _, _ := c.post("/users/sign_in", url.Values{"username": {name}, "password": {password}}, "/users/sign_in")
	return c, st
}

// TestMorePassword: a password change needs the current password and a
// matching confirmation; afterwards the old password no longer signs in,
// the new one does, the changing browser stays signed in and the others
// are signed out.
func TestMorePassword(t *testing.T) {
	m := moreStart(t)
	a := m.tp.client(t)
	a.signIn("alice")
	other := m.tp.client(t)
	other.signIn("alice")
	st, body, _ := a.post("/user/edit/password", url.Values{"current_password": {"wrong-password"}, "password": {"new-password-1"},
		"password_confirmation": {"new-password-1"}}, "/user/edit")
	if st != http.StatusForbidden || !strings.Contains(body, "Your current password is not right.") {
		t.Errorf("a wrong current password: %d\n%s", st, excerptOf(body))
	}
	st, body, _ = a.post("/user/edit/password", url.Values{"current_password": {"password-alice"}, "password": {"new-password-1"},
		"password_confirmation": {"new-password-2"}}, "/user/edit")
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "differ") {
		t.Errorf("a confirmation that differs: %d\n%s", st, excerptOf(body))
	}
	st, body, _ = a.post("/user/edit/password", url.Values{"current_password": {"password-alice"}, "password": {"short"},
		"password_confirmation": {"short"}}, "/user/edit")
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "8 to 72 bytes") {
		t.Errorf("a short password: %d\n%s", st, excerptOf(body))
	}
	if _, st := moreSignIn(t, m.tp, "alice", "password-alice"); st != http.StatusSeeOther {
		t.Fatalf("the refused changes changed the password: sign-in %d", st)
	}
	st, _, loc := a.post("/user/edit/password", url.Values{"current_password": {"password-alice"}, "password": {"new-password-1"},
		"password_confirmation": {"new-password-1"}}, "/user/edit")
	if st != http.StatusSeeOther || loc != "/user/edit?changed=1" {
		t.Fatalf("change: %d %q", st, loc)
	}
	if st, page, _ := a.get(loc); st != http.StatusOK || !strings.Contains(page, "Your password was changed.") {
		t.Errorf("the changing browser after the change: %d\n%s", st, excerptOf(page))
	}
	if st, _, loc := other.get("/stream"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/users/sign_in") {
		t.Errorf("the other browser after the change: %d %q", st, loc)
	}
	if _, st := moreSignIn(t, m.tp, "alice", "password-alice"); st != http.StatusUnauthorized {
		t.Errorf("the old password: %d, want 401", st)
	}
	if c, st := moreSignIn(t, m.tp, "alice", "new-password-1"); st != http.StatusSeeOther {
		t.Errorf("the new password: %d, want 303", st)
	} else if st, _, _ := c.get("/stream"); st != http.StatusOK {
		t.Errorf("signed in with the new password: %d", st)
	}
}

// TestMoreDeleteAccount: deleting the account needs its password, signs
// the browser out, and the account can no longer sign in.
func TestMoreDeleteAccount(t *testing.T) {
	m := moreStart(t)
	b := m.tp.client(t)
	b.signIn("bob")
	if st, body, _ := b.post("/user/edit/delete", url.Values{"current_password": {"wrong-password"}}, "/user/edit"); st != http.StatusForbidden ||
		!strings.Contains(body, "Your current password is not right.") {
		t.Errorf("a wrong password: %d\n%s", st, excerptOf(body))
	}
	if st, _, _ := b.get("/stream"); st != http.StatusOK {
		t.Fatalf("bob after a refused deletion: %d", st)
	}
	resp := func() *http.Response {
		_, page, _ := b.get("/user/edit")
		r, err := b.c.PostForm(b.base+"/user/edit/delete", url.Values{"current_password": {"password-bob"}, csrfField: {formToken(t, page)}})
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		return r
	}()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("delete: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cleared := false
	for _, ck := range resp.Cookies() {
		if ck.Name == sessionCookie && ck.MaxAge < 0 {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the session cookie was not cleared: %v", resp.Header["Set-Cookie"])
	}
	if st, _, loc := b.get("/stream"); st != http.StatusSeeOther || !strings.HasPrefix(loc, "/users/sign_in") {
		t.Errorf("bob after deleting his account: %d %q", st, loc)
	}
	if _, st := moreSignIn(t, m.tp, "bob", "password-bob"); st != http.StatusUnauthorized {
		t.Errorf("signing in to a deleted account: %d, want 401", st)
	}
	if u, err := m.tp.Store().UserByName(context.Background(), "bob"); err != nil || !u.Suspended {
		t.Errorf("bob's account: %+v %v", u, err)
	}
}

// TestMoreDeleteInteraction: a person deletes their own comment and takes
// back their like (by the like's GUID or the post's), from the pod and
// from the web; another's comment is refused with 403.
func TestMoreDeleteInteraction(t *testing.T) {
	m := moreStart(t)
	ctx := context.Background()
	st := m.tp.Store()
	pub := true
	post, err := m.tp.CreatePost(ctx, m.alice, pod.PostInput{Text: "a post", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	interact := func(u *store.User, text string, like bool) string {
		t.Helper()
		v, err := m.tp.Interact(ctx, u, post.GUID, text, like)
		if err != nil {
			t.Fatal(err)
		}
		return v.GUID
	}
	counts := func() (comments, likes int) {
		t.Helper()
		v, err := st.PostView(ctx, m.alice, post.GUID)
		if err != nil {
			t.Fatal(err)
		}
		return len(v.Comments), len(v.Likes)
	}
	aliceComment := interact(m.alice, "alice's comment", false)
	bobComment := interact(m.bob, "bob's comment", false)
	bobLike := interact(m.bob, "", true)

	// The pod: another's comment is forbidden, an unknown one not found,
	// a vote or a post is no interaction to delete here.
	if err := m.tp.DeleteInteraction(ctx, m.bob, aliceComment); !errors.Is(err, pod.ErrForbidden) {
		t.Errorf("bob deletes alice's comment: %v, want ErrForbidden", err)
	}
	if err := m.tp.DeleteInteraction(ctx, m.bob, "0123456789abcdef0123456789abcdef"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("an unknown guid: %v, want ErrNotFound", err)
	}
	if err := m.tp.DeleteInteraction(ctx, m.alice, aliceComment); err != nil {
		t.Fatalf("alice deletes her comment: %v", err)
	}
	if c, l := counts(); c != 1 || l != 1 {
		t.Errorf("after alice deleted her comment: %d comments, %d likes", c, l)
	}
	if err := m.tp.DeleteInteraction(ctx, m.alice, aliceComment); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it again: %v, want ErrNotFound", err)
	}
	aliceComment = interact(m.alice, "alice again", false)

	// The web.
	b := m.tp.client(t)
	b.signIn("bob")
	if code, body, _ := b.post("/comments/"+aliceComment+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusForbidden {
		t.Errorf("bob deletes alice's comment on the web: %d\n%s", code, excerptOf(body))
	}
	if code, _, _ := b.post("/comments/"+bobLike+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusNotFound {
		t.Errorf("a like deleted as a comment: %d, want 404", code)
	}
	if c, l := counts(); c != 2 || l != 1 {
		t.Errorf("after refused deletions: %d comments, %d likes", c, l)
	}
	if code, _, loc := b.post("/comments/"+bobComment+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/posts/"+post.GUID) {
		t.Errorf("bob deletes his comment: %d %q", code, loc)
	}
	if code, _, loc := b.post("/likes/"+post.GUID+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusSeeOther || !strings.HasPrefix(loc, "/posts/"+post.GUID) {
		t.Errorf("bob unlikes the post: %d %q", code, loc)
	}
	if c, l := counts(); c != 1 || l != 0 {
		t.Errorf("after bob's deletions: %d comments, %d likes", c, l)
	}
	// Unliking again changes nothing; liking again works, and unliking by
	// the like's own GUID too.
	if code, _, _ := b.post("/likes/"+post.GUID+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusSeeOther {
		t.Errorf("unliking a post bob does not like: %d", code)
	}
	bobLike = interact(m.bob, "", true)
	if code, _, _ := b.post("/likes/"+bobLike+"/delete", url.Values{}, "/posts/"+post.GUID); code != http.StatusSeeOther {
		t.Errorf("unliking by the like's guid: %d", code)
	}
	if _, l := counts(); l != 0 {
		t.Errorf("%d likes after unliking by guid", l)
	}
	// A post bob cannot read is not found.
	limited, err := m.tp.CreatePost(ctx, m.alice, pod.PostInput{Text: "family only", Public: new(bool), Aspects: []string{"Family"}})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, _ := b.post("/likes/"+limited.GUID+"/delete", url.Values{}, "/stream"); code != http.StatusNotFound {
		t.Errorf("unliking a post bob cannot read: %d, want 404", code)
	}
}

// TestMoreDeleteInteractionFederated: taking back a comment or like
// reaches the other pod, from a comment on a remote post (sent to the
// post author's pod) and on a local one (sent, signed by the post's
// author, to the pods the post went to).
func TestMoreDeleteInteractionFederated(t *testing.T) {
	ctx := context.Background()
	podA, podB := startTestPod(t, Config{}), startTestPod(t, Config{})
	alice, bob := podA.addUser(t, "alice"), podB.addUser(t, "bob")
	if _, err := podB.ShareWith(ctx, bob, alice.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := podA.ShareWith(ctx, alice, bob.ID, []string{"Friends"}, false); err != nil {
		t.Fatal(err)
	}
	pub := true
	post, err := podA.CreatePost(ctx, alice, pod.PostInput{Text: "across pods", Public: &pub})
	if err != nil {
		t.Fatal(err)
	}
	// counts is what a pod shows of the post: -1 while it does not have it.
	counts := func(tp *testPod, u *store.User) (comments, likes int) {
		v, err := tp.Store().PostView(ctx, u, post.GUID)
		if err != nil {
			return -1, -1
		}
		return len(v.Comments), len(v.Likes)
	}
	waitUntil(t, "the post on bob's pod", func() bool { c, _ := counts(podB, bob); return c == 0 })
	bobComment, err := podB.Interact(ctx, bob, post.GUID, "from pod B", false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := podB.Interact(ctx, bob, post.GUID, "", true); err != nil {
		t.Fatal(err)
	}
	aliceComment, err := podA.Interact(ctx, alice, post.GUID, "from pod A", false)
	if err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "both comments and the like on both pods", func() bool {
		ca, la := counts(podA, alice)
		cb, lb := counts(podB, bob)
		return ca == 2 && la == 1 && cb == 2 && lb == 1
	})
	b := podB.client(t)
	b.signIn("bob")
	if st, _, _ := b.post("/comments/"+bobComment.GUID+"/delete", url.Values{}, "/posts/"+post.GUID); st != http.StatusSeeOther {
		t.Fatalf("bob deletes his comment: %d", st)
	}
	if st, _, _ := b.post("/likes/"+post.GUID+"/delete", url.Values{}, "/posts/"+post.GUID); st != http.StatusSeeOther {
		t.Fatalf("bob unlikes: %d", st)
	}
	waitUntil(t, "bob's comment and like gone from alice's pod", func() bool { c, l := counts(podA, alice); return c == 1 && l == 0 })
	a := podA.client(t)
	a.signIn("alice")
	if st, _, _ := a.post("/comments/"+aliceComment.GUID+"/delete", url.Values{}, "/posts/"+post.GUID); st != http.StatusSeeOther {
		t.Fatalf("alice deletes her comment: %d", st)
	}
	waitUntil(t, "alice's comment gone from bob's pod", func() bool { c, l := counts(podB, bob); return c == 0 && l == 0 })
}
