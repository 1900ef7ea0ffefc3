package hostile_test

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
)

var update = flag.Bool("update", false, "rewrite testdata/hostile from the case definitions")

// generator is recorded in every meta.json.
const generator = "go test ./internal/harness/hostile -run TestGenerate -update (internal/harness/hostile/gen*_test.go; fixed AES keys/IVs from fixedBytes seeds, RSA encryption random)"

// genCase is a case with the bytes of its committed inputs.
type genCase struct {
	Meta
	files map[string][]byte
}

func (c *genCase) add(v Variant, ext string, body []byte) {
	if v.AllowedOutbound == nil {
		v.AllowedOutbound = []string{}
	}
	if !v.Generated && v.File == "" && body != nil {
		v.File = "input." + v.Name + "." + ext
		if c.files == nil {
			c.files = map[string][]byte{}
		}
		c.files[v.File] = body
	}
	c.Variants = append(c.Variants, v)
}

// sameJSON reports whether a and b hold the same JSON value: Go
// releases differ in how they escape some strings (U+FFFD is written
// raw by Go 1.27, as \ufffd before), so the bytes may not match.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// TestGenerate rewrites the corpus with -update; without it, it checks
// that every case defined here is on disk (the committed bytes may
// differ for encrypted inputs, which are random).
func TestGenerate(t *testing.T) {
	cases := buildCorpus(t)
	for _, c := range cases {
		dir := filepath.Join(corpusDir, c.ID)
		meta, err := json.MarshalIndent(c.Meta, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		meta = append(meta, '\n')
		if !*update {
			got, err := os.ReadFile(filepath.Join(dir, "meta.json"))
			if err != nil || !sameJSON(got, meta) {
				t.Errorf("%s: meta.json differs from the case definition (%v); run with -update", c.ID, err)
			}
			for name := range c.files {
				if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
					t.Errorf("%s: %v; run with -update", c.ID, err)
				}
			}
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "meta.json"), meta, 0o644); err != nil {
			t.Fatal(err)
		}
		for name, b := range c.files {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// ---- building blocks --------------------------------------------------

const sigSuffix = ".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="

func signString(t testing.TB, s, signer string) []byte {
	t.Helper()
	h := sha256.Sum256([]byte(s))
	sig, err := rsa.SignPKCS1v15(nil, privateKey(t, signer), crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

// envDoc writes an envelope document from its parts, in the reference's
// layout.
func envDoc(data, sig, keyID string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env">
  <me:data type="application/xml">` + data + `</me:data>
  <me:encoding>base64url</me:encoding>
  <me:alg>RSA-SHA256</me:alg>
  <me:sig key_id="` + keyID + `">` + sig + `</me:sig>
</me:env>
`
}

// wrapKey RSA-encrypts a key JSON for the recipient.
func wrapKey(t testing.TB, keyJSON []byte, recipient string) []byte {
	t.Helper()
	//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
	w, err := rsa.EncryptPKCS1v15(rand.Reader, &privateKey(t, recipient).PublicKey, keyJSON)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// cbc encrypts already padded plaintext (a whole number of blocks).
func cbc(t testing.TB, key, iv, padded []byte) []byte {
	t.Helper()
	b, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(padded))
	cipher.NewCBCEncrypter(b, iv).CryptBlocks(out, padded)
	return out
}

func pkcs7(b []byte) []byte {
	n := aes.BlockSize - len(b)%aes.BlockSize
	return append(append([]byte{}, b...), bytes.Repeat([]byte{byte(n)}, n)...)
}

func encBody(wrapped, ct []byte) []byte {
	return []byte(`{"aes_key":"` + base64.StdEncoding.EncodeToString(wrapped) + `","encrypted_magic_envelope":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)
}

func keyJSON(key, iv []byte) []byte {
	return []byte(`{"key":"` + base64.StdEncoding.EncodeToString(key) + `","iv":"` + base64.StdEncoding.EncodeToString(iv) + `"}`)
}

// fixedBytes returns n deterministic bytes (not secret: test input).
func fixedBytes(seed string, n int) []byte {
	var out []byte
	for i := 0; len(out) < n; i++ {
		h := sha256.Sum256([]byte(fmt.Sprintf("%s/%d", seed, i)))
		out = append(out, h[:]...)
	}
	return out[:n]
}

func signedComment(t testing.TB, c *entities.Comment, signer string) []byte {
	t.Helper()
	if err := c.Sign(privateKey(t, signer)); err != nil {
		t.Fatal(err)
	}
	b, err := entities.MarshalXML(c)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

// weakPublicKeyPEM builds the public half of a 512-bit RSA key (Go
// refuses to generate one, so the primes are made by hand).
func weakPublicKeyPEM(t testing.TB) []byte {
	t.Helper()
	p, err := rand.Prime(rand.Reader, 256)
	if err != nil {
		t.Fatal(err)
	}
	q, err := rand.Prime(rand.Reader, 256)
	if err != nil {
		t.Fatal(err)
	}
	pub := &rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537}
	return pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(pub))
}

func pkcs1WithExponent(t testing.TB, e int) []byte {
	t.Helper()
	pub := privateKey(t, alice).PublicKey
	pub.E = e
	return pemBlock("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&pub))
}

func ecPublicKeyPEM(t testing.TB) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func alicePubPEM(t testing.TB) []byte {
	t.Helper()
	b, err := magicenv.MarshalPublicKey(&privateKey(t, alice).PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// slapPrivateWithHeader replaces the encrypted header of the reference's
// private slap with one whose decrypted XML is header.
func slapPrivateWithHeader(t testing.TB, header string) []byte {
	t.Helper()
	base := string(readVector(t, "legacy_slap_private/status_message_modern_payload.xml"))
	key, iv := fixedBytes("slap-key", 32), fixedBytes("slap-iv", 16)
	ct := cbc(t, key, iv, pkcs7([]byte(header)))
	inner := `{"aes_key":"` + base64.StdEncoding.EncodeToString(wrapKey(t, keyJSON(key, iv), bob)) + `","ciphertext":"` + base64.StdEncoding.EncodeToString(ct) + `"}`
	eh := base64.StdEncoding.EncodeToString([]byte(inner))
	start := strings.Index(base, "<encrypted_header>") + len("<encrypted_header>")
	end := strings.Index(base, "</encrypted_header>")
	return []byte(base[:start] + eh + base[end:])
}

// ---- the corpus -------------------------------------------------------

func buildCorpus(t *testing.T) []*genCase {
	var cases []*genCase
	newCase := func(id, name string, threats []string, notes string) *genCase {
		c := &genCase{Meta: Meta{ID: id, Name: name, Threats: threats, Notes: notes, Generator: generator}}
		cases = append(cases, c)
		return c
	}
	const guidA = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
	basic := statusMessage(alice, guidA, "hello from alice "+plaintextMarker, true)
	if len(basic)%3 == 0 { // ME-11 needs a padded base64 form
		basic = statusMessage(alice, guidA, "hello from alice! "+plaintextMarker, true)
	}
	good := string(signed(t, basic, alice, alice))
	dataB64 := b64u(basic)
	pubNeg := func(name, cat, sentinel string) Variant {
		return Variant{Name: name, Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: cat, ExpectSentinel: sentinel, ExpectStatus: 202}
	}
	pubPos := func(name, sender, signer string) Variant {
		return Variant{Name: name, Entry: "receive_public", Sender: sender, Signer: signer, Positive: true, ExpectStatus: 202}
	}

	status := func(v Variant, code int) Variant {
		v.ExpectStatus = code
		v.Notes = strings.TrimSpace(v.Notes + " Not recognised as a magic envelope by salmon.Detect: the handler answers 422 on the public route without queueing.")
		return v
	}
	doctypeNeg := func(name string) Variant {
		v := status(pubNeg(name, "invalid_envelope", "salmon.ErrUnknownFormat"), 422)
		v.ParseSentinel = "magicenv.ErrDoctype"
		v.SpecExpected = "ErrXMLDoctype: magicenv.Parse returns magicenv.ErrDoctype (parse_sentinel); the receive pipeline stops earlier, at format detection"
		return v
	}

	// ME-01
	c := newCase("ME-01", "wrong-key-signature", []string{"T1"}, "key_id names alice; the signature is mallory's.")
	v := pubNeg("mallory_signs_as_alice", "invalid_envelope_signature", "magicenv.ErrInvalidSignature")
	v.Signer = mallory
	c.add(v, "xml", signed(t, basic, alice, mallory))
	c.add(pubPos("control_alice_signs", alice, alice), "xml", []byte(good))

	// ME-02
	c = newCase("ME-02", "tampered-payload", nil, "")
	i := len(dataB64) / 2
	flip := byte('A')
	if dataB64[i] == 'A' {
		flip = 'B'
	}
	tampered := dataB64[:i] + string(flip) + dataB64[i+1:]
	c.add(pubNeg("flipped_base64_char", "invalid_envelope_signature", "magicenv.ErrInvalidSignature"), "xml", []byte(strings.Replace(good, dataB64, tampered, 1)))
	changed := bytes.Replace(basic, []byte("hello from"), []byte("jello from"), 1)
	c.add(pubNeg("changed_decoded_byte", "invalid_envelope_signature", "magicenv.ErrInvalidSignature"), "xml", []byte(strings.Replace(good, dataB64, b64u(changed), 1)))
	c.add(pubPos("control_untouched", alice, alice), "xml", []byte(good))

	// ME-03
	c = newCase("ME-03", "missing-or-wrong-parameters", nil,
		"The plan's ErrInvalidAlgorithm/ErrInvalidEncoding/ErrInvalidDataType are magicenv.ErrUnsupported*; all wrap ErrInvalidEnvelope (category invalid_envelope, as the reference vectors wrong_algorithm/wrong_encoding/wrong_data_type).")
	sigLine := good[strings.Index(good, "  <me:sig") : strings.Index(good, "</me:sig>\n")+len("</me:sig>\n")]
	c.add(pubNeg("no_sig", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(strings.Replace(good, sigLine, "", 1)))
	c.add(pubNeg("empty_data", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(strings.Replace(good, dataB64, "", 1)))
	v = pubNeg("alg_rsa_sha1", "invalid_envelope", "magicenv.ErrUnsupportedAlgorithm")
	v.SpecExpected = "ErrInvalidAlgorithm"
	c.add(v, "xml", []byte(strings.Replace(good, "RSA-SHA256", "RSA-SHA1", 1)))
	v = pubNeg("encoding_base64", "invalid_envelope", "magicenv.ErrUnsupportedEncoding")
	v.SpecExpected = "ErrInvalidEncoding"
	c.add(v, "xml", []byte(strings.Replace(good, ">base64url<", ">base64<", 1)))
	v = pubNeg("type_missing", "invalid_envelope", "magicenv.ErrUnsupportedDataType")
	v.SpecExpected = "ErrInvalidDataType"
	c.add(v, "xml", []byte(strings.Replace(good, ` type="application/xml"`, "", 1)))
	v = pubNeg("type_text_plain", "invalid_envelope", "magicenv.ErrUnsupportedDataType")
	v.SpecExpected = "ErrInvalidDataType"
	c.add(v, "xml", []byte(strings.Replace(good, `type="application/xml"`, `type="text/plain"`, 1)))
	c.add(pubPos("control", alice, alice), "xml", []byte(good))

	// ME-04
	c = newCase("ME-04", "bad-key-id", nil, "No key lookup may happen (the replay counts resolver calls).")
	sigText := b64u(signString(t, dataB64+sigSuffix, alice))
	if !strings.Contains(good, sigText) {
		t.Fatal("ME-04: signature base differs from magicenv's")
	}
	withKeyID := func(keyID string) []byte {
		return []byte(envDoc(dataB64, sigText, keyID))
	}
	c.add(pubNeg("no_key_id", "invalid_envelope", "magicenv.ErrMissingKeyID"), "xml",
		[]byte(strings.Replace(good, ` key_id="`+b64u([]byte(alice))+`"`, "", 1)))
	c.add(pubNeg("not_base64", "malformed", "magicenv.ErrMalformed"), "xml", withKeyID("!!not*base64!!"))
	for _, k := range []struct{ name, id string }{
		{"uppercase", "Alice@Pod.org"},
		{"256_chars", strings.Repeat("a", 256-len("@pod-a.example.org")) + "@pod-a.example.org"},
		{"two_at_signs", "a@b@c"},
		{"invalid_utf8", "al\xffce@pod-a.example.org"},
	} {
		v = pubNeg(k.name, "invalid_envelope", "magicenv.ErrInvalidAuthor")
		v.Sender = k.id
		c.add(v, "xml", withKeyID(b64u([]byte(k.id))))
	}
	c.add(pubPos("control", alice, alice), "xml", withKeyID(b64u([]byte(alice))))

	// ME-05
	c = newCase("ME-05", "unknown-sender", nil,
		"mallory is unknown to the receiver (the manifest's known_to_receiver=false stands for a discovery 404). The plan's ErrSenderKeyNotFound is *magicenv.KeyLookupError wrapping magicenv.ErrKeyNotFound (final, not temporary).")
	v = Variant{Name: "mallory", Entry: "receive_public", Sender: mallory, Signer: mallory, ExpectCategory: "sender_key_not_found", ExpectSentinel: "magicenv.ErrKeyNotFound", ExpectStatus: 202,
		AllowedOutbound: []string{"one key lookup"}}
	c.add(v, "xml", signed(t, statusMessage(mallory, guidA, "from mallory", true), mallory, mallory))
	c.add(pubPos("control_known_sender", alice, alice), "xml", []byte(good))
	wf := map[string]string{"/.well-known/webfinger": "status:404", "/.well-known/host-meta": "status:404"}
	c.add(Variant{Name: "discovery_404", Entry: "receive_public_discovery", Sender: "mallory@{{POD}}", Signer: mallory, Templated: true, Serve: wf,
		ExpectCategory: "sender_key_not_found", ExpectSentinel: "discovery.ErrNotFound", ExpectStatus: 202,
		AllowedOutbound: []string{"the fake pod: WebFinger, then the host-meta fallback"},
		Notes:           "The input is the entity payload; the envelope is signed with mallory's key at test time because key_id must name the loopback fake pod. The receiver's KeyResolver is a discovery.Client (AllowHTTP, AllowedAddrs = the pod); both documents answer 404: a final sender_key_not_found, not temporary."},
		"xml", statusMessage("mallory@{{POD}}", guidA, "from mallory", true))
	c.add(Variant{Name: "control_discovered_sender", Entry: "receive_public_discovery", Sender: "alice@{{POD}}", Signer: alice, Templated: true, Positive: true, ExpectStatus: 202,
		AllowedOutbound: []string{"the fake pod"}, Notes: "alice's genuine documents on the fake pod: her key is discovered and the envelope accepted"},
		"xml", statusMessage("alice@{{POD}}", guidA, "from alice, discovered", true))

	// ME-06
	c = newCase("ME-06", "namespace-confusion", nil,
		"(e) the plan expects the prefix magic: to be accepted; the reference vector magic_envelope_public/envelope_other_prefix rejects it (the reference looks children up by the prefix me). The vector wins: rejected by default, accepted with magicenv.Options.AnyPrefix.")
	c.add(status(pubNeg("me_bound_to_urn_evil", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), 422), "xml",
		[]byte(strings.Replace(good, `xmlns:me="http://salmon-protocol.org/ns/magic-env"`, `xmlns:me="urn:evil"`, 1)))
	dflt := strings.NewReplacer("<me:", "<", "</me:", "</", `xmlns:me="http://salmon-protocol.org/ns/magic-env"`, `xmlns:me="http://salmon-protocol.org/ns/magic-env" xmlns="urn:other"`).Replace(good)
	dflt = strings.Replace(dflt, "<env ", "<me:env ", 1)
	dflt = strings.Replace(dflt, "</env>", "</me:env>", 1)
	c.add(pubNeg("children_default_namespace", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(dflt))
	nons := strings.NewReplacer("<me:", "<", "</me:", "</", ` xmlns:me="http://salmon-protocol.org/ns/magic-env"`, "").Replace(good)
	c.add(status(pubNeg("root_without_namespace", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), 422), "xml", []byte(nons))
	c.add(status(pubNeg("undeclared_prefix", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), 422), "xml",
		[]byte(strings.Replace(good, ` xmlns:me="http://salmon-protocol.org/ns/magic-env"`, "", 1)))
	magic := strings.NewReplacer("<me:", "<magic:", "</me:", "</magic:", "xmlns:me=", "xmlns:magic=").Replace(good)
	v = pubNeg("prefix_magic_default_options", "invalid_envelope", "magicenv.ErrInvalidEnvelope")
	v.SpecExpected = "accepted (+); the reference vector envelope_other_prefix rejects it"
	c.add(v, "xml", []byte(magic))
	v = pubPos("prefix_magic_any_prefix", alice, alice)
	v.File = "input.prefix_magic_default_options.xml"
	v.Options = []string{"any_prefix"}
	c.add(v, "", nil)
	c.add(pubPos("control_prefix_me", alice, alice), "xml", []byte(good))

	// ME-07
	c = newCase("ME-07", "duplicate-children", []string{"T9"}, "")
	attacker := b64u(statusMessage(alice, guidA, "attacker text", true))
	dataLine := `  <me:data type="application/xml">` + dataB64 + "</me:data>\n"
	c.add(pubNeg("two_data_first_signed", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml",
		[]byte(strings.Replace(good, dataLine, dataLine+`  <me:data type="application/xml">`+attacker+"</me:data>\n", 1)))
	c.add(pubNeg("two_sig", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(strings.Replace(good, sigLine, sigLine+sigLine, 1)))
	c.add(pubNeg("type_attribute_twice", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml",
		[]byte(strings.Replace(good, `type="application/xml"`, `type="application/xml" type="application/xml"`, 1)))
	c.add(pubPos("control", alice, alice), "xml", []byte(good))

	// ME-08
	c = newCase("ME-08", "doctype-entities", []string{"T7"},
		"The plan's ErrXMLDoctype is magicenv.ErrDoctype for the envelope (wraps ErrInvalidEnvelope) and entities.ErrMalformed for the payload. The external entities point at 127.0.0.1:1 and file:///etc/passwd; nothing is read or dialled because the DOCTYPE is refused before any expansion.")
	body := strings.Replace(good, "<me:env", billionLaughs("me:env")[strings.Index(billionLaughs("me:env"), "<!DOCTYPE"):strings.Index(billionLaughs("me:env"), "]>")+2]+"\n<me:env", 1)
	c.add(doctypeNeg("envelope_billion_laughs"), "xml", []byte(body))
	c.add(doctypeNeg("envelope_system_file"), "xml",
		[]byte(strings.Replace(good, "<me:env", `<!DOCTYPE me:env [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`+"\n<me:env", 1)))
	c.add(doctypeNeg("envelope_system_http"), "xml",
		[]byte(strings.Replace(good, "<me:env", `<!DOCTYPE me:env SYSTEM "http://127.0.0.1:1/evil.dtd">`+"\n<me:env", 1)))
	c.add(doctypeNeg("envelope_parameter_entity"), "xml",
		[]byte(strings.Replace(good, "<me:env", `<!DOCTYPE me:env [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p.dtd"> %p;]>`+"\n<me:env", 1)))
	c.add(Variant{Name: "payload_billion_laughs", File: "gen:payload_billion_laughs", Generated: true, Entry: "receive_public", Sender: alice, Signer: alice,
		ExpectCategory: "malformed", ExpectSentinel: "entities.ErrMalformed", ExpectStatus: 202, SpecExpected: "ErrXMLDoctype",
		Notes: "generated at test time only to keep one recipe; small enough to commit but kept with the other payload generators"}, "", nil)
	c.add(pubNeg("payload_system_file", "malformed", "entities.ErrMalformed"), "xml",
		signed(t, []byte(`<!DOCTYPE status_message [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`+string(statusMessage(alice, guidA, "&xxe;", true))), alice, alice))
	c.add(pubNeg("payload_system_http", "malformed", "entities.ErrMalformed"), "xml",
		signed(t, []byte(`<!DOCTYPE status_message [<!ENTITY % p SYSTEM "http://127.0.0.1:1/p.dtd"> %p;]>`+string(basic)), alice, alice))
	c.add(pubPos("control", alice, alice), "xml", []byte(good))

	// ME-09
	c = newCase("ME-09", "structural-limits", []string{"T8", "T9"},
		"The plan's ErrPayloadTooLarge is magicenv.ErrTooLarge (category malformed) / HTTP 413; ErrXMLLimits is entities.ErrLimit (category malformed). (e) a UTF-16 declaration is refused as invalid_envelope (no CharsetReader).")
	c.add(Variant{Name: "body_1mib_plus_1", File: "gen:envelope_1mib_plus_1", Generated: true, Entry: "receive_public", Sender: alice, Signer: alice,
		ExpectCategory: "malformed", ExpectSentinel: "magicenv.ErrTooLarge", ExpectStatus: 413, SpecExpected: "ErrPayloadTooLarge"}, "", nil)
	c.add(Variant{Name: "payload_nested_10000", File: "gen:payload_deep_10000", Generated: true, Entry: "receive_public", Sender: alice, Signer: alice,
		ExpectCategory: "malformed", ExpectSentinel: "entities.ErrLimit", ExpectStatus: 202, SpecExpected: "ErrXMLLimits"}, "", nil)
	c.add(Variant{Name: "payload_100000_siblings", File: "gen:payload_siblings_100000", Generated: true, Entry: "receive_public", Sender: alice, Signer: alice,
		ExpectCategory: "malformed", ExpectSentinel: "entities.ErrLimit", ExpectStatus: 202, SpecExpected: "ErrXMLLimits"}, "", nil)
	c.add(pubNeg("second_root", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(good+"<me:env/>\n"))
	c.add(pubNeg("trailing_text", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), "xml", []byte(good+"trailing\n"))
	v = status(pubNeg("utf16_declaration", "invalid_envelope", "magicenv.ErrInvalidEnvelope"), 422)
	v.SpecExpected = "ErrXMLSyntax"
	c.add(v, "xml", []byte(strings.Replace(good, `encoding="UTF-8"`, `encoding="UTF-16"`, 1)))
	c.add(Variant{Name: "control_exactly_1mib", File: "gen:envelope_exactly_1mib", Generated: true, Entry: "receive_public", Sender: alice, Signer: alice,
		Positive: true, ExpectStatus: 202}, "", nil)

	// ME-10
	c = newCase("ME-10", "weak-sender-key", []string{"T11"},
		"The input is the stored/discovered key. Replayed through magicenv.ParsePublicKey (MinKeyBits 1024) and discovery.ParsePublicKey; both must refuse. The receive pipeline with a 512-bit key handed over by the resolver is the variant receive_with_512_bit_key.")
	keyNeg := func(name, cat, sentinel string) Variant {
		return Variant{Name: name, Entry: "parse_public_key", ExpectCategory: cat, ExpectSentinel: sentinel}
	}
	weak := weakPublicKeyPEM(t)
	c.add(keyNeg("rsa_512", "weak_key", "magicenv.ErrWeakKey"), "pem", weak)
	c.add(keyNeg("exponent_1", "invalid_key", "magicenv.ErrInvalidKey"), "pem", pkcs1WithExponent(t, 1))
	c.add(keyNeg("exponent_even", "invalid_key", "magicenv.ErrInvalidKey"), "pem", pkcs1WithExponent(t, 65536))
	c.add(keyNeg("ec_key", "invalid_key", "magicenv.ErrInvalidKey"), "pem", ecPublicKeyPEM(t))
	c.add(keyNeg("two_pem_blocks", "invalid_key", "magicenv.ErrInvalidKey"), "pem", append(alicePubPEM(t), alicePubPEM(t)...))
	c.add(keyNeg("trailing_junk", "invalid_key", "magicenv.ErrInvalidKey"), "pem", append(alicePubPEM(t), []byte("junk\n")...))
	c.add(Variant{Name: "control_alice_key", Entry: "parse_public_key", Positive: true}, "pem", alicePubPEM(t))
	c.add(Variant{Name: "receive_with_512_bit_key", File: "input.rsa_512.pem", Entry: "receive_public_with_key", Sender: alice, Signer: alice,
		ExpectCategory: "weak_key", ExpectSentinel: "magicenv.ErrWeakKey", ExpectStatus: 202,
		Notes: "the envelope is ME-01's control; the resolver returns the key of this file for alice"}, "", nil)

	// ME-11
	c = newCase("ME-11", "base64-variants", []string{"T21"},
		"(b) the plan expects a signature over the raw (non-canonical) me:data text to be accepted; the reference vector signature_over_unpadded_subject rejects it. The vector wins: rejected by default, accepted with magicenv.Options.AcceptRawSubject. (d) the plan expects +// in base64url fields to be refused; the reference vector standard_base64_alphabet_unpadded accepts the standard alphabet: accepted (vector wins). The plan's ErrInvalidEncoding is magicenv.ErrMalformed.")
	goodSig := signString(t, dataB64+sigSuffix, alice)
	unpadded := envDoc(strings.TrimRight(dataB64, "="), strings.TrimRight(b64u(goodSig), "="), strings.TrimRight(b64u([]byte(alice)), "="))
	c.add(pubPos("unpadded", alice, alice), "xml", []byte(unpadded))
	rawData := strings.TrimRight(dataB64, "=")
	rawSig := b64u(signString(t, rawData+sigSuffix, alice))
	v = pubNeg("signed_over_raw_text_default", "invalid_envelope_signature", "magicenv.ErrInvalidSignature")
	v.SpecExpected = "accepted (+); the reference vector signature_over_unpadded_subject rejects it"
	if rawData == dataB64 {
		t.Fatal("ME-11: payload length gives no padding")
	}
	c.add(v, "xml", []byte(envDoc(rawData, rawSig, b64u([]byte(alice)))))
	v = pubPos("signed_over_raw_text_accept_raw_subject", alice, alice)
	v.File = "input.signed_over_raw_text_default.xml"
	v.Options = []string{"accept_raw_subject"}
	c.add(v, "", nil)
	c.add(pubNeg("spaces_inside_data", "malformed", "magicenv.ErrMalformed"), "xml", []byte(envDoc(dataB64[:20]+" "+dataB64[20:], b64u(goodSig), b64u([]byte(alice)))))
	std := envDoc(base64.StdEncoding.EncodeToString(basic), base64.StdEncoding.EncodeToString(goodSig), base64.StdEncoding.EncodeToString([]byte(alice)))
	if !strings.ContainsAny(std, "+/") {
		t.Log("ME-11: standard alphabet variant has no + or /")
	}
	v = pubPos("standard_alphabet", alice, alice)
	v.SpecExpected = "ErrInvalidEncoding; the reference vector standard_base64_alphabet_unpadded accepts the standard alphabet"
	c.add(v, "xml", []byte(std))
	lower := strings.ToLower(dataB64)
	c.add(pubNeg("signature_over_lowercase_form", "invalid_envelope_signature", "magicenv.ErrInvalidSignature"), "xml",
		[]byte(envDoc(dataB64, b64u(signString(t, lower+sigSuffix, alice)), b64u([]byte(alice)))))

	// ---- encrypted envelopes ----
	privPayload := statusMessage(alice, "2a3b4c5d6e7f8091a2b3c4d5e6f70819", "private words "+plaintextMarker, false)
	inner := signed(t, privPayload, alice, alice)
	privNeg := func(name, cat, sentinel string) Variant {
		return Variant{Name: name, Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, ExpectCategory: cat, ExpectSentinel: sentinel, ExpectStatus: 202}
	}
	validKey, validIV := fixedBytes("en-key", 32), fixedBytes("en-iv", 16)
	validCT := cbc(t, validKey, validIV, pkcs7(inner))
	validBody := encBody(wrapKey(t, keyJSON(validKey, validIV), bob), validCT)

	c = newCase("EN-01", "garbage-aes-key", []string{"T10"}, "")
	c.add(privNeg("random_aes_key", "decrypt", "magicenv.ErrDecrypt"), "json", encBody(fixedBytes("garbage", 256), validCT))
	c.add(Variant{Name: "control_valid", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Positive: true, ExpectStatus: 202}, "json", validBody)

	c = newCase("EN-02", "bad-cbc-padding", []string{"T10"}, "Same ErrDecrypt value as EN-01.")
	padded := pkcs7(inner)
	n := int(padded[len(padded)-1])
	body0 := append([]byte{}, padded...)
	body0[len(body0)-1] = 0
	body11 := append(append([]byte{}, padded[:len(padded)-n]...), bytes.Repeat([]byte{0x11}, n)...)
	if n == 0x11 {
		t.Fatal("EN-02: choose another payload length")
	}
	incons := append([]byte{}, padded...)
	if n < 2 {
		incons = append(append([]byte{}, inner...), bytes.Repeat([]byte{16}, 16)...)
		n = 16
	}
	incons[len(incons)-2] ^= 0x5a
	for _, p := range []struct {
		name string
		pt   []byte
	}{{"pad_00", body0}, {"pad_11", body11}, {"inconsistent_pad", incons}} {
		c.add(privNeg(p.name, "decrypt", "magicenv.ErrDecrypt"), "json", encBody(wrapKey(t, keyJSON(validKey, validIV), bob), cbc(t, validKey, validIV, p.pt)))
	}
	c.add(Variant{Name: "control_valid", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Positive: true, ExpectStatus: 202}, "json", validBody)

	c = newCase("EN-03", "bad-lengths", []string{"T10"}, "")
	wrapped := wrapKey(t, keyJSON(validKey, validIV), bob)
	c.add(privNeg("ciphertext_not_block_multiple", "decrypt", "magicenv.ErrDecrypt"), "json", encBody(wrapped, validCT[:len(validCT)-3]))
	c.add(privNeg("empty_ciphertext", "decrypt", "magicenv.ErrDecrypt"), "json", encBody(wrapped, nil))
	for _, k := range []struct {
		name    string
		key, iv []byte
	}{
		{"iv_15", validKey, validIV[:15]},
		{"iv_17", validKey, append(append([]byte{}, validIV...), 1)},
		{"key_16", validKey[:16], validIV},
		{"key_31", validKey[:31], validIV},
	} {
		var ct []byte
		if len(k.key) == 16 || len(k.key) == 32 {
			if len(k.iv) == 16 {
				ct = cbc(t, k.key, k.iv, pkcs7(inner))
			}
		}
		if ct == nil {
			ct = validCT
		}
		c.add(privNeg(k.name, "decrypt", "magicenv.ErrDecrypt"), "json", encBody(wrapKey(t, keyJSON(k.key, k.iv), bob), ct))
	}
	c.add(privNeg("key_not_base64", "decrypt", "magicenv.ErrDecrypt"), "json",
		encBody(wrapKey(t, []byte(`{"key":"!!!not base64!!!","iv":"`+base64.StdEncoding.EncodeToString(validIV)+`"}`), bob), validCT))
	c.add(privNeg("iv_not_base64", "decrypt", "magicenv.ErrDecrypt"), "json",
		encBody(wrapKey(t, []byte(`{"key":"`+base64.StdEncoding.EncodeToString(validKey)+`","iv":"***"}`), bob), validCT))
	c.add(Variant{Name: "control_valid", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Positive: true, ExpectStatus: 202}, "json", validBody)

	c = newCase("EN-04", "json-ambiguity", []string{"T9"},
		"The plan's ErrDeserialization is magicenv.ErrMalformed (category malformed) for the outer JSON. Inner {key,iv} problems are only visible after RSA decryption and are ErrDecrypt, like every other decryption failure.")
	ak := base64.StdEncoding.EncodeToString(wrapped)
	em := base64.StdEncoding.EncodeToString(validCT)
	for _, j := range []struct{ name, body string }{
		{"duplicate_aes_key", `{"aes_key":"` + ak + `","aes_key":"` + ak + `","encrypted_magic_envelope":"` + em + `"}`},
		{"case_variant_key", `{"aes_key":"` + ak + `","AES_KEY":"` + ak + `","encrypted_magic_envelope":"` + em + `"}`},
		{"number_instead_of_string", `{"aes_key":12345,"encrypted_magic_envelope":"` + em + `"}`},
		{"nested_64_deep", `{"aes_key":"` + ak + `","encrypted_magic_envelope":"` + em + `","x":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`},
	} {
		v := privNeg(j.name, "malformed", "magicenv.ErrMalformed")
		v.SpecExpected = "ErrDeserialization"
		c.add(v, "json", []byte(j.body))
	}
	dupInner := []byte(`{"key":"` + base64.StdEncoding.EncodeToString(validKey) + `","key":"` + base64.StdEncoding.EncodeToString(fixedBytes("other", 32)) + `","iv":"` + base64.StdEncoding.EncodeToString(validIV) + `"}`)
	v = privNeg("inner_duplicate_key", "decrypt", "magicenv.ErrDecrypt")
	v.SpecExpected = "ErrDeserialization (indistinguishable from other decryption failures here, on purpose)"
	c.add(v, "json", encBody(wrapKey(t, dupInner, bob), validCT))
	c.add(Variant{Name: "control_valid", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Positive: true, ExpectStatus: 202}, "json", validBody)

	c = newCase("EN-05", "oracle-uniformity-and-wrong-recipient", []string{"T10"},
		"Replayed 200 times in rounds over the four classes through salmon.Handler with a storing Inbox: every answer must be byte-identical (status, headers, body). The stored bodies are then processed by a worker: the wrong-recipient ones give ErrDecrypt. Timing is not asserted here (crypto runs after the answer).")
	c.add(privNeg("garbage_aes_key", "decrypt", "magicenv.ErrDecrypt"), "json", encBody(fixedBytes("garbage2", 256), validCT))
	c.add(privNeg("bad_padding", "decrypt", "magicenv.ErrDecrypt"), "json", encBody(wrapped, cbc(t, validKey, validIV, body11)))
	v = privNeg("for_carol_posted_to_bob", "decrypt", "magicenv.ErrDecrypt")
	v.Notes = "encrypted for carol, posted to /receive/users/bob"
	c.add(v, "json", encBody(wrapKey(t, keyJSON(validKey, validIV), carol), validCT))
	c.add(Variant{Name: "valid", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Positive: true, ExpectStatus: 202}, "json", validBody)

	// ---- legacy slaps ----
	c = newCase("SL-01", "header-author-not-signer", []string{"T20"}, "Reference vector legacy_slap_public/header_author_not_signer, replayed with legacy receive on.")
	c.add(Variant{Name: "public_slap", Entry: "receive_public", Sender: alice, Options: []string{"legacy"}, ExpectCategory: "invalid_envelope_signature",
		ExpectSentinel: "magicenv.ErrInvalidSignature", ExpectStatus: 202}, "xml", readVector(t, "legacy_slap_public/header_author_not_signer.xml"))
	c.add(Variant{Name: "control_public_slap", Entry: "receive_public", Sender: alice, Signer: alice, Options: []string{"legacy"}, Positive: true, ExpectStatus: 202},
		"xml", readVector(t, "legacy_slap_public/status_message_modern_payload.xml"))

	c = newCase("SL-02", "header-author-not-entity-author", []string{"T20", "T1"}, "Reference vector legacy_slap_public/header_author_not_entity_author (signed by dave, entity by alice).")
	c.add(Variant{Name: "public_slap", Entry: "receive_public", Sender: dave, Signer: dave, Options: []string{"legacy"}, ExpectCategory: "invalid_sender",
		ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202}, "xml", readVector(t, "legacy_slap_public/header_author_not_entity_author.xml"))
	c.add(Variant{Name: "control_public_slap", Entry: "receive_public", Sender: alice, Signer: alice, Options: []string{"legacy"}, Positive: true, ExpectStatus: 202},
		"xml", readVector(t, "legacy_slap_public/status_message_modern_payload.xml"))

	c = newCase("SL-03", "malformed-or-disabled", []string{"T20"},
		"The plan's ErrLegacyDisabled: with legacy receive off (the default) a slap is not a format of the route: salmon.Handler answers 422 before reading further and Receiver returns salmon.ErrUnknownFormat (category invalid_envelope) before any key lookup or decryption. ErrInvalidHeader is salmon.ErrInvalidHeader.")
	c.add(Variant{Name: "header_root_not_decrypted_header", Entry: "receive_private", Recipient: bob, Options: []string{"legacy"}, ExpectCategory: "invalid_envelope",
		ExpectSentinel: "salmon.ErrInvalidHeader", ExpectStatus: 202}, "xml",
		slapPrivateWithHeader(t, `<evil_header><iv>AAAAAAAAAAAAAAAAAAAAAA==</iv><aes_key>AAAA</aes_key><author_id>alice@pod-a.example.org</author_id></evil_header>`))
	c.add(Variant{Name: "header_without_iv", Entry: "receive_private", Recipient: bob, Options: []string{"legacy"}, ExpectCategory: "invalid_envelope",
		ExpectSentinel: "salmon.ErrInvalidHeader", ExpectStatus: 202}, "xml",
		slapPrivateWithHeader(t, `<decrypted_header><aes_key>AAAA</aes_key><author_id>alice@pod-a.example.org</author_id></decrypted_header>`))
	c.add(Variant{Name: "public_slap_legacy_off", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_envelope",
		ExpectSentinel: "salmon.ErrUnknownFormat", ExpectStatus: 422, SpecExpected: "ErrLegacyDisabled"}, "xml", readVector(t, "legacy_slap_public/status_message_modern_payload.xml"))
	c.add(Variant{Name: "private_slap_legacy_off", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, ExpectCategory: "invalid_envelope",
		ExpectSentinel: "salmon.ErrUnknownFormat", ExpectStatus: 422, SpecExpected: "ErrLegacyDisabled"}, "xml", readVector(t, "legacy_slap_private/status_message_modern_payload.xml"))
	c.add(Variant{Name: "control_private_slap_legacy_on", Entry: "receive_private", Sender: alice, Signer: alice, Recipient: bob, Options: []string{"legacy"}, Positive: true, ExpectStatus: 202},
		"xml", readVector(t, "legacy_slap_private/status_message_modern_payload.xml"))

	// ---- relayables ----
	created := time.Date(2023, 4, 5, 6, 12, 8, 0, time.UTC)
	comment := func(author, guid, parent, text string) *entities.Comment {
		return &entities.Comment{Author: author, GUID: guid, ParentGUID: parent, Text: text, CreatedAt: created}
	}
	onRemote := signedComment(t, comment(alice, "c0ffee00c0ffee00c0ffee00c0ffee01", remotePostBob, "a comment "+plaintextMarker), alice)
	onLocal := signedComment(t, comment(alice, "c0ffee00c0ffee00c0ffee00c0ffee02", localPostBob, "a comment on a local post"), alice)
	c = newCase("RL-01", "sender-not-root-author", []string{"T2"},
		"dave (known to the receiver) plays the relayer: mallory is unknown and would stop at sender_key_not_found before the sender rule.")
	c.add(Variant{Name: "relayed_by_dave", Entry: "receive_public", Sender: dave, Signer: dave, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, onRemote, dave, dave))
	c.add(Variant{Name: "sent_by_author_parent_remote", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, onRemote, alice, alice))
	c.add(Variant{Name: "control_relayed_by_root_author", Entry: "receive_public", Sender: bob, Signer: bob, Positive: true, ExpectStatus: 202}, "xml", signed(t, onRemote, bob, bob))
	c.add(Variant{Name: "control_sent_by_author_parent_local", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202}, "xml", signed(t, onLocal, alice, alice))

	c = newCase("RL-02", "missing-author-signature", []string{"T2"}, "The plan's ErrSignatureVerificationFailed is entities.ErrInvalidSignature / ErrMissingSignature (category invalid_entity_signature).")
	unsigned, err := entities.MarshalXML(comment(alice, "c0ffee00c0ffee00c0ffee00c0ffee03", remotePostBob, "unsigned comment"))
	if err != nil {
		t.Fatal(err)
	}
	c.add(Variant{Name: "relayed_by_bob_unsigned", Entry: "receive_public", Sender: bob, Signer: bob, ExpectCategory: "invalid_entity_signature",
		ExpectSentinel: "entities.ErrMissingSignature", ExpectStatus: 202}, "xml", signed(t, unsigned, bob, bob))
	byRoot, err := entities.MarshalXML(comment(bob, "c0ffee00c0ffee00c0ffee00c0ffee04", remotePostBob, "root author's own comment"))
	if err != nil {
		t.Fatal(err)
	}
	c.add(Variant{Name: "control_root_author_unsigned", Entry: "receive_public", Sender: bob, Signer: bob, Positive: true, ExpectStatus: 202}, "xml", signed(t, byRoot, bob, bob))

	golden := string(readVector(t, "relayable_xml/comment.xml"))
	c = newCase("RL-03", "golden-vector-tampered", []string{"T2"}, "Golden vector: the reference's relayable_xml/comment.xml; entry check_entity parses it and applies salmon.Receiver.Check without a sender.")
	c.add(Variant{Name: "text_char_changed", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature"}, "xml",
		[]byte(strings.Replace(golden, "aus K", "aus X", 1)))
	c.add(Variant{Name: "signed_by_dave", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature"}, "xml",
		signedComment(t, comment(alice, "ae5fecae64be1cd33c709e62530df830", remotePostBob, "signed with dave's key"), dave))
	c.add(Variant{Name: "control_untouched", Entry: "check_entity_xml", Positive: true}, "xml", []byte(golden))

	c = newCase("RL-04", "order-and-name-shuffle", []string{"T3"}, "")
	gl := strings.Split(golden, "\n")
	swapped := append([]string{}, gl...)
	swapped[2], swapped[3] = gl[3], gl[2]
	c.add(Variant{Name: "guid_parent_guid_swapped", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature"}, "xml",
		[]byte(strings.Join(swapped, "\n")))
	renamed := append([]string{}, gl...)
	renamed[4] = strings.Replace(strings.Replace(gl[4], "<text>", "<created_at>", 1), "</text>", "</created_at>", 1)
	renamed[5] = strings.Replace(strings.Replace(gl[5], "<created_at>", "<text>", 1), "</created_at>", "</text>", 1)
	c.add(Variant{Name: "text_created_at_renamed", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature",
		SpecExpected: "ErrValidation (typed parse): by default, as in the reference, the unparsable created_at is read as no value and the signature, computed over normalised values, fails"}, "xml",
		[]byte(strings.Join(renamed, "\n")))
	c.add(Variant{Name: "text_created_at_renamed_strict", File: "input.text_created_at_renamed.xml", Entry: "check_entity_xml", Options: []string{"strict_values"},
		ExpectCategory: "validation", ExpectSentinel: "entities.ErrValidation", Notes: "entities.Options.StrictValues: the typed parse refuses it first"}, "", nil)
	c.add(Variant{Name: "control_golden", Entry: "check_entity_xml", Positive: true}, "xml", []byte(golden))

	golden2 := string(readVector(t, "relayable_xml/comment_extra_elements.xml"))
	c = newCase("RL-05", "unknown-element-injection", []string{"T2"}, "Golden vector #2: the reference's relayable_xml/comment_extra_elements.xml (unknown new_property and rating).")
	c.add(Variant{Name: "evil_added_after_signing", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature"}, "xml",
		[]byte(strings.Replace(golden, "  <author_signature>", "  <evil>x</evil>\n  <author_signature>", 1)))
	c.add(Variant{Name: "new_property_removed", Entry: "check_entity_xml", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature"}, "xml",
		[]byte(strings.Replace(golden2, "  <new_property>a value from the future</new_property>\n", "", 1)))
	c.add(Variant{Name: "control_golden2_intact", Entry: "check_entity_xml", Positive: true}, "xml", []byte(golden2))
	c.add(Variant{Name: "control_extra_x_signature", Entry: "check_entity_xml", Positive: true, Notes: "elements whose name contains signature are excluded from the signed string"}, "xml",
		[]byte(strings.Replace(golden, "  <author_signature>", "  <x_signature>whatever</x_signature>\n  <author_signature>", 1)))

	c = newCase("RL-06", "duplicate-property", []string{"T9"},
		"The plan expects ErrDuplicateElement; the reference vector entity_xml/status_message_duplicate_element is valid (the first occurrence wins). The vector wins: the SDK accepts the input, the attacker's second <text> is dropped and never reaches the application (must_not_contain).")
	dup := strings.Replace(golden, "  <created_at>", "  <text>attacker text</text>\n  <created_at>", 1)
	c.add(Variant{Name: "text_twice", Entry: "check_entity_xml", Positive: true,
		SpecExpected: "ErrDuplicateElement", MustNotContain: "attacker text"}, "xml", []byte(dup))
	c.add(Variant{Name: "text_twice_relayed", Entry: "receive_public", Sender: bob, Signer: bob, Positive: true, ExpectStatus: 202,
		SpecExpected: "ErrDuplicateElement", MustNotContain: "attacker text"}, "xml", signed(t, []byte(dup), bob, bob))

	// ---- entities ----
	c = newCase("ET-01", "author-spoof", []string{"T1"}, "dave plays eve.")
	c.add(Variant{Name: "status_message_of_dave_by_alice", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, statusMessage(dave, "e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7e7", "spoofed", true), alice, alice))
	c.add(Variant{Name: "profile_of_dave_by_alice", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, []byte("<profile>\n  <author>"+dave+"</author>\n  <first_name>Eve</first_name>\n  <public>true</public>\n</profile>"), alice, alice))
	photo := strings.Replace(string(readVector(t, "entity_xml/photo_0.xml")), alice, dave, 1)
	c.add(Variant{Name: "photo_of_dave_by_alice", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, []byte(photo), alice, alice))
	c.add(Variant{Name: "control_status_message_of_alice", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202}, "xml", []byte(good))

	c = newCase("ET-02", "retraction-abuse", []string{"T15"}, "The plan's ErrTargetNotFound is salmon.ErrRelatedNotFound (category related_entity_not_found, final here because the store answered not found). Not replayed: a third party retracting a contact (the reference manifest holds no contact to retract).")
	retraction := func(author, guid, typ string) []byte {
		return []byte("<retraction>\n  <author>" + author + "</author>\n  <target_guid>" + guid + "</target_guid>\n  <target_type>" + typ + "</target_type>\n</retraction>")
	}
	c.add(Variant{Name: "alice_retracts_bobs_post", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, retraction(alice, remotePostBob, "Post"), alice, alice))
	c.add(Variant{Name: "dave_retracts_alices_post", Entry: "receive_public", Sender: dave, Signer: dave, ExpectCategory: "invalid_sender", ExpectSentinel: "salmon.ErrInvalidSender", ExpectStatus: 202},
		"xml", signed(t, retraction(dave, remotePostAl, "Post"), dave, dave))
	c.add(Variant{Name: "unknown_target", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "related_entity_not_found", ExpectSentinel: "salmon.ErrRelatedNotFound", ExpectStatus: 202},
		"xml", signed(t, retraction(alice, "ffffffffffffffffffffffffffffffff", "Post"), alice, alice))
	c.add(Variant{Name: "control_alice_retracts_own_post", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202},
		"xml", signed(t, retraction(alice, remotePostAl, "Post"), alice, alice))

	c = newCase("ET-03", "not-public", []string{"T14"}, "")
	c.add(Variant{Name: "private_status_message", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "not_public", ExpectSentinel: "salmon.ErrNotPublic", ExpectStatus: 202},
		"xml", signed(t, statusMessage(alice, guidA, "not public "+plaintextMarker, false), alice, alice))
	c.add(Variant{Name: "private_profile_with_bio", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "not_public", ExpectSentinel: "salmon.ErrNotPublic", ExpectStatus: 202},
		"xml", signed(t, []byte("<profile>\n  <author>"+alice+"</author>\n  <first_name>Alice</first_name>\n  <bio>secret bio</bio>\n  <public>false</public>\n</profile>"), alice, alice))
	c.add(Variant{Name: "control_private_profile_names_only", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202},
		"xml", signed(t, []byte("<profile>\n  <author>"+alice+"</author>\n  <first_name>Alice</first_name>\n  <last_name>Liddell</last_name>\n  <public>false</public>\n</profile>"), alice, alice))

	c = newCase("ET-04", "guid-hijack-and-replay", []string{"T12", "T13"},
		"GUID idempotency needs the pod's store: the SDK's Receiver knows no stored GUIDs, so these inputs pass it (deferred_to pod) and are kept here for the pod's corpus (PD-*).")
	c.add(Variant{Name: "alice_reuses_bobs_post_guid", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202, DeferredTo: "pod",
		SpecExpected: "ErrInvalidAuthor, nothing changed"}, "xml", signed(t, statusMessage(alice, remotePostBob, "hijack", true), alice, alice))
	c.add(Variant{Name: "old_profile_replayed", Entry: "receive_public", Sender: alice, Signer: alice, Positive: true, ExpectStatus: 202, DeferredTo: "pod",
		SpecExpected: "no-op (edited_at older than stored)"}, "xml",
		signed(t, []byte("<profile>\n  <author>"+alice+"</author>\n  <edited_at>2001-01-01T00:00:00Z</edited_at>\n  <first_name>Old</first_name>\n  <public>true</public>\n</profile>"), alice, alice))

	c = newCase("ET-05", "entity-name", nil,
		"The plan's ErrInvalidEntityName / ErrUnknownEntity are entities.ErrUnknownEntity (category unknown_entity) or entities.ErrMalformed for names XML cannot carry; ErrLegacyDisabled for the XML wrapper is unknown_entity (reference vector legacy_wrapped_payload). The fetch path case goes through salmon.FetchHandler.")
	for _, r := range []struct{ name, root, cat, sentinel string }{
		{"Status_Message", "Status_Message", "unknown_entity", "entities.ErrUnknownEntity"},
		{"status-message", "status-message", "unknown_entity", "entities.ErrUnknownEntity"},
		{"te5t", "te5t", "unknown_entity", "entities.ErrUnknownEntity"},
		{"dotdot_slash_x", "../x", "malformed", "entities.ErrMalformed"},
		{"foo_bar", "foo_bar", "unknown_entity", "entities.ErrUnknownEntity"},
	} {
		p := strings.NewReplacer("<status_message>", "<"+r.root+">", "</status_message>", "</"+r.root+">").Replace(string(basic))
		c.add(Variant{Name: r.name, Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: r.cat, ExpectSentinel: r.sentinel, ExpectStatus: 202}, "xml", signed(t, []byte(p), alice, alice))
	}
	c.add(Variant{Name: "xml_wrapper_legacy_off", Entry: "receive_public", Sender: alice, Signer: alice, ExpectCategory: "unknown_entity", ExpectSentinel: "entities.ErrUnknownEntity", ExpectStatus: 202, SpecExpected: "ErrLegacyDisabled"},
		"xml", signed(t, []byte("<XML>\n  <post>\n"+string(basic)+"\n  </post>\n</XML>"), alice, alice))
	c.add(pubPos("control_status_message", alice, alice), "xml", []byte(good))
	c.add(Variant{Name: "fetch_path_Post_encoded_dotdot", Entry: "fetch_handler", ExpectStatus: 404}, "txt", []byte("/fetch/Post%2F..%2F..%2Fetc%2Fpasswd/0123456789abcdef"))
	c.add(Variant{Name: "fetch_path_unknown_type", Entry: "fetch_handler", ExpectStatus: 404}, "txt", []byte("/fetch/unknown/0123456789abcdef"))
	c.add(Variant{Name: "control_fetch_path", Entry: "fetch_handler", Positive: true, ExpectStatus: 200}, "txt", []byte("/fetch/post/"+guidA))

	c = newCase("ET-06", "field-validation-boundaries", []string{"T3", "T22"}, "Entry check_entity_xml: entities.ParseXML, then salmon.Receiver.Check without sender.")
	sm := func(author, guid, text string) []byte { return statusMessage(author, guid, text, true) }
	longID := func(n int) string { return strings.Repeat("a", n-len("@pod-a.example.org")) + "@pod-a.example.org" }
	type ev struct {
		name    string
		in      []byte
		ok      bool
		note    string
		spec    string
		mustNot string
		strict  bool
	}
	const refGrammar = "accepted: the reference's diaspora* ID rule (DF Validation::Rule::DiasporaId) allows a trailing dot in the host and bracketed IPv6 literals"
	const refLenient = "accepted by default as the reference does (an unparsable typed value is read as no value); refused with entities.Options.StrictValues (variant _strict)"
	for _, e := range []ev{
		{"guid_15", sm(alice, strings.Repeat("a", 15), "x"), false, "", "", "", false},
		{"guid_16", sm(alice, strings.Repeat("a", 16), "x"), true, "", "", "", false},
		{"guid_255", sm(alice, strings.Repeat("a", 255), "x"), true, "", "", "", false},
		{"guid_256", sm(alice, strings.Repeat("a", 256), "x"), false, "", "", "", false},
		{"guid_semicolon", sm(alice, "aaaaaaaa;aaaaaaaaaa", "x"), false, "", "", "", false},
		{"id_255", sm(longID(255), guidA, "x"), true, "", "", "", false},
		{"id_256", sm(longID(256), guidA, "x"), false, "", "", "", false},
		{"id_uppercase", sm("Alice@pod-a.example.org", guidA, "x"), false, "", "", "", false},
		{"id_trailing_dot", sm("alice@pod-a.example.org.", guidA, "x"), true, refGrammar, "ErrValidation", "", false},
		{"id_ipv6_literal", sm("alice@[::1]", guidA, "x"), true, refGrammar, "ErrValidation", "", false},
		{"text_65535", sm(alice, guidA, strings.Repeat("x", 65535)), true, "", "", "", false},
		{"text_65536", sm(alice, guidA, strings.Repeat("x", 65536)), false, "", "", "", false},
		{"profile_6_tags", []byte("<profile>\n  <author>" + alice + "</author>\n  <tag_string>#a #b #c #d #e #f</tag_string>\n</profile>"), false, "", "", "", false},
		{"birthday_2023_02_30", []byte("<profile>\n  <author>" + alice + "</author>\n  <birthday>2023-02-30</birthday>\n</profile>"), false, "", "", "", false},
		{"author_and_diaspora_id_alias", []byte("<status_message>\n  <author>" + alice + "</author>\n  <diaspora_handle>" + dave + "</diaspora_handle>\n  <guid>" + guidA + "</guid>\n  <public>true</public>\n  <text>x</text>\n</status_message>"), true, "accepted: without the legacy vocabulary diaspora_handle is an unknown element; author is the only author", "ErrValidation", dave, false},
		{"timestamp_yesterday", []byte(strings.Replace(string(sm(alice, guidA, "x")), "2023-04-05T06:07:08Z", "yesterday", 1)), true, refLenient, "ErrValidation", "", true},
		{"boolean_maybe", []byte(strings.Replace(string(sm(alice, guidA, "x")), "<public>true</public>", "<public>maybe</public>", 1)), false, "", "", "", false},
		{"integer_1e9", []byte(strings.Replace(string(readVector(t, "entity_xml/photo_0.xml")), "<height>768</height>", "<height>1e9</height>", 1)), true, refLenient, "ErrValidation", "", true},
		{"integer_minus_1", []byte(strings.Replace(string(readVector(t, "entity_xml/photo_0.xml")), "<height>768</height>", "<height>-1</height>", 1)), true, refLenient, "ErrValidation", "", true},
	} {
		v := Variant{Name: e.name, Entry: "check_entity_xml", Positive: e.ok, Notes: e.note, SpecExpected: e.spec, MustNotContain: e.mustNot}
		if !e.ok {
			v.ExpectCategory, v.ExpectSentinel = "validation", "entities.ErrValidation"
		}
		c.add(v, "xml", e.in)
		if e.strict {
			c.add(Variant{Name: e.name + "_strict", File: "input." + e.name + ".xml", Entry: "check_entity_xml", Options: []string{"strict_values"},
				ExpectCategory: "validation", ExpectSentinel: "entities.ErrValidation", Notes: "entities.Options.StrictValues"}, "", nil)
		}
	}
	c.add(Variant{Name: "author_and_diaspora_handle_legacy", File: "input.author_and_diaspora_id_alias.xml", Entry: "check_entity_xml", Options: []string{"legacy"},
		Positive: true, MustNotContain: dave, Notes: "with the legacy vocabulary on, author wins over its alias diaspora_handle"}, "", nil)

	c = newCase("ET-07", "nested-authority", []string{"T16"}, "Reference vectors (entity_xml/*) for the nested photo, conversation message, participation, reshare and migration. The second migration of one identity needs the pod's store (not here).")
	for _, e := range []struct{ name, file, cat, sentinel string }{
		{"photo_by_other_author", "entity_xml/status_message_nested_photo_other_author.xml", "validation", "entities.ErrValidation"},
		{"message_by_other_author", "entity_xml/conversation_message_other_author.xml", "validation", "entities.ErrValidation"},
		{"participation_parent_not_local", "entity_xml/participation_parent_not_local.xml", "parent_not_local", "salmon.ErrParentNotLocal"},
		{"reshare_root_author_mismatch", "entity_xml/reshare_root_author_mismatch.xml", "validation", ""},
		{"migration_wrong_signer", "entity_xml/account_migration_bad_signature.xml", "invalid_entity_signature", "entities.ErrInvalidSignature"},
	} {
		c.add(Variant{Name: e.name, Entry: "check_entity_xml", ExpectCategory: e.cat, ExpectSentinel: e.sentinel}, "xml", readVector(t, e.file))
	}
	c.add(Variant{Name: "control_migration", Entry: "check_entity_xml", Positive: true}, "xml", readVector(t, "entity_xml/account_migration.xml"))

	gj := string(readVector(t, "relayable_json/comment.json"))
	c = newCase("ET-08", "json-entity-ambiguity", []string{"T9"},
		"The plan's ErrDeserialization / ErrJSONLimits / ErrInvalidRootNode are entities.ErrMalformed (ErrLimit for the depth), category malformed. Base: the reference's relayable_json/comment.json.")
	jsonNeg := func(name, body, cat, sentinel string) {
		c.add(Variant{Name: name, Entry: "parse_entity_json", ExpectCategory: cat, ExpectSentinel: sentinel}, "json", []byte(body))
	}
	jsonNeg("duplicate_key", strings.Replace(gj, `"entity_type":"comment"`, `"entity_type":"comment","entity_type":"comment"`, 1), "malformed", "entities.ErrMalformed")
	c.add(Variant{Name: "case_variant_key", Entry: "parse_entity_json", Positive: true, SpecExpected: "ErrDeserialization",
		Notes: "accepted as the reference does: JSON keys are case-sensitive, Entity_Type is an unknown key and ignored (no case-insensitive matching anywhere)"}, "json", []byte(strings.Replace(gj, `"entity_type":"comment"`, `"entity_type":"comment","Entity_Type":"like"`, 1)))
	c.add(Variant{Name: "property_order_duplicate", Entry: "parse_entity_json", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature",
		SpecExpected: "ErrDeserialization", Notes: "read, and a repeated name is signed as often as it appears, as the reference signs it (see docs/conformance.md, strict-property-order): the signature made over the order without the repetition no longer verifies"}, "json", []byte(strings.Replace(gj, `"property_order":["author",`, `"property_order":["author","author",`, 1)))
	c.add(Variant{Name: "property_order_unknown_name", Entry: "parse_entity_json", ExpectCategory: "invalid_entity_signature", ExpectSentinel: "entities.ErrInvalidSignature",
		SpecExpected: "ErrDeserialization"}, "json", []byte(strings.Replace(gj, `"property_order":["author",`, `"property_order":["nonexistent","author",`, 1)))
	jsonNeg("property_order_missing_name", strings.Replace(gj, `"property_order":["author",`, `"property_order":[`, 1), "malformed", "entities.ErrMalformed")
	jsonNeg("entity_type_not_class", strings.Replace(gj, `"entity_type":"comment"`, `"entity_type":"like"`, 1), "validation", "entities.ErrValidation")
	jsonNeg("depth_10001", `{"entity_type":"comment","entity_data":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+`}`, "malformed", "entities.ErrLimit")
	c.add(Variant{Name: "control_comment", Entry: "parse_entity_json", Positive: true}, "json", []byte(gj))

	c = newCase("ET-09", "text-hazards", []string{"T8", "T26"},
		"The plan's ErrXMLSyntax / ErrXMLLimits are entities.ErrMalformed / entities.ErrLimit (category malformed).")
	c.add(Variant{Name: "raw_u0001", Entry: "check_entity_xml", ExpectCategory: "malformed", ExpectSentinel: "entities.ErrMalformed"}, "xml", sm(alice, guidA, "bell\x01"))
	c.add(Variant{Name: "charref_1", Entry: "check_entity_xml", ExpectCategory: "malformed", ExpectSentinel: "entities.ErrMalformed"}, "xml", sm(alice, guidA, "bell&#1;"))
	c.add(Variant{Name: "invalid_utf8", Entry: "check_entity_xml", ExpectCategory: "malformed", ExpectSentinel: "entities.ErrMalformed"}, "xml", sm(alice, guidA, "bad \xff\xfe utf8"))
	c.add(Variant{Name: "mixed_content_in_comment", Entry: "check_entity_xml", Positive: true, SpecExpected: "ErrXMLSyntax", MustNotContain: "stray text",
		Notes: "accepted as the reference does (it reads element children only); the stray text is in no property, and a relay re-emits the received XML unchanged"}, "xml",
		[]byte(strings.Replace(golden, "<comment>\n", "<comment>\n  stray text\n", 1)))
	var photos strings.Builder
	for i := 0; i < 65; i++ {
		p := strings.Replace(string(readVector(t, "entity_xml/photo_0.xml")), "accbbd065cfa2f34015026ccf9d67e58</guid>", fmt.Sprintf("accbbd065cfa2f34015026ccf9d6%04d</guid>", i), 1)
		p = strings.Replace(p, "9c0ea7d6db5a7e0660d636edb0460414", guidA, 1)
		photos.WriteString(p + "\n")
	}
	c.add(Variant{Name: "photos_65", Entry: "check_entity_xml", ExpectCategory: "malformed", ExpectSentinel: "entities.ErrLimit"}, "xml",
		[]byte(strings.Replace(string(sm(alice, guidA, "many photos")), "</status_message>", photos.String()+"</status_message>", 1)))
	cr := signedComment(t, comment(alice, "c0ffee00c0ffee00c0ffee00c0ffee05", remotePostBob, "line one\r\nline two"), alice)
	if !bytes.Contains(cr, []byte("&#13;")) && !bytes.Contains(cr, []byte("&#xD;")) {
		cr = bytes.Replace(cr, []byte("line one\r\n"), []byte("line one&#13;\n"), 1)
	}
	c.add(Variant{Name: "control_cr_charref_signed", Entry: "check_entity_xml", Positive: true}, "xml", cr)

	buildFetchCases(t, newCase)
	buildDiscoveryCases(t, newCase)
	return cases
}
