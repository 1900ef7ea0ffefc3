package rsaverify

import (
	"crypto/rsa"
	"math/big"
)

// verifyBig is the former math/big path (square and divide per bit of
// e), kept only as a benchmark baseline and a third opinion in tests.
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
	l := (pub.N.BitLen() + 63) / 64
	if !isEncoding(toWords(m, l), k, hashed) {
		return ErrVerification
	}
	return nil
}
