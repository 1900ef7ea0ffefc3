package discovery

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"

	"github.com/go-diaspora/federation/internal/rules"
)

// MinKeyBits is the shortest RSA key this package accepts, by default and
// at the lowest: diaspora* generates 4096-bit keys, old pods have 1024 and
// 2048. [Client.MinKeyBits] raises it for lookups. magicenv and relayable
// follow the same policy (LIMITS.md).
const MinKeyBits = rules.MinKeyBits

// ParsePublicKey decodes the PEM public key of an hCard: either
// SubjectPublicKeyInfo ("PUBLIC KEY") or PKCS#1 ("RSA PUBLIC KEY").
// Surrounding white space is ignored; anything else around the single PEM
// block is an error. Keys that are not RSA wrap [ErrInvalidKey]; RSA keys
// under [MinKeyBits] return a [*WeakKeyError].
func ParsePublicKey(pemText []byte) (*rsa.PublicKey, error) {
	pub, err := rules.ParsePublicKey(pemText)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidKey, err)
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
