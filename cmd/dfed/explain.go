package main

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/relayable"
	"github.com/go-diaspora/federation/salmon"
)

const explainUsage = "usage: dfed explain [--pub ID=PEMFILE]... [--key PEMFILE] [--legacy] [--min-key-bits N] FILE|-"

// explain does what decode does, for a person: it prints, one fact per
// line with a short label, which format was detected, how the base64
// fields are written (alphabet, padding), the exact signature base
// string, which key was used and what it said, the relayable signature
// order and string, and finally the verdict:
//
//	verdict: accepted
//	verdict: rejected (<category>): <message>
//
// The work is done by the library (salmon.Detect, magicenv,
// entities, relayable); explain only reports each step. On top of decode,
// it checks a relayable's author_signature (and an AccountMigration's
// signature) when --pub gives the signer's key: a signature that does not
// verify rejects the input (invalid_entity_signature). With --legacy it
// also reads legacy Salmon slaps and vocabulary.
//
// Exit status: 0 when accepted, 1 when rejected, 2 on a usage error
// (including an encrypted input without --key).
func explain(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("explain", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubs := pubFlags{}
	fs.Var(pubs, "pub", "public key of a sender or signer, as `ID=PEMFILE` (repeatable)")
	keyFile := fs.String("key", "", "recipient private key `PEMFILE`, to open an encrypted envelope")
	minBits := fs.Int("min-key-bits", magicenv.DefaultMinKeyBits, "shortest RSA key accepted (raise it, to 2048 for example, to refuse old short keys)")
	legacy := fs.Bool("legacy", false, "read legacy Salmon slaps and the pre-2017 entity vocabulary")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, explainUsage)
		return 2
	}
	x := &explainer{
		w:       stdout,
		opts:    magicenv.Options{MinKeyBits: *minBits},
		eopts:   &entities.Options{Legacy: *legacy},
		legacy:  *legacy,
		keys:    make(map[string]*rsa.PublicKey, len(pubs)),
		keyFile: pubs,
	}
	for id, file := range pubs {
		b, err := os.ReadFile(file)
		if err == nil {
			x.keys[id], err = magicenv.ParsePublicKey(b, &x.opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfed: --pub %s: %v\n", id, err)
			return 2
		}
	}
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err == nil {
			x.priv, err = magicenv.ParsePrivateKey(b, &x.opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfed: --key: %v\n", err)
			return 2
		}
		x.privFile = *keyFile
	}
	body, err := readInput(fs.Arg(0), stdin, x.opts)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}

	err = x.explain(body)
	if errors.Is(err, errNeedKey) {
		x.line("verdict", "not judged: the recipient's private key (--key) is needed to decrypt")
		fmt.Fprintln(stderr, "dfed: the input is encrypted: give the recipient's private key with --key")
		return 2
	}
	if err != nil {
		x.line("verdict", "rejected (%s): %s", explainCategory(err), exact(err.Error()))
		return 1
	}
	x.line("verdict", "accepted")
	return 0
}

// errNeedKey stops explain at an encrypted body when no --key was given.
var errNeedKey = errors.New("no recipient key")

// explainer holds the options and keys of one explain run.
type explainer struct {
	w        io.Writer
	opts     magicenv.Options
	eopts    *entities.Options
	legacy   bool
	keys     map[string]*rsa.PublicKey
	keyFile  map[string]string // --pub files by ID
	priv     *rsa.PrivateKey
	privFile string
}

// line prints one fact: "label: text".
func (x *explainer) line(label, format string, a ...any) {
	fmt.Fprintf(x.w, "%s: %s\n", label, fmt.Sprintf(format, a...))
}

// explainCategory names the error in the manifests' vocabulary.
func explainCategory(err error) string {
	var c *categorized
	if errors.As(err, &c) {
		return c.category
	}
	if c := salmon.Category(err); c != "other" {
		return c
	}
	return category(err)
}

// explain reports on body and returns nil when it is accepted.
func (x *explainer) explain(body []byte) error {
	if x.legacy && bytes.HasPrefix(bytes.TrimSpace(body), []byte("xml=")) {
		slap, err := salmon.DecodeLegacyForm(body)
		if err != nil {
			x.line("format", "legacy form body (xml=...)")
			return err
		}
		x.line("transport", "legacy form body: the xml= parameter was URL-decoded (%d bytes)", len(slap))
		body = slap
	}
	if kind := sniffDocument(body); kind != "" {
		x.line("format", "%s (discovery document)", kind)
		view, err := discovery.ParseKind(kind, body)
		if err != nil {
			return &categorized{discovery.Category(err), err}
		}
		if view != nil {
			x.line("subject", "%s", describeDiscovery(view))
		}
		return nil
	}
	contentType := ""
	if x.priv != nil && !isEntityJSON(body) {
		contentType = magicenv.EncryptedContentType
	}
	switch salmon.Detect(body, contentType) {
	case salmon.FormatEncryptedMagicEnvelope:
		x.line("format", "encrypted_magic_envelope (private delivery, https://diaspora.github.io/diaspora_federation/federation/encryption.html)")
		x.describeEncrypted(body)
		if x.priv == nil {
			x.line("decryption", "not attempted: no --key")
			return errNeedKey
		}
		x.line("recipient key", "--key %s (%d-bit RSA)", x.privFile, x.priv.N.BitLen())
		plain, err := magicenv.Decrypt(body, x.priv, &x.opts)
		if err != nil {
			x.line("decryption", "FAILED (every decryption failure gives the same error, on purpose)")
			return err
		}
		x.line("decryption", "ok: %d bytes of Magic Envelope XML (AES-256-CBC, key unwrapped with RSA PKCS#1 v1.5)", len(plain))
		return x.envelope(plain)
	case salmon.FormatMagicEnvelope:
		x.line("format", "magic_envelope (public delivery, https://diaspora.github.io/diaspora_federation/federation/magicsig.html)")
		return x.envelope(body)
	case salmon.FormatLegacySlap, salmon.FormatLegacyEncryptedSlap:
		return x.slap(body)
	}
	return x.bareEntity(body)
}

// isEntityJSON reports a JSON object with an entity_type member.
func isEntityJSON(body []byte) bool {
	var probe map[string]json.RawMessage
	if json.Unmarshal(body, &probe) != nil {
		return false
	}
	_, ok := probe["entity_type"]
	return ok
}

// describeEncrypted reports how the members of an encrypted envelope are
// written.
func (x *explainer) describeEncrypted(body []byte) {
	var members map[string]any
	if json.Unmarshal(body, &members) != nil {
		return
	}
	for _, name := range []string{"aes_key", "encrypted_magic_envelope"} {
		s, ok := members[name].(string)
		if !ok {
			x.line(name, "missing or not a string")
			continue
		}
		x.line(name, "%d chars, %s", len(s), describeBase64(s))
	}
}

// envelope reports on a public Magic Envelope (or the one inside an
// encrypted body).
func (x *explainer) envelope(body []byte) error {
	raw, rawErr := scanEnvelope(body)
	if rawErr == nil {
		x.line("envelope", "me:data %d chars, %s", len(raw.Data), describeBase64(raw.Data))
		x.line("parameters", "type=%q encoding=%q alg=%q", raw.DataType, raw.Encoding, raw.Alg)
	}
	env, err := magicenv.Parse(body, &x.opts)
	if err != nil {
		return err
	}
	x.line("payload", "%d bytes of entity XML", len(env.Payload()))
	sender, err := env.Author()
	if err != nil {
		return err
	}
	x.line("sender (key_id)", "%s (key_id %s)", sender, describeBase64(raw.KeyID))
	base := env.SignatureBase()
	x.line("signature base string", "%s", base)
	if data, _, _ := strings.Cut(base, "."); rawErr == nil && raw.Data != data {
		x.line("note", "me:data as received is not the canonical padded base64url form: the reference (and this SDK) verify the canonical form above")
	}
	return x.verifyEnvelope(env, sender, raw.Sig, func() error { return x.entity(env.Payload(), sender) })
}

// verifyEnvelope reports the envelope signature check, then calls next
// when it verified.
func (x *explainer) verifyEnvelope(env *magicenv.Envelope, sender, rawSig string, next func() error) error {
	sig := env.Signature()
	what := fmt.Sprintf("%d bytes (%d-bit key), %s", len(sig), len(sig)*8, describeBase64(rawSig))
	pub, ok := x.keys[sender]
	if !ok {
		x.line("signature", "%s — NOT CHECKED: no --pub for %s", what, sender)
		return &magicenv.KeyLookupError{Author: sender, Err: fmt.Errorf("no --pub given: %w", magicenv.ErrKeyNotFound)}
	}
	key := fmt.Sprintf("--pub %s (%s, %d-bit RSA)", sender, x.keyFile[sender], pub.N.BitLen())
	if err := env.Verify(pub); err != nil {
		x.line("signature", "%s — INVALID with %s", what, key)
		return err
	}
	x.line("signature", "%s — VALID with %s", what, key)
	return next()
}

// slap reports on a legacy Salmon slap, what diaspora* sent before 0.7.0
// and the reference library stopped receiving in 0.3.0.
func (x *explainer) slap(body []byte) error {
	encrypted := salmon.Detect(body, "") == salmon.FormatLegacyEncryptedSlap
	name := "legacy_slap"
	if encrypted {
		name = "legacy_encrypted_slap"
	}
	x.line("format", "%s (pre-2017 Salmon slap, no longer sent or received by diaspora*)", name)
	if !x.legacy {
		return fmt.Errorf("%w (current diaspora* refuses legacy slaps; --legacy reads them)", salmon.ErrUnknownFormat)
	}
	var (
		s   *salmon.Slap
		err error
	)
	if encrypted {
		if x.priv == nil {
			x.line("decryption", "not attempted: no --key")
			return errNeedKey
		}
		x.line("recipient key", "--key %s (%d-bit RSA)", x.privFile, x.priv.N.BitLen())
		s, err = salmon.OpenEncryptedSlap(body, x.priv, &x.opts)
	} else {
		s, err = salmon.ParseSlap(body, &x.opts)
	}
	if err != nil {
		return err
	}
	raw, _ := scanEnvelope(body)
	x.line("envelope", "me:data %d chars, %s", len(raw.Data), describeBase64(raw.Data))
	x.line("sender (header)", "%s (the slap header names the sender; key_id is ignored)", s.Author)
	x.line("signature base string", "%s", s.Envelope.SignatureBase())
	return x.verifyEnvelope(s.Envelope, s.Author, raw.Sig, func() error {
		payload, err := s.Payload()
		if err != nil {
			return err
		}
		if s.Encrypted {
			x.line("payload", "%d bytes of entity XML after AES decryption", len(payload))
		}
		eopts := *x.eopts
		eopts.LegacyWrapper = true
		return x.entityWith(payload, s.Author, &eopts)
	})
}

// bareEntity reports on entity XML or JSON given without an envelope.
func (x *explainer) bareEntity(body []byte) error {
	if t := bytes.TrimSpace(body); len(t) > 0 && t[0] == '{' {
		x.line("format", "entity_json (bare entity, https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json)")
		e, err := entities.ParseJSON(body, x.eopts)
		return x.entityChecks(e, err, "")
	}
	x.line("format", "entity_xml (bare entity, https://diaspora.github.io/diaspora_federation/federation/xml_serialization.html)")
	return x.entity(body, "")
}

// entity reports on entity XML; sender is "" for a bare entity.
func (x *explainer) entity(payload []byte, sender string) error {
	return x.entityWith(payload, sender, x.eopts)
}

func (x *explainer) entityWith(payload []byte, sender string, eopts *entities.Options) error {
	e, err := entities.ParseXML(payload, eopts)
	return x.entityChecks(e, err, sender)
}

// entityChecks reports a parsed entity and checks the signatures it
// carries.
func (x *explainer) entityChecks(e entities.Entity, err error, sender string) error {
	if e != nil {
		x.line("entity", "%s", e.Type())
	}
	if err != nil {
		return err
	}
	author := entities.Author(e)
	if author != "" {
		x.line("author", "%s", author)
		if sender != "" && sender != author {
			x.line("note", "the sender is not the author: receivers accept that only from a root author relaying an interaction, or a retraction by the root author")
		}
	}
	switch t := e.(type) {
	case entities.Relayable:
		props := t.SignatureProperties()
		x.line("relayable signature order", "%s", strings.Join(relayable.Order(props), ";"))
		x.line("relayable signature string", "%s", exact(relayable.SignatureString(props)))
		sig, _ := entities.ViewOf(e).Properties["author_signature"].(string)
		if sig == "" {
			x.line("author_signature", "absent (needed unless %s is the root author)", author)
			return nil
		}
		return x.entitySignature("author_signature", sig, author, func(pub *rsa.PublicKey) error { return t.VerifyAuthorSignature(pub) })
	case *entities.AccountMigration:
		x.line("account_migration signed text", "%s", exact(t.SignedText()))
		if t.Signature == "" {
			x.line("account_migration signature", "absent")
			return nil
		}
		return x.entitySignature("account_migration signature", t.Signature, t.SignerID(), t.VerifySignature)
	}
	return nil
}

// entitySignature reports and checks a relayable or AccountMigration
// signature made by signer.
func (x *explainer) entitySignature(label, sig, signer string, verify func(*rsa.PublicKey) error) error {
	what := fmt.Sprintf("%d chars, %s", len(sig), describeBase64(sig))
	pub, ok := x.keys[signer]
	if !ok {
		x.line(label, "not checked (no key for %s: give --pub %s=PEMFILE); %s", signer, signer, what)
		return nil
	}
	if err := verify(pub); err != nil {
		x.line(label, "invalid with --pub %s (%s); %s", signer, x.keyFile[signer], what)
		return err
	}
	x.line(label, "valid with --pub %s (%s); %s", signer, x.keyFile[signer], what)
	return nil
}

// exact returns s as it is when it fits on one line, and Go-quoted (with a
// note) when it holds line breaks or other control characters, so that
// every fact stays on one line and nothing is lost.
func exact(s string) string {
	if !strings.ContainsFunc(s, unicode.IsControl) {
		return s
	}
	return strconv.Quote(s) + " (Go-quoted: it contains line breaks or control characters)"
}

// describeBase64 says how base64 text is written: alphabet, padding,
// white space.
func describeBase64(s string) string {
	if s == "" {
		return "empty"
	}
	var alphabet string
	url, std := strings.ContainsAny(s, "-_"), strings.ContainsAny(s, "+/")
	switch {
	case url && std:
		alphabet = "mixed alphabets (both -_ and +/)"
	case url:
		alphabet = "base64url alphabet"
	case std:
		alphabet = "standard alphabet"
	default:
		alphabet = "either alphabet (no -_ or +/ in it)"
	}
	var padding string
	trimmed := strings.TrimRight(s, "=")
	switch {
	case len(trimmed) < len(s):
		padding = "padded"
	case len(strings.Join(strings.Fields(s), ""))%4 == 0:
		padding = "no padding needed"
	default:
		padding = "unpadded"
	}
	out := alphabet + ", " + padding
	if strings.ContainsAny(s, " \t\r\n") {
		out += ", contains white space"
	}
	return out
}

// scanEnvelope reads the texts of an envelope's parts as they were
// written (the first me:data, me:encoding, me:alg and me:sig anywhere in
// the document, so also inside a legacy slap), for describing them.
// magicenv does the real parsing and checking.
func scanEnvelope(body []byte) (magicenv.Fields, error) {
	var f magicenv.Fields
	seen := map[string]bool{}
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var current string
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return f, nil
		}
		if err != nil {
			return f, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			current = ""
			if t.Name.Space != magicenv.Namespace || seen[t.Name.Local] {
				continue
			}
			switch t.Name.Local {
			case "data", "encoding", "alg", "sig":
				current = t.Name.Local
				seen[current] = true
				text.Reset()
			}
			for _, a := range t.Attr {
				switch {
				case current == "data" && a.Name.Local == "type" && a.Name.Space == "":
					f.DataType = a.Value
				case current == "sig" && a.Name.Local == "key_id" && a.Name.Space == "":
					f.KeyID, f.HasKeyID = a.Value, true
				}
			}
		case xml.CharData:
			if current != "" {
				text.Write(t)
			}
		case xml.EndElement:
			switch current {
			case "data":
				f.Data = text.String()
			case "encoding":
				f.Encoding = text.String()
			case "alg":
				f.Alg = text.String()
			case "sig":
				f.Sig = text.String()
			}
			current = ""
		case xml.Directive:
			return f, magicenv.ErrDoctype
		}
	}
}

// describeDiscovery summarises a discovery document's view.
func describeDiscovery(v *discovery.View) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

// categorized carries the category of an error from outside the receive
// pipeline (a discovery document).
type categorized struct {
	category string
	err      error
}

func (c *categorized) Error() string { return c.err.Error() }
func (c *categorized) Unwrap() error { return c.err }
