// Command feedbridge makes an Atom or RSS feed a diaspora* person: people
// share with it from their pods, and every new entry of the feed reaches
// their streams as a public post.
//
//	go run ./examples/feedbridge --url https://feeds.example/ --name news \
//		--feed https://blog.example/atom.xml
//
// It is an example of the SDK's public packages at work: discovery serves
// the person's documents and finds other people, salmon receives their
// Contact entities and delivers the posts, entities and magicenv build and
// sign them. README.md walks through it.
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
	"syscall"
	"time"
)

func main() {
	os.Exit(command(os.Args[1:]))
}

// command runs the bridge with the given arguments and returns the exit
// status: 0 after a graceful stop, 1 on failure, 2 for bad flags.
func command(args []string) int {
	fs := flag.NewFlagSet("feedbridge", flag.ContinueOnError)
	var cfg Config
	addr := fs.String("addr", "localhost:8080", "listen address")
	fs.StringVar(&cfg.URL, "url", "", "public base URL, such as https://feeds.example/ (default http://ADDR/ with --dev)")
	fs.StringVar(&cfg.DataDir, "data", "feedbridge-data", "data directory (state.json: key, followers, published entries)")
	fs.StringVar(&cfg.FeedURL, "feed", "", "URL of the Atom or RSS feed to publish (required)")
	fs.StringVar(&cfg.Name, "name", "feed", "the person's local name: NAME@host is its diaspora* ID")
	fs.StringVar(&cfg.DisplayName, "display-name", "", "the name on the person's profile (default NAME)")
	fs.DurationVar(&cfg.Poll, "poll", 15*time.Minute, "time between two fetches of the feed")
	fs.BoolVar(&cfg.Dev, "dev", false, "development mode: allow http, loopback peers and any port")
	fs.IntVar(&cfg.KeyBits, "key-bits", 4096, "RSA key size of the person, made on first start")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return 0
	} else if err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "feedbridge: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if cfg.FeedURL == "" {
		fmt.Fprintln(os.Stderr, "feedbridge: --feed is required")
		return 2
	}
	if cfg.URL == "" {
		if !cfg.Dev {
			fmt.Fprintln(os.Stderr, "feedbridge: --url is required (the https base URL pods reach the bridge at)")
			return 2
		}
		cfg.URL = "http://" + *addr + "/"
	}
	if cfg.Poll <= 0 {
		fmt.Fprintln(os.Stderr, "feedbridge: --poll must be positive")
		return 2
	}
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		cfg.Logger.Error("listening", "err", err)
		return 1
	}
	b, err := New(cfg)
	if err != nil {
		ln.Close()
		cfg.Logger.Error("starting", "err", err)
		return 1
	}
	if err := serve(ctx, b, ln); err != nil {
		cfg.Logger.Error("feedbridge stopped", "err", err)
		return 1
	}
	return 0
}

// Server limits: slow or large requests from strangers do not hold the
// bridge.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 60 * time.Second
	maxHeaderBytes    = 16 << 10
	shutdownTimeout   = 10 * time.Second
)

// serve runs b on ln until ctx ends, then stops it gracefully: the HTTP
// server finishes its requests, the poller and the sender stop
// (undelivered posts stay in the state for the next start). It closes ln.
func serve(ctx context.Context, b *Bridge, ln net.Listener) error {
	srv := &http.Server{
		Handler:           b.Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	runCtx, stopRun := context.WithCancel(ctx)
	defer stopRun()
	ran := make(chan struct{})
	go func() {
		defer close(ran)
		b.Run(runCtx)
	}()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	b.log.Info("feedbridge serving", "id", b.ID(), "addr", ln.Addr().String(), "url", b.base, "feed", b.cfg.FeedURL)

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-served:
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	stopRun()
	<-ran
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	b.log.Info("feedbridge stopped", "id", b.ID())
	return errors.Join(serveErr, shutErr)
}
