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
	"strings"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// result is what decode prints.
type result struct {
	Format    string     `json:"format"`
	Valid     bool       `json:"valid"`
	Sender    string     `json:"sender,omitempty"`
	Signature string     `json:"signature,omitempty"`
	Entity    any        `json:"entity,omitempty"` // *entities.View or *discovery.View
	Payload   *string    `json:"payload,omitempty"`
	Error     *errorJSON `json:"error,omitempty"`
}

type errorJSON struct {
	Category string `json:"category"`
	Message  string `json:"message"`
}

// pubFlags collects repeated --pub ID=PEMFILE flags.
type pubFlags map[string]string

func (p pubFlags) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pubFlags) Set(v string) error {
	id, file, ok := strings.Cut(v, "=")
	if !ok || id == "" || file == "" {
		return fmt.Errorf("want ID=PEMFILE, got %q", v)
	}
	p[id] = file
	return nil
}

func decode(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pubs := pubFlags{}
	fs.Var(pubs, "pub", "public key of a sender, as `ID=PEMFILE` (repeatable)")
	keyFile := fs.String("key", "", "recipient private key `PEMFILE`, to open an encrypted envelope")
	minBits := fs.Int("min-key-bits", magicenv.DefaultMinKeyBits, "shortest RSA key accepted (raise it, to 2048 for example, to refuse old short keys)")
	legacy := fs.Bool("legacy", false, "read pre-2017 entity vocabulary (<XML><post> wrapper, old element names)")
	kind := fs.String("kind", "", "read the input as this vector kind (webfinger_jrd, webfinger_xrd, host_meta, hcard_html, entity_xml, entity_json) instead of detecting it")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: dfed decode [--pub ID=PEMFILE]... [--key PEMFILE] [--min-key-bits N] FILE|-")
		return 2
	}
	opts := magicenv.Options{MinKeyBits: *minBits}

	keys := make(map[string]*rsa.PublicKey, len(pubs))
	for id, file := range pubs {
		b, err := os.ReadFile(file)
		if err == nil {
			keys[id], err = magicenv.ParsePublicKey(b, &opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfed: --pub %s: %v\n", id, err)
			return 2
		}
	}
	var priv *rsa.PrivateKey
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err == nil {
			priv, err = magicenv.ParsePrivateKey(b, &opts)
		}
		if err != nil {
			fmt.Fprintf(stderr, "dfed: --key: %v\n", err)
			return 2
		}
	}
	body, err := readInput(fs.Arg(0), stdin, opts)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}

	var res *result
	if k := *kind; k == "" {
		k = sniffDocument(body)
		if k != "" {
			res = decodeDiscovery(k, body)
		}
	} else if discoveryKinds[k] {
		res = decodeDiscovery(k, body)
	} else if k != "entity_xml" && k != "entity_json" {
		fmt.Fprintf(stderr, "dfed: unknown --kind %q\n", k)
		return 2
	}
	if res == nil {
		res = open(opts, &entities.Options{Legacy: *legacy, LegacyWrapper: *legacy}, body, keys, priv)
	}
	if res.Format == "encrypted_magic_envelope" && priv == nil {
		fmt.Fprintln(stderr, "dfed: the input is an encrypted envelope: give the recipient's key with --key")
		return 2
	}
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}
	if !res.Valid {
		return 1
	}
	return 0
}

func readInput(name string, stdin io.Reader, opts magicenv.Options) ([]byte, error) {
	r := stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	limit := opts.MaxSize
	if limit == 0 {
		limit = magicenv.DefaultMaxSize
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, magicenv.ErrTooLarge
	}
	return b, nil
}

// open detects the format, decrypts (encrypted envelopes), parses and
// verifies, then reads the entity; every step is reported in the result.
func open(opts magicenv.Options, eopts *entities.Options, body []byte, keys map[string]*rsa.PublicKey, priv *rsa.PrivateKey) *result {
	res := &result{}
	contentType := ""
	if priv != nil { // a JSON body given with --key is an encrypted envelope
		contentType = magicenv.EncryptedContentType
	}
	switch salmon.Detect(body, contentType) {
	case salmon.FormatEncryptedMagicEnvelope:
		res.Format = "encrypted_magic_envelope"
		if priv == nil {
			return res
		}
		plain, err := magicenv.Decrypt(body, priv, &opts)
		if err != nil {
			return res.fail(err)
		}
		body = plain
	case salmon.FormatMagicEnvelope:
		res.Format = "magic_envelope"
	default:
		return readEntity(res, eopts, body)
	}
	env, err := magicenv.Parse(body, &opts)
	if err != nil {
		return res.fail(err)
	}
	payload := string(env.Payload())
	res.Payload = &payload
	if res.Sender, err = env.Author(); err != nil {
		return res.fail(err)
	}
	pub, ok := keys[res.Sender]
	if !ok {
		res.Signature = "unchecked"
		return res.fail(&magicenv.KeyLookupError{Author: res.Sender, Err: fmt.Errorf("no --pub given: %w", magicenv.ErrKeyNotFound)})
	}
	if err := env.Verify(pub); err != nil {
		res.Signature = "invalid"
		return res.fail(err)
	}
	res.Signature = "valid"
	e, err := entities.ParseXML(env.Payload(), eopts)
	if e != nil {
		res.Entity = entities.ViewOf(e)
	}
	if err != nil {
		return res.fail(err)
	}
	res.Valid = true
	return res
}

// readEntity handles a bare entity, XML or JSON.
func readEntity(res *result, eopts *entities.Options, body []byte) *result {
	var (
		e   entities.Entity
		err error
	)
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
		res.Format = "entity_json"
		e, err = entities.ParseJSON(body, eopts)
	} else {
		res.Format = "entity_xml"
		e, err = entities.ParseXML(body, eopts)
	}
	if e != nil {
		res.Entity = entities.ViewOf(e)
	}
	if err != nil {
		return res.fail(err)
	}
	res.Sender = entities.Author(e)
	res.Valid = true
	return res
}

func (r *result) fail(err error) *result {
	r.Valid = false
	r.Error = &errorJSON{Category: category(err), Message: err.Error()}
	return r
}

// category maps an error to the neutral vocabulary of the vector
// manifests.
func category(err error) string {
	if errors.Is(err, magicenv.ErrWeakKey) || errors.Is(err, magicenv.ErrInvalidKey) {
		return "invalid_key" // a key given on the command line, not a verdict on the input
	}
	return salmon.Category(err)
}

var discoveryKinds = map[string]bool{"webfinger_jrd": true, "webfinger_xrd": true, "host_meta": true, "hcard_html": true}

// sniffDocument recognises discovery documents: a JSON object with
// "subject" or "links" and no "entity_type" (WebFinger JRD), an XRD
// (WebFinger with a Subject, else host-meta), or HTML (an hCard). It
// returns "" for anything else.
func sniffDocument(body []byte) string {
	b := bytes.TrimSpace(body)
	switch {
	case len(b) == 0:
		return ""
	case b[0] == '{':
		var probe map[string]json.RawMessage
		if json.Unmarshal(b, &probe) != nil {
			return ""
		}
		if _, ok := probe["entity_type"]; ok {
			return ""
		}
		_, subject := probe["subject"]
		_, links := probe["links"]
		if subject || links {
			return "webfinger_jrd"
		}
		return ""
	case b[0] != '<':
		return ""
	}
	lower := bytes.ToLower(b[:min(len(b), 512)])
	if bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html")) {
		return "hcard_html"
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	depth := 0
	root := ""
	for {
		tok, err := d.Token()
		if err != nil {
			if root == "XRD" {
				return "host_meta"
			}
			return ""
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Local != "XRD" {
					return ""
				}
				root = "XRD"
			} else if depth == 2 && t.Name.Local == "Subject" {
				return "webfinger_xrd"
			}
		case xml.EndElement:
			depth--
		}
	}
}

// decodeDiscovery reads a discovery document of the given kind.
func decodeDiscovery(kind string, body []byte) *result {
	res := &result{Format: kind}
	view, err := discovery.ParseKind(kind, body)
	if err != nil {
		res.Error = &errorJSON{Category: discovery.Category(err), Message: err.Error()}
		return res
	}
	res.Valid = true
	res.Entity = view
	return res
}
