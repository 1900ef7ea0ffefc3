package rsaverify

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"math/big"
	"os"
	"testing"
)

func key(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("../../testdata/vectors/reference/keys/" + name + ".pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// agree checks that the math/big path and crypto/rsa give the same verdict.
func agree(t testing.TB, pub *rsa.PublicKey, hashed, sig []byte) bool {
	t.Helper()
	fast := verifyBig(pub, hashed, sig) == nil
	std := rsa.VerifyPKCS1v15(pub, crypto.SHA256, hashed, sig) == nil
	if fast != std {
		t.Fatalf("math/big says %v, crypto/rsa says %v (%d-bit key, sig %x)", fast, std, pub.N.BitLen(), sig)
	}
	return fast
}

func TestAgreesWithCryptoRSA(t *testing.T) {
	for _, name := range []string{"alice", "carol"} { // 2048 and 4096 bits
		k := key(t, name)
		pub := &k.PublicKey
		for i := 0; i < 20; i++ {
			h := sha256.Sum256([]byte{byte(i), 'x'})
			sig, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
			if err != nil {
				t.Fatal(err)
			}
			if !agree(t, pub, h[:], sig) {
				t.Fatalf("%s: valid signature rejected", name)
			}
			if err := VerifySHA256(pub, h[:], sig); err != nil {
				t.Fatalf("%s: VerifySHA256 = %v", name, err)
			}
			// Every corruption is refused by both.
			bad := append([]byte(nil), sig...)
			bad[i*7%len(bad)] ^= 1 << (i % 8)
			if agree(t, pub, h[:], bad) {
				t.Fatalf("%s: corrupted signature accepted", name)
			}
			h2 := h
			h2[i%32] ^= 0x80
			if agree(t, pub, h2[:], sig) {
				t.Fatalf("%s: other digest accepted", name)
			}
		}
		h := sha256.Sum256([]byte("edge"))
		nBytes := pub.N.FillBytes(make([]byte, (pub.N.BitLen()+7)/8))
		nPlus := new(big.Int).Add(pub.N, big.NewInt(5)).FillBytes(make([]byte, len(nBytes)))
		for label, sig := range map[string][]byte{
			"s = n": nBytes, "s > n": nPlus, "zero": make([]byte, len(nBytes)), "one": append(make([]byte, len(nBytes)-1), 1),
			"short": nBytes[1:], "long": append([]byte{0}, nBytes...), "empty": nil,
		} {
			if agree(t, pub, h[:], sig) || VerifySHA256(pub, h[:], sig) == nil {
				t.Errorf("%s: %s accepted", name, label)
			}
		}
		if err := VerifySHA256(pub, h[:10], nBytes); err == nil {
			t.Errorf("%s: short digest accepted", name)
		}
	}
	if err := VerifySHA256(nil, make([]byte, 32), nil); err == nil {
		t.Error("nil key accepted")
	}
}

// A signature made with the right key but over another encoding (SHA-1
// DigestInfo, or no DigestInfo) must be refused: the encoding is rebuilt
// and compared, never parsed.
func TestOtherEncodingsRefused(t *testing.T) {
	k := key(t, "carol")
	h := sha256.Sum256([]byte("m"))
	raw, err := rsa.SignPKCS1v15(nil, k, crypto.Hash(0), h[:]) // no DigestInfo
	if err != nil {
		t.Fatal(err)
	}
	if agree(t, &k.PublicKey, h[:], raw) {
		t.Error("signature without DigestInfo accepted")
	}
}

// FuzzDifferential holds the math/big path to crypto/rsa: the fuzzer
// picks a message, whether to sign it properly, and which byte to corrupt.
func FuzzDifferential(f *testing.F) {
	k := key(f, "carol")
	f.Add([]byte("hello"), true, uint16(0), byte(0))
	f.Add([]byte("hello"), true, uint16(3), byte(1))
	f.Add([]byte{}, false, uint16(511), byte(0xff))
	f.Fuzz(func(t *testing.T, msg []byte, sign bool, at uint16, flip byte) {
		h := sha256.Sum256(msg)
		sig := make([]byte, 512)
		if sign {
			var err error
			if sig, err = rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:]); err != nil {
				t.Fatal(err)
			}
		} else {
			copy(sig, msg)
		}
		sig[int(at)%len(sig)] ^= flip
		agree(t, &k.PublicKey, h[:], sig)
	})
}

func BenchmarkVerify4096(b *testing.B) {
	k := key(b, "carol")
	h := sha256.Sum256([]byte("m"))
	sig, _ := rsa.SignPKCS1v15(nil, k, crypto.SHA256, h[:])
	b.Run("rsaverify", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := VerifySHA256(&k.PublicKey, h[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("crypto-rsa", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, h[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}
