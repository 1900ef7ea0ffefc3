package magicenv

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/go-diaspora/federation/internal/wire"
)

// EncryptedContentType is the media type of an encrypted envelope body.
const EncryptedContentType = "application/json"

// Member names of the encrypted envelope JSON and of the AES key JSON.
const (
	memberAESKey     = "aes_key"
	memberCiphertext = "encrypted_magic_envelope"
	memberKey        = "key"
	memberIV         = "iv"
)

// Encrypt wraps a signed envelope document (the output of
// [Envelope.Marshal]) for private delivery to one recipient: a fresh
// AES-256 key and IV encrypt the document in CBC mode with PKCS#7 padding,
// and the key JSON {"key","iv"} is encrypted to the recipient's public key
// with RSA PKCS#1 v1.5. The result is the JSON body
// {"aes_key": ..., "encrypted_magic_envelope": ...} in the reference's
// member order and spacing. Every call uses a new key and IV.
//
// opts may be nil, meaning the zero [Options].
func Encrypt(envelope []byte, recipient *rsa.PublicKey, opts *Options) ([]byte, error) {
	return opts.value().encrypt(envelope, recipient)
}

func (o Options) encrypt(envelope []byte, recipient *rsa.PublicKey) ([]byte, error) {
	if len(envelope) == 0 {
		return nil, fmt.Errorf("magicenv: encrypt: empty envelope")
	}
	if int64(len(envelope)) > o.maxSize() {
		return nil, ErrTooLarge
	}
	if err := checkPublicKey(recipient, o.minKeyBits()); err != nil {
		return nil, err
	}
	var secret [32 + aes.BlockSize]byte
	if _, err := io.ReadFull(rand.Reader, secret[:]); err != nil {
		return nil, fmt.Errorf("magicenv: encrypt: %w", err)
	}
	key, iv := secret[:32], secret[32:]
	ct, err := wire.EncryptCBC(key, iv, envelope)
	if err != nil {
		return nil, fmt.Errorf("magicenv: encrypt: %w", err)
	}

	keyJSON := `{"key":"` + base64.StdEncoding.EncodeToString(key) + `","iv":"` + base64.StdEncoding.EncodeToString(iv) + `"}`
	//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
	wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, recipient, []byte(keyJSON))
	if err != nil {
		return nil, fmt.Errorf("magicenv: encrypt: %w", err)
	}
	var b bytes.Buffer
	b.WriteString(`{"aes_key":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(wrapped))
	b.WriteString(`","encrypted_magic_envelope":"`)
	b.WriteString(base64.StdEncoding.EncodeToString(ct))
	b.WriteString(`"}`)
	return b.Bytes(), nil
}

// Decrypt opens an encrypted envelope body with the recipient's private
// key and returns the envelope document inside, ready for [Parse].
//
// A body that is not a JSON object with exactly one string aes_key and one
// string encrypted_magic_envelope (duplicate or case-variant members,
// other types, trailing data) returns [ErrMalformed]. Every failure after
// that (RSA unwrap, the key JSON, key or IV length, ciphertext length,
// PKCS#7 padding) returns [ErrDecrypt] and nothing else, so that a
// receiver cannot be used as a padding oracle. Base64 in the body is read
// leniently, as the reference reads it: white space and line breaks are
// ignored.
//
// opts may be nil, meaning the zero [Options].
func Decrypt(body []byte, key crypto.Decrypter, opts *Options) ([]byte, error) {
	return opts.value().decrypt(body, key)
}

func (o Options) decrypt(body []byte, key crypto.Decrypter) ([]byte, error) {
	if int64(len(body)) > o.maxSize() {
		return nil, ErrTooLarge
	}
	if key == nil {
		return nil, fmt.Errorf("%w: nil key", ErrInvalidKey)
	}
	if pub, ok := rsaPublic(key); !ok {
		return nil, fmt.Errorf("%w: not an RSA key", ErrInvalidKey)
	} else if err := checkPublicKey(pub, o.minKeyBits()); err != nil {
		return nil, err
	}
	outer, ok := wire.StringMembers(body, memberAESKey, memberCiphertext)
	if !ok {
		return nil, fmt.Errorf("%w: not an encrypted envelope JSON object", ErrMalformed)
	}
	plain, ok := decryptParts(key, wire.DecodeLenient(outer[0]), wire.DecodeLenient(outer[1]))
	if !ok {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// decryptParts does the crypto of Decrypt. It reports only success or
// failure, so that no failure can be told from another.
func decryptParts(key crypto.Decrypter, wrapped, ct []byte) ([]byte, bool) {
	//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
	keyJSON, err := key.Decrypt(rand.Reader, wrapped, &rsa.PKCS1v15DecryptOptions{})
	if err != nil {
		return nil, false
	}
	inner, ok := wire.StringMembers(keyJSON, memberKey, memberIV)
	if !ok {
		return nil, false
	}
	return wire.DecryptCBC(wire.DecodeLenient(inner[0]), wire.DecodeLenient(inner[1]), ct)
}
