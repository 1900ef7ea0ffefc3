package pod

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

// TestFederation runs three pods on loopback: alice (A) and carol (C)
// follow bob (B); bob posts publicly; alice comments and B relays the
// comment to C; carol likes; /fetch serves the signed post; bob deletes
// the post and the retraction reaches both; a pod blocked by B gets
// nothing more.
func TestFederation(t *testing.T) {
	a, b, c := startPod(t), startPod(t), startPod(t)
	alice, aliceTok := a.user(t, "alice")
	bob, bobTok := b.user(t, "bob")
	carol, carolTok := c.user(t, "carol")

	// Following: discovery over WebFinger and hCard, a private Contact.
	var person struct {
		ID     string `json:"id"`
		PodURL string `json:"pod_url"`
	}
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": bob, "aspect": "Friends"}, http.StatusCreated, &person)
	if person.ID != bob || person.PodURL != b.URL {
		t.Fatalf("followed %+v, want %s on %s", person, bob, b.URL)
	}
	c.call(t, "POST", "/api/contacts", carolTok, map[string]string{"id": bob}, http.StatusCreated, nil)
	waitFor(t, "B to learn its followers", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE username = 'bob' AND sharing = 1`) == 2
	})

	// A public post with a tag and a mention goes once to each pod.
	var post store.PostView
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "Hello #Fediverse, @{Alice; " + alice + "}!"}, http.StatusCreated, &post)
	if len(post.Tags) != 1 || post.Tags[0] != "fediverse" {
		t.Errorf("tags = %v, want [fediverse]", post.Tags)
	}
	if n := b.count(t, `SELECT COUNT(*) FROM post_pods WHERE post_guid = ?`, post.GUID); n != 2 {
		t.Errorf("post_pods = %d, want 2 (A and C, once each)", n)
	}
	for _, p := range []struct {
		pod   *testPod
		token string
	}{{a, aliceTok}, {c, carolTok}} {
		waitFor(t, "the post on "+p.pod.Host, func() bool { _, ok := p.pod.post(t, p.token, post.GUID); return ok })
	}
	var stream struct{ Posts []store.PostView }
	a.call(t, "GET", "/api/stream", aliceTok, nil, http.StatusOK, &stream)
	if len(stream.Posts) != 1 || stream.Posts[0].GUID != post.GUID || stream.Posts[0].Author != bob {
		t.Fatalf("alice's stream = %+v, want bob's post", stream.Posts)
	}
	var tagged struct{ Posts []store.PostView }
	c.call(t, "GET", "/api/tags/fediverse", carolTok, nil, http.StatusOK, &tagged)
	if len(tagged.Posts) != 1 {
		t.Errorf("tag stream on C has %d posts, want 1", len(tagged.Posts))
	}

	// Alice comments on A; B receives it and relays it to C (and A).
	var comment store.InteractionView
	a.call(t, "POST", "/api/posts/"+post.GUID+"/comments", aliceTok, map[string]string{"text": "Hi bob; nice pod"}, http.StatusCreated, &comment)
	waitFor(t, "the comment on B", func() bool { v, _ := b.post(t, bobTok, post.GUID); return len(v.Comments) == 1 })
	waitFor(t, "the relayed comment on C", func() bool { v, _ := c.post(t, carolTok, post.GUID); return len(v.Comments) == 1 })
	v, _ := c.post(t, carolTok, post.GUID)
	if v.Comments[0].GUID != comment.GUID || v.Comments[0].Author != alice || v.Comments[0].Text != "Hi bob; nice pod" {
		t.Errorf("relayed comment = %+v", v.Comments[0])
	}

	// Carol likes on C; B relays to A.
	c.call(t, "POST", "/api/posts/"+post.GUID+"/likes", carolTok, nil, http.StatusCreated, nil)
	c.call(t, "POST", "/api/posts/"+post.GUID+"/likes", carolTok, nil, http.StatusConflict, nil)
	waitFor(t, "the relayed like on A", func() bool {
		v, _ := a.post(t, aliceTok, post.GUID)
		return len(v.Likes) == 1 && v.Likes[0].Author == carol
	})

	// Bob comments on his own post: A and C receive it directly.
	b.call(t, "POST", "/api/posts/"+post.GUID+"/comments", bobTok, map[string]string{"text": "thanks"}, http.StatusCreated, nil)
	waitFor(t, "bob's comment on A", func() bool { v, _ := a.post(t, aliceTok, post.GUID); return len(v.Comments) == 2 })

	// A post with a photo, a location and a poll; alice votes, B relays the vote to C.
	var pollPost store.PostView
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "lunch?",
		"photos":   []string{"https://img.example/photos/lunch.jpg"},
		"location": map[string]string{"address": "Berlin", "lat": "52.52", "lng": "13.40"},
		"poll":     map[string]any{"question": "Where?", "answers": []string{"here", "there"}}}, http.StatusCreated, &pollPost)
	if pollPost.Poll == nil || len(pollPost.Poll.Answers) != 2 {
		t.Fatalf("poll post = %+v", pollPost)
	}
	waitFor(t, "the poll on A", func() bool { _, ok := a.post(t, aliceTok, pollPost.GUID); return ok })
	pa, _ := a.post(t, aliceTok, pollPost.GUID)
	if len(pa.Photos) != 1 || pa.Photos[0] != "https://img.example/photos/lunch.jpg" || pa.Location == nil || pa.Location.Address != "Berlin" || pa.Poll == nil {
		t.Errorf("poll post on A = %+v", pa)
	}
	a.call(t, "POST", "/api/posts/"+pollPost.GUID+"/poll", aliceTok, map[string]string{"answer": "nope"}, http.StatusUnprocessableEntity, nil)
	a.call(t, "POST", "/api/posts/"+pollPost.GUID+"/poll", aliceTok, map[string]string{"answer": pollPost.Poll.Answers[1].GUID}, http.StatusCreated, nil)
	waitFor(t, "the relayed vote on C", func() bool {
		v, ok := c.post(t, carolTok, pollPost.GUID)
		return ok && v.Poll != nil && v.Poll.Answers[1].Votes == 1 && v.Poll.Answers[0].Votes == 0
	})

	// /fetch: B serves bob's signed envelope, A redirects to B, unknown is 404.
	resp := get(t, b.URL+"fetch/post/"+post.GUID)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), magicenv.ContentType) {
		t.Fatalf("fetch on B = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	env, err := magicenv.Parse(body, nil)
	if err != nil {
		t.Fatal(err)
	}
	bobUser, _ := b.store.UserByID(context.Background(), bob)
	if author, _ := env.Author(); author != bob || env.Verify(&bobUser.Key.PublicKey) != nil {
		t.Errorf("fetched envelope by %s does not verify as bob's", author)
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(a.URL + "fetch/post/" + post.GUID)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != b.URL+"fetch/post/"+post.GUID {
		t.Errorf("fetch on A = %d to %q, want 302 to B", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := get(t, b.URL+"fetch/post/0123456789abcdef0123456789abcdef"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("fetch of an unknown post = %d, want 404", resp.StatusCode)
	}

	// Receiving is idempotent: replaying the same public body changes nothing.
	before := a.count(t, `SELECT COUNT(*) FROM interactions`)
	req, _ := http.NewRequest("POST", a.URL+"receive/public", strings.NewReader(string(body)))
	req.Header.Set("Content-Type", magicenv.ContentType)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("replay: %v %v", resp, err)
	}
	waitFor(t, "the replay processed", func() bool {
		return a.count(t, `SELECT COUNT(*) FROM inbox WHERE state = 'pending'`) == 0
	})
	if got := a.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, post.GUID); got != 1 {
		t.Errorf("posts with the guid after replay = %d", got)
	}
	if got := a.count(t, `SELECT COUNT(*) FROM interactions`); got != before {
		t.Errorf("interactions after replay = %d, want %d", got, before)
	}

	// Retraction: gone everywhere.
	b.call(t, "DELETE", "/api/posts/"+post.GUID, bobTok, nil, http.StatusNoContent, nil)
	for _, p := range []struct {
		pod   *testPod
		token string
	}{{a, aliceTok}, {c, carolTok}} {
		waitFor(t, "the retraction on "+p.pod.Host, func() bool { _, ok := p.pod.post(t, p.token, post.GUID); return !ok })
	}

	// Blocking: B stops sending to A; C still gets bob's posts.
	if err := b.store.SetBlocked(context.Background(), a.Host, true); err != nil {
		t.Fatal(err)
	}
	var second store.PostView
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "second"}, http.StatusCreated, &second)
	waitFor(t, "the second post on C", func() bool { _, ok := c.post(t, carolTok, second.GUID); return ok })
	if n := b.count(t, `SELECT COUNT(*) FROM outbox WHERE host = ?`, a.Host); n != 0 {
		t.Errorf("B queued %d deliveries to blocked A", n)
	}
	if _, ok := a.post(t, aliceTok, second.GUID); ok {
		t.Error("A received a post from B although B blocks A")
	}

	// Carol stops sharing with bob: B learns it, and bob's contact of
	// carol, which was only that, is gone.
	c.call(t, "DELETE", "/api/contacts/"+bob, carolTok, nil, http.StatusNoContent, nil)
	waitFor(t, "the end of sharing on B", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE person_id = ?`, carol) == 0
	})
	c.call(t, "GET", "/api/contacts/"+bob, carolTok, nil, http.StatusNotFound, nil)

	// Delivery health: B delivered to C, nothing pending.
	h, err := b.store.Health(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, ph := range h {
		if ph.Host == c.Host && (ph.Delivered == 0 || ph.LastSuccess == "" || ph.QueueDepth != 0) {
			t.Errorf("health of C on B = %+v", ph)
		}
		if ph.Host == a.Host && !ph.Blocked {
			t.Errorf("health of A on B = %+v, want blocked", ph)
		}
	}
	// B asked C's NodeInfo after delivering to it.
	waitFor(t, "C's software on B", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM pods WHERE host = ? AND software = 'go-diaspora-pod' AND version = '0.1'`, c.Host) == 1
	})
}

func get(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestFederationPrivate covers limited posts, profiles, reshares,
// conversations and account deletion between two pods.
func TestFederationPrivate(t *testing.T) {
	a, b, c := startPod(t), startPod(t), startPod(t)
	alice, aliceTok := a.user(t, "alice")
	bob, bobTok := b.user(t, "bob")
	carol, carolTok := c.user(t, "carol")

	// Mutual following, bob and carol in alice's Family aspect.
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": bob, "aspect": "Family"}, http.StatusCreated, nil)
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": carol, "aspect": "Family"}, http.StatusCreated, nil)
	b.call(t, "POST", "/api/contacts", bobTok, map[string]string{"id": alice}, http.StatusCreated, nil)
	waitFor(t, "contacts on both sides", func() bool {
		return a.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1 && b.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1
	})

	// A limited post goes encrypted to bob only; it is not fetchable.
	var limited store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "family only", "public": false, "aspects": []string{"Family"}}, http.StatusCreated, &limited)
	if limited.Public {
		t.Fatal("the limited post is public")
	}
	waitFor(t, "the limited post on B", func() bool { _, ok := b.post(t, bobTok, limited.GUID); return ok })
	if resp := get(t, a.URL+"fetch/post/"+limited.GUID); resp.StatusCode != http.StatusNotFound {
		t.Errorf("fetch of a limited post = %d, want 404", resp.StatusCode)
	}
	// Bob comments privately; alice's pod stores it and relays it,
	// encrypted, to carol.
	b.call(t, "POST", "/api/posts/"+limited.GUID+"/comments", bobTok, map[string]string{"text": "for family"}, http.StatusCreated, nil)
	waitFor(t, "bob's private comment on A", func() bool { v, _ := a.post(t, aliceTok, limited.GUID); return len(v.Comments) == 1 })
	waitFor(t, "bob's comment relayed to C", func() bool { v, _ := c.post(t, carolTok, limited.GUID); return len(v.Comments) == 1 })
	if _, ok := c.post(t, carolTok, limited.GUID); !ok {
		t.Fatal("carol cannot read the limited post")
	}
	// Nobody else on C can read it.
	_, daveTok := c.user(t, "dave")
	if _, ok := c.post(t, daveTok, limited.GUID); ok {
		t.Error("dave reads a post limited to carol")
	}

	// Profile update reaches B (and B's hCard of alice is not involved).
	a.call(t, "PUT", "/api/profile", aliceTok, map[string]string{"full_name": "Alice Liddell", "bio": "down the rabbit hole"}, http.StatusNoContent, nil)
	waitFor(t, "alice's profile on B", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM people WHERE id = ? AND full_name = 'Alice Liddell'`, alice) == 1
	})

	// Reshare: bob reshares alice's public post; A receives the reshare.
	var pub, reshare store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "public words"}, http.StatusCreated, &pub)
	waitFor(t, "the public post on B", func() bool { _, ok := b.post(t, bobTok, pub.GUID); return ok })
	b.call(t, "POST", "/api/posts/"+pub.GUID+"/reshares", bobTok, nil, http.StatusCreated, &reshare)
	waitFor(t, "the reshare on A", func() bool {
		v, ok := a.post(t, aliceTok, reshare.GUID)
		return ok && v.RootGUID == pub.GUID && v.Type == "reshare"
	})

	// A conversation and a reply.
	var conv store.ConversationView
	a.call(t, "POST", "/api/conversations", aliceTok, map[string]any{"subject": "tea", "text": "tea at five?", "participants": []string{bob}}, http.StatusCreated, &conv)
	waitFor(t, "the conversation on B", func() bool {
		var cs struct{ Conversations []store.ConversationView }
		b.call(t, "GET", "/api/conversations", bobTok, nil, http.StatusOK, &cs)
		return len(cs.Conversations) == 1 && cs.Conversations[0].GUID == conv.GUID
	})
	b.call(t, "POST", "/api/conversations/"+conv.GUID+"/messages", bobTok, map[string]string{"text": "yes!"}, http.StatusCreated, nil)
	waitFor(t, "the reply on A", func() bool {
		var c store.ConversationView
		a.call(t, "GET", "/api/conversations/"+conv.GUID, aliceTok, nil, http.StatusOK, &c)
		return len(c.Messages) == 2 && c.Messages[1].Author == bob
	})

	// Account deletion: bob's content disappears from A, his token dies.
	b.call(t, "DELETE", "/api/account", bobTok, map[string]string{"password": "wrong"}, http.StatusForbidden, nil)
	b.call(t, "DELETE", "/api/account", bobTok, map[string]string{"password": "password-bob"}, http.StatusNoContent, nil)
	b.call(t, "GET", "/api/me", bobTok, nil, http.StatusUnauthorized, nil)
	waitFor(t, "bob's reshare gone from A", func() bool { _, ok := a.post(t, aliceTok, reshare.GUID); return !ok })
	if resp := get(t, b.URL+".well-known/webfinger?resource=acct:"+bob); resp.StatusCode != http.StatusNotFound {
		t.Errorf("webfinger of a deleted account = %d, want 404", resp.StatusCode)
	}
}

// TestDeliverySurvivesOutageAndRestart: a delivery to a pod that is down
// is retried, survives a restart of the sending pod, and arrives once the
// peer is back.
func TestDeliverySurvivesOutageAndRestart(t *testing.T) {
	aDir, bDir := t.TempDir(), t.TempDir()
	a, stopA := startPodAt(t, aDir, "127.0.0.1:0")
	b, stopB := startPodAt(t, bDir, "127.0.0.1:0")
	alice, aliceTok := a.user(t, "alice")
	_, bobTok := b.user(t, "bob")
	b.call(t, "POST", "/api/contacts", bobTok, map[string]string{"id": alice}, http.StatusCreated, nil)
	waitFor(t, "A to learn its follower", func() bool { return a.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1 })

	stopB() // B is down
	var post store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "are you there?"}, http.StatusCreated, &post)
	waitFor(t, "a failed attempt", func() bool {
		return a.count(t, `SELECT COUNT(*) FROM outbox WHERE attempts >= 1`) == 1
	})
	stopA() // the sender restarts with the delivery still queued
	a, _ = startPodAt(t, aDir, a.Host)
	b, _ = startPodAt(t, bDir, b.Host) // B is back
	waitFor(t, "the post on B", func() bool { _, ok := b.post(t, bobTok, post.GUID); return ok })
	waitFor(t, "an empty outbox on A", func() bool { return a.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	if n := b.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, post.GUID); n != 1 {
		t.Errorf("B holds the post %d times", n)
	}
}

// TestFetchUnknownRoot: a reshare whose root a pod does not know makes it
// fetch the root from the root author's pod (GET /fetch, redirects
// followed), check it through the receive pipeline, and accept the reshare.
func TestFetchUnknownRoot(t *testing.T) {
	a, b, c := startPod(t), startPod(t), startPod(t)
	alice, aliceTok := a.user(t, "alice")
	bob, bobTok := b.user(t, "bob")
	_, carolTok := c.user(t, "carol")
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]string{"id": bob}, http.StatusCreated, nil)
	c.call(t, "POST", "/api/contacts", carolTok, map[string]string{"id": alice}, http.StatusCreated, nil)
	waitFor(t, "followers", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1 && a.count(t, `SELECT COUNT(*) FROM contacts WHERE sharing = 1`) == 1
	})
	var post, reshare store.PostView
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "worth sharing"}, http.StatusCreated, &post)
	waitFor(t, "the post on A", func() bool { _, ok := a.post(t, aliceTok, post.GUID); return ok })
	a.call(t, "POST", "/api/posts/"+post.GUID+"/reshares", aliceTok, nil, http.StatusCreated, &reshare)
	waitFor(t, "the reshare on C", func() bool { _, ok := c.post(t, carolTok, reshare.GUID); return ok })
	root, ok := c.post(t, carolTok, post.GUID)
	if !ok || root.Author != bob || root.Text != "worth sharing" {
		t.Errorf("fetched root on C = %+v, %v", root, ok)
	}
}
