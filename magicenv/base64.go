package magicenv

import (
	"encoding/base64"
	"strings"
)

// decodeStrict decodes base64 text the way the reference reads me:data,
// me:sig and key_id: URL-safe or standard alphabet (the two may even be
// mixed), padding optional, and nothing else: no white space, no stray
// characters, no non-zero padding bits.
func decodeStrict(s string) ([]byte, bool) {
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		s += strings.Repeat("=", 4-len(s)%4)
	}
	s = strings.Map(func(r rune) rune {
		switch r {
		case '-':
			return '+'
		case '_':
			return '/'
		case '\r', '\n':
			// base64.Decode skips CR and LF; the reference does not.
			return '!'
		}
		return r
	}, s)
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, false
	}
	return b, true
}

// decodeLenient decodes base64 text the way the reference reads the
// fields of an encrypted envelope (Ruby's Base64.decode64): every
// character outside the standard alphabet is skipped, decoding stops at
// the first '=', and a dangling final character is dropped. It never
// fails.
func decodeLenient(s string) []byte {
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
