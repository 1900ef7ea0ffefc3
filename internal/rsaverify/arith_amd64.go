//go:build amd64 && !purego

package rsaverify

// montPath selects the Montgomery path (verifyMont) over math/big
// (verifyBig): with either assembly kernel it is the faster one at every
// size above 2048 bits.
const montPath = true

// hasADX reports whether the CPU has MULX (BMI2) and ADCX/ADOX (ADX),
// which let the assembly run two independent carry chains.
var hasADX = detectADX()

// fastBits is the smallest key size at which VerifySHA256 leaves
// crypto/rsa for the fast path: 2048 bits with the ADX kernel (1.7×
// crypto/rsa there, measured with BenchmarkVerify2048), above 2048 bits
// with the MULQ one, whose margin at 2048 bits was not measured.
var fastBits = func() int {
	if hasADX {
		return 2048
	}
	return 2049
}()

// kernel names the multiplication kernel in use, for tests and benchmarks.
var kernel = func() string {
	if hasADX {
		return "amd64-adx"
	}
	return "amd64-mulq"
}()

func detectADX() bool {
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, ebx, _, _ := cpuid(7, 0)
	const bmi2, adx = 1 << 8, 1 << 19
	return ebx&bmi2 != 0 && ebx&adx != 0
}

// cpuid executes the CPUID instruction for leaf eax, subleaf ecx.
func cpuid(eax, ecx uint32) (a, b, c, d uint32)

// addMulADX is addMulGeneric with MULX/ADCX/ADOX. len(z) ≥ len(x).
//
//go:noescape
func addMulADX(z, x []uint64, y uint64) (carry uint64)

// mulRowsADX is mulRowsWith(addMulGeneric, ...) in assembly.
//
//go:noescape
func mulRowsADX(z, x, y []uint64)

// sqrRowsADX is sqrRowsWith(addMulGeneric, ...) in assembly.
//
//go:noescape
func sqrRowsADX(z, x []uint64)

// redcADX is redcRowsWith(addMulGeneric, ...) in assembly.
//
//go:noescape
func redcADX(t, n []uint64, n0 uint64) (carry uint64)

// addMulMULQ is addMulGeneric with MULQ/ADCQ, for CPUs without ADX.
// len(z) ≥ len(x).
//
//go:noescape
func addMulMULQ(z, x []uint64, y uint64) (carry uint64)

// addMul is z[:len(x)] += x·y, returning the carry out (see addMulGeneric).
func addMul(z, x []uint64, y uint64) uint64 {
	z = z[:len(x)] // the assembly trusts len(z) ≥ len(x)
	if hasADX {
		return addMulADX(z, x, y)
	}
	return addMulMULQ(z, x, y)
}

// mulRows adds the rows of the product x·y to z (see mulRowsWith).
func mulRows(z, x, y []uint64) {
	if len(y) == 0 {
		return
	}
	_ = z[len(x)+len(y)-1] // the assembly trusts the length
	if hasADX {
		mulRowsADX(z, x, y)
		return
	}
	mulRowsWith(addMulMULQ, z, x, y)
}

// sqrRows adds the cross products of x² to z (see sqrRowsWith).
func sqrRows(z, x []uint64) {
	if len(x) < 2 {
		return
	}
	_ = z[2*len(x)-1]
	if hasADX {
		sqrRowsADX(z, x)
		return
	}
	sqrRowsWith(addMulMULQ, z, x)
}

// redcRows runs the Montgomery reduction rows (see redcRowsWith).
func redcRows(t, n []uint64, n0 uint64) uint64 {
	if len(n) == 0 {
		return 0
	}
	_ = t[2*len(n)-1]
	if hasADX {
		return redcADX(t, n, n0)
	}
	return redcRowsWith(addMulMULQ, t, n, n0)
}
