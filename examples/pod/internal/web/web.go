// Package web is the reference pod's web interface for people: server-
// rendered pages on diaspora*'s own routes (/stream, /posts/{guid},
// /people, /contacts, /conversations, /notifications, ...), plain forms
// that work without JavaScript, a CSRF token in every form, sessions in
// an HttpOnly cookie kept hashed in the store, and post text rendered
// from Markdown and sanitized (package render).
//
// A [Server] sits in front of the pod's own routes (federation, JSON
// API, feeds): its Handler serves the pages and hands everything else to
// pod.Handler, and every response carries the pod's security headers.
package web

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/render"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Registration modes.
const (
	RegistrationsOpen   = "open"   // anyone may sign up
	RegistrationsInvite = "invite" // with an invitation code of a user
	RegistrationsClosed = "closed" // accounts come from the podmin's shell only
)

// Config configures the web interface.
type Config struct {
	// Registrations is open, invite or closed; empty means open on a pod
	// without users (its first person signs up in the browser) and
	// invite once one exists.
	Registrations string
	// Invitations is how many invitation codes each user has (25 if 0,
	// like diaspora*'s invitations.count).
	Invitations int
	// Name is the pod's name on its pages (the domain if empty); Rules is
	// the text its front page shows.
	Name, Rules string
	// Logger receives errors; nil discards them.
	Logger *slog.Logger
}

// Server serves the web interface of a pod.
type Server struct {
	pod    *pod.Pod
	st     *store.Store
	cfg    Config
	log    *slog.Logger
	secure bool // the public URL is https: cookies are Secure
	pages  map[string]*template.Template
	md     *render.Options
}

// sessionLifetime is how long a browser session lasts without use.
const sessionLifetime = 30 * 24 * time.Hour

// New makes the web interface of p.
func New(p *pod.Pod, cfg Config) (*Server, error) {
	if cfg.Invitations <= 0 {
		cfg.Invitations = 25
	}
	if cfg.Name == "" {
		cfg.Name = p.Domain()
	}
	switch cfg.Registrations {
	case "", RegistrationsOpen, RegistrationsInvite, RegistrationsClosed:
	default:
		return nil, errors.New("registrations is open, invite or closed, not " + cfg.Registrations)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{pod: p, st: p.Store(), cfg: cfg, log: cfg.Logger, secure: strings.HasPrefix(p.BaseURL(), "https://"),
		pages: map[string]*template.Template{}}
	s.md = &render.Options{
		TagURL:    func(tag string) string { return "/tags/" + url.PathEscape(tag) },
		PersonURL: func(id string) string { return "/people?q=" + url.QueryEscape(id) },
	}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || strings.HasPrefix(base, "_") {
			continue
		}
		t, err := template.New("layout.html").Funcs(s.funcs()).ParseFS(templateFS, "templates/layout.html", "templates/_*.html", n)
		if err != nil {
			return nil, err
		}
		s.pages[base] = t
	}
	return s, nil
}

// Handler serves the pages and, for every other path, the pod's own
// routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/", s.pod.Handler())
	static, _ := fs.Sub(staticFS, "static")
	mux.Handle("GET /assets/web/", http.StripPrefix("/assets/web/", http.FileServerFS(static)))
	s.routes(mux)
	return pod.SecurityHeaders(mux)
}

func (s *Server) routes(mux *http.ServeMux) {
	// Signed out and in.
	mux.HandleFunc("GET /{$}", s.page(s.home))
	mux.HandleFunc("GET /users/sign_in", s.page(s.signInForm))
	mux.HandleFunc("POST /users/sign_in", s.page(s.signIn))
	mux.HandleFunc("GET /users/sign_up", s.page(s.signUpForm))
	mux.HandleFunc("POST /users/sign_up", s.page(s.signUp))
	mux.HandleFunc("POST /users/sign_out", s.page(s.signOut))
	mux.HandleFunc("GET /public", s.page(s.public))
	mux.HandleFunc("GET /tags/{tag}", s.page(s.tag))
	mux.HandleFunc("POST /tags/{tag}/follow", s.private(s.followTag))
	mux.HandleFunc("GET /posts/{guid}", s.page(s.post))
	mux.HandleFunc("GET /u/{username}", s.page(s.localProfile))
	mux.HandleFunc("GET /people/{guid}", s.page(s.person))
	// Signed in.
	mux.HandleFunc("GET /users/invitations", s.private(s.invitations))
	mux.HandleFunc("GET /stream", s.private(s.stream))
	mux.HandleFunc("GET /activity", s.private(s.activity))
	mux.HandleFunc("POST /status_messages", s.privateUpload(s.createPost))
	mux.HandleFunc("POST /posts/{guid}/comments", s.private(s.comment))
	mux.HandleFunc("POST /posts/{guid}/likes", s.private(s.like))
	mux.HandleFunc("POST /posts/{guid}/reshares", s.private(s.reshare))
	mux.HandleFunc("POST /posts/{guid}/vote", s.private(s.vote))
	mux.HandleFunc("POST /posts/{guid}/delete", s.private(s.deletePost))
	mux.HandleFunc("POST /posts/{guid}/report", s.private(s.report))
	mux.HandleFunc("GET /people", s.private(s.people))
	mux.HandleFunc("POST /people/share", s.private(s.share))
	s.moreRoutes(mux)
}

// moreRoutes registers the routes of the other files (contacts, aspects,
// conversations, notifications, settings) when they have some.
var moreRoutes []func(s *Server, mux *http.ServeMux)

func (s *Server) moreRoutes(mux *http.ServeMux) {
	for _, f := range moreRoutes {
		f(s, mux)
	}
}

// registrations is the registration mode in effect.
func (s *Server) registrations(q *req) string {
	if v, ok := s.setting(q, settingRegistrations); ok && v != "" {
		return v
	}
	if s.cfg.Registrations != "" {
		return s.cfg.Registrations
	}
	n, err := s.st.Rows(q.r.Context(), "users")
	if err == nil && n == 0 {
		return RegistrationsOpen
	}
	return RegistrationsInvite
}
