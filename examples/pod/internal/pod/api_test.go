package pod

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

func TestAPIAuth(t *testing.T) {
	p := startPod(t)
	_, token := p.user(t, "dana")

	// No token, a malformed header, an unknown token: 401.
	p.call(t, "GET", "/api/stream", "", nil, http.StatusUnauthorized, nil)
	p.call(t, "GET", "/api/stream", "not-a-token", nil, http.StatusUnauthorized, nil)
	req := httptest.NewRequest("GET", "/api/stream", nil)
	req.Header.Set("Authorization", "Basic ZGFuYTpwdw==")
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || !strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("Basic auth = %d %q", rec.Code, rec.Header().Get("WWW-Authenticate"))
	}

	// Wrong password and unknown user look alike.
	p.call(t, "POST", "/api/session", "", map[string]string{"username": "dana", "password": "wrong-password"}, http.StatusUnauthorized, nil)
	p.call(t, "POST", "/api/session", "", map[string]string{"username": "nobody", "password": "wrong-password"}, http.StatusUnauthorized, nil)
	p.call(t, "POST", "/api/session", "", map[string]any{"username": "dana", "extra": 1}, http.StatusBadRequest, nil)

	// The token works, is stored only as a hash, and logout revokes it.
	var me struct{ ID string }
	p.call(t, "GET", "/api/me", token, nil, http.StatusOK, &me)
	if me.ID != "dana@"+p.Host {
		t.Errorf("me = %q", me.ID)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM sessions WHERE token_hash = ?`, []byte(token)); n != 0 {
		t.Error("the token is stored in clear")
	}
	if n := p.count(t, `SELECT COUNT(*) FROM sessions WHERE token_hash = ?`, HashToken(token)); n != 1 {
		t.Error("the token hash is not stored")
	}
	p.call(t, "DELETE", "/api/session", token, nil, http.StatusNoContent, nil)
	p.call(t, "GET", "/api/me", token, nil, http.StatusUnauthorized, nil)

	// Suspension ends sessions and logins.
	_, token = p.user(t, "erin")
	if err := p.store.SetSuspended(context.Background(), "erin", true); err != nil {
		t.Fatal(err)
	}
	p.call(t, "GET", "/api/me", token, nil, http.StatusUnauthorized, nil)
	p.call(t, "POST", "/api/session", "", map[string]string{"username": "erin", "password": "password-erin"}, http.StatusUnauthorized, nil)
}

func TestAPIPostsLocal(t *testing.T) {
	p := startPod(t)
	fay, fayTok := p.user(t, "fay")
	_, gusTok := p.user(t, "gus")

	p.call(t, "POST", "/api/posts", fayTok, map[string]string{"text": "  "}, http.StatusUnprocessableEntity, nil)
	var post store.PostView
	p.call(t, "POST", "/api/posts", fayTok, map[string]string{"text": "first #post"}, http.StatusCreated, &post)
	if post.Author != fay || !post.Public || post.Text != "first #post" {
		t.Fatalf("post = %+v", post)
	}
	// gus is on the same pod: he follows fay without federation.
	p.call(t, "POST", "/api/contacts", gusTok, map[string]string{"id": fay, "aspect": "Work"}, http.StatusCreated, nil)
	var stream struct{ Posts []store.PostView }
	p.call(t, "GET", "/api/stream", gusTok, nil, http.StatusOK, &stream)
	if len(stream.Posts) != 1 || stream.Posts[0].GUID != post.GUID {
		t.Fatalf("gus's stream = %+v", stream.Posts)
	}
	p.call(t, "POST", "/api/posts/"+post.GUID+"/comments", gusTok, map[string]string{"text": "welcome"}, http.StatusCreated, nil)
	p.call(t, "POST", "/api/posts/"+post.GUID+"/likes", gusTok, nil, http.StatusCreated, nil)
	v, _ := p.post(t, fayTok, post.GUID)
	if len(v.Comments) != 1 || len(v.Likes) != 1 {
		t.Errorf("post = %+v, want a comment and a like", v)
	}
	// Only the author deletes; then it is gone.
	p.call(t, "DELETE", "/api/posts/"+post.GUID, gusTok, nil, http.StatusForbidden, nil)
	p.call(t, "DELETE", "/api/posts/"+post.GUID, fayTok, nil, http.StatusNoContent, nil)
	p.call(t, "GET", "/api/posts/"+post.GUID, fayTok, nil, http.StatusNotFound, nil)
	p.call(t, "POST", "/api/contacts", gusTok, map[string]string{"id": fay, "aspect": "Nope"}, http.StatusUnprocessableEntity, nil)

	var again store.PostView
	p.call(t, "POST", "/api/posts", fayTok, map[string]string{"text": "in the <feed> & on the page"}, http.StatusCreated, &again)
	// The Atom feed escapes the text (the pages are internal/web's).
	for _, path := range []string{"public/fay.atom"} {
		resp := get(t, p.URL+path)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "in the &lt;feed&gt; &amp; on the page") {
			t.Errorf("GET /%s = %d %s", path, resp.StatusCode, body)
		}
	}
}

func TestReceiveHandler(t *testing.T) {
	p := startPod(t)
	p.user(t, "hal")
	h := p.Handler()
	// Unknown private recipient: 404, nothing stored.
	req := httptest.NewRequest("POST", "/receive/users/0123456789abcdef0123456789abcdef", strings.NewReader(`{"aes_key":"x","encrypted_magic_envelope":"y"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Errorf("unknown recipient = %d, want 404", rec.Code)
	}
	// A public envelope whose signature is garbage is accepted (202),
	// stored, then refused by the worker: only its hash, size and first
	// bytes are kept.
	req = httptest.NewRequest("POST", "/receive/public", strings.NewReader(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env"><me:data type="application/xml">AAAA</me:data><me:encoding>base64url</me:encoding><me:alg>RSA-SHA256</me:alg><me:sig key_id="bm9ib2R5QG5vd2hlcmUuaW52YWxpZA">AAAA</me:sig></me:env>`))
	req.Header.Set("Content-Type", "application/magic-envelope+xml")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("public body = %d, want 202", rec.Code)
	}
	waitFor(t, "the body to be judged", func() bool {
		return p.count(t, `SELECT COUNT(*) FROM inbox_rejected WHERE category != '' AND length(sha256) = 64 AND size > 64 AND length(prefix) = 128`) == 1
	})
	if n := p.count(t, `SELECT COUNT(*) FROM inbox`); n != 0 {
		t.Errorf("%d inbox rows left after the refusal", n)
	}
	// A body that is no envelope at all is refused at the door: 202,
	// nothing stored, not even a record.
	req = httptest.NewRequest("POST", "/receive/public", strings.NewReader(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env">`+strings.Repeat("A", 4096)))
	req.Header.Set("Content-Type", "application/magic-envelope+xml")
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("junk body = %d, want 202", rec.Code)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM inbox`) + p.count(t, `SELECT COUNT(*) FROM inbox_rejected`); n != 1 {
		t.Errorf("the junk body left %d rows beside the earlier record", n-1)
	}

	// A body from a blocked pod: 202, nothing stored.
	if err := p.store.SetBlocked(context.Background(), "blocked.example", true); err != nil {
		t.Fatal(err)
	}
	key, _ := magicenv.GenerateKey(2048, nil)
	env, err := magicenv.Sign([]byte("<status_message/>"), "eve@blocked.example", key, nil)
	if err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest("POST", "/receive/public", strings.NewReader(string(env.Marshal())))
	req.Header.Set("Content-Type", magicenv.ContentType)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("blocked body = %d, want 202", rec.Code)
	}
	if n := p.count(t, `SELECT COUNT(*) FROM inbox`) + p.count(t, `SELECT COUNT(*) FROM inbox_rejected`); n != 1 {
		t.Errorf("inbox and rejected rows = %d, want only the earlier record", n)
	}
}

// TestInboxSurvivesRestart: a body answered 202 is processed after a
// restart even if the pod stopped before its worker got to it.
func TestInboxSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	sender := startPod(t)
	ivan, ivanTok := sender.user(t, "ivan")
	var post store.PostView
	sender.call(t, "POST", "/api/posts", ivanTok, map[string]string{"text": "stored before 202"}, http.StatusCreated, &post)
	resp := get(t, sender.URL+"fetch/post/"+post.GUID)
	env, _ := io.ReadAll(resp.Body)
	resp.Body.Close()

	// A pod whose workers are not running: the handler alone stores the body.
	p, err := NewPod(context.Background(), Config{PublicURL: "http://127.0.0.1:1/", DB: testDBAt(t, dir), DataDir: dir, KeyBits: 2048, Dev: true, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/receive/public", strings.NewReader(string(env)))
	req.Header.Set("Content-Type", "application/magic-envelope+xml")
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusAccepted {
		t.Fatalf("receive = %d", rec.Code)
	}
	p.Close() // "crash" before processing

	q, _ := startPodAt(t, dir, "127.0.0.1:0")
	waitFor(t, "the stored body to be processed", func() bool {
		return q.count(t, `SELECT COUNT(*) FROM posts WHERE guid = ? AND author = ?`, post.GUID, ivan) == 1
	})
	if n := q.count(t, `SELECT COUNT(*) FROM inbox`); n != 0 {
		t.Errorf("inbox rows left: %d", n)
	}
}

// TestAPIAspects: list, create, rename and delete aspects with member
// counts; a local contact in several aspects; deleting the last aspect of
// a contact stops sharing.
func TestAPIAspects(t *testing.T) {
	p := startPod(t)
	_, hanTok := p.user(t, "han")
	leia, leiaTok := p.user(t, "leia")
	var list struct{ Aspects []store.AspectView }
	p.call(t, "GET", "/api/aspects", hanTok, nil, http.StatusOK, &list)
	if len(list.Aspects) != len(store.DefaultAspects) || list.Aspects[0].Name != store.DefaultAspects[0] {
		t.Fatalf("aspects = %+v, want the defaults", list.Aspects)
	}
	var pilots store.AspectView
	p.call(t, "POST", "/api/aspects", hanTok, map[string]string{"name": "  Pilots "}, http.StatusCreated, &pilots)
	if pilots.Name != "Pilots" || pilots.ID == 0 || pilots.Members != 0 {
		t.Errorf("created %+v", pilots)
	}
	for _, bad := range []struct {
		name string
		want int
	}{{"Pilots", http.StatusConflict}, {"", http.StatusUnprocessableEntity}, {"a\x00b", http.StatusUnprocessableEntity},
		{strings.Repeat("x", 256), http.StatusUnprocessableEntity}} {
		var e struct{ Error string }
		p.call(t, "POST", "/api/aspects", hanTok, map[string]string{"name": bad.name}, bad.want, &e)
		if e.Error == "" || strings.Contains(e.Error, "pod:") {
			t.Errorf("aspect %q: error %q", bad.name, e.Error)
		}
	}
	// Leia in two aspects: one contact, both directions known locally.
	var c store.ContactView
	p.call(t, "POST", "/api/contacts", hanTok, map[string]any{"id": leia, "aspects": []string{"Pilots", "Friends"}}, http.StatusCreated, &c)
	if !c.Receiving || len(c.Aspects) != 2 {
		t.Fatalf("contact = %+v", c)
	}
	var lc store.ContactView
	p.call(t, "GET", "/api/contacts/han@"+p.Host, leiaTok, nil, http.StatusOK, &lc)
	if !lc.Sharing || lc.Receiving {
		t.Errorf("leia's contact of han = %+v, want sharing only", lc)
	}
	var renamed store.AspectView
	p.call(t, "PUT", "/api/aspects/"+strconv.FormatInt(pilots.ID, 10), hanTok, map[string]string{"name": "Smugglers"}, http.StatusOK, &renamed)
	if renamed.Name != "Smugglers" || renamed.Members != 1 {
		t.Errorf("renamed = %+v", renamed)
	}
	p.call(t, "PUT", "/api/aspects/"+strconv.FormatInt(pilots.ID, 10), hanTok, map[string]string{"name": "Friends"}, http.StatusConflict, nil)
	// Leia cannot see, rename or delete han's aspects.
	p.call(t, "PUT", "/api/aspects/"+strconv.FormatInt(pilots.ID, 10), leiaTok, map[string]string{"name": "Mine"}, http.StatusNotFound, nil)
	p.call(t, "DELETE", "/api/aspects/"+strconv.FormatInt(pilots.ID, 10), leiaTok, nil, http.StatusNotFound, nil)
	p.call(t, "DELETE", "/api/aspects/abc", hanTok, nil, http.StatusNotFound, nil)

	// Deleting one of leia's two aspects keeps sharing; the last stops it.
	p.call(t, "DELETE", "/api/aspects/"+strconv.FormatInt(pilots.ID, 10), hanTok, nil, http.StatusNoContent, nil)
	p.call(t, "GET", "/api/contacts/"+leia, hanTok, nil, http.StatusOK, &c)
	if !c.Receiving || len(c.Aspects) != 1 || c.Aspects[0] != "Friends" {
		t.Errorf("after deleting Smugglers: %+v", c)
	}
	p.call(t, "GET", "/api/aspects", hanTok, nil, http.StatusOK, &list)
	var friends store.AspectView
	for _, a := range list.Aspects {
		if a.Name == "Friends" {
			friends = a
		}
	}
	if friends.Members != 1 {
		t.Errorf("Friends = %+v, want 1 member", friends)
	}
	p.call(t, "DELETE", "/api/aspects/"+strconv.FormatInt(friends.ID, 10), hanTok, nil, http.StatusNoContent, nil)
	p.call(t, "GET", "/api/contacts/"+leia, hanTok, nil, http.StatusNotFound, nil)
	p.call(t, "GET", "/api/contacts/han@"+p.Host, leiaTok, nil, http.StatusNotFound, nil)
	var contacts struct{ Contacts []store.ContactView }
	p.call(t, "GET", "/api/contacts", hanTok, nil, http.StatusOK, &contacts)
	if len(contacts.Contacts) != 0 {
		t.Errorf("contacts = %+v, want none", contacts.Contacts)
	}
}

// TestAPIValidation: requests the API refuses, each with a JSON error a
// person understands and nothing stored.
func TestAPIValidation(t *testing.T) {
	p := startPod(t)
	kim, kimTok := p.user(t, "kim")
	cases := []struct {
		method, path string
		body         any
		want         int
		says         string
	}{
		{"POST", "/api/posts", map[string]any{"text": "to nobody", "public": false, "aspects": []string{"Nope"}}, 422, `no aspect named "Nope"`},
		{"POST", "/api/posts", map[string]any{"text": "to nobody", "public": false}, 422, "needs at least one aspect"},
		{"POST", "/api/posts", map[string]any{"text": "both", "aspects": []string{"Family"}}, 422, "public post"},
		{"POST", "/api/posts", map[string]any{"text": ""}, 422, "needs text"},
		{"POST", "/api/posts", map[string]any{"text": "x", "poll": map[string]any{"question": "?", "answers": []string{"one"}}}, 422, "two answers"},
		{"POST", "/api/posts", map[string]any{"text": "x", "photos": []string{"javascript:alert(1)"}}, 422, "not an http(s) URL"},
		{"POST", "/api/posts", map[string]any{"txt": "typo"}, 400, `unknown field "txt"`},
		{"POST", "/api/posts", "not an object", 400, "not the JSON"},
		{"POST", "/api/contacts", map[string]any{"id": "not an id"}, 422, "not a diaspora* ID"},
		{"POST", "/api/contacts", map[string]any{"id": kim}, 422, "yourself"},
		{"POST", "/api/contacts", map[string]any{"id": "x@" + p.Host, "aspect": "Nope"}, 422, `no aspect named "Nope"`},
		{"PUT", "/api/contacts/x@" + p.Host, map[string]any{}, 422, `give "aspects"`},
		{"GET", "/api/stream?limit=0", nil, 400, "limit"},
		{"GET", "/api/notifications?unread=maybe", nil, 400, "unread"},
		{"GET", "/api/nothing-here", nil, 404, "no API route"},
		{"PATCH", "/api/me", nil, 405, "GET"},
		{"GET", "/api/posts/0123456789abcdef0123456789abcdef", nil, 404, "not found"},
		{"POST", "/api/posts", map[string]any{"text": strings.Repeat("x", 300<<10)}, 413, "larger than 256 KiB"},
		{"POST", "/api/posts", map[string]any{"text": "to many", "public": false, "aspects": manyAspectNames(2000)}, 422, "more than 100 aspects"},
	}
	for _, c := range cases {
		var e struct{ Error string }
		p.call(t, c.method, c.path, kimTok, c.body, c.want, &e)
		if !strings.Contains(e.Error, c.says) {
			t.Errorf("%s %s: error %q, want it to say %q", c.method, c.path, e.Error, c.says)
		}
	}
	if n := p.count(t, `SELECT COUNT(*) FROM posts`) + p.count(t, `SELECT COUNT(*) FROM contacts`); n != 0 {
		t.Errorf("refused requests stored %d rows", n)
	}
	// The vote answers with the chosen answer, not in "text".
	var post store.PostView
	p.call(t, "POST", "/api/posts", kimTok, map[string]any{"text": "tea or coffee?", "poll": map[string]any{"question": "which?", "answers": []string{"tea", "coffee"}}}, http.StatusCreated, &post)
	var vote map[string]any
	p.call(t, "POST", "/api/posts/"+post.GUID+"/poll", kimTok, map[string]string{"answer": post.Poll.Answers[1].GUID}, http.StatusCreated, &vote)
	if vote["answer"] != post.Poll.Answers[1].GUID || vote["text"] != nil {
		t.Errorf("vote = %v, want the answer guid under \"answer\" and no text", vote)
	}
	p.call(t, "POST", "/api/posts/"+post.GUID+"/poll", kimTok, map[string]string{"answer": post.Poll.Answers[0].GUID}, http.StatusConflict, nil)
}

// manyAspectNames returns n distinct aspect names.
func manyAspectNames(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "aspect " + strconv.Itoa(i)
	}
	return out
}
