package magicenv_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/xmlsafe/xmltest"
	"github.com/go-diaspora/federation/magicenv"
)

// TestParseEncodings: an envelope in the encodings the reference reads
// parses to the same envelope as its UTF-8 form.
func TestParseEncodings(t *testing.T) {
	doc := string(readFile(t, refDir+"magic_envelope_public/status_message_basic.xml"))
	body, ok := strings.CutPrefix(doc, `<?xml version="1.0" encoding="UTF-8"?>`)
	if !ok {
		t.Fatalf("unexpected vector:\n%s", doc)
	}
	want, err := magicenv.Parse([]byte(doc), nil)
	if err != nil {
		t.Fatal(err)
	}
	// A comment with a non-ASCII character: é is 0xE9 in ISO-8859-1 and
	// must be read as such, not as (invalid) UTF-8.
	withComment := strings.Replace(body, "<me:env ", "<!-- caf\u00e9 --><me:env ", 1)
	latin1 := strings.Replace(withComment, "\u00e9", "\xe9", 1)
	forms := map[string][]byte{
		"UTF-16LE BOM":            append([]byte("\xFF\xFE"), xmltest.UTF16(withComment, false)...),
		"UTF-16BE BOM":            append([]byte("\xFE\xFF"), xmltest.UTF16(withComment, true)...),
		"UTF-16LE BOM, declared":  append([]byte("\xFF\xFE"), xmltest.UTF16(`<?xml version="1.0" encoding="UTF-16"?>`+withComment, false)...),
		"UTF-16BE declared":       xmltest.UTF16(`<?xml version="1.0" encoding="UTF-16"?>`+withComment, true),
		"ISO-8859-1":              []byte(`<?xml version="1.0" encoding="ISO-8859-1"?>` + latin1),
		"windows-1252":            []byte(`<?xml version="1.0" encoding="windows-1252"?>` + strings.Replace(latin1, "\xe9", "\x80", 1)),
		"XML 1.1":                 []byte(`<?xml version="1.1" encoding="UTF-8"?>` + body),
		"XML 1.1, no encoding":    []byte(`<?xml version="1.1"?>` + withComment),
		"UTF-8 BOM":               []byte("\xEF\xBB\xBF" + doc),
		"UTF-8 BOM, no decl":      []byte("\xEF\xBB\xBF" + strings.TrimLeft(body, "\n")),
		"UTF-8 BOM and XML 1.1":   []byte("\xEF\xBB\xBF" + `<?xml version="1.1"?>` + body),
		"UTF-8, comment with é":   []byte(withComment),
		"declared US-ASCII":       []byte(`<?xml version="1.0" encoding="US-ASCII"?>` + body),
		"declared utf8 (no dash)": []byte(`<?xml version="1.0" encoding="utf8"?>` + body),
	}
	if !bytes.Contains(forms["ISO-8859-1"], []byte("caf\xe9")) {
		t.Fatal("the ISO-8859-1 form is not in ISO-8859-1")
	}
	pub := &privKey(t, "alice").PublicKey
	for name, in := range forms {
		env, err := magicenv.Parse(in, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		a, err := env.Author()
		if wa, _ := want.Author(); err != nil || a != wa {
			t.Errorf("%s: author %q, %v", name, a, err)
		}
		if !bytes.Equal(env.Payload(), want.Payload()) || !bytes.Equal(env.Signature(), want.Signature()) ||
			env.SignatureBase() != want.SignatureBase() {
			t.Errorf("%s: a different envelope", name)
		}
		if err := env.Verify(pub); err != nil {
			t.Errorf("%s: Verify: %v", name, err)
		}
	}
}

func TestParseEncodingErrors(t *testing.T) {
	good := validEnvelope(t)
	utf16le := append([]byte("\xFF\xFE"), xmltest.UTF16(good, false)...)
	for name, tt := range map[string]struct {
		in   []byte
		want error
	}{
		"odd UTF-16":         {append(utf16le[:len(utf16le):len(utf16le)], 'x'), magicenv.ErrInvalidEnvelope},
		"unpaired surrogate": {append(utf16le[:len(utf16le):len(utf16le)], 0x00, 0xDC), magicenv.ErrInvalidEnvelope},
		"unknown encoding":   {[]byte(strings.Replace(good, "UTF-8", "bogus", 1)), magicenv.ErrInvalidEnvelope},
		"BOM and latin1":     {[]byte("\xEF\xBB\xBF" + strings.Replace(good, "UTF-8", "ISO-8859-1", 1)), magicenv.ErrInvalidEnvelope},
		"two BOMs":           {[]byte("\xEF\xBB\xBF\xEF\xBB\xBF" + good), magicenv.ErrInvalidEnvelope},
		"UTF-16LE declared BE": {append([]byte("\xFF\xFE"), xmltest.UTF16(strings.Replace(good, "UTF-8", "UTF-16BE", 1), false)...),
			magicenv.ErrInvalidEnvelope},
	} {
		if env, err := magicenv.Parse(tt.in, nil); !errors.Is(err, tt.want) || env != nil {
			t.Errorf("%s: %v, %v; want %v", name, env, err, tt.want)
		}
	}
	// MaxSize holds for the input and for its UTF-8 form, which is
	// longer here: every é of the comment takes two bytes.
	latin1 := []byte(strings.Replace(strings.Replace(good, "UTF-8", "ISO-8859-1", 1),
		"<me:env ", "<!--"+strings.Repeat("\xe9", 100)+"--><me:env ", 1))
	for _, tt := range []struct {
		max  int
		want error
	}{
		{len(latin1) - 1, magicenv.ErrTooLarge},
		{len(latin1), magicenv.ErrTooLarge},
		{len(latin1) + 100, nil},
	} {
		if _, err := magicenv.Parse(latin1, &magicenv.Options{MaxSize: int64(tt.max)}); !errors.Is(err, tt.want) {
			t.Errorf("MaxSize %d for %d bytes: %v, want %v", tt.max, len(latin1), err, tt.want)
		}
	}
}
