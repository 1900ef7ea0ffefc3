package rsaverify

import "testing"

// BenchmarkKernel64 times one 64-word row (a 4096-bit modulus) per kernel.
func BenchmarkKernel64(b *testing.B) {
	z := make([]uint64, 64)
	x := make([]uint64, 64)
	for i := range x {
		x[i] = uint64(i)*0x9e3779b97f4a7c15 + 1
	}
	for name, f := range kernels {
		b.Run(name, func(b *testing.B) {
			loopCPU(b, func() error { f(z, x, 0xdeadbeefcafebabe); return nil })
		})
	}
}
