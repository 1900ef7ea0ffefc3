//go:build amd64 && !purego

package rsaverify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
)

func init() {
	kernels["addMulMULQ"] = addMulMULQ
	if hasADX {
		kernels["addMulADX"] = addMulADX
	}
}

func TestKernelInUse(t *testing.T) {
	t.Logf("kernel %s (ADX %v)", kernel, hasADX)
}

// BenchmarkVerify4096NoADX times the Montgomery path with the MULQ
// kernel, as on CPUs without ADX, against math/big.
func BenchmarkVerify4096NoADX(b *testing.B) {
	k := key(b, "carol")
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	pub := &k.PublicKey
	b.Run("montgomery-mulq", func(b *testing.B) {
		defer func(saved bool) { hasADX = saved }(hasADX)
		hasADX = false
		loopCPU(b, func() error { return verifyMont(precomputed(pub), h[:], sig) })
	})
	b.Run("mathbig", func(b *testing.B) {
		loopCPU(b, func() error { return verifyBig(pub, h[:], sig) })
	})
}
