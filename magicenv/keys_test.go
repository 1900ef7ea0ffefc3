package magicenv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

func TestKeys(t *testing.T) {
	alice := privKey(t, "alice")
	spki := readFile(t, refDir+"keys/alice.pub.pem")
	pkcs1Pub := readFile(t, "../testdata/keys/alice.pkcs1.pub.pem")
	pkcs8 := readFile(t, "../testdata/keys/alice.pkcs8.pem")
	for name, in := range map[string][]byte{"spki": spki, "pkcs1": pkcs1Pub} {
		pub, err := magicenv.ParsePublicKey(in, nil)
		if err != nil || !pub.Equal(&alice.PublicKey) {
			t.Errorf("ParsePublicKey(%s) = %v", name, err)
		}
	}
	if k, err := magicenv.ParsePrivateKey(pkcs8, nil); err != nil || !k.Equal(alice) {
		t.Errorf("ParsePrivateKey(pkcs8) = %v", err)
	}
	// Marshal round trips, in the forms diaspora* uses.
	pubPEM, err := magicenv.MarshalPublicKey(&alice.PublicKey)
	if err != nil || !bytes.Equal(pubPEM, spki) {
		t.Errorf("MarshalPublicKey differs from the SPKI PEM: %v", err)
	}
	privPEM, err := magicenv.MarshalPrivateKey(alice)
	if err != nil || !bytes.Equal(privPEM, readFile(t, refDir+"keys/alice.pem")) {
		t.Errorf("MarshalPrivateKey differs from the PKCS#1 PEM: %v", err)
	}
	if _, err := magicenv.MarshalPublicKey(nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("MarshalPublicKey(nil) = %v", err)
	}
	if _, err := magicenv.MarshalPrivateKey(nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("MarshalPrivateKey(nil) = %v", err)
	}

	bad := map[string]struct {
		in      []byte
		private bool
		want    error
	}{
		"empty":           {nil, false, magicenv.ErrInvalidKey},
		"not pem":         {[]byte("hello"), false, magicenv.ErrInvalidKey},
		"two blocks":      {append(bytes.Clone(spki), spki...), false, magicenv.ErrInvalidKey},
		"trailing junk":   {append(bytes.Clone(spki), "junk"...), false, magicenv.ErrInvalidKey},
		"private as pub":  {pkcs8, false, magicenv.ErrInvalidKey},
		"pub as private":  {spki, true, magicenv.ErrInvalidKey},
		"ec public":       {readFile(t, "../testdata/keys/ec-p256.pub.pem"), false, magicenv.ErrInvalidKey},
		"ec private":      {readFile(t, "../testdata/keys/ec-p256.pem"), true, magicenv.ErrInvalidKey},
		"corrupt der":     {bytes.Replace(spki, []byte("MIIBIjAN"), []byte("MIIBIjAA"), 1), false, magicenv.ErrInvalidKey},
		"annotated block": {[]byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), true, magicenv.ErrInvalidKey},
	}
	for name, tt := range bad {
		t.Run(name, func(t *testing.T) {
			var err error
			if tt.private {
				_, err = magicenv.ParsePrivateKey(tt.in, nil)
			} else {
				_, err = magicenv.ParsePublicKey(tt.in, nil)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// 1024-bit keys work by default (the floor of the module's key policy);
// a caller that raises MinKeyBits has them refused everywhere; GenerateKey
// never makes a key under 2048 bits.
func TestKeyPolicy(t *testing.T) {
	strict := &magicenv.Options{MinKeyBits: 2048}
	privPEM := readFile(t, "../testdata/keys/rsa1024.pem")
	pubPEM := readFile(t, "../testdata/keys/rsa1024.pub.pem")
	priv, err := magicenv.ParsePrivateKey(privPEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := magicenv.ParsePublicKey(pubPEM, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := magicenv.ParsePrivateKey(privPEM, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict ParsePrivateKey with 1024 bits = %v, want ErrWeakKey", err)
	}
	if _, err := magicenv.ParsePublicKey(pubPEM, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict ParsePublicKey with 1024 bits = %v, want ErrWeakKey", err)
	}
	if err := magicenv.CheckPublicKey(&priv.PublicKey, nil); err != nil {
		t.Errorf("CheckPublicKey(1024) = %v", err)
	}
	if err := magicenv.CheckPublicKey(&priv.PublicKey, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict CheckPublicKey(1024) = %v, want ErrWeakKey", err)
	}
	if err := magicenv.CheckPublicKey(nil, nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("CheckPublicKey(nil) = %v, want ErrInvalidKey", err)
	}
	if _, err := magicenv.Sign([]byte("<x/>"), "old@pod", priv, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict Sign with 1024 bits = %v, want ErrWeakKey", err)
	}
	env, err := magicenv.Sign([]byte("<x/>"), "old@pod", priv, nil)
	if err != nil {
		t.Fatal(err)
	}
	parsedStrict, err := magicenv.Parse(env.Marshal(), strict)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsedStrict.Verify(&priv.PublicKey); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict Verify with 1024 bits = %v, want ErrWeakKey", err)
	}
	parsed, err := magicenv.Parse(env.Marshal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := parsed.Verify(&priv.PublicKey); err != nil {
		t.Errorf("default Verify = %v", err)
	}
	if _, err := magicenv.Encrypt([]byte("<x/>"), &priv.PublicKey, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict Encrypt to 1024 bits = %v, want ErrWeakKey", err)
	}
	body, err := magicenv.Encrypt([]byte("<x/>"), &priv.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := magicenv.Decrypt(body, priv, strict); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("strict Decrypt with 1024 bits = %v, want ErrWeakKey", err)
	}
	if got, err := magicenv.Decrypt(body, priv, nil); err != nil || string(got) != "<x/>" {
		t.Errorf("default Decrypt = %q, %v", got, err)
	}
	// No option goes below the floor, and generating has its own.
	if _, err := magicenv.GenerateKey(768, &magicenv.Options{MinKeyBits: 512}); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("GenerateKey(768) = %v, want ErrWeakKey", err)
	}
	if _, err := magicenv.GenerateKey(1024, nil); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("GenerateKey(1024) = %v, want ErrWeakKey", err)
	}
	if _, err := magicenv.GenerateKey(2048, &magicenv.Options{MinKeyBits: 3072}); !errors.Is(err, magicenv.ErrWeakKey) {
		t.Errorf("GenerateKey(2048) with MinKeyBits 3072 = %v, want ErrWeakKey", err)
	}
	k, err := magicenv.GenerateKey(2048, nil)
	if err != nil || k.N.BitLen() != 2048 {
		t.Errorf("GenerateKey(2048) = %v", err)
	}
}

func TestGenerateKeyDefault(t *testing.T) {
	k, err := magicenv.GenerateKey(0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.N.BitLen() != magicenv.DefaultKeyBits {
		t.Errorf("GenerateKey(0) gave %d bits, want %d", k.N.BitLen(), magicenv.DefaultKeyBits)
	}
}
