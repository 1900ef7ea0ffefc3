package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/examples/pod/internal/web"
)

func serve(ctx context.Context, o options, logger *slog.Logger) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := o.config(logger)
	p, err := pod.NewPod(ctx, cfg)
	if err != nil {
		return err
	}
	defer p.Close()
	if strings.HasPrefix(cfg.PublicURL, "http:") && !cfg.Dev {
		logger.Warn("the public URL is http: other pods expect https; serve behind a TLS proxy and set --url, or use --dev for local federation")
	}
	switch o.role {
	case "all":
	case "web", "worker":
		if !p.Store().Shared() {
			return fmt.Errorf("--role %s needs a store that several processes share: --db postgres://URL", o.role)
		}
	default:
		return fmt.Errorf("--role is all, web or worker, not %q", o.role)
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	ln, stopTLS, err := listenTLS(o, ln, logger) // tls.go: https, and --http-addr redirecting to it
	if err != nil {
		return err
	}
	defer stopTLS()
	// A web process serves HTTP, stores received bodies and queues
	// deliveries; a worker works the inbox and outbox and answers only
	// its health check; all does both.
	if name := o.admin.name(); name != "" {
		if err := p.Store().SetAdmin(ctx, name, true); errors.Is(err, store.ErrNotFound) {
			logger.Warn("--admin names no account yet: it becomes an admin when the pod starts after it exists", "admin", name)
		} else if err != nil {
			return err
		}
	}
	ui, err := web.New(p, web.Config{Registrations: o.registrations, Invitations: o.invitations, Name: o.podName, Logger: logger})
	if err != nil {
		return err
	}
	h := ui.Handler()
	if o.role == "worker" {
		h = http.NotFoundHandler() // only frontHandler's /healthz and /readyz
	}
	srv := pod.NewServer(frontHandler(p, o, h), logger) // proxy.go: health checks, --trust-proxy
	workers, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if o.role != "web" {
		wg.Add(1)
		go func() { defer wg.Done(); p.Run(workers) }()
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	for _, w := range pod.WideTrustedProxies(o.trustProxy.prefixes) {
		logger.Warn("--trust-proxy believes X-Forwarded-For from a wide public range: any client there can choose the address the per-address limits see; list your proxies' own addresses", "prefix", w.String())
	}
	logger.Info("pod serving", "addr", ln.Addr().String(), "url", p.BaseURL(), "role", o.role, "store", p.Store().Backend(), "dev", o.dev)
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	logger.Info("shutting down")
	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	serr := srv.Shutdown(sctx)
	cancel()
	wg.Wait()
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return serr
}
