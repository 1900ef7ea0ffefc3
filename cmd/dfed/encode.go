package main

import (
	"bytes"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
)

// The output formats of encode.
const (
	formatEntityXML         = "entity_xml"
	formatEntityJSON        = "entity_json"
	formatMagicEnvelope     = "magic_envelope"
	formatEncryptedEnvelope = "encrypted_magic_envelope"
)

const encodeUsage = "usage: dfed encode [--key PEMFILE] [--author ID] [--author-key PEMFILE] [--to PUBPEMFILE] [--format entity_xml|entity_json|magic_envelope|encrypted_magic_envelope] [--min-key-bits N] ENTITY.json|-"

// encode is the reverse of decode: it reads an entity in the neutral view
// (the form of the manifests' expected.entity and of decode's "entity"
// member), signs what needs a signature and writes the body the reference
// would accept.
//
// A relayable gets a fresh author_signature, made with --author-key or,
// when the author is the sender (--author), with --key. Without either, an
// author_signature already in the view is kept as it is (a root author
// relaying someone else's relayable); with none at all encode refuses. An
// AccountMigration is signed with --author-key, the key of its signer (the
// identity that is not its author); without it, a signature in the view is
// kept.
//
// Formats: entity_xml, entity_json, magic_envelope (signed by --author
// with --key; the default) and encrypted_magic_envelope (that envelope
// encrypted for the public key --to; the default when --to is given).
//
// The body goes to stdout; entity XML, entity JSON and envelopes get a
// final newline, the encrypted body (JSON) is written as Encrypt made it.
//
// Exit status: 0 when a body was written, 1 when the entity is invalid, 2
// on a usage error (flags, files, keys).
func encode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("encode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	keyFile := fs.String("key", "", "sender's private key `PEMFILE`: signs the envelope (and a relayable whose author is the sender)")
	sender := fs.String("author", "", "sender's diaspora* `ID`, written as the envelope's key_id")
	authorKeyFile := fs.String("author-key", "", "private key `PEMFILE` of the relayable's author, or of the AccountMigration's signer")
	toFile := fs.String("to", "", "recipient's public key `PEMFILE`, for encrypted_magic_envelope")
	format := fs.String("format", "", "output `FORMAT`: entity_xml, entity_json, magic_envelope (default) or encrypted_magic_envelope (default with --to)")
	minBits := fs.Int("min-key-bits", magicenv.DefaultMinKeyBits, "shortest RSA key accepted (raise it, to 2048 for example, to refuse old short keys)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, encodeUsage)
		return 2
	}
	if *format == "" {
		*format = formatMagicEnvelope
		if *toFile != "" {
			*format = formatEncryptedEnvelope
		}
	}
	envelope := false
	switch *format {
	case formatEntityXML, formatEntityJSON:
	case formatMagicEnvelope, formatEncryptedEnvelope:
		envelope = true
		if *keyFile == "" || *sender == "" {
			fmt.Fprintf(stderr, "dfed: --format %s needs --key and --author\n", *format)
			return 2
		}
	default:
		fmt.Fprintf(stderr, "dfed: unknown --format %q\n%s\n", *format, encodeUsage)
		return 2
	}
	if (*format == formatEncryptedEnvelope) != (*toFile != "") {
		fmt.Fprintln(stderr, "dfed: --to goes with --format encrypted_magic_envelope, and only with it")
		return 2
	}
	if (*keyFile == "") != (*sender == "") {
		fmt.Fprintln(stderr, "dfed: --key and --author go together")
		return 2
	}

	opts := magicenv.Options{MinKeyBits: *minBits}
	key, err := readPrivateKey(opts, *keyFile)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: --key: %v\n", err)
		return 2
	}
	authorKey, err := readPrivateKey(opts, *authorKeyFile)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: --author-key: %v\n", err)
		return 2
	}
	var to *rsa.PublicKey
	if *toFile != "" {
		b, err := os.ReadFile(*toFile)
		if err == nil {
			to, err = magicenv.ParsePublicKey(b, &opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfed: --to: %v\n", err)
			return 2
		}
	}
	input, err := readInput(fs.Arg(0), stdin, opts)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}

	entityJSON, err := viewToEntityJSON(input)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 1
	}
	e, err := entities.ParseJSON(entityJSON, nil)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: invalid entity (%s): %v\n", category(err), err)
		return 1
	}
	if code := signEntity(e, *sender, key, authorKey, stderr); code != 0 {
		return code
	}
	if envelope && *sender != entities.Author(e) && entities.Author(e) != "" {
		fmt.Fprintf(stderr, "dfed: note: the sender %s is not the author %s: receivers accept that only from a root author relaying an interaction\n", *sender, entities.Author(e))
	}

	var body []byte
	switch *format {
	case formatEntityJSON:
		body, err = entities.MarshalJSON(e)
	default:
		body, err = entities.MarshalXML(e)
	}
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 1
	}
	if envelope {
		env, err := magicenv.Sign(body, *sender, key, &opts)
		if err != nil {
			fmt.Fprintf(stderr, "dfed: signing the envelope: %v\n", err)
			return 2
		}
		body = env.Marshal()
		if to != nil {
			if body, err = magicenv.Encrypt(body, to, &opts); err != nil {
				fmt.Fprintf(stderr, "dfed: encrypting: %v\n", err)
				return 2
			}
		}
	}
	if _, err := stdout.Write(body); err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}
	if len(body) > 0 && body[len(body)-1] != '\n' && *format != formatEncryptedEnvelope {
		fmt.Fprintln(stdout)
	}
	return 0
}

// readPrivateKey reads a PEM private key file; "" gives nil.
func readPrivateKey(opts magicenv.Options, file string) (*rsa.PrivateKey, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	return magicenv.ParsePrivateKey(b, &opts)
}

// signEntity makes the signatures inside the entity: a relayable's
// author_signature and an AccountMigration's signature. It returns an exit
// status (0 when done or nothing to do).
func signEntity(e entities.Entity, sender string, key, authorKey *rsa.PrivateKey, stderr io.Writer) int {
	switch t := e.(type) {
	case entities.Relayable:
		author := entities.Author(e)
		signer := authorKey
		if signer == nil && key != nil && author == sender {
			signer = key
		}
		if signer == nil {
			if sig := authorSignature(t); sig != "" {
				fmt.Fprintf(stderr, "dfed: note: no key of the author %s (--author-key): the author_signature of the input is kept as it is\n", author)
				return 0
			}
			fmt.Fprintf(stderr, "dfed: the %s by %s needs an author_signature: give --author-key, or --key with --author %s\n", e.Type(), author, author)
			return 2
		}
		if err := t.Sign(signer); err != nil {
			fmt.Fprintf(stderr, "dfed: signing the %s: %v\n", e.Type(), err)
			return 2
		}
	case *entities.AccountMigration:
		if authorKey == nil {
			if t.Signature == "" {
				fmt.Fprintf(stderr, "dfed: the account_migration needs a signature by %s: give --author-key\n", t.SignerID())
				return 2
			}
			fmt.Fprintf(stderr, "dfed: note: no --author-key: the signature of the input (by %s) is kept as it is\n", t.SignerID())
			return 0
		}
		if err := t.Sign(authorKey); err != nil {
			fmt.Fprintf(stderr, "dfed: signing the account_migration: %v\n", err)
			return 1
		}
	}
	return 0
}

// authorSignature returns the author_signature a relayable carries.
func authorSignature(r entities.Relayable) string {
	sig, _ := entities.ViewOf(r).Properties["author_signature"].(string)
	return sig
}

// viewToEntityJSON turns the neutral view of an entity,
//
//	{"type": T, "properties": {...}, "property_order": [...], "additional_data": {...}}
//
// into the entity JSON that entities.ParseJSON reads
// (https://diaspora.github.io/diaspora_federation/schemas/federation_entities.json):
//
//	{"entity_type": T, "entity_data": {...}, "property_order": [...]}
//
// Nested views become nested entity objects, null properties are left out
// (absent), and the additional_data of a relayable (its unknown
// properties) joins entity_data, where property_order names them.
func viewToEntityJSON(data []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("the input is not JSON: %w", err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("the input has data after the JSON value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the input is not a JSON object")
	}
	if _, ok := obj["entity_type"]; ok {
		// Already entity JSON: take it as it is.
		return data, nil
	}
	// decode's output: {"format", "valid", "entity": view, ...}.
	if inner, ok := obj["entity"].(map[string]any); ok && obj["type"] == nil {
		obj = inner
	}
	out, err := convertView(obj, true)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// convertView converts one view object; top is false for nested entities,
// which carry no property_order.
func convertView(view map[string]any, top bool) (map[string]any, error) {
	typ, ok := view["type"].(string)
	if !ok || typ == "" {
		return nil, errors.New(`a view needs a "type" string`)
	}
	props, ok := view["properties"].(map[string]any)
	if !ok && view["properties"] != nil {
		return nil, fmt.Errorf("%s: \"properties\" is not an object", typ)
	}
	data := make(map[string]any, len(props))
	for name, val := range props {
		if val == nil {
			continue
		}
		c, err := convertValue(val)
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", typ, name, err)
		}
		data[name] = c
	}
	if add, ok := view["additional_data"].(map[string]any); ok {
		for name, val := range add {
			if _, dup := data[name]; !dup && val != nil {
				data[name] = val
			}
		}
	}
	out := map[string]any{"entity_type": typ, "entity_data": data}
	if !top {
		return out, nil
	}
	if order, ok := view["property_order"]; ok && order != nil {
		out["property_order"] = order
	} else if def, ok := relayableOrder[typ]; ok {
		// A hand-written relayable without property_order: the order
		// the reference writes (relayableOrder), unset properties left
		// out, then the unknown properties by name.
		var order []any
		for _, name := range def {
			if _, ok := data[name]; ok {
				order = append(order, name)
			}
		}
		if add, ok := view["additional_data"].(map[string]any); ok {
			for _, name := range slices.Sorted(maps.Keys(add)) {
				if !slices.Contains(def, name) {
					order = append(order, name)
				}
			}
		}
		out["property_order"] = order
	}
	return out, nil
}

// relayableOrder is the element order in which the reference writes, and
// its authors sign, each relayable type: author, guid, parent_guid, then
// the type's own properties in declaration order.
var relayableOrder = map[string][]string{
	"comment":             {"author", "guid", "parent_guid", "text", "created_at", "edited_at"},
	"like":                {"author", "guid", "parent_guid", "parent_type", "positive"},
	"poll_participation":  {"author", "guid", "parent_guid", "poll_answer_guid"},
	"event_participation": {"author", "guid", "parent_guid", "status", "edited_at"},
}

// convertValue converts a property value: nested views and lists of them
// become entity objects, scalars stay as they are.
func convertValue(v any) (any, error) {
	switch t := v.(type) {
	case map[string]any:
		return convertView(t, false)
	case []any:
		list := make([]any, len(t))
		for i, it := range t {
			c, err := convertValue(it)
			if err != nil {
				return nil, err
			}
			list[i] = c
		}
		return list, nil
	}
	return v, nil
}
