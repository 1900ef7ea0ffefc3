package rsaverify

import (
	"math/big"
	"math/bits"
)

// montKey is the per-key precomputation for Montgomery arithmetic
// modulo n with R = 2^(64·len(n)) (Montgomery, "Modular multiplication
// without trial division", 1985). Everything in it is public.
type montKey struct {
	n   []uint64   // the modulus, little-endian 64-bit words, n odd, top word ≠ 0
	n0  uint64     // −n⁻¹ mod 2⁶⁴
	rr  []uint64   // R² mod n, which brings a number into Montgomery form
	e   int        // the public exponent, ≥ 3 and odd
	k   int        // the modulus length in bytes
	src []big.Word // a copy of n's words as the *big.Int held them, to notice a mutated key
}

// newMontKey precomputes the constants for modulus n (odd, > 1) and
// exponent e. It costs one long division, a small fraction of a
// verification, so a key that misses the cache is still fast.
func newMontKey(n *big.Int, e int) *montKey {
	l := (n.BitLen() + 63) / 64
	mk := &montKey{
		n:   toWords(n, l),
		e:   e,
		k:   (n.BitLen() + 7) / 8,
		src: append([]big.Word(nil), n.Bits()...),
	}
	// Newton's iteration for the inverse modulo 2⁶⁴: n·n ≡ 1 mod 8 for
	// odd n, and every step doubles the number of correct low bits
	// (3, 6, 12, 24, 48, 96).
	inv := mk.n[0]
	for range 5 {
		inv *= 2 - mk.n[0]*inv
	}
	mk.n0 = -inv
	rr := new(big.Int).Lsh(big.NewInt(1), uint(128*l))
	mk.rr = toWords(rr.Mod(rr, n), l)
	return mk
}

// toWords returns x (0 ≤ x < 2^(64·l)) as l little-endian 64-bit words,
// whatever the platform's big.Word size.
func toWords(x *big.Int, l int) []uint64 {
	b := x.FillBytes(make([]byte, 8*l))
	w := make([]uint64, l)
	for i := range w {
		j := len(b) - 8*(i+1)
		w[i] = uint64(b[j])<<56 | uint64(b[j+1])<<48 | uint64(b[j+2])<<40 | uint64(b[j+3])<<32 |
			uint64(b[j+4])<<24 | uint64(b[j+5])<<16 | uint64(b[j+6])<<8 | uint64(b[j+7])
	}
	return w
}

// matches reports whether the cached constants were computed from this
// modulus and exponent, so a key mutated after it was cached is noticed.
func (mk *montKey) matches(n *big.Int, e int) bool {
	if e != mk.e {
		return false
	}
	w := n.Bits()
	if len(w) != len(mk.src) || n.Sign() <= 0 {
		return false
	}
	for i := range w {
		if w[i] != mk.src[i] {
			return false
		}
	}
	return true
}

// mul sets t (2l words) to x·y (l words each), schoolbook.
func mul(t, x, y []uint64) {
	clear(t[:len(x)])
	mulRows(t, x, y)
}

// sqr sets t (2l words) to x² (l words): each cross product x[i]·x[j]
// with i < j is computed once, the sum is doubled, and the squares
// x[i]² are added on the diagonal.
func sqr(t, x []uint64) {
	l := len(x)
	clear(t[:2*l])
	sqrRows(t, x)
	var top, c uint64
	t = t[:2*l]
	for i, xi := range x {
		hi, lo := bits.Mul64(xi, xi)
		t0, t1 := t[2*i], t[2*i+1]
		d0 := t0<<1 | top
		d1 := t1<<1 | t0>>63
		top = t1 >> 63
		d0, c = bits.Add64(d0, lo, c)
		d1, c = bits.Add64(d1, hi, c)
		t[2*i], t[2*i+1] = d0, d1
	}
}

// redc sets z (l words) to t·R⁻¹ mod n for t < n·R (2l words, destroyed):
// Montgomery reduction, one word of t cleared per row.
func (mk *montKey) redc(z, t []uint64) {
	n := mk.n
	l := len(n)
	carry := redcRows(t, n, mk.n0)
	// t[l:] + carry·R < 2n: subtract n once if needed.
	hi := t[l : 2*l]
	if carry != 0 || !less(hi, n) {
		var b uint64
		for i := range z[:l] {
			z[i], b = bits.Sub64(hi[i], n[i], b)
		}
		return
	}
	copy(z, hi)
}

// less reports whether x < y (equal lengths).
func less(x, y []uint64) bool {
	for i := len(x) - 1; i >= 0; i-- {
		if x[i] != y[i] {
			return x[i] < y[i]
		}
	}
	return false
}

// exp sets z to s^e mod n for s < n, using t (2l words) as scratch and
// b and a (l words each) for s·R and the accumulator, all in
// Montgomery form: left-to-right binary exponentiation, so e = 65537 is
// one multiplication into Montgomery form, 16 squarings, one
// multiplication and one reduction out of Montgomery form.
func (mk *montKey) exp(z, s, t, b, a []uint64) {
	mul(t, s, mk.rr)
	mk.redc(b, t)
	copy(a, b)
	for i := bits.Len(uint(mk.e)) - 2; i >= 0; i-- {
		sqr(t, a)
		mk.redc(a, t)
		if mk.e>>i&1 != 0 {
			mul(t, a, b)
			mk.redc(a, t)
		}
	}
	l := len(a)
	copy(t, a)
	clear(t[l : 2*l])
	mk.redc(z, t)
}
