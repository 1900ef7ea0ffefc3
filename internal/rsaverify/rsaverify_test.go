package rsaverify

import (
	"crypto"
	"crypto/fips140"
	crand "crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
	"testing"
	"time"
	"weak"
)

// loadKey reads a PKCS#1 PEM private key.
func loadKey(t testing.TB, path string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: no PEM block", path)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return k
}

// key reads one of the repository's reference keys (alice: 2048 bits,
// carol: 4096 bits).
func key(t testing.TB, name string) *rsa.PrivateKey {
	return loadKey(t, "../../testdata/vectors/reference/keys/"+name+".pem")
}

var (
	keysOnce sync.Once
	keysAll  []*rsa.PrivateKey
	keysErr  error
)

// testKeys returns the reference keys and testdata/key-*.pem (odd sizes
// from 2049 to 8192 bits, e = 3, 17, 65537 and 2³¹−1), sorted by size.
func testKeys(t testing.TB) []*rsa.PrivateKey {
	t.Helper()
	keysOnce.Do(func() {
		paths, _ := filepath.Glob("testdata/key-*.pem")
		paths = append(paths, "../../testdata/vectors/reference/keys/alice.pem", "../../testdata/vectors/reference/keys/carol.pem")
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				keysErr = err
				return
			}
			block, _ := pem.Decode(b)
			if block == nil {
				keysErr = fmt.Errorf("%s: no PEM block", p)
				return
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				keysErr = fmt.Errorf("%s: %v", p, err)
				return
			}
			k.Precompute()
			keysAll = append(keysAll, k)
		}
		sort.Slice(keysAll, func(i, j int) bool { return keysAll[i].N.BitLen() < keysAll[j].N.BitLen() })
	})
	if keysErr != nil {
		t.Fatal(keysErr)
	}
	return keysAll
}

// agree checks that VerifySHA256, the Montgomery path called directly
// (for every size it supports, 2048 bits included) and crypto/rsa give
// the same verdict, and returns it.
func agree(t testing.TB, pub *rsa.PublicKey, hashed, sig []byte) bool {
	t.Helper()
	std := rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig) == nil
	err := VerifySHA256(pub, hashed, sig)
	if err != nil && err != ErrVerification {
		t.Fatalf("VerifySHA256 returned %v, not ErrVerification", err)
	}
	if got := err == nil; got != std {
		t.Fatalf("VerifySHA256 says %v, crypto/rsa says %v (%d-bit key, e=%d, sig %x)", got, std, pub.N.BitLen(), pub.E, sig)
	}
	// Both paths directly, whichever VerifySHA256 picks, at every size
	// they handle (2048 bits included), unless FIPS 140 mode narrows
	// what crypto/rsa accepts.
	if pub.N != nil && supported(pub) && len(hashed) == sha256.Size && len(sig) == (pub.N.BitLen()+7)/8 && !fips140.Enabled() {
		if got := verifyMont(precomputed(pub), hashed, sig) == nil; got != std {
			t.Fatalf("Montgomery path says %v, crypto/rsa says %v (%d-bit key, e=%d, sig %x)", got, std, pub.N.BitLen(), pub.E, sig)
		}
		if got := verifyBig(pub, hashed, sig) == nil; got != std {
			t.Fatalf("math/big path says %v, crypto/rsa says %v (%d-bit key, e=%d, sig %x)", got, std, pub.N.BitLen(), pub.E, sig)
		}
	}
	return std
}

// encoding returns the EMSA-PKCS1-v1_5 SHA-256 encoding of h for a k-byte modulus.
func encoding(k int, h []byte) []byte {
	em := make([]byte, k)
	em[1] = 1
	tLen := len(sha256Prefix) + len(h)
	for i := 2; i < k-tLen-1; i++ {
		em[i] = 0xff
	}
	copy(em[k-tLen:], sha256Prefix)
	copy(em[k-len(h):], h)
	return em
}

// rawSign computes em^d mod n (with the CRT), or nil if em ≥ n: a
// "signature" over an arbitrary encoding.
func rawSign(priv *rsa.PrivateKey, em []byte) []byte {
	m := new(big.Int).SetBytes(em)
	if m.Cmp(priv.N) >= 0 {
		return nil
	}
	p, q := priv.Primes[0], priv.Primes[1]
	m1 := new(big.Int).Exp(m, priv.Precomputed.Dp, p)
	m2 := new(big.Int).Exp(m, priv.Precomputed.Dq, q)
	h := new(big.Int).Sub(m1, m2)
	h.Mul(h, priv.Precomputed.Qinv).Mod(h, p)
	s := h.Mul(h, q).Add(h, m2)
	return s.FillBytes(make([]byte, len(em)))
}

func TestAgreesWithCryptoRSA(t *testing.T) {
	for _, k := range testKeys(t) {
		pub := &k.PublicKey
		kb := (pub.N.BitLen() + 7) / 8
		t.Run(fmt.Sprintf("%d-e%d", pub.N.BitLen(), pub.E), func(t *testing.T) {
			rounds := 8
			if pub.N.BitLen() > 4096 {
				if testing.Short() {
					t.Skip("slow signing in -short mode")
				}
				rounds = 3
			}
			for i := range rounds {
				h := sha256.Sum256([]byte{byte(i), 'x'})
				sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
				if err != nil {
					t.Fatal(err)
				}
				if !agree(t, pub, h[:], sig) {
					t.Fatal("valid signature rejected")
				}
				if raw := rawSign(k, encoding(kb, h[:])); string(raw) != string(sig) {
					t.Fatal("rawSign disagrees with rsa.SignPKCS1v15")
				}
				// Corruptions anywhere in the signature.
				for _, at := range []int{0, 1, i * 7 % kb, kb / 2, kb - 1} {
					bad := append([]byte(nil), sig...)
					bad[at] ^= 1 << (i % 8)
					if agree(t, pub, h[:], bad) {
						t.Fatalf("signature with byte %d corrupted accepted", at)
					}
				}
				h2 := h
				h2[i%32] ^= 0x80
				if agree(t, pub, h2[:], sig) {
					t.Fatal("other digest accepted")
				}
			}

			// Properly signed encodings with one byte of each class of
			// the encoding changed: all refused.
			h := sha256.Sum256([]byte("tamper"))
			em := encoding(kb, h[:])
			tLen := len(sha256Prefix) + sha256.Size
			sep := kb - tLen - 1
			type tamper struct {
				at  int
				val byte
			}
			tampers := []tamper{
				{0, 0x01}, {1, 0x00}, {1, 0x02}, {1, 0x81},
				{2, 0xfe}, {sep / 2, 0x00}, {sep - 1, 0x7f}, {sep, 0x01}, {sep, 0xff},
				{kb - sha256.Size, em[kb-sha256.Size] ^ 1}, {kb - 1, em[kb-1] ^ 0x80},
			}
			for i := range sha256Prefix {
				tampers = append(tampers, tamper{sep + 1 + i, em[sep+1+i] ^ 0x01})
			}
			for _, tm := range tampers {
				bad := append([]byte(nil), em...)
				bad[tm.at] = tm.val
				sig := rawSign(k, bad)
				if sig == nil {
					continue // ≥ n: no such signature
				}
				if agree(t, pub, h[:], sig) {
					t.Errorf("encoding with byte %d set to %#x accepted", tm.at, tm.val)
				}
			}
			// Shorter and longer padding (the DigestInfo moved), no
			// DigestInfo at all, and SHA-1's DigestInfo.
			short := append(append([]byte{0, 1}, em[3:sep+1]...), append(em[sep+1:], 0)...)
			long := append(append([]byte{0, 1, 0xff}, em[2:sep+1]...), em[sep+1:kb-1]...)
			noInfo := append(append([]byte(nil), em[:kb-sha256.Size-1]...), append([]byte{0}, h[:]...)...)
			for i := 2; i < kb-sha256.Size-1; i++ {
				noInfo[i] = 0xff
			}
			sha1Info := append([]byte(nil), em...)
			copy(sha1Info[kb-35:], []byte{0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14})
			for label, e := range map[string][]byte{"short padding": short, "long padding": long, "no DigestInfo": noInfo, "SHA-1 DigestInfo": sha1Info} {
				if len(e) != kb {
					t.Fatalf("%s: %d bytes", label, len(e))
				}
				if agree(t, pub, h[:], rawSign(k, e)) {
					t.Errorf("%s accepted", label)
				}
			}

			// Edge values of s and wrong lengths.
			nBytes := pub.N.FillBytes(make([]byte, kb))
			num := func(x *big.Int) []byte { return x.FillBytes(make([]byte, kb)) }
			edges := map[string][]byte{
				"s = 0": make([]byte, kb), "s = 1": num(big.NewInt(1)),
				"s = n-1": num(new(big.Int).Sub(pub.N, big.NewInt(1))), "s = n": nBytes,
				"s = n+5":    num(new(big.Int).Add(pub.N, big.NewInt(5))),
				"s = 2^8k-1": num(new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(8*kb)), big.NewInt(1))),
				"short":      nBytes[1:], "long": append([]byte{0}, nBytes...), "empty": nil,
			}
			for label, sig := range edges {
				if agree(t, pub, h[:], sig) {
					t.Errorf("%s accepted", label)
				}
			}
			sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
			if agree(t, pub, append([]byte{0}, sig...), append([]byte{0}, sig...)) {
				t.Error("leading zero byte accepted")
			}
			for _, hl := range []int{0, 20, 31, 33, 64} {
				if agree(t, pub, make([]byte, hl), sig) {
					t.Errorf("%d-byte digest accepted", hl)
				}
			}
		})
	}
	if err := VerifySHA256(nil, make([]byte, 32), nil); err != ErrVerification {
		t.Errorf("nil key: %v", err)
	}
	if err := VerifySHA256(&rsa.PublicKey{E: 65537}, make([]byte, 32), nil); err != ErrVerification {
		t.Errorf("nil modulus: %v", err)
	}
}

// Freshly generated keys of random sizes between 2049 and 3584 bits
// (logged, so a failure can be reproduced with the size).
func TestRandomKeySizes(t *testing.T) {
	if testing.Short() {
		t.Skip("key generation in -short mode")
	}
	for range 2 {
		bits := 2049 + rand.IntN(3584-2049+1)
		k, err := rsa.GenerateKey(crand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%d-bit key", bits)
		for i := range 4 {
			h := sha256.Sum256([]byte{byte(i)})
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
			if err != nil {
				t.Fatal(err)
			}
			if !agree(t, &k.PublicKey, h[:], sig) {
				t.Fatalf("%d bits: valid signature rejected", bits)
			}
			sig[i*13%len(sig)] ^= 0x10
			if agree(t, &k.PublicKey, h[:], sig) {
				t.Fatalf("%d bits: corrupted signature accepted", bits)
			}
		}
	}
}

// shift31 is 31, in a variable so that 1<<shift31 compiles where int
// has 32 bits.
var shift31 = 31

// Keys crypto/rsa refuses go to crypto/rsa, which refuses them, and
// nothing panics.
func TestOddKeys(t *testing.T) {
	k := key(t, "carol")
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	n := k.N
	for label, pub := range map[string]*rsa.PublicKey{
		"even n":     {N: new(big.Int).Add(n, big.NewInt(1)), E: 65537},
		"zero n":     {N: new(big.Int), E: 65537},
		"e = 0":      {N: n, E: 0},
		"e = 1":      {N: n, E: 1},
		"e = 2":      {N: n, E: 2},
		"e even":     {N: n, E: 65536},
		"e < 0":      {N: n, E: -65537},
		"e = 2^31+1": {N: n, E: 1<<shift31 + 1}, // negative where int has 32 bits
		"e = 2^32+1": {N: n, E: 1<<(shift31+1) + 1},
	} {
		for _, s := range [][]byte{sig, make([]byte, len(sig)), append(sig, 0)} {
			// BoringCrypto's crypto/rsa verifies with e = −65537 as if it
			// were 65537; VerifySHA256 agrees with it there too.
			if agree(t, pub, h[:], s) && useFast {
				t.Errorf("%s: accepted", label)
			}
		}
	}
}

// A key mutated after it was used (and cached) is noticed.
func TestMutatedKey(t *testing.T) {
	keys := testKeys(t)
	var a, b *rsa.PrivateKey
	for _, k := range keys {
		if k.N.BitLen() == 4096 && k.E == 65537 {
			a = k
		}
		if k.N.BitLen() == 4096 && k.E == 3 {
			b = k
		}
	}
	if a == nil || b == nil {
		t.Fatal("missing 4096-bit test keys")
	}
	h := sha256.Sum256([]byte("m"))
	sigA, _ := rsa.SignPKCS1v15(nil, a, crypto.SHA256, h[:])
	sigB, _ := rsa.SignPKCS1v15(nil, b, crypto.SHA256, h[:])
	pub := &rsa.PublicKey{N: new(big.Int).Set(a.N), E: a.E}
	if !agree(t, pub, h[:], sigA) || agree(t, pub, h[:], sigB) {
		t.Fatal("a")
	}
	pub.N.Set(b.N)            // in place: same *big.Int
	agree(t, pub, h[:], sigA) // b's modulus, a's exponent: whatever crypto/rsa says
	agree(t, pub, h[:], sigB)
	pub.E = b.E
	if agree(t, pub, h[:], sigA) || !agree(t, pub, h[:], sigB) {
		t.Fatal("b after in-place mutation")
	}
	pub.N = new(big.Int).Set(a.N) // new *big.Int
	pub.E = a.E
	if !agree(t, pub, h[:], sigA) || agree(t, pub, h[:], sigB) {
		t.Fatal("a after replacing N")
	}
	pub.E = 3 // a's modulus with b's exponent
	if agree(t, pub, h[:], sigA) {
		t.Fatal("exponent change unnoticed")
	}
}

// Concurrent verifications with shared and fresh keys (run with -race).
func TestConcurrent(t *testing.T) {
	keys := testKeys(t)
	type job struct {
		pub    *rsa.PublicKey
		h, sig []byte
	}
	var jobs []job
	for i, k := range keys {
		if k.N.BitLen() > 4096 {
			continue
		}
		h := sha256.Sum256([]byte{byte(i)})
		sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
		jobs = append(jobs, job{&k.PublicKey, h[:], sig})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 40 {
				j := jobs[(g+i)%len(jobs)]
				pub := j.pub
				if i%3 == 0 { // a fresh copy of the key: a cache miss
					pub = &rsa.PublicKey{N: j.pub.N, E: j.pub.E}
				}
				if err := VerifySHA256(pub, j.h, j.sig); err != nil {
					errs <- fmt.Errorf("goroutine %d: %v", g, err)
					return
				}
				bad := append([]byte(nil), j.sig...)
				bad[i%len(bad)] ^= 4
				if VerifySHA256(pub, j.h, bad) == nil {
					errs <- fmt.Errorf("goroutine %d: corrupted signature accepted", g)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// The cache never holds more than cacheMax keys, and keys that are
// collected leave it.
func TestCacheBounded(t *testing.T) {
	k := key(t, "carol")
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	keep := make([]*rsa.PublicKey, 0, cacheMax+100)
	var wps []weak.Pointer[rsa.PublicKey]
	for range cacheMax + 100 {
		pub := &rsa.PublicKey{N: k.N, E: k.E}
		keep = append(keep, pub)
		wps = append(wps, weak.Make(pub))
		if err := verifyMont(precomputed(pub), h[:], sig); err != nil {
			t.Fatal(err)
		}
		if n := cacheLen(); n > cacheMax {
			t.Fatalf("cache holds %d keys", n)
		}
	}
	if n := cacheLen(); n < cacheMax/2 { // collected keys of other tests leave meanwhile
		t.Errorf("cache holds only %d keys", n)
	}
	if n := cachedOf(wps); n == 0 {
		t.Error("none of the new keys cached")
	}
	runtime.KeepAlive(keep)
	keep = nil
	deadline := time.Now().Add(10 * time.Second)
	for cachedOf(wps) > 0 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := cachedOf(wps); n > 0 {
		t.Errorf("%d collected keys still cached", n)
	}
}

// cachedOf counts the keys of wps in the cache.
func cachedOf(wps []weak.Pointer[rsa.PublicKey]) int {
	keyCache.RLock()
	defer keyCache.RUnlock()
	n := 0
	for _, wp := range wps {
		if _, ok := keyCache.m[wp]; ok {
			n++
		}
	}
	return n
}

// A cached verification does not allocate.
func TestNoAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("instrumented build")
	}
	k := key(t, "carol")
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	if n := testing.AllocsPerRun(20, func() {
		if VerifySHA256(&k.PublicKey, h[:], sig) != nil {
			t.Fatal("rejected")
		}
	}); n != 0 && useFast && montPath && !fips140.Enabled() {
		t.Errorf("%v allocations per verification", n)
	}
}

// FuzzDifferential holds VerifySHA256, the Montgomery path and the
// math/big path to crypto/rsa. The fuzzer picks a key (2048 to 8192
// bits, e = 3 to 2³¹−1) and what to verify: one of a few valid
// signatures made at start-up (so the accepting path is reached at
// every size without a private-key operation per input), one with a
// byte changed or checked against another digest, a fresh signature of
// the message (keys up to 3072 bits), a correctly signed encoding with
// a byte changed (keys up to 4096 bits), arbitrary bytes, or a
// signature of the wrong length.
func FuzzDifferential(f *testing.F) {
	keys := testKeys(f)
	const slots = 3
	type signed struct{ h, sig []byte }
	pre := make([][]signed, len(keys))
	for i, k := range keys {
		for j := range slots {
			h := sha256.Sum256([]byte{'f', byte(j)})
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
			if err != nil {
				f.Fatal(err)
			}
			pre[i] = append(pre[i], signed{h[:], sig})
		}
	}
	for i := range keys {
		for mode := range 8 {
			f.Add(uint8(i), []byte("hello"), uint8(mode), uint16(mode*37), byte(1<<mode))
		}
	}
	f.Fuzz(func(t *testing.T, ki uint8, msg []byte, mode uint8, at uint16, flip byte) {
		k := keys[int(ki)%len(keys)]
		bits := k.N.BitLen()
		kb := (bits + 7) / 8
		p := pre[int(ki)%len(keys)][int(at)%slots]
		h, sig := p.h, append([]byte(nil), p.sig...)
		switch mode % 8 {
		case 0: // valid
		case 1: // valid with one byte changed
			sig[int(at)%kb] ^= flip
		case 2: // valid, for another digest
			d := sha256.Sum256(msg)
			h = d[:]
		case 3: // a fresh signature of the message, perhaps changed
			if bits > 3072 {
				return
			}
			d := sha256.Sum256(msg)
			h = d[:]
			var err error
			if sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, h); err != nil {
				t.Fatal(err)
			}
			sig[int(at)%kb] ^= flip & 1
		case 4: // a correctly signed encoding with one byte changed
			if bits > 4096 {
				return
			}
			em := encoding(kb, h)
			em[int(at)%kb] ^= flip
			if sig = rawSign(k, em); sig == nil {
				return
			}
		case 5: // arbitrary bytes
			sig = make([]byte, kb)
			copy(sig[int(at)%kb:], msg)
		case 6: // wrong length
			if n := int(at) % (kb + 2); n <= kb {
				sig = sig[:n]
			} else {
				sig = append(sig, flip)
			}
		case 7: // a digest of another length
			h = msg
		}
		agree(t, &k.PublicKey, h, sig)
	})
}

// randNat returns a random number of exactly bits bits.
func randNat(r *rand.Rand, bits int) *big.Int {
	b := make([]byte, (bits+7)/8)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	x := new(big.Int).SetBytes(b)
	x.SetBit(x, bits-1, 1)
	for i := bits; i < 8*len(b); i++ {
		x.SetBit(x, i, 0)
	}
	return x
}

// The exponentiation agrees with math/big for odd moduli of every size
// from one word to 8192 bits and beyond, and for varied exponents.
func TestExpAgainstBig(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{2, 63, 64, 65, 127, 128, 129, 200, 255, 256, 257, 1024, 2047, 2048, 2049, 3071, 3072, 4095, 4096, 4097, 6007, 8191, 8192, 8256, 8257, 9000}
	for _, bits := range sizes {
		for trial := range 5 {
			n := randNat(r, bits)
			n.SetBit(n, 0, 1)
			e := []int{3, 65537, 17, 1<<31 - 1, 1 + 2*int(r.Int32N(1<<30))}[trial]
			checkExp(t, n, e, new(big.Int).Mod(randNat(r, bits+8), n))
			checkExp(t, n, e, new(big.Int).Sub(n, big.NewInt(1)))
			checkExp(t, n, e, big.NewInt(0))
			checkExp(t, n, e, big.NewInt(1))
		}
	}
}

func checkExp(t testing.TB, n *big.Int, e int, s *big.Int) {
	t.Helper()
	mk := newMontKey(n, e)
	l := len(mk.n)
	got := make([]uint64, l)
	sw := toWords(s, l)
	mk.exp(got, sw, make([]uint64, 2*l), make([]uint64, l), make([]uint64, l))
	want := toWords(new(big.Int).Exp(s, big.NewInt(int64(e)), n), l)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%d-bit n=%x e=%d s=%x: got %x, want %x", n.BitLen(), n, e, s, got, want)
		}
	}
}

// FuzzExp holds the exponentiation to math/big on arbitrary odd moduli.
func FuzzExp(f *testing.F) {
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe}, uint32(65537))
	f.Add([]byte{3}, []byte{2}, uint32(3))
	f.Add(append([]byte{0x80}, make([]byte, 300)...), []byte{7}, uint32(1<<31-1))
	f.Fuzz(func(t *testing.T, nb, sb []byte, e uint32) {
		n := new(big.Int).SetBytes(nb)
		n.SetBit(n, 0, 1)
		if n.BitLen() < 2 {
			return
		}
		ee := int(e&(1<<31-1)) | 1
		if ee < 3 {
			ee = 3
		}
		s := new(big.Int).SetBytes(sb)
		checkExp(t, n, ee, s.Mod(s, n))
	})
}

// loopCPU runs f in a b.Loop and reports the thread's CPU time per
// operation ("cpu-ns/op") next to the wall time, which on a shared
// machine includes time spent waiting for a core.
func loopCPU(b *testing.B, f func() error) {
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start, ok := threadCPU()
	n := 0
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if end, ok2 := threadCPU(); ok && ok2 && n > 0 {
		b.ReportMetric(float64((end-start).Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

func benchVerify(b *testing.B, k *rsa.PrivateKey) {
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	pub := &k.PublicKey
	b.Run("rsaverify", func(b *testing.B) {
		loopCPU(b, func() error { return VerifySHA256(pub, h[:], sig) })
	})
	b.Run("cryptorsa", func(b *testing.B) {
		loopCPU(b, func() error { return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) })
	})
	b.Run("montgomery", func(b *testing.B) { // the path itself, whatever the size
		loopCPU(b, func() error { return verifyMont(precomputed(pub), h[:], sig) })
	})
	b.Run("uncached", func(b *testing.B) { // as for a fresh *rsa.PublicKey
		loopCPU(b, func() error { return verifyMont(newMontKey(pub.N, pub.E), h[:], sig) })
	})
	b.Run("mathbig", func(b *testing.B) { // the former path
		loopCPU(b, func() error { return verifyBig(pub, h[:], sig) })
	})
}

func benchKey(b *testing.B, bits, e int) *rsa.PrivateKey {
	for _, k := range testKeys(b) {
		if k.N.BitLen() == bits && k.E == e {
			return k
		}
	}
	b.Fatalf("no %d-bit key with e=%d", bits, e)
	return nil
}

func BenchmarkVerify2048(b *testing.B) { benchVerify(b, key(b, "alice")) }
func BenchmarkVerify3072(b *testing.B) { benchVerify(b, benchKey(b, 3072, 65537)) }
func BenchmarkVerify4096(b *testing.B) { benchVerify(b, key(b, "carol")) }
func BenchmarkVerify8192(b *testing.B) { benchVerify(b, benchKey(b, 8192, 65537)) }
