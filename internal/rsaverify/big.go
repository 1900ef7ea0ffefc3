package rsaverify

import (
	"crypto/rsa"
	"math/big"
)

// verifyBig is the math/big path: big.Int.Exp squares and divides per
// bit of e. It is the path on architectures without a Montgomery
// kernel in assembly (see montPath): there math/big's own assembly and
// Karatsuba multiplication beat Montgomery arithmetic in Go. Same
// contract as verifyMont: the caller checked the key and the lengths.
func verifyBig(pub *rsa.PublicKey, hashed, sig []byte) error {
	k := (pub.N.BitLen() + 7) / 8
	if len(sig) != k || len(hashed) != 32 {
		return ErrVerification
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(pub.N) >= 0 {
		return ErrVerification
	}
	m := new(big.Int).Exp(s, big.NewInt(int64(pub.E)), pub.N)
	if !isEncoding(toWords(m, (pub.N.BitLen()+63)/64), k, hashed) {
		return ErrVerification
	}
	return nil
}
