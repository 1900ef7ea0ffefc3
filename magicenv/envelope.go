package magicenv

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-diaspora/federation/internal/rsaverify"
	"github.com/go-diaspora/federation/internal/rules"
	"github.com/go-diaspora/federation/internal/wire"
	"github.com/go-diaspora/federation/internal/xmlsafe"
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
	// raises [Options.MinKeyBits]. It is also the floor: no option goes
	// below it. The same policy holds in discovery and relayable.
	DefaultMinKeyBits = rules.MinKeyBits
	// MinGenerateKeyBits is the shortest key [GenerateKey] makes, whatever
	// the options say.
	MinGenerateKeyBits = rules.MinGenerateBits
	// DefaultKeyBits is the size [GenerateKey] uses for 0: what diaspora* generates.
	DefaultKeyBits = 4096
	// maxAuthorLen is the longest diaspora* ID (255 characters).
	maxAuthorLen = 255
)

// sigSuffix is "." + the base64url forms of DataType, Encoding and
// Algorithm: the constant tail of every signature base string.
const sigSuffix = ".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="

// Options configures parsing, signing, keys and decryption. The zero value
// gives the reference's behaviour with this package's default limits.
// Every function that takes options takes a *Options as its last argument,
// and nil means the zero value (the convention of the whole module).
type Options struct {
	// MaxSize caps the size in bytes of an envelope or an encrypted body.
	// Zero means DefaultMaxSize (1 MiB).
	MaxSize int64

	// MinKeyBits is the shortest RSA key accepted for verifying, signing,
	// decrypting, parsing and generating. Zero, and any value below 1024,
	// means DefaultMinKeyBits (1024: the protocol accepts the keys of old
	// pods). Raise it, to 2048 for example, to refuse short keys; use the
	// same value for discovery.Client.MinKeyBits. [GenerateKey] never makes
	// a key shorter than MinGenerateKeyBits (2048).
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

// value returns the options opts points to, or the zero Options for nil.
func (o *Options) value() Options {
	if o == nil {
		return Options{}
	}
	return *o
}

func (o Options) maxSize() int64 {
	if o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

func (o Options) minKeyBits() int {
	return rules.KeyBits(o.MinKeyBits)
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

// Read reads at most MaxSize bytes from r and parses them with
// [Parse]. A longer input returns [ErrTooLarge] without reading
// past the limit (plus one byte).
//
// opts may be nil, meaning the zero [Options].
func Read(r io.Reader, opts *Options) (*Envelope, error) {
	return opts.value().read(r)
}

func (o Options) read(r io.Reader) (*Envelope, error) {
	b, err := readLimited(r, o.maxSize())
	if err != nil {
		return nil, err
	}
	return o.parse(b)
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
//
// Like the reference, Parse reads envelopes in UTF-16 (with a byte order
// mark or declared), ISO-8859-1, windows-1252 or US-ASCII, of XML version
// 1.1, and after a UTF-8 byte order mark; MaxSize applies to the input
// and to its UTF-8 form. An encoding it cannot read returns
// [ErrInvalidEnvelope].
//
// opts may be nil, meaning the zero [Options].
func Parse(data []byte, opts *Options) (*Envelope, error) {
	return opts.value().parse(data)
}

func (o Options) parse(data []byte) (*Envelope, error) {
	if int64(len(data)) > o.maxSize() {
		return nil, ErrTooLarge
	}
	// From here on data is the document as UTF-8.
	data, err := xmlsafe.ToUTF8(data, int(min(o.maxSize(), math.MaxInt)))
	if err != nil {
		if errors.Is(err, xmlsafe.ErrLimits) {
			return nil, ErrTooLarge
		}
		return nil, parseErr("", fmt.Errorf("%w: %v", ErrInvalidEnvelope, err))
	}
	if f, ok := fastFields(data); ok {
		return o.fromFields(f)
	}
	root, err := xmlsafe.Parse(data, envelopeLimits)
	if err != nil {
		if errors.Is(err, xmlsafe.ErrDoctype) {
			return nil, parseErr("", ErrDoctype)
		}
		return nil, parseErr("", fmt.Errorf("%w: %v", ErrInvalidEnvelope, err))
	}
	if !o.isEnv(root) {
		return nil, parseErr(root.Name(), fmt.Errorf("%w: root element is not %s:env in %s", ErrInvalidEnvelope, Prefix, Namespace))
	}
	f, err := o.fields(root)
	if err != nil {
		return nil, err
	}
	return o.fromFields(f)
}

// Fields are the texts of an envelope's parts as they were found, for
// callers that meet an envelope inside another document (the me:env of a
// legacy Salmon slap) and read it themselves. A missing part is the empty
// string; HasKeyID tells an absent key_id from an empty one.
type Fields struct {
	Data     string // text of me:data
	DataType string // me:data/@type
	Encoding string // text of me:encoding
	Alg      string // text of me:alg
	Sig      string // text of me:sig
	KeyID    string // me:sig/@key_id
	HasKeyID bool   // whether me:sig has a key_id attribute
}

// FromFields applies the checks and decoding of [Parse] to parts
// read elsewhere, and returns the envelope.
//
// opts may be nil, meaning the zero [Options].
func FromFields(f Fields, opts *Options) (*Envelope, error) {
	return opts.value().fromFields(f)
}

func (o Options) fromFields(f Fields) (*Envelope, error) {
	switch {
	case f.Data == "":
		return nil, parseErr(Prefix+":data", fmt.Errorf("%w: missing or empty", ErrInvalidEnvelope))
	case f.Sig == "":
		return nil, parseErr(Prefix+":sig", fmt.Errorf("%w: missing or empty", ErrInvalidEnvelope))
	case f.DataType != DataType:
		return nil, parseErr(Prefix+":data/@type", ErrUnsupportedDataType)
	case f.Encoding != Encoding:
		return nil, parseErr(Prefix+":encoding", ErrUnsupportedEncoding)
	case f.Alg != Algorithm:
		return nil, parseErr(Prefix+":alg", ErrUnsupportedAlgorithm)
	}
	env := &Envelope{dataText: f.Data, opts: o}
	if f.HasKeyID {
		b, ok := wire.DecodeStrict(f.KeyID)
		if !ok {
			return nil, parseErr(Prefix+":sig/@key_id", ErrMalformed)
		}
		if err := checkAuthor(string(b)); err != nil {
			return nil, parseErr(Prefix+":sig/@key_id", err)
		}
		env.author, env.hasKeyID = string(b), true
	}
	var ok bool
	if env.payload, ok = wire.DecodeStrict(f.Data); !ok {
		return nil, parseErr(Prefix+":data", ErrMalformed)
	}
	if env.sig, ok = wire.DecodeStrict(f.Sig); !ok {
		return nil, parseErr(Prefix+":sig", ErrMalformed)
	}
	return env, nil
}

// envelopeLimits are the XML budgets of an envelope document: it has four
// flat children, so anything deep or wide is not an envelope.
var envelopeLimits = xmlsafe.Limits{MaxDepth: 8, MaxElements: 64, MaxAttrs: 16}

// fields reads the envelope parts from the children of an me:env element.
func (o Options) fields(env *xmlsafe.Node) (Fields, error) {
	var f Fields
	if env.HasText {
		return f, parseErr(env.Name(), fmt.Errorf("%w: text outside the envelope elements", ErrInvalidEnvelope))
	}
	prefix := Prefix
	if o.AnyPrefix {
		prefix = "*"
	}
	found, err := env.Unique(Namespace, prefix, "data", "encoding", "alg", "sig")
	if err != nil {
		return f, parseErr(env.Name(), fmt.Errorf("%w: %v", ErrInvalidEnvelope, err))
	}
	for _, n := range found {
		if len(n.Children) > 0 {
			return f, parseErr(n.Name(), fmt.Errorf("%w: element inside a text element", ErrInvalidEnvelope))
		}
	}
	text := func(name string) string {
		if n := found[name]; n != nil {
			return n.Text
		}
		return ""
	}
	f.Data, f.Encoding, f.Alg, f.Sig = text("data"), text("encoding"), text("alg"), text("sig")
	if n := found["data"]; n != nil {
		f.DataType, _ = n.Attr("type")
	}
	if n := found["sig"]; n != nil {
		f.KeyID, f.HasKeyID = n.Attr("key_id")
	}
	return f, nil
}

// isEnv reports whether n is an me:env element under the prefix rules of o.
func (o Options) isEnv(n *xmlsafe.Node) bool {
	return n.Local == "env" && n.Space == Namespace && (o.AnyPrefix || n.Prefix == Prefix)
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

// signatureDigest returns the SHA-256 digest of [Envelope.SignatureBase]
// in one buffer: when me:data was received in the canonical form (padded
// base64url), its text is the start of the base string as it is.
func (e *Envelope) signatureDigest() [sha256.Size]byte {
	n := base64.URLEncoding.EncodedLen(len(e.payload))
	base := make([]byte, 0, n+len(sigSuffix))
	if e.canonicalData() {
		base = append(base, e.dataText...)
	} else {
		base = base64.URLEncoding.AppendEncode(base, e.payload)
	}
	return sha256.Sum256(append(base, sigSuffix...))
}

// canonicalData reports whether dataText is the padded base64url form of
// payload. dataText decoded strictly to payload, which leaves one text of
// each length per alphabet: the canonical one has the padded length and
// no character of the standard alphabet.
func (e *Envelope) canonicalData() bool {
	return len(e.dataText) == base64.URLEncoding.EncodedLen(len(e.payload)) &&
		!strings.ContainsAny(e.dataText, "+/")
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
	h := e.signatureDigest()
	if rsaverify.VerifySHA256(pub, h[:], e.sig) == nil {
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

// verifyString checks an RSASSA-PKCS1-v1_5 SHA-256 signature over base.
// Keys above 2048 bits take a faster path on public data only
// (internal/rsaverify), held to crypto/rsa by a differential fuzz target.
func verifyString(pub *rsa.PublicKey, base string, sig []byte) bool {
	h := sha256.Sum256([]byte(base))
	return rsaverify.VerifySHA256(pub, h[:], sig) == nil
}

// Sign builds a Magic Envelope around payload (the entity XML) for the
// sender author, signed with key, which must hold an RSA key of at least
// MinKeyBits. Because PKCS#1 v1.5 signatures are deterministic, the same
// payload, author and key always give the same envelope, byte for byte
// the one the reference produces ([Envelope.Marshal]).
//
// opts may be nil, meaning the zero [Options].
func Sign(payload []byte, author string, key crypto.Signer, opts *Options) (*Envelope, error) {
	return opts.value().sign(payload, author, key)
}

func (o Options) sign(payload []byte, author string, key crypto.Signer) (*Envelope, error) {
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
