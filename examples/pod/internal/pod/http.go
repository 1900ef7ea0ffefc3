package pod

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/salmon"
)

// receiveRetryAfter is the Retry-After of the receive routes' 503s.
const receiveRetryAfter = 60 * time.Second

// Handler returns the pod's routes.
func (p *Pod) Handler() http.Handler {
	mux := http.NewServeMux()
	dh := &discovery.Handler{
		BaseURL:   p.base,
		Directory: p.store.Directory(),
		Software:  discovery.Software{Name: "go-diaspora-pod", Version: "0.1"},
		Metadata:  map[string]any{"nodeName": p.domain},
		Logger:    p.log,
	}
	dh.Register(mux)
	rh := &salmon.Handler{Inbox: storeInbox{s: p.store, wake: func() { notify(p.inWake) }, log: p.log, envOpts: p.envOpts},
		RetryAfter: receiveRetryAfter, Logger: p.log}
	mux.Handle("/receive/", p.receiveGate(rh))
	mux.Handle("GET /fetch/{type}/{guid}", &salmon.FetchHandler{Source: fetchSource{p}, Logger: p.log})
	mux.HandleFunc("GET "+discovery.DefaultAvatar, serveDefaultAvatar)
	mux.HandleFunc("GET /"+uploadPath+"{name}", p.serveUpload)
	mux.HandleFunc("GET /public/{feed}", p.serveAtom)
	p.registerAPI(mux)
	return securityHeaders(mux)
}

// securityHeaders sets the security headers of every response, in one
// place: no scripts but the pod's own files, no framing, no sniffing of
// content types, no referrer to other sites.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; img-src 'self' https:; style-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// Server limits (LIMITS.md R3).
const (
	serverReadHeaderTimeout = 5 * time.Second
	serverReadTimeout       = 30 * time.Second
	serverWriteTimeout      = 30 * time.Second
	serverIdleTimeout       = 60 * time.Second
	serverMaxHeaderBytes    = 16 << 10 // net/http allows 4 KiB of slack on top
)

// NewServer is an http.Server for h with the server timeouts and the header
// cap of LIMITS.md R3 (a larger header is answered 431).
func NewServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: serverReadHeaderTimeout,
		ReadTimeout:       serverReadTimeout,
		WriteTimeout:      serverWriteTimeout,
		IdleTimeout:       serverIdleTimeout,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
