package magicenv

import "bytes"

// fastFields recognises the envelope shape that senders emit — the
// reference's output with or without its XML declaration, any XML white
// space between the elements, children in the reference's order — and
// reads its parts without building an XML tree. Values may only hold
// characters that need no XML processing (no '<', '&', '"', no control
// characters other than none at all), so whatever it accepts, the full
// parser reads the same way; FuzzFastPath holds the two to that.
// Anything else returns ok == false and goes through the full parser.
func fastFields(b []byte) (f Fields, ok bool) {
	b = skipWS(bytes.TrimPrefix(b, []byte(`<?xml version="1.0" encoding="UTF-8"?>`)))
	steps := []struct {
		open  string
		value *string
		close string
	}{
		{`<me:env xmlns:me="` + Namespace + `">`, nil, ""},
		{`<me:data type="`, &f.DataType, `">`},
		{"", &f.Data, "</me:data>"},
		{"<me:encoding>", &f.Encoding, "</me:encoding>"},
		{"<me:alg>", &f.Alg, "</me:alg>"},
		{`<me:sig key_id="`, &f.KeyID, `">`},
		{"", &f.Sig, "</me:sig>"},
		{"</me:env>", nil, ""},
	}
	for i, s := range steps {
		if s.open != "" {
			if i != 2 && i != 6 {
				b = skipWS(b)
			}
			var found bool
			if b, found = bytes.CutPrefix(b, []byte(s.open)); !found {
				return Fields{}, false
			}
		}
		if s.value == nil {
			continue
		}
		end := bytes.Index(b, []byte(s.close))
		if end < 0 || !plain(b[:end]) {
			return Fields{}, false
		}
		*s.value = text(b[:end])
		b = b[end+len(s.close):]
	}
	if len(skipWS(b)) != 0 {
		return Fields{}, false
	}
	f.HasKeyID = true
	return f, true
}

// skipWS skips XML white space.
func skipWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\n' || b[0] == '\r') {
		b = b[1:]
	}
	return b
}

// plain reports whether b holds only printable ASCII other than the
// characters XML gives a meaning to in text or attribute values.
func plain(b []byte) bool {
	for _, c := range b {
		if !plainByte[c] {
			return false
		}
	}
	return true
}

// plainByte is the table of plain.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c <= 0x7e; c++ {
		t[c] = c != '<' && c != '&' && c != '"' && c != '>'
	}
	return t
}()

// text returns b as a string, without a copy for the constant values
// of an envelope.
func text(b []byte) string {
	for _, c := range [...]string{DataType, Encoding, Algorithm} {
		if string(b) == c {
			return c
		}
	}
	return string(b)
}
