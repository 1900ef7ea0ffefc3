package discovery

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-diaspora/federation/internal/rules"
	"github.com/go-diaspora/federation/internal/temporary"
)

// Sentinel errors. The errors this package returns wrap them; test with
// [errors.Is]. Use [IsTemporary] to tell "could not check" (retry later)
// from "checked and refused" (give up).
var (
	// ErrInvalidDocument means a discovery document is not what it claims
	// to be (not JSON, not an XRD, not HTML with the hCard classes) or lacks
	// the parts every such document has. Its neutral category is
	// "invalid_discovery_document".
	ErrInvalidDocument = errors.New("discovery: invalid discovery document")

	// ErrIncompleteDocument is the [ErrInvalidDocument] for a document that
	// parses but lacks a required element (a JRD without subject or links,
	// an XRD without Subject, a host-meta without a usable lrdd template,
	// an hCard without .fn or a large photo).
	ErrIncompleteDocument = fmt.Errorf("%w: incomplete", ErrInvalidDocument)

	// ErrDoctype means an XML document carries a DOCTYPE or another
	// directive; they are refused so that no entity can be expanded.
	ErrDoctype = fmt.Errorf("%w: DOCTYPE and directives are not allowed", ErrInvalidDocument)

	// ErrValidation is what every [*ValidationError] matches: the document
	// is well formed, but a value fails the reference's rules. Its neutral
	// category is "validation".
	ErrValidation = errors.New("discovery: validation failed")

	// ErrInvalidID means a diaspora* ID that does not match its grammar
	// (https://diaspora.github.io/diaspora_federation/federation/types.html#diaspora-id).
	// No URL is built from such an ID.
	ErrInvalidID = errors.New("discovery: invalid diaspora* ID")

	// ErrNotFound means the remote pod answered that the person (or the
	// document) does not exist: HTTP 404 or 410. It is final.
	ErrNotFound = errors.New("discovery: not found")

	// ErrSubjectMismatch means the WebFinger document names another person
	// than the one asked for. The document is ignored; it is final.
	ErrSubjectMismatch = errors.New("discovery: WebFinger subject does not match the requested ID")

	// ErrBlockedAddress means the client refused to connect to an address
	// in a reserved range (loopback, private, link-local, CGNAT, unique
	// local, IPv4-mapped, ...), or to a port outside [Client.AllowedPorts]
	// once a host name was resolved. No connection was made.
	ErrBlockedAddress = temporary.Final("discovery: address not allowed")

	// ErrBlockedURL means a URL the client refused to fetch: a scheme other
	// than https (or http with [Client.AllowHTTP]), user information, an
	// over-long URL, no host, or a port outside [Client.AllowedPorts].
	ErrBlockedURL = temporary.Final("discovery: URL not allowed")

	// ErrTooManyRedirects means a GET was redirected more than
	// [MaxRedirects] times.
	ErrTooManyRedirects = temporary.Final("discovery: too many redirects")

	// ErrResponseTooLarge means a response body over [Client.MaxBodyBytes].
	ErrResponseTooLarge = errors.New("discovery: response body too large")

	// ErrInvalidKey means a public key that cannot be used: not PEM, not
	// RSA, several PEM blocks, or trailing data.
	ErrInvalidKey = errors.New("discovery: invalid public key")

	// ErrWeakKey means an RSA key shorter than [MinKeyBits]. The error is a
	// [*WeakKeyError].
	ErrWeakKey = errors.New("discovery: RSA key too short")

	// ErrCacheMiss is what a [Cache] returns when it holds nothing for an ID.
	ErrCacheMiss = errors.New("discovery: cache miss")

	// ErrKeyConflict means a [Cache] already holds a different public key
	// for the ID. The stored key is kept; the caller decides what to do
	// (only a verified AccountMigration should change it).
	ErrKeyConflict = errors.New("discovery: a different public key is already known for this ID")

	// ErrForeignHCard means the WebFinger document links an hCard that is
	// not served from the host of the person's diaspora* ID. Whoever
	// serves WebFinger for an ID could otherwise claim the GUID and key of
	// a person on another pod. [Client.Lookup] refuses such a link before
	// fetching it, and an hCard request redirected to another host. It is
	// final; its neutral category is "foreign_hcard".
	ErrForeignHCard = temporary.Final("discovery: hCard not on the host of the diaspora* ID")

	// ErrGUIDConflict means a [Cache] already holds the GUID for another
	// diaspora* ID. The error of a Cache is a [*GUIDConflictError]. It is
	// final; its neutral category is "guid_conflict".
	ErrGUIDConflict = temporary.Final("discovery: GUID belongs to another person")
)

// GUIDConflictError is the [ErrGUIDConflict] of a [Cache]: GUID is held by
// Holder, not by ID.
type GUIDConflictError struct {
	// GUID is the GUID both people claim.
	GUID string
	// ID is the diaspora* ID whose Put was refused.
	ID string
	// Holder is the diaspora* ID the cache holds the GUID for.
	Holder string
}

// Error implements error.
func (e *GUIDConflictError) Error() string {
	return fmt.Sprintf("%s: %s is held by %s, not by %s", ErrGUIDConflict, truncate(e.GUID, 80), e.Holder, e.ID)
}

// Unwrap returns [ErrGUIDConflict], which is final for [IsTemporary].
func (e *GUIDConflictError) Unwrap() error { return ErrGUIDConflict }

// HTTPError reports a response with a status other than 2xx. It matches
// [ErrNotFound] for 404 and 410.
type HTTPError struct {
	// StatusCode is the HTTP status of the final response.
	StatusCode int
	// URL is the URL requested (after redirects).
	URL string
}

// Error implements error.
func (e *HTTPError) Error() string {
	return fmt.Sprintf("discovery: GET %s: HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Is makes a 404 or 410 match [ErrNotFound].
func (e *HTTPError) Is(target error) bool {
	return target == ErrNotFound && (e.StatusCode == http.StatusNotFound || e.StatusCode == http.StatusGone)
}

// Temporary reports whether the status says "try again later": 408, 425,
// 429 and every 5xx.
func (e *HTTPError) Temporary() bool { return temporary.Status(e.StatusCode) }

// FieldError is one failed rule of a [ValidationError].
type FieldError struct {
	// Property is the property name of the neutral view, e.g. "hcard_url".
	Property string
	// Rule names the rule, as the reference does: "not_nil", "URI", "guid",
	// "public_key", "regular_expression", "not_empty".
	Rule string
}

// ValidationError reports a well-formed document whose values fail the
// reference's validation rules. It matches [ErrValidation].
type ValidationError struct {
	// Document is the document type: "web_finger", "h_card" or "host_meta".
	Document string
	// Fields lists the failures in rule order.
	Fields []FieldError
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discovery: %s failed validation:", e.Document)
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, " %s (%s)", f.Property, f.Rule)
	}
	return b.String()
}

// Is makes a ValidationError match [ErrValidation].
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// WeakKeyError reports an RSA key below the minimum in effect:
// [MinKeyBits], or a higher [Client.MinKeyBits]. It matches [ErrWeakKey].
type WeakKeyError struct {
	// Bits is the size of the key that was refused.
	Bits int
	// Min is the minimum it fell short of; zero means MinKeyBits.
	Min int
}

// Error implements error.
func (e *WeakKeyError) Error() string {
	return fmt.Sprintf("discovery: RSA key of %d bits is shorter than %d", e.Bits, rules.KeyBits(e.Min))
}

// Is makes a WeakKeyError match [ErrWeakKey].
func (e *WeakKeyError) Is(target error) bool { return target == ErrWeakKey }

// Category returns the neutral error category of the test-vector manifests
// for err: "invalid_discovery_document" for [ErrInvalidDocument],
// "validation" for [ErrValidation], [ErrInvalidID], [ErrInvalidKey] and
// [ErrWeakKey]. Errors outside that vocabulary get "foreign_hcard"
// ([ErrForeignHCard]), "guid_conflict" ([ErrGUIDConflict]), "not_found",
// "subject_mismatch", "blocked", "network" or "other". A nil error has
// category "".
func Category(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrForeignHCard):
		return "foreign_hcard"
	case errors.Is(err, ErrGUIDConflict):
		return "guid_conflict"
	case errors.Is(err, ErrInvalidDocument):
		return "invalid_discovery_document"
	case errors.Is(err, ErrValidation), errors.Is(err, ErrInvalidID),
		errors.Is(err, ErrInvalidKey), errors.Is(err, ErrWeakKey):
		return "validation"
	case errors.Is(err, ErrSubjectMismatch):
		return "subject_mismatch"
	case errors.Is(err, ErrNotFound):
		return "not_found"
	case errors.Is(err, ErrBlockedAddress), errors.Is(err, ErrBlockedURL),
		errors.Is(err, ErrTooManyRedirects):
		return "blocked"
	case IsTemporary(err):
		return "network"
	}
	return "other"
}

// IsTemporary reports whether err means "could not check": a network
// failure, a timeout, or an HTTP status such as 503 or 429. A receiver
// answers such a failure with a 5xx status or retries later. Refusals
// (invalid documents, subject mismatch, blocked addresses, 404) are not
// temporary, and neither are an hCard on another host ([ErrForeignHCard])
// and a GUID held by another person ([ErrGUIDConflict]), even when they
// wrap a network failure. A cancelled context is not temporary either:
// the caller stopped.
//
// It is the module's one temporary-failure rule: salmon.IsTemporary is
// the same function, and an error of any package (or of the caller) that
// has a Temporary() bool method answers for itself.
func IsTemporary(err error) bool { return temporary.Is(err) }
