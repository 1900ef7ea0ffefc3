package salmon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/internal/logs"
	"github.com/go-diaspora/federation/internal/rules"
	"github.com/go-diaspora/federation/internal/temporary"
	"github.com/go-diaspora/federation/magicenv"
)

// Route says where a body was posted.
type Route int

const (
	// RoutePublic is POST /receive/public.
	RoutePublic Route = iota
	// RoutePrivate is POST /receive/users/{guid}.
	RoutePrivate
)

// String returns the route's name.
func (r Route) String() string {
	if r == RoutePrivate {
		return "private"
	}
	return "public"
}

// Incoming is a body the receive handler accepted.
type Incoming struct {
	// Route is the route the body came in on.
	Route Route
	// RecipientGUID is the guid of the local recipient (private route).
	RecipientGUID string
	// Format is what Detect made of the body.
	Format Format
	// ContentType is the request's Content-Type header.
	ContentType string
	// Body is the raw body as received (a legacy form body already
	// unwrapped to its slap).
	Body []byte
	// RemoteAddr is the request's remote address (http.Request.RemoteAddr).
	RemoteAddr string
	// ReceivedAt is when the handler accepted the body.
	ReceivedAt time.Time
}

// Inbox takes the bodies the receive handler accepts. Accept should store
// the body durably and return, leaving verification to a worker; it may
// also process the body at once. Its error decides the HTTP answer:
// nil or any final verdict → 202 (the sender learns nothing about
// signatures or decryption); [ErrRecipientNotFound] → 404; anything else
// is treated as temporary → 503 with Retry-After, so that the peer tries
// again.
type Inbox interface {
	// Accept takes a received body; see the interface's doc for what
	// its error means.
	Accept(ctx context.Context, in *Incoming) error
}

// InboxFunc adapts a function to [Inbox].
type InboxFunc func(ctx context.Context, in *Incoming) error

// Accept calls f(ctx, in).
func (f InboxFunc) Accept(ctx context.Context, in *Incoming) error { return f(ctx, in) }

// Errors an [Inbox] returns to steer the handler's answer.
var (
	// ErrRecipientNotFound: no local person has the guid of the private route.
	ErrRecipientNotFound = temporary.Final("salmon: recipient not found")
	// ErrRejected: the body was judged and refused for good. The handler
	// still answers 202.
	ErrRejected = errors.New("salmon: rejected")
)

// Handler serves POST /receive/public and POST /receive/users/{guid}.
// It checks the method, the route, the size and the outer format of the
// body, hands the raw body to Inbox and answers 202 Accepted. It does no
// cryptography before answering, so every private body that looks like an
// encrypted envelope gets the same answer, whatever it holds.
type Handler struct {
	// Inbox receives the accepted bodies. Required.
	Inbox Inbox
	// MaxBodyBytes caps the body; 0 means magicenv.DefaultMaxSize (1 MiB).
	// A larger body is answered 413 without being read further.
	MaxBodyBytes int64
	// Legacy also accepts the pre-2017 formats: slaps, raw or in an
	// "xml=" form body.
	Legacy bool
	// RetryAfter is sent with 503 answers; 0 means 60 seconds.
	RetryAfter time.Duration
	// Logger receives a record per request; nil means no logging.
	Logger *slog.Logger
	// Now replaces time.Now when set.
	Now func() time.Time
}

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	status := h.serve(w, r)
	if status == http.StatusServiceUnavailable {
		ra := h.RetryAfter
		if ra <= 0 {
			ra = time.Minute
		}
		w.Header().Set("Retry-After", strconv.Itoa(int(ra/time.Second)))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, http.StatusText(status)+"\n")
	if log := logs.Or(h.Logger); log.Enabled(r.Context(), slog.LevelInfo) {
		log.LogAttrs(r.Context(), slog.LevelInfo, "receive",
			slog.String("path", r.URL.Path), slog.Int("status", status), slog.String("remote_host", r.RemoteAddr))
	}
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) int {
	in := &Incoming{ContentType: r.Header.Get("Content-Type"), RemoteAddr: r.RemoteAddr}
	switch p := r.URL.Path; {
	case p == "/receive/public":
		in.Route = RoutePublic
	case strings.HasPrefix(p, "/receive/users/"):
		in.Route = RoutePrivate
		in.RecipientGUID = strings.TrimPrefix(p, "/receive/users/")
		if !rules.ValidGUID(in.RecipientGUID) {
			return http.StatusNotFound
		}
	default:
		return http.StatusNotFound
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		return http.StatusMethodNotAllowed
	}
	limit := h.MaxBodyBytes
	if limit <= 0 {
		limit = magicenv.DefaultMaxSize
	}
	if r.ContentLength > limit {
		return http.StatusRequestEntityTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return http.StatusRequestEntityTooLarge
		}
		return http.StatusBadRequest
	}
	if h.Legacy && mediaType(in.ContentType) == FormContentType {
		if body, err = DecodeLegacyForm(body); err != nil {
			return http.StatusUnprocessableEntity
		}
	}
	in.Body = body
	in.Format = Detect(body, in.ContentType)
	if !h.routeAccepts(in.Route, in.Format) {
		return http.StatusUnprocessableEntity
	}
	in.ReceivedAt = time.Now()
	if h.Now != nil {
		in.ReceivedAt = h.Now()
	}
	if h.Inbox == nil {
		return http.StatusServiceUnavailable
	}
	switch err := h.Inbox.Accept(r.Context(), in); {
	case err == nil, errors.Is(err, ErrRejected):
		return http.StatusAccepted
	case errors.Is(err, ErrRecipientNotFound):
		return http.StatusNotFound
	default:
		return http.StatusServiceUnavailable
	}
}

func (h *Handler) routeAccepts(route Route, f Format) bool {
	switch route {
	case RoutePublic:
		return f == FormatMagicEnvelope || (h.Legacy && f == FormatLegacySlap)
	default:
		return f == FormatEncryptedMagicEnvelope || (h.Legacy && f == FormatLegacyEncryptedSlap)
	}
}

// SyncInbox is an [Inbox] that processes each body at once with Receiver
// and hands the message to Deliver, for applications that want no queue.
// A rejected body is answered 202 all the same (the sender learns
// nothing); a temporary failure (a key server down) is answered 503 so
// that the sender retries. Decryption still happens before the answer,
// so prefer a storing Inbox and a worker where timing matters.
type SyncInbox struct {
	// Receiver checks every body. Required.
	Receiver *Receiver
	// Deliver receives every accepted message; its error is treated as
	// temporary.
	Deliver func(ctx context.Context, m *Message) error
	// Rejected, when set, is told about every refused body (for logs and
	// metrics); it must not leak details to the sender.
	Rejected func(ctx context.Context, in *Incoming, err error)
}

// Accept implements [Inbox].
func (s *SyncInbox) Accept(ctx context.Context, in *Incoming) error {
	if s.Receiver == nil {
		return errors.New("salmon: SyncInbox without a Receiver") // temporary: 503
	}
	msg, err := s.Receiver.Receive(ctx, in)
	switch {
	case err == nil:
		if s.Deliver == nil {
			return nil
		}
		return s.Deliver(ctx, msg)
	case errors.Is(err, ErrRecipientNotFound):
		return ErrRecipientNotFound
	case IsTemporary(err):
		return err
	default:
		if s.Rejected != nil {
			s.Rejected(ctx, in, err)
		}
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
}
