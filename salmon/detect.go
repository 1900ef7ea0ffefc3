package salmon

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"mime"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/internal/xmlsafe"
	"github.com/go-diaspora/federation/magicenv"
)

// Format is the wire format of a received body.
type Format string

// The formats Detect tells apart.
const (
	// FormatUnknown is anything else.
	FormatUnknown Format = "unknown"
	// FormatMagicEnvelope is a public Magic Envelope (application/magic-envelope+xml).
	FormatMagicEnvelope Format = "magic_envelope"
	// FormatEncryptedMagicEnvelope is the JSON body of private delivery.
	FormatEncryptedMagicEnvelope Format = "encrypted_magic_envelope"
	// FormatLegacySlap is a pre-2017 public Salmon slap (<diaspora><header>).
	FormatLegacySlap Format = "legacy_slap"
	// FormatLegacyEncryptedSlap is a pre-2017 private slap (<diaspora><encrypted_header>).
	FormatLegacyEncryptedSlap Format = "legacy_encrypted_slap"
)

// Legacy reports whether f is one of the pre-2017 formats.
func (f Format) Legacy() bool { return f == FormatLegacySlap || f == FormatLegacyEncryptedSlap }

// LegacyNamespace is the default namespace of a legacy slap.
const LegacyNamespace = "https://joindiaspora.com/protocol"

// FormContentType is the content type of the legacy "xml=" form body.
const FormContentType = "application/x-www-form-urlencoded"

// Detect tells the format of a received body from its bytes and, when
// known, its Content-Type (which may be empty). It looks only at the
// outside of the body: a detected format may still fail to parse. A legacy
// form body ("xml=..."), which old pods sent, must first go through
// [DecodeLegacyForm]; Detect reports it as FormatUnknown.
func Detect(body []byte, contentType string) Format {
	// An XML body in UTF-16 or with an XML 1.1 declaration is sorted by
	// its UTF-8 form, which the envelope parser reads too.
	if u, err := xmlsafe.ToUTF8(body, 0); err == nil {
		body = u
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return FormatUnknown
	}
	if trimmed[0] == '{' {
		if mediaType(contentType) == magicenv.EncryptedContentType || hasMember(trimmed, "encrypted_magic_envelope") {
			return FormatEncryptedMagicEnvelope
		}
		return FormatUnknown
	}
	if envelopeRoot(trimmed) {
		return FormatMagicEnvelope
	}
	space, local, children := rootElement(trimmed)
	switch {
	case space == magicenv.Namespace && local == "env":
		return FormatMagicEnvelope
	case space == LegacyNamespace && local == "diaspora":
		if children["encrypted_header"] {
			return FormatLegacyEncryptedSlap
		}
		return FormatLegacySlap
	}
	return FormatUnknown
}

func mediaType(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	return mt
}

// hasMember reports whether a JSON object has a top-level member name.
func hasMember(b []byte, name string) bool {
	d := json.NewDecoder(bytes.NewReader(b))
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if tok == name {
			return true
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return false
		}
	}
	return false
}

// envelopeRoot recognises, without an XML decoder, the start of a Magic
// Envelope as senders write it: an optional XML declaration, the me:env
// start tag with its namespace declaration, and white space before the
// start tag of the first child. rootElement reads any such body as an
// me:env in the envelope namespace too (FuzzDetect checks it); bodies of
// every other shape go to rootElement.
func envelopeRoot(b []byte) bool {
	b, _ = bytes.CutPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`))
	b, ok := bytes.CutPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte(`<me:env xmlns:me="`+magicenv.Namespace+`">`))
	if !ok {
		return false
	}
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) >= 2 && b[0] == '<' && ('a' <= b[1] && b[1] <= 'z' || 'A' <= b[1] && b[1] <= 'Z')
}

// rootElement reads the root element's namespace and local name, and the
// local names of its direct children in the slap namespace, without
// building a tree. It stops at the first error.
func rootElement(b []byte) (space, local string, children map[string]bool) {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	depth := 0
	for {
		tok, err := d.Token()
		if err != nil {
			return space, local, children
		}
		switch t := tok.(type) {
		case xml.Directive:
			return "", "", nil
		case xml.StartElement:
			depth++
			switch depth {
			case 1:
				space, local, children = t.Name.Space, t.Name.Local, map[string]bool{}
			case 2:
				if t.Name.Space == LegacyNamespace {
					children[t.Name.Local] = true
				}
			}
			if depth == 2 && local != "diaspora" {
				return space, local, children
			}
		case xml.EndElement:
			depth--
			if depth == 0 {
				return space, local, children
			}
		}
	}
}

// DecodeLegacyForm extracts the slap from the body of a legacy delivery:
// an application/x-www-form-urlencoded body with one "xml" parameter
// whose value old pods had URL-encoded once more (Ruby's CGI.escape). The
// value is form-decoded and then, if it still looks percent-encoded
// (it starts with "%3C"), decoded once more the way the reference did
// (CGI.unescape: "+" is a space, "%2B" a plus).
func DecodeLegacyForm(body []byte) ([]byte, error) {
	values, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("%w: legacy form body: %v", magicenv.ErrMalformed, err)
	}
	xs := values["xml"]
	if len(xs) != 1 || xs[0] == "" {
		return nil, fmt.Errorf("%w: legacy form body needs exactly one xml parameter", magicenv.ErrMalformed)
	}
	x := xs[0]
	if strings.HasPrefix(strings.ToUpper(x), "%3C") {
		if x, err = url.QueryUnescape(x); err != nil {
			return nil, fmt.Errorf("%w: legacy form body: %v", magicenv.ErrMalformed, err)
		}
	}
	return []byte(x), nil
}
