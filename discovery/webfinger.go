package discovery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Link relations of a diaspora* WebFinger document, JRD or legacy XRD
// (https://diaspora.github.io/diaspora_federation/discovery/webfinger.html).
const (
	RelHCard     = "http://microformats.org/profile/hcard"
	RelSeed      = "http://joindiaspora.com/seed_location"
	RelProfile   = "http://webfinger.net/rel/profile-page"
	RelAtom      = "http://schemas.google.com/g/2010#updates-from"
	RelSalmon    = "salmon"
	RelSubscribe = "http://ostatus.org/schema/1.0/subscribe"
	// RelGUID and RelPublicKey are legacy XRD links that pods dropped in
	// 2017; they are read but never emitted.
	RelGUID      = "http://joindiaspora.com/guid"
	RelPublicKey = "diaspora-public-key"
	// RelLRDD is the host-meta link whose template leads to the legacy XRD
	// WebFinger document.
	RelLRDD = "lrdd"
)

// Link is one link of a JRD, XRD or host-meta document.
type Link struct {
	// Rel is the link relation, Type the media type, Href the target and
	// Template a URI template (with "{uri}") instead of a target.
	Rel      string `json:"rel,omitempty"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

// Property is one property of a JRD or XRD document. A nil Value is the
// JSON null (an XRD Property with xsi:nil).
type Property struct {
	// Type is the property's URI; Value its value or nil.
	Type  string
	Value *string
}

// WebFinger is a WebFinger document, read from either the JRD (RFC 7033)
// or the legacy XRD form. Values are kept as the document has them; use
// the accessors for the diaspora* links, which return the first link of
// each relation as the reference does.
type WebFinger struct {
	// Subject is the subject as written, normally "acct:user@host".
	Subject string
	// Aliases are the aliases in document order (XRD aliases without the
	// double quotes some old pods put around them).
	Aliases []string
	// Properties are the document's properties, in document order for XRD
	// and in key order for JRD.
	Properties []Property
	// Links are all links, in document order.
	Links []Link
	// Expires is the raw expiry time, if any ("YYYY-MM-DDTHH:MM:SSZ").
	Expires string
}

// Link returns the first link with relation rel.
func (w *WebFinger) Link(rel string) (Link, bool) {
	for _, l := range w.Links {
		if l.Rel == rel {
			return l, true
		}
	}
	return Link{}, false
}

func (w *WebFinger) href(rel string) string {
	l, _ := w.Link(rel)
	return l.Href
}

// HCardURL returns the href of the first hCard link.
func (w *WebFinger) HCardURL() string { return w.href(RelHCard) }

// SeedURL returns the href of the first seed_location link: the base URL
// of the person's pod.
func (w *WebFinger) SeedURL() string { return w.href(RelSeed) }

// ProfileURL returns the href of the first profile-page link.
func (w *WebFinger) ProfileURL() string { return w.href(RelProfile) }

// AtomURL returns the href of the first Atom feed link.
func (w *WebFinger) AtomURL() string { return w.href(RelAtom) }

// SalmonURL returns the href of the first salmon link: the person's
// private receive URL.
func (w *WebFinger) SalmonURL() string { return w.href(RelSalmon) }

// SubscribeURL returns the template of the first OStatus subscribe link.
func (w *WebFinger) SubscribeURL() string {
	l, _ := w.Link(RelSubscribe)
	return l.Template
}

// LegacyGUID returns the href of the legacy guid link of old XRD
// documents, or "".
func (w *WebFinger) LegacyGUID() string { return w.href(RelGUID) }

// LegacyPublicKey decodes the legacy diaspora-public-key link of old XRD
// documents (standard base64 of the whole PEM text; white space inside is
// ignored). It returns nil when there is no such link or it does not
// decode.
func (w *WebFinger) LegacyPublicKey() []byte {
	h := w.href(RelPublicKey)
	if h == "" {
		return nil
	}
	b, err := decodeLenientBase64(h)
	if err != nil {
		return nil
	}
	return b
}

// Validate applies the reference's WebFinger rules: a non-empty subject;
// hCard link present with an absolute URL; seed_location present and a
// URL; profile, Atom and salmon links, when present, absolute URLs. The
// error is a [*ValidationError].
func (w *WebFinger) Validate() error {
	var fs []FieldError
	if w.Subject == "" {
		fs = append(fs, FieldError{"acct_uri", "not_empty"})
	}
	fs = checkURL(fs, "hcard_url", w.HCardURL(), true, true, true)
	fs = checkURL(fs, "seed_url", w.SeedURL(), true, false, false)
	fs = checkURL(fs, "profile_url", w.ProfileURL(), false, true, true)
	fs = checkURL(fs, "atom_url", w.AtomURL(), false, true, true)
	fs = checkURL(fs, "salmon_url", w.SalmonURL(), false, true, true)
	if len(fs) > 0 {
		return &ValidationError{Document: "web_finger", Fields: fs}
	}
	return nil
}

// View returns the neutral view of the document, as the vector manifests
// write it: type "web_finger" with acct_uri, hcard_url, seed_url,
// profile_url, atom_url, salmon_url and subscribe_url (empty values null).
func (w *WebFinger) View() *View {
	return &View{Type: "web_finger", Properties: map[string]any{
		"acct_uri":      nullable(w.Subject),
		"hcard_url":     nullable(w.HCardURL()),
		"seed_url":      nullable(w.SeedURL()),
		"profile_url":   nullable(w.ProfileURL()),
		"atom_url":      nullable(w.AtomURL()),
		"salmon_url":    nullable(w.SalmonURL()),
		"subscribe_url": nullable(w.SubscribeURL()),
	}}
}

// ParseJRD parses and validates a WebFinger JRD document. Errors wrap
// [ErrInvalidDocument] (not a JSON object, duplicate keys, members of the
// wrong type, no subject or no links) or are a [*ValidationError].
func ParseJRD(data []byte) (*WebFinger, error) {
	w, err := parseJRD(data)
	if err != nil {
		return nil, err
	}
	if err := w.Validate(); err != nil {
		return nil, err
	}
	return w, nil
}

func parseJRD(data []byte) (*WebFinger, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a JRD document: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: not a JRD document: not a JSON object", ErrInvalidDocument)
	}
	w := &WebFinger{}
	subject, hasSubject, err := optString(obj, "subject")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	w.Subject = subject
	if w.Expires, _, err = optString(obj, "expires"); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidDocument, err)
	}
	if as, ok := obj["aliases"].([]any); ok {
		for _, a := range as {
			if s, ok := a.(string); ok {
				w.Aliases = append(w.Aliases, s)
			}
		}
	}
	if ps, ok := obj["properties"].(map[string]any); ok {
		w.Properties = jsonProperties(ps)
	}
	rawLinks, hasLinks := obj["links"]
	if rawLinks == nil {
		hasLinks = false
	}
	if !hasSubject || !hasLinks {
		return nil, fmt.Errorf("%w: WebFinger JSON needs subject and links", ErrIncompleteDocument)
	}
	w.Links, err = jsonLinks(rawLinks)
	if err != nil {
		return nil, err
	}
	return w, nil
}

func jsonProperties(ps map[string]any) []Property {
	keys := make([]string, 0, len(ps))
	for k := range ps {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]Property, 0, len(keys))
	for _, k := range keys {
		p := Property{Type: k}
		if s, ok := ps[k].(string); ok {
			p.Value = &s
		}
		out = append(out, p)
	}
	return out
}

func jsonLinks(raw any) ([]Link, error) {
	arr, ok := raw.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: links is not an array", ErrInvalidDocument)
	}
	links := make([]Link, 0, len(arr))
	for _, e := range arr {
		o, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%w: a link is not an object", ErrInvalidDocument)
		}
		var l Link
		var err error
		for _, f := range []struct {
			key string
			dst *string
		}{{"rel", &l.Rel}, {"type", &l.Type}, {"href", &l.Href}, {"template", &l.Template}} {
			if *f.dst, _, err = optString(o, f.key); err != nil {
				return nil, fmt.Errorf("%w: link %v", ErrInvalidDocument, err)
			}
		}
		links = append(links, l)
	}
	return links, nil
}

// JRD encodes w as a JRD document the way the reference does: compact
// JSON with subject, aliases, properties and links in that order, empty
// members left out, no HTML escaping.
func (w *WebFinger) JRD() ([]byte, error) {
	type jrd struct {
		Subject    string             `json:"subject"`
		Expires    string             `json:"expires,omitempty"`
		Aliases    []string           `json:"aliases,omitempty"`
		Properties map[string]*string `json:"properties,omitempty"`
		Links      []Link             `json:"links"`
	}
	d := jrd{Subject: w.Subject, Expires: w.Expires, Aliases: w.Aliases, Links: w.Links}
	if d.Links == nil {
		d.Links = []Link{}
	}
	if len(w.Properties) > 0 {
		d.Properties = make(map[string]*string, len(w.Properties))
		for _, p := range w.Properties {
			d.Properties[p.Type] = p.Value
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NewWebFinger builds the WebFinger document a pod serves for a local
// person (https://diaspora.github.io/diaspora_federation/discovery/webfinger.html):
// subject, alias, and the hCard, seed,
// profile, Atom, salmon and subscribe links, all derived from the pod's
// base URL (with or without a trailing slash), the person's ID and GUID.
func NewWebFinger(baseURL, id, guid string) *WebFinger {
	base := strings.TrimSuffix(baseURL, "/")
	user, _, _ := strings.Cut(id, "@")
	g := url.PathEscape(guid)
	return &WebFinger{
		Subject: "acct:" + id,
		Aliases: []string{base + "/people/" + g},
		Links: []Link{
			{Rel: RelHCard, Type: "text/html", Href: base + "/hcard/users/" + g},
			{Rel: RelSeed, Type: "text/html", Href: base + "/"},
			{Rel: RelProfile, Type: "text/html", Href: base + "/u/" + url.PathEscape(user)},
			{Rel: RelAtom, Type: "application/atom+xml", Href: base + "/public/" + url.PathEscape(user) + ".atom"},
			{Rel: RelSalmon, Href: base + "/receive/users/" + g},
			{Rel: RelSubscribe, Template: base + "/people?q={uri}"},
		},
	}
}

// nullable maps "" to nil, as the reference turns empty values into nil.
func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// checkURL applies the reference's not_nil and URI rules to one value.
func checkURL(fs []FieldError, prop, v string, required, needHost, needPath bool) []FieldError {
	if v == "" {
		if required {
			fs = append(fs, FieldError{prop, "not_nil"})
		}
		return fs
	}
	if !uriOK(v, needHost, needPath) {
		fs = append(fs, FieldError{prop, "URI"})
	}
	return fs
}

// uriOK approximates Ruby's strict RFC 3986 URI.parse followed by the
// reference's "URI" rule: only URI characters and well-formed
// percent-escapes, then a host (absolute URL) and a path (not opaque) when
// asked for.
func uriOK(s string, needHost, needPath bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-._~:/?#[]@!$&'()*+,;=", c) >= 0:
		case c == '%':
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
		default:
			return false
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	if needHost && u.Host == "" {
		return false
	}
	if needPath && u.Opaque != "" {
		return false
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
