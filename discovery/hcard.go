package discovery

import (
	"bytes"
	"crypto/rsa"
	"fmt"
	"html"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/go-diaspora/federation/internal/rules"
)

// HCard is the profile document a pod serves at /hcard/users/⟨guid⟩
// (https://diaspora.github.io/diaspora_federation/discovery/hcard.html).
// Text values are taken as the document has them,
// untrimmed, except that [HCard.PublicKey] is trimmed before decoding.
type HCard struct {
	// GUID is the person's GUID (".uid").
	GUID string
	// Nickname is the username part of the ID (".nickname"); informative.
	Nickname string
	// FullName is the display name (".fn").
	FullName string
	// FirstName and LastName are the legacy name fields (".given_name",
	// ".family_name").
	FirstName, LastName string
	// Searchable is true only when ".searchable" reads exactly "true".
	Searchable bool
	// PublicKeyPEM is the text of ".key": a "PUBLIC KEY" (SPKI) or
	// "RSA PUBLIC KEY" (PKCS#1) PEM block.
	PublicKeyPEM string
	// PhotoLarge, PhotoMedium and PhotoSmall are the src of the 300, 100
	// and 50 pixel avatars; they may be relative to the pod URL.
	PhotoLarge, PhotoMedium, PhotoSmall string
	// URL is the legacy "#pod_location" link, if any; it is not used.
	URL string

	hasKey bool
}

// ParseHCard parses and validates an hCard. It accepts the markup of
// diaspora* (XHTML-style "<span/>" included), Friendica and Hubzilla: the
// first element in document order with each class is used. Errors wrap
// [ErrIncompleteDocument] when ".fn" or ".entity_photo .photo[src]" is
// missing, or are a [*ValidationError] when a value fails the reference's
// rules (GUID, names, photo URLs, PEM markers of the key). ParseHCard does
// not decode the key; [HCard.PublicKey] does.
func ParseHCard(data []byte) (*HCard, error) {
	h, err := parseHCard(data)
	if err != nil {
		return nil, err
	}
	if err := h.Validate(); err != nil {
		return nil, err
	}
	return h, nil
}

func parseHCard(data []byte) (*HCard, error) {
	src := string(data)
	if !utf8.ValidString(src) {
		src = strings.ToValidUTF8(src, "\uFFFD")
	}
	doc, err := parseHTML(src)
	if err != nil {
		return nil, err
	}
	byClass := func(c string) *hnode { return doc.find(func(n *hnode) bool { return n.hasClass(c) }) }
	photo := func(container string) *hnode {
		return doc.find(func(n *hnode) bool {
			_, ok := n.attrs["src"]
			return ok && n.hasClass("photo") && n.hasAncestorClass(container)
		})
	}
	fn, large := byClass("fn"), photo("entity_photo")
	if fn == nil || large == nil {
		return nil, fmt.Errorf("%w: hcard html needs .fn and .entity_photo .photo[src]", ErrIncompleteDocument)
	}
	text := func(c string) string {
		if n := byClass(c); n != nil {
			return n.content()
		}
		return ""
	}
	src2 := func(n *hnode) string {
		if n == nil {
			return ""
		}
		return n.attrs["src"]
	}
	h := &HCard{
		GUID:        text("uid"),
		Nickname:    text("nickname"),
		FullName:    fn.content(),
		FirstName:   text("given_name"),
		LastName:    text("family_name"),
		Searchable:  text("searchable") == "true",
		PhotoLarge:  src2(large),
		PhotoMedium: src2(photo("entity_photo_medium")),
		PhotoSmall:  src2(photo("entity_photo_small")),
	}
	if k := byClass("key"); k != nil {
		h.PublicKeyPEM, h.hasKey = k.content(), true
	}
	if pl := doc.find(func(n *hnode) bool { _, ok := n.attrs["href"]; return ok && n.attrs["id"] == "pod_location" }); pl != nil {
		h.URL = pl.attrs["href"]
	}
	return h, nil
}

var (
	fullNamePattern = regexp.MustCompile(`^[^;]{0,70}$`)
	namePattern     = regexp.MustCompile(`^[^;]{0,32}$`)
)

// nameOK is the reference's /\A[^;]{,n}\z/: no ";" and at most n
// characters (newlines included).
func nameOK(re *regexp.Regexp, s string) bool {
	return s == "" || re.MatchString(strings.ReplaceAll(s, "\n", " "))
}

// Validate applies the reference's hCard rules: a valid GUID; full name
// (70) and first/last names (32) without ";"; the three photo URLs present
// and URIs with a path (relative ones allowed); a key with PEM markers.
// The error is a [*ValidationError].
func (h *HCard) Validate() error {
	var fs []FieldError
	if !ValidGUID(h.GUID) {
		fs = append(fs, FieldError{"guid", "guid"})
	}
	if !nameOK(fullNamePattern, h.FullName) {
		fs = append(fs, FieldError{"full_name", "regular_expression"})
	}
	if !nameOK(namePattern, h.FirstName) {
		fs = append(fs, FieldError{"first_name", "regular_expression"})
	}
	if !nameOK(namePattern, h.LastName) {
		fs = append(fs, FieldError{"last_name", "regular_expression"})
	}
	fs = checkURL(fs, "photo_large_url", h.PhotoLarge, true, false, true)
	fs = checkURL(fs, "photo_medium_url", h.PhotoMedium, true, false, true)
	fs = checkURL(fs, "photo_small_url", h.PhotoSmall, true, false, true)
	if !rules.PublicKeyRule(h.PublicKeyPEM) {
		fs = append(fs, FieldError{"public_key", "public_key"})
	}
	if len(fs) > 0 {
		return &ValidationError{Document: "h_card", Fields: fs}
	}
	return nil
}

// PublicKey decodes [HCard.PublicKeyPEM] with [ParsePublicKey].
func (h *HCard) PublicKey() (*rsa.PublicKey, error) {
	return ParsePublicKey([]byte(h.PublicKeyPEM))
}

// View returns the neutral view: type "h_card" with guid, nickname,
// full_name, public_key, photo_large_url, photo_medium_url,
// photo_small_url, first_name, last_name (empty values null) and
// searchable.
func (h *HCard) View() *View {
	var key any
	if h.hasKey || h.PublicKeyPEM != "" {
		key = nullable(h.PublicKeyPEM)
	}
	return &View{Type: "h_card", Properties: map[string]any{
		"guid":             nullable(h.GUID),
		"nickname":         nullable(h.Nickname),
		"full_name":        nullable(h.FullName),
		"public_key":       key,
		"photo_large_url":  nullable(h.PhotoLarge),
		"photo_medium_url": nullable(h.PhotoMedium),
		"photo_small_url":  nullable(h.PhotoSmall),
		"first_name":       nullable(h.FirstName),
		"last_name":        nullable(h.LastName),
		"searchable":       h.Searchable,
	}}
}

// HTML renders the hCard in the reference's layout
// (https://diaspora.github.io/diaspora_federation/discovery/hcard.html):
// an XHTML-style document whose #content_inner holds one dl per property
// (uid, nickname, full name, searchable, key, first and last name, then
// the three photos).
func (h *HCard) HTML() []byte {
	var b bytes.Buffer
	e := html.EscapeString
	b.WriteString("<!DOCTYPE html PUBLIC \"-//W3C//DTD HTML 4.0 Transitional//EN\" \"http://www.w3.org/TR/REC-html40/loose.dtd\">\n")
	b.WriteString("<html>\n  <head>\n    <meta charset=\"UTF-8\"/>\n")
	b.WriteString(emptyOr("    ", "title", h.FullName))
	b.WriteString("  </head>\n  <body>\n    <div id=\"content\">\n")
	b.WriteString(emptyOr("      ", "h1", h.FullName))
	b.WriteString("      <div id=\"content_inner\" class=\"entity_profile vcard author\">\n        <h2>User profile</h2>\n")
	prop := func(name, inner string) {
		b.WriteString("        <dl class=\"entity_" + name + "\">\n")
		b.WriteString("          <dt>" + strings.ToUpper(name[:1]) + name[1:] + "</dt>\n")
		b.WriteString("          <dd>\n            " + inner + "\n          </dd>\n        </dl>\n")
	}
	span := func(class, v string) string {
		if v == "" {
			return "<span class=\"" + class + "\"/>"
		}
		return "<span class=\"" + class + "\">" + e(v) + "</span>"
	}
	searchable := "false"
	if h.Searchable {
		searchable = "true"
	}
	prop("uid", span("uid", h.GUID))
	prop("nickname", span("nickname", h.Nickname))
	prop("full_name", span("fn", h.FullName))
	prop("searchable", span("searchable", searchable))
	if h.PublicKeyPEM == "" {
		prop("key", "<pre class=\"key\"/>")
	} else {
		prop("key", "<pre class=\"key\">"+e(h.PublicKeyPEM)+"</pre>")
	}
	prop("first_name", span("given_name", h.FirstName))
	prop("family_name", span("family_name", h.LastName))
	img := func(size, src string) string {
		return "<img class=\"photo avatar\" width=\"" + size + "\" height=\"" + size + "\" src=\"" + e(src) + "\"/>"
	}
	prop("photo", img("300", h.PhotoLarge))
	prop("photo_medium", img("100", h.PhotoMedium))
	prop("photo_small", img("50", h.PhotoSmall))
	b.WriteString("      </div>\n    </div>\n  </body>\n</html>\n")
	return b.Bytes()
}

func emptyOr(indent, tag, v string) string {
	if v == "" {
		return indent + "<" + tag + "/>\n"
	}
	return indent + "<" + tag + ">" + html.EscapeString(v) + "</" + tag + ">\n"
}
