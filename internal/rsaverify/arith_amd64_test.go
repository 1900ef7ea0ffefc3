//go:build amd64 && !purego

package rsaverify

import "testing"

func init() {
	kernels["addMulMULQ"] = addMulMULQ
	if hasADX {
		kernels["addMulADX"] = addMulADX
	}
}

func TestKernelInUse(t *testing.T) {
	t.Logf("kernel %s (ADX %v)", kernel, hasADX)
}
