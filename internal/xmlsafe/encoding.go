package xmlsafe

import (
	"bytes"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// EncodingError reports a document whose bytes ToUTF8 cannot read as
// text. It wraps ErrSyntax, or ErrLimits when the document as UTF-8 would
// be over the size cap.
type EncodingError struct {
	// Encoding is the character encoding the document was being read in
	// ("UTF-8", "UTF-16LE", "UTF-16BE", "ISO-8859-1", "windows-1252",
	// "US-ASCII"), or the declared name ToUTF8 does not know.
	Encoding string
	// Offset is the byte offset in the input where the problem was
	// found, or -1 when it concerns the whole document.
	Offset int
	// Reason says what is wrong.
	Reason string
	// Err is ErrSyntax or ErrLimits.
	Err error
}

// Error implements error.
func (e *EncodingError) Error() string {
	s := e.Err.Error() + ": " + e.Reason
	if e.Encoding != "" {
		s += " (" + e.Encoding + ")"
	}
	if e.Offset >= 0 {
		s += " at byte " + strconv.Itoa(e.Offset)
	}
	return s
}

// Unwrap returns ErrSyntax or ErrLimits.
func (e *EncodingError) Unwrap() error { return e.Err }

// charset is a character encoding ToUTF8 reads.
type charset uint8

const (
	csUnknown charset = iota
	csUTF8
	csUTF16LE
	csUTF16BE
	csLatin1
	csCP1252
	csASCII
	csUCS4 // detected only, to be refused by name
)

func (cs charset) String() string {
	switch cs {
	case csUTF8:
		return "UTF-8"
	case csUTF16LE:
		return "UTF-16LE"
	case csUTF16BE:
		return "UTF-16BE"
	case csLatin1:
		return "ISO-8859-1"
	case csCP1252:
		return "windows-1252"
	case csASCII:
		return "US-ASCII"
	case csUCS4:
		return "UCS-4"
	}
	return "unknown"
}

// utf8Decl replaces the XML declaration of every document ToUTF8
// converts. No declaration that needs replacing is shorter, so that
// replacing one alone never makes a document longer.
const utf8Decl = `<?xml version="1.0"?>`

// maxDecl bounds the length of an XML declaration ToUTF8 reads.
const maxDecl = 256

// ToUTF8 returns data, an XML document, as UTF-8 text that encoding/xml
// reads: without a byte order mark, and with an XML declaration, if any,
// of version 1.0 and encoding UTF-8. Callers must go on with the returned
// slice, to which the offsets of a parser refer.
//
// The encoding is found as the XML specification's appendix F describes
// (https://www.w3.org/TR/xml/#sec-guessing): a byte order mark (UTF-8,
// UTF-16LE or UTF-16BE), else the first bytes of a UTF-16 "<?" without
// one, else the encoding the XML declaration names, else UTF-8. The
// declared encodings read are UTF-8, UTF-16 (either byte order),
// ISO-8859-1 (latin1), windows-1252 and US-ASCII, under their common
// names, matched without regard to case. A declaration of UTF-8 in a
// UTF-16 document yields to the byte order mark or the UTF-16 bytes, as
// in the reference's parser; other disagreements between the bytes and
// the declaration are errors, among them a declaration of UTF-16 written
// in single bytes. A version other than 1.0 (digits '.' digits, such as
// 1.1 or 2.0) is read as 1.0, as the reference's parser does.
//
// A document without byte order mark and without a declaration, or with
// one of version 1.0 (or none) and encoding UTF-8 (or none), is returned
// unchanged, and a UTF-8 byte order mark is cut off, without allocating.
// Otherwise the result is a new slice that begins with
// <?xml version="1.0"?> in place of the declaration (or before the text,
// for a UTF-16 document without one). A declaration ToUTF8 cannot read
// (not closed within 256 bytes, an unknown pseudo-attribute, an unquoted
// value) in a UTF-8 document is left to the XML parser.
//
// The result is valid UTF-8, and ToUTF8 returns it unchanged if given it
// again. Errors are [*EncodingError]s: wrapping ErrLimits when the result
// would be longer than maxSize bytes (maxSize <= 0: no cap), and
// ErrSyntax for everything else: invalid UTF-8, an odd number of bytes or
// an unpaired surrogate in UTF-16, a byte US-ASCII or windows-1252 leaves
// undefined, an unknown encoding, a second byte order mark.
func ToUTF8(data []byte, maxSize int) ([]byte, error) {
	body, cs, bom := sniff(data)
	switch cs {
	case csUTF8:
		return fromUTF8(data, body, bom, maxSize)
	case csUTF16LE, csUTF16BE:
		return fromUTF16(data, body, cs, maxSize)
	}
	return nil, &EncodingError{Encoding: cs.String(), Offset: 0, Reason: "unsupported encoding", Err: ErrSyntax}
}

// sniff finds the encoding of data from its first bytes, and returns the
// document without its byte order mark.
func sniff(data []byte) (body []byte, cs charset, bom bool) {
	switch {
	case bytes.HasPrefix(data, []byte("\x00\x00\xFE\xFF")), bytes.HasPrefix(data, []byte("\xFF\xFE\x00\x00")),
		bytes.HasPrefix(data, []byte("\x00\x00\x00<")), bytes.HasPrefix(data, []byte("<\x00\x00\x00")):
		return data, csUCS4, false
	case bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")):
		return data[3:], csUTF8, true
	case bytes.HasPrefix(data, []byte("\xFF\xFE")):
		return data[2:], csUTF16LE, true
	case bytes.HasPrefix(data, []byte("\xFE\xFF")):
		return data[2:], csUTF16BE, true
	case bytes.HasPrefix(data, []byte("<\x00?\x00")):
		return data, csUTF16LE, false
	case bytes.HasPrefix(data, []byte("\x00<\x00?")):
		return data, csUTF16BE, false
	}
	return data, csUTF8, false
}

// fromUTF8 is ToUTF8 for a document whose first bytes are single-byte
// text: UTF-8 or an 8-bit encoding its declaration names.
func fromUTF8(data, body []byte, bom bool, maxSize int) ([]byte, error) {
	skip := len(data) - len(body)
	if bom {
		if _, cs, bom2 := sniff(body); bom2 || cs != csUTF8 {
			return nil, &EncodingError{Encoding: "UTF-8", Offset: skip, Reason: "a second byte order mark", Err: ErrSyntax}
		}
	}
	d, found := readDecl(body)
	cs := csUTF8
	if found && d.ok {
		if cs = lookupCharset(d.encoding); cs == csUnknown {
			return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip, Reason: "unsupported encoding", Err: ErrSyntax}
		}
	}
	switch cs {
	case csUTF8:
		if !utf8.Valid(body) {
			return nil, &EncodingError{Encoding: "UTF-8", Offset: skip + invalidUTF8(body), Reason: "invalid UTF-8", Err: ErrSyntax}
		}
		if !found || !d.ok || (d.plainVersion() && (d.encoding == nil || bytes.EqualFold(d.encoding, []byte("utf-8")))) {
			if maxSize > 0 && len(body) > maxSize {
				return nil, overCap(maxSize)
			}
			return body, nil
		}
		return convert(body[d.end:], csUTF8, skip+d.end, maxSize)
	case csUTF16LE, csUTF16BE:
		return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip,
			Reason: "UTF-16 declared in single-byte text", Err: ErrSyntax}
	}
	if bom && cs != csASCII {
		return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip,
			Reason: "declared encoding disagrees with the UTF-8 byte order mark", Err: ErrSyntax}
	}
	return convert(body[d.end:], cs, skip+d.end, maxSize)
}

// fromUTF16 is ToUTF8 for a UTF-16 document (found by its byte order
// mark or first bytes).
func fromUTF16(data, body []byte, cs charset, maxSize int) ([]byte, error) {
	skip := len(data) - len(body)
	if len(body)%2 != 0 {
		return nil, &EncodingError{Encoding: cs.String(), Offset: -1, Reason: "odd number of bytes", Err: ErrSyntax}
	}
	// The declaration, if any, is ASCII: read it from the leading ASCII
	// code units.
	var buf [maxDecl]byte
	n := 0
	for ; n < len(buf) && 2*n+1 < len(body); n++ {
		u := unit16(body, 2*n, cs)
		if u >= utf8.RuneSelf {
			break
		}
		buf[n] = byte(u)
	}
	d, found := readDecl(buf[:n])
	start := 0
	if found {
		if !d.ok {
			return nil, &EncodingError{Encoding: cs.String(), Offset: skip, Reason: "malformed XML declaration", Err: ErrSyntax}
		}
		switch lookupCharset(d.encoding) {
		case csUnknown:
			return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip, Reason: "unsupported encoding", Err: ErrSyntax}
		case csUTF8:
			// The bytes are UTF-16 whatever the declaration says.
		case csUTF16LE, csUTF16BE:
			if !utf16Label(d.encoding, cs) {
				return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip,
					Reason: "declared byte order disagrees with the document's", Err: ErrSyntax}
			}
		default:
			return nil, &EncodingError{Encoding: string(d.encoding), Offset: skip,
				Reason: "declared encoding disagrees with the UTF-16 text", Err: ErrSyntax}
		}
		start = 2 * d.end
	}
	return convert(body[start:], cs, skip+start, maxSize)
}

// convert returns utf8Decl followed by src, text in cs, as UTF-8. off is
// the offset of src in the input, for errors.
func convert(src []byte, cs charset, off, maxSize int) ([]byte, error) {
	// First the length, so that the result is allocated once and only
	// when it is within the cap.
	n := len(utf8Decl)
	if cs == csUTF8 { // validated by the caller
		n += len(src)
	} else {
		for i := 0; i < len(src); {
			r, size := decodeChar(src[i:], cs)
			if size < 0 {
				return nil, &EncodingError{Encoding: cs.String(), Offset: off + i, Reason: badChar(cs), Err: ErrSyntax}
			}
			n += utf8.RuneLen(r)
			i += size
		}
	}
	if maxSize > 0 && n > maxSize {
		return nil, overCap(maxSize)
	}
	out := make([]byte, 0, n)
	out = append(out, utf8Decl...)
	if cs == csUTF8 {
		return append(out, src...), nil
	}
	for i := 0; i < len(src); {
		r, size := decodeChar(src[i:], cs)
		out = utf8.AppendRune(out, r)
		i += size
	}
	return out, nil
}

// decodeChar reads the first character of b, in cs. size is -1 for a
// sequence that is not a character.
func decodeChar(b []byte, cs charset) (r rune, size int) {
	switch cs {
	case csUTF8:
		r, size = utf8.DecodeRune(b)
		if r == utf8.RuneError && size <= 1 {
			return r, -1
		}
		return r, size
	case csUTF16LE, csUTF16BE:
		if len(b) < 2 {
			return 0, -1
		}
		r = rune(unit16(b, 0, cs))
		if !utf16.IsSurrogate(r) {
			return r, 2
		}
		if r >= 0xDC00 || len(b) < 4 {
			return 0, -1
		}
		r = utf16.DecodeRune(r, rune(unit16(b, 2, cs)))
		if r == utf8.RuneError {
			return 0, -1
		}
		return r, 4
	case csLatin1:
		return rune(b[0]), 1
	case csCP1252:
		if c := b[0]; c >= 0x80 && c < 0xA0 {
			if r = cp1252[c-0x80]; r == 0 {
				return 0, -1
			}
			return r, 1
		}
		return rune(b[0]), 1
	case csASCII:
		if b[0] >= utf8.RuneSelf {
			return 0, -1
		}
		return rune(b[0]), 1
	}
	return 0, -1
}

// unit16 returns the UTF-16 code unit at b[i:i+2].
func unit16(b []byte, i int, cs charset) uint16 {
	if cs == csUTF16BE {
		return uint16(b[i])<<8 | uint16(b[i+1])
	}
	return uint16(b[i]) | uint16(b[i+1])<<8
}

func badChar(cs charset) string {
	switch cs {
	case csUTF16LE, csUTF16BE:
		return "unpaired surrogate"
	case csCP1252:
		return "byte undefined in windows-1252"
	case csASCII:
		return "byte outside US-ASCII"
	}
	return "invalid UTF-8"
}

func overCap(maxSize int) error {
	return &EncodingError{Offset: -1, Reason: "document as UTF-8 over " + strconv.Itoa(maxSize) + " bytes", Err: ErrLimits}
}

// invalidUTF8 returns the offset of the first invalid UTF-8 sequence of b.
func invalidUTF8(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		i += size
	}
	return -1
}

// cp1252 maps the bytes 0x80 to 0x9F of windows-1252; 0 for the five it
// leaves undefined. The other bytes are those of ISO-8859-1.
var cp1252 = [32]rune{
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
}

// lookupCharset returns the encoding of a declared name, csUTF8 for no
// name, csUnknown for a name it does not know. Every UTF-16 name returns
// csUTF16LE: the byte order comes from the document (see utf16Label).
func lookupCharset(name []byte) charset {
	if name == nil {
		return csUTF8
	}
	var buf [24]byte
	if len(name) > len(buf) {
		return csUnknown
	}
	for i, c := range name {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		buf[i] = c
	}
	switch string(buf[:len(name)]) {
	case "utf-8", "utf8":
		return csUTF8
	case "utf-16", "utf16", "utf-16le", "utf16le", "utf-16be", "utf16be":
		return csUTF16LE
	case "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
		"iso-latin-1", "iso-ir-100", "cp819", "ibm819", "csisolatin1":
		return csLatin1
	case "windows-1252", "cp1252":
		return csCP1252
	case "us-ascii", "ascii", "us", "iso646-us", "ansi_x3.4-1968", "cp367", "ibm367", "csascii":
		return csASCII
	}
	return csUnknown
}

// utf16Label reports whether the UTF-16 name allows the byte order cs:
// UTF-16 allows both, UTF-16LE and UTF-16BE theirs.
func utf16Label(name []byte, cs charset) bool {
	var le, be bool
	if n := len(name); n >= 2 {
		le = (name[n-2]|0x20) == 'l' && (name[n-1]|0x20) == 'e'
		be = (name[n-2]|0x20) == 'b' && (name[n-1]|0x20) == 'e'
	}
	return (!le && !be) || (le && cs == csUTF16LE) || (be && cs == csUTF16BE)
}

// xmlDecl is an XML declaration.
type xmlDecl struct {
	end      int    // its length in bytes
	version  []byte // nil when absent
	encoding []byte // nil when absent
	ok       bool   // well formed, as far as ToUTF8 reads it
}

// plainVersion reports whether d has no version or version 1.0.
func (d *xmlDecl) plainVersion() bool {
	return d.version == nil || string(d.version) == "1.0"
}

// readDecl reads the XML declaration at the start of b, if there is one:
// "<?xml" followed by white space or "?>". d.ok is false for one it cannot
// read: not closed within maxDecl bytes, white space missing, a
// pseudo-attribute other than version, encoding and standalone or one
// given twice, an unquoted value, a version that is not digits '.'
// digits, an encoding name that is not [A-Za-z][A-Za-z0-9._-]*, a
// standalone other than yes or no.
func readDecl(b []byte) (d xmlDecl, found bool) {
	if len(b) < 6 || string(b[:5]) != "<?xml" || (!isSpace(b[5]) && b[5] != '?') {
		return d, false
	}
	if len(b) > maxDecl {
		b = b[:maxDecl]
	}
	var standalone []byte
	for i := 5; ; {
		j := skipSpace(b, i)
		if j+1 < len(b) && b[j] == '?' && b[j+1] == '>' {
			d.end = j + 2
			d.ok = versionNum(d.version) && encName(d.encoding) &&
				(standalone == nil || string(standalone) == "yes" || string(standalone) == "no")
			return d, true
		}
		if j == i {
			return d, true // no white space before a pseudo-attribute
		}
		k := j
		for k < len(b) && ('a' <= b[k] && b[k] <= 'z') {
			k++
		}
		name := b[j:k]
		k = skipSpace(b, k)
		if k >= len(b) || b[k] != '=' {
			return d, true
		}
		k = skipSpace(b, k+1)
		if k >= len(b) || (b[k] != '"' && b[k] != '\'') {
			return d, true
		}
		e := bytes.IndexByte(b[k+1:], b[k])
		if e < 0 {
			return d, true
		}
		value := b[k+1 : k+1+e : k+1+e]
		switch {
		case string(name) == "version" && d.version == nil:
			d.version = value
		case string(name) == "encoding" && d.encoding == nil:
			d.encoding = value
		case string(name) == "standalone" && standalone == nil:
			standalone = value
		default: // unknown or repeated
			return d, true
		}
		i = k + 1 + e + 1
	}
}

// versionNum reports whether v is absent or digits '.' digits.
func versionNum(v []byte) bool {
	if v == nil {
		return true
	}
	dot := bytes.IndexByte(v, '.')
	return dot > 0 && dot < len(v)-1 && digits(v[:dot]) && digits(v[dot+1:])
}

func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// encName reports whether v is absent or matches the EncName production.
func encName(v []byte) bool {
	if v == nil {
		return true
	}
	if len(v) == 0 || !isLetter(v[0]) {
		return false
	}
	for _, c := range v[1:] {
		if !isLetter(c) && !('0' <= c && c <= '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}
