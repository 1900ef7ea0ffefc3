package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
)

// runExplain runs explain with args and returns exit status, stdout and
// stderr.
func runExplain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := explain(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// fact returns the text of the first output line labelled label, and
// whether there is one.
func fact(out, label string) (string, bool) {
	for l := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(strings.TrimSuffix(l, "\n"), label+": "); ok {
			return v, true
		}
	}
	return "", false
}

// matcher is a condition on a fact, with its description.
type matcher struct {
	ok   func(string) bool
	desc string
}

// wantFact checks that the line labelled label satisfies m.
func wantFact(t *testing.T, out, label string, m matcher) {
	t.Helper()
	got, found := fact(out, label)
	if !found {
		t.Errorf("no %q line in\n%s", label, out)
		return
	}
	if !m.ok(got) {
		t.Errorf("%s: %q, want %s\nfull output:\n%s", label, got, m.desc, out)
	}
}

func equals(want string) matcher {
	return matcher{func(s string) bool { return s == want }, "exactly " + want}
}

func contains(want string) matcher {
	return matcher{func(s string) bool { return strings.Contains(s, want) }, "containing " + want}
}

func prefix(want string) matcher {
	return matcher{func(s string) bool { return strings.HasPrefix(s, want) }, "starting with " + want}
}

var (
	alicePub = "--pub=alice@pod-a.example.org=" + ref + "keys/alice.pub.pem"
	bobPub   = "--pub=bob@pod-b.example.net=" + ref + "keys/bob.pub.pem"
	bobKey   = "--key=" + ref + "keys/bob.pem"
)

// rawData returns the me:data text of an envelope file, read with a
// regular expression so as not to share code with explain.
func rawData(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<me:data[^>]*>([^<]*)</me:data>`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no me:data in %s", file)
	}
	return string(m[1])
}

// expectedEntity returns the expected.entity of a manifest vector.
func expectedEntity(t *testing.T, id string) map[string]any {
	t.Helper()
	m, err := vectors.Load(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Vectors {
		if v.ID == id {
			var e map[string]any
			if err := json.Unmarshal(v.Expected.Entity, &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
	}
	t.Fatalf("no vector %s", id)
	return nil
}

// signatureString builds the relayable signature string from a manifest
// view: values in property_order, from properties or additional_data.
func signatureString(view map[string]any) (order, str string) {
	props := view["properties"].(map[string]any)
	add, _ := view["additional_data"].(map[string]any)
	var names, values []string
	for _, n := range view["property_order"].([]any) {
		name := n.(string)
		names = append(names, name)
		v, ok := props[name]
		if !ok {
			v = add[name]
		}
		s, _ := v.(string)
		values = append(values, s)
	}
	return strings.Join(names, ";"), strings.Join(values, ";")
}

func TestExplainPublicEnvelope(t *testing.T) {
	file := ref + "magic_envelope_public/status_message_basic.xml"
	code, out, stderr := runExplain(t, "", alicePub, file)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s\n%s", code, stderr, out)
	}
	wantFact(t, out, "format", equals("magic_envelope (public delivery, https://diaspora.github.io/diaspora_federation/federation/magicsig.html)"))
	// The canonical envelope: me:data is padded base64url (or needs no
	// padding), and the base string is it plus the three constants.
	wantFact(t, out, "envelope", prefix("me:data "))
	wantFact(t, out, "envelope", contains("base64url alphabet"))
	wantFact(t, out, "sender (key_id)", prefix("alice@pod-a.example.org (key_id "))
	wantFact(t, out, "signature base string", equals(rawData(t, file)+".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="))
	wantFact(t, out, "signature", equals("256 bytes (2048-bit key), base64url alphabet, padded — VALID with --pub alice@pod-a.example.org ("+ref+"keys/alice.pub.pem, 2048-bit RSA)"))
	wantFact(t, out, "entity", equals("status_message"))
	wantFact(t, out, "verdict", equals("accepted"))
	if _, ok := fact(out, "note"); ok {
		t.Errorf("unexpected note for a canonical envelope:\n%s", out)
	}
	if strings.Count(out, "\n") != len(strings.Split(strings.TrimSuffix(out, "\n"), "\n")) {
		t.Errorf("output does not end with a newline")
	}
}

func TestExplainRejected(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		verdict string // prefix of the verdict line
		facts   map[string]string
	}{
		{"tampered", []string{alicePub, ref + "magic_envelope_public/tampered_data.xml"},
			"rejected (invalid_envelope_signature): ", map[string]string{"signature": "— INVALID with --pub alice@pod-a.example.org"}},
		{"no key", []string{ref + "magic_envelope_public/status_message_basic.xml"},
			"rejected (sender_key_not_found): ", map[string]string{"signature": "NOT CHECKED: no --pub for alice@pod-a.example.org"}},
		{"wrong alg", []string{alicePub, ref + "magic_envelope_public/wrong_algorithm.xml"},
			"rejected (invalid_envelope): ", map[string]string{"parameters": `alg="RSA-SHA1"`}},
		{"broken base64", []string{alicePub, ref + "magic_envelope_public/broken_base64_data.xml"},
			"rejected (malformed): ", nil},
		{"unpadded subject", []string{alicePub, ref + "magic_envelope_public/signature_over_unpadded_subject.xml"},
			"rejected (invalid_envelope_signature): ", nil},
		{"bad author_signature", []string{alicePub, bobPub, ref + "magic_envelope_public/comment_relayed_bad_author_signature.xml"},
			"rejected (invalid_entity_signature): ", map[string]string{"author_signature": "invalid with --pub alice@pod-a.example.org", "signature": "VALID with --pub bob@pod-b.example.net"}},
		{"legacy slap without --legacy", []string{alicePub, ref + "legacy_slap_public/status_message_legacy_payload.xml"},
			"rejected (invalid_envelope): ", map[string]string{"format": "legacy_slap"}},
		{"wrong recipient key", []string{alicePub, bobKey, ref + "encrypted_magic_envelope_private/wrong_aes_key.json"},
			"rejected (decrypt): ", map[string]string{"decryption": "FAILED"}},
		{"invalid bare entity", []string{ref + "entity_xml/status_message_missing_guid.xml"},
			"rejected (validation): ", map[string]string{"format": "entity_xml"}},
		{"bare relayable, bad author_signature", []string{alicePub, ref + "relayable_xml/comment_reordered_after_signing.xml"},
			"rejected (invalid_entity_signature): ", map[string]string{"author_signature": "invalid with --pub alice@pod-a.example.org"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(filepath.FromSlash(tt.args[len(tt.args)-1])); err != nil {
				t.Fatal(err)
			}
			code, out, stderr := runExplain(t, "", tt.args...)
			if code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s\n%s", code, stderr, out)
			}
			wantFact(t, out, "verdict", prefix(tt.verdict))
			for label, want := range tt.facts {
				wantFact(t, out, label, contains(want))
			}
			if !strings.HasPrefix(lastLine(out), "verdict: ") {
				t.Errorf("last line %q is not the verdict", lastLine(out))
			}
		})
	}
}

func lastLine(out string) string {
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestExplainEncrypted(t *testing.T) {
	file := ref + "encrypted_magic_envelope_private/contact.json"
	code, out, stderr := runExplain(t, "", alicePub, bobKey, file)
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s\n%s", code, stderr, out)
	}
	wantFact(t, out, "format", equals("encrypted_magic_envelope (private delivery, https://diaspora.github.io/diaspora_federation/federation/encryption.html)"))
	wantFact(t, out, "aes_key", contains("standard alphabet, padded"))
	wantFact(t, out, "recipient key", equals("--key "+ref+"keys/bob.pem (2048-bit RSA)"))
	wantFact(t, out, "decryption", prefix("ok: "))
	wantFact(t, out, "signature base string", contains(".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="))
	wantFact(t, out, "signature", contains("VALID with --pub alice@pod-a.example.org"))
	wantFact(t, out, "entity", equals("contact"))
	wantFact(t, out, "verdict", equals("accepted"))

	// Without the recipient's key nothing can be judged: a usage error,
	// as with decode.
	code, out, stderr = runExplain(t, "", alicePub, file)
	if code != 2 || !strings.Contains(stderr, "--key") {
		t.Errorf("without --key: exit %d, stderr %q, want 2 and a hint", code, stderr)
	}
	wantFact(t, out, "decryption", prefix("not attempted"))
	wantFact(t, out, "verdict", prefix("not judged"))
}

func TestExplainRelayableEnvelope(t *testing.T) {
	id := "magic_envelope_public/comment_extra_elements_relayed"
	code, out, stderr := runExplain(t, "", alicePub, bobPub, ref+id+".xml")
	if code != 0 {
		t.Fatalf("exit %d, want 0; stderr: %s\n%s", code, stderr, out)
	}
	order, str := signatureString(expectedEntity(t, id))
	wantFact(t, out, "entity", equals("comment"))
	wantFact(t, out, "relayable signature order", equals(order))
	wantFact(t, out, "relayable signature string", equals(str))
	wantFact(t, out, "author_signature", prefix("valid with --pub alice@pod-a.example.org"))
	wantFact(t, out, "author_signature", contains("standard alphabet, padded"))
	wantFact(t, out, "verdict", equals("accepted"))
}

func TestExplainBareEntity(t *testing.T) {
	t.Run("relayable xml, no key", func(t *testing.T) {
		id := "relayable_xml/comment_extra_elements"
		code, out, stderr := runExplain(t, "", ref+id+".xml")
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s\n%s", code, stderr, out)
		}
		order, str := signatureString(expectedEntity(t, id))
		wantFact(t, out, "format", equals("entity_xml (bare entity, https://diaspora.github.io/diaspora_federation/federation/xml_serialization.html)"))
		wantFact(t, out, "relayable signature order", equals(order))
		wantFact(t, out, "relayable signature string", equals(str))
		wantFact(t, out, "author_signature", prefix("not checked (no key for alice@pod-a.example.org"))
		wantFact(t, out, "verdict", equals("accepted"))
	})
	t.Run("relayable json, with key", func(t *testing.T) {
		id := "relayable_json/comment"
		code, out, stderr := runExplain(t, "", alicePub, ref+id+".json")
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s\n%s", code, stderr, out)
		}
		order, _ := signatureString(expectedEntity(t, id))
		wantFact(t, out, "format", equals("entity_json (bare entity, https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json)"))
		wantFact(t, out, "relayable signature order", equals(order))
		wantFact(t, out, "author_signature", prefix("valid with"))
	})
	t.Run("stdin", func(t *testing.T) {
		b, err := os.ReadFile(filepath.FromSlash(ref + "entity_xml/status_message_basic.xml"))
		if err != nil {
			t.Fatal(err)
		}
		code, out, _ := runExplain(t, string(b), "-")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		wantFact(t, out, "entity", equals("status_message"))
		wantFact(t, out, "author", equals("alice@pod-a.example.org"))
		if _, ok := fact(out, "relayable signature order"); ok {
			t.Errorf("a status message has no relayable signature:\n%s", out)
		}
	})
	t.Run("account migration", func(t *testing.T) {
		code, out, _ := runExplain(t, "", "--pub=alice@pod-new.example.org="+ref+"keys/alice_new.pub.pem", ref+"entity_xml/account_migration.xml")
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, out)
		}
		wantFact(t, out, "account_migration signed text", equals("AccountMigration:alice@pod-a.example.org:alice@pod-new.example.org"))
		wantFact(t, out, "account_migration signature", prefix("valid with --pub alice@pod-new.example.org"))
	})
}

func TestExplainNonCanonical(t *testing.T) {
	file := ref + "magic_envelope_public/standard_base64_alphabet_unpadded.xml"
	code, out, stderr := runExplain(t, "", alicePub, file)
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s\n%s", code, stderr, out)
	}
	wantFact(t, out, "envelope", contains("standard alphabet, unpadded"))
	wantFact(t, out, "note", contains("not the canonical padded base64url"))
	base, _ := fact(out, "signature base string")
	if data := rawData(t, file); strings.HasPrefix(base, data+".") {
		t.Errorf("base string uses the received me:data %q, want its canonical re-encoding", data)
	}
}

func TestExplainLegacySlap(t *testing.T) {
	code, out, stderr := runExplain(t, "", alicePub, "--legacy", ref+"legacy_slap_public/status_message_legacy_payload.xml")
	if code != 0 {
		t.Fatalf("exit %d; stderr: %s\n%s", code, stderr, out)
	}
	wantFact(t, out, "format", equals("legacy_slap (pre-2017 Salmon slap, no longer sent or received by diaspora*)"))
	wantFact(t, out, "sender (header)", prefix("alice@pod-a.example.org"))
	wantFact(t, out, "signature", contains("VALID"))
	wantFact(t, out, "entity", equals("status_message"))
	wantFact(t, out, "verdict", equals("accepted"))
}

// TestExplainVectors runs explain on every envelope and bare entity
// vector of the reference set (public envelopes, encrypted envelopes with
// the recipient's key, entity and relayable XML and JSON), with the keys
// the receiver knows. Valid vectors must be accepted. Invalid ones must be
// rejected with the manifest's category when it is one explain can see;
// the receive rules that need the receiving pod's data (parents, the
// public route, sender rules, unknown authors' keys) belong to the
// Receiver, so for those only a well-formed verdict is required. The three
// vectors whose verdict explain cannot reach are listed in exceptions,
// with what is asserted instead.
func TestExplainVectors(t *testing.T) {
	m, err := vectors.Load(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pubs []string
	for id, p := range m.People {
		if p.KnownToReceiver {
			pubs = append(pubs, "--pub="+id+"="+m.Path(p.PublicKey))
		}
	}
	seen := map[string]bool{"malformed": true, "invalid_envelope": true, "invalid_envelope_signature": true,
		"sender_key_not_found": true, "unknown_entity": true, "validation": true, "decrypt": true,
		"invalid_entity_signature": true}
	type exception struct {
		label string
		want  matcher
	}
	exceptions := map[string]exception{
		// explain, like decode, reads a body that is no envelope as a
		// bare entity; only the receive route refuses it.
		"magic_envelope_public/not_an_envelope": {"format", prefix("entity_xml")},
		// Whether a relayable needs author_signature depends on its root
		// author, which explain does not know: it says the signature is
		// absent and when that is fine.
		"relayable_xml/comment_missing_author_signature": {"author_signature", prefix("absent (needed unless")},
		// The root author a reshare names is checked against the one the
		// receiving pod knows (a related entity): a receive rule.
		"entity_xml/reshare_root_author_mismatch": {"entity", equals("reshare")},
	}
	n := 0
	for _, kind := range []string{"magic_envelope_public", "encrypted_magic_envelope_private", "entity_xml", "entity_json", "relayable_xml", "relayable_json"} {
		for _, v := range m.Kind(kind) {
			n++
			t.Run(v.ID, func(t *testing.T) {
				args := pubs
				if v.Recipient != "" {
					args = append(args[:len(args):len(args)], "--key="+m.Path(m.People[v.Recipient].PrivateKey))
				}
				code, out, stderr := runExplain(t, "", append(args[:len(args):len(args)], m.Path(v.File))...)
				if code == 2 || !strings.HasPrefix(lastLine(out), "verdict: ") {
					t.Fatalf("exit %d, stderr %q, output:\n%s", code, stderr, out)
				}
				verdict, _ := fact(out, "verdict")
				if ex, ok := exceptions[v.ID]; ok {
					wantFact(t, out, ex.label, ex.want)
					return
				}
				switch {
				case v.Expected.Valid:
					if code != 0 {
						t.Errorf("verdict %q, want accepted", verdict)
					}
				case seen[v.Expected.ErrorCategory]:
					if want := "rejected (" + v.Expected.ErrorCategory + ")"; !strings.HasPrefix(verdict, want) {
						t.Errorf("verdict %q, want %s", verdict, want)
					}
				}
			})
		}
	}
	if n < 150 {
		t.Errorf("only %d vectors", n)
	}
}

func TestExplainUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"two files", []string{"a", "b"}},
		{"unknown flag", []string{"--nope", "a"}},
		{"bad --pub", []string{"--pub=alice", "a"}},
		{"unreadable --pub", []string{"--pub=alice@pod-a.example.org=/nonexistent.pem", ref + "entity_xml/status_message_basic.xml"}},
		{"public key as --key", []string{"--key=" + ref + "keys/alice.pub.pem", ref + "entity_xml/status_message_basic.xml"}},
		{"missing file", []string{ref + "no/such/file.xml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runExplain(t, "", tt.args...)
			if code != 2 {
				t.Errorf("exit %d, want 2\n%s", code, out)
			}
			if stderr == "" {
				t.Errorf("no message on stderr")
			}
		})
	}
}
