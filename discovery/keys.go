package discovery

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// MinKeyBits is the shortest RSA key this package accepts (PROTOCOL.md
// §2.15). diaspora* generates 4096-bit keys; old pods have 1024 and 2048.
const MinKeyBits = 1024

// ParsePublicKey decodes the PEM public key of an hCard: either
// SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
// Surrounding white space is ignored; anything else around the single PEM
// block is an error. Keys that are not RSA wrap [ErrInvalidKey]; RSA keys
// under [MinKeyBits] return a [*WeakKeyError].
func ParsePublicKey(pemText []byte) (*rsa.PublicKey, error) {
	block, rest := pem.Decode(bytes.TrimSpace(pemText))
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block", ErrInvalidKey)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, fmt.Errorf("%w: data after the PEM block", ErrInvalidKey)
	}
	var pub *rsa.PublicKey
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("%w: not an RSA key (%T)", ErrInvalidKey, k)
		}
		pub = rk
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
		}
		pub = k
	default:
		return nil, fmt.Errorf("%w: PEM type %q", ErrInvalidKey, block.Type)
	}
	if pub.N == nil || pub.E < 3 || pub.E%2 == 0 {
		return nil, fmt.Errorf("%w: unusable public exponent", ErrInvalidKey)
	}
	if bits := pub.N.BitLen(); bits < MinKeyBits {
		return nil, &WeakKeyError{Bits: bits}
	}
	return pub, nil
}

// MarshalPublicKey encodes pub as a SubjectPublicKeyInfo PEM block
// ("-----BEGIN PUBLIC KEY-----"), the form the reference publishes.
func MarshalPublicKey(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidKey, err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), nil
}

// publicKeyRuleOK is the reference's public_key rule: after trimming, the
// text starts and ends with the PEM markers of a "PUBLIC KEY" or an
// "RSA PUBLIC KEY". It does not decode the key.
func publicKeyRuleOK(s string) bool {
	s = strings.TrimSpace(s)
	for _, t := range []string{"PUBLIC KEY", "RSA PUBLIC KEY"} {
		if strings.HasPrefix(s, "-----BEGIN "+t+"-----") && strings.HasSuffix(s, "-----END "+t+"-----") {
			return true
		}
	}
	return false
}
