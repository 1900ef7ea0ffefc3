// Package rules holds the protocol rules that several public packages
// apply, written once: the GUID rule, the diaspora* ID grammar and the
// reading of PEM public keys. It is a leaf (standard library only), so that
// discovery, which imports none of the SDK's other public packages, can
// use it too. The public packages wrap its errors in their own.
package rules

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// ValidGUID reports whether s satisfies the reference's GUID rule: 16 to
// 255 characters out of 0-9 A-Z a-z - _ @ . :, the last one a letter or
// digit (https://diaspora.github.io/diaspora_federation/federation/types.html).
func ValidGUID(s string) bool {
	if len(s) < 16 || len(s) > 255 {
		return false
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case c == '-' || c == '_' || c == '@' || c == '.' || c == ':':
			if i == len(s)-1 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// MaxIDLength is the longest diaspora* ID, in characters.
const MaxIDLength = 255

// idPattern is the reference's diaspora* ID grammar: a Unicode-lowercase
// username, "@", a hostname, IPv4 or bracketed IPv6 address, and an
// optional port.
var idPattern = regexp.MustCompile(`^[\p{Ll}0-9\-._]+@(?:[\p{Ll}0-9\-]+(?:\.[\p{Ll}0-9\-]*)*|(?:[0-9]{1,3}\.){3}[0-9]{1,3}|\[(?:[0-9A-Fa-f]{0,4}:){0,7}[0-9A-Fa-f]{1,4}\])(?::[0-9]+)?$`)

// ValidID reports whether s is a diaspora* ID as the reference's validator
// accepts it: valid UTF-8, at most MaxIDLength characters, lowercase
// username@host[:port].
func ValidID(s string) bool {
	if len(s) > MaxIDLength*utf8.UTFMax {
		return false
	}
	if len(s) <= MaxIDLength && plainID(s) {
		return true
	}
	return utf8.ValidString(s) && utf8.RuneCountInString(s) <= MaxIDLength && idPattern.MatchString(s)
}

// plainID recognises, without the regexp machine, the IDs in use: ASCII
// user@host[:port] with a host name (no IP literal). Every string it
// accepts matches idPattern (FuzzValidID checks it); the others go to the
// regexp.
func plainID(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 {
		return false
	}
	for i := 0; i < at; i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	host, port, hasPort := strings.Cut(s[at+1:], ":")
	if host == "" || host[0] == '.' || (hasPort && port == "") {
		return false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	for i := 0; i < len(port); i++ {
		if c := port[i]; c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// ErrKey is the error of ParsePublicKey for anything that is not one
// usable RSA public key; callers wrap it in their own invalid-key error.
var ErrKey = errors.New("not an RSA public key")

// ParsePublicKey reads one PEM block holding an RSA public key, either
// "PUBLIC KEY" (SubjectPublicKeyInfo, what diaspora* publishes) or "RSA
// PUBLIC KEY" (PKCS#1, which the reference also reads). White space
// around the block is allowed; anything else around it, PEM headers, a
// key that is not RSA and an unusable exponent give an error wrapping
// ErrKey. It does not check the key size: see the callers' minimums.
func ParsePublicKey(data []byte) (*rsa.PublicKey, error) {
	data = bytes.TrimSpace(data)
	block, rest := pem.Decode(data)
	switch {
	case block == nil || !bytes.HasPrefix(data, []byte("-----BEGIN ")):
		return nil, fmt.Errorf("%w: no PEM block", ErrKey)
	case len(bytes.TrimSpace(rest)) != 0:
		return nil, fmt.Errorf("%w: data after the PEM block", ErrKey)
	case len(block.Headers) != 0:
		return nil, fmt.Errorf("%w: encrypted or annotated PEM blocks are not supported", ErrKey)
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		var ok bool
		if pub, ok = k.(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("%w: a %T", ErrKey, k)
		}
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("%w: PEM block %q", ErrKey, block.Type)
	}
	if pub.N == nil || pub.E < 3 || pub.E%2 == 0 {
		return nil, fmt.Errorf("%w: unusable public exponent %d", ErrKey, pub.E)
	}
	return pub, nil
}

// PublicKeyRule is the reference's public_key rule for a key carried in
// an entity: after trimming ASCII white space (Ruby's strip), the text
// starts and ends with the PEM markers of a "PUBLIC KEY" or an "RSA
// PUBLIC KEY". It does not decode the key.
func PublicKeyRule(s string) bool {
	s = strings.Trim(s, " \t\n\v\f\r\x00")
	for _, t := range []string{"PUBLIC KEY", "RSA PUBLIC KEY"} {
		if strings.HasPrefix(s, "-----BEGIN "+t+"-----") && strings.HasSuffix(s, "-----END "+t+"-----") {
			return true
		}
	}
	return false
}

// The module's one key-size policy (LIMITS.md): every package accepts RSA
// keys of MinKeyBits and more unless its caller raises the minimum, and
// none goes below MinKeyBits; keys the SDK generates have at least
// MinGenerateBits.
const (
	// MinKeyBits is the default and the floor of the shortest RSA key
	// accepted: the protocol's "accept 1024 bits and more", since old
	// pods and published test vectors have 1024-bit keys.
	MinKeyBits = 1024
	// MinGenerateBits is the shortest RSA key the SDK generates.
	MinGenerateBits = 2048
)

// KeyBits returns the minimum key size in effect for a configured value:
// the value itself, or MinKeyBits for zero and anything below it.
func KeyBits(configured int) int {
	return max(configured, MinKeyBits)
}
