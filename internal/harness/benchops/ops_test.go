package benchops

import (
	"bytes"
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/internal/rsaverify"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/relayable"
	"github.com/go-diaspora/federation/salmon"
)

const dir = "../../../testdata/vectors/reference/"

// fixture holds what every op needs, prepared outside the timed loops:
// parsed keys (a pod's key cache), the receiver and the files.
type fixture struct {
	m        *vectors.Manifest
	priv     map[string]*rsa.PrivateKey
	pub      map[string]*rsa.PublicKey
	receiver *salmon.Receiver
}

func setup(b testing.TB) *fixture {
	m, err := vectors.Load(dir + "manifest.json")
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{m: m, priv: map[string]*rsa.PrivateKey{}, pub: map[string]*rsa.PublicKey{}}
	kp := vectors.MagicenvKeys(nil)
	for id := range m.People {
		if k, err := m.PrivateKey(kp, id); err == nil {
			f.priv[id] = k
		}
		if k, known, err := m.PublicKey(kp, id); err == nil && known {
			f.pub[id] = k
		}
	}
	env := conformance.NewEnv(m)
	f.receiver = &salmon.Receiver{
		Keys: magicenv.KeyResolverFunc(func(_ context.Context, id string) (*rsa.PublicKey, error) {
			if k, ok := f.pub[id]; ok {
				return k, nil
			}
			return nil, magicenv.ErrKeyNotFound
		}),
		Entities:      env,
		RecipientKeys: recipients(f.priv),
	}
	return f
}

type recipients map[string]*rsa.PrivateKey

func (r recipients) RecipientKey(_ context.Context, id string) (string, crypto.Decrypter, error) {
	if k, ok := r[id]; ok {
		return id, k, nil
	}
	return "", nil, salmon.ErrRecipientNotFound
}

func (f *fixture) read(b testing.TB, rel string) []byte {
	data, err := f.m.ReadFile(rel)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

const (
	alice = "alice@pod-a.example.org"
	bob   = "bob@pod-b.example.net"
	carol = "carol@pod-c.example.com"
)

// op is one row of the table: run does the operation once; prim does
// the bare cryptography the operation contains, once.
type op struct {
	name      string
	run, prim func() error
}

// buildOps prepares the table and checks every op and primitive once.
func buildOps(b testing.TB) []op {
	f := setup(b)
	ctx := context.Background()
	var ops []op

	// Receiving public envelopes: the full pipeline (envelope, cached
	// key, signature, entity, relayable signature and parent, rules).
	for _, c := range []struct{ name, file, sender, author string }{
		{"status_message_basic", "status_message_basic.xml", alice, ""},
		{"status_message_4096", "status_message_4096.xml", carol, ""},
		{"status_message_all_nested", "status_message_all_nested.xml", alice, ""},
		{"comment_relayed", "comment_relayed_by_parent_author.xml", bob, alice},
		{"comment_4096_relayed", "comment_4096_relayed.xml", bob, carol},
	} {
		body := f.read(b, "magic_envelope_public/"+c.file)
		env, err := magicenv.Parse(body, nil)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte(env.SignatureBase()))
		sig := env.Signature()
		var relayProps []relayable.Property
		var authorSig string
		if c.author != "" {
			e, err := entities.ParseXML(env.Payload(), nil)
			if err != nil {
				b.Fatal(err)
			}
			relayProps = e.(entities.Relayable).SignatureProperties()
			for _, p := range relayProps {
				if p.Name == "author_signature" {
					authorSig = p.Value
				}
			}
		}
		senderKey, authorKey := f.pub[c.sender], f.pub[c.author]
		ops = append(ops, op{
			name: "receive_public/" + c.name,
			run: func() error {
				_, err := f.receiver.ReceivePublic(ctx, body)
				return err
			},
			prim: func() error {
				if err := rsaverify.VerifySHA256(senderKey, digest[:], sig); err != nil {
					return err
				}
				if c.author != "" {
					return relayable.Verify(relayProps, authorSig, authorKey)
				}
				return nil
			},
		})
	}

	// Receiving private envelopes: decryption, then as above.
	for _, c := range []struct{ name, file, recipient string }{
		{"status_message_to_2048", "status_message_private.json", bob},
		{"status_message_to_4096", "status_message_to_4096_recipient.json", carol},
	} {
		body := f.read(b, "encrypted_magic_envelope_private/"+c.file)
		plain, err := magicenv.Decrypt(body, f.priv[c.recipient], nil)
		if err != nil {
			b.Fatal(err)
		}
		env, err := magicenv.Parse(plain, nil)
		if err != nil {
			b.Fatal(err)
		}
		digest := sha256.Sum256([]byte(env.SignatureBase()))
		sig := env.Signature()
		rkey := f.priv[c.recipient]
		//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
		wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, &rkey.PublicKey, make([]byte, 90))
		if err != nil {
			b.Fatal(err)
		}
		ct := make([]byte, (len(plain)/16+1)*16)
		ops = append(ops, op{
			name: "receive_private/" + c.name,
			run: func() error {
				_, err := f.receiver.ReceivePrivate(ctx, c.recipient, body)
				return err
			},
			prim: func() error {
				//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
				if _, err := rsa.DecryptPKCS1v15(nil, rkey, wrapped); err != nil {
					return err
				}
				if err := aesCBC(ct, false); err != nil {
					return err
				}
				return rsaverify.VerifySHA256(f.pub[alice], digest[:], sig)
			},
		})
	}

	// Sending: sign once (public); sign and encrypt per recipient (private).
	basic, err := magicenv.Parse(f.read(b, "magic_envelope_public/status_message_basic.xml"), nil)
	if err != nil {
		b.Fatal(err)
	}
	payload := basic.Payload()
	baseDigest := sha256.Sum256([]byte(basic.SignatureBase()))
	for _, c := range []struct {
		name   string
		sender string
	}{{"status_message_2048", alice}, {"status_message_4096", carol}} {
		key := f.priv[c.sender]
		ops = append(ops, op{
			name: "send_public/" + c.name,
			run: func() error {
				env, err := magicenv.Sign(payload, c.sender, key, nil)
				if err == nil {
					_ = env.Marshal()
				}
				return err
			},
			prim: func() error {
				_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, baseDigest[:])
				return err
			},
		})
	}
	for _, c := range []struct{ name, sender, recipient string }{
		{"status_message_2048_to_2048", alice, bob},
		{"status_message_4096_to_4096", carol, carol},
	} {
		key, to := f.priv[c.sender], &f.priv[c.recipient].PublicKey
		size := len(payload)*4/3 + 1024
		ops = append(ops, op{
			name: "send_private/" + c.name,
			run: func() error {
				env, err := magicenv.Sign(payload, c.sender, key, nil)
				if err != nil {
					return err
				}
				_, err = magicenv.Encrypt(env.Marshal(), to, nil)
				return err
			},
			prim: func() error {
				if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, baseDigest[:]); err != nil {
					return err
				}
				//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
				if _, err := rsa.EncryptPKCS1v15(rand.Reader, to, make([]byte, 90)); err != nil {
					return err
				}
				return aesCBC(make([]byte, (size/16+1)*16), true)
			},
		})
	}

	// Entities and discovery documents: no cryptography.
	for _, c := range []struct{ name, file string }{
		{"status_message_basic", "entity_xml/status_message_basic.xml"},
		{"status_message_all_nested", "entity_xml/status_message_all_nested.xml"},
	} {
		data := f.read(b, c.file)
		e, err := entities.ParseXML(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops,
			op{name: "entity_parse_xml/" + c.name, run: func() error { _, err := entities.ParseXML(data, nil); return err }},
			op{name: "entity_serialize_xml/" + c.name, run: func() error { _, err := entities.MarshalXML(e); return err }},
		)
	}
	jrd, hcard := f.read(b, "webfinger_jrd/full.json"), f.read(b, "hcard_html/full.html")
	ops = append(ops,
		op{name: "discovery/webfinger_jrd_full", run: func() error { _, err := discovery.ParseJRD(jrd); return err }},
		op{name: "discovery/hcard_html_full", run: func() error { _, err := discovery.ParseHCard(hcard); return err }},
	)

	for _, o := range ops {
		if err := o.run(); err != nil {
			b.Fatalf("%s: %v", o.name, err)
		}
		if o.prim != nil {
			if err := o.prim(); err != nil {
				b.Fatalf("prim/%s: %v", o.name, err)
			}
		}
	}
	return ops
}

// BenchmarkOps measures every operation of the table, and prim/<name>
// for each, in one run.
func BenchmarkOps(b *testing.B) {
	ops := buildOps(b)
	for _, o := range ops {
		b.Run(o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := o.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, o := range ops {
		if o.prim == nil {
			continue
		}
		b.Run("prim/"+o.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := o.prim(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

var aesKey, aesIV = bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)

// aesCBC is the bare AES-256-CBC work of one body of len(buf) bytes.
func aesCBC(buf []byte, encrypt bool) error {
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return err
	}
	if encrypt {
		cipher.NewCBCEncrypter(block, aesIV).CryptBlocks(buf, buf)
	} else {
		cipher.NewCBCDecrypter(block, aesIV).CryptBlocks(buf, buf)
	}
	return nil
}

// TestOps keeps the table honest on every go test run: every op and its
// primitives succeed on the vectors, and every op the issue names is there.
func TestOps(t *testing.T) {
	ops := buildOps(t)
	want := []string{
		"receive_public/status_message_basic", "receive_public/status_message_4096",
		"receive_public/status_message_all_nested", "receive_public/comment_relayed",
		"receive_public/comment_4096_relayed", "receive_private/status_message_to_2048",
		"receive_private/status_message_to_4096", "send_public/status_message_2048",
		"send_public/status_message_4096", "send_private/status_message_2048_to_2048",
		"send_private/status_message_4096_to_4096", "entity_parse_xml/status_message_basic",
		"entity_parse_xml/status_message_all_nested", "entity_serialize_xml/status_message_basic",
		"entity_serialize_xml/status_message_all_nested", "discovery/webfinger_jrd_full",
		"discovery/hcard_html_full",
	}
	have := map[string]bool{}
	for _, o := range ops {
		have[o.name] = true
	}
	for _, name := range want {
		if !have[name] {
			t.Errorf("op %s missing", name)
		}
	}
	if len(ops) != len(want) {
		t.Errorf("%d ops, want %d", len(ops), len(want))
	}
}
