package magicenv

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Protocol constants of the diaspora* Magic Envelope.
const (
	// Namespace is the XML namespace of the envelope elements.
	Namespace = "http://salmon-protocol.org/ns/magic-env"
	// Prefix is the namespace prefix the reference requires.
	Prefix = "me"
	// ContentType is the media type of a public envelope body.
	ContentType = "application/magic-envelope+xml"
	// DataType is the only accepted value of me:data/@type.
	DataType = "application/xml"
	// Encoding is the only accepted value of me:encoding.
	Encoding = "base64url"
	// Algorithm is the only accepted value of me:alg.
	Algorithm = "RSA-SHA256"
)

// Defaults used where an [Options] field is zero.
const (
	// DefaultMaxSize is the largest envelope (or encrypted body) read: 1 MiB.
	DefaultMaxSize = 1 << 20
	// DefaultMinKeyBits is the shortest RSA key accepted unless the caller
	// lowers [Options.MinKeyBits].
	DefaultMinKeyBits = 2048
	// DefaultKeyBits is the size [GenerateKey] uses for 0: what diaspora* generates.
	DefaultKeyBits = 4096
	// minKeyBitsFloor is the floor below which no option goes.
	minKeyBitsFloor = 1024
	// maxAuthorLen is the longest diaspora* ID (255 characters).
	maxAuthorLen = 255
	// XML budgets for the envelope document itself.
	maxDepth      = 8
	maxElements   = 64
	maxAttributes = 16
)

// sigSuffix is "." + the base64url forms of DataType, Encoding and
// Algorithm: the constant tail of every signature base string.
const sigSuffix = ".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="

// Options configures parsing, signing, keys and decryption. The zero value
// gives the reference's behaviour with this package's default limits; the
// package-level functions ([Parse], [Sign], [Decrypt], ...) use it.
type Options struct {
	// MaxSize caps the size in bytes of an envelope or an encrypted body.
	// Zero means DefaultMaxSize (1 MiB).
	MaxSize int64

	// MinKeyBits is the shortest RSA key accepted for verifying, signing,
	// decrypting, parsing and generating. Zero means DefaultMinKeyBits
	// (2048). Published vectors and old pods use 1024-bit keys: set 1024
	// to accept them. Values below 1024 are raised to 1024.
	MinKeyBits int

	// AnyPrefix accepts the envelope namespace under any prefix, or as the
	// default namespace. The reference only accepts the prefix "me" (it
	// looks children up by prefix), so the default is false.
	AnyPrefix bool

	// AcceptRawSubject also accepts a signature computed over the me:data
	// text exactly as received when that differs from its canonical
	// padded base64url form (jaywink/federation's behaviour). The
	// reference verifies only the canonical form, so the default is false.
	AcceptRawSubject bool
}

func (o Options) maxSize() int64 {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

func (o Options) minKeyBits() int {
	switch {
	case o.MinKeyBits == 0:
		return DefaultMinKeyBits
	case o.MinKeyBits < minKeyBitsFloor:
		return minKeyBitsFloor
	}
	return o.MinKeyBits
}

// Envelope is a parsed or freshly signed Magic Envelope. Its fields are
// read through methods; an Envelope is not modified after creation and is
// safe for concurrent use.
type Envelope struct {
	payload  []byte // decoded me:data
	dataText string // me:data as received
	sig      []byte // decoded me:sig
	author   string // decoded key_id
	hasKeyID bool
	opts     Options
}

// Parse parses a Magic Envelope with default [Options]. See [Options.Parse].
func Parse(data []byte) (*Envelope, error) { return Options{}.Parse(data) }

// Read reads and parses a Magic Envelope with default [Options]. See [Options.Read].
func Read(r io.Reader) (*Envelope, error) { return Options{}.Read(r) }

// Read reads at most MaxSize bytes from r and parses them with
// [Options.Parse]. A longer input returns [ErrTooLarge] without reading
// past the limit (plus one byte).
func (o Options) Read(r io.Reader) (*Envelope, error) {
	b, err := readLimited(r, o.maxSize())
	if err != nil {
		return nil, err
	}
	return o.Parse(b)
}

func readLimited(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("magicenv: read: %w", err)
	}
	if int64(len(b)) > limit {
		return nil, ErrTooLarge
	}
	return b, nil
}

// Parse checks the structure of a Magic Envelope (application/magic-envelope+xml)
// and decodes its base64 fields. It does not verify the signature: read
// the sender with [Envelope.Author], find that sender's public key, then
// call [Envelope.Verify] (or use [Open], which does all three).
//
// The checks follow the reference, in its order: the root element is
// me:env; me:data and me:sig are present and not empty; me:data/@type,
// me:encoding and me:alg are exactly application/xml, base64url and
// RSA-SHA256. On top of that, Parse refuses DOCTYPEs, duplicate children
// and duplicate attributes, text mixed into the structure, and inputs over
// MaxSize. me:data, me:sig and key_id must be strict base64 (URL-safe or
// standard alphabet, padding optional, no white space): anything else
// returns [ErrMalformed].
func (o Options) Parse(data []byte) (*Envelope, error) {
	if int64(len(data)) > o.maxSize() {
		return nil, ErrTooLarge
	}
	raw, err := o.scan(data)
	if err != nil {
		return nil, err
	}
	return o.check(raw)
}

// rawEnvelope holds the texts and attributes of the envelope children.
type rawEnvelope struct {
	data, encoding, alg, sig *string
	dataType, keyID          *string
}

// frame is one open element while scanning.
type frame struct {
	name  xml.Name
	ns    map[string]string // prefixes declared on this element
	field *string           // text target for a known child, nil otherwise
}

// scan walks the XML tokens of an envelope document. It uses RawToken so
// that prefixes stay visible (the reference matches on the prefix "me"),
// and so it checks end tags and resolves namespaces itself.
func (o Options) scan(data []byte) (*rawEnvelope, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var (
		stack    []frame
		raw      rawEnvelope
		elements int
		rootDone bool
	)
	resolve := func(prefix string) (string, bool) {
		if prefix == "xml" {
			return "http://www.w3.org/XML/1998/namespace", true
		}
		for i := len(stack) - 1; i >= 0; i-- {
			if uri, ok := stack[i].ns[prefix]; ok {
				return uri, true
			}
		}
		return "", prefix == ""
	}
	for {
		tok, err := d.RawToken()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, parseErr("", fmt.Errorf("%w: %v", ErrInvalidEnvelope, err))
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, parseErr("", ErrDoctype)
		case xml.ProcInst:
			// encoding/xml itself refuses an XML declaration that is not
			// at the very start, and any encoding other than UTF-8.
			// Other processing instructions are ignored, like comments.
		case xml.Comment:
		case xml.CharData:
			switch {
			case len(stack) > 0 && stack[len(stack)-1].field != nil:
				*stack[len(stack)-1].field += string(t)
			case len(stack) <= 1 && len(bytes.TrimSpace(t)) != 0:
				return nil, parseErr("", fmt.Errorf("%w: text outside the envelope elements", ErrInvalidEnvelope))
			}
			// Otherwise: text inside an unknown, skipped element.
		case xml.StartElement:
			if rootDone {
				return nil, parseErr("", fmt.Errorf("%w: content after the root element", ErrInvalidEnvelope))
			}
			elements++
			if elements > maxElements || len(stack) >= maxDepth || len(t.Attr) > maxAttributes {
				return nil, parseErr("", fmt.Errorf("%w: too many elements, attributes or levels", ErrInvalidEnvelope))
			}
			f := frame{name: t.Name}
			attrs := make(map[xml.Name]string, len(t.Attr))
			for _, a := range t.Attr {
				if _, dup := attrs[a.Name]; dup {
					return nil, parseErr(qname(t.Name), fmt.Errorf("%w: duplicate attribute %s", ErrInvalidEnvelope, qname(a.Name)))
				}
				attrs[a.Name] = a.Value
				prefix, isDecl := "", false
				switch {
				case a.Name.Space == "xmlns":
					prefix, isDecl = a.Name.Local, true
				case a.Name.Space == "" && a.Name.Local == "xmlns":
					isDecl = true
				}
				if isDecl {
					if f.ns == nil {
						f.ns = make(map[string]string, 1)
					}
					f.ns[prefix] = a.Value
				}
			}
			stack = append(stack, f)
			uri, declared := resolve(t.Name.Space)
			if !declared {
				return nil, parseErr(qname(t.Name), fmt.Errorf("%w: undeclared prefix %q", ErrInvalidEnvelope, t.Name.Space))
			}
			inNS := uri == Namespace && (o.AnyPrefix || t.Name.Space == Prefix)
			if len(stack) == 1 {
				if !inNS || t.Name.Local != "env" {
					return nil, parseErr(qname(t.Name), fmt.Errorf("%w: root element is not %s:env in %s", ErrInvalidEnvelope, Prefix, Namespace))
				}
				continue
			}
			if len(stack) > 2 {
				if stack[1].field != nil {
					return nil, parseErr(qname(stack[1].name), fmt.Errorf("%w: element inside a text element", ErrInvalidEnvelope))
				}
				continue // inside an unknown child: skipped
			}
			if !inNS {
				continue // unknown child: skipped
			}
			var target **string
			switch t.Name.Local {
			case "data":
				target = &raw.data
				if v, ok := attrs[xml.Name{Local: "type"}]; ok {
					raw.dataType = &v
				}
			case "encoding":
				target = &raw.encoding
			case "alg":
				target = &raw.alg
			case "sig":
				target = &raw.sig
				if v, ok := attrs[xml.Name{Local: "key_id"}]; ok {
					raw.keyID = &v
				}
			default:
				continue // unknown child: skipped
			}
			if *target != nil {
				return nil, parseErr(qname(t.Name), fmt.Errorf("%w: duplicate element", ErrInvalidEnvelope))
			}
			*target = new(string)
			stack[len(stack)-1].field = *target
		case xml.EndElement:
			if len(stack) == 0 || stack[len(stack)-1].name != t.Name {
				return nil, parseErr(qname(t.Name), fmt.Errorf("%w: mismatched end element", ErrInvalidEnvelope))
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				rootDone = true
			}
		}
	}
	if !rootDone {
		return nil, parseErr("", fmt.Errorf("%w: no complete root element", ErrInvalidEnvelope))
	}
	return &raw, nil
}

// check applies the reference's checks to the scanned texts, in its order,
// and decodes the base64 fields.
func (o Options) check(raw *rawEnvelope) (*Envelope, error) {
	switch {
	case raw.data == nil || *raw.data == "":
		return nil, parseErr(Prefix+":data", fmt.Errorf("%w: missing or empty", ErrInvalidEnvelope))
	case raw.sig == nil || *raw.sig == "":
		return nil, parseErr(Prefix+":sig", fmt.Errorf("%w: missing or empty", ErrInvalidEnvelope))
	case raw.dataType == nil || *raw.dataType != DataType:
		return nil, parseErr(Prefix+":data/@type", ErrUnsupportedDataType)
	case raw.encoding == nil || *raw.encoding != Encoding:
		return nil, parseErr(Prefix+":encoding", ErrUnsupportedEncoding)
	case raw.alg == nil || *raw.alg != Algorithm:
		return nil, parseErr(Prefix+":alg", ErrUnsupportedAlgorithm)
	}
	env := &Envelope{dataText: *raw.data, opts: o}
	if raw.keyID != nil {
		b, ok := decodeStrict(*raw.keyID)
		if !ok {
			return nil, parseErr(Prefix+":sig/@key_id", ErrMalformed)
		}
		if err := checkAuthor(string(b)); err != nil {
			return nil, parseErr(Prefix+":sig/@key_id", err)
		}
		env.author, env.hasKeyID = string(b), true
	}
	var ok bool
	if env.payload, ok = decodeStrict(*raw.data); !ok {
		return nil, parseErr(Prefix+":data", ErrMalformed)
	}
	if env.sig, ok = decodeStrict(*raw.sig); !ok {
		return nil, parseErr(Prefix+":sig", ErrMalformed)
	}
	return env, nil
}

// checkAuthor applies the checks a sender name must pass before anybody
// looks its key up. The full diaspora* ID grammar is the entity layer's.
func checkAuthor(a string) error {
	if a == "" || len(a) > maxAuthorLen || !utf8.ValidString(a) || strings.IndexFunc(a, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r)
	}) >= 0 {
		return ErrInvalidAuthor
	}
	return nil
}

func qname(n xml.Name) string {
	if n.Space == "" {
		return n.Local
	}
	return n.Space + ":" + n.Local
}

// Author returns the sender named by the key_id attribute of me:sig. An
// envelope without key_id returns [ErrMissingKeyID]: only a legacy Salmon
// header can name the sender then (see [Envelope.WithAuthor]).
func (e *Envelope) Author() (string, error) {
	if !e.hasKeyID {
		return "", parseErr(Prefix+":sig/@key_id", ErrMissingKeyID)
	}
	return e.author, nil
}

// WithAuthor returns a copy of e whose sender is author, for the callers
// that know the sender from elsewhere (the header of a legacy Salmon
// slap). The signature still has to verify with that sender's key.
func (e *Envelope) WithAuthor(author string) (*Envelope, error) {
	if err := checkAuthor(author); err != nil {
		return nil, err
	}
	c := *e
	c.author, c.hasKeyID = author, true
	return &c, nil
}

// Payload returns the decoded me:data: the entity XML the sender signed.
// The slice is shared: do not modify it.
func (e *Envelope) Payload() []byte { return e.payload }

// Signature returns the decoded signature bytes. The slice is shared: do
// not modify it.
func (e *Envelope) Signature() []byte { return e.sig }

// SignatureBase returns the string the envelope signature covers, built as
// the reference builds it: the payload re-encoded as padded base64url,
// then the base64url forms of the data type, the encoding and the
// algorithm, joined with ".".
func (e *Envelope) SignatureBase() string {
	return base64.URLEncoding.EncodeToString(e.payload) + sigSuffix
}

// Verify checks the envelope signature (RSASSA-PKCS1-v1_5 with SHA-256)
// against pub. It returns nil, [ErrInvalidSignature], or [ErrWeakKey] for
// a key shorter than the minimum the envelope was parsed with.
//
// Like the reference, it verifies the canonical base string
// ([Envelope.SignatureBase]); with [Options.AcceptRawSubject] it also
// accepts a signature over the me:data text exactly as received.
func (e *Envelope) Verify(pub *rsa.PublicKey) error {
	if err := checkPublicKey(pub, e.opts.minKeyBits()); err != nil {
		return err
	}
	if verifyString(pub, e.SignatureBase(), e.sig) {
		return nil
	}
	if e.opts.AcceptRawSubject && e.dataText != "" {
		raw := e.dataText + sigSuffix
		if raw != e.SignatureBase() && verifyString(pub, raw, e.sig) {
			return nil
		}
	}
	return ErrInvalidSignature
}

func verifyString(pub *rsa.PublicKey, base string, sig []byte) bool {
	h := sha256.Sum256([]byte(base))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig) == nil
}

// Sign signs payload for author with default [Options]. See [Options.Sign].
func Sign(payload []byte, author string, key crypto.Signer) (*Envelope, error) {
	return Options{}.Sign(payload, author, key)
}

// Sign builds a Magic Envelope around payload (the entity XML) for the
// sender author, signed with key, which must hold an RSA key of at least
// MinKeyBits. Because PKCS#1 v1.5 signatures are deterministic, the same
// payload, author and key always give the same envelope, byte for byte
// the one the reference produces ([Envelope.Marshal]).
func (o Options) Sign(payload []byte, author string, key crypto.Signer) (*Envelope, error) {
	if len(payload) == 0 {
		return nil, fmt.Errorf("magicenv: sign: empty payload")
	}
	if int64(len(payload)) > o.maxSize() {
		return nil, ErrTooLarge
	}
	if err := checkAuthor(author); err != nil {
		return nil, fmt.Errorf("magicenv: sign: %w", err)
	}
	if key == nil {
		return nil, fmt.Errorf("magicenv: sign: %w: nil key", ErrInvalidKey)
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("magicenv: sign: %w: not an RSA key", ErrInvalidKey)
	}
	if err := checkPublicKey(pub, o.minKeyBits()); err != nil {
		return nil, err
	}
	env := &Envelope{payload: bytes.Clone(payload), author: author, hasKeyID: true, opts: o}
	env.dataText = base64.URLEncoding.EncodeToString(env.payload)
	h := sha256.Sum256([]byte(env.SignatureBase()))
	sig, err := key.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("magicenv: sign: %w", err)
	}
	env.sig = sig
	return env, nil
}

// Marshal returns the envelope as the reference writes it: an XML
// declaration, then me:data, me:encoding, me:alg and me:sig on their own
// lines, indented by two spaces, every base64 field in padded base64url.
// A parsed envelope is re-emitted in that canonical form; its signature
// stays valid because it covers the canonical base string.
func (e *Envelope) Marshal() []byte {
	var b bytes.Buffer
	b.Grow(len(e.payload)*4/3 + len(e.sig)*4/3 + 320)
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<me:env xmlns:me="` + Namespace + `">` + "\n")
	b.WriteString(`  <me:data type="` + DataType + `">`)
	b.WriteString(base64.URLEncoding.EncodeToString(e.payload))
	b.WriteString("</me:data>\n  <me:encoding>" + Encoding + "</me:encoding>\n  <me:alg>" + Algorithm + "</me:alg>\n  <me:sig")
	if e.hasKeyID {
		b.WriteString(` key_id="` + base64.URLEncoding.EncodeToString([]byte(e.author)) + `"`)
	}
	b.WriteString(">")
	b.WriteString(base64.URLEncoding.EncodeToString(e.sig))
	b.WriteString("</me:sig>\n</me:env>\n")
	return b.Bytes()
}
