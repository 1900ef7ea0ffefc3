// Package xmltest holds helpers for the tests of the packages that read
// XML in other encodings (xmlsafe, entities, magicenv).
package xmltest

import "unicode/utf16"

// UTF16 encodes s as UTF-16 in the given byte order, without a byte order
// mark.
func UTF16(s string, bigEndian bool) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		if bigEndian {
			b = append(b, byte(u>>8), byte(u))
		} else {
			b = append(b, byte(u), byte(u>>8))
		}
	}
	return b
}
