package entities_test

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/xmlsafe/xmltest"
)

// encodedForms returns doc, UTF-8 XML without a declaration, in the
// encodings the reference reads. Its characters must all be in Latin-1.
func encodedForms(t *testing.T, doc string) map[string][]byte {
	t.Helper()
	var latin1 []byte
	for _, r := range doc {
		if r > 0xFF {
			t.Fatalf("%q is not in Latin-1", r)
		}
		latin1 = append(latin1, byte(r))
	}
	return map[string][]byte{
		"UTF-16LE BOM": append([]byte("\xFF\xFE"), xmltest.UTF16(doc, false)...),
		"UTF-16BE BOM": append([]byte("\xFE\xFF"), xmltest.UTF16(doc, true)...),
		"UTF-16LE BOM and declaration": append([]byte("\xFF\xFE"),
			xmltest.UTF16(`<?xml version="1.0" encoding="UTF-16"?>`+"\n"+doc, false)...),
		"UTF-16BE declared, no BOM": xmltest.UTF16(`<?xml version="1.0" encoding="UTF-16"?>`+"\n"+doc, true),
		"ISO-8859-1":                append([]byte(`<?xml version="1.0" encoding="ISO-8859-1"?>`+"\n"), latin1...),
		"XML 1.1":                   []byte(`<?xml version="1.1"?>` + "\r\n" + doc),
		"UTF-8 BOM and XML 1.1":     []byte("\xEF\xBB\xBF" + `<?xml version="1.1" encoding="UTF-8"?>` + doc),
	}
}

const statusMessageXML = `<status_message>
  <author>alice@pod-a.example.org</author>
  <guid>6bc23f6a8eb9ea65a46628563c8c4ba8</guid>
  <created_at>2023-04-05T06:07:08Z</created_at>
  <public>true</public>
  <text>Caf` + "\u00e9" + ` cr` + "\u00e8" + `me &amp; &#x1F600; &lt;3</text>
</status_message>
`

func TestParseXMLEncodings(t *testing.T) {
	want, err := entities.ParseXML([]byte(statusMessageXML), nil)
	if err != nil {
		t.Fatal(err)
	}
	if text := want.(*entities.StatusMessage).Text; text != "Caf\u00e9 cr\u00e8me & \U0001F600 <3" {
		t.Fatalf("UTF-8 text = %q", text)
	}
	forms := encodedForms(t, statusMessageXML)
	if !bytes.Contains(forms["ISO-8859-1"], []byte("Caf\xe9 cr\xe8me")) {
		t.Fatal("the ISO-8859-1 form is not in ISO-8859-1")
	}
	for name, in := range forms {
		got, err := entities.ParseXML(in, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}

// TestParseXMLEncodingsRelayable: a relayable read from another encoding
// keeps its signature and its unknown elements, and is emitted as UTF-8.
func TestParseXMLEncodingsRelayable(t *testing.T) {
	doc, err := os.ReadFile("../testdata/vectors/reference/relayable_xml/comment_extra_elements.xml")
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pem")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	base, err := entities.ParseXML(doc, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantOut, err := entities.MarshalXML(base)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(wantOut, []byte("<new_property>a value from the future</new_property>")) {
		t.Fatalf("unknown element not re-emitted:\n%s", wantOut)
	}
	for name, in := range encodedForms(t, string(doc)) {
		e, err := entities.ParseXML(in, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		r, ok := e.(entities.Relayable)
		if !ok {
			t.Fatalf("%s: %T is not a relayable", name, e)
		}
		if err := r.VerifyAuthorSignature(&key.PublicKey); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		out, err := entities.MarshalXML(e)
		if err != nil || !bytes.Equal(out, wantOut) {
			t.Errorf("%s: MarshalXML = %v\n%s\nwant\n%s", name, err, out, wantOut)
		}
	}
}

func TestParseXMLEncodingsUnknownEntity(t *testing.T) {
	doc := "<future_thing>\n  <x>\u00e9</x>\n</future_thing>"
	for name, in := range encodedForms(t, doc) {
		e, err := entities.ParseXML(in, nil)
		u, ok := e.(*entities.UnknownEntity)
		if !errors.Is(err, entities.ErrUnknownEntity) || !ok {
			t.Fatalf("%s: %v, %v", name, e, err)
		}
		if string(u.Raw) != doc {
			t.Errorf("%s: Raw = %q, want %q", name, u.Raw, doc)
		}
	}
}

func TestParseXMLEncodingErrors(t *testing.T) {
	utf16le := func(s string) []byte {
		b := []byte("\xFF\xFE")
		for _, u := range utf16.Encode([]rune(s)) {
			b = append(b, byte(u), byte(u>>8))
		}
		return b
	}
	for name, in := range map[string][]byte{
		"odd UTF-16":       append(utf16le(statusMessageXML), 'x'),
		"unpaired":         append(utf16le("<status_message><text>"), 0x00, 0xDC),
		"unknown encoding": []byte(`<?xml version="1.0" encoding="bogus"?>` + statusMessageXML),
		"UTF-16 in 8 bits": []byte(`<?xml version="1.0" encoding="UTF-16"?>` + statusMessageXML),
		"BOM and latin1":   []byte("\xEF\xBB\xBF" + `<?xml version="1.0" encoding="ISO-8859-1"?>` + statusMessageXML),
		"two BOMs":         []byte("\xEF\xBB\xBF\xEF\xBB\xBF" + statusMessageXML),
	} {
		if _, err := entities.ParseXML(in, nil); !errors.Is(err, entities.ErrMalformed) || errors.Is(err, entities.ErrLimit) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	// The size limit holds for the input and for its UTF-8 form: UTF-16
	// CJK text grows by half.
	in := utf16le("<status_message><text>" + strings.Repeat("\u4e2d", 200) + "</text></status_message>")
	var le *entities.LimitError
	if _, err := entities.ParseXML(in, &entities.Options{MaxSize: len(in) - 1}); !errors.As(err, &le) || le.Limit != "size" {
		t.Errorf("input over MaxSize: %v", err)
	}
	if _, err := entities.ParseXML(in, &entities.Options{MaxSize: len(in)}); !errors.As(err, &le) || le.Limit != "size" {
		t.Errorf("UTF-8 form over MaxSize: %v", err)
	}
	if _, err := entities.ParseXML(in, &entities.Options{MaxSize: 2 * len(in)}); errors.As(err, &le) {
		t.Errorf("within MaxSize: %v", err)
	}
}

// FuzzParseXMLUTF16: a document and its UTF-16 form (with a byte order
// mark) parse alike.
func FuzzParseXMLUTF16(f *testing.F) {
	f.Add([]byte(statusMessageXML))
	f.Add([]byte("<comment><author>a@b.c</author><x><y>1</y></x><text>\u00e9"))
	f.Add([]byte("<future_thing><x>\U0001F600</x></future_thing>"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !utf8.Valid(data) || bytes.HasPrefix(data, []byte("<?xml")) || bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) ||
			bytes.HasPrefix(data, []byte{0}) {
			return
		}
		in := []byte("\xFF\xFE")
		for _, u := range utf16.Encode([]rune(string(data))) {
			in = append(in, byte(u), byte(u>>8))
		}
		opts := &entities.Options{Now: func() time.Time { return time.Unix(1700000000, 0) }}
		e1, err1 := entities.ParseXML(data, opts)
		e2, err2 := entities.ParseXML(in, opts)
		if (err1 == nil) != (err2 == nil) || entities.Category(err1) != entities.Category(err2) {
			t.Fatalf("UTF-8: %v\nUTF-16: %v", err1, err2)
		}
		if u1, ok := e1.(*entities.UnknownEntity); ok {
			if u2, ok := e2.(*entities.UnknownEntity); !ok || !reflect.DeepEqual(u1, u2) {
				t.Fatalf("unknown entity %+v, then %+v", e1, e2)
			}
		}
		if err1 != nil {
			return
		}
		out1, err1 := entities.MarshalXML(e1)
		out2, err2 := entities.MarshalXML(e2)
		if !bytes.Equal(out1, out2) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("MarshalXML: %q, %v\nthen %q, %v", out1, err1, out2, err2)
		}
	})
}
