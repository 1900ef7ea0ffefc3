package magicenv

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
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

// Encrypt encrypts with default [Options]. See [Options.Encrypt].
func Encrypt(envelope []byte, recipient *rsa.PublicKey) ([]byte, error) {
	return Options{}.Encrypt(envelope, recipient)
}

// Decrypt decrypts with default [Options]. See [Options.Decrypt].
func Decrypt(body []byte, key crypto.Decrypter) ([]byte, error) {
	return Options{}.Decrypt(body, key)
}

// Encrypt wraps a signed envelope document (the output of
// [Envelope.Marshal]) for private delivery to one recipient: a fresh
// AES-256 key and IV encrypt the document in CBC mode with PKCS#7 padding,
// and the key JSON {"key","iv"} is encrypted to the recipient's public key
// with RSA PKCS#1 v1.5. The result is the JSON body
// {"aes_key": ..., "encrypted_magic_envelope": ...} in the reference's
// member order and spacing. Every call uses a new key and IV.
func (o Options) Encrypt(envelope []byte, recipient *rsa.PublicKey) ([]byte, error) {
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
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("magicenv: encrypt: %w", err)
	}
	pad := aes.BlockSize - len(envelope)%aes.BlockSize
	ct := make([]byte, len(envelope)+pad)
	copy(ct, envelope)
	for i := len(envelope); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)

	keyJSON := `{"key":"` + base64.StdEncoding.EncodeToString(key) + `","iv":"` + base64.StdEncoding.EncodeToString(iv) + `"}`
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
// key and returns the envelope document inside, ready for [Options.Parse].
//
// A body that is not a JSON object with exactly one string aes_key and one
// string encrypted_magic_envelope (duplicate or case-variant members,
// other types, trailing data) returns [ErrMalformed]. Every failure after
// that (RSA unwrap, the key JSON, key or IV length, ciphertext length,
// PKCS#7 padding) returns [ErrDecrypt] and nothing else, so that a
// receiver cannot be used as a padding oracle. Base64 in the body is read
// leniently, as the reference reads it: white space and line breaks are
// ignored.
func (o Options) Decrypt(body []byte, key crypto.Decrypter) ([]byte, error) {
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
	outer, ok := stringMembers(body, memberAESKey, memberCiphertext)
	if !ok {
		return nil, fmt.Errorf("%w: not an encrypted envelope JSON object", ErrMalformed)
	}
	plain, ok := decryptParts(key, decodeLenient(outer[0]), decodeLenient(outer[1]))
	if !ok {
		return nil, ErrDecrypt
	}
	return plain, nil
}

// decryptParts does the crypto of Decrypt. It reports only success or
// failure, so that no failure can be told from another.
func decryptParts(key crypto.Decrypter, wrapped, ct []byte) ([]byte, bool) {
	keyJSON, err := key.Decrypt(rand.Reader, wrapped, &rsa.PKCS1v15DecryptOptions{})
	if err != nil {
		return nil, false
	}
	inner, ok := stringMembers(keyJSON, memberKey, memberIV)
	if !ok {
		return nil, false
	}
	aesKey, iv := decodeLenient(inner[0]), decodeLenient(inner[1])
	if len(aesKey) != 32 || len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, false
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	n, ok := unpadPKCS7(plain)
	if !ok {
		return nil, false
	}
	return plain[:n], true
}

// unpadPKCS7 checks PKCS#7 padding of a whole number of AES blocks in time
// that does not depend on the padding value, and returns the unpadded
// length.
func unpadPKCS7(b []byte) (int, bool) {
	pad := int(b[len(b)-1])
	good := subtle.ConstantTimeLessOrEq(1, pad) & subtle.ConstantTimeLessOrEq(pad, aes.BlockSize)
	// Clamp to 1..BlockSize so the index arithmetic below stays in range;
	// an out-of-range pad byte already made good 0.
	clamped := subtle.ConstantTimeSelect(good, pad, aes.BlockSize)
	tail := b[len(b)-aes.BlockSize:]
	for i := range tail {
		// Byte i of the last block is padding when i >= BlockSize-pad.
		inPad := subtle.ConstantTimeLessOrEq(aes.BlockSize-clamped, i)
		good &= subtle.ConstantTimeSelect(inPad, subtle.ConstantTimeByteEq(tail[i], byte(pad)), 1)
	}
	if good != 1 {
		return 0, false
	}
	return len(b) - pad, true
}

// stringMembers reads a JSON object that must hold each of names exactly
// once as a string. Other members are allowed (and skipped) unless they
// repeat or differ from a wanted name only by case. Nothing may follow the
// object.
func stringMembers(data []byte, names ...string) ([]string, bool) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	if tok, err := d.Token(); err != nil || tok != json.Delim('{') {
		return nil, false
	}
	values := make([]string, len(names))
	seen := make(map[string]bool, len(names))
	for d.More() {
		tok, err := d.Token()
		if err != nil {
			return nil, false
		}
		name, _ := tok.(string)
		if seen[name] {
			return nil, false
		}
		seen[name] = true
		idx := -1
		for i, n := range names {
			if name == n {
				idx = i
			} else if strings.EqualFold(name, n) {
				return nil, false
			}
		}
		var v json.RawMessage
		if err := d.Decode(&v); err != nil {
			return nil, false
		}
		if idx < 0 {
			continue
		}
		if err := json.Unmarshal(v, &values[idx]); err != nil || v[0] != '"' {
			return nil, false
		}
	}
	if tok, err := d.Token(); err != nil || tok != json.Delim('}') {
		return nil, false
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, false
	}
	for _, n := range names {
		if !seen[n] {
			return nil, false
		}
	}
	return values, true
}
