package entities

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// TimeLayout is the canonical timestamp form of the protocol
// (YYYY-MM-DDTHH:MM:SSZ, always UTC).
const TimeLayout = "2006-01-02T15:04:05Z"

// FormatTime returns t in the canonical form (UTC, whole seconds, "Z"), or
// "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(TimeLayout)
}

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999Z0700",
	"2006-01-02 15:04:05.999999999 UTC",
	"2006-01-02 15:04:05.999999999 -0700",
	"2006-01-02 15:04:05.999999999 -07:00",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// ParseTime parses a timestamp leniently, as the reference does: RFC 3339
// with or without fraction and with "Z" or a numeric offset, the legacy
// "YYYY-MM-DD HH:MM:SS UTC" form, and a few close variants. The result is
// in UTC and truncated to whole seconds. ok is false if s is not a
// timestamp.
func ParseTime(s string) (t time.Time, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC().Truncate(time.Second), true
		}
	}
	return time.Time{}, false
}

// parseBool follows the reference: true t yes y 1 and false f no n 0, case
// insensitive; anything else is "no value".
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(s) {
	case "true", "t", "yes", "y", "1":
		return true, true
	case "false", "f", "no", "n", "0":
		return false, true
	}
	return false, false
}

func formatBool(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// parseInt accepts only ASCII digits, as the reference does.
func parseInt(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return n, true
}

// isXMLChar reports whether r is allowed by the XML 1.0 Char production.
func isXMLChar(r rune) bool {
	return r == 0x9 || r == 0xA || r == 0xD ||
		(r >= 0x20 && r <= 0xD7FF) ||
		(r >= 0xE000 && r <= 0xFFFD) ||
		(r >= 0x10000 && r <= 0x10FFFF)
}

// Sanitize replaces every character that XML cannot carry (outside the XML
// 1.0 Char production) and every invalid UTF-8 sequence with U+FFFD, as the
// reference does before serializing or signing a string.
func Sanitize(s string) string {
	clean := true
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
			clean = false
			break
		}
		i += size
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// escapeText writes s as XML character data the way the reference does:
// & < > escaped, CR as &#13; (so that it survives line-end normalization)
// and every non-ASCII character as a hexadecimal character reference, so
// that the output is plain ASCII. s must already be sanitized.
func escapeText(b *strings.Builder, s string) {
	const hex = "0123456789ABCDEF"
	for _, r := range s {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '\r':
			b.WriteString("&#13;")
		case r < 0x80:
			b.WriteByte(byte(r))
		default:
			b.WriteString("&#x")
			var buf [8]byte
			i := len(buf)
			for v := uint32(r); v > 0; v >>= 4 {
				i--
				buf[i] = hex[v&0xF]
			}
			b.Write(buf[i:])
			b.WriteByte(';')
		}
	}
}

func runeLen(s string) int { return utf8.RuneCountInString(s) }
