//go:build !amd64 || purego

package rsaverify

// fastBits is the smallest key size at which VerifySHA256 leaves
// crypto/rsa for math/big, which is slower than crypto/rsa at 2048 bits.
const fastBits = 2049

// kernel names the multiplication kernel in use, for tests and benchmarks.
const kernel = "generic"

// montPath selects the Montgomery path (verifyMont) over math/big
// (verifyBig). Without an assembly kernel, Montgomery arithmetic in Go
// is slower than math/big, whose own assembly (arm64, ppc64x, s390x,
// riscv64, …) and Karatsuba squaring win: measured on amd64 with the
// purego tag, 1.3× slower at 4096 bits and 1.7× at 8192. So these
// builds verify with math/big; the Go kernels here remain the
// reference the assembly is tested against.
const montPath = false

// addMul is z[:len(x)] += x·y, returning the carry out (see addMulGeneric).
func addMul(z, x []uint64, y uint64) uint64 { return addMulGeneric(z, x, y) }

// mulRows adds the rows of the product x·y to z (see mulRowsWith).
func mulRows(z, x, y []uint64) { mulRowsWith(addMulGeneric, z, x, y) }

// sqrRows adds the cross products of x² to z (see sqrRowsWith).
func sqrRows(z, x []uint64) { sqrRowsWith(addMulGeneric, z, x) }

// redcRows runs the Montgomery reduction rows (see redcRowsWith).
func redcRows(t, n []uint64, n0 uint64) uint64 { return redcRowsWith(addMulGeneric, t, n, n0) }
