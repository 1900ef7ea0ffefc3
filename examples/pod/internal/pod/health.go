package pod

import (
	"context"
	"io"
	"net/http"
	"time"
)

// readyTimeout bounds the store query of GET /readyz.
const readyTimeout = 2 * time.Second

// Health answers the health checks of a load balancer or an orchestrator
// ahead of next, which gets every other request:
//   - GET /healthz (liveness): 200 "ok" while the process answers;
//   - GET /readyz (readiness): 200 "ok" when the store answers a trivial
//     query within 2 s and its schema is migrated (Pod.Ready), else 503
//     "not ready".
//
// Both are cheap and unauthenticated, say nothing of the pod's insides
// (why it is not ready goes to the log, once per change), and answer
// before anything else runs: no session, no rate limit, no proxy headers.
// HEAD works like GET.
func (p *Pod) Health(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			next.ServeHTTP(w, r)
			return
		}
		switch r.URL.Path {
		case "/healthz":
			healthAnswer(w, http.StatusOK, "ok\n")
		case "/readyz":
			if err := p.Ready(r.Context()); err != nil {
				if !p.notReady.Swap(true) {
					p.log.WarnContext(r.Context(), "not ready", "err", err)
				}
				healthAnswer(w, http.StatusServiceUnavailable, "not ready\n")
				return
			}
			if p.notReady.Swap(false) {
				p.log.InfoContext(r.Context(), "ready again")
			}
			healthAnswer(w, http.StatusOK, "ok\n")
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// Ready reports whether the pod can serve requests: its store answers
// within 2 s and is migrated (store.Store.Ready).
func (p *Pod) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	return p.store.Ready(ctx)
}

func healthAnswer(w http.ResponseWriter, status int, body string) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}
