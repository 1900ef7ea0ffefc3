// Package rsaverify checks RSASSA-PKCS1-v1_5 SHA-256 signatures
// (RFC 8017 §8.2.2) faster than crypto/rsa for keys of 2048 bits and
// more.
//
// Verification handles public data only (the key, the message, the
// signature), so it runs in variable time; crypto/rsa's constant-time
// arithmetic protects private keys and is not needed here.
//
// # Design
//
// The signature representative s is raised to the public exponent with
// Montgomery arithmetic over 64-bit words, R = 2^(64·words):
//
//   - Per key, −n⁻¹ mod 2⁶⁴ (Newton's iteration) and R² mod n (one long
//     division) are computed once and cached (see precomputed): a map
//     keyed by a weak pointer to the *rsa.PublicKey, so it keeps no key
//     alive, whose entry a runtime cleanup removes when the key is
//     collected, and which holds at most cacheMax (512) keys, evicting
//     an arbitrary one when full. The cached copy of N and E is compared
//     with the key on every call, so a key mutated after use is
//     recomputed, never trusted. A miss costs about a tenth of a
//     verification at 4096 bits.
//   - s is brought into Montgomery form by one multiplication by R², raised
//     by left-to-right binary exponentiation (65537: 16 squarings and one
//     multiplication) and brought back by one reduction.
//   - A product is computed in full (schoolbook; a square computes each
//     cross product once, doubles and adds the diagonal), then reduced
//     word by word (Montgomery reduction).
//   - The inner loop, z += x·y over words, is amd64 assembly: with
//     BMI2 and ADX (checked with CPUID), whole products, squares and
//     reductions in MULX/ADCX/ADOX with two carry chains; otherwise a
//     MULQ/ADCQ row under Go loops.
//
// Elsewhere, and with the purego build tag, the same algorithms exist
// in Go (math/bits) but lose to math/big, whose own assembly and
// Karatsuba squaring are faster there, so those builds raise s to e
// with big.Int.Exp (see montPath); the Go kernels stay as the reference
// the assembly is differentially tested against.
//
// The result is compared with the complete encoding the signer must have
// produced (EMSA-PKCS1-v1_5, RFC 8017 §9.2: 00 01 FF…FF 00 DigestInfo
// hash), built from the digest: the padding is never parsed. Every
// precondition of crypto/rsa is kept: s ≥ n, a signature of the wrong
// length and a digest of the wrong size are refused.
//
// VerifySHA256 uses this path only where it is faster than crypto/rsa:
// in standard builds, keys of 2048 bits and more where the ADX assembly
// runs (amd64 with BMI2 and ADX: 1.7× crypto/rsa at 2048 bits, 5× at
// 4096; see fastBits) and keys above 2048 bits elsewhere; never in BoringCrypto builds
// (see boring.go), whose crypto/rsa is faster still, nor in FIPS 140
// mode (GODEBUG=fips140=on or only), where verification must stay
// inside the validated module and its key policy. Keys outside what the
// fast path handles (an even or non-positive modulus; an even, small or
// too large exponent) are handed to crypto/rsa too, so the verdict on
// them is crypto/rsa's. Tests over keys from 2048 to 8192 bits and
// differential fuzz targets hold the fast path to crypto/rsa, and the
// assembly to the Go kernels.
package rsaverify

import (
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
)

// ErrVerification is returned for every signature that does not verify,
// whatever the reason: failures are deliberately not told apart.
var ErrVerification = errors.New("rsaverify: verification error")

// sha256Prefix is the DER DigestInfo header for SHA-256 (RFC 8017 §9.2 note 1).
var sha256Prefix = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// stackWords is the largest modulus, in words, whose scratch space lives
// on the stack (8192 bits).
const stackWords = 128

// VerifySHA256 verifies sig over the SHA-256 digest hashed with pub,
// like rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig), and returns
// nil or ErrVerification. It is safe for concurrent use.
func VerifySHA256(pub *rsa.PublicKey, hashed, sig []byte) error {
	if pub == nil || pub.N == nil {
		return ErrVerification
	}
	if !useFast || fips140.Enabled() || pub.N.BitLen() < fastBits || !supported(pub) {
		if rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig) != nil {
			return ErrVerification
		}
		return nil
	}
	k := (pub.N.BitLen() + 7) / 8
	if len(hashed) != sha256.Size || len(sig) != k {
		return ErrVerification
	}
	if !montPath {
		return verifyBig(pub, hashed, sig)
	}
	return verifyMont(precomputed(pub), hashed, sig)
}

// supported reports whether the fast path handles pub: a positive
// odd modulus and an odd exponent in crypto/rsa's range [3, 2³¹−1].
func supported(pub *rsa.PublicKey) bool {
	return pub.N.Sign() > 0 && pub.N.Bit(0) == 1 && pub.E >= 3 && pub.E&1 == 1 && pub.E <= 1<<31-1
}

// verifyMont checks sig (mk.k bytes) over the 32-byte digest hashed
// with the Montgomery path.
func verifyMont(mk *montKey, hashed, sig []byte) error {
	if len(sig) != mk.k || len(hashed) != sha256.Size {
		return ErrVerification
	}
	l := len(mk.n)
	var stack [5 * stackWords]uint64
	var buf []uint64
	if l <= stackWords {
		buf = stack[:5*l]
	} else {
		buf = make([]uint64, 5*l)
	}
	s, b, a, t := buf[:l], buf[l:2*l], buf[2*l:3*l], buf[3*l:5*l]
	fromBytes(s, sig)
	if !less(s, mk.n) {
		return ErrVerification
	}
	mk.exp(s, s, t, b, a)
	if !isEncoding(s, mk.k, hashed) {
		return ErrVerification
	}
	return nil
}

// fromBytes sets the words w to the big-endian number b (at most 8·len(w) bytes).
func fromBytes(w []uint64, b []byte) {
	clear(w)
	for i, j := 0, len(b)-1; j >= 0; i, j = i+1, j-1 {
		w[i/8] |= uint64(b[j]) << (8 * (i % 8))
	}
}

// isEncoding reports whether m (little-endian words) equals the
// k-byte EMSA-PKCS1-v1_5 encoding of the SHA-256 digest hashed:
// 00 01 FF…FF 00 || DigestInfo prefix || hashed. Every byte is
// compared; nothing is parsed.
func isEncoding(m []uint64, k int, hashed []byte) bool {
	tLen := len(sha256Prefix) + sha256.Size
	if len(hashed) != sha256.Size || k < tLen+11 || 8*len(m) < k {
		return false
	}
	var diff uint64
	for i := k; i < 8*len(m); i++ { // bytes above the encoding are zero
		diff |= m[i/8] >> (8 * (i % 8)) & 0xff
	}
	for j := range k { // j counts from the most significant byte
		var want byte
		switch {
		case j == 0:
			want = 0x00
		case j == 1:
			want = 0x01
		case j < k-tLen-1:
			want = 0xff
		case j == k-tLen-1:
			want = 0x00
		case j < k-sha256.Size:
			want = sha256Prefix[j-(k-tLen)]
		default:
			want = hashed[j-(k-sha256.Size)]
		}
		i := k - 1 - j
		diff |= (m[i/8]>>(8*(i%8)))&0xff ^ uint64(want)
	}
	return diff == 0
}
