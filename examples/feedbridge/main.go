// Command feedbridge makes an Atom or RSS feed a diaspora* person: people
// share with it from their pods, and each new entry of the feed reaches
// their streams as a public post. README.md walks through it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

func main() {
	var cfg Config
	addr := flag.String("addr", "localhost:8080", "listen address")
	flag.StringVar(&cfg.URL, "url", "", "public base URL, such as https://feeds.example/ (default http://ADDR/ with --dev)")
	flag.StringVar(&cfg.DataDir, "data", "feedbridge-data", "data directory (state.json: key, followers, published entries)")
	flag.StringVar(&cfg.FeedURL, "feed", "", "URL of the Atom or RSS feed to publish (required)")
	flag.StringVar(&cfg.Name, "name", "feed", "the person's local name: NAME@host is its diaspora* ID")
	flag.DurationVar(&cfg.Poll, "poll", 15*time.Minute, "time between two fetches of the feed")
	flag.BoolVar(&cfg.Dev, "dev", false, "development mode: allow http, loopback peers and any port")
	flag.IntVar(&cfg.KeyBits, "key-bits", 4096, "RSA key size of the person, made on first start")
	flag.Parse()
	if cfg.URL == "" && cfg.Dev {
		cfg.URL = "http://" + *addr + "/"
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	b, err := New(cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "feedbridge:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err == nil {
		err = serve(ctx, b, ln)
	}
	if err != nil {
		cfg.Logger.Error("feedbridge stopped", "err", err)
		os.Exit(1)
	}
}

// serve runs b on ln until ctx ends, then stops gracefully: the HTTP
// server finishes its requests, the poller and the sender stop.
func serve(ctx context.Context, b *Bridge, ln net.Listener) error {
	srv := &http.Server{Handler: b.Handler(), ErrorLog: slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
		// Slow or large requests from strangers do not hold the bridge.
		ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second, WriteTimeout: 60 * time.Second,
		IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { b.Run(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		sctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = srv.Shutdown(sctx) // waits for the requests in progress
	})
	b.log.Info("feedbridge serving", "id", b.id, "addr", ln.Addr().String(), "feed", b.cfg.FeedURL)
	err := srv.Serve(ln) // http.ErrServerClosed once Shutdown has begun
	cancel()
	wg.Wait()
	b.log.Info("feedbridge stopped", "id", b.id)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
