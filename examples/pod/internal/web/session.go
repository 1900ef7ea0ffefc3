package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Cookies: the session (a token the store keeps hashed) and, for a
// browser without one, the value the CSRF token of its forms derives
// from.
const (
	sessionCookie = "pod_session"
	csrfCookie    = "pod_csrf"
	// csrfField is the form field of the token, named as in diaspora*.
	csrfField = "authenticity_token"
)

// req is a request to a page: the person (nil when signed out) and what
// every page shows.
type req struct {
	w       http.ResponseWriter
	r       *http.Request
	user    *store.User
	session []byte // the hash of the session token
	csrf    string // the token of this browser's forms
	unread  int    // unread notifications
}

// page wraps a handler open to everyone: it finds the session, checks
// the CSRF token of a POST (403 without a valid one) and counts the
// unread notifications for the header.
func (s *Server) page(h func(*req)) http.HandlerFunc { return s.pageLimit(maxForm, h) }

// pageLimit is page with a body limit of its own. A limit above maxForm
// (a form with pictures) is for signed-in people only: anyone else's
// body is refused before it is read.
func (s *Server) pageLimit(limit int64, h func(*req)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := &req{w: w, r: r}
		if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			hash := pod.HashToken(c.Value)
			u, err := s.st.SessionUser(r.Context(), hash)
			switch {
			case err == nil:
				q.user, q.session, q.csrf = u, hash, csrfToken(c.Value)
			case !errors.Is(err, store.ErrNotFound):
				s.fail(q, err)
				return
			default: // expired or revoked: forget it
				http.SetCookie(w, s.cookie(r, sessionCookie, "", -1))
			}
		}
		if q.user == nil {
			q.csrf = s.anonymousCSRF(q)
		}
		if r.Method == http.MethodPost {
			if limit > maxForm && q.user == nil {
				s.render(q, http.StatusForbidden, "error", "Sign in", errorPage{Message: "Sign in first."})
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
				// Every part in memory (the body is capped), none in
				// temporary files.
				var tooLarge *http.MaxBytesError
				if err := r.ParseMultipartForm(limit); errors.As(err, &tooLarge) {
					s.render(q, http.StatusRequestEntityTooLarge, "error", "Too large", errorPage{
						Message: fmt.Sprintf("That is more than this pod takes in one go (%d MiB). Go back and send fewer or smaller pictures.", limit>>20)})
					return
				}
			}
			got := r.PostFormValue(csrfField)
			if got == "" || q.csrf == "" || subtle.ConstantTimeCompare([]byte(got), []byte(q.csrf)) != 1 {
				s.render(q, http.StatusForbidden, "error", "Forbidden", errorPage{
					Message: "This form has expired or did not come from this pod. Go back, reload the page and try again."})
				return
			}
		}
		if q.user != nil {
			if _, n, err := s.st.Notifications(r.Context(), q.user.Username, true); err == nil {
				q.unread = n
			}
		}
		h(q)
	}
}

// private wraps a handler for signed-in people; others are sent to the
// sign-in page, which brings them back.
func (s *Server) private(h func(*req)) http.HandlerFunc { return s.privateLimit(maxForm, h) }

// privateUpload is private for a form with pictures (maxUploadForm).
func (s *Server) privateUpload(h func(*req)) http.HandlerFunc {
	return s.privateLimit(maxUploadForm, h)
}

func (s *Server) privateLimit(limit int64, h func(*req)) http.HandlerFunc {
	return s.pageLimit(limit, func(q *req) {
		if q.user == nil {
			if q.r.Method != http.MethodGet {
				s.render(q, http.StatusForbidden, "error", "Sign in", errorPage{Message: "Sign in first."})
				return
			}
			http.Redirect(q.w, q.r, "/users/sign_in?return_to="+url.QueryEscape(q.r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		h(q)
	})
}

// maxForm caps a form body (a post's text is at most 64 KiB in
// diaspora*; photos, a poll and the token fit beside it).
const maxForm = 256 << 10

// maxUploadForm caps a form with pictures: a post's photos or an avatar,
// each at most pod.MaxUploadBytes.
const maxUploadForm = 4*pod.MaxUploadBytes + maxForm

// csrfToken derives the CSRF token of a browser from a cookie value it
// holds: another site can neither read the cookie nor, without it, make
// the token.
func csrfToken(cookie string) string {
	h := sha256.Sum256([]byte("pod csrf\x00" + cookie))
	return hex.EncodeToString(h[:])
}

// anonymousCSRF gives a signed-out browser the cookie its form tokens
// derive from (the sign-in and sign-up forms are protected too).
func (s *Server) anonymousCSRF(q *req) string {
	if c, err := q.r.Cookie(csrfCookie); err == nil && len(c.Value) >= 20 {
		return csrfToken(c.Value)
	}
	if q.r.Method != http.MethodGet {
		return "" // a POST without the cookie has no valid token
	}
	v := rand.Text()
	http.SetCookie(q.w, s.cookie(q.r, csrfCookie, v, 0))
	return csrfToken(v)
}

// cookie makes a cookie of the pod: HttpOnly, SameSite=Lax, Secure on
// https (a public URL in https, or a request that came over https: TLS of
// the pod's own or X-Forwarded-Proto from a trusted proxy, pod.IsHTTPS);
// maxAge -1 deletes it, 0 makes it last the browser session.
func (s *Server) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true, Secure: s.secure || pod.IsHTTPS(r), SameSite: http.SameSiteLaxMode}
}

// startSession signs u in: a new session token in a cookie.
func (s *Server) startSession(q *req, u *store.User) error {
	token, hash := pod.NewToken()
	if err := s.st.CreateSession(q.r.Context(), hash, u.Username, time.Now().Add(sessionLifetime)); err != nil {
		return err
	}
	http.SetCookie(q.w, s.cookie(q.r, sessionCookie, token, int(sessionLifetime.Seconds())))
	q.user, q.session, q.csrf = u, hash, csrfToken(token)
	return nil
}

// clientAddr is the request's peer address without the port (the
// sign-in throttle counts per address).
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath keeps a return_to target on this pod: a path, not a URL
// (no open redirect).
func localPath(p string) string {
	if len(p) == 0 || p[0] != '/' || (len(p) > 1 && (p[1] == '/' || p[1] == '\\')) {
		return "/stream"
	}
	return p
}
