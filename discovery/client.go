package discovery

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-diaspora/federation/internal/logs"
	"github.com/go-diaspora/federation/internal/rules"
)

// Defaults of a zero [Client].
const (
	// DefaultMaxBodyBytes caps every response body (LIMITS.md R1).
	DefaultMaxBodyBytes = 256 << 10
	// DefaultTimeout bounds each request, body included (LIMITS.md R3).
	DefaultTimeout = 20 * time.Second
	// DefaultUserAgent is sent when [Client.UserAgent] is empty.
	DefaultUserAgent = "go-diaspora-federation-discovery/1"
)

// Client looks up diaspora* people. Its zero value is ready to use and
// safe: https only, port 443 only, reserved addresses refused at dial
// time, at most [MaxRedirects] redirects, no proxy from the environment, bodies capped
// at [DefaultMaxBodyBytes] and requests at [DefaultTimeout]. A Client is
// safe for concurrent use; do not copy it after first use.
type Client struct {
	// HTTPClient sends the requests. Nil means a client built by this
	// package whose dialer refuses reserved addresses (see AllowedAddrs),
	// with no proxy and with dial, TLS and header timeouts. A non-nil
	// client is used as given, except that redirects are always limited
	// and re-checked; the dial-time address check is then its owner's
	// business.
	HTTPClient *http.Client

	// UserAgent is the User-Agent header; empty means DefaultUserAgent.
	UserAgent string

	// MinKeyBits is the shortest RSA key [Client.Lookup] accepts. Zero,
	// and any value below MinKeyBits (1024), means MinKeyBits. Use the same
	// value as magicenv.Options.MinKeyBits.
	MinKeyBits int

	// MaxBodyBytes caps each response body; 0 means DefaultMaxBodyBytes.
	// A longer body fails with ErrResponseTooLarge.
	MaxBodyBytes int64

	// Timeout bounds each request including reading its body; 0 means
	// DefaultTimeout.
	Timeout time.Duration

	// Logger receives one debug record per request and response (keys
	// url, status, remote_host); nil discards them.
	Logger *slog.Logger

	// AllowHTTP permits http:// URLs and, when an https request for
	// WebFinger or host-meta fails, a retry of the same URL over http.
	// For development and tests only: plain http lets anyone on the path
	// substitute keys. Never use it for people whose key you already hold.
	AllowHTTP bool

	// AllowedAddrs are addresses the built-in dialer may connect to even
	// though they are reserved (loopback, private, ...). A zero port
	// matches any port. For tests and development only. An address on
	// this list may be dialled on its own port (any port if that is 0)
	// whatever AllowedPorts says.
	AllowedAddrs []netip.AddrPort

	// AllowedPorts is the port policy: the TCP ports the client connects
	// to, checked on every URL (every redirect hop included) before any
	// name is resolved, and again on every address dialled. Empty means
	// DefaultPort (443), plus DefaultHTTPPort (80) when AllowHTTP is set.
	// A 0 entry admits every port (development only). A URL naming a host
	// by name on a port outside this list still passes the URL check when
	// an AllowedAddrs entry admits that port; the dial then admits only
	// that entry's address. A refused URL wraps ErrBlockedURL, a refused
	// dial ErrBlockedAddress.
	AllowedPorts []uint16

	// Resolver resolves host names for the built-in dialer; nil means
	// net.DefaultResolver. Whatever it answers, and however the answer
	// changes between queries (DNS rebinding), every address is checked
	// when it is dialled. Mostly for tests; it has no effect with a
	// caller-supplied HTTPClient.
	Resolver *net.Resolver

	// TLSClientConfig configures TLS of the built-in transport; nil means
	// the defaults (system roots, full verification).
	TLSClientConfig *tls.Config

	// NoHostMetaFallback disables the legacy path (host-meta, then the
	// XRD template) that Lookup tries when the JRD request fails.
	NoHostMetaFallback bool

	once sync.Once
	hc   *http.Client
}

// Person is what discovery learns about a person: the identity and key
// from WebFinger and hCard, the profile basics of the hCard, and the URLs
// to reach the person's pod.
type Person struct {
	// ID is the normalized diaspora* ID.
	ID string `json:"id"`
	// GUID is the person's GUID from the hCard.
	GUID string `json:"guid"`
	// PublicKey is the decoded RSA key.
	PublicKey *rsa.PublicKey `json:"-"`
	// PublicKeyPEM is the key as the hCard published it, trimmed, with a
	// final newline.
	PublicKeyPEM string `json:"public_key"`
	// FullName, FirstName and LastName are the hCard names.
	FullName  string `json:"full_name,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	// Searchable is the hCard's searchable flag.
	Searchable bool `json:"searchable"`
	// AvatarLarge, AvatarMedium and AvatarSmall are the avatar URLs,
	// resolved against PodURL when the hCard gives them relative.
	AvatarLarge  string `json:"avatar_large,omitempty"`
	AvatarMedium string `json:"avatar_medium,omitempty"`
	AvatarSmall  string `json:"avatar_small,omitempty"`
	// PodURL is the WebFinger seed_location: the base URL of the pod.
	PodURL string `json:"pod_url"`
	// ProfileURL is the HTML profile page, if the pod names one. A
	// [Handler] serves it as the profile-page link of a local person's
	// WebFinger document when it is set, instead of ⟨BaseURL⟩u/⟨user⟩
	// (a bridge's person has its page elsewhere).
	ProfileURL string `json:"profile_url,omitempty"`
	// HCardURL is where the hCard was fetched.
	HCardURL string `json:"hcard_url"`
	// ReceiveURL is the person's private receive URL,
	// ⟨PodURL⟩receive/users/⟨GUID⟩ as the reference builds it.
	ReceiveURL string `json:"receive_url"`
	// PublicReceiveURL is the pod's public receive URL,
	// ⟨PodURL⟩receive/public.
	PublicReceiveURL string `json:"public_receive_url"`
}

func (c *Client) httpClient() *http.Client {
	c.once.Do(func() {
		var hc http.Client
		if c.HTTPClient != nil {
			hc = *c.HTTPClient
		} else {
			d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: c.dialControl, Resolver: c.Resolver}
			hc.Transport = &http.Transport{
				Proxy:                  nil,
				DialContext:            d.DialContext,
				TLSClientConfig:        c.TLSClientConfig,
				TLSHandshakeTimeout:    5 * time.Second,
				ResponseHeaderTimeout:  10 * time.Second,
				ExpectContinueTimeout:  time.Second,
				MaxIdleConns:           32,
				IdleConnTimeout:        60 * time.Second,
				ForceAttemptHTTP2:      true,
				MaxResponseHeaderBytes: 64 << 10,
			}
		}
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, MaxRedirects)
			}
			if err := c.checkURL(req.URL); err != nil {
				return err
			}
			if host, ok := req.Context().Value(sameHostKey{}).(string); ok && !sameHost(host, req.URL) {
				return fmt.Errorf("%w: hCard of an ID on %s redirected to %s", ErrForeignHCard, host, truncate(req.URL.Redacted(), 200))
			}
			status := 0
			from := ""
			if req.Response != nil {
				status = req.Response.StatusCode
				from = req.Response.Request.URL.String()
			}
			c.logger().DebugContext(req.Context(), "discovery redirect", "from", from, "status", status, "url", req.URL.String(), "remote_host", req.URL.Host)
			return nil
		}
		c.hc = &hc
	})
	return c.hc
}

func (c *Client) logger() *slog.Logger { return logs.Or(c.Logger) }

func (c *Client) maxBody() int64 {
	if c.MaxBodyBytes > 0 {
		return c.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

// response is a fetched document.
type response struct {
	body        []byte
	contentType string
	url         string
}

// get fetches rawURL with the client's policy and returns the body of a
// 2xx response.
func (c *Client) get(ctx context.Context, rawURL, accept string) (*response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlockedURL, err)
	}
	if err := c.checkURL(u); err != nil {
		return nil, err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBlockedURL, err)
	}
	ua := c.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", accept)
	log := c.logger()
	log.DebugContext(ctx, "discovery request", "method", "GET", "url", u.String(), "remote_host", u.Host)
	resp, err := c.httpClient().Do(req)
	if err != nil {
		log.DebugContext(ctx, "discovery request failed", "url", u.String(), "remote_host", u.Host, "err", err.Error())
		return nil, fmt.Errorf("discovery: GET %s: %w", u.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	final := resp.Request.URL.String()
	log.DebugContext(ctx, "discovery response", "url", final, "status", resp.StatusCode, "remote_host", resp.Request.URL.Host)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return nil, &HTTPError{StatusCode: resp.StatusCode, URL: final}
	}
	max := c.maxBody()
	if resp.ContentLength > max {
		return nil, fmt.Errorf("%w: %s announces %d bytes, limit %d", ErrResponseTooLarge, final, resp.ContentLength, max)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err == nil && ctx.Err() != nil {
		// The deadline passed while the body trickled in; a peer may
		// still close the body cleanly after our cancellation.
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: GET %s: reading body: %w", final, err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrResponseTooLarge, final, max)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	return &response{body: body, contentType: ct, url: final}, nil
}

// unwrapURLError keeps the cause of a *url.Error (the URL is already in
// our message) but leaves timeouts and other network errors intact.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && (errors.Is(ue.Err, ErrBlockedAddress) || errors.Is(ue.Err, ErrBlockedURL) ||
		errors.Is(ue.Err, ErrTooManyRedirects) || errors.Is(ue.Err, ErrForeignHCard)) {
		return ue.Err
	}
	return err
}

// final reports errors that end a lookup at once: no fallback can help
// and none may be tried.
func final(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrBlockedAddress) || errors.Is(err, ErrBlockedURL) ||
		errors.Is(err, ErrTooManyRedirects) || errors.Is(err, ErrSubjectMismatch) || errors.Is(err, ErrResponseTooLarge)
}

// getFallback is get over https with, when AllowHTTP is set, a retry of
// the same URL over http after a failure that is not final.
func (c *Client) getFallback(ctx context.Context, hostPath, accept string) (*response, error) {
	r, err := c.get(ctx, "https://"+hostPath, accept)
	if err == nil || !c.AllowHTTP || final(ctx, err) {
		return r, err
	}
	c.logger().DebugContext(ctx, "discovery retrying over http", "url", "http://"+hostPath, "err", err.Error())
	return c.get(ctx, "http://"+hostPath, accept)
}

// escapeNonASCII percent-encodes the bytes of s outside ASCII; the ID
// grammar leaves no other character that needs it in a query.
func escapeNonASCII(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			fmt.Fprintf(&b, "%%%02X", s[i])
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// WebFinger fetches the WebFinger document of id: the JRD at
// /.well-known/webfinger over https, then, unless NoHostMetaFallback is
// set, host-meta and its lrdd template (legacy XRD). The subject must name
// id, otherwise the error wraps ErrSubjectMismatch. The ID is normalized
// and validated before any URL is built from it (ErrInvalidID).
func (c *Client) WebFinger(ctx context.Context, id string) (*WebFinger, error) {
	w, _, err := c.webFinger(ctx, id)
	return w, err
}

// webFinger is [Client.WebFinger] that also returns the URL the document
// was finally read from (after redirects), the base of relative links.
func (c *Client) webFinger(ctx context.Context, id string) (*WebFinger, string, error) {
	nid, err := NormalizeID(id)
	if err != nil {
		return nil, "", err
	}
	w, doc, err := c.webFingerJRD(ctx, nid)
	if err == nil || c.NoHostMetaFallback || final(ctx, err) {
		return w, doc, err
	}
	w, doc, err2 := c.webFingerLegacy(ctx, nid)
	if err2 == nil {
		return w, doc, nil
	}
	return nil, "", fmt.Errorf("%w; legacy host-meta fallback: %w", err, err2)
}

func (c *Client) webFingerJRD(ctx context.Context, id string) (*WebFinger, string, error) {
	r, err := c.getFallback(ctx, idHost(id)+"/.well-known/webfinger?resource=acct:"+escapeNonASCII(id),
		"application/jrd+json, application/json;q=0.9")
	if err != nil {
		return nil, "", err
	}
	w, err := ParseJRD(r.body)
	if err != nil {
		return nil, "", fmt.Errorf("%w (%s)", err, r.url)
	}
	if err := checkSubject(w, id); err != nil {
		return nil, "", err
	}
	return w, r.url, nil
}

func (c *Client) webFingerLegacy(ctx context.Context, id string) (*WebFinger, string, error) {
	host := idHost(id)
	r, err := c.getFallback(ctx, host+"/.well-known/host-meta",
		"application/xrd+xml, application/xml;q=0.9, application/json;q=0.5")
	if err != nil {
		return nil, "", err
	}
	var hm *HostMeta
	if looksLikeJSON(r.body) {
		hm, err = ParseHostMetaJSON(r.body)
	} else {
		hm, err = ParseHostMeta(r.body)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w (%s)", err, r.url)
	}
	tmpl := hm.WebFingerTemplate()
	target := strings.ReplaceAll(tmpl, "{uri}", "acct:"+escapeNonASCII(id))
	tu, err := url.Parse(target)
	if err != nil {
		return nil, "", fmt.Errorf("%w: lrdd template %q: %v", ErrBlockedURL, truncate(tmpl, 200), err)
	}
	if !strings.EqualFold(tu.Hostname(), hostOnly(host)) {
		return nil, "", fmt.Errorf("%w: lrdd template points to another host: %s", ErrBlockedURL, truncate(tmpl, 200))
	}
	r, err = c.get(ctx, target, "application/xrd+xml, application/xml;q=0.9, application/jrd+json;q=0.5")
	if err != nil {
		return nil, "", err
	}
	var w *WebFinger
	if looksLikeJSON(r.body) {
		w, err = ParseJRD(r.body)
	} else {
		w, err = ParseXRD(r.body)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w (%s)", err, r.url)
	}
	if err := checkSubject(w, id); err != nil {
		return nil, "", err
	}
	return w, r.url, nil
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return strings.Trim(hostport, "[]")
}

func looksLikeJSON(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n\ufeff")
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

func checkSubject(w *WebFinger, id string) error {
	if normalizeSubject(w.Subject) != id {
		return fmt.Errorf("%w: asked for %s, got %q", ErrSubjectMismatch, id, truncate(w.Subject, 100))
	}
	return nil
}

// HCard fetches and validates the hCard at rawURL.
func (c *Client) HCard(ctx context.Context, rawURL string) (*HCard, error) {
	r, err := c.get(ctx, rawURL, "text/html, application/xhtml+xml;q=0.9")
	if err != nil {
		return nil, err
	}
	h, err := ParseHCard(r.body)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, r.url)
	}
	return h, nil
}

// Lookup discovers the person with the given diaspora* ID
// (https://diaspora.github.io/diaspora_federation/discovery/webfinger.html):
// WebFinger (see [Client.WebFinger]), then the hCard it links, whose key
// must decode to an RSA key of at least [Client.MinKeyBits]
// (a [*WeakKeyError] otherwise). Errors
// wrap the sentinels of this package; [IsTemporary] tells whether trying
// again later may help.
//
// The hCard must be served from the host of the ID: its URL (resolved
// against the WebFinger document's URL when relative) must name the same
// host, compared case-insensitively, and the same port, an explicit
// default port of its scheme (443 for https, 80 for http) counting as
// none. Otherwise the error wraps [ErrForeignHCard] and nothing is
// requested from the other host; an hCard request redirected to another
// host is refused the same way. The GUID and key of a person thus come
// from the pod that answers for the ID, never from a pod a stranger's
// WebFinger document points at.
func (c *Client) Lookup(ctx context.Context, id string) (*Person, error) {
	w, doc, err := c.webFinger(ctx, id)
	if err != nil {
		return nil, err
	}
	nid := normalizeSubject(w.Subject)
	hcardURL, err := c.hcardURL(nid, doc, w.HCardURL())
	if err != nil {
		return nil, err
	}
	h, err := c.HCard(context.WithValue(ctx, sameHostKey{}, idHost(nid)), hcardURL)
	if err != nil {
		return nil, err
	}
	key, err := h.PublicKey()
	if err == nil && key.N.BitLen() < rules.KeyBits(c.MinKeyBits) {
		err = &WeakKeyError{Bits: key.N.BitLen(), Min: rules.KeyBits(c.MinKeyBits)}
	}
	if err != nil {
		return nil, fmt.Errorf("%w (hCard of %s)", err, nid)
	}
	pod := w.SeedURL()
	if !strings.HasSuffix(pod, "/") {
		pod += "/"
	}
	p := &Person{
		ID:               nid,
		GUID:             h.GUID,
		PublicKey:        key,
		PublicKeyPEM:     strings.TrimSpace(h.PublicKeyPEM) + "\n",
		FullName:         h.FullName,
		FirstName:        h.FirstName,
		LastName:         h.LastName,
		Searchable:       h.Searchable,
		AvatarLarge:      resolveRef(pod, h.PhotoLarge),
		AvatarMedium:     resolveRef(pod, h.PhotoMedium),
		AvatarSmall:      resolveRef(pod, h.PhotoSmall),
		PodURL:           pod,
		ProfileURL:       w.ProfileURL(),
		HCardURL:         hcardURL,
		ReceiveURL:       pod + "receive/users/" + url.PathEscape(h.GUID),
		PublicReceiveURL: pod + "receive/public",
	}
	c.logger().InfoContext(ctx, "discovery found person", "author", p.ID, "guid", p.GUID, "remote_host", idHost(p.ID))
	return p, nil
}

// sameHostKey is the context key under which Lookup passes the host of
// the ID to the redirect check of the hCard request.
type sameHostKey struct{}

// hcardURL returns the hCard link href of the WebFinger document of id,
// read from docURL, once it passes the client's URL policy and is on the
// host of id: relative references are resolved against docURL, a URL the
// client would not fetch is refused as [Client.HCard] would refuse it
// (ErrBlockedURL, ErrBlockedAddress), and a URL on another host wraps
// ErrForeignHCard.
func (c *Client) hcardURL(id, docURL, href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil {
		return "", fmt.Errorf("%w: hCard URL: %v", ErrBlockedURL, err)
	}
	if !u.IsAbs() {
		base, err := url.Parse(docURL)
		if err != nil {
			return "", fmt.Errorf("%w: WebFinger document URL: %v", ErrBlockedURL, err)
		}
		u = base.ResolveReference(u)
		href = u.String()
	}
	if err := c.checkURL(u); err != nil {
		return "", err
	}
	if !sameHost(idHost(id), u) {
		return "", fmt.Errorf("%w: %s links %s", ErrForeignHCard, id, truncate(u.Redacted(), 200))
	}
	return href, nil
}

// sameHost reports whether u is on idHost, the host[:port] of a diaspora*
// ID: the same host name (ASCII case-insensitively) or IP address, and the
// same port, where the default port of u's scheme (443 for https, 80 for
// http) equals no port on either side.
func sameHost(idHost string, u *url.URL) bool {
	h1, p1 := idHost, ""
	if h, p, err := net.SplitHostPort(idHost); err == nil {
		h1, p1 = h, p
	}
	h1 = strings.Trim(h1, "[]")
	def := uint64(DefaultPort)
	if u.Scheme == "http" {
		def = DefaultHTTPPort
	}
	port := func(s string) (uint64, bool) {
		if s == "" {
			return def, true
		}
		n, err := strconv.ParseUint(s, 10, 16)
		return n, err == nil
	}
	n1, ok1 := port(p1)
	n2, ok2 := port(u.Port())
	if !ok1 || !ok2 || n1 != n2 {
		return false
	}
	h2 := u.Hostname()
	if a1, err := netip.ParseAddr(h1); err == nil {
		a2, err := netip.ParseAddr(h2)
		return err == nil && a1 == a2
	}
	return asciiLower(h1) == asciiLower(h2)
}

// asciiLower lowercases the ASCII letters of s and nothing else: host
// names are compared without Unicode case folding, which would equate
// distinct names (U+212A KELVIN SIGN folds to "k").
func asciiLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// PublicKey looks up author and returns the public key of its hCard. It
// lets a Client serve as the key resolver of the receive pipeline
// (magicenv.KeyResolver) without importing it: its errors have a
// Temporary() bool method ([IsTemporary]), which the receive pipeline
// reads to tell "try again later" from "this person has no key". There
// is no caching here: see [Resolver].
func (c *Client) PublicKey(ctx context.Context, author string) (*rsa.PublicKey, error) {
	p, err := c.Lookup(ctx, author)
	if err != nil {
		return nil, &KeyError{Author: author, Err: err}
	}
	return p.PublicKey, nil
}

// KeyError is the error of [Client.PublicKey] and [Resolver.PublicKey].
type KeyError struct {
	// Author is the diaspora* ID whose key was asked for.
	Author string
	// Err is why there is no key: the lookup's error.
	Err error
}

// Error implements error.
func (e *KeyError) Error() string {
	return "discovery: public key of " + e.Author + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *KeyError) Unwrap() error { return e.Err }

// Temporary reports whether the lookup could not be done now ([IsTemporary]),
// as opposed to refused or not found.
func (e *KeyError) Temporary() bool { return IsTemporary(e.Err) }

// resolveRef resolves a possibly relative avatar URL against the pod URL.
func resolveRef(base, ref string) string {
	if ref == "" {
		return ""
	}
	b, err := url.Parse(base)
	if err != nil {
		return ref
	}
	r, err := url.Parse(ref)
	if err != nil {
		return ref
	}
	return b.ResolveReference(r).String()
}
