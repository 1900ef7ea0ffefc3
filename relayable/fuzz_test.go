package relayable

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fuzzSep separates the fields of a fuzz input: name, value, name, value, …
const fuzzSep = "\x00"

func encodeProps(ps []Property) string {
	fields := make([]string, 0, 2*len(ps))
	for _, p := range ps {
		fields = append(fields, p.Name, p.Value)
	}
	return strings.Join(fields, fuzzSep)
}

func decodeProps(s string) []Property {
	if s == "" {
		return nil
	}
	fields := strings.Split(s, fuzzSep)
	if len(fields)%2 != 0 {
		fields = append(fields, "")
	}
	ps := make([]Property, 0, len(fields)/2)
	for i := 0; i < len(fields); i += 2 {
		ps = append(ps, Property{Name: fields[i], Value: fields[i+1]})
	}
	return ps
}

// vectorProps returns the properties of every relayable_xml vector, for seeds.
func vectorProps(tb testing.TB) [][]Property {
	tb.Helper()
	m := loadManifest(tb)
	var out [][]Property
	for _, v := range m.Vectors {
		if v.Kind != "relayable_xml" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(refDir, v.File))
		if err != nil {
			tb.Fatal(err)
		}
		_, ps, err := xmlProps(data)
		if err != nil {
			tb.Fatalf("%s: %v", v.ID, err)
		}
		out = append(out, ps)
	}
	return out
}

func FuzzSignatureString(f *testing.F) {
	for _, ps := range vectorProps(f) {
		f.Add(encodeProps(ps))
	}
	for _, tt := range signatureStringTests {
		f.Add(encodeProps(tt.props))
	}
	f.Fuzz(func(t *testing.T, data string) {
		ps := decodeProps(data)
		got := SignatureString(ps)
		order := Order(ps)

		// Order: distinct names, none with "signature", in first-occurrence
		// order, and every distinct such name of props.
		var want []string
		for _, p := range ps {
			if !strings.Contains(p.Name, "signature") && !slices.Contains(want, p.Name) {
				want = append(want, p.Name)
			}
		}
		if !slices.Equal(order, want) {
			t.Fatalf("Order(%q) = %q, want %q", ps, order, want)
		}

		// The string is the first value of each ordered name, joined by ";".
		values := make([]string, len(order))
		for i, name := range order {
			values[i] = value(ps, name)
		}
		if joined := strings.Join(values, ";"); got != joined {
			t.Fatalf("SignatureString(%q) = %q, want %q", ps, got, joined)
		}

		// Values of signature-named properties and of later duplicates take
		// no part: changing them changes nothing. A value of a signature
		// property can only show up in the string through a kept value.
		changed := slices.Clone(ps)
		for i, p := range changed {
			if strings.Contains(p.Name, "signature") || slices.IndexFunc(ps[:i], func(q Property) bool { return q.Name == p.Name }) >= 0 {
				changed[i].Value = "\uFFFD" + p.Value + "\uFFFD"
			}
		}
		if c := SignatureString(changed); c != got {
			t.Fatalf("ignored values changed the string: %q, was %q", c, got)
		}
		for _, p := range ps {
			if strings.Contains(p.Name, "signature") && p.Value != "" && strings.Contains(got, p.Value) &&
				!strings.Contains(strings.Join(values, ";"), p.Value) {
				t.Fatalf("value %q of %s leaked into %q", p.Value, p.Name, got)
			}
		}

		// Without ";" in values, the fields of the string are the names of Order.
		if !slices.ContainsFunc(values, func(v string) bool { return strings.Contains(v, ";") }) {
			fields := 0
			if len(order) > 0 {
				fields = strings.Count(got, ";") + 1
			} else if got != "" {
				t.Fatalf("no names but string %q", got)
			}
			if fields != len(order) {
				t.Fatalf("%d fields in %q, Order has %d names", fields, got, len(order))
			}
		}

		// The scan for short lists and the map for long ones agree: pad
		// with ignored properties past linearLimit.
		long := slices.Clone(ps)
		for range linearLimit + 1 {
			long = append(long, Property{Name: "pad_signature", Value: "x"})
		}
		if l := SignatureString(long); l != got {
			t.Fatalf("long list gives %q, short %q", l, got)
		}
		if lo := Order(long); !slices.Equal(lo, order) {
			t.Fatalf("long list Order %q, short %q", lo, order)
		}
	})
}

func FuzzVerify(f *testing.F) {
	m := loadManifest(f)
	pub := m.publicKey(f, "alice@pod-a.example.org")
	data, err := os.ReadFile(filepath.Join(refDir, "relayable_xml/comment.xml"))
	if err != nil {
		f.Fatal(err)
	}
	_, ps, err := xmlProps(data)
	if err != nil {
		f.Fatal(err)
	}
	good := value(ps, AuthorSignature)
	goodBytes, err := base64.StdEncoding.DecodeString(good)
	if err != nil {
		f.Fatal(err)
	}
	if err := Verify(ps, good, pub); err != nil {
		f.Fatalf("seed signature does not verify: %v", err)
	}
	unsigned := slices.DeleteFunc(slices.Clone(ps), func(p Property) bool { return p.Name == AuthorSignature })
	unsigned = slices.Clip(unsigned)
	f.Add(good)
	f.Add(wrap(good, 60, "\n"))
	f.Add(strings.TrimRight(good, "="))
	f.Add(good[:100])
	for _, ps := range vectorProps(f) {
		if sig, ok := lookup(ps, AuthorSignature); ok {
			f.Add(sig)
		}
	}
	for _, s := range []string{"", "=", "====", "A", "AA==", "!!!", " \r\n\t", "bm90IGEgc2lnbmF0dXJl", "YQ==YQ=="} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, sig string) {
		err := Verify(ps, sig, pub)
		if err != nil && err != ErrInvalidSignature {
			t.Fatalf("Verify(%q) = %v, want nil or ErrInvalidSignature", sig, err)
		}
		if err == nil && !bytes.Equal(decodeLenient(sig), goodBytes) {
			t.Fatalf("Verify(%q) = nil for a signature that is not the good one", sig)
		}
		withSig := append(unsigned, Property{AuthorSignature, sig})
		err2 := VerifyAuthor(withSig, pub)
		switch {
		case sig == "":
			if err2 == nil || err2 == ErrInvalidSignature {
				t.Fatalf("VerifyAuthor(empty) = %v, want missing", err2)
			}
		case err2 != err:
			t.Fatalf("VerifyAuthor = %v, Verify = %v", err2, err)
		}

		// The lenient decoder reads back any standard base64, with or
		// without padding and with white space anywhere.
		raw := []byte(sig)
		enc := base64.StdEncoding.EncodeToString(raw)
		for _, in := range []string{enc, strings.TrimRight(enc, "="), wrap(enc, 7, "\r\n ")} {
			if got := decodeLenient(in); !bytes.Equal(got, raw) {
				t.Fatalf("decodeLenient(%q) = %x, want %x", in, got, raw)
			}
		}
	})
}
