package discovery

import (
	"context"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/internal/logs"
)

// Directory is what a [Handler] needs from the application: the local
// people. Both methods return an error wrapping [ErrNotFound] for people
// that do not exist (or must not be discoverable); any other error is
// answered with 500.
type Directory interface {
	// PersonByID finds a local person by normalized diaspora* ID.
	PersonByID(ctx context.Context, id string) (*Person, error)
	// PersonByGUID finds a local person by GUID.
	PersonByGUID(ctx context.Context, guid string) (*Person, error)
}

// UsageCounter is optionally implemented by a [Directory] to fill the
// usage counts of NodeInfo.
type UsageCounter interface {
	// Usage returns the current usage counts.
	Usage(ctx context.Context) (Usage, error)
}

// DefaultAvatar is the avatar path served in hCards of people without
// one, as diaspora* does.
const DefaultAvatar = "/assets/user/default.png"

// Handler serves the discovery documents of a pod:
//
//	GET /.well-known/host-meta            host-meta (XRD; .json for JSON)
//	GET /.well-known/webfinger?resource=  JRD, or XRD when the client asks for XML
//	GET /.well-known/webfinger.xml?resource= legacy XRD (the host-meta template)
//	GET /hcard/users/{guid}               hCard
//	GET /.well-known/nodeinfo             NodeInfo index
//	GET /nodeinfo/2.1, /nodeinfo/2.0      NodeInfo
//
// Other paths get 404; methods other than GET and HEAD get 405.
type Handler struct {
	// BaseURL is the pod's public base URL, such as
	// "https://pod.example/"; every URL in the documents is built from it.
	BaseURL string
	// Directory finds local people; nil serves no one (404).
	Directory Directory
	// Software names the pod software in NodeInfo; an empty name means
	// "go-diaspora".
	Software Software
	// OpenRegistrations is reported in NodeInfo.
	OpenRegistrations bool
	// Metadata is the NodeInfo metadata (diaspora* puts nodeName here).
	Metadata map[string]any
	// Logger receives errors from the Directory; nil discards them.
	Logger *slog.Logger
}

// Register adds the handler's routes to mux, with Go 1.22 method
// patterns.
func (h *Handler) Register(mux *http.ServeMux) {
	for _, p := range []string{
		"/.well-known/host-meta", "/.well-known/host-meta.json", "/.well-known/webfinger",
		"/.well-known/webfinger.xml", "/hcard/users/{guid}", "/.well-known/nodeinfo",
		"/nodeinfo/2.0", "/nodeinfo/2.1",
	} {
		mux.Handle("GET "+p, h)
	}
}

func (h *Handler) base() string { return strings.TrimSuffix(h.BaseURL, "/") }

func (h *Handler) logger() *slog.Logger { return logs.Or(h.Logger) }

// ServeHTTP implements [http.Handler].
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	var err error
	switch p := r.URL.Path; {
	case p == "/.well-known/host-meta":
		write(w, "application/xrd+xml; charset=utf-8", NewHostMeta(h.BaseURL).XRD())
	case p == "/.well-known/host-meta.json":
		write(w, "application/json; charset=utf-8", NewHostMeta(h.BaseURL).JSON())
	case p == "/.well-known/webfinger":
		err = h.serveWebFinger(w, r, prefersXML(r.Header.Get("Accept")))
	case p == "/.well-known/webfinger.xml":
		err = h.serveWebFinger(w, r, true)
	case strings.HasPrefix(p, "/hcard/users/"):
		err = h.serveHCard(w, r, strings.TrimPrefix(p, "/hcard/users/"))
	case p == "/.well-known/nodeinfo":
		idx := NodeInfoIndex{Links: []Link{
			{Rel: NodeInfoSchema21, Href: h.base() + "/nodeinfo/2.1"},
			{Rel: NodeInfoSchema20, Href: h.base() + "/nodeinfo/2.0"},
		}}
		write(w, "application/json; charset=utf-8", idx.JSON())
	case p == "/nodeinfo/2.1" || p == "/nodeinfo/2.0":
		err = h.serveNodeInfo(w, r, strings.TrimPrefix(p, "/nodeinfo/"))
	default:
		err = ErrNotFound
	}
	if err != nil {
		h.serveError(w, r, err)
	}
}

// serveError maps an error to a status: 404 for ErrNotFound and
// ErrInvalidID, 400 for a bad request, 500 otherwise.
func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalidID):
		http.Error(w, "not found", http.StatusNotFound)
	case errors.Is(err, errBadRequest):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		h.logger().ErrorContext(r.Context(), "discovery handler", "path", r.URL.Path, "err", err.Error())
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

var errBadRequest = errors.New("discovery: bad request")

func write(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	_, _ = w.Write(body)
}

func (h *Handler) serveWebFinger(w http.ResponseWriter, r *http.Request, xrd bool) error {
	q := r.URL.Query()
	res := q.Get("resource")
	if res == "" {
		res = q.Get("q") // the pre-2017 legacy template
	}
	if res == "" {
		return errBadRequest
	}
	id, err := NormalizeID(res)
	if err != nil {
		return err
	}
	if h.Directory == nil {
		return ErrNotFound
	}
	p, err := h.Directory.PersonByID(r.Context(), id)
	if err != nil {
		return err
	}
	wf := NewWebFinger(h.BaseURL, p.ID, p.GUID)
	if p.ProfileURL != "" {
		for i := range wf.Links {
			if wf.Links[i].Rel == RelProfile {
				wf.Links[i].Href = p.ProfileURL
			}
		}
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	if xrd {
		write(w, "application/xrd+xml; charset=utf-8", wf.XRD())
		return nil
	}
	b, err := wf.JRD()
	if err != nil {
		return err
	}
	write(w, "application/jrd+json; charset=utf-8", b)
	return nil
}

func (h *Handler) serveHCard(w http.ResponseWriter, r *http.Request, guid string) error {
	if !ValidGUID(guid) || h.Directory == nil {
		return ErrNotFound
	}
	p, err := h.Directory.PersonByGUID(r.Context(), guid)
	if err != nil {
		return err
	}
	key := p.PublicKeyPEM
	if key == "" && p.PublicKey != nil {
		if key, err = MarshalPublicKey(p.PublicKey); err != nil {
			return err
		}
	}
	user, _, _ := strings.Cut(p.ID, "@")
	hc := &HCard{
		GUID: p.GUID, Nickname: user, FullName: p.FullName, FirstName: p.FirstName, LastName: p.LastName,
		Searchable: p.Searchable, PublicKeyPEM: key,
		PhotoLarge: orDefault(p.AvatarLarge), PhotoMedium: orDefault(p.AvatarMedium), PhotoSmall: orDefault(p.AvatarSmall),
	}
	write(w, "text/html; charset=utf-8", hc.HTML())
	return nil
}

func orDefault(s string) string {
	if s == "" {
		return DefaultAvatar
	}
	return s
}

func (h *Handler) serveNodeInfo(w http.ResponseWriter, r *http.Request, version string) error {
	n := &NodeInfo{
		Version:           version,
		Software:          h.Software,
		Protocols:         []string{"diaspora"},
		OpenRegistrations: h.OpenRegistrations,
		Metadata:          h.Metadata,
	}
	if n.Software.Name == "" {
		n.Software.Name = "go-diaspora"
	}
	if uc, ok := h.Directory.(UsageCounter); ok {
		u, err := uc.Usage(r.Context())
		if err != nil {
			return err
		}
		n.Usage = u
	}
	b, err := n.JSON()
	if err != nil {
		return err
	}
	write(w, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/`+version+`#"`, b)
	return nil
}

// prefersXML reports whether an Accept header ranks XRD/XML above JSON.
func prefersXML(accept string) bool {
	var xmlQ, jsonQ float64 = -1, -1
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if s, ok := params["q"]; ok {
			if f, err := strconv.ParseFloat(s, 64); err == nil {
				q = f
			}
		}
		switch mt {
		case "application/xrd+xml", "application/xml", "text/xml":
			xmlQ = max(xmlQ, q)
		case "application/jrd+json", "application/json":
			jsonQ = max(jsonQ, q)
		}
	}
	return xmlQ > 0 && xmlQ > jsonQ
}
