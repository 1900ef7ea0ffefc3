package relayable

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/go-diaspora/federation/internal/rsaverify"
	"github.com/go-diaspora/federation/internal/rules"
)

// Names of the signature properties that relayables carry.
const (
	// AuthorSignature is the property holding the relayable author's signature.
	AuthorSignature = "author_signature"
	// ParentAuthorSignature is the legacy property once filled in by the root
	// author. Current pods neither require nor check it: the root author's
	// Magic Envelope signature took its place.
	ParentAuthorSignature = "parent_author_signature"
)

// Errors returned by this package. Test for them with [errors.Is].
var (
	// ErrInvalidSignature means that a signature was checked and does not
	// verify. It carries no detail on purpose: undecodable base64, a wrong key
	// and changed data all give the same error.
	ErrInvalidSignature = errors.New("relayable: invalid signature")

	// ErrMissingSignature means that the signature property is absent or
	// empty.
	ErrMissingSignature = errors.New("relayable: missing signature")

	// ErrUnsupportedKey means that the key cannot be used: it is nil, it is
	// not an RSA key, or it is shorter than [MinKeyBits]. Nothing was signed
	// or checked, so this is not a verdict on the signature.
	ErrUnsupportedKey = errors.New("relayable: unsupported key")
)

// Property is one direct child element of a relayable entity, in document order.
type Property struct {
	// Name is the element name, Value its text.
	Name, Value string
}

// excluded reports whether the property named name takes no part in the
// signature string.
func excluded(name string) bool {
	return strings.Contains(name, "signature")
}

// linearLimit is the number of properties up to which duplicate names are
// found by scanning the earlier properties rather than with a map. Real
// relayables have fewer than ten properties.
const linearLimit = 32

// keeper decides, property by property and in order, which properties
// SignatureString uses: the first of each name, unless the name contains
// "signature".
type keeper struct {
	props []Property
	seen  map[string]struct{} // only for long lists
}

func newKeeper(props []Property) keeper {
	k := keeper{props: props}
	if len(props) > linearLimit {
		k.seen = make(map[string]struct{}, len(props))
	}
	return k
}

// keep reports whether props[i] is used. It must be called for i = 0, 1, …
// in turn.
func (k *keeper) keep(i int) bool {
	name := k.props[i].Name
	if k.seen != nil {
		if _, dup := k.seen[name]; dup {
			return false
		}
		k.seen[name] = struct{}{}
		return !excluded(name)
	}
	if excluded(name) {
		return false
	}
	for _, q := range k.props[:i] {
		if q.Name == name {
			return false
		}
	}
	return true
}

// sizeBound returns an upper bound of the length of the signature string.
func sizeBound(props []Property) int {
	n := 0
	for _, p := range props {
		if !excluded(p.Name) {
			n += len(p.Value) + 1
		}
	}
	return n
}

// appendSignatureString appends the signature string of props to dst.
func appendSignatureString(dst []byte, props []Property) []byte {
	k := newKeeper(props)
	first := true
	for i, p := range props {
		if !k.keep(i) {
			continue
		}
		if !first {
			dst = append(dst, ';')
		}
		first = false
		dst = append(dst, p.Value...)
	}
	return dst
}

// SignatureString returns the string an author_signature covers: the values of props in
// order, keeping only the first occurrence of each name, leaving out every property whose name
// contains "signature", joined with ";" (no escaping; empty values keep their slot).
func SignatureString(props []Property) string {
	return string(appendSignatureString(make([]byte, 0, sizeBound(props)), props))
}

// Order returns the names that SignatureString uses, in order (first occurrence, no *signature* names).
func Order(props []Property) []string {
	var names []string
	k := newKeeper(props)
	for i, p := range props {
		if k.keep(i) {
			if names == nil {
				names = make([]string, 0, len(props)-i)
			}
			names = append(names, p.Name)
		}
	}
	return names
}

// digest returns the SHA-256 digest of the signature string of props.
func digest(props []Property) [sha256.Size]byte {
	var stack [512]byte
	return sha256.Sum256(appendSignatureString(stack[:0], props))
}

// Sign signs SignatureString(props) with RSASSA-PKCS1-v1_5 SHA-256 and returns base64 (standard, padded).
//
// The key must have an RSA public key; it may live outside the process (an HSM
// or a KMS), which is why Sign takes a [crypto.Signer]. Any key other than an
// RSA one, or an RSA key shorter than [MinKeyBits], gives [ErrUnsupportedKey].
// Errors of the signer are wrapped. The signature string is built as by
// [SignatureString], so props may already contain signature properties.
func Sign(props []Property, key crypto.Signer) (string, error) {
	return sign(digest(props), key)
}

func sign(sum [sha256.Size]byte, key crypto.Signer) (string, error) {
	if key == nil {
		return "", fmt.Errorf("%w: nil signer", ErrUnsupportedKey)
	}
	if k, ok := key.(*rsa.PrivateKey); ok && (k == nil || k.N == nil) {
		return "", fmt.Errorf("%w: empty RSA key", ErrUnsupportedKey)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok || pub == nil {
		return "", fmt.Errorf("%w: %T is not an RSA signer", ErrUnsupportedKey, key)
	}
	if err := checkKey(pub); err != nil {
		return "", err
	}
	sig, err := key.Sign(rand.Reader, sum[:], crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("relayable: sign: %w", err)
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// SignString is [Sign] over a signature string the caller built, for a
// relayable whose signed values are not "the first of each name": a JSON
// property_order that names a property twice, whose value the reference
// then signs twice.
func SignString(s string, key crypto.Signer) (string, error) {
	return sign(sha256.Sum256([]byte(s)), key)
}

// VerifyString is [Verify] over a signature string the caller built (see
// [SignString]).
func VerifyString(s, signature string, pub *rsa.PublicKey) error {
	return verify(sha256.Sum256([]byte(s)), signature, pub)
}

// Verify checks signature (base64, lenient: characters outside the base64 alphabet such as whitespace/newlines
// are ignored, padding optional) over SignatureString(props) with pub.
//
// Decoding follows the reference (Ruby's Base64.decode64): bytes outside the
// alphabet are skipped, and anything after a padding "=" is ignored.
//
// It returns nil if the signature verifies, [ErrInvalidSignature] if it does
// not, and [ErrUnsupportedKey] if pub is nil or shorter than [MinKeyBits].
func Verify(props []Property, signature string, pub *rsa.PublicKey) error {
	return verify(digest(props), signature, pub)
}

func verify(sum [sha256.Size]byte, signature string, pub *rsa.PublicKey) error {
	if err := checkKey(pub); err != nil {
		return err
	}
	sig := decodeLenient(signature)
	if len(sig) == 0 {
		return ErrInvalidSignature
	}
	// Keys above 2048 bits take the faster public-data-only path; see
	// internal/rsaverify (a leaf package with no dependency of ours).
	if rsaverify.VerifySHA256(pub, sum[:], sig) != nil {
		return ErrInvalidSignature
	}
	return nil
}

// VerifyAuthor finds the author_signature property in props and verifies it (ErrMissingSignature when absent).
//
// pub is the public key of the relayable's author. The first author_signature
// property counts; an empty one is treated as absent, as the reference does.
// The caller decides whether a signature is needed at all: a relayable whose
// author is also the author of the root entity carries none.
func VerifyAuthor(props []Property, pub *rsa.PublicKey) error {
	return verifyNamed(props, AuthorSignature, pub)
}

// VerifyParentAuthor does the same for the legacy parent_author_signature.
//
// Current pods do not check this signature, and Python pods fill it with a
// copy of author_signature; it is provided for tools that inspect old data.
func VerifyParentAuthor(props []Property, pub *rsa.PublicKey) error {
	return verifyNamed(props, ParentAuthorSignature, pub)
}

// MinKeyBits is the smallest RSA modulus this package signs or verifies
// with: the default and floor of the module's one key-size policy
// (LIMITS.md). diaspora* pods generate 4096-bit keys; older pods and test
// suites use 1024 and 2048 bits. This package takes the keys it is given;
// a caller that raises the minimum (magicenv.Options.MinKeyBits,
// discovery.Client.MinKeyBits) checks keys where it obtains them, as
// salmon.Receiver does with magicenv.CheckPublicKey.
const MinKeyBits = rules.MinKeyBits

// checkKey rejects keys that cannot be used at all.
func checkKey(pub *rsa.PublicKey) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: nil RSA public key", ErrUnsupportedKey)
	}
	if pub.N.BitLen() < MinKeyBits {
		return fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrUnsupportedKey, pub.N.BitLen(), MinKeyBits)
	}
	return nil
}

func verifyNamed(props []Property, name string, pub *rsa.PublicKey) error {
	sig, ok := lookup(props, name)
	if !ok || sig == "" {
		return fmt.Errorf("%w: no %s", ErrMissingSignature, name)
	}
	return Verify(props, sig, pub)
}

// lookup returns the value of the first property called name.
func lookup(props []Property, name string) (string, bool) {
	for _, p := range props {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}
