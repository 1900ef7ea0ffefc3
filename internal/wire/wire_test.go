package wire

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestDecodeStrict(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"YWI=", "ab", true},
		{"YWI", "ab", true},        // padding optional
		{"-_8=", "\xfb\xff", true}, // URL-safe alphabet
		{"+/8=", "\xfb\xff", true}, // standard alphabet too
		{"+_8=", "\xfb\xff", true}, // even mixed
		{"", "", true},             // empty is empty
		{"YW I=", "", false},       // white space
		{"YWI=\n", "", false},      // line break
		{"YW\r\nI=", "", false},    // CRLF
		{"YWI==", "", false},       // too much padding
		{"YR==", "", false},        // non-zero padding bits
		{"Y", "", false},           // impossible length
		{"YWI*", "", false},        // stray character
		{"YWI=YWI=", "", false},    // padding in the middle
	}
	for _, tt := range tests {
		got, ok := DecodeStrict(tt.in)
		if ok != tt.ok || (ok && string(got) != tt.want) {
			t.Errorf("DecodeStrict(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := map[string]string{
		"YWI=":        "ab",
		"YW\nI=":      "ab",
		" Y W I = ":   "ab",
		"YWI":         "ab",
		"YWJj":        "abc",
		"YWJjZ":       "abc",  // a dangling character is dropped
		"YWI=garbage": "ab",   // decoding stops at '='
		"-_8A":        "\xf0", // URL-safe characters are skipped, as Ruby does
		"":            "",
	}
	for in, want := range tests {
		if got := DecodeLenient(in); string(got) != want {
			t.Errorf("DecodeLenient(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCBC(t *testing.T) {
	key, iv := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 16)
	for n := 0; n <= 33; n++ {
		plain := bytes.Repeat([]byte{'x'}, n)
		ct, err := EncryptCBC(key, iv, plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct)%16 != 0 || len(ct) <= n {
			t.Fatalf("len(ct) = %d for %d bytes", len(ct), n)
		}
		got, ok := DecryptCBC(key, iv, ct)
		if !ok || !bytes.Equal(got, plain) {
			t.Fatalf("round trip of %d bytes = %q, %v", n, got, ok)
		}
	}
	for name, args := range map[string][3][]byte{
		"short key": {key[:16], iv, make([]byte, 16)},
		"short iv":  {key, iv[:8], make([]byte, 16)},
		"empty":     {key, iv, nil},
		"unaligned": {key, iv, make([]byte, 17)},
	} {
		if _, ok := DecryptCBC(args[0], args[1], args[2]); ok {
			t.Errorf("DecryptCBC(%s) succeeded", name)
		}
	}
}

func TestUnpadPKCS7(t *testing.T) {
	block := func(tail ...byte) []byte { return append(bytes.Repeat([]byte{'a'}, 16-len(tail)), tail...) }
	good := map[int][]byte{15: block(1), 14: block(2, 2), 0: bytes.Repeat([]byte{16}, 16)}
	for n, b := range good {
		if got, ok := UnpadPKCS7(b); !ok || got != n {
			t.Errorf("UnpadPKCS7(%v) = %d, %v; want %d", b, got, ok, n)
		}
	}
	for _, b := range [][]byte{block(0), block(17), block(255), block(1, 2), block(3, 2, 3, 3), bytes.Repeat([]byte{16}, 15)} {
		if len(b) != 16 {
			continue
		}
		if _, ok := UnpadPKCS7(b); ok {
			t.Errorf("UnpadPKCS7(%v) accepted", b)
		}
	}
}

func TestStringMembers(t *testing.T) {
	good := map[string][2]string{
		`{"a":"1","b":"2"}`:                      {"1", "2"},
		` { "b" : "2" , "a" : "1" } `:            {"1", "2"},
		`{"a":"1","x":[1,{"y":2}],"b":"\u0041"}`: {"1", "A"},
	}
	for in, want := range good {
		got, ok := StringMembers([]byte(in), "a", "b")
		if !ok || got[0] != want[0] || got[1] != want[1] {
			t.Errorf("StringMembers(%s) = %q, %v", in, got, ok)
		}
	}
	for _, in := range []string{``, `[]`, `"a"`, `{"a":"1"}`, `{"a":"1","b":2}`, `{"a":"1","b":null}`,
		`{"a":"1","a":"1","b":"2"}`, `{"A":"1","a":"1","b":"2"}`, `{"a":"1","b":"2"}x`, `{"a":"1","b":"2"`,
		`{"a":"1","b":"2","x":1,"x":2}`} {
		if got, ok := StringMembers([]byte(in), "a", "b"); ok {
			t.Errorf("StringMembers(%s) = %q, accepted", in, got)
		}
	}
}

// TestStringMembersDepth is the regression test of hostile case EN-04:
// skipped members may not nest deeper than MaxJSONDepth.
func TestStringMembersDepth(t *testing.T) {
	nested := func(n int, open, close string) string {
		return `{"a":"1","b":"2","x":` + strings.Repeat(open, n) + strings.Repeat(close, n) + `}`
	}
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{nested(MaxJSONDepth-1, "[", "]"), true},
		{nested(MaxJSONDepth, "[", "]"), false},
		{nested(64, "[", "]"), false},
		{`{"a":"1","b":"2","x":` + strings.Repeat(`{"y":`, 40) + `0` + strings.Repeat(`}`, 40) + `}`, false},
		{`{"a":"1","b":"2","x":"` + strings.Repeat(`[`, 64) + `\"` + `"}`, true},
	} {
		if _, ok := StringMembers([]byte(tt.in), "a", "b"); ok != tt.ok {
			t.Errorf("StringMembers(%.60s...) ok = %v, want %v", tt.in, ok, tt.ok)
		}
	}
}

func FuzzStringMembers(f *testing.F) {
	f.Add([]byte(`{"aes_key":"a","encrypted_magic_envelope":"b"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, ok := StringMembers(data, "aes_key", "encrypted_magic_envelope")
		if ok != (got != nil) {
			t.Fatalf("ok = %v with %q", ok, got)
		}
	})
}

// decodeStrictRef is DecodeStrict as it was written first, in one piece:
// the faster DecodeStrict must agree with it on every input.
func decodeStrictRef(s string) ([]byte, bool) {
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

func FuzzDecodeStrict(f *testing.F) {
	for _, s := range []string{"YWI=", "-_8", "YWI", "+_8=", "YW\nI=", "YW=I", "Y", "YQ", "YQ==", "YR==", "YQ=", "ab=cd",
		"", "====", "-_-_", "+/+/", "YWJj", "YWJjZA", "YWJjZA=", "YWJjZA==="} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, ok := DecodeStrict(s)
		rb, rok := decodeStrictRef(s)
		if ok != rok || !bytes.Equal(b, rb) || (ok && b == nil) {
			t.Fatalf("DecodeStrict(%q) = %q, %v; reference %q, %v", s, b, ok, rb, rok)
		}
		if !ok {
			return
		}
		// Whatever decodes strictly decodes the same leniently once the
		// URL-safe characters are mapped back.
		std := bytes.Map(func(r rune) rune {
			switch r {
			case '-':
				return '+'
			case '_':
				return '/'
			}
			return r
		}, []byte(s))
		if l := DecodeLenient(string(std)); !bytes.Equal(l, b) {
			t.Fatalf("strict %q != lenient %q for %q", b, l, s)
		}
	})
}
