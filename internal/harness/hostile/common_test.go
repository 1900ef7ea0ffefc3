package hostile_test

import (
	"bytes"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/hostile"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

const (
	corpusDir = "../../../testdata/hostile"

	alice   = "alice@pod-a.example.org"
	bob     = "bob@pod-b.example.net"
	carol   = "carol@pod-c.example.com"
	dave    = "dave@pod-a.example.org"
	mallory = "mallory@unknown.example"

	// Related entities of the reference manifest.
	remotePostBob = "150bd6a707a2f2aa31d6a9902e3e2212" // bob, remote, public
	localPostBob  = "85765b56256d8402f5fa15183b2f758c" // bob, local, public
	remotePostAl  = "6bb5fd6a2e0858b8dc1331bba0e75f80" // alice, remote, public

	// plaintextMarker is in the text of every entity the corpus encrypts
	// or signs, so that logs can be searched for leaked plaintext.
	plaintextMarker = "HOSTILE-PLAINTEXT-7f3a"
)

// sentinels maps the expect_sentinel names to errors.
var sentinels = map[string]error{
	"magicenv.ErrInvalidEnvelope":      magicenv.ErrInvalidEnvelope,
	"magicenv.ErrUnsupportedDataType":  magicenv.ErrUnsupportedDataType,
	"magicenv.ErrUnsupportedEncoding":  magicenv.ErrUnsupportedEncoding,
	"magicenv.ErrUnsupportedAlgorithm": magicenv.ErrUnsupportedAlgorithm,
	"magicenv.ErrMissingKeyID":         magicenv.ErrMissingKeyID,
	"magicenv.ErrInvalidAuthor":        magicenv.ErrInvalidAuthor,
	"magicenv.ErrDoctype":              magicenv.ErrDoctype,
	"magicenv.ErrMalformed":            magicenv.ErrMalformed,
	"magicenv.ErrInvalidSignature":     magicenv.ErrInvalidSignature,
	"magicenv.ErrDecrypt":              magicenv.ErrDecrypt,
	"magicenv.ErrTooLarge":             magicenv.ErrTooLarge,
	"magicenv.ErrKeyNotFound":          magicenv.ErrKeyNotFound,
	"magicenv.ErrWeakKey":              magicenv.ErrWeakKey,
	"magicenv.ErrInvalidKey":           magicenv.ErrInvalidKey,
	"entities.ErrMalformed":            entities.ErrMalformed,
	"entities.ErrLimit":                entities.ErrLimit,
	"entities.ErrUnknownEntity":        entities.ErrUnknownEntity,
	"entities.ErrValidation":           entities.ErrValidation,
	"entities.ErrInvalidSignature":     entities.ErrInvalidSignature,
	"entities.ErrMissingSignature":     entities.ErrMissingSignature,
	"salmon.ErrInvalidSender":          salmon.ErrInvalidSender,
	"salmon.ErrNotPublic":              salmon.ErrNotPublic,
	"salmon.ErrRelatedNotFound":        salmon.ErrRelatedNotFound,
	"salmon.ErrParentNotLocal":         salmon.ErrParentNotLocal,
	"salmon.ErrUnknownFormat":          salmon.ErrUnknownFormat,
	"salmon.ErrInvalidHeader":          salmon.ErrInvalidHeader,
	"salmon.ErrOriginMismatch":         salmon.ErrOriginMismatch,
	"salmon.ErrNotFound":               salmon.ErrNotFound,
	"discovery.ErrInvalidDocument":     discovery.ErrInvalidDocument,
	"discovery.ErrDoctype":             discovery.ErrDoctype,
	"discovery.ErrValidation":          discovery.ErrValidation,
	"discovery.ErrInvalidID":           discovery.ErrInvalidID,
	"discovery.ErrNotFound":            discovery.ErrNotFound,
	"discovery.ErrSubjectMismatch":     discovery.ErrSubjectMismatch,
	"discovery.ErrBlockedAddress":      discovery.ErrBlockedAddress,
	"discovery.ErrBlockedURL":          discovery.ErrBlockedURL,
	"discovery.ErrTooManyRedirects":    discovery.ErrTooManyRedirects,
	"discovery.ErrResponseTooLarge":    discovery.ErrResponseTooLarge,
	"discovery.ErrInvalidKey":          discovery.ErrInvalidKey,
	"discovery.ErrWeakKey":             discovery.ErrWeakKey,
	"discovery.ErrKeyConflict":         discovery.ErrKeyConflict,
	"discovery.ErrForeignHCard":        discovery.ErrForeignHCard,
	"discovery.ErrGUIDConflict":        discovery.ErrGUIDConflict,
}

var keyOpts = magicenv.Options{MinKeyBits: 1024}

func keyParser() vectors.KeyParser {
	return vectors.MagicenvKeys(&keyOpts)
}

func privateKey(t testing.TB, id string) *rsa.PrivateKey {
	t.Helper()
	k, err := vectors.Reference(t).PrivateKey(keyParser(), id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readVector(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := vectors.Reference(t).ReadFile(rel)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadCorpus reads every case of testdata/hostile but the pod's (PD-*,
// replayed by examples/pod's TestHostilePod), sorted by ID.
func loadCorpus(t testing.TB) []Meta {
	return hostile.Load(t, func(id string) bool { return !strings.HasPrefix(id, "PD-") })
}

// input returns the raw bytes of a variant: the committed file, or the
// output of its generator.
func input(t testing.TB, m Meta, v Variant) []byte {
	t.Helper()
	if v.Generated {
		gen, ok := generators[v.File]
		if !ok {
			t.Fatalf("%s/%s: no generator %q", m.ID, v.Name, v.File)
		}
		return gen(t)
	}
	return hostile.ReadFile(t, m.ID, v.File)
}

// Meta and Variant are the corpus's metadata (internal/harness/hostile).
type (
	Meta    = hostile.Meta
	Variant = hostile.Variant
)

// b64u is padded base64url, what the reference writes.
func b64u(b []byte) string { return base64.URLEncoding.EncodeToString(b) }

// generators build the inputs that are too large to commit. They are
// deterministic apart from encryption.
var generators = map[string]func(testing.TB) []byte{
	// ME-09 (a): a syntactically plausible envelope of 1 MiB + 1 bytes.
	"gen:envelope_1mib_plus_1": func(t testing.TB) []byte {
		return padEnvelope(t, magicenv.DefaultMaxSize+1)
	},
	// ME-09 (f): a valid envelope of exactly 1 MiB.
	"gen:envelope_exactly_1mib": func(t testing.TB) []byte {
		return padEnvelope(t, magicenv.DefaultMaxSize)
	},
	// ME-09 (b): a signed payload nested 10,000 elements deep.
	"gen:payload_deep_10000": func(t testing.TB) []byte {
		p := "<status_message>" + strings.Repeat("<a>", 10000) + strings.Repeat("</a>", 10000) + "</status_message>"
		return signed(t, []byte(p), alice, alice)
	},
	// ME-09 (c): a signed payload with 100,000 sibling elements.
	"gen:payload_siblings_100000": func(t testing.TB) []byte {
		p := "<status_message>" + strings.Repeat("<a/>", 100000) + "</status_message>"
		return signed(t, []byte(p), alice, alice)
	},
	// ME-08: billion laughs inside the signed payload (10 levels).
	"gen:payload_billion_laughs": func(t testing.TB) []byte {
		return signed(t, []byte(billionLaughs("status_message")), alice, alice)
	},
	// DI-04: a 10 MiB JRD.
	"gen:jrd_10mib": func(t testing.TB) []byte {
		return []byte(`{"subject":"acct:alice@{{POD}}","aliases":["` + strings.Repeat("x", 10<<20) + `"],"links":[]}`)
	},
}

// padEnvelope returns alice's basic status message envelope padded
// with white space before the root element to exactly size bytes.
func padEnvelope(t testing.TB, size int) []byte {
	t.Helper()
	env := signed(t, statusMessage(alice, "1b2c3d4e5f60718293a4b5c6d7e8f901", "padded envelope "+plaintextMarker, true), alice, alice)
	decl := []byte(`<?xml version="1.0" encoding="UTF-8"?>`)
	rest := bytes.TrimPrefix(env, decl)
	if len(rest) == len(env) {
		t.Fatal("envelope without declaration")
	}
	pad := size - len(env)
	if pad < 0 {
		t.Fatalf("envelope already %d bytes", len(env))
	}
	out := make([]byte, 0, size)
	out = append(out, decl...)
	out = append(out, bytes.Repeat([]byte("\n"), pad)...)
	out = append(out, rest...)
	return out
}

func billionLaughs(root string) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0"?>` + "\n<!DOCTYPE " + root + " [\n")
	b.WriteString(` <!ENTITY lol0 "lol">` + "\n")
	for i := 1; i <= 10; i++ {
		fmt.Fprintf(&b, " <!ENTITY lol%d \"%s\">\n", i, strings.Repeat(fmt.Sprintf("&lol%d;", i-1), 10))
	}
	b.WriteString("]>\n<" + root + "><text>&lol10;</text></" + root + ">\n")
	return b.String()
}

// signed signs payload with signer's key and names sender in key_id.
func signed(t testing.TB, payload []byte, sender, signer string) []byte {
	t.Helper()
	env, err := magicenv.Sign(payload, sender, privateKey(t, signer), &keyOpts)
	if err != nil {
		t.Fatal(err)
	}
	return env.Marshal()
}

func statusMessage(author, guid, text string, public bool) []byte {
	return []byte(fmt.Sprintf(`<status_message>
  <author>%s</author>
  <guid>%s</guid>
  <created_at>2023-04-05T06:07:08Z</created_at>
  <public>%t</public>
  <text>%s</text>
</status_message>`, author, guid, public, text))
}
