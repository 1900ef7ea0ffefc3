// Package rsaverify checks RSASSA-PKCS1-v1_5 SHA-256 signatures faster
// than crypto/rsa for large keys. Verification handles public data only
// (the key, the message, the signature), so it may run in variable time;
// crypto/rsa's constant-time arithmetic is needed for private keys, not
// here. The signature representative is raised to the public exponent
// with math/big, and the result is compared with the complete encoding
// the signer must have produced (PKCS#1 v1.5 EMSA, RFC 8017 §9.2) — the
// padding is never parsed.
//
// Verify picks this path only where it is faster than crypto/rsa: keys
// above 2048 bits in standard builds, never in BoringCrypto builds (see
// boring.go), whose crypto/rsa is faster still.
package rsaverify

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"math/big"
)

// ErrVerification is returned for every signature that does not verify.
var ErrVerification = errors.New("rsaverify: verification error")

// sha256Prefix is the DER DigestInfo header for SHA-256 (RFC 8017 §9.2 note 1).
var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// fastBits is the smallest key size at which the math/big path is used.
const fastBits = 2049

// VerifySHA256 verifies sig over the SHA-256 digest hashed with pub,
// like rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig).
func VerifySHA256(pub *rsa.PublicKey, hashed, sig []byte) error {
	if pub == nil || pub.N == nil {
		return ErrVerification
	}
	if !useFast || pub.N.BitLen() < fastBits {
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig)
	}
	return verifyBig(pub, hashed, sig)
}

// verifyBig is the math/big path, exported to the tests through
// VerifySHA256 and the differential fuzz target.
func verifyBig(pub *rsa.PublicKey, hashed, sig []byte) error {
	k := (pub.N.BitLen() + 7) / 8
	// Same preconditions as crypto/rsa: a usable exponent, the exact
	// signature length, a digest of the right size, s < n.
	if pub.E < 2 || len(sig) != k || len(hashed) != sha256.Size || k < len(sha256Prefix)+sha256.Size+11 {
		return ErrVerification
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return ErrVerification
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	em := make([]byte, k)
	m.FillBytes(em)
	// The expected encoding: 00 01 FF..FF 00 || DigestInfo || hash.
	want := make([]byte, k)
	want[1] = 0x01
	tLen := len(sha256Prefix) + sha256.Size
	for i := 2; i < k-tLen-1; i++ {
		want[i] = 0xff
	}
	copy(want[k-tLen:], sha256Prefix)
	copy(want[k-sha256.Size:], hashed)
	if !bytes.Equal(em, want) {
		return ErrVerification
	}
	return nil
}
