package salmon

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/go-diaspora/federation/internal/wire"
	"github.com/go-diaspora/federation/internal/xmlsafe"
	"github.com/go-diaspora/federation/magicenv"
)

// Errors of the legacy slap reader. They wrap [magicenv.ErrInvalidEnvelope],
// as the reference's errors for them are envelope errors.
var (
	// ErrMissingAuthor: a public slap without a non-empty header/author_id.
	ErrMissingAuthor = fmt.Errorf("%w: slap without header author", magicenv.ErrInvalidEnvelope)
	// ErrMissingEnvelope: a slap without a me:env child of its root.
	ErrMissingEnvelope = fmt.Errorf("%w: slap without magic envelope", magicenv.ErrInvalidEnvelope)
	// ErrMissingHeader: a private slap without encrypted_header.
	ErrMissingHeader = fmt.Errorf("%w: slap without encrypted header", magicenv.ErrInvalidEnvelope)
	// ErrInvalidHeader: a decrypted slap header that is not a decrypted_header document.
	ErrInvalidHeader = fmt.Errorf("%w: invalid decrypted header", magicenv.ErrInvalidEnvelope)
)

// slapLimits are the XML budgets of a slap: a root, a header of three
// elements, and an envelope of four.
var slapLimits = xmlsafe.Limits{MaxDepth: 8, MaxElements: 64, MaxAttrs: 16}

// Slap is a parsed legacy Salmon slap: the Magic Envelope of pre-2017
// pods, whose sender is named in a header rather than by key_id.
type Slap struct {
	// Author is the sender named by the slap header.
	Author string
	// Envelope is the inner Magic Envelope, its author set to Author.
	// Verify it with Author's public key before trusting anything.
	Envelope *magicenv.Envelope
	// Encrypted reports a private slap, whose envelope data is encrypted.
	Encrypted bool

	key, iv []byte // payload key of a private slap
}

// ParseSlap reads a public legacy slap: <diaspora> with
// <header><author_id> and a <me:env> child. The envelope is checked as
// [magicenv.Parse] checks it (opts gives its options); any key_id
// in it is ignored, as the reference ignored it.
func ParseSlap(body []byte, opts *magicenv.Options) (*Slap, error) {
	root, env, err := readSlap(body, opts)
	if err != nil {
		return nil, err
	}
	found, err := root.Unique(LegacyNamespace, "*", "header")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", magicenv.ErrInvalidEnvelope, err)
	}
	var author string
	if h := found["header"]; h != nil {
		a, err := h.Unique(LegacyNamespace, "*", "author_id")
		if err != nil {
			return nil, fmt.Errorf("%w: %v", magicenv.ErrInvalidEnvelope, err)
		}
		if n := a["author_id"]; n != nil {
			author = n.Text
		}
	}
	if author == "" {
		return nil, ErrMissingAuthor
	}
	return newSlap(author, env)
}

// OpenEncryptedSlap reads a private legacy slap with the recipient's
// private key: it decrypts the header (which names the sender and holds
// the payload key) and checks the envelope. The payload itself is
// decrypted by [Slap.Payload] once the signature has been verified. Every
// decryption failure returns [magicenv.ErrDecrypt].
func OpenEncryptedSlap(body []byte, key crypto.Decrypter, opts *magicenv.Options) (*Slap, error) {
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", magicenv.ErrInvalidKey)
	}
	root, env, err := readSlap(body, opts)
	if err != nil {
		return nil, err
	}
	found, err := root.Unique(LegacyNamespace, "*", "encrypted_header")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", magicenv.ErrInvalidEnvelope, err)
	}
	eh := found["encrypted_header"]
	if eh == nil || eh.Text == "" {
		return nil, ErrMissingHeader
	}
	outer, ok := wire.StringMembers(wire.DecodeLenient(eh.Text), "aes_key", "ciphertext")
	if !ok {
		return nil, fmt.Errorf("%w: encrypted header is not the expected JSON", magicenv.ErrMalformed)
	}
	header, ok := decryptHeader(key, wire.DecodeLenient(outer[0]), wire.DecodeLenient(outer[1]))
	if !ok {
		return nil, magicenv.ErrDecrypt
	}
	h, err := xmlsafe.Parse(header, slapLimits)
	if err != nil || h.Local != "decrypted_header" || h.Space != "" {
		return nil, ErrInvalidHeader
	}
	fields, err := h.Unique("", "", "iv", "aes_key", "author_id")
	if err != nil || fields["iv"] == nil || fields["aes_key"] == nil || fields["author_id"] == nil || fields["author_id"].Text == "" {
		return nil, ErrInvalidHeader
	}
	s, err := newSlap(fields["author_id"].Text, env)
	if err != nil {
		return nil, err
	}
	s.Encrypted = true
	s.key, s.iv = wire.DecodeLenient(fields["aes_key"].Text), wire.DecodeLenient(fields["iv"].Text)
	return s, nil
}

func decryptHeader(key crypto.Decrypter, wrapped, ct []byte) ([]byte, bool) {
	//lint:ignore SA1019 legacy diaspora* slaps encrypt keys with RSAES-PKCS1-v1_5; the protocol leaves no choice
	keyJSON, err := key.Decrypt(rand.Reader, wrapped, &rsa.PKCS1v15DecryptOptions{})
	if err != nil {
		return nil, false
	}
	inner, ok := wire.StringMembers(keyJSON, "key", "iv")
	if !ok {
		return nil, false
	}
	return wire.DecryptCBC(wire.DecodeLenient(inner[0]), wire.DecodeLenient(inner[1]), ct)
}

// readSlap parses the slap document and its me:env child.
func readSlap(body []byte, opts *magicenv.Options) (*xmlsafe.Node, *magicenv.Envelope, error) {
	if opts == nil {
		opts = &magicenv.Options{}
	}
	max := opts.MaxSize
	if max <= 0 {
		max = magicenv.DefaultMaxSize
	}
	if int64(len(body)) > max {
		return nil, nil, magicenv.ErrTooLarge
	}
	root, err := xmlsafe.Parse(body, slapLimits)
	if err != nil {
		if errors.Is(err, xmlsafe.ErrDoctype) {
			return nil, nil, magicenv.ErrDoctype
		}
		return nil, nil, fmt.Errorf("%w: %v", magicenv.ErrInvalidEnvelope, err)
	}
	if root.Local != "diaspora" || root.Space != LegacyNamespace {
		return nil, nil, fmt.Errorf("%w: root element is not diaspora in %s", magicenv.ErrInvalidEnvelope, LegacyNamespace)
	}
	prefix := magicenv.Prefix
	if opts.AnyPrefix {
		prefix = "*"
	}
	var envNode *xmlsafe.Node
	for _, c := range root.Children {
		if c.Space == magicenv.Namespace && c.Local == "env" && (opts.AnyPrefix || c.Prefix == magicenv.Prefix) {
			if envNode != nil {
				return nil, nil, fmt.Errorf("%w: duplicate me:env", magicenv.ErrInvalidEnvelope)
			}
			envNode = c
		}
	}
	if envNode == nil {
		return root, nil, nil
	}
	f, err := envFields(envNode, prefix)
	if err != nil {
		return nil, nil, err
	}
	env, err := magicenv.FromFields(f, opts)
	if err != nil {
		return nil, nil, err
	}
	return root, env, nil
}

// envFields reads the parts of an me:env element into magicenv.Fields.
func envFields(env *xmlsafe.Node, prefix string) (magicenv.Fields, error) {
	var f magicenv.Fields
	found, err := env.Unique(magicenv.Namespace, prefix, "data", "encoding", "alg", "sig")
	if err != nil || env.HasText {
		return f, fmt.Errorf("%w: malformed me:env", magicenv.ErrInvalidEnvelope)
	}
	for _, n := range found {
		if len(n.Children) > 0 {
			return f, fmt.Errorf("%w: element inside %s", magicenv.ErrInvalidEnvelope, n.Name())
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
	// key_id is ignored in slaps: the header names the sender.
	return f, nil
}

func newSlap(author string, env *magicenv.Envelope) (*Slap, error) {
	if env == nil {
		return nil, ErrMissingEnvelope
	}
	named, err := env.WithAuthor(author)
	if err != nil {
		return nil, fmt.Errorf("salmon: slap header author: %w", err)
	}
	return &Slap{Author: author, Envelope: named}, nil
}

// Verify checks the envelope signature with the sender's public key
// ([magicenv.Envelope.Verify]); the signature of a private slap covers the
// still encrypted data, so it is checked before anything is decrypted.
func (s *Slap) Verify(pub *rsa.PublicKey) error { return s.Envelope.Verify(pub) }

// Payload returns the entity XML: the envelope payload of a public slap,
// or, for a private slap, that payload decrypted with the key from the
// header ([magicenv.ErrDecrypt] on any failure). Call it after
// [Slap.Verify].
func (s *Slap) Payload() ([]byte, error) {
	if !s.Encrypted {
		return s.Envelope.Payload(), nil
	}
	plain, ok := wire.DecryptCBC(s.key, s.iv, wire.DecodeLenient(string(s.Envelope.Payload())))
	if !ok {
		return nil, magicenv.ErrDecrypt
	}
	return plain, nil
}
