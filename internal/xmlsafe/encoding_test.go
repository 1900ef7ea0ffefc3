package xmlsafe

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/go-diaspora/federation/internal/xmlsafe/xmltest"
)

func le(s string) []byte { return xmltest.UTF16(s, false) }
func be(s string) []byte { return xmltest.UTF16(s, true) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

const (
	body   = "<r>\n  <t a=\"x\">caf\u00e9 \U0001F600 &amp; \u20ac</t>\n</r>\n"
	wantRT = "caf\u00e9 \U0001F600 & \u20ac"
)

// sameSlice reports whether a and b are the same bytes in memory.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func TestToUTF8Unchanged(t *testing.T) {
	for name, in := range map[string]string{
		"no declaration":       body,
		"declaration":          `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + body,
		"lower case utf-8":     `<?xml version='1.0' encoding='utf-8'?>` + body,
		"version only":         `<?xml version="1.0"?>` + body,
		"standalone":           `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + body,
		"spaces":               `<?xml  version = "1.0"  ?>` + body,
		"encoding only":        `<?xml encoding="UTF-8"?>` + body,
		"other PI":             `<?xml-stylesheet href="a"?>` + body,
		"upper case XML":       `<?XML version="1.1"?>` + body,
		"leading white space":  " " + `<?xml version="1.1"?>` + body,
		"unreadable decl":      `<?xml version="1.1" foo="bar"?>` + body,
		"unquoted":             `<?xml version=1.1?>` + body,
		"unclosed declaration": `<?xml version="1.1"`,
		"empty":                "",
	} {
		t.Run(name, func(t *testing.T) {
			in := []byte(in)
			out, err := ToUTF8(in, 0)
			if err != nil || !sameSlice(out, in) {
				t.Fatalf("ToUTF8(%q) = %q, %v; want the input", in, out, err)
			}
		})
	}
	in := []byte("\xEF\xBB\xBF" + body)
	if out, err := ToUTF8(in, 0); err != nil || !sameSlice(out, in[3:]) {
		t.Errorf("UTF-8 BOM: %q, %v; want the input after the BOM", out, err)
	}
}

func TestToUTF8Converts(t *testing.T) {
	latin1 := []byte("<r>\n  <t a=\"x\">caf\xe9 &#x1F600; &amp; &#x20AC;</t>\n</r>\n")
	tests := map[string]struct {
		in   []byte
		want string // after utf8Decl
	}{
		"UTF-16LE BOM": {cat([]byte("\xFF\xFE"), le(body)), body},
		"UTF-16BE BOM": {cat([]byte("\xFE\xFF"), be(body)), body},
		"UTF-16LE BOM and declaration": {
			cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="UTF-16"?>`+"\n"+body)), "\n" + body},
		"UTF-16BE BOM and declaration": {
			cat([]byte("\xFE\xFF"), be(`<?xml version="1.0" encoding="utf-16"?>`+body)), body},
		"UTF-16LE BOM, UTF-16LE declared": {
			cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="UTF-16LE"?>`+body)), body},
		"UTF-16 BOM, UTF-8 declared": {
			cat([]byte("\xFE\xFF"), be(`<?xml version="1.0" encoding="UTF-8"?>`+body)), body},
		"UTF-16LE without BOM": {le(`<?xml version="1.0" encoding="UTF-16"?>` + body), body},
		"UTF-16BE without BOM": {be(`<?xml version="1.0" encoding="UTF-16BE"?>` + body), body},
		"UTF-16 other PI":      {le(`<?pi x?>` + body), `<?pi x?>` + body},
		"UTF-16 version 1.1":   {cat([]byte("\xFF\xFE"), le(`<?xml version="1.1"?>`+body)), body},
		"ISO-8859-1":           {cat([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`), latin1), strings.Replace(string(latin1), "\xe9", "\u00e9", 1)},
		"latin1":               {cat([]byte(`<?xml version="1.0" encoding="latin1" standalone="no"?>`), latin1), strings.Replace(string(latin1), "\xe9", "\u00e9", 1)},
		"ISO-8859-1 C1 byte":   {[]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><r>` + "\x85\xff</r>"), "<r>\u0085\u00ff</r>"},
		"windows-1252":         {[]byte(`<?xml version="1.0" encoding="windows-1252"?><r>` + "\x80\x93x\x94\xe9</r>"), "<r>\u20ac\u201cx\u201d\u00e9</r>"},
		"US-ASCII":             {[]byte(`<?xml version="1.0" encoding="US-ASCII"?>` + "\n<r>a</r>"), "\n<r>a</r>"},
		"utf8 name":            {[]byte(`<?xml version="1.0" encoding="utf8"?>` + body), body},
		"version 1.1":          {[]byte(`<?xml version="1.1"?>` + "\r\n" + body), "\r\n" + body},
		"version 1.1 UTF-8":    {[]byte(`<?xml version="1.1" encoding="UTF-8"?>` + body), body},
		"version 2.0":          {[]byte(`<?xml version="2.0"?>` + body), body},
		"BOM and version 1.1":  {[]byte("\xEF\xBB\xBF" + `<?xml version="1.1"?>` + body), body},
		"BOM and US-ASCII":     {[]byte("\xEF\xBB\xBF" + `<?xml version="1.0" encoding="ascii"?><r/>`), "<r/>"},
		"two declarations":     {[]byte(`<?xml version="1.1"?><?xml version="1.1"?>`), `<?xml version="1.1"?>`},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := ToUTF8(tt.in, 0)
			if err != nil {
				t.Fatal(err)
			}
			if want := utf8Decl + tt.want; string(out) != want {
				t.Fatalf("ToUTF8 = %q\nwant %q", out, want)
			}
			again, err := ToUTF8(out, 0)
			if err != nil || !sameSlice(again, out) {
				t.Fatalf("ToUTF8 again = %q, %v", again, err)
			}
		})
	}
}

// TestToUTF8Parse: the converted forms parse to the same tree as the
// UTF-8 form.
func TestToUTF8Parse(t *testing.T) {
	for name, in := range map[string][]byte{
		"UTF-8":        []byte(body),
		"UTF-16LE BOM": cat([]byte("\xFF\xFE"), le(body)),
		"UTF-16BE":     be(`<?xml version="1.0" encoding="UTF-16"?>` + body),
		"ISO-8859-1":   []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><r><t a="x">caf` + "\xe9" + ` &#x1F600; &amp; &#x20AC;</t></r>`),
		"XML 1.1":      []byte(`<?xml version="1.1"?>` + body),
	} {
		out, err := ToUTF8(in, 0)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		root, err := Parse(out, Limits{})
		if err != nil {
			t.Fatalf("%s: Parse: %v", name, err)
		}
		if len(root.Children) != 1 || root.Children[0].Text != wantRT {
			t.Errorf("%s: text %q, want %q", name, root.Children[0].Text, wantRT)
		}
		if v, _ := root.Children[0].Attr("a"); v != "x" {
			t.Errorf("%s: attribute %q", name, v)
		}
	}
}

func TestToUTF8Errors(t *testing.T) {
	tests := map[string]struct {
		in   []byte
		max  int
		want error
	}{
		"odd UTF-16":            {cat([]byte("\xFF\xFE"), le("<r/>"), []byte{'x'}), 0, ErrSyntax},
		"odd UTF-16 no BOM":     {cat(le(`<?xml version="1.0"?><r/>`), []byte{'x'}), 0, ErrSyntax},
		"unpaired high":         {cat([]byte("\xFF\xFE"), le("<r>"), []byte{0x3D, 0xD8}, le("</r>")), 0, ErrSyntax},
		"unpaired low":          {cat([]byte("\xFE\xFF"), be("<r>"), []byte{0xDE, 0x00}, be("</r>")), 0, ErrSyntax},
		"high at the end":       {cat([]byte("\xFF\xFE"), le("<r/>"), []byte{0x3D, 0xD8}), 0, ErrSyntax},
		"two highs":             {cat([]byte("\xFF\xFE"), le("<r>"), []byte{0x3D, 0xD8, 0x3D, 0xD8}, le("</r>")), 0, ErrSyntax},
		"unknown encoding":      {[]byte(`<?xml version="1.0" encoding="bogus"?><r/>`), 0, ErrSyntax},
		"EBCDIC":                {[]byte(`<?xml version="1.0" encoding="EBCDIC-US"?><r/>`), 0, ErrSyntax},
		"UTF-16 in 8 bits":      {[]byte(`<?xml version="1.0" encoding="UTF-16"?><r/>`), 0, ErrSyntax},
		"UTF-8 BOM, latin1":     {[]byte("\xEF\xBB\xBF" + `<?xml version="1.0" encoding="ISO-8859-1"?><r/>`), 0, ErrSyntax},
		"UTF-16 BOM, latin1":    {cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="ISO-8859-1"?><r/>`)), 0, ErrSyntax},
		"LE BOM, UTF-16BE":      {cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="UTF-16BE"?><r/>`)), 0, ErrSyntax},
		"BE bytes, UTF-16LE":    {be(`<?xml version="1.0" encoding="UTF-16LE"?><r/>`), 0, ErrSyntax},
		"UTF-16 unknown":        {cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="bogus"?><r/>`)), 0, ErrSyntax},
		"UTF-16 malformed decl": {cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding=UTF-16?><r/>`)), 0, ErrSyntax},
		"UTF-16 unclosed decl":  {cat([]byte("\xFF\xFE"), le(`<?xml version="1.0"`)), 0, ErrSyntax},
		"invalid UTF-8":         {[]byte("<r>\xff</r>"), 0, ErrSyntax},
		"UTF-8 surrogate":       {[]byte("<r>\xed\xa0\x80</r>"), 0, ErrSyntax},
		"invalid UTF-8 decl":    {[]byte(`<?xml version="1.1"?><r>` + "\xe9</r>"), 0, ErrSyntax},
		"two BOMs":              {[]byte("\xEF\xBB\xBF\xEF\xBB\xBF<r/>"), 0, ErrSyntax},
		"UTF-8 BOM, UTF-16":     {cat([]byte("\xEF\xBB\xBF"), le(`<?xml version="1.0"?><r/>`)), 0, ErrSyntax},
		"UCS-4":                 {[]byte("\x00\x00\xFE\xFF\x00\x00\x00<"), 0, ErrSyntax},
		"cp1252 undefined":      {[]byte(`<?xml version="1.0" encoding="cp1252"?><r>` + "\x81</r>"), 0, ErrSyntax},
		"BOM, ASCII high byte":  {[]byte("\xEF\xBB\xBF" + `<?xml version="1.0" encoding="ascii"?><r>` + "\xc3\xa9</r>"), 0, ErrSyntax},
		"ASCII high byte":       {[]byte(`<?xml version="1.0" encoding="US-ASCII"?><r>` + "\xc3\xa9</r>"), 0, ErrSyntax},
		"over cap":              {[]byte("<r/>"), 3, ErrLimits},
		"over cap latin1":       {[]byte(`<?xml version="1.0" encoding="ISO-8859-1"?><r>` + strings.Repeat("\xe9", 100) + "</r>"), 150, ErrLimits},
		"over cap UTF-16":       {cat([]byte("\xFF\xFE"), le("<r>"+strings.Repeat("\u4e2d", 100)+"</r>")), 300, ErrLimits},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			out, err := ToUTF8(tt.in, tt.max)
			var ee *EncodingError
			if !errors.Is(err, tt.want) || !errors.As(err, &ee) || out != nil {
				t.Fatalf("ToUTF8 = %q, %v; want %v", out, err, tt.want)
			}
			if err.Error() == "" || ee.Reason == "" {
				t.Fatal("empty message")
			}
		})
	}
	// Replacing a declaration alone never makes the document longer.
	for _, d := range []string{`<?xml version="1.1"?>`, `<?xml encoding="us"?>`, `<?xml version="1.0" encoding="utf8"?>`} {
		in := []byte(d + "<r/>")
		if out, err := ToUTF8(in, len(in)); err != nil || len(out) > len(in) {
			t.Errorf("%s: %q, %v", d, out, err)
		}
	}
	// The cap is inclusive, and counts the result.
	in := cat([]byte("\xFF\xFE"), le("<r>"+strings.Repeat("\u4e2d", 100)+"</r>"))
	want := len(utf8Decl) + len("<r></r>") + 300
	if out, err := ToUTF8(in, want); err != nil || len(out) != want {
		t.Errorf("at the cap: %d bytes, %v", len(out), err)
	}
	if _, err := ToUTF8(in, want-1); !errors.Is(err, ErrLimits) {
		t.Errorf("one byte over the cap: %v", err)
	}
}

func TestToUTF8ErrorOffset(t *testing.T) {
	in := []byte(`<?xml version="1.0" encoding="cp1252"?><r>` + "\x8d</r>")
	_, err := ToUTF8(in, 0)
	var ee *EncodingError
	if !errors.As(err, &ee) || ee.Offset != bytes.IndexByte(in, 0x8d) || ee.Encoding != "windows-1252" {
		t.Fatalf("err = %#v", err)
	}
	in = cat([]byte("\xFF\xFE"), le("<r>"), []byte{0x00, 0xDC})
	if _, err = ToUTF8(in, 0); !errors.As(err, &ee) || ee.Offset != 8 || ee.Encoding != "UTF-16LE" {
		t.Fatalf("err = %#v", err)
	}
}

func TestToUTF8NoAllocations(t *testing.T) {
	for _, in := range [][]byte{
		[]byte(body),
		[]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + body),
		[]byte("\xEF\xBB\xBF" + `<?xml version="1.0" encoding="utf-8" standalone="yes"?>` + body),
	} {
		if n := testing.AllocsPerRun(100, func() {
			if _, err := ToUTF8(in, 1<<20); err != nil {
				t.Fatal(err)
			}
		}); n != 0 {
			t.Errorf("%d allocations for %q", int(n), in[:20])
		}
	}
}

// statusMessage is a status message of ordinary size, as it arrives.
var statusMessage = []byte(`<?xml version="1.0" encoding="UTF-8"?>
<status_message>
  <author>alice@pod-a.example.org</author>
  <guid>6bc23f6a8eb9ea65a46628563c8c4ba8</guid>
  <created_at>2023-04-05T06:07:08Z</created_at>
  <provider_display_name>the web</provider_display_name>
  <text>` + strings.Repeat("Hello, federation! Caf\u00e9 \u00fcber alles. ", 20) + `</text>
  <public>true</public>
</status_message>
`)

func BenchmarkToUTF8(b *testing.B) {
	utf16 := cat([]byte("\xFF\xFE"), le(string(statusMessage)))
	for _, bb := range []struct {
		name string
		in   []byte
	}{
		{"common", statusMessage},
		{"UTF-16LE", utf16},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bb.in)))
			for b.Loop() {
				if _, err := ToUTF8(bb.in, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func FuzzToUTF8(f *testing.F) {
	for _, s := range []string{
		body,
		`<?xml version="1.0" encoding="UTF-8"?>` + body,
		`<?xml version="1.1"?>` + body,
		`<?xml version="1.0" encoding="ISO-8859-1"?><r>` + "\xe9</r>",
		`<?xml version="1.0" encoding="windows-1252"?><r>` + "\x80\x81</r>",
		"\xEF\xBB\xBF<r/>",
		"\xEF\xBB\xBF\xEF\xBB\xBF<r/>",
		string(cat([]byte("\xFF\xFE"), le(`<?xml version="1.0" encoding="UTF-16"?>`+body))),
		string(cat([]byte("\xFE\xFF"), be(body))),
		string(be(`<?xml version="1.0" encoding="UTF-16"?><r/>`)),
		string(cat([]byte("\xFF\xFE"), le("<r>"), []byte{0x3D, 0xD8})),
	} {
		f.Add([]byte(s))
	}
	const max = 1 << 16
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := ToUTF8(data, max)
		if err != nil {
			var ee *EncodingError
			if out != nil || !errors.As(err, &ee) || (!errors.Is(err, ErrSyntax) && !errors.Is(err, ErrLimits)) {
				t.Fatalf("ToUTF8 = %q, %v", out, err)
			}
		} else {
			if !utf8.Valid(out) || len(out) > max {
				t.Fatalf("ToUTF8(%q) = %q: invalid UTF-8 or over the cap", data, out)
			}
			again, err := ToUTF8(out, max)
			if err != nil || !sameSlice(again, out) {
				t.Fatalf("ToUTF8(%q) = %q, then %q, %v", data, out, again, err)
			}
		}
		// Plain UTF-8 text without a declaration is kept as is, and its
		// UTF-16 forms read back to it.
		if len(data) > max/4 || !utf8.Valid(data) || bytes.HasPrefix(data, []byte("<?xml")) ||
			bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) || bytes.HasPrefix(data, []byte{0}) {
			return
		}
		if len(data) >= 4 && (string(data[:4]) == "<\x00?\x00" || string(data[:4]) == "\x00<\x00?" || string(data[:4]) == "<\x00\x00\x00") {
			return
		}
		if !sameSlice(out, data) || err != nil {
			t.Fatalf("ToUTF8(%q) = %q, %v; want the input", data, out, err)
		}
		for _, in := range [][]byte{cat([]byte("\xFF\xFE"), le(string(data))), cat([]byte("\xFE\xFF"), be(string(data)))} {
			if out, err := ToUTF8(in, max); err != nil || string(out) != utf8Decl+string(data) {
				t.Fatalf("UTF-16 %q = %q, %v", in, out, err)
			}
		}
	})
}

// FuzzToUTF8Latin1: every byte string is ISO-8859-1 text.
func FuzzToUTF8Latin1(f *testing.F) {
	f.Add([]byte("<r>\xe9\x80\xff</r>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		decl := `<?xml version="1.0" encoding="ISO-8859-1"?>`
		out, err := ToUTF8(cat([]byte(decl), data), 0)
		var want strings.Builder
		want.WriteString(utf8Decl)
		for _, c := range data {
			want.WriteRune(rune(c))
		}
		if err != nil || string(out) != want.String() {
			t.Fatalf("ToUTF8(%q) = %q, %v", data, out, err)
		}
	})
}
