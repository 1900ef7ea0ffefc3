package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/discovery"
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

func newToken() (token string, hash []byte) {
	b := make([]byte, 32)
	rand.Read(b)
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, hashToken(token)
}

func hashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

type userKey struct{}

// authed wraps an API handler that needs a logged-in user.
func (p *Pod) authed(h func(w http.ResponseWriter, r *http.Request, u *User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || token == "" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="pod"`)
			writeError(w, http.StatusUnauthorized, "missing bearer token")
			return
		}
		u, err := p.store.SessionUser(r.Context(), hashToken(strings.TrimSpace(token)))
		if errors.Is(err, errNotFound) {
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
	mux.HandleFunc("GET /api/me", p.authed(func(w http.ResponseWriter, r *http.Request, u *User) {
		writeJSON(w, http.StatusOK, map[string]string{"id": u.ID, "guid": u.GUID, "username": u.Username})
	}))
	mux.HandleFunc("POST /api/posts", p.authed(p.apiCreatePost))
	mux.HandleFunc("GET /api/stream", p.authed(p.apiStream))
	mux.HandleFunc("GET /api/tags/{tag}", p.authed(p.apiStream))
	mux.HandleFunc("GET /api/posts/{guid}", p.authed(p.apiPost))
	mux.HandleFunc("DELETE /api/posts/{guid}", p.authed(p.apiDeletePost))
	mux.HandleFunc("POST /api/posts/{guid}/comments", p.authed(p.apiComment))
	mux.HandleFunc("POST /api/posts/{guid}/likes", p.authed(p.apiLike))
	mux.HandleFunc("POST /api/contacts", p.authed(p.apiFollow))
	mux.HandleFunc("DELETE /api/contacts/{id}", p.authed(p.apiUnfollow))
	mux.HandleFunc("POST /api/posts/{guid}/reshares", p.authed(p.apiReshare))
	mux.HandleFunc("POST /api/posts/{guid}/poll", p.authed(p.apiVote))
	mux.HandleFunc("PUT /api/profile", p.authed(p.apiProfile))
	mux.HandleFunc("DELETE /api/account", p.authed(p.apiDeleteAccount))
	mux.HandleFunc("GET /api/conversations", p.authed(p.apiConversations))
	mux.HandleFunc("POST /api/conversations", p.authed(p.apiStartConversation))
	mux.HandleFunc("GET /api/conversations/{guid}", p.authed(p.apiConversation))
	mux.HandleFunc("POST /api/conversations/{guid}/messages", p.authed(p.apiSendMessage))
}

func (p *Pod) apiVote(w http.ResponseWriter, r *http.Request, u *User) {
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

func (p *Pod) apiReshare(w http.ResponseWriter, r *http.Request, u *User) {
	v, err := p.Reshare(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiProfile(w http.ResponseWriter, r *http.Request, u *User) {
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

func (p *Pod) apiDeleteAccount(w http.ResponseWriter, r *http.Request, u *User) {
	var in struct {
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if err := p.DeleteAccount(r.Context(), u, in.Password); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiConversations(w http.ResponseWriter, r *http.Request, u *User) {
	cs, err := p.store.Conversations(r.Context(), u)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"conversations": cs})
}

func (p *Pod) apiStartConversation(w http.ResponseWriter, r *http.Request, u *User) {
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

func (p *Pod) apiConversation(w http.ResponseWriter, r *http.Request, u *User) {
	c, err := p.store.Conversation(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (p *Pod) apiSendMessage(w http.ResponseWriter, r *http.Request, u *User) {
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
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxAPIBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return false
	}
	return true
}

// fail maps an action's error to a status: one place for every handler.
func (p *Pod) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errNotFound), errors.Is(err, discovery.ErrNotFound):
		writeError(w, http.StatusNotFound, "not found")
	case errors.Is(err, errForbidden):
		writeError(w, http.StatusForbidden, "forbidden")
	case errors.Is(err, errInvalid), errors.Is(err, discovery.ErrInvalidID):
		writeError(w, http.StatusBadRequest, err.Error())
	case discovery.IsTemporary(err):
		writeError(w, http.StatusBadGateway, "remote pod unreachable, try again later")
	case errors.Is(err, discovery.ErrBlockedAddress), errors.Is(err, discovery.ErrBlockedURL),
		errors.Is(err, discovery.ErrInvalidDocument), errors.Is(err, discovery.ErrValidation),
		errors.Is(err, discovery.ErrSubjectMismatch):
		writeError(w, http.StatusUnprocessableEntity, err.Error())
	default:
		p.log.ErrorContext(r.Context(), "api", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error")
	}
}

func (p *Pod) apiLogin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	u, err := p.Login(r.Context(), in.Username, in.Password)
	if errors.Is(err, errForbidden) {
		writeError(w, http.StatusUnauthorized, "wrong username or password")
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	token, hash := newToken()
	expires := time.Now().Add(sessionTTL)
	if err := p.store.CreateSession(r.Context(), hash, u.Username, expires); err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": token, "token_type": "Bearer",
		"expires_at": expires.UTC().Format(time.RFC3339), "id": u.ID})
}

func (p *Pod) apiLogout(w http.ResponseWriter, r *http.Request, _ *User) {
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if err := p.store.DeleteSession(r.Context(), hashToken(strings.TrimSpace(token))); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiCreatePost(w http.ResponseWriter, r *http.Request, u *User) {
	var in PostInput
	if !readJSON(w, r, &in) {
		return
	}
	v, err := p.CreatePost(r.Context(), u, in)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiStream(w http.ResponseWriter, r *http.Request, u *User) {
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
	posts, err := p.store.Stream(r.Context(), u, r.PathValue("tag"), limit, before)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"posts": posts})
}

func (p *Pod) apiPost(w http.ResponseWriter, r *http.Request, u *User) {
	v, err := p.store.PostView(r.Context(), u, r.PathValue("guid"))
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (p *Pod) apiDeletePost(w http.ResponseWriter, r *http.Request, u *User) {
	if err := p.DeletePost(r.Context(), u, r.PathValue("guid")); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (p *Pod) apiComment(w http.ResponseWriter, r *http.Request, u *User) {
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

func (p *Pod) apiLike(w http.ResponseWriter, r *http.Request, u *User) {
	v, err := p.Interact(r.Context(), u, r.PathValue("guid"), "", true)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

func (p *Pod) apiFollow(w http.ResponseWriter, r *http.Request, u *User) {
	var in struct {
		ID     string `json:"id"`
		Aspect string `json:"aspect"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	per, err := p.Follow(r.Context(), u, in.ID, in.Aspect, true)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"id": per.ID, "guid": per.GUID, "pod_url": per.PodURL})
}

func (p *Pod) apiUnfollow(w http.ResponseWriter, r *http.Request, u *User) {
	if _, err := p.Follow(r.Context(), u, r.PathValue("id"), "", false); err != nil {
		p.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
