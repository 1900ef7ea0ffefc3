package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
)

var keyParser = vectors.MagicenvKeys(nil)

// runEncode runs encode with args and returns exit status, stdout and
// stderr.
func runEncode(t *testing.T, stdin string, args ...string) (int, []byte, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := encode(args, strings.NewReader(stdin), &out, &errOut)
	return code, out.Bytes(), errOut.String()
}

// viewMap returns an entity's neutral view as generic JSON values, the
// form in which the manifest's expected.entity is read.
func viewMap(t *testing.T, e entities.Entity) map[string]any {
	t.Helper()
	b, err := json.Marshal(entities.ViewOf(e))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// signerOf returns who must sign the entity of a view besides the sender:
// a relayable's author, or the identity that is not an AccountMigration's
// author. It returns "" when no entity signature is involved.
func signerOf(view map[string]any) string {
	props, _ := view["properties"].(map[string]any)
	switch view["type"] {
	case "comment", "like", "poll_participation", "event_participation":
		s, _ := props["author"].(string)
		return s
	case "account_migration":
		author, _ := props["author"].(string)
		profile, _ := props["profile"].(map[string]any)
		pprops, _ := profile["properties"].(map[string]any)
		newID, _ := pprops["author"].(string)
		if author != newID {
			return newID
		}
		old, _ := props["old_identity"].(string)
		return old
	}
	return ""
}

// checkSignature checks the entity signature of a re-encoded entity: it
// must verify with the signer's key and, as PKCS#1 v1.5 signatures are
// deterministic and the reference signed the same string with the same
// key, equal the reference's whenever the vector carried one. It then
// removes the signature from both views so that the rest can be compared.
func checkSignature(t *testing.T, m *vectors.Manifest, e entities.Entity, signer string, got, want map[string]any) {
	t.Helper()
	if signer == "" {
		return
	}
	pub, _, err := m.PublicKey(keyParser, signer)
	if err != nil {
		t.Fatal(err)
	}
	name := "author_signature"
	switch x := e.(type) {
	case entities.Relayable:
		if err := x.VerifyAuthorSignature(pub); err != nil {
			t.Errorf("author_signature does not verify with %s's key: %v", signer, err)
		}
	case *entities.AccountMigration:
		name = "signature"
		if err := x.VerifySignature(pub); err != nil {
			t.Errorf("signature does not verify with %s's key: %v", signer, err)
		}
	}
	gp := got["properties"].(map[string]any)
	wp := want["properties"].(map[string]any)
	if ws, ok := wp[name].(string); ok && gp[name] != ws {
		t.Errorf("%s = %v, want the reference's %s (deterministic signature over the same string)", name, gp[name], ws)
	}
	// A vector without author_signature (a comment by its parent's
	// author, which the reference leaves unsigned) gets one: encode
	// always signs relayables, which receivers accept either way.
	delete(gp, name)
	delete(wp, name)
}

// TestEncodeRoundTrip encodes the expected entity of every valid bare
// entity vector of the reference set and decodes the result again: as
// entity XML, entity JSON, a public Magic Envelope and, for a few, an
// encrypted one. The decoded view must equal the reference's view.
//
// Only valid vectors are used: an invalid vector has no expected entity to
// encode. The reference set has no legacy-oracle vectors of these kinds
// (legacy vocabulary only occurs in slaps), so nothing is left out;
// vectors with legacy or odd input (parent_author_signature, boolean
// spellings, non-canonical timestamps, duplicate or unknown elements) are
// included, because their view is canonical and re-encoding it writes the
// canonical form the reference itself would write.
func TestEncodeRoundTrip(t *testing.T) {
	m, err := vectors.Load(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	encrypted := map[string]bool{
		"entity_xml/status_message_basic": true,
		"relayable_xml/comment":           true,
		"entity_json/account_migration":   true,
	}
	n := 0
	for _, kind := range []string{"entity_xml", "entity_json", "relayable_xml", "relayable_json"} {
		for _, v := range m.Kind(kind) {
			if !v.Expected.Valid {
				continue
			}
			n++
			t.Run(v.ID, func(t *testing.T) {
				var want map[string]any
				if err := json.Unmarshal(v.Expected.Entity, &want); err != nil {
					t.Fatal(err)
				}
				file := filepath.Join(t.TempDir(), "entity.json")
				if err := os.WriteFile(file, v.Expected.Entity, 0o600); err != nil {
					t.Fatal(err)
				}
				// The sender is the author; entities without an author
				// (location, poll, embed, ...) are sent by alice.
				props, _ := want["properties"].(map[string]any)
				sender, _ := props["author"].(string)
				if sender == "" {
					sender = "alice@pod-a.example.org"
				}
				senderKey := "--key=" + m.Path(m.People[sender].PrivateKey)
				signer := signerOf(want)
				args := []string{"--author=" + sender, senderKey}
				if signer != "" {
					args = append(args, "--author-key="+m.Path(m.People[signer].PrivateKey))
				}
				formats := []string{formatEntityXML, formatEntityJSON, formatMagicEnvelope}
				if encrypted[v.ID] {
					formats = append(formats, formatEncryptedEnvelope)
				}
				for _, format := range formats {
					fargs := append([]string{"--format=" + format}, args...)
					if format == formatEncryptedEnvelope {
						fargs = append(fargs, "--to="+m.Path(m.People["bob@pod-b.example.net"].PublicKey))
					}
					code, out, stderr := runEncode(t, "", append(fargs, file)...)
					if code != 0 {
						t.Fatalf("%s: exit %d: %s", format, code, stderr)
					}
					e := decodeEncoded(t, m, format, sender, out)
					if e == nil {
						continue
					}
					got := viewMap(t, e)
					w := viewCopy(t, v.Expected.Entity)
					checkSignature(t, m, e, signer, got, w)
					if diff := cmp.Diff(w, got); diff != "" {
						t.Errorf("%s: view differs (-want +got):\n%s\nbody:\n%s", format, diff, out)
					}
				}
			})
		}
	}
	if n < 70 {
		t.Errorf("only %d valid entity vectors found", n)
	}
}

// viewCopy reads an expected view afresh (checkSignature edits it).
func viewCopy(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeEncoded reads what encode wrote, through the library only.
func decodeEncoded(t *testing.T, m *vectors.Manifest, format, sender string, body []byte) entities.Entity {
	t.Helper()
	var (
		e   entities.Entity
		err error
	)
	switch format {
	case formatEntityXML:
		e, err = entities.ParseXML(body, nil)
	case formatEntityJSON:
		e, err = entities.ParseJSON(body, nil)
	case formatMagicEnvelope, formatEncryptedEnvelope:
		if format == formatEncryptedEnvelope {
			priv, err := m.PrivateKey(keyParser, "bob@pod-b.example.net")
			if err != nil {
				t.Fatal(err)
			}
			if body, err = magicenv.Decrypt(body, priv, nil); err != nil {
				t.Fatalf("decrypt: %v", err)
			}
		}
		env, err := magicenv.Parse(body, nil)
		if err != nil {
			t.Fatalf("%s: %v\n%s", format, err, body)
		}
		if a, err := env.Author(); err != nil || a != sender {
			t.Errorf("%s: sender %q, %v; want %s", format, a, err, sender)
		}
		pub, _, err := m.PublicKey(keyParser, sender)
		if err != nil {
			t.Fatal(err)
		}
		if err := env.Verify(pub); err != nil {
			t.Errorf("%s: envelope signature: %v", format, err)
		}
		e, err = entities.ParseXML(env.Payload(), nil)
		if err != nil {
			t.Errorf("%s: payload: %v\n%s", format, err, env.Payload())
			return nil
		}
		return e
	}
	if err != nil {
		t.Errorf("%s: %v\n%s", format, err, body)
		return nil
	}
	return e
}

var (
	aliceKey = "--key=" + ref + "keys/alice.pem"
	asAlice  = "--author=alice@pod-a.example.org"
)

// writeTemp writes content to a file in a test directory.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "entity.json")
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// handComment is a comment view written by hand: no property_order, no
// signature, no null properties, an unknown property.
const handComment = `{"type": "comment", "properties": {
	"author": "alice@pod-a.example.org",
	"guid": "1234567890abcdef1234567890abcdef",
	"parent_guid": "150bd6a707a2f2aa31d6a9902e3e2212",
	"text": "hand-written; with a semicolon",
	"created_at": "2024-03-01T17:05:09Z"
}, "additional_data": {"mood": "happy"}}`

func TestEncodeHandWrittenRelayable(t *testing.T) {
	code, out, stderr := runEncode(t, handComment, "--format=entity_xml", asAlice, aliceKey, "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	e, err := entities.ParseXML(out, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	c, ok := e.(*entities.Comment)
	if !ok {
		t.Fatalf("got %T", e)
	}
	pub, err := magicenv.ParsePublicKey(mustRead(t, ref+"keys/alice.pub.pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.VerifyAuthorSignature(pub); err != nil {
		t.Errorf("author_signature: %v\n%s", err, out)
	}
	// The reference's order (author, guid, parent_guid, then the type's
	// own properties), then the unknown property.
	want := []string{"author", "guid", "parent_guid", "text", "created_at", "mood"}
	if got := entities.ViewOf(e).PropertyOrder; !cmp.Equal(got, want) {
		t.Errorf("property_order %v, want %v", got, want)
	}
	if !bytes.HasSuffix(bytes.TrimSpace(out), []byte("</author_signature>\n</comment>")) {
		t.Errorf("author_signature is not the last element:\n%s", out)
	}
}

func mustRead(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.FromSlash(file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestEncodeSignatures(t *testing.T) {
	comment := string(mustExpected(t, "relayable_xml/comment"))
	t.Run("relay keeps the author's signature", func(t *testing.T) {
		// bob relays alice's comment: no key of alice, the signature of
		// the view is kept and still verifies.
		code, out, stderr := runEncode(t, comment, "--author=bob@pod-b.example.net", "--key="+ref+"keys/bob.pem", "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if !strings.Contains(stderr, "kept") {
			t.Errorf("no note on stderr: %q", stderr)
		}
		env, err := magicenv.Parse(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		e, err := entities.ParseXML(env.Payload(), nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := magicenv.ParsePublicKey(mustRead(t, ref+"keys/alice.pub.pem"), nil)
		if err := e.(entities.Relayable).VerifyAuthorSignature(pub); err != nil {
			t.Errorf("relayed author_signature: %v", err)
		}
	})
	t.Run("no way to sign", func(t *testing.T) {
		code, _, stderr := runEncode(t, handComment, "--author=bob@pod-b.example.net", "--key="+ref+"keys/bob.pem", "-")
		if code != 2 || !strings.Contains(stderr, "--author-key") {
			t.Errorf("exit %d, stderr %q; want 2 and a hint about --author-key", code, stderr)
		}
	})
	t.Run("wrong author key", func(t *testing.T) {
		// Signing with someone else's key works, but the signature is
		// not the author's: encode cannot know, the receiver will
		// reject it. Here we check that the relayable is signed with
		// the key given.
		code, out, stderr := runEncode(t, handComment, "--format=entity_xml", "--author-key="+ref+"keys/bob.pem", "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		e, err := entities.ParseXML(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := magicenv.ParsePublicKey(mustRead(t, ref+"keys/bob.pub.pem"), nil)
		if err := e.(entities.Relayable).VerifyAuthorSignature(pub); err != nil {
			t.Errorf("signature by --author-key: %v", err)
		}
	})
	t.Run("account migration keeps its signature", func(t *testing.T) {
		view := string(mustExpected(t, "entity_xml/account_migration"))
		code, out, stderr := runEncode(t, view, "--format=entity_xml", "-")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		e, err := entities.ParseXML(out, nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := magicenv.ParsePublicKey(mustRead(t, ref+"keys/alice_new.pub.pem"), nil)
		if err := e.(*entities.AccountMigration).VerifySignature(pub); err != nil {
			t.Errorf("signature: %v", err)
		}
	})
}

// mustExpected returns the expected.entity of a manifest vector.
func mustExpected(t *testing.T, id string) []byte {
	t.Helper()
	m, err := vectors.Load(filepath.FromSlash(ref + "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range m.Vectors {
		if v.ID == id {
			return v.Expected.Entity
		}
	}
	t.Fatalf("no vector %s", id)
	return nil
}

// TestEncodeDecode pipes encode into dfed decode: decode's entity is the
// view encode was given.
func TestEncodeDecode(t *testing.T) {
	view := mustExpected(t, "entity_xml/status_message_all_nested")
	code, body, stderr := runEncode(t, string(view), asAlice, aliceKey, "-")
	if code != 0 {
		t.Fatalf("encode: exit %d: %s", code, stderr)
	}
	code, out, stderr2 := dfed(t, string(body), "decode", alicePub, "-")
	if code != 0 {
		t.Fatalf("decode: exit %d: %s\n%s", code, stderr2, out)
	}
	var res struct {
		Entity map[string]any `json:"entity"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := json.Unmarshal(view, &want); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, res.Entity); diff != "" {
		t.Errorf("decode's entity differs (-want +got):\n%s", diff)
	}

	// decode's whole output is accepted as input too, and so is entity
	// JSON: both give the same envelope (signatures are deterministic).
	for name, in := range map[string]string{"decode output": out, "entity JSON": entityJSON(t, body)} {
		code, again, stderr := runEncode(t, in, asAlice, aliceKey, "-")
		if code != 0 || !bytes.Equal(again, body) {
			t.Errorf("%s: exit %d, stderr %q, same body %v", name, code, stderr, bytes.Equal(again, body))
		}
	}
}

// entityJSON returns the entity JSON of an envelope's payload.
func entityJSON(t *testing.T, envelope []byte) string {
	t.Helper()
	env, err := magicenv.Parse(envelope, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := entities.MarshalJSON(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestEncodeInvalid(t *testing.T) {
	tests := []struct{ name, input string }{
		{"not JSON", "<status_message/>"},
		{"not an object", `[1, 2]`},
		{"no type", `{"properties": {}}`},
		{"trailing data", `{"type": "location", "properties": {}} {}`},
		{"missing guid", `{"type": "status_message", "properties": {"author": "alice@pod-a.example.org", "text": "hi", "public": true}}`},
		{"bad author", `{"type": "account_deletion", "properties": {"author": "Not An ID"}}`},
		{"unknown type", `{"type": "shiny_new_thing", "properties": {"x": "y"}}`},
		{"nested not a view", `{"type": "status_message", "properties": {"author": "alice@pod-a.example.org", "guid": "1234567890abcdef1234567890abcdef", "text": "hi", "location": {"address": "x"}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runEncode(t, tt.input, "--format=entity_xml", "-")
			if code != 1 || len(out) != 0 || stderr == "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 1, nothing, a message", code, out, stderr)
			}
		})
	}
}

func TestEncodeUsage(t *testing.T) {
	loc := `{"type": "location", "properties": {"address": "K", "lat": "1", "lng": "2"}}`
	file := writeTemp(t, loc)
	bobPubFile := ref + "keys/bob.pub.pem"
	tests := []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"two files", []string{file, file}},
		{"unknown flag", []string{"--nope", file}},
		{"unknown format", []string{"--format=xml", file}},
		{"envelope without key", []string{asAlice, file}},
		{"envelope without author", []string{aliceKey, file}},
		{"key without author", []string{"--format=entity_xml", aliceKey, file}},
		{"--to with entity_xml", []string{"--format=entity_xml", "--to=" + bobPubFile, file}},
		{"encrypted without --to", []string{"--format=encrypted_magic_envelope", asAlice, aliceKey, file}},
		{"public key as --key", []string{asAlice, "--key=" + bobPubFile, file}},
		{"private key as --to", []string{asAlice, aliceKey, "--to=" + ref + "keys/bob.pem", file}},
		{"missing --author-key", []string{"--format=entity_xml", "--author-key=/nonexistent.pem", file}},
		{"missing file", []string{"--format=entity_xml", ref + "no/such.json"}},
		{"bad sender ID", []string{"--author=not an id", aliceKey, file}},
		{"weak key floor", []string{"--min-key-bits=4096", asAlice, aliceKey, file}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, stderr := runEncode(t, "", tt.args...)
			if code != 2 || len(out) != 0 || stderr == "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, a message", code, out, stderr)
			}
		})
	}
	t.Run("--to alone means encrypted", func(t *testing.T) {
		code, out, stderr := runEncode(t, "", asAlice, aliceKey, "--to="+bobPubFile, file)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		priv, err := magicenv.ParsePrivateKey(mustRead(t, ref+"keys/bob.pem"), nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := magicenv.Decrypt(out, priv, nil); err != nil {
			t.Errorf("decrypt: %v", err)
		}
	})
}
