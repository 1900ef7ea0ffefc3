package pod

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// notifications reads a user's notifications through the API.
func (tp *testPod) notifications(t *testing.T, token string) (unread int, ns []store.NotificationView) {
	t.Helper()
	var out struct {
		Unread        int
		Notifications []store.NotificationView
	}
	tp.call(t, "GET", "/api/notifications", token, nil, http.StatusOK, &out)
	return out.Unread, out.Notifications
}

// hasNotification reports whether ns holds a notification of typ by actor.
func hasNotification(ns []store.NotificationView, typ, actor, target string) bool {
	for _, n := range ns {
		if n.Type == typ && n.Actor == actor && n.TargetGUID == target {
			return true
		}
	}
	return false
}

// TestSharingModel: diaspora*'s sharing model across three pods. Alice
// (A) shares with bob (B), who does not share back: alice's public post
// and her post limited to an aspect with bob reach B, a post limited to
// an aspect without bob does not; bob's public posts reach A because
// alice is bob's contact; once bob shares back, alice learns it. Bob's
// stream shows only his aspects, alice's posts stay reachable on her
// profile and in his notifications.
func TestSharingModel(t *testing.T) {
	a, b, c := startPod(t), startPod(t), startPod(t)
	alice, aliceTok := a.user(t, "alice")
	bob, bobTok := b.user(t, "bob")
	carol, carolTok := c.user(t, "carol")

	var ct store.ContactView
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]any{"id": bob, "aspects": []string{"Friends"}}, http.StatusCreated, &ct)
	if ct.ID != bob || !ct.Receiving || ct.Sharing || len(ct.Aspects) != 1 || ct.Aspects[0] != "Friends" {
		t.Fatalf("contact after sharing = %+v", ct)
	}
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]any{"id": carol, "aspect": "Family"}, http.StatusCreated, nil)
	waitFor(t, "bob to learn that alice shares with him", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE person_id = ? AND sharing = 1 AND receiving = 0`, alice) == 1
	})
	var bc store.ContactView
	b.call(t, "GET", "/api/contacts/"+alice, bobTok, nil, http.StatusOK, &bc)
	if !bc.Sharing || bc.Receiving || len(bc.Aspects) != 0 {
		t.Errorf("bob's contact of alice = %+v, want sharing only", bc)
	}
	if _, ns := b.notifications(t, bobTok); !hasNotification(ns, "started_sharing", alice, "") {
		t.Errorf("bob's notifications = %+v, want started_sharing by alice", ns)
	}

	// Alice's public post reaches B although bob does not share with her.
	var pub, friends, family store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "public hello"}, http.StatusCreated, &pub)
	waitFor(t, "alice's public post on B", func() bool { _, ok := b.post(t, bobTok, pub.GUID); return ok })
	// A post limited to Friends (bob) reaches B; one limited to Family
	// (carol) reaches C and not B.
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "friends only", "public": false, "aspects": []string{"Friends"}}, http.StatusCreated, &friends)
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "family only", "public": false, "aspects": []string{"Family", "Family"}}, http.StatusCreated, &family)
	waitFor(t, "the Friends post on B", func() bool { _, ok := b.post(t, bobTok, friends.GUID); return ok })
	waitFor(t, "the Family post on C", func() bool { _, ok := c.post(t, carolTok, family.GUID); return ok })
	waitFor(t, "A's outbox to empty", func() bool { return a.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	if n := b.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ?`, family.GUID); n != 0 {
		t.Error("the post limited to Family (without bob) reached B")
	}
	if n := a.count(t, `SELECT COUNT(*) FROM post_recipients WHERE post_guid = ?`, family.GUID); n != 1 {
		t.Errorf("the Family post has %d remote recipients, want 1 (carol once)", n)
	}
	if _, ok := c.post(t, carolTok, friends.GUID); ok {
		t.Error("carol reads the post limited to Friends")
	}

	// Bob's stream is his own posts and his aspects' people: not alice's.
	var stream struct{ Posts []store.PostView }
	b.call(t, "GET", "/api/stream", bobTok, nil, http.StatusOK, &stream)
	if len(stream.Posts) != 0 {
		t.Errorf("bob's stream = %d posts, want none (alice is in none of his aspects)", len(stream.Posts))
	}
	// Alice's posts stay reachable on her profile.
	var hers struct{ Posts []store.PostView }
	b.call(t, "GET", "/api/people/"+alice+"/posts", bobTok, nil, http.StatusOK, &hers)
	if len(hers.Posts) != 2 {
		t.Errorf("alice's posts seen by bob = %d, want 2 (public and Friends)", len(hers.Posts))
	}

	// Bob's public post reaches A before he shares back: alice is his
	// contact (she shares with him), and bob is in her aspects.
	var bobs store.PostView
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "from bob, to his contacts"}, http.StatusCreated, &bobs)
	waitFor(t, "bob's public post on A", func() bool { _, ok := a.post(t, aliceTok, bobs.GUID); return ok })
	a.call(t, "GET", "/api/stream", aliceTok, nil, http.StatusOK, &stream)
	if !slices.ContainsFunc(stream.Posts, func(v store.PostView) bool { return v.GUID == bobs.GUID }) {
		t.Errorf("alice's stream lacks bob's post: %+v", stream.Posts)
	}

	// Bob shares back: alice learns it, and bob's next public post
	// reaches A; bob's stream now shows alice's posts.
	b.call(t, "POST", "/api/contacts", bobTok, map[string]any{"id": alice, "aspects": []string{"Work", "Acquaintances"}}, http.StatusCreated, &bc)
	if !bc.Sharing || !bc.Receiving || len(bc.Aspects) != 2 {
		t.Errorf("bob's contact of alice after sharing back = %+v", bc)
	}
	waitFor(t, "alice to learn that bob shares back", func() bool {
		return a.count(t, `SELECT COUNT(*) FROM contacts WHERE person_id = ? AND sharing = 1 AND receiving = 1`, bob) == 1
	})
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "now we share"}, http.StatusCreated, &bobs)
	waitFor(t, "bob's next public post on A", func() bool { _, ok := a.post(t, aliceTok, bobs.GUID); return ok })
	b.call(t, "GET", "/api/stream", bobTok, nil, http.StatusOK, &stream)
	if len(stream.Posts) != 4 {
		t.Errorf("bob's stream = %d posts, want his 2 and alice's 2", len(stream.Posts))
	}

	// Notifications on A: bob comments on, likes and reshares alice's
	// post and mentions her.
	b.call(t, "POST", "/api/posts/"+pub.GUID+"/comments", bobTok, map[string]string{"text": "hi alice"}, http.StatusCreated, nil)
	b.call(t, "POST", "/api/posts/"+pub.GUID+"/likes", bobTok, nil, http.StatusCreated, nil)
	var reshare, mention store.PostView
	b.call(t, "POST", "/api/posts/"+pub.GUID+"/reshares", bobTok, nil, http.StatusCreated, &reshare)
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "hello @{Alice; " + alice + "}"}, http.StatusCreated, &mention)
	var ns []store.NotificationView
	waitFor(t, "alice's notifications", func() bool {
		_, ns = a.notifications(t, aliceTok)
		return hasNotification(ns, "comment_on_post", bob, pub.GUID) && hasNotification(ns, "liked", bob, pub.GUID) &&
			hasNotification(ns, "reshared", bob, pub.GUID) && hasNotification(ns, "mentioned", bob, mention.GUID) &&
			hasNotification(ns, "started_sharing", bob, "")
	})
	unread, _ := a.notifications(t, aliceTok)
	if unread != len(ns) || unread != 5 {
		t.Errorf("alice has %d unread of %d notifications, want 5 of 5", unread, len(ns))
	}
	a.call(t, "POST", "/api/notifications/read", aliceTok, map[string]any{"ids": []int64{ns[0].ID}}, http.StatusNoContent, nil)
	if unread, _ := a.notifications(t, aliceTok); unread != 4 {
		t.Errorf("unread after reading one = %d, want 4", unread)
	}
	var only struct{ Notifications []store.NotificationView }
	a.call(t, "GET", "/api/notifications?unread=true", aliceTok, nil, http.StatusOK, &only)
	if len(only.Notifications) != 4 {
		t.Errorf("unread notifications listed = %d, want 4", len(only.Notifications))
	}
	a.call(t, "POST", "/api/notifications/read", aliceTok, map[string]any{}, http.StatusNoContent, nil)
	if unread, _ := a.notifications(t, aliceTok); unread != 0 {
		t.Errorf("unread after reading all = %d", unread)
	}

	// Moving bob between aspects sends nothing; removing him from the
	// last one stops sharing, and bob learns it.
	before := a.count(t, `SELECT COUNT(*) FROM outbox_bodies`)
	a.call(t, "PUT", "/api/contacts/"+bob, aliceTok, map[string]any{"aspects": []string{"Work"}}, http.StatusOK, &ct)
	if len(ct.Aspects) != 1 || ct.Aspects[0] != "Work" || !ct.Receiving {
		t.Errorf("bob moved to Work = %+v", ct)
	}
	if n := a.count(t, `SELECT COUNT(*) FROM outbox_bodies`); n != before {
		t.Errorf("moving a contact between aspects queued %d bodies", n-before)
	}
	a.call(t, "PUT", "/api/contacts/"+bob, aliceTok, map[string]any{"aspects": []string{}}, http.StatusOK, &ct)
	if ct.Receiving || !ct.Sharing || len(ct.Aspects) != 0 {
		t.Errorf("bob after removal from every aspect = %+v", ct)
	}
	waitFor(t, "bob to learn that alice stopped sharing", func() bool {
		return b.count(t, `SELECT COUNT(*) FROM contacts WHERE person_id = ? AND sharing = 0 AND receiving = 1`, alice) == 1
	})
}

// TestSharingWithBlockedPod: sharing with someone on a blocked pod is a
// 422 that says why, and bodies from a blocked pod are logged as refused
// because the pod is blocked.
func TestSharingWithBlockedPod(t *testing.T) {
	a, log := startLoggedPod(t)
	b := startPod(t)
	alice, aliceTok := a.user(t, "alice")
	bob, bobTok := b.user(t, "bob")
	if err := a.store.SetBlocked(context.Background(), b.Host, true); err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	a.call(t, "POST", "/api/contacts", aliceTok, map[string]any{"id": bob}, http.StatusUnprocessableEntity, &e)
	if !strings.Contains(e.Error, "blocked") || !strings.Contains(e.Error, b.Host) {
		t.Errorf("error = %q, want it to say that %s is blocked", e.Error, b.Host)
	}
	if n := a.count(t, `SELECT COUNT(*) FROM contacts`) + a.count(t, `SELECT COUNT(*) FROM outbox`); n != 0 {
		t.Errorf("a refused share left %d rows", n)
	}
	// Bob shares with alice and posts publicly: A refuses both, saying why.
	b.call(t, "POST", "/api/contacts", bobTok, map[string]any{"id": alice}, http.StatusCreated, nil)
	b.call(t, "POST", "/api/posts", bobTok, map[string]any{"text": "hello from a blocked pod"}, http.StatusCreated, nil)
	waitFor(t, "B's deliveries", func() bool { return b.count(t, `SELECT COUNT(*) FROM outbox`) == 0 })
	waitFor(t, "A to log both refusals", func() bool {
		return strings.Count(log.String(), "refused because the sender's pod is blocked") >= 2
	})
	if n := a.count(t, `SELECT COUNT(*) FROM contacts`) + a.count(t, `SELECT COUNT(*) FROM posts`); n != 0 {
		t.Errorf("A stored %d rows from a blocked pod", n)
	}
}
