package entities

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every error returned by this package matches exactly one
// of them with [errors.Is]; [Category] maps them to the neutral vocabulary of
// the test vectors.
var (
	// ErrMalformed reports input that is not well-formed XML or JSON, or
	// whose structure is not that of an entity (for example a JSON object
	// without entity_data, or a relayable without property_order).
	ErrMalformed = errors.New("entities: malformed input")

	// ErrLimit reports input that exceeds one of the limits of [Options]
	// (size, depth, element count, list lengths). It is a kind of
	// [ErrMalformed]: errors.Is(err, ErrMalformed) holds for it too.
	ErrLimit = errors.New("entities: limit exceeded")

	// ErrUnknownEntity reports a root element or entity_type that names no
	// entity this package knows. It is returned together with a non-nil
	// [*UnknownEntity].
	ErrUnknownEntity = errors.New("entities: unknown entity type")

	// ErrValidation reports an entity that breaks a validation rule of the
	// protocol. Errors of this kind are [*ValidationError] values.
	ErrValidation = errors.New("entities: validation failed")

	// ErrInvalidSignature reports a relayable author_signature or an
	// AccountMigration signature that does not verify.
	ErrInvalidSignature = errors.New("entities: invalid signature")

	// ErrMissingSignature reports a relayable without author_signature or an
	// AccountMigration without signature when one is required. It is a kind
	// of [ErrInvalidSignature].
	ErrMissingSignature = errors.New("entities: missing signature")
)

// ValidationError reports a broken validation rule. Entity is the entity
// name (for example "status_message"), Property the property name as it
// appears in XML and JSON (for example "guid" or "photos"), and Rule a short
// rule name: "required", "guid", "diaspora_id", "length", "not_empty",
// "boolean", "uri", "birthday", "tag_count", "timezone", "diaspora_id_list",
// "public_key", "one_of", "author" (a nested entity by another author),
// "embed", "flags", "root", "root_author".
//
// A ValidationError of a nested entity is wrapped by the error of its parent,
// so Entity and Property of the outermost error name the parent.
type ValidationError struct {
	// Entity is the entity type ("status_message"), Property the
	// property that broke a rule ("guid") and Rule the rule's name
	// ("guid", "diaspora_id", "length", "required", ...).
	Entity   string
	Property string
	Rule     string
	// Detail is an optional human-readable explanation.
	Detail string
	// Err is the wrapped error of a nested entity, or nil.
	Err error
}

// Error implements error.
func (e *ValidationError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "entities: invalid %s: property %s breaks rule %s", e.Entity, e.Property, e.Rule)
	if e.Detail != "" {
		b.WriteString(" (")
		b.WriteString(e.Detail)
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "entities: "))
	}
	return b.String()
}

// Is reports whether target is [ErrValidation].
func (e *ValidationError) Is(target error) bool { return target == ErrValidation }

// Unwrap returns the error of a nested entity, if any.
func (e *ValidationError) Unwrap() error { return e.Err }

// UnknownEntity is an entity whose type this package does not know. ParseXML
// and ParseJSON return it together with an error that matches
// [ErrUnknownEntity], so that callers can store, relay or inspect it.
type UnknownEntity struct {
	// Name is the root element name (XML) or entity_type (JSON).
	Name string
	// Raw is the input as received (for XML, the entity element after an
	// optional legacy wrapper was removed, in UTF-8: a document in
	// another encoding is converted before it is read).
	Raw []byte
}

// Type returns the name of the unknown entity.
func (u *UnknownEntity) Type() string { return u.Name }

// Validate always reports [ErrUnknownEntity]: an unknown entity cannot be
// validated.
func (u *UnknownEntity) Validate() error { return unknownEntityError(u.Name) }

func (u *UnknownEntity) entity() {}

// LimitError reports which limit of [Options] an input exceeded. It matches
// [ErrLimit] and [ErrMalformed].
type LimitError struct {
	// Limit names the limit: "size", "depth", "elements", "photos",
	// "poll_answers", "messages".
	Limit string
	// Max is the limit that was in force.
	Max int
}

// Error implements error.
func (e *LimitError) Error() string {
	return fmt.Sprintf("entities: limit exceeded: %s > %d", e.Limit, e.Max)
}

// Is reports whether target is [ErrLimit] or [ErrMalformed].
func (e *LimitError) Is(target error) bool { return target == ErrLimit || target == ErrMalformed }

// malformedError wraps a cause with ErrMalformed.
type malformedError struct {
	msg string
	err error
}

func (e *malformedError) Error() string {
	if e.err != nil {
		return "entities: malformed input: " + e.msg + ": " + e.err.Error()
	}
	return "entities: malformed input: " + e.msg
}

func (e *malformedError) Is(target error) bool { return target == ErrMalformed }

func (e *malformedError) Unwrap() error { return e.err }

func malformed(msg string, err error) error { return &malformedError{msg: msg, err: err} }

func unknownEntityError(name string) error {
	return fmt.Errorf("%w: %q", ErrUnknownEntity, name)
}

// SignatureError reports a signature that is missing or does not verify. It
// matches [ErrInvalidSignature], and [ErrMissingSignature] when the
// signature was absent.
type SignatureError struct {
	// Entity is the entity name, for example "comment".
	Entity string
	// Property is the signature property: "author_signature" or "signature".
	Property string
	// Missing is true when there was no signature at all.
	Missing bool
}

// Error implements error.
func (e *SignatureError) Error() string {
	if e.Missing {
		return fmt.Sprintf("entities: %s has no %s", e.Entity, e.Property)
	}
	return fmt.Sprintf("entities: wrong %s for %s", e.Property, e.Entity)
}

// Is reports whether target is [ErrInvalidSignature] or, for a missing
// signature, [ErrMissingSignature].
func (e *SignatureError) Is(target error) bool {
	return target == ErrInvalidSignature || (e.Missing && target == ErrMissingSignature)
}

// Category maps an error of this package to the neutral error vocabulary
// used by the test vectors' manifest: "malformed" (including exceeded
// limits), "unknown_entity", "validation" and "invalid_entity_signature".
// It returns "" for a nil error and "other" for errors it does not know.
func Category(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrUnknownEntity):
		return "unknown_entity"
	case errors.Is(err, ErrValidation):
		return "validation"
	case errors.Is(err, ErrInvalidSignature):
		return "invalid_entity_signature"
	case errors.Is(err, ErrMalformed):
		return "malformed"
	}
	return "other"
}
