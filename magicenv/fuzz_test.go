package magicenv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/seeds"
	"github.com/go-diaspora/federation/magicenv"
)

// FuzzParse checks that Parse never panics and that whatever it accepts
// survives Marshal → Parse with the same payload, sender and signature.
func FuzzParse(f *testing.F) {
	seeds.Vectors(f, 0, "magic_envelope_public/*.xml")
	seeds.AddHostile(f, 64<<10, ".xml")
	f.Add([]byte(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env"><me:data type="application/xml">PHgvPg</me:data><me:encoding>base64url</me:encoding><me:alg>RSA-SHA256</me:alg><me:sig>AA</me:sig></me:env>`))
	big := magicenv.Options{MaxSize: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := magicenv.Parse(data, nil)
		if err != nil {
			if env != nil {
				t.Fatal("non-nil envelope with an error")
			}
			return
		}
		out := env.Marshal()
		again, err := magicenv.Parse(out, &big)
		if err != nil {
			t.Fatalf("Parse(Marshal(env)) = %v\n%s", err, out)
		}
		a1, err1 := env.Author()
		a2, err2 := again.Author()
		if a1 != a2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("author %q/%v became %q/%v", a1, err1, a2, err2)
		}
		if !bytes.Equal(env.Payload(), again.Payload()) || !bytes.Equal(env.Signature(), again.Signature()) {
			t.Fatal("payload or signature changed in the round trip")
		}
		if env.SignatureBase() != again.SignatureBase() {
			t.Fatal("signature base changed in the round trip")
		}
		if !bytes.Equal(out, again.Marshal()) {
			t.Fatal("Marshal is not stable")
		}
	})
}

// FuzzDecrypt checks that Decrypt never panics and fails only with its
// documented errors, ErrDecrypt always unwrapped (no detail leaks).
func FuzzDecrypt(f *testing.F) {
	seeds.Vectors(f, 0, "encrypted_magic_envelope_private/*.json")
	seeds.AddHostile(f, 64<<10, ".json")
	f.Add([]byte(`{"aes_key":"","encrypted_magic_envelope":""}`))
	bob := privKey(f, "bob")
	f.Fuzz(func(t *testing.T, body []byte) {
		plain, err := magicenv.Decrypt(body, bob, nil)
		switch {
		case err == nil:
			if plain == nil {
				t.Fatal("nil plaintext without an error")
			}
		case err == magicenv.ErrDecrypt, errors.Is(err, magicenv.ErrMalformed), errors.Is(err, magicenv.ErrTooLarge):
			if plain != nil {
				t.Fatal("plaintext returned with an error")
			}
		default:
			t.Fatalf("unexpected error %v", err)
		}
	})
}

// FuzzParseKeys checks that the PEM key parsers never panic and that an
// accepted key survives Marshal → Parse.
func FuzzParseKeys(f *testing.F) {
	seeds.Vectors(f, 0, "keys/*.pem")
	seeds.Add(f, 0, []string{"testdata/keys/*.pem"})
	seeds.AddHostile(f, 64<<10, ".pem")
	opts := magicenv.Options{MinKeyBits: 1024}
	f.Fuzz(func(t *testing.T, data []byte) {
		if pub, err := magicenv.ParsePublicKey(data, &opts); err == nil {
			out, err := magicenv.MarshalPublicKey(pub)
			if err != nil {
				t.Fatal(err)
			}
			again, err := magicenv.ParsePublicKey(out, &opts)
			if err != nil || !again.Equal(pub) {
				t.Fatalf("public key round trip: %v", err)
			}
		} else if !errors.Is(err, magicenv.ErrInvalidKey) && !errors.Is(err, magicenv.ErrWeakKey) {
			t.Fatalf("ParsePublicKey: untyped error %v", err)
		}
		if priv, err := magicenv.ParsePrivateKey(data, &opts); err == nil {
			out, err := magicenv.MarshalPrivateKey(priv)
			if err != nil {
				t.Fatal(err)
			}
			again, err := magicenv.ParsePrivateKey(out, &opts)
			if err != nil || !again.Equal(priv) {
				t.Fatalf("private key round trip: %v", err)
			}
		} else if !errors.Is(err, magicenv.ErrInvalidKey) && !errors.Is(err, magicenv.ErrWeakKey) {
			t.Fatalf("ParsePrivateKey: untyped error %v", err)
		}
	})
}
