package magicenv

import (
	"errors"
	"fmt"

	"github.com/go-diaspora/federation/internal/temporary"
)

// Sentinel errors. Test for them with [errors.Is]; the errors this package
// returns wrap them, often inside a [*ParseError] that names the element.
//
// The structural sentinels (ErrUnsupportedDataType, ErrUnsupportedEncoding,
// ErrUnsupportedAlgorithm, ErrMissingKeyID, ErrInvalidAuthor, ErrDoctype)
// all wrap [ErrInvalidEnvelope], so one check catches every "this is not a
// well-formed diaspora* envelope" outcome.
var (
	// ErrInvalidEnvelope means the input is not a Magic Envelope the
	// reference would accept: not XML, wrong root element or namespace
	// prefix, missing or empty children, duplicate children, or a wrong
	// parameter value.
	ErrInvalidEnvelope = errors.New("magicenv: invalid envelope")

	// ErrUnsupportedDataType means me:data/@type is not "application/xml".
	ErrUnsupportedDataType = fmt.Errorf("%w: data type is not %s", ErrInvalidEnvelope, DataType)

	// ErrUnsupportedEncoding means me:encoding is not "base64url".
	ErrUnsupportedEncoding = fmt.Errorf("%w: encoding is not %s", ErrInvalidEnvelope, Encoding)

	// ErrUnsupportedAlgorithm means me:alg is not "RSA-SHA256".
	ErrUnsupportedAlgorithm = fmt.Errorf("%w: algorithm is not %s", ErrInvalidEnvelope, Algorithm)

	// ErrMissingKeyID means me:sig carries no key_id attribute, so the
	// envelope does not name its sender.
	ErrMissingKeyID = fmt.Errorf("%w: no key_id", ErrInvalidEnvelope)

	// ErrInvalidAuthor means the sender named by key_id (or given to
	// [Sign]) is empty, too long, not UTF-8, or contains white space or
	// control characters.
	ErrInvalidAuthor = fmt.Errorf("%w: invalid author", ErrInvalidEnvelope)

	// ErrDoctype means the XML carries a DOCTYPE or another directive.
	// They are refused outright so no entity can be expanded.
	ErrDoctype = fmt.Errorf("%w: DOCTYPE and directives are not allowed", ErrInvalidEnvelope)

	// ErrMalformed means base64 text (me:data, me:sig, key_id) that a
	// strict decoder refuses, or an encrypted envelope body that is not
	// the expected JSON object.
	ErrMalformed = errors.New("magicenv: malformed encoding")

	// ErrInvalidSignature means the envelope signature does not verify
	// with the given key. It says nothing more, on purpose.
	ErrInvalidSignature = errors.New("magicenv: invalid signature")

	// ErrDecrypt is the one error every decryption failure returns: RSA
	// unwrap, the key JSON, key and IV lengths, ciphertext length and
	// PKCS#7 padding all look the same from outside.
	ErrDecrypt = errors.New("magicenv: decryption failed")

	// ErrTooLarge means the input is over the configured size limit
	// ([Options.MaxSize]).
	ErrTooLarge = errors.New("magicenv: input too large")

	// ErrKeyNotFound is what a [KeyResolver] returns (possibly wrapped)
	// when it knows for certain that the author has no public key. Any
	// other resolver error is treated as temporary; see [KeyLookupError].
	ErrKeyNotFound = temporary.Final("magicenv: public key not found")

	// ErrWeakKey means an RSA key shorter than the configured minimum
	// ([Options.MinKeyBits], 1024 bits unless raised), or a request to
	// generate a key under [MinGenerateKeyBits].
	ErrWeakKey = errors.New("magicenv: RSA key too short")

	// ErrInvalidKey means a key that cannot be used: not PEM, not RSA,
	// several PEM blocks, trailing data, or an unusable public exponent.
	ErrInvalidKey = errors.New("magicenv: invalid key")
)

// ParseError reports where in the envelope a structural or encoding
// problem was found. Err is one of the sentinels of this package (or wraps
// the XML decoder's error together with [ErrInvalidEnvelope]).
type ParseError struct {
	// Element is the element or attribute concerned, such as "me:data"
	// or "me:sig/@key_id". Empty for document-level problems.
	Element string
	// Err is the underlying reason.
	Err error
}

// Error implements error.
func (e *ParseError) Error() string {
	if e.Element == "" {
		return e.Err.Error()
	}
	return e.Err.Error() + " (" + e.Element + ")"
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// KeyLookupError reports that the public key of an envelope's sender could
// not be obtained from the [KeyResolver]. The message is final when the
// resolver said the key does not exist ([ErrKeyNotFound]) and temporary
// otherwise (a timeout, a network failure): see [KeyLookupError.Temporary].
type KeyLookupError struct {
	// Author is the sender whose key was looked up.
	Author string
	// Err is the resolver's error.
	Err error
}

// Error implements error.
func (e *KeyLookupError) Error() string {
	return fmt.Sprintf("magicenv: public key of %q: %v", e.Author, e.Err)
}

// Unwrap returns e.Err.
func (e *KeyLookupError) Unwrap() error { return e.Err }

// Temporary reports whether the lookup could not be done, as opposed to
// done with a definite "no such key" answer. A receiver answers a
// temporary failure with a 5xx status or retries later.
//
// The resolver's error decides: wrapping [ErrKeyNotFound] is final; an
// error that answers under the module's temporary-failure rule (see
// discovery.IsTemporary: an error with a Temporary() bool method, a
// network error, a cancelled context) answers for itself; anything else
// is temporary.
func (e *KeyLookupError) Temporary() bool {
	if errors.Is(e.Err, ErrKeyNotFound) {
		return false
	}
	if t, answered := temporary.Answer(e.Err); answered {
		return t
	}
	return true
}

func parseErr(element string, err error) error { return &ParseError{Element: element, Err: err} }
