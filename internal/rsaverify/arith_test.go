package rsaverify

import (
	"encoding/binary"
	"math/big"
	"math/rand/v2"
	"testing"
)

// kernels lists the multiplication kernels to hold to each other: the
// one in use, the generic Go one and, on amd64, every assembly variant
// the CPU runs (see arith_amd64_test.go).
var kernels = map[string]func(z, x []uint64, y uint64) uint64{
	"addMul":        addMul,
	"addMulGeneric": addMulGeneric,
}

// wordsToBig converts little-endian words to a big.Int.
func wordsToBig(w []uint64) *big.Int {
	b := make([]byte, 8*len(w))
	for i, x := range w {
		binary.BigEndian.PutUint64(b[len(b)-8*(i+1):], x)
	}
	return new(big.Int).SetBytes(b)
}

// checkKernels runs every kernel on (z, x, y) and compares with math/big.
func checkKernels(t testing.TB, z, x []uint64, y uint64) {
	t.Helper()
	want := new(big.Int).Mul(wordsToBig(x), new(big.Int).SetUint64(y))
	want.Add(want, wordsToBig(z[:len(x)]))
	for name, f := range kernels {
		got := append([]uint64(nil), z...)
		c := f(got, x, y)
		res := wordsToBig(append(append([]uint64(nil), got[:len(x)]...), c))
		if res.Cmp(want) != 0 {
			t.Fatalf("%s(%x, %x, %#x) = %x carry %#x, want %x", name, z, x, y, got, c, want)
		}
		for i := len(x); i < len(z); i++ {
			if got[i] != z[i] {
				t.Fatalf("%s wrote z[%d] beyond len(x) = %d", name, i, len(x))
			}
		}
	}
}

// TestKernels holds every kernel to math/big on lengths 0 to 70 with
// random, all-ones and zero operands (the carry extremes).
func TestKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for n := 0; n <= 70; n++ {
		for trial := range 6 {
			z := make([]uint64, n+trial%2)
			x := make([]uint64, n)
			var y uint64
			switch trial {
			case 0, 1:
				for i := range z {
					z[i] = r.Uint64()
				}
				for i := range x {
					x[i] = r.Uint64()
				}
				y = r.Uint64()
			case 2, 3: // maximum carries
				for i := range z {
					z[i] = ^uint64(0)
				}
				for i := range x {
					x[i] = ^uint64(0)
				}
				y = ^uint64(0)
			case 4: // zero multiplier
				for i := range z {
					z[i] = r.Uint64()
				}
				for i := range x {
					x[i] = r.Uint64()
				}
			case 5: // sparse
				for i := range x {
					if r.IntN(3) == 0 {
						x[i] = ^uint64(0)
					}
				}
				for i := range z {
					if r.IntN(2) == 0 {
						z[i] = ^uint64(0)
					}
				}
				y = 1<<63 | r.Uint64()
			}
			checkKernels(t, z, x, y)
		}
	}
}

// FuzzKernels holds the assembly kernels to the generic one (and all of
// them to math/big).
func FuzzKernels(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{1}, uint64(1<<64-1))
	f.Add(make([]byte, 80), make([]byte, 72), uint64(3))
	f.Fuzz(func(t *testing.T, zb, xb []byte, y uint64) {
		x := bytesToWords(xb)
		z := bytesToWords(zb)
		if len(z) < len(x) {
			z = append(z, make([]uint64, len(x)-len(z))...)
		}
		checkKernels(t, z, x, y)
	})
}

// bytesToWords reads whole little-endian words from b.
func bytesToWords(b []byte) []uint64 {
	w := make([]uint64, len(b)/8)
	for i := range w {
		w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return w
}

// The squaring and multiplication agree with math/big.
func TestMulSqr(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for l := 1; l <= 70; l++ {
		for trial := range 3 {
			x, y := make([]uint64, l), make([]uint64, l)
			for i := range x {
				x[i], y[i] = r.Uint64(), r.Uint64()
				if trial == 1 {
					x[i], y[i] = ^uint64(0), ^uint64(0)
				}
			}
			tt := make([]uint64, 2*l)
			mul(tt, x, y)
			if want := new(big.Int).Mul(wordsToBig(x), wordsToBig(y)); wordsToBig(tt).Cmp(want) != 0 {
				t.Fatalf("mul %d words", l)
			}
			sqr(tt, x)
			if want := new(big.Int).Mul(wordsToBig(x), wordsToBig(x)); wordsToBig(tt).Cmp(want) != 0 {
				t.Fatalf("sqr %d words", l)
			}
		}
	}
}

// randWords returns l random words, or all-ones words when ones is set.
func randWords(r *rand.Rand, l int, ones bool) []uint64 {
	w := make([]uint64, l)
	for i := range w {
		w[i] = r.Uint64()
		if ones {
			w[i] = ^uint64(0)
		}
	}
	return w
}

// checkRows compares the row functions in use (assembly on amd64 with
// ADX) with the Go loops over every kernel.
func checkRows(t testing.TB, x, y, n, tt []uint64) {
	t.Helper()
	l := len(x)
	eq := func(a, b []uint64) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	wantMul := make([]uint64, 2*l)
	mulRows(wantMul, x, y)
	wantSqr := make([]uint64, 2*l)
	sqrRows(wantSqr, x)
	wantRedc := append([]uint64(nil), tt...)
	n0 := newMontKeyWords(n).n0
	wantCarry := redcRows(wantRedc, n, n0)
	if p := new(big.Int).Mul(wordsToBig(x), wordsToBig(y)); wordsToBig(wantMul).Cmp(p) != 0 {
		t.Fatalf("mulRows, %d words", l)
	}
	for name, f := range kernels {
		got := make([]uint64, 2*l)
		mulRowsWith(f, got, x, y)
		if !eq(got, wantMul) {
			t.Fatalf("mulRowsWith(%s), %d words", name, l)
		}
		clear(got)
		sqrRowsWith(f, got, x)
		if !eq(got, wantSqr) {
			t.Fatalf("sqrRowsWith(%s), %d words", name, l)
		}
		got = append(got[:0], tt...)
		if c := redcRowsWith(f, got, n, n0); c != wantCarry || !eq(got, wantRedc) {
			t.Fatalf("redcRowsWith(%s), %d words: carry %d, want %d", name, l, c, wantCarry)
		}
	}
	for i := range l {
		if wantRedc[i] != 0 {
			t.Fatalf("redcRows left t[%d] = %#x", i, wantRedc[i])
		}
	}
}

// newMontKeyWords precomputes the constants for an odd modulus given as words.
func newMontKeyWords(n []uint64) *montKey { return newMontKey(wordsToBig(n), 3) }

func TestRows(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for l := 1; l <= 70; l++ {
		for trial := range 3 {
			ones := trial == 1
			n := randWords(r, l, ones)
			n[0] |= 1
			n[l-1] |= 1 << 63
			tt := randWords(r, 2*l, ones)
			checkRows(t, randWords(r, l, ones), randWords(r, l, ones), n, tt)
		}
	}
}

// FuzzRows holds the assembly row loops to the Go ones.
func FuzzRows(f *testing.F) {
	f.Add(make([]byte, 8*9), uint64(1), uint64(2))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint64(1<<64-1), uint64(5))
	f.Fuzz(func(t *testing.T, b []byte, seed1, seed2 uint64) {
		w := bytesToWords(b)
		l := len(w)
		if l == 0 || l > 200 {
			return
		}
		r := rand.New(rand.NewPCG(seed1, seed2))
		n := randWords(r, l, false)
		n[0] |= 1
		n[l-1] |= 1 << 63
		tt := append(append([]uint64(nil), w...), randWords(r, l, false)...)
		checkRows(t, w, randWords(r, l, seed1&1 == 1), n, tt)
	})
}
