package magicenv_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
)

var keyParser = vectors.MagicenvKeys(nil)

// resolver answers with the manifest's keys, and ErrKeyNotFound for the
// people the receiving side must not know.
func resolver(t testing.TB, m *vectors.Manifest) magicenv.KeyResolver {
	return magicenv.KeyResolverFunc(func(_ context.Context, author string) (*rsa.PublicKey, error) {
		pub, known, err := m.PublicKey(keyParser, author)
		if err != nil || !known {
			return nil, fmt.Errorf("%q: %w", author, magicenv.ErrKeyNotFound)
		}
		return pub, nil
	})
}

// entityCategories are verdicts that depend on the entity or on the
// receive rules (later layers). At the envelope level such a vector must
// open: its envelope signature is correct.
var entityCategories = map[string]bool{
	"validation": true, "unknown_entity": true, "invalid_entity_signature": true,
	"invalid_sender": true, "not_public": true, "parent_not_local": true,
	"related_entity_not_found": true, "author_key_not_found": true,
}

// envelopeSentinels maps envelope-level verdicts to our errors.
var envelopeSentinels = map[string]error{
	"invalid_envelope":           magicenv.ErrInvalidEnvelope,
	"invalid_envelope_signature": magicenv.ErrInvalidSignature,
	"malformed":                  magicenv.ErrMalformed,
	"decrypt":                    magicenv.ErrDecrypt,
}

// TestReferenceVectors runs every magic_envelope_public and
// encrypted_magic_envelope_private vector at the envelope level.
func TestReferenceVectors(t *testing.T) {
	m := vectors.Reference(t)
	res := resolver(t, m)
	n := 0
	for _, v := range m.Vectors {
		if v.Kind != "magic_envelope_public" && v.Kind != "encrypted_magic_envelope_private" {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			body, err := m.ReadFile(v.File)
			if err != nil {
				t.Fatal(err)
			}
			env, err := openVector(t, m, v, body, res)
			checkVerdict(t, v, env, err)
		})
	}
	if n != 63+21 {
		t.Errorf("ran %d envelope vectors, want 84", n)
	}
}

func openVector(t *testing.T, m *vectors.Manifest, v vectors.Vector, body []byte, res magicenv.KeyResolver) (*magicenv.Envelope, error) {
	t.Helper()
	if v.Kind == "encrypted_magic_envelope_private" {
		key, err := m.PrivateKey(keyParser, v.Recipient)
		if err != nil {
			t.Fatal(err)
		}
		if v.DecryptKey != "" && m.People[v.Recipient].PrivateKey != v.DecryptKey {
			t.Fatalf("decrypt_key %s is not the recipient's key", v.DecryptKey)
		}
		body, err = magicenv.Decrypt(body, key, nil)
		if err != nil {
			return nil, err
		}
	}
	return magicenv.Open(context.Background(), body, res, nil)
}

func checkVerdict(t *testing.T, v vectors.Vector, env *magicenv.Envelope, err error) {
	t.Helper()
	cat := v.Expected.ErrorCategory
	switch {
	case v.Expected.Valid || entityCategories[cat]:
		if err != nil {
			t.Fatalf("Open = %v, want a verified envelope (expected %q)", err, cat)
		}
		author, _ := env.Author()
		want := v.Expected.Sender
		if want == "" {
			want = v.Sender
		}
		if author != want {
			t.Errorf("author = %q, want %q", author, want)
		}
		if v.Expected.Valid {
			if err := wellFormed(env.Payload()); err != nil {
				t.Errorf("payload is not XML: %v", err)
			}
		}
	case cat == "sender_key_not_found":
		var kerr *magicenv.KeyLookupError
		if !errors.As(err, &kerr) || kerr.Temporary() || !errors.Is(err, magicenv.ErrKeyNotFound) {
			t.Fatalf("Open = %v, want a final KeyLookupError", err)
		}
		if kerr.Author != v.Sender {
			t.Errorf("lookup for %q, want %q", kerr.Author, v.Sender)
		}
	default:
		want, ok := envelopeSentinels[cat]
		if !ok {
			t.Fatalf("no mapping for category %q", cat)
		}
		if !errors.Is(err, want) {
			t.Fatalf("Open = %v, want %v", err, want)
		}
		for c, other := range envelopeSentinels {
			if c != cat && errors.Is(err, other) {
				t.Errorf("error %v is also %v", err, other)
			}
		}
	}
}

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// TestReferenceSerialized proves that our envelopes are byte-identical to
// the reference's: for every vector the reference serialized itself,
// signing the same payload with the signer's key gives the same bytes
// (for encrypted vectors: the same bytes as the decrypted envelope).
func TestReferenceSerialized(t *testing.T) {
	m := vectors.Reference(t)
	n := 0
	for _, v := range m.Vectors {
		if !v.HasTag("reference_serialized") || (v.Kind != "magic_envelope_public" && v.Kind != "encrypted_magic_envelope_private") {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			want, err := m.ReadFile(v.File)
			if err != nil {
				t.Fatal(err)
			}
			if v.Kind == "encrypted_magic_envelope_private" {
				key, err := m.PrivateKey(keyParser, v.Recipient)
				if err != nil {
					t.Fatal(err)
				}
				if want, err = magicenv.Decrypt(want, key, nil); err != nil {
					t.Fatal(err)
				}
			}
			parsed, err := magicenv.Parse(want, nil)
			if err != nil {
				t.Fatal(err)
			}
			signer, err := m.PrivateKey(keyParser, v.Signer)
			if err != nil {
				t.Fatal(err)
			}
			env, err := magicenv.Sign(parsed.Payload(), v.Sender, signer, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := env.Marshal(); !bytes.Equal(got, want) {
				t.Errorf("Sign(...).Marshal() differs from the reference:\ngot:\n%s\nwant:\n%s", got, want)
			}
			if got := parsed.Marshal(); !bytes.Equal(got, want) {
				t.Errorf("Parse(ref).Marshal() differs from the reference")
			}
		})
	}
	if n < 30 {
		t.Errorf("only %d reference_serialized envelope vectors", n)
	}
}
