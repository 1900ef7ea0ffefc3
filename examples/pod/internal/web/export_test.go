package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// TestExportData: "download my data" gives carol a JSON file of her
// account, profile, aspects, contacts, posts, comments and likes,
// conversations, ignored people and uploads, and nothing of dave's, no
// password hash and no key; only by POST with the form's token.
func TestExportData(t *testing.T) {
	tp := startTestPod(t, Config{})
	ctx := context.Background()
	carol, dave := tp.addUser(t, "carol"), tp.addUser(t, "dave")
	erin := tp.addUser(t, "erin")
	public := true
	for _, s := range []struct{ from, to *store.User }{{carol, dave}, {dave, carol}} {
		if _, err := tp.ShareWith(ctx, s.from, s.to.ID, []string{"Friends"}, false); err != nil {
			t.Fatal(err)
		}
	}
	up, err := tp.PrepareUpload(carol, pngPicture(t, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	photo, err := tp.SaveUpload(ctx, up)
	if err != nil {
		t.Fatal(err)
	}
	post, err := tp.CreatePost(ctx, carol, pod.PostInput{Text: "carol's own words", Public: &public, Photos: []string{photo}})
	if err != nil {
		t.Fatal(err)
	}
	davePost, err := tp.CreatePost(ctx, dave, pod.PostInput{Text: "dave's words", Public: &public})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Interact(ctx, carol, davePost.GUID, "carol's comment", false); err != nil {
		t.Fatal(err)
	}
	if _, err := tp.Interact(ctx, carol, davePost.GUID, "", true); err != nil {
		t.Fatal(err)
	}
	conv, err := tp.StartConversation(ctx, carol, pod.ConversationInput{Subject: "tea", Text: "tea at five?", Participants: []string{dave.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if err := tp.Ignore(ctx, carol, erin.ID, true); err != nil {
		t.Fatal(err)
	}

	c := tp.client(t)
	c.signIn("carol")
	if st, body, _ := c.get("/user/export"); st == http.StatusOK || strings.Contains(body, carol.ID) {
		t.Errorf("GET /user/export: %d, want no export", st)
	}
	if st, _, _ := c.post("/user/export", url.Values{}, ""); st != http.StatusForbidden {
		t.Errorf("an export without the form's token: %d, want 403", st)
	}
	_, page, _ := c.get("/user/edit")
	form := url.Values{csrfField: {formToken(t, page)}}
	resp, err := c.c.PostForm(c.base+"/user/export", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Disposition"), `attachment; filename="carol-`) {
		t.Fatalf("export: %d, %q", resp.StatusCode, resp.Header.Get("Content-Disposition"))
	}
	var raw json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"PRIVATE KEY", "$2a$", "password"} {
		if strings.Contains(string(raw), secret) {
			t.Errorf("the export holds %q", secret)
		}
	}
	var x store.Export
	if err := json.Unmarshal(raw, &x); err != nil {
		t.Fatal(err)
	}
	if x.Account.ID != carol.ID || x.Account.Username != "carol" || len(x.Aspects) != len(store.DefaultAspects) {
		t.Errorf("account %+v, aspects %v", x.Account, x.Aspects)
	}
	if len(x.Posts) != 1 || x.Posts[0].GUID != post.GUID || x.Posts[0].Text != "carol's own words" || len(x.Posts[0].Photos) != 1 || x.Posts[0].Photos[0] != photo {
		t.Errorf("posts: %+v", x.Posts)
	}
	if len(x.Interactions) != 2 || x.Interactions[0].Text != "carol's comment" || x.Interactions[1].Type != "Like" || x.Interactions[0].PostGUID != davePost.GUID {
		t.Errorf("comments and likes: %+v", x.Interactions)
	}
	if len(x.Contacts) != 1 || x.Contacts[0].ID != dave.ID || len(x.Ignored) != 1 || x.Ignored[0] != erin.ID {
		t.Errorf("contacts %+v, ignored %v", x.Contacts, x.Ignored)
	}
	if len(x.Conversations) != 1 || x.Conversations[0].GUID != conv.GUID || len(x.Conversations[0].Messages) != 1 {
		t.Errorf("conversations: %+v", x.Conversations)
	}
	if len(x.Uploads) != 1 || x.Uploads[0].URL != photo || x.Uploads[0].Width != 4 {
		t.Errorf("uploads: %+v", x.Uploads)
	}
	if strings.Contains(string(raw), "dave's words") {
		t.Error("the export holds dave's post")
	}
}

// pngPicture is a w×h PNG.
func pngPicture(t *testing.T, w, h int) []byte {
	t.Helper()
	path := picture(t, t.TempDir(), "p.png", w, h)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
