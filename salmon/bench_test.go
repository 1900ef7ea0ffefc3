package salmon_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// Receive end to end (envelope, key lookup, signature, entity, rules)
// beside the bare RSA operations it cannot avoid, for a ratio.
func BenchmarkReceive(b *testing.B) {
	m := vectors.Reference(b)
	env := conformance.NewEnv(m)
	// Keys preloaded, as a pod's key cache would hold them: the benchmark
	// measures the receiver, not PEM files.
	pubs := map[string]*rsa.PublicKey{}
	privs := map[string]*rsa.PrivateKey{}
	for id := range m.People {
		if pub, known, err := m.PublicKey(keyParser, id); err == nil && known {
			pubs[id] = pub
		}
		if priv, err := m.PrivateKey(keyParser, id); err == nil {
			privs[id] = priv
		}
	}
	keys := magicenv.KeyResolverFunc(func(_ context.Context, id string) (*rsa.PublicKey, error) {
		if k, ok := pubs[id]; ok {
			return k, nil
		}
		return nil, magicenv.ErrKeyNotFound
	})
	r := &salmon.Receiver{Keys: keys, Entities: env, RecipientKeys: recipientKeys(privs)}
	ctx := context.Background()
	cases := []struct {
		name, file, signer, recipient string
	}{
		{"public-2048", "magic_envelope_public/status_message_basic.xml", "alice@pod-a.example.org", ""},
		{"public-4096", "magic_envelope_public/status_message_4096.xml", "carol@pod-c.example.com", ""},
		{"private-2048", "encrypted_magic_envelope_private/status_message_private.json", "alice@pod-a.example.org", "bob@pod-b.example.net"},
		{"private-4096-recipient", "encrypted_magic_envelope_private/status_message_to_4096_recipient.json", "alice@pod-a.example.org", "carol@pod-c.example.com"},
	}
	for _, c := range cases {
		body := mustRead(nil, m, c.file)
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if c.recipient != "" {
					_, err = r.ReceivePrivate(ctx, c.recipient, body)
				} else {
					_, err = r.ReceivePublic(ctx, body)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		// The bare RSA work of the same message: one verify, plus one
		// PKCS#1 v1.5 decryption for private ones.
		pub, _, _ := m.PublicKey(keyParser, c.signer)
		sig, digest := signatureOf(b, m, c.file, c.recipient)
		var priv *rsa.PrivateKey
		var wrapped []byte
		if c.recipient != "" {
			priv, _ = m.PrivateKey(keyParser, c.recipient)
			//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
			wrapped, _ = rsa.EncryptPKCS1v15(rand.Reader, &priv.PublicKey, make([]byte, 90))
		}
		b.Run(c.name+"/bare-rsa", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
					b.Fatal(err)
				}
				if priv != nil {
					//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
					if _, err := rsa.DecryptPKCS1v15(nil, priv, wrapped); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func signatureOf(b *testing.B, m interface{ ReadFile(string) ([]byte, error) }, file, recipient string) ([]byte, []byte) {
	body := mustRead(nil, m, file)
	if recipient != "" {
		lm := vectors.Reference(b)
		key, _ := lm.PrivateKey(keyParser, recipient)
		var err error
		if body, err = magicenv.Decrypt(body, key, nil); err != nil {
			b.Fatal(err)
		}
	}
	env, err := magicenv.Parse(body, nil)
	if err != nil {
		b.Fatal(err)
	}
	h := sha256.Sum256([]byte(env.SignatureBase()))
	return env.Signature(), h[:]
}

type recipientKeys map[string]*rsa.PrivateKey

func (k recipientKeys) RecipientKey(_ context.Context, id string) (string, crypto.Decrypter, error) {
	if priv, ok := k[id]; ok {
		return id, priv, nil
	}
	return "", nil, salmon.ErrRecipientNotFound
}
