package magicenv_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

// Each magicenv benchmark sits beside the bare crypto/rsa operation it is
// built on, so that the overhead reads as a ratio within one run.

type sizeCase struct {
	name, person, envelope, encrypted string
}

var sizes = []sizeCase{
	{"2048", "alice", "status_message_basic.xml", "status_message_private.json"},
	{"4096", "carol", "status_message_4096.xml", "status_message_to_4096_recipient.json"},
}

func BenchmarkParseVerify(b *testing.B) {
	for _, s := range sizes {
		data := readFile(b, refDir+"magic_envelope_public/"+s.envelope)
		pub := &privKey(b, s.person).PublicKey
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				env, err := magicenv.Parse(data, nil)
				if err != nil {
					b.Fatal(err)
				}
				if err := env.Verify(pub); err != nil {
					b.Fatal(err)
				}
			}
		})
		env, _ := magicenv.Parse(data, nil)
		h := sha256.Sum256([]byte(env.SignatureBase()))
		b.Run(s.name+"/bare-rsa-verify", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], env.Signature()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkSign(b *testing.B) {
	for _, s := range sizes {
		env, err := magicenv.Parse(readFile(b, refDir+"magic_envelope_public/"+s.envelope), nil)
		if err != nil {
			b.Fatal(err)
		}
		payload, author := env.Payload(), "someone@pod.example"
		key := privKey(b, s.person)
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e, err := magicenv.Sign(payload, author, key, nil)
				if err != nil {
					b.Fatal(err)
				}
				_ = e.Marshal()
			}
		})
		h := sha256.Sum256([]byte(env.SignatureBase()))
		b.Run(s.name+"/bare-rsa-sign", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkDecrypt(b *testing.B) {
	recipients := map[string]string{"2048": "bob", "4096": "carol"}
	for _, s := range sizes {
		body := readFile(b, refDir+"encrypted_magic_envelope_private/"+s.encrypted)
		key := privKey(b, recipients[s.name])
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := magicenv.Decrypt(body, key, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
		wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, make([]byte, 90))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name+"/bare-rsa-decrypt", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
				if _, err := rsa.DecryptPKCS1v15(nil, key, wrapped); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
