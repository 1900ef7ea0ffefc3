package rsaverify

import "math/bits"

// addMulGeneric adds x·y to z word by word (z[i] += x[i]·y with the
// carry rippling upwards) and returns the word carried out of z's top:
// the schoolbook inner loop, written with math/bits. z must be at least
// as long as x; only z[:len(x)] is touched. It is the only
// multiplication kernel on architectures without an assembly one, and
// the reference the assembly is tested against.
func addMulGeneric(z, x []uint64, y uint64) (carry uint64) {
	z = z[:len(x)]
	for i, xi := range x {
		hi, lo := bits.Mul64(xi, y)
		var c uint64
		lo, c = bits.Add64(lo, z[i], 0)
		hi += c
		lo, c = bits.Add64(lo, carry, 0)
		hi += c
		z[i] = lo
		carry = hi
	}
	return carry
}

// mulRowsWith sets z[i+len(x)] to the carry of z[i:] += x·y[i] for every
// i, with f as the kernel: with z[:len(x)] zero on entry, z ends up
// holding the product x·y (len(x)+len(y) words).
func mulRowsWith(f func(z, x []uint64, y uint64) uint64, z, x, y []uint64) {
	for i, yi := range y {
		z[i+len(x)] = f(z[i:], x, yi)
	}
}

// sqrRowsWith sets z[i+len(x)] to the carry of z[2i+1:] += x[i+1:]·x[i]
// for i < len(x)-1, with f as the kernel: with z zero on entry, z ends
// up holding the sum of the cross products x[i]·x[j], i < j, each once.
func sqrRowsWith(f func(z, x []uint64, y uint64) uint64, z, x []uint64) {
	l := len(x)
	for i := 0; i < l-1; i++ {
		z[i+l] = f(z[2*i+1:], x[i+1:], x[i])
	}
}

// redcRowsWith runs the rows of Montgomery reduction on t (2·len(n)
// words) with f as the kernel: row i adds n·(t[i]·n0 mod 2⁶⁴), which
// clears t[i] when n0 = −n⁻¹ mod 2⁶⁴, and carries into t[i+len(n)]. It
// returns the final carry, the bit above t's top word.
func redcRowsWith(f func(z, x []uint64, y uint64) uint64, t, n []uint64, n0 uint64) uint64 {
	l := len(n)
	var carry uint64
	for i := range l {
		c := f(t[i:], n, t[i]*n0)
		t[i+l], carry = bits.Add64(t[i+l], c, carry)
	}
	return carry
}
