package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

const ref = "../../testdata/vectors/reference/"

func dfed(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDecode(t *testing.T) {
	alice := "--pub=alice@pod-a.example.org=" + ref + "keys/alice.pub.pem"
	bobKey := "--key=" + ref + "keys/bob.pem"
	tests := []struct {
		name     string
		args     []string
		code     int
		format   string
		category string
	}{
		{"public valid", []string{alice, ref + "magic_envelope_public/status_message_basic.xml"}, 0, "magic_envelope", ""},
		{"public tampered", []string{alice, ref + "magic_envelope_public/tampered_data.xml"}, 1, "magic_envelope", "invalid_envelope_signature"},
		{"public no key", []string{ref + "magic_envelope_public/status_message_basic.xml"}, 1, "magic_envelope", "sender_key_not_found"},
		{"public malformed", []string{alice, ref + "magic_envelope_public/broken_base64_data.xml"}, 1, "magic_envelope", "malformed"},
		{"public bad alg", []string{alice, ref + "magic_envelope_public/wrong_algorithm.xml"}, 1, "magic_envelope", "invalid_envelope"},
		{"private valid", []string{alice, bobKey, ref + "encrypted_magic_envelope_private/contact.json"}, 0, "encrypted_magic_envelope", ""},
		{"private wrong key", []string{alice, bobKey, ref + "encrypted_magic_envelope_private/wrong_aes_key.json"}, 1, "encrypted_magic_envelope", "decrypt"},
		{"private broken json", []string{alice, bobKey, ref + "encrypted_magic_envelope_private/broken_json.json"}, 1, "encrypted_magic_envelope", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := dfed(t, "", append([]string{"decode"}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, stderr)
			}
			var res struct {
				Format, Sender, Signature string
				Valid                     bool
				Payload                   *string
				Error                     *struct{ Category, Message string }
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, out)
			}
			if res.Format != tt.format || res.Valid != (tt.code == 0) {
				t.Errorf("format %q valid %v", res.Format, res.Valid)
			}
			if tt.category == "" {
				if res.Error != nil || res.Signature != "valid" || res.Sender != "alice@pod-a.example.org" || res.Payload == nil || !strings.HasPrefix(*res.Payload, "<") {
					t.Errorf("unexpected result %s", out)
				}
			} else if res.Error == nil || res.Error.Category != tt.category {
				t.Errorf("error %+v, want category %s", res.Error, tt.category)
			}
		})
	}
}

func TestDecodeStdin(t *testing.T) {
	body, err := os.ReadFile(filepath.FromSlash(ref + "magic_envelope_public/status_message_4096.xml"))
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := dfed(t, string(body), "decode", "--pub", "carol@pod-c.example.com="+ref+"keys/carol.pub.pem", "-")
	if code != 0 || !strings.Contains(out, `"signature": "valid"`) {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no command":          nil,
		"unknown command":     {"frobnicate"},
		"decode without file": {"decode"},
		"bad --pub":           {"decode", "--pub", "nokey", "x"},
		"missing key file":    {"decode", "--key", "/nonexistent.pem", "x"},
		"missing input":       {"decode", "nonexistent.xml"},
		"weak --pub":          {"decode", "--min-key-bits", "2048", "--pub", "a@b=../../testdata/keys/rsa1024.pub.pem", "x"},
		"encrypted w/o --key": {"decode", ref + "encrypted_magic_envelope_private/contact.json"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, _, stderr := dfed(t, "", args...); code != 2 || stderr == "" {
				t.Errorf("exit %d, stderr %q; want 2 and a message", code, stderr)
			}
		})
	}
	if code, out, _ := dfed(t, "", "help"); code != 0 || !strings.Contains(out, "decode") {
		t.Errorf("help: exit %d %q", code, out)
	}
	// Old 1024-bit keys are accepted by default.
	if code, _, stderr := dfed(t, "", "decode", "--pub", "a@b=../../testdata/keys/rsa1024.pub.pem", ref+"magic_envelope_public/status_message_basic.xml"); code != 1 {
		t.Errorf("exit %d (%s), want 1 (no key for alice)", code, stderr)
	}
}

func TestKeygen(t *testing.T) {
	code, out, stderr := dfed(t, "", "keygen", "--bits", "2048")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	privEnd := strings.Index(out, "-----END RSA PRIVATE KEY-----\n") + len("-----END RSA PRIVATE KEY-----\n")
	priv, err := magicenv.ParsePrivateKey([]byte(out[:privEnd]), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := magicenv.ParsePublicKey([]byte(out[privEnd:]), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !pub.Equal(&priv.PublicKey) || priv.N.BitLen() != 2048 {
		t.Error("public key does not match the private key, or wrong size")
	}
	if code, _, _ := dfed(t, "", "keygen", "--bits", "1024"); code != 2 {
		t.Errorf("keygen --bits 1024: exit %d, want 2", code)
	}
	if code, _, _ := dfed(t, "", "keygen", "extra"); code != 2 {
		t.Errorf("keygen extra: exit %d, want 2", code)
	}
}

func TestDecodeEntityView(t *testing.T) {
	type view struct {
		Format, Sender string
		Valid          bool
		Entity         *struct {
			Type       string
			Properties map[string]any
		}
		Error *struct{ Category string }
	}
	decode := func(args ...string) (int, view) {
		t.Helper()
		code, out, stderr := dfed(t, "", append([]string{"decode"}, args...)...)
		var v view
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("output is not JSON: %v\n%s%s", err, out, stderr)
		}
		return code, v
	}
	code, v := decode("--pub", "alice@pod-a.example.org="+ref+"keys/alice.pub.pem", ref+"magic_envelope_public/status_message_basic.xml")
	if code != 0 || v.Entity == nil || v.Entity.Type != "status_message" || v.Entity.Properties["public"] != true {
		t.Errorf("envelope: exit %d, %+v", code, v)
	}
	code, v = decode(ref + "entity_json/" + firstFile(t, ref+"entity_json"))
	if code != 0 || v.Format != "entity_json" || v.Entity == nil {
		t.Errorf("bare JSON entity: exit %d, %+v", code, v)
	}
	code, v = decode("--pub", "alice@pod-a.example.org="+ref+"keys/alice.pub.pem", ref+"magic_envelope_public/invalid_entity_payload.xml")
	if code != 1 || v.Error == nil || v.Error.Category != "validation" {
		t.Errorf("invalid entity: exit %d, %+v", code, v)
	}
	code, v = decode("--pub", "alice@pod-a.example.org="+ref+"keys/alice.pub.pem", ref+"magic_envelope_public/unknown_entity_payload.xml")
	if code != 1 || v.Error == nil || v.Error.Category != "unknown_entity" {
		t.Errorf("unknown entity: exit %d, %+v", code, v)
	}
	// Legacy payloads need --legacy.
	slap := "--pub=alice@pod-a.example.org=" + ref + "keys/alice.pub.pem"
	if code, v = decode(slap, ref+"magic_envelope_public/legacy_wrapped_payload.xml"); code != 1 || v.Error == nil || v.Error.Category != "unknown_entity" {
		t.Errorf("legacy payload without --legacy: exit %d, %+v", code, v)
	}
	if code, v = decode("--legacy", slap, ref+"magic_envelope_public/legacy_wrapped_payload.xml"); code != 0 || v.Entity == nil {
		t.Errorf("legacy payload with --legacy: exit %d, %+v", code, v)
	}
}

func firstFile(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no files in %s: %v", dir, err)
	}
	return entries[0].Name()
}

// Every discovery vector of the reference set is recognised without
// --kind and judged as the manifest says.
func TestDecodeDiscovery(t *testing.T) {
	b, err := os.ReadFile(ref + "manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Vectors []struct {
			ID, File, Kind string
			Expected       struct {
				Valid         bool
				ErrorCategory string `json:"error_category"`
			}
		}
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range m.Vectors {
		if !discoveryKinds[v.Kind] {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			code, out, _ := dfed(t, "", "decode", ref+v.File)
			var res struct {
				Format string
				Valid  bool
				Entity *struct{ Type string }
				Error  *struct{ Category string }
			}
			if err := json.Unmarshal([]byte(out), &res); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			// A document that is not one at all ("not_json", "not_xrd")
			// cannot be recognised; --kind names it.
			if res.Format != v.Kind {
				code, out, _ = dfed(t, "", "decode", "--kind", v.Kind, ref+v.File)
				res.Error, res.Entity = nil, nil
				if err := json.Unmarshal([]byte(out), &res); err != nil {
					t.Fatal(err)
				}
				if v.Expected.Valid {
					t.Errorf("a valid %s was not recognised", v.Kind)
				}
			}
			if res.Valid != v.Expected.Valid || (code == 0) != v.Expected.Valid {
				t.Fatalf("valid %v (exit %d), want %v\n%s", res.Valid, code, v.Expected.Valid, out)
			}
			if v.Expected.Valid && (res.Entity == nil || res.Entity.Type == "") {
				t.Errorf("no view: %s", out)
			}
			if !v.Expected.Valid && (res.Error == nil || res.Error.Category != v.Expected.ErrorCategory) {
				t.Errorf("error %+v, want %s", res.Error, v.Expected.ErrorCategory)
			}
		})
	}
	if n != 20 {
		t.Errorf("%d discovery vectors, want 20", n)
	}
	if code, _, _ := dfed(t, "", "decode", "--kind", "nonsense", ref+"hcard_html/full.html"); code != 2 {
		t.Errorf("--kind nonsense: exit %d, want 2", code)
	}
}
