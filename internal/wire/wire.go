// Package wire holds the byte-level primitives that several formats of
// the protocol share: the reference's two base64 readers, a strict reader
// for flat JSON objects of strings, and AES-256-CBC with PKCS#7 padding.
package wire

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"strings"
)

// DecodeStrict decodes base64 text the way the reference reads me:data,
// me:sig and key_id (Ruby's Base64.urlsafe_decode64): URL-safe or standard alphabet (the two may even be
// mixed), padding optional, and nothing else: no white space, no stray
// characters, no non-zero padding bits.
func DecodeStrict(s string) ([]byte, bool) {
	// base64.Decode skips CR and LF; the reference does not.
	if strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0 {
		return nil, false
	}
	padded := strings.HasSuffix(s, "=") || len(s)%4 == 0
	// The URL-safe alphabet first: what senders write.
	enc := strictRawURL
	if padded {
		enc = strictURL
	}
	if b, err := enc.DecodeString(s); err == nil {
		return b, true
	}
	switch {
	case strings.ContainsAny(s, "-_"):
		return decodeMixed(s)
	case padded:
		enc = strictStd
	default:
		enc = strictRawStd
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// The strict encodings of DecodeStrict (Strict copies the encoding).
var (
	strictStd    = base64.StdEncoding.Strict()
	strictRawStd = base64.RawStdEncoding.Strict()
	strictURL    = base64.URLEncoding.Strict()
	strictRawURL = base64.RawURLEncoding.Strict()
)

// decodeMixed is DecodeStrict for text that mixes both alphabets and holds
// no CR or LF.
func decodeMixed(s string) ([]byte, bool) {
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		s += strings.Repeat("=", 4-len(s)%4)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, s)
	b, err := strictStd.DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// DecodeLenient decodes base64 text the way the reference reads the
// fields of an encrypted envelope (Ruby's Base64.decode64): every
// character outside the standard alphabet is skipped, decoding stops at
// the first '=', and a dangling final character is dropped. It never
// fails.
func DecodeLenient(s string) []byte {
	buf := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			break
		}
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' {
			buf = append(buf, c)
		}
	}
	if len(buf)%4 == 1 {
		buf = buf[:len(buf)-1]
	}
	out := make([]byte, base64.RawStdEncoding.DecodedLen(len(buf)))
	n, err := base64.RawStdEncoding.Decode(out, buf)
	if err != nil {
		// Unreachable: buf holds only alphabet characters and a valid
		// length. Fail closed rather than return partial data.
		return nil
	}
	return out[:n]
}

// UnpadPKCS7 checks PKCS#7 padding of a whole number of AES blocks in time
// that does not depend on the padding value, and returns the unpadded
// length.
func UnpadPKCS7(b []byte) (int, bool) {
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

// MaxJSONDepth is the deepest nesting StringMembers accepts, the object
// itself counting as level 1 (LIMITS.md R2: JSON depth ≤ 32).
const MaxJSONDepth = 32

// StringMembers reads a JSON object that must hold each of names exactly
// once as a string. Other members are allowed (and skipped) unless they
// repeat, differ from a wanted name only by case, or nest deeper than
// MaxJSONDepth. Nothing may follow the object.
func StringMembers(data []byte, names ...string) ([]string, bool) {
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
			if 1+jsonDepth(v) > MaxJSONDepth {
				return nil, false
			}
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

// jsonDepth returns the nesting depth of a well-formed JSON value: 0 for a
// scalar, 1 for an array or object of scalars, and so on.
func jsonDepth(v []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '[' || c == '{':
			depth++
			deepest = max(deepest, depth)
		case c == ']' || c == '}':
			depth--
		}
	}
	return deepest
}

// DecryptCBC decrypts AES-256-CBC ciphertext with key and iv and removes
// strict PKCS#7 padding. It reports only success or failure.
func DecryptCBC(key, iv, ct []byte) ([]byte, bool) {
	if len(key) != 32 || len(iv) != aes.BlockSize || len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, false
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, false
	}
	plain := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(plain, ct)
	n, ok := UnpadPKCS7(plain)
	if !ok {
		return nil, false
	}
	return plain[:n], true
}

// EncryptCBC pads plain with PKCS#7 and encrypts it with AES-256-CBC.
func EncryptCBC(key, iv, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	ct := make([]byte, len(plain)+pad)
	copy(ct, plain)
	for i := len(plain); i < len(ct); i++ {
		ct[i] = byte(pad)
	}
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, ct)
	return ct, nil
}
