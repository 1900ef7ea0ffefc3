package salmon_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/xml"
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

var keyParser = vectors.MagicenvKeys(nil)

// Verdicts decided above the envelope (entity, receive rules): at this
// level such a slap must open and verify.
var entityCategories = map[string]bool{
	"validation": true, "unknown_entity": true, "invalid_entity_signature": true,
	"invalid_sender": true, "not_public": true,
}

// TestLegacySlapVectors runs every legacy_slap_public and
// legacy_slap_private vector at the envelope level.
func TestLegacySlapVectors(t *testing.T) {
	m := vectors.Reference(t)
	n := 0
	for _, v := range m.Vectors {
		if v.Kind != "legacy_slap_public" && v.Kind != "legacy_slap_private" {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			body, err := m.ReadFile(v.File)
			if err != nil {
				t.Fatal(err)
			}
			author, payload, err := openSlap(t, m, v, body)
			cat := v.Expected.ErrorCategory
			switch {
			case v.Expected.Valid || entityCategories[cat]:
				if err != nil {
					t.Fatalf("open = %v, want a verified slap (expected %q)", err, cat)
				}
				if author != v.Sender {
					t.Errorf("author = %q, want %q", author, v.Sender)
				}
				if err := wellFormed(payload); err != nil {
					t.Errorf("payload is not XML: %v\n%s", err, payload)
				}
			case cat == "sender_key_not_found":
				if !errors.Is(err, magicenv.ErrKeyNotFound) {
					t.Fatalf("open = %v, want ErrKeyNotFound", err)
				}
			default:
				want := map[string]error{
					"invalid_envelope":           magicenv.ErrInvalidEnvelope,
					"invalid_envelope_signature": magicenv.ErrInvalidSignature,
					"decrypt":                    magicenv.ErrDecrypt,
				}[cat]
				if want == nil {
					t.Fatalf("no mapping for %q", cat)
				}
				if !errors.Is(err, want) {
					t.Fatalf("open = %v, want %v", err, want)
				}
			}
		})
	}
	if n != 27 {
		t.Errorf("ran %d slap vectors, want 27", n)
	}
}

// openSlap is the receive sequence for a slap at the envelope level:
// read (and decrypt the header), look up the header author's key,
// verify, then read the payload.
func openSlap(t *testing.T, m *vectors.Manifest, v vectors.Vector, body []byte) (string, []byte, error) {
	var (
		s   *salmon.Slap
		err error
	)
	if v.Kind == "legacy_slap_private" {
		key, kerr := m.PrivateKey(keyParser, v.Recipient)
		if kerr != nil {
			t.Fatal(kerr)
		}
		s, err = salmon.OpenEncryptedSlap(body, key, nil)
	} else {
		s, err = salmon.ParseSlap(body, nil)
	}
	if err != nil {
		return "", nil, err
	}
	pub, known, kerr := m.PublicKey(keyParser, s.Author)
	if kerr != nil || !known {
		return "", nil, magicenv.ErrKeyNotFound
	}
	if err := s.Verify(pub); err != nil {
		return "", nil, err
	}
	payload, err := s.Payload()
	return s.Author, payload, err
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

func TestSlapRejects(t *testing.T) {
	m := vectors.Reference(t)
	public, err := m.ReadFile("legacy_slap_public/status_message_legacy_payload.xml")
	if err != nil {
		t.Fatal(err)
	}
	private, err := m.ReadFile("legacy_slap_private/status_message_legacy_payload.xml")
	if err != nil {
		t.Fatal(err)
	}
	bob, err := m.PrivateKey(keyParser, "bob@pod-b.example.net")
	if err != nil {
		t.Fatal(err)
	}
	pub := string(public)
	for name, tt := range map[string]struct {
		in   string
		want error
	}{
		"doctype":         {strings.Replace(pub, "<diaspora", "<!DOCTYPE diaspora><diaspora", 1), magicenv.ErrDoctype},
		"wrong root":      {strings.ReplaceAll(pub, "diaspora>", "dispora>"), magicenv.ErrInvalidEnvelope},
		"wrong namespace": {strings.Replace(pub, salmon.LegacyNamespace, "urn:x", 1), magicenv.ErrInvalidEnvelope},
		"two envelopes":   {strings.Replace(pub, "</diaspora>", pub[strings.Index(pub, "<me:env>"):strings.Index(pub, "</me:env>")+9]+"</diaspora>", 1), magicenv.ErrInvalidEnvelope},
		"empty author":    {strings.Replace(pub, "alice@pod-a.example.org</author_id>", "</author_id>", 1), salmon.ErrMissingAuthor},
		"too large":       {pub + strings.Repeat(" ", magicenv.DefaultMaxSize), magicenv.ErrTooLarge},
	} {
		t.Run(name, func(t *testing.T) {
			if s, err := salmon.ParseSlap([]byte(tt.in), nil); !errors.Is(err, tt.want) || s != nil {
				t.Fatalf("ParseSlap = %v, %v; want %v", s, err, tt.want)
			}
		})
	}
	// A private slap read as public has no header author.
	if _, err := salmon.ParseSlap(private, nil); !errors.Is(err, salmon.ErrMissingAuthor) {
		t.Errorf("ParseSlap(private) = %v, want ErrMissingAuthor", err)
	}
	// A broken encrypted header is malformed (not JSON) or a decrypt failure.
	priv := string(private)
	start := strings.Index(priv, "<encrypted_header>") + len("<encrypted_header>")
	end := strings.Index(priv, "</encrypted_header>")
	notJSON := priv[:start] + "bm90IGpzb24=" + priv[end:]
	if _, err := salmon.OpenEncryptedSlap([]byte(notJSON), bob, nil); !errors.Is(err, magicenv.ErrMalformed) {
		t.Errorf("header not JSON: %v, want ErrMalformed", err)
	}
	if _, err := salmon.OpenEncryptedSlap(private, nil, nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("nil key: %v, want ErrInvalidKey", err)
	}
	// Payload of a verified private slap with a corrupted payload key fails
	// as a decryption, never with detail.
	s, err := salmon.OpenEncryptedSlap(private, bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	alice, _, _ := m.PublicKey(keyParser, "alice@pod-a.example.org")
	if err := s.Verify(alice); err != nil {
		t.Fatal(err)
	}
	if p, err := s.Payload(); err != nil || !bytes.Contains(p, []byte("<XML>")) {
		t.Fatalf("Payload = %.40q, %v", p, err)
	}
	var dave *rsa.PublicKey
	if dave, _, err = m.PublicKey(keyParser, "dave@pod-a.example.org"); err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(dave); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("Verify(dave) = %v", err)
	}
}

func TestDetect(t *testing.T) {
	m := vectors.Reference(t)
	want := map[string]salmon.Format{
		"magic_envelope_public":            salmon.FormatMagicEnvelope,
		"encrypted_magic_envelope_private": salmon.FormatEncryptedMagicEnvelope,
		"legacy_slap_public":               salmon.FormatLegacySlap,
		"legacy_slap_private":              salmon.FormatLegacyEncryptedSlap,
	}
	contentTypes := map[string]string{
		"magic_envelope_public":            magicenv.ContentType,
		"encrypted_magic_envelope_private": "application/json",
	}
	for _, v := range m.Vectors {
		w, ok := want[v.Kind]
		if !ok {
			// Bare entities and discovery documents are no delivery body.
			w = salmon.FormatUnknown
		}
		switch v.ID {
		case "magic_envelope_public/not_an_envelope":
			w = salmon.FormatUnknown // a bare entity
		case "legacy_slap_private/missing_encrypted_header":
			w = salmon.FormatLegacySlap // without its header it looks public
		}
		// Detection goes by namespace, not prefix: the other-prefix and
		// default-namespace envelopes are detected as envelopes, which
		// Parse then rejects as the reference does.
		t.Run(v.ID, func(t *testing.T) {
			body, err := m.ReadFile(v.File)
			if err != nil {
				t.Fatal(err)
			}
			if got := salmon.Detect(body, contentTypes[v.Kind]); got != w {
				t.Errorf("Detect = %q, want %q", got, w)
			}
			// Without a content type only truncated JSON is lost.
			if v.ID != "encrypted_magic_envelope_private/broken_json" {
				if got := salmon.Detect(body, ""); got != w {
					t.Errorf("Detect without content type = %q, want %q", got, w)
				}
			}
		})
	}
	// Content-Type decides for a JSON body without the member.
	if got := salmon.Detect([]byte(`{"aes_key":"x"}`), "application/json; charset=utf-8"); got != salmon.FormatEncryptedMagicEnvelope {
		t.Errorf("Detect(JSON with content type) = %q", got)
	}
	for _, in := range []string{"", "   ", "hello", "{", "<!DOCTYPE x><x/>", `{"a":1}`} {
		if got := salmon.Detect([]byte(in), ""); got != salmon.FormatUnknown {
			t.Errorf("Detect(%q) = %q, want unknown", in, got)
		}
	}
}

func TestDecodeLegacyForm(t *testing.T) {
	m := vectors.Reference(t)
	slap, err := m.ReadFile("legacy_slap_public/status_message_legacy_payload.xml")
	if err != nil {
		t.Fatal(err)
	}
	// Old pods: CGI.escape(slap) put into a form, so encoded twice.
	twice := "xml=" + url.QueryEscape(url.QueryEscape(string(slap)))
	once := "xml=" + url.QueryEscape(string(slap))
	for name, body := range map[string]string{"twice": twice, "once": once} {
		got, err := salmon.DecodeLegacyForm([]byte(body))
		if err != nil || !bytes.Equal(got, slap) {
			t.Errorf("%s: DecodeLegacyForm = %.40q, %v", name, got, err)
		}
		if salmon.Detect(got, "") != salmon.FormatLegacySlap {
			t.Errorf("%s: decoded body not detected as a slap", name)
		}
	}
	// The second decoding is CGI.unescape's: '+' is a space, %2B a plus.
	plus := "xml=" + url.QueryEscape("%3Cx%3Ea+b%2Bc%3C/x%3E")
	if got, err := salmon.DecodeLegacyForm([]byte(plus)); err != nil || string(got) != "<x>a b+c</x>" {
		t.Errorf("DecodeLegacyForm(plus) = %q, %v", got, err)
	}
	// A value encoded only once is used as it is, '+' included.
	if got, err := salmon.DecodeLegacyForm([]byte("xml=" + url.QueryEscape("<x>a+b</x>"))); err != nil || string(got) != "<x>a+b</x>" {
		t.Errorf("DecodeLegacyForm(once, plus) = %q, %v", got, err)
	}
	for _, bad := range []string{"", "foo=bar", "xml=", "xml=a&xml=b", "xml=%zz", "xml=%253Cx%25zz"} {
		if _, err := salmon.DecodeLegacyForm([]byte(bad)); !errors.Is(err, magicenv.ErrMalformed) {
			t.Errorf("DecodeLegacyForm(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}
