package magicenv

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/go-diaspora/federation/internal/rules"
)

// ParsePublicKey parses one PEM block holding an RSA public key, either
// "PUBLIC KEY" (SubjectPublicKeyInfo, what diaspora* publishes) or "RSA
// PUBLIC KEY" (PKCS#1, which the reference also accepts). Anything but
// white space around the block, a second block, a non-RSA key or an
// unusable exponent returns [ErrInvalidKey]; a key shorter than
// MinKeyBits returns [ErrWeakKey].
//
// opts may be nil, meaning the zero [Options].
func ParsePublicKey(data []byte, opts *Options) (*rsa.PublicKey, error) {
	return opts.value().parsePublicKey(data)
}

func (o Options) parsePublicKey(data []byte) (*rsa.PublicKey, error) {
	pub, err := rules.ParsePublicKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	if err := checkPublicKey(pub, o.minKeyBits()); err != nil {
		return nil, err
	}
	return pub, nil
}

// ParsePrivateKey parses one PEM block holding an RSA private key, either
// "RSA PRIVATE KEY" (PKCS#1, what diaspora* stores) or "PRIVATE KEY"
// (PKCS#8). Errors are as for [ParsePublicKey].
//
// opts may be nil, meaning the zero [Options].
func ParsePrivateKey(data []byte, opts *Options) (*rsa.PrivateKey, error) {
	return opts.value().parsePrivateKey(data)
}

func (o Options) parsePrivateKey(data []byte) (*rsa.PrivateKey, error) {
	block, err := singlePEM(data)
	if err != nil {
		return nil, err
	}
	var priv *rsa.PrivateKey
	switch block.Type {
	case "RSA PRIVATE KEY":
		if priv, err = x509.ParsePKCS1PrivateKey(block.Bytes); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		var ok bool
		if priv, ok = k.(*rsa.PrivateKey); !ok {
			return nil, fmt.Errorf("%w: not an RSA key", ErrInvalidKey)
		}
	default:
		return nil, fmt.Errorf("%w: PEM block %q is not a private key", ErrInvalidKey, block.Type)
	}
	if err := checkPublicKey(&priv.PublicKey, o.minKeyBits()); err != nil {
		return nil, err
	}
	return priv, nil
}

// GenerateKey generates an RSA private key of the given size; 0 means
// DefaultKeyBits (4096, what diaspora* generates). Sizes under
// MinGenerateKeyBits (2048), or under a higher [Options.MinKeyBits],
// return [ErrWeakKey].
//
// opts may be nil, meaning the zero [Options].
func GenerateKey(bits int, opts *Options) (*rsa.PrivateKey, error) {
	return opts.value().generateKey(bits)
}

func (o Options) generateKey(bits int) (*rsa.PrivateKey, error) {
	if bits == 0 {
		bits = DefaultKeyBits
	}
	if least := max(MinGenerateKeyBits, o.minKeyBits()); bits < least {
		return nil, fmt.Errorf("%w: %d bits requested, minimum %d", ErrWeakKey, bits, least)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("magicenv: generate key: %w", err)
	}
	return k, nil
}

// MarshalPublicKey encodes pub as a "PUBLIC KEY" (SubjectPublicKeyInfo)
// PEM block, the form diaspora* publishes in hCards.
func MarshalPublicKey(pub *rsa.PublicKey) ([]byte, error) {
	if pub == nil || pub.N == nil {
		return nil, fmt.Errorf("%w: nil key", ErrInvalidKey)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// MarshalPrivateKey encodes priv as an "RSA PRIVATE KEY" (PKCS#1) PEM
// block, the form diaspora* stores.
func MarshalPrivateKey(priv *rsa.PrivateKey) ([]byte, error) {
	if priv == nil || priv.N == nil {
		return nil, fmt.Errorf("%w: nil key", ErrInvalidKey)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(priv)}), nil
}

func singlePEM(data []byte) (*pem.Block, error) {
	data = bytes.TrimSpace(data)
	block, rest := pem.Decode(data)
	if block == nil || !bytes.HasPrefix(data, []byte("-----BEGIN ")) {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrInvalidKey)
	}
	if len(block.Headers) != 0 {
		return nil, fmt.Errorf("%w: encrypted or annotated PEM blocks are not supported", ErrInvalidKey)
	}
	return block, nil
}

// CheckPublicKey applies the key rules of this package to a key obtained
// elsewhere (from a key store, or for a relayable signature): it returns
// [ErrInvalidKey] for a nil key or an unusable exponent and [ErrWeakKey]
// for a key shorter than [Options.MinKeyBits].
//
// opts may be nil, meaning the zero [Options].
func CheckPublicKey(pub *rsa.PublicKey, opts *Options) error {
	return checkPublicKey(pub, opts.value().minKeyBits())
}

// checkPublicKey enforces the size floor and a usable exponent.
func checkPublicKey(pub *rsa.PublicKey, minBits int) error {
	if pub == nil || pub.N == nil {
		return fmt.Errorf("%w: nil key", ErrInvalidKey)
	}
	if pub.E < 3 || pub.E%2 == 0 {
		return fmt.Errorf("%w: public exponent %d", ErrInvalidKey, pub.E)
	}
	if bits := pub.N.BitLen(); bits < minBits {
		return fmt.Errorf("%w: %d bits, minimum %d", ErrWeakKey, bits, minBits)
	}
	return nil
}

// rsaPublic returns the RSA public key behind a signer or decrypter.
func rsaPublic(k interface{ Public() crypto.PublicKey }) (*rsa.PublicKey, bool) {
	pub, ok := k.Public().(*rsa.PublicKey)
	return pub, ok
}
