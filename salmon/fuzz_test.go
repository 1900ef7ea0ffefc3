package salmon_test

import (
	"context"
	"errors"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/seeds"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// FuzzDetectAndSlap feeds any body to detection and to both slap readers:
// no panic, only typed errors, and detection is consistent with what the
// readers accept.
func FuzzDetectAndSlap(f *testing.F) {
	seeds.Vectors(f, 0, "legacy_slap_public/*.xml", "legacy_slap_private/*.xml", "magic_envelope_public/*.xml", "encrypted_magic_envelope_private/*.json")
	seeds.AddHostile(f, 64<<10, ".xml", ".json")
	m := vectors.Reference(f)
	bob, err := m.PrivateKey(keyParser, "bob@pod-b.example.net")
	if err != nil {
		f.Fatal(err)
	}
	typed := func(err error) bool {
		return errors.Is(err, magicenv.ErrInvalidEnvelope) || errors.Is(err, magicenv.ErrMalformed) ||
			errors.Is(err, magicenv.ErrDecrypt) || errors.Is(err, magicenv.ErrTooLarge)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		format := salmon.Detect(body, "")
		s, err := salmon.ParseSlap(body, nil)
		if err != nil && !typed(err) {
			t.Fatalf("ParseSlap: untyped error %v", err)
		}
		if err == nil && (format != salmon.FormatLegacySlap && format != salmon.FormatLegacyEncryptedSlap || s.Author == "") {
			t.Fatalf("ParseSlap accepted a body detected as %q", format)
		}
		s, err = salmon.OpenEncryptedSlap(body, bob, nil)
		if err != nil && !typed(err) {
			t.Fatalf("OpenEncryptedSlap: untyped error %v", err)
		}
		if err == nil {
			if format != salmon.FormatLegacyEncryptedSlap {
				t.Fatalf("OpenEncryptedSlap accepted a body detected as %q", format)
			}
			if _, err := s.Payload(); err != nil && err != magicenv.ErrDecrypt {
				t.Fatalf("Payload: %v", err)
			}
		}
	})
}

// FuzzDecodeLegacyForm: no panic, only ErrMalformed.
func FuzzDecodeLegacyForm(f *testing.F) {
	f.Add([]byte("xml=%253Cdiaspora%253E"))
	f.Add([]byte("xml=<diaspora/>&xml=x"))
	f.Fuzz(func(t *testing.T, body []byte) {
		if _, err := salmon.DecodeLegacyForm(body); err != nil && !errors.Is(err, magicenv.ErrMalformed) {
			t.Fatalf("untyped error %v", err)
		}
	})
}

// FuzzReceive sends any body down both routes of a receiver over the
// reference manifest (legacy mode on, so every format is reachable): no
// panic, every rejection has a category of the neutral vocabulary, and an
// accepted message is complete.
func FuzzReceive(f *testing.F) {
	seeds.Vectors(f, 0, "magic_envelope_public/*.xml", "encrypted_magic_envelope_private/*.json", "legacy_slap_public/*.xml", "legacy_slap_private/*.xml")
	seeds.AddHostile(f, 64<<10, ".xml", ".json")
	m := vectors.Reference(f)
	env := conformance.NewEnv(m)
	r := &salmon.Receiver{Keys: env, Entities: env, RecipientKeys: env, Legacy: true}
	known := map[string]bool{}
	for _, c := range []string{"malformed", "invalid_envelope", "invalid_envelope_signature", "sender_key_not_found",
		"decrypt", "unknown_entity", "validation", "invalid_sender", "not_public", "invalid_entity_signature",
		"author_key_not_found", "related_entity_not_found", "parent_not_local"} {
		known[c] = true
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, private := range []bool{false, true} {
			var (
				msg *salmon.Message
				err error
			)
			if private {
				msg, err = r.ReceivePrivate(ctx, "bob@pod-b.example.net", body)
			} else {
				msg, err = r.ReceivePublic(ctx, body)
			}
			if err != nil {
				if msg != nil {
					t.Fatal("message returned with an error")
				}
				if c := salmon.Category(err); !known[c] {
					t.Fatalf("private=%v: category %q for %v", private, c, err)
				}
				continue
			}
			if msg.Entity == nil || msg.Sender == "" || len(msg.Payload) == 0 || (private && msg.Recipient == "") {
				t.Fatalf("incomplete message %+v", msg)
			}
		}
	})
}
