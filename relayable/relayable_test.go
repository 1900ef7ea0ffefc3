package relayable

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"slices"
	"strings"
	"testing"
)

func props(kv ...string) []Property {
	if len(kv)%2 != 0 {
		panic("props: odd number of arguments")
	}
	var ps []Property
	for i := 0; i < len(kv); i += 2 {
		ps = append(ps, Property{Name: kv[i], Value: kv[i+1]})
	}
	return ps
}

var signatureStringTests = []struct {
	name  string
	props []Property
	want  string
	order []string
}{
	{"none", nil, "", nil},
	{"empty slice", []Property{}, "", nil},
	{"one", props("author", "alice@pod.example"), "alice@pod.example", []string{"author"}},
	{"document order",
		props("text", "hi", "guid", "g", "author", "a"),
		"hi;g;a", []string{"text", "guid", "author"}},
	{"author_signature dropped",
		props("author", "a", "guid", "g", "author_signature", "SIG"),
		"a;g", []string{"author", "guid"}},
	{"signature in the middle dropped",
		props("author", "a", "author_signature", "SIG", "guid", "g"),
		"a;g", []string{"author", "guid"}},
	{"parent_author_signature dropped",
		props("author", "a", "parent_author_signature", "P", "author_signature", "S"),
		"a", []string{"author"}},
	{"any name containing signature dropped",
		props("signature", "1", "foo_signature_bar", "2", "signatures", "3", "x", "4", "my_signature", "5"),
		"4", []string{"x"}},
	{"names are case sensitive",
		props("Signature", "kept", "SIGNATURE", "kept too"),
		"kept;kept too", []string{"Signature", "SIGNATURE"}},
	{"only signatures", props("author_signature", "S"), "", nil},
	{"unknown names kept in place",
		props("author", "a", "guid", "g", "mood", "happy", "text", "t"),
		"a;g;happy;t", []string{"author", "guid", "mood", "text"}},
	{"empty values keep their slot",
		props("a", "a", "b", "", "c", "c"),
		"a;;c", []string{"a", "b", "c"}},
	{"all empty",
		props("a", "", "b", "", "c", ""),
		";;", []string{"a", "b", "c"}},
	{"leading and trailing empty",
		props("a", "", "b", "x", "c", ""),
		";x;", []string{"a", "b", "c"}},
	{"semicolons not escaped",
		props("text", "Nice; thanks!", "z", "last;with;semicolons"),
		"Nice; thanks!;last;with;semicolons", []string{"text", "z"}},
	{"first occurrence wins",
		props("author", "a", "text", "first", "guid", "g", "text", "second"),
		"a;first;g", []string{"author", "text", "guid"}},
	{"first occurrence keeps its position",
		props("text", "first", "author", "a", "text", "second"),
		"first;a", []string{"text", "author"}},
	{"duplicate signature ignored",
		props("a", "1", "author_signature", "S1", "author_signature", "S2"),
		"1", []string{"a"}},
	{"empty first occurrence wins",
		props("text", "", "text", "later"),
		"", []string{"text"}},
	{"empty name is a name",
		props("", "v", "a", "w", "", "dup"),
		"v;w", []string{"", "a"}},
	{"whitespace kept",
		props("text", "  padded\n", "b", "\t"),
		"  padded\n;\t", []string{"text", "b"}},
	{"CR inside a value",
		props("text", "line one\r\nline two\r", "b", "x"),
		"line one\r\nline two\r;x", []string{"text", "b"}},
	{"UTF-8 untouched",
		props("text", "Grüße 👍 e\u0301", "b", "日本語"),
		"Grüße 👍 e\u0301;日本語", []string{"text", "b"}},
	{"comment with a semicolon and an unknown element",
		props("author", "alice@pod.example",
			"guid", "4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f",
			"parent_guid", "9e0c1a2b3c4d5e6f708192a3b4c5d6e7",
			"text", "Nice; thanks!",
			"created_at", "2024-03-01T17:05:09Z",
			"mood", "happy",
			"author_signature", "⟨sig⟩"),
		"alice@pod.example;4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f;9e0c1a2b3c4d5e6f708192a3b4c5d6e7;Nice; thanks!;2024-03-01T17:05:09Z;happy",
		[]string{"author", "guid", "parent_guid", "text", "created_at", "mood"}},
}

func TestSignatureString(t *testing.T) {
	for _, tt := range signatureStringTests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SignatureString(tt.props); got != tt.want {
				t.Errorf("SignatureString(%q) = %q, want %q", tt.props, got, tt.want)
			}
			if got := Order(tt.props); !slices.Equal(got, tt.order) {
				t.Errorf("Order(%q) = %q, want %q", tt.props, got, tt.order)
			}
		})
	}
}

// TestSignatureStringMany covers the map-based duplicate check used for long
// property lists, against the scan used for short ones.
func TestSignatureStringMany(t *testing.T) {
	for _, n := range []int{linearLimit - 1, linearLimit, linearLimit + 1, 4 * linearLimit} {
		var ps []Property
		var want []string
		for i := range n {
			name := string(rune('a' + i%40))
			if i%40 >= 26 {
				name = "x_signature_" + name
			}
			ps = append(ps, Property{Name: name, Value: name + "!"})
			if i < 26 {
				want = append(want, name+"!")
			}
		}
		if got, w := SignatureString(ps), strings.Join(want, ";"); got != w {
			t.Errorf("n=%d: SignatureString = %q, want %q", n, got, w)
		}
		if got := len(Order(ps)); got != min(n, 26) {
			t.Errorf("n=%d: len(Order) = %d, want %d", n, got, min(n, 26))
		}
	}
}

// TestSignatureStringDoesNotModify checks that the input is left alone.
func TestSignatureStringDoesNotModify(t *testing.T) {
	ps := props("b", "2", "author_signature", "S", "a", "1", "b", "3")
	before := slices.Clone(ps)
	SignatureString(ps)
	Order(ps)
	if !slices.Equal(ps, before) {
		t.Errorf("props changed to %q", ps)
	}
}

func TestDecodeLenient(t *testing.T) {
	tests := []struct {
		name, in string
		want     []byte
	}{
		{"empty", "", []byte{}},
		{"padded", "YWJj", []byte("abc")},
		{"one pad", "YWI=", []byte("ab")},
		{"two pads", "YQ==", []byte("a")},
		{"no padding 2", "YWI", []byte("ab")},
		{"no padding 1", "YQ", []byte("a")},
		{"lone char ignored", "YWJjZ", []byte("abc")},
		{"newlines", "YW\nJj\r\nZA==\n", []byte("abcd")},
		{"spaces and tabs", " Y W J j\tZ A = = ", []byte("abcd")},
		{"other junk", "YW*Jj!ZA", []byte("abcd")},
		{"base64url chars are junk", "YW-J_j", []byte("abc")},
		{"stops at padding", "YQ==YWJj", []byte("a")},
		{"early = skipped", "=Y=Q", []byte("a")},
		{"non-ASCII skipped", "YWJ\u00e9j", []byte("abc")},
		{"only junk", "!!! \n", []byte{}},
		{"only padding", "====", []byte{}},
		{"all values", "+/+/", []byte{0xfb, 0xff, 0xbf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := decodeLenient(tt.in); !bytes.Equal(got, tt.want) {
				t.Errorf("decodeLenient(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestDecodeLenientRoundTrip(t *testing.T) {
	for n := range 70 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i*37 + n)
		}
		std := base64.StdEncoding.EncodeToString(b)
		for _, in := range []string{std, strings.TrimRight(std, "="), wrap(std, 60, "\n"), wrap(std, 1, " ")} {
			if got := decodeLenient(in); !bytes.Equal(got, b) {
				t.Fatalf("decodeLenient(%q) = %x, want %x", in, got, b)
			}
		}
	}
}

// wrap inserts sep after every n characters of s, and after the last one, as
// Ruby's Base64.encode64 does with n = 60 and sep = "\n".
func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString(sep)
		s = s[n:]
	}
	b.WriteString(s)
	b.WriteString(sep)
	return b.String()
}

// The A vectors of TestSpecVectors come from the reference's comment
// integration spec, with a 1024-bit key.
const specKeyA = `-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCxTbMp+M5sCUDVi9k1wMxedSwy
LQcjBKQa0Qs6Qpnflz0k90hhbtau0cy9jTK6S3CK2GhERXD6EecDlhZCbnSI9Bwm
co5j6NbGPN5ai9tWgiBZzaEryOVMQ4qCh1fKOMPX/LCvPzH+K7f8Q92zCuSvKSof
g6zpg1zxGahpmxwqFQIDAQAB
-----END PUBLIC KEY-----
`

// specKeyB is the 2048-bit key of the jaywink/federation tests
// (https://github.com/jaywink/federation, federation/tests/fixtures/keys.py).
const specKeyB = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAiY2JBgMV90ULt0btku19
8l6wGuzn3xCcHs+eBZHL2C+XWRA3BVDThSBj19dKXehfDphQ5u/Omfm76ImajEPH
GBiYtZT7AgcO15zvm+JCpbREbdOVQkST3ANyqCzi+Fk0ZWRwXQTR9m64ML++42iK
0BESUbbrVnKipZJ1tE73xs1XBM8JDCOIdM2VBVdDArNJZHGzqugEbDzwh0SqEsKY
LE7uzst+eY9vIAbyX80pNzC/d1J83Pia5WvRV0gtllkMXlGnTIortDJuEr496a8U
qfPWDWNg4scCca6aSk/13Q8ClEbPX1sdW4s9yW9OmGg0VMZj+Tca3Jls/3FJosH0
yQIDAQAB
-----END PUBLIC KEY-----
`

func pemPublicKey(t *testing.T, s string) *rsa.PublicKey {
	t.Helper()
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		t.Fatal("no PEM block")
	}
	return parsePublicKey(t, block.Bytes)
}

const (
	specA1 = "SQbLeqsEpFmSl74G1fFJXKQcsq6jp5B2ZjmfEOF/LbBccYP2oZEyEqOq18K3Fa71OYTp6Nddb38hCmHWWHvnGUltGfxKBnQ0WHafJUi40VM4VmeRoU8cac6m+1hslwe5SNmK6oh47EV3mRCXlgGGjLIrw7iEwjKL2g9x1gkNp2s="
	specA2 = "SFYXSvCX/DhTFiOUALp2Nf1kfNkGKXrnoBPikAyhaIogGydVBm+8tIlu1U/vsnpyKO3yfC3JReJ00/UBd4J16VO1IxStntq8NUqbSv4me5A/6kdK9Xg6eYbXrqQGm8fUQ5Xuh2UzeB71p7SVySXX3OZHVe0dvHCxH/lsfSDpEjc="
	specA3 = "XU5X1uqTh8SY6JMG9uhEVR5Rg7FURV6lpRwl/HYOu6DJ3Hd9tpA2aSFFibUxxsMgJXKNrrc5SykrrEdTiQoEei+j0QqZf3B5R7r84qgK7M46KazwIpqRPwVl2MdA/0DdQyYJLA/oavNj1nwll9vtR87M7e/C94qG6P+iQTMBQzo="
	specB3 = "hVdLwsWXe6yVy88m9H1903+Bj/DjSGsYL+ZIpEz+G6u/aVx6QfsvnWHzasjqN8SU+brHfL0c8KrapWcACO+jyCuXlHMZb9zKmJkHRFSOiprCJ3tqNpv/4MIa9CXu0YDqnLHBSyxS01luKw3EqgpWPQdYcqDpOkjjTOq45dQC0PGHA/DXjP7LBptV9AwW200LIcL5Li8tDUa8VSQybspDDfDpXU3+Xl5tJIBVS4ercPczp5B39Cwne4q2gyj/Y5RdIoX5RMqmFhfucw1he38T1oRC9AHTJqj4CBcDt7gc6jPHuzkN7u1eUf0IK3+KTDKsCkkoHcGaoxT+NeWcS8Ki1A=="
)

// TestSpecVectors replays published relayable signatures: A, the
// reference's comment integration spec
// (https://github.com/diaspora/diaspora_federation/blob/develop/spec/integration/comment_integration_spec.rb);
// B, a real-world legacy comment of jaywink/federation's
// federation/tests/fixtures/keys.py (SIGNATURE3, by specKeyB's key).
func TestSpecVectors(t *testing.T) {
	keyA := pemPublicKey(t, specKeyA)
	keyB := pemPublicKey(t, specKeyB)
	a1 := props(
		"author", "alice@pod-a.org",
		"guid", "e21589b0b41101333b870f77ba60fa73",
		"parent_guid", "9e269ae0b41201333b8c0f77ba60fa73",
		"text", "this is a very informative comment")
	a2 := append(slices.Clone(a1), Property{"new_data", "foobar"})
	a3 := append(slices.Clone(a1[1:]), a1[0])
	b := props(
		"guid", "0dd40d800db1013514416c626dd55703",
		"parent_guid", "69ab2b83-aa69-4456-ad0a-dd6697f54714",
		"text", "Woop Woop",
		"diaspora_handle", "jaywink@iliketoast.net")

	tests := []struct {
		name    string
		props   []Property
		pub     *rsa.PublicKey
		sig     string
		wantStr string
		wantErr error
	}{
		{"A1", a1, keyA, specA1, "alice@pod-a.org;e21589b0b41101333b870f77ba60fa73;9e269ae0b41201333b8c0f77ba60fa73;this is a very informative comment", nil},
		{"A2 unknown element", a2, keyA, specA2, "alice@pod-a.org;e21589b0b41101333b870f77ba60fa73;9e269ae0b41201333b8c0f77ba60fa73;this is a very informative comment;foobar", nil},
		{"A3 legacy order", a3, keyA, specA3, "e21589b0b41101333b870f77ba60fa73;9e269ae0b41201333b8c0f77ba60fa73;this is a very informative comment;alice@pod-a.org", nil},
		{"B legacy comment", b, keyB, specB3, "0dd40d800db1013514416c626dd55703;69ab2b83-aa69-4456-ad0a-dd6697f54714;Woop Woop;jaywink@iliketoast.net", nil},
		{"A1 with two elements swapped", []Property{a1[1], a1[0], a1[2], a1[3]}, keyA, specA1, "", ErrInvalidSignature},
		{"A2 with new_data removed", a1, keyA, specA2, "", ErrInvalidSignature},
		{"A1 signature on A3 order", a3, keyA, specA1, "", ErrInvalidSignature},
		{"A1 with the wrong key", a1, keyB, specA1, "", ErrInvalidSignature},
		{"B truncated", b, keyB, specB3[:len(specB3)-8], "", ErrInvalidSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.wantStr != "" {
				if got := SignatureString(tt.props); got != tt.wantStr {
					t.Errorf("SignatureString = %q, want %q", got, tt.wantStr)
				}
			}
			withSig := append(slices.Clone(tt.props), Property{AuthorSignature, tt.sig})
			if err := VerifyAuthor(withSig, tt.pub); !errors.Is(err, tt.wantErr) {
				t.Errorf("VerifyAuthor = %v, want %v", err, tt.wantErr)
			}
			if err := Verify(tt.props, wrap(tt.sig, 60, "\n"), tt.pub); !errors.Is(err, tt.wantErr) {
				t.Errorf("Verify(wrapped signature) = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func testKeys(t testing.TB) (alice, bob *rsa.PrivateKey) {
	m := loadManifest(t)
	return m.privateKey(t, "alice@pod-a.example.org"), m.privateKey(t, "bob@pod-b.example.net")
}

func sampleComment() []Property {
	return props(
		"author", "alice@pod-a.example.org",
		"guid", "0765ff070a2647cbad3807ae77e1ce2d",
		"parent_guid", "150bd6a707a2f2aa31d6a9902e3e2212",
		"text", "Nice post; really.",
		"created_at", "2023-04-05T06:12:08Z",
		"rating", "5")
}

func TestSignVerify(t *testing.T) {
	alice, bob := testKeys(t)
	ps := sampleComment()
	sig, err := Sign(ps, alice)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if _, err := base64.StdEncoding.Strict().DecodeString(sig); err != nil {
		t.Errorf("signature %q is not strict padded base64: %v", sig, err)
	}
	if strings.ContainsAny(sig, "\r\n ") {
		t.Errorf("signature %q contains white space", sig)
	}
	again, err := Sign(ps, alice)
	if err != nil || again != sig {
		t.Errorf("second Sign = %q, %v; want the same signature (PKCS#1 v1.5 is deterministic)", again, err)
	}
	signed := append(slices.Clone(ps), Property{AuthorSignature, sig})
	sigAt := len(signed) - 1

	mutate := func(f func(ps []Property) []Property) []Property { return f(slices.Clone(signed)) }
	raw, _ := base64.StdEncoding.DecodeString(sig)
	flipped := slices.Clone(raw)
	flipped[len(flipped)/2] ^= 1

	tests := []struct {
		name  string
		props []Property
		pub   *rsa.PublicKey
		want  error
	}{
		{"good", signed, &alice.PublicKey, nil},
		{"signature first", mutate(func(ps []Property) []Property {
			return append([]Property{ps[sigAt]}, ps[:sigAt]...)
		}), &alice.PublicKey, nil},
		{"extra signature-named property", mutate(func(ps []Property) []Property {
			return slices.Insert(ps, 2, Property{"foo_signature_bar", "anything"})
		}), &alice.PublicKey, nil},
		{"later duplicate", mutate(func(ps []Property) []Property {
			return slices.Insert(ps, sigAt, Property{"text", "something else"})
		}), &alice.PublicKey, nil},
		{"wrapped at 60", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = wrap(sig, 60, "\n")
			return ps
		}), &alice.PublicKey, nil},
		{"CRLF and spaces", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = "\r\n  " + wrap(sig, 17, " \r\n\t") + "  "
			return ps
		}), &alice.PublicKey, nil},
		{"data after the padding ignored", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = sig + "AAAA"
			return ps
		}), &alice.PublicKey, nil},
		{"padding dropped", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = strings.TrimRight(sig, "=")
			return ps
		}), &alice.PublicKey, nil},
		{"wrong key", signed, &bob.PublicKey, ErrInvalidSignature},
		{"value changed", mutate(func(ps []Property) []Property {
			ps[3].Value += "!"
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"unknown value changed", mutate(func(ps []Property) []Property {
			ps[5].Value = "4"
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"two properties swapped", mutate(func(ps []Property) []Property {
			ps[1], ps[2] = ps[2], ps[1]
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"name changed only", mutate(func(ps []Property) []Property {
			ps[5].Name = "score" // names are not signed
			return ps
		}), &alice.PublicKey, nil},
		{"property removed", mutate(func(ps []Property) []Property {
			return slices.Delete(ps, 5, 6)
		}), &alice.PublicKey, ErrInvalidSignature},
		{"empty property added", mutate(func(ps []Property) []Property {
			return slices.Insert(ps, 5, Property{"edited_at", ""})
		}), &alice.PublicKey, ErrInvalidSignature},
		{"earlier duplicate", mutate(func(ps []Property) []Property {
			return slices.Insert(ps, 0, Property{"text", "Nice post; really."})
		}), &alice.PublicKey, ErrInvalidSignature},
		{"value split at its semicolon", mutate(func(ps []Property) []Property {
			// "Nice post; really." and "Nice post" + " really." give the same
			// string: the format cannot tell them apart, and neither can we.
			ps[3].Value = "Nice post"
			return slices.Insert(ps, 4, Property{"x", " really."})
		}), &alice.PublicKey, nil},
		{"bit flipped", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = base64.StdEncoding.EncodeToString(flipped)
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"truncated", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = sig[:len(sig)-4]
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"garbage", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = "bm90IGEgc2lnbmF0dXJl"
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"no base64 at all", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = "!!!"
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"base64url alphabet", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = base64.URLEncoding.EncodeToString(raw)
			return ps
		}), &alice.PublicKey, errIfURLDiffers(sig)},
		{"whitespace only", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = " \n"
			return ps
		}), &alice.PublicKey, ErrInvalidSignature},
		{"empty", mutate(func(ps []Property) []Property {
			ps[sigAt].Value = ""
			return ps
		}), &alice.PublicKey, ErrMissingSignature},
		{"absent", ps, &alice.PublicKey, ErrMissingSignature},
		{"only in parent_author_signature", mutate(func(ps []Property) []Property {
			ps[sigAt].Name = ParentAuthorSignature
			return ps
		}), &alice.PublicKey, ErrMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyAuthor(tt.props, tt.pub)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("VerifyAuthor = %v, want %v", err, tt.want)
			}
		})
	}

	// The same signature in parent_author_signature verifies with
	// VerifyParentAuthor, as Python pods send it.
	legacy := append(slices.Clone(signed), Property{ParentAuthorSignature, sig})
	if err := VerifyParentAuthor(legacy, &alice.PublicKey); err != nil {
		t.Errorf("VerifyParentAuthor(copy of author_signature) = %v", err)
	}
	if err := VerifyParentAuthor(signed, &alice.PublicKey); !errors.Is(err, ErrMissingSignature) {
		t.Errorf("VerifyParentAuthor(absent) = %v, want %v", err, ErrMissingSignature)
	}
	if err := VerifyParentAuthor(legacy, &bob.PublicKey); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("VerifyParentAuthor(wrong key) = %v, want %v", err, ErrInvalidSignature)
	}
}

// errIfURLDiffers: a signature written in the base64url alphabet only verifies
// if it happens to contain neither "+" nor "/" (the lenient decoder skips "-"
// and "_"), which a 256-byte signature practically never does.
func errIfURLDiffers(sig string) error {
	if strings.ContainsAny(sig, "+/") {
		return ErrInvalidSignature
	}
	return nil
}

// TestSignVerifyCR: a CR inside a value (sent as &#13; in XML) is signed as a
// byte of its own; a receiver whose XML parser turned it into LF, or a CRLF
// into LF, computes a different string.
func TestSignVerifyCR(t *testing.T) {
	alice, _ := testKeys(t)
	ps := props("author", "alice@pod-a.example.org", "guid", "g", "text", "one\r\ntwo\rthree")
	if got, want := SignatureString(ps), "alice@pod-a.example.org;g;one\r\ntwo\rthree"; got != want {
		t.Fatalf("SignatureString = %q, want %q", got, want)
	}
	sig, err := Sign(ps, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(ps, sig, &alice.PublicKey); err != nil {
		t.Errorf("Verify = %v", err)
	}
	for _, text := range []string{"one\ntwo\nthree", "one\ntwo\rthree", "one\r\ntwo\nthree"} {
		normalized := props("author", "alice@pod-a.example.org", "guid", "g", "text", text)
		if err := Verify(normalized, sig, &alice.PublicKey); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify(text %q) = %v, want %v", text, err, ErrInvalidSignature)
		}
	}
}

// TestSignEmpty: even an empty signature string has a signature.
func TestSignEmpty(t *testing.T) {
	alice, _ := testKeys(t)
	for _, ps := range [][]Property{nil, props("author_signature", "x")} {
		sig, err := Sign(ps, alice)
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(nil, sig, &alice.PublicKey); err != nil {
			t.Errorf("Verify = %v", err)
		}
		if err := Verify(props("a", ""), sig, &alice.PublicKey); err != nil {
			t.Errorf("Verify(one empty value) = %v; want nil, it is the same empty string", err)
		}
		if err := Verify(props("a", "", "b", ""), sig, &alice.PublicKey); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify(two empty values) = %v, want %v", err, ErrInvalidSignature)
		}
	}
}

type failingSigner struct{ crypto.Signer }

var errSigner = errors.New("hsm unplugged")

func (failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errSigner
}

// smallSigner claims a 512-bit public key, which Go itself no longer accepts.
type smallSigner struct{ *rsa.PrivateKey }

func (smallSigner) Public() crypto.PublicKey {
	return &rsa.PublicKey{N: new(big.Int).SetBit(big.NewInt(1), 511, 1), E: 65537}
}

// optsSigner records what Sign was asked to do.
type optsSigner struct {
	*rsa.PrivateKey
	digest []byte
	opts   crypto.SignerOpts
}

func (s *optsSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.digest, s.opts = digest, opts
	return s.PrivateKey.Sign(r, digest, opts)
}

func TestSignerInterface(t *testing.T) {
	alice, _ := testKeys(t)
	s := &optsSigner{PrivateKey: alice}
	ps := sampleComment()
	sig, err := Sign(ps, s)
	if err != nil {
		t.Fatal(err)
	}
	if s.opts.HashFunc() != crypto.SHA256 || len(s.digest) != 32 {
		t.Errorf("signer got opts %v and a %d-byte digest, want SHA-256", s.opts, len(s.digest))
	}
	if _, ok := s.opts.(*rsa.PSSOptions); ok {
		t.Errorf("signer asked for PSS, want PKCS#1 v1.5")
	}
	if err := Verify(ps, sig, &alice.PublicKey); err != nil {
		t.Errorf("Verify = %v", err)
	}
}

func TestKeyErrors(t *testing.T) {
	alice, _ := testKeys(t)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ps := sampleComment()

	signers := []struct {
		name string
		key  crypto.Signer
		want error
	}{
		{"nil", nil, ErrUnsupportedKey},
		{"typed nil RSA", (*rsa.PrivateKey)(nil), ErrUnsupportedKey},
		{"zero RSA", &rsa.PrivateKey{}, ErrUnsupportedKey},
		{"ECDSA", ecKey, ErrUnsupportedKey},
		{"Ed25519", edKey, ErrUnsupportedKey},
		{"failing signer", failingSigner{alice}, errSigner},
		{"512-bit signer", smallSigner{alice}, ErrUnsupportedKey},
	}
	for _, tt := range signers {
		t.Run("Sign/"+tt.name, func(t *testing.T) {
			sig, err := Sign(ps, tt.key)
			if !errors.Is(err, tt.want) || sig != "" {
				t.Errorf("Sign = %q, %v; want \"\", %v", sig, err, tt.want)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "relayable: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}

	sig, err := Sign(ps, alice)
	if err != nil {
		t.Fatal(err)
	}
	signed := append(slices.Clone(ps), Property{AuthorSignature, sig})
	pubs := []struct {
		name string
		pub  *rsa.PublicKey
	}{
		{"nil", nil},
		{"zero", &rsa.PublicKey{}},
		{"zero modulus", &rsa.PublicKey{N: new(big.Int), E: 65537}},
		{"512 bits", &rsa.PublicKey{N: new(big.Int).SetBit(big.NewInt(1), 511, 1), E: 65537}},
		{"1023 bits", &rsa.PublicKey{N: new(big.Int).Rsh(alice.N, uint(alice.N.BitLen()-1023)), E: 65537}},
	}
	for _, tt := range pubs {
		t.Run("Verify/"+tt.name, func(t *testing.T) {
			if err := Verify(ps, sig, tt.pub); !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("Verify = %v, want %v", err, ErrUnsupportedKey)
			}
			if err := VerifyAuthor(signed, tt.pub); !errors.Is(err, ErrUnsupportedKey) {
				t.Errorf("VerifyAuthor = %v, want %v", err, ErrUnsupportedKey)
			}
		})
	}
	t.Run("Verify/bad exponent", func(t *testing.T) {
		pub := &rsa.PublicKey{N: alice.N, E: 3}
		if err := Verify(ps, sig, pub); !errors.Is(err, ErrInvalidSignature) {
			t.Errorf("Verify = %v, want %v", err, ErrInvalidSignature)
		}
	})
	t.Run("Verify/negative exponent", func(t *testing.T) {
		pub := &rsa.PublicKey{N: alice.N, E: -1}
		if err := Verify(ps, sig, pub); err == nil {
			t.Errorf("Verify = nil, want an error")
		}
	})
}

// TestErrorsVague: every way a signature can fail to verify gives the very
// same error value, so a caller cannot leak which check failed.
func TestErrorsVague(t *testing.T) {
	alice, bob := testKeys(t)
	ps := sampleComment()
	sig, err := Sign(ps, alice)
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"wrong key": Verify(ps, sig, &bob.PublicKey),
		"changed":   Verify(ps[1:], sig, &alice.PublicKey),
		"garbage":   Verify(ps, "AAAA", &alice.PublicKey),
		"too long":  Verify(ps, "AAAA"+sig, &alice.PublicKey),
		"empty":     Verify(ps, "", &alice.PublicKey),
	} {
		if err != ErrInvalidSignature {
			t.Errorf("%s: err = %#v, want exactly ErrInvalidSignature", name, err)
		}
	}
	for _, err := range []error{ErrInvalidSignature, ErrMissingSignature, ErrUnsupportedKey} {
		if !strings.HasPrefix(err.Error(), "relayable: ") {
			t.Errorf("%q lacks the package prefix", err)
		}
	}
}

// TestSignVerifyString: the string forms agree with Sign and Verify over
// the same signature string, and refuse another string.
func TestSignVerifyString(t *testing.T) {
	alice, bob := testKeys(t)
	ps := props("author", "alice@pod.example", "text", "hi;there")
	s := SignatureString(ps)
	sig, err := SignString(s, alice)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(ps, sig, &alice.PublicKey); err != nil {
		t.Errorf("Verify over the string SignString signed: %v", err)
	}
	if err := VerifyString(s, sig, &alice.PublicKey); err != nil {
		t.Errorf("VerifyString: %v", err)
	}
	if err := VerifyString(s+";", sig, &alice.PublicKey); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("VerifyString over another string: %v", err)
	}
	if err := VerifyString(s, sig, &bob.PublicKey); !errors.Is(err, ErrInvalidSignature) {
		t.Errorf("VerifyString with the wrong key: %v", err)
	}
	if _, err := SignString(s, nil); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("SignString without a key: %v", err)
	}
}
