package pod

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// sessionTTL is the lifetime of a bearer token.
const sessionTTL = 30 * 24 * time.Hour

// maxAPIBody caps JSON request bodies.
const maxAPIBody = 256 << 10

// Bearer tokens are opaque: 32 random bytes, base64url, given to the
// client once. The store keeps only their SHA-256, so a leaked database
// holds no usable token; a plain hash suffices because the token has 256
// bits of entropy (no dictionary to guess from). Unlike a signed JWT a
// stored token can be revoked at once (logout, suspension) and needs no
// signing key to manage.

// NewToken makes a session token (256 random bits) and the hash the
// store keeps of it.
func NewToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token)
}

// HashToken is the hash under which the store keeps a session token.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

type userKey struct{}

// authed wraps an API handler that needs a logged-in user.
func (p *Pod) authed(h func(w http.ResponseWriter, r *http.Request, u *store.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pod"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		u, err := p.store.SessionUser(r.Context(), HashToken(strings.TrimSpace(token)))
		if errors.Is(err, store.ErrNotFound) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pod", error="invalid_token"`)
			writeError(w, http.StatusUnauthorized, "invalid or expired token")
			return
		}
		if err != nil {
			p.log.ErrorContext(r.Context(), "session lookup", "err", err)
			writeError(w, http.StatusInternalServerError, "internal error")
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)), u)
	}
}

func (p *Pod) registerAPI(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/session", p.apiLogin)
	mux.HandleFunc("DELETE /api/session", p.authed(p.apiLogout))
	mux.HandleFunc("GET /api/me", p.authed(func(w http.ResponseWriter, r *http.Request, u *store.User) {
		writeJSON(w, http.StatusOK, map[string]string{"id": u.ID, "guid": u.GUID, "username": u.Username})
	}))
	mux.HandleFunc("POST /api/posts", p.authed(p.apiCreatePost))
	mux.HandleFunc("GET /api/stream", p.authed(p.apiStream))
	mux.HandleFunc("GET /api/tags/{tag}", p.authed(p.apiStream))
	mux.HandleFunc("GET /api/posts/{guid}", p.authed(p.apiPost))
	mux.HandleFunc("DELETE /api/posts/{guid}", p.authed(p.apiDeletePost))
	mux.HandleFunc("POST /api/posts/{guid}/comments", p.authed(p.apiComment))
	mux.HandleFunc("POST /api/posts/{guid}/likes", p.authed(p.apiLike))
	mux.HandleFunc("GET /api/contacts", p.authed(p.apiContacts))
	mux.HandleFunc("POST /api/contacts", p.authed(p.apiShare))
	mux.HandleFunc("GET /api/contacts/{id}", p.authed(p.apiContact))
	mux.HandleFunc("PUT /api/contacts/{id}", p.authed(p.apiSetAspects))
	mux.HandleFunc("DELETE /api/contacts/{id}", p.authed(p.apiStopSharing))
	mux.HandleFunc("GET /api/aspects", p.authed(p.apiAspects))
	mux.HandleFunc("POST /api/aspects", p.authed(p.apiCreateAspect))
	mux.HandleFunc("PUT /api/aspects/{id}", p.authed(p.apiRenameAspect))
	mux.HandleFunc("DELETE /api/aspects/{id}", p.authed(p.apiDeleteAspect))
	mux.HandleFunc("GET /api/notifications", p.authed(p.apiNotifications))
	mux.HandleFunc("POST /api/notifications/read", p.authed(p.apiReadNotifications))
	mux.HandleFunc("GET /api/people/{id}", p.authed(p.apiPerson))
	mux.HandleFunc("GET /api/people/{id}/posts", p.authed(p.apiStream))
	mux.HandleFunc("POST /api/posts/{guid}/reshares", p.authed(p.apiReshare))
	mux.HandleFunc("POST /api/posts/{guid}/poll", p.authed(p.apiVote))
	mux.HandleFunc("PUT /api/profile", p.authed(p.apiProfile))
	mux.HandleFunc("DELETE /api/account", p.authed(p.apiDeleteAccount))
	mux.HandleFunc("GET /api/conversations", p.authed(p.apiConversations))
	mux.HandleFunc("POST /api/conversations", p.authed(p.apiStartConversation))
	mux.HandleFunc("GET /api/conversations/{guid}", p.authed(p.apiConversation))
	mux.HandleFunc("POST /api/conversations/{guid}/messages", p.authed(p.apiSendMessage))
	mux.HandleFunc("POST /api/photos", p.authed(p.apiUploadPhoto))
	mux.HandleFunc("GET /api/followed_tags", p.authed(p.apiFollowedTags))
	mux.HandleFunc("PUT /api/followed_tags/{tag}", p.authed(p.apiFollowTag))
	mux.HandleFunc("DELETE /api/followed_tags/{tag}", p.authed(p.apiFollowTag))
	mux.HandleFunc("GET /api/ignored", p.authed(p.apiIgnored))
	mux.HandleFunc("PUT /api/ignored/{id}", p.authed(p.apiIgnore))
	mux.HandleFunc("DELETE /api/ignored/{id}", p.authed(p.apiIgnore))
	mux.Handle("/api/", p.apiNotFound(mux))
}

func (p *Pod) apiVote(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Answer string `json:"answer"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	v, err := p.Vote(r.Context(), u, r.PathValue("guid"), in.Answer)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiReshare(w http.ResponseWriter, r *http.Request, u *store.User) {
	v, err := p.Reshare(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiProfile(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in ProfileInput
	if !readJSON(w, r, &in) {
		return
	}
	if err := p.UpdateProfile(r.Context(), u, in); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiDeleteAccount(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if err := p.DeleteAccount(r.Context(), u, in.Password, clientAddr(r)); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiConversations(w http.ResponseWriter, r *http.Request, u *store.User) {
	cs, err := p.store.Conversations(r.Context(), u)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": cs})
}

func (p *Pod) apiStartConversation(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in ConversationInput
	if !readJSON(w, r, &in) {
		return
	}
	c, err := p.StartConversation(r.Context(), u, in)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (p *Pod) apiConversation(w http.ResponseWriter, r *http.Request, u *store.User) {
	c, err := p.store.Conversation(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Pod) apiSendMessage(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Text string `json:"text"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	m, err := p.SendMessage(r.Context(), u, r.PathValue("guid"), in.Text)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// readJSON decodes a capped JSON body into v.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	return readJSONLimit(w, r, v, maxAPIBody)
}

// readJSONLimit is readJSON with a cap of its own.
func readJSONLimit(w http.ResponseWriter, r *http.Request, v any, limit int64) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "the body is larger than "+strconv.FormatInt(limit>>10, 10)+" KiB")
			return false
		}
		writeError(w, http.StatusBadRequest, "the body is not the JSON this route takes: "+jsonProblem(err))
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "the body holds more than one JSON value")
		return false
	}
	return true
}

// jsonProblem says what is wrong with a request body in the API's terms
// (no Go type names).
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
		return "not valid JSON"
	case errors.Is(err, io.EOF):
		return "empty body"
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("%q must be %s, not %s", typ.Field, jsonKind(typ.Type.Kind()), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("it must be %s, not %s", jsonKind(typ.Type.Kind()), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "not valid JSON"
}

// jsonKind names a Go kind as JSON does.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct, reflect.Pointer:
		return "an object"
	}
	return "a number"
}

// fail maps an action's error to a status: one place for every handler.
func (p *Pod) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg, retry := Problem(err)
	if status == http.StatusInternalServerError {
		p.log.ErrorContext(r.Context(), "api", "path", r.URL.Path, "err", err)
	}
	if retry > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
	}
	writeError(w, status, msg)
}

func (p *Pod) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	u, err := p.Login(r.Context(), in.Username, in.Password, clientAddr(r))
	if errors.Is(err, ErrForbidden) {
		writeError(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	token, hash := NewToken()
	expires := time.Now().Add(sessionTTL)
	if err := p.store.CreateSession(r.Context(), hash, u.Username, expires); err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": token, "token_type": "Bearer",
		"expires_at": expires.UTC().Format(time.RFC3339), "id": u.ID})
}

func (p *Pod) apiLogout(w http.ResponseWriter, r *http.Request, _ *store.User) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := p.store.DeleteSession(r.Context(), HashToken(strings.TrimSpace(token))); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiCreatePost(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in PostInput
	if !readJSON(w, r, &in) {
		return
	}
	in.IdempotencyKey = r.Header.Get("Idempotency-Key")
	v, err := p.CreatePost(r.Context(), u, in)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiStream(w http.ResponseWriter, r *http.Request, u *store.User) {
	limit := 20
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 100 {
			writeError(w, http.StatusBadRequest, "limit must be 1 to 100")
			return
		}
		limit = n
	}
	var before time.Time
	if s := r.URL.Query().Get("before"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "before must be an RFC 3339 time")
			return
		}
		before = t
	}
	author := ""
	if id := r.PathValue("id"); id != "" {
		var err error
		if author, err = discovery.NormalizeID(id); err != nil {
			p.fail(w, r, err)
			return
		}
	}
	posts, err := p.store.Stream(r.Context(), u, r.PathValue("tag"), author, limit, before)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"posts": posts})
}

func (p *Pod) apiPost(w http.ResponseWriter, r *http.Request, u *store.User) {
	v, err := p.store.PostView(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (p *Pod) apiDeletePost(w http.ResponseWriter, r *http.Request, u *store.User) {
	if err := p.DeletePost(r.Context(), u, r.PathValue("guid")); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiComment(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Text string `json:"text"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	v, err := p.Interact(r.Context(), u, r.PathValue("guid"), in.Text, false)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiLike(w http.ResponseWriter, r *http.Request, u *store.User) {
	v, err := p.Interact(r.Context(), u, r.PathValue("guid"), "", true)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// --- contacts, aspects, people, notifications ---

func (p *Pod) apiContacts(w http.ResponseWriter, r *http.Request, u *store.User) {
	cs, err := p.store.Contacts(r.Context(), u.Username)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"contacts": cs})
}

func (p *Pod) apiContact(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, err := discovery.NormalizeID(r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	c, err := p.store.Contact(r.Context(), u.Username, id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// apiShare adds a person to aspects ("aspect" or "aspects"; Friends when
// neither is given), discovering them when new.
func (p *Pod) apiShare(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		ID      string   `json:"id"`
		Aspect  string   `json:"aspect"`
		Aspects []string `json:"aspects"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	aspects := in.Aspects
	if in.Aspect != "" {
		aspects = append(aspects, in.Aspect)
	}
	if len(aspects) == 0 {
		aspects = []string{"Friends"}
	}
	c, err := p.ShareWith(r.Context(), u, in.ID, aspects, true)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// apiSetAspects replaces the aspects of a contact; an empty list stops
// sharing.
func (p *Pod) apiSetAspects(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Aspects *[]string `json:"aspects"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Aspects == nil {
		writeError(w, http.StatusUnprocessableEntity, `give "aspects": the names of the aspects the person is to be in ([] stops sharing)`)
		return
	}
	c, err := p.ShareWith(r.Context(), u, r.PathValue("id"), *in.Aspects, false)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Pod) apiStopSharing(w http.ResponseWriter, r *http.Request, u *store.User) {
	if _, err := p.ShareWith(r.Context(), u, r.PathValue("id"), nil, false); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiFollowedTags lists the tags the user follows.
func (p *Pod) apiFollowedTags(w http.ResponseWriter, r *http.Request, u *store.User) {
	tags, err := p.store.FollowedTags(r.Context(), u.Username)
	p.writeList(w, r, "tags", tags, err)
}

// writeList answers {key: list}, or the error.
func (p *Pod) writeList(w http.ResponseWriter, r *http.Request, key string, list []string, err error) {
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{key: list})
}

// apiFollowTag follows a tag (PUT) or stops following it (DELETE).
func (p *Pod) apiFollowTag(w http.ResponseWriter, r *http.Request, u *store.User) {
	if _, err := p.FollowTag(r.Context(), u, r.PathValue("tag"), r.Method == http.MethodPut); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiIgnored lists the people the user ignores.
func (p *Pod) apiIgnored(w http.ResponseWriter, r *http.Request, u *store.User) {
	ids, err := p.store.Ignored(r.Context(), u.Username)
	p.writeList(w, r, "ignored", ids, err)
}

// apiIgnore ignores a person (PUT) or stops ignoring them (DELETE).
func (p *Pod) apiIgnore(w http.ResponseWriter, r *http.Request, u *store.User) {
	if err := p.Ignore(r.Context(), u, r.PathValue("id"), r.Method == http.MethodPut); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiAspects(w http.ResponseWriter, r *http.Request, u *store.User) {
	as, err := p.store.Aspects(r.Context(), u.Username)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"aspects": as})
}

func (p *Pod) apiCreateAspect(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	a, err := p.CreateAspect(r.Context(), u, in.Name)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a)
}

// aspectID reads the {id} of an aspect route; a malformed one is not found.
func aspectID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func (p *Pod) apiRenameAspect(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Name string `json:"name"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	id, err := aspectID(r)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	a, err := p.RenameAspect(r.Context(), u, id, in.Name)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, a)
}

func (p *Pod) apiDeleteAspect(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, err := aspectID(r)
	if err == nil {
		err = p.DeleteAspect(r.Context(), u, id)
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// PersonView is a person as the API shows them, with the user's contact
// (null when none).
type PersonView struct {
	ID      string             `json:"id"`
	GUID    string             `json:"guid"`
	Name    string             `json:"name"`
	PodURL  string             `json:"pod_url"`
	Local   bool               `json:"local"`
	Contact *store.ContactView `json:"contact"`
}

// apiPerson finds a person by diaspora* ID, through discovery when the
// pod does not know them yet.
func (p *Pod) apiPerson(w http.ResponseWriter, r *http.Request, u *store.User) {
	id, err := discovery.NormalizeID(r.PathValue("id"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	per, err := p.lookup(r.Context(), id)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	v := PersonView{ID: per.ID, GUID: per.GUID, Name: per.FullName, PodURL: per.PodURL, Local: store.NormPod(per.PodURL) == p.base}
	if c, err := p.store.Contact(r.Context(), u.Username, id); err == nil {
		v.Contact = c
	} else if !errors.Is(err, store.ErrNotFound) {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (p *Pod) apiNotifications(w http.ResponseWriter, r *http.Request, u *store.User) {
	unreadOnly := false
	if s := r.URL.Query().Get("unread"); s != "" {
		b, err := ParseBool(s)
		if err != nil {
			writeError(w, http.StatusBadRequest, "unread must be true or false")
			return
		}
		unreadOnly = b
	}
	ns, unread, err := p.store.Notifications(r.Context(), u.Username, unreadOnly)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"unread": unread, "notifications": ns})
}

func (p *Pod) apiReadNotifications(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		IDs []int64 `json:"ids"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if err := p.store.MarkNotificationsRead(r.Context(), u.Username, in.IDs); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// apiNotFound answers API paths no route takes: 405 with Allow when the
// path exists for other methods, else 404, both as JSON errors.
func (p *Pod) apiNotFound(mux *http.ServeMux) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var allow []string
		for _, m := range []string{"GET", "POST", "PUT", "DELETE"} {
			if m == r.Method {
				continue
			}
			probe := r.Clone(r.Context())
			probe.Method = m
			if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/api/" {
				allow = append(allow, m)
			}
		}
		if len(allow) > 0 {
			w.Header().Set("Allow", strings.Join(allow, ", "))
			writeError(w, http.StatusMethodNotAllowed, r.Method+" is not allowed here; use "+strings.Join(allow, " or "))
			return
		}
		writeError(w, http.StatusNotFound, "no API route "+r.URL.Path+"; see docs/api.md")
	}
}

// ParseBool reads a boolean as the flags and environment variables take
// it: 1, t, true, yes, y, on and 0, f, false, no, n, off, in any case.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "yes", "y", "on":
		return true, nil
	case "0", "f", "false", "no", "n", "off":
		return false, nil
	}
	return false, errors.New("not a boolean (use true or false, yes or no, on or off, 1 or 0)")
}
