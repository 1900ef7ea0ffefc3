package magicenv_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

const refDir = "../testdata/vectors/reference/"

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func privKey(t testing.TB, name string) *rsa.PrivateKey {
	t.Helper()
	k, err := magicenv.ParsePrivateKey(readFile(t, refDir+"keys/"+name+".pem"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// The constant tokens of the base string, as the magicsig docs give them.
func TestSignatureBaseConstants(t *testing.T) {
	env, err := magicenv.Sign([]byte("<status_message><foo>bar</foo></status_message>"), "foobar@example.com", privKey(t, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "PHN0YXR1c19tZXNzYWdlPjxmb28-YmFyPC9mb28-PC9zdGF0dXNfbWVzc2FnZT4=.YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="
	if got := env.SignatureBase(); got != want {
		t.Errorf("SignatureBase() = %q, want %q", got, want)
	}
}

// The jaywink/federation test vector (https://github.com/jaywink/federation,
// federation/tests/fixtures): Python element
// order, no XML declaration, unpadded key_id.
func TestPythonVector(t *testing.T) {
	const pubPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAiY2JBgMV90ULt0btku19
8l6wGuzn3xCcHs+eBZHL2C+XWRA3BVDThSBj19dKXehfDphQ5u/Omfm76ImajEPH
GBiYtZT7AgcO15zvm+JCpbREbdOVQkST3ANyqCzi+Fk0ZWRwXQTR9m64ML++42iK
0BESUbbrVnKipZJ1tE73xs1XBM8JDCOIdM2VBVdDArNJZHGzqugEbDzwh0SqEsKY
LE7uzst+eY9vIAbyX80pNzC/d1J83Pia5WvRV0gtllkMXlGnTIortDJuEr496a8U
qfPWDWNg4scCca6aSk/13Q8ClEbPX1sdW4s9yW9OmGg0VMZj+Tca3Jls/3FJosH0
yQIDAQAB
-----END PUBLIC KEY-----
`
	const env = `<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env">
  <me:encoding>base64url</me:encoding>
  <me:alg>RSA-SHA256</me:alg>
  <me:data type="application/xml">PHN0YXR1c19tZXNzYWdlPjxmb28-YmFyPC9mb28-PC9zdGF0dXNfbWVzc2FnZT4=</me:data>
  <me:sig key_id="Zm9vYmFyQGV4YW1wbGUuY29t">Cmk08MR4Tp8r9eVybD1hORcR_8NLRVxAu0biOfJbkI1xLx1c480zJ720cpVyKaF9CxVjW3lvlvRz5YbswMv0izPzfHpXoWTXH-4UPrXaGYyJnrNvqEB2UWn4iHKJ2Rerto8sJY2b95qbXD6Nq75EoBNub5P7DYc16ENhp38YwBRnrBEvNOewddpOpEBVobyNB7no_QR8c_xkXie-hUDFNwI0z7vax9HkaBFbvEmzFPMZAAdWyjxeGiWiqY0t2ZdZRCPTezy66X6Q0qc4I8kfT-Mt1ctjGmNMoJ4Lgu-PrO5hSRT4QBAVyxaog5w-B0PIPuC-mUW5SZLsnX3_ZuwJww==</me:sig>
</me:env>`
	pub, err := magicenv.ParsePublicKey([]byte(pubPEM), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := magicenv.Parse([]byte(env), nil)
	if err != nil {
		t.Fatal(err)
	}
	if a, _ := e.Author(); a != "foobar@example.com" {
		t.Errorf("Author() = %q", a)
	}
	if got := string(e.Payload()); got != "<status_message><foo>bar</foo></status_message>" {
		t.Errorf("Payload() = %q", got)
	}
	if err := e.Verify(pub); err != nil {
		t.Errorf("Verify = %v", err)
	}
	// One flipped character of me:data breaks it.
	bad := strings.Replace(env, "PHN0YXR1c19", "PHN0YXR1c29", 1)
	if e, err := magicenv.Parse([]byte(bad), nil); err != nil {
		t.Fatal(err)
	} else if err := e.Verify(pub); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("tampered Verify = %v, want ErrInvalidSignature", err)
	}
}

// A valid envelope built from alice's key, to be broken by the table below.
func validEnvelope(t testing.TB) string {
	t.Helper()
	env, err := magicenv.Sign([]byte("<x/>"), "alice@pod-a.example.org", privKey(t, "alice"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return string(env.Marshal())
}

func TestParseRejects(t *testing.T) {
	good := validEnvelope(t)
	data := good[strings.Index(good, "<me:data") : strings.Index(good, "</me:data>")+len("</me:data>")]
	sig := good[strings.Index(good, "<me:sig") : strings.Index(good, "</me:sig>")+len("</me:sig>")]
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", magicenv.ErrInvalidEnvelope},
		{"not xml", "hello", magicenv.ErrInvalidEnvelope},
		{"doctype", strings.Replace(good, "<me:env", `<!DOCTYPE me:env [<!ENTITY x "y">]><me:env`, 1), magicenv.ErrDoctype},
		{"entity reference", strings.Replace(good, ">base64url<", ">&x;<", 1), magicenv.ErrInvalidEnvelope},
		{"utf-16 declaration", strings.Replace(good, "UTF-8", "UTF-16", 1), magicenv.ErrInvalidEnvelope},
		{"two roots", good + "<me:env/>", magicenv.ErrInvalidEnvelope},
		{"trailing text", good + "junk", magicenv.ErrInvalidEnvelope},
		{"text in env", strings.Replace(good, "  <me:encoding>", "hi<me:encoding>", 1), magicenv.ErrInvalidEnvelope},
		{"element in data", strings.Replace(good, `type="application/xml">`, `type="application/xml"><b/>`, 1), magicenv.ErrInvalidEnvelope},
		{"duplicate data", strings.Replace(good, data, data+data, 1), magicenv.ErrInvalidEnvelope},
		{"duplicate sig", strings.Replace(good, sig, sig+sig, 1), magicenv.ErrInvalidEnvelope},
		{"duplicate attribute", strings.Replace(good, `type="application/xml"`, `type="application/xml" type="application/xml"`, 1), magicenv.ErrInvalidEnvelope},
		{"missing sig", strings.Replace(good, sig, "", 1), magicenv.ErrInvalidEnvelope},
		{"missing data", strings.Replace(good, data, "", 1), magicenv.ErrInvalidEnvelope},
		{"missing type", strings.Replace(good, ` type="application/xml"`, "", 1), magicenv.ErrUnsupportedDataType},
		{"missing encoding", strings.Replace(good, "<me:encoding>base64url</me:encoding>", "", 1), magicenv.ErrUnsupportedEncoding},
		{"lowercase alg", strings.Replace(good, "RSA-SHA256", "rsa-sha256", 1), magicenv.ErrUnsupportedAlgorithm},
		{"alg with space", strings.Replace(good, ">RSA-SHA256<", "> RSA-SHA256<", 1), magicenv.ErrUnsupportedAlgorithm},
		{"evil namespace", strings.Replace(good, magicenv.Namespace, "urn:evil", 1), magicenv.ErrInvalidEnvelope},
		{"undeclared prefix", strings.Replace(good, ` xmlns:me="`+magicenv.Namespace+`"`, "", 1), magicenv.ErrInvalidEnvelope},
		{"child rebinds me", strings.Replace(good, "<me:data ", `<me:data xmlns:me="urn:evil" `, 1), magicenv.ErrInvalidEnvelope},
		{"mismatched end", strings.Replace(good, "</me:alg>", "</me:enc>", 1), magicenv.ErrInvalidEnvelope},
		{"space in data", strings.Replace(good, `type="application/xml">`, `type="application/xml"> `, 1), magicenv.ErrMalformed},
		{"bad key_id", strings.Replace(good, `key_id="`, `key_id="*`, 1), magicenv.ErrMalformed},
		{"key_id with newline", strings.Replace(good, `key_id="YWxp`, `key_id="YWxp&#10;`, 1), magicenv.ErrMalformed},
		{"key_id decodes to spaces", strings.Replace(good, `key_id="YWxpY2VAcG9kLWEuZXhhbXBsZS5vcmc="`, `key_id="YSBi"`, 1), magicenv.ErrInvalidAuthor},
		{"key_id not utf-8", strings.Replace(good, `key_id="YWxpY2VAcG9kLWEuZXhhbXBsZS5vcmc="`, `key_id="_-8="`, 1), magicenv.ErrInvalidAuthor},
		{"non-zero padding bits", strings.Replace(good, `key_id="YWxpY2VAcG9kLWEuZXhhbXBsZS5vcmc="`, `key_id="YR=="`, 1), magicenv.ErrMalformed},
		{"deep nesting", strings.Replace(good, "</me:alg>", "</me:alg>"+strings.Repeat("<a>", 20)+strings.Repeat("</a>", 20), 1), magicenv.ErrInvalidEnvelope},
		{"many elements", strings.Replace(good, "</me:alg>", "</me:alg>"+strings.Repeat("<a/>", 100), 1), magicenv.ErrInvalidEnvelope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := magicenv.Parse([]byte(tt.in), nil)
			if !errors.Is(err, tt.want) || env != nil {
				t.Fatalf("Parse = %v, %v; want %v", env, err, tt.want)
			}
		})
	}
	// Positive controls: what is allowed around the same envelope.
	allowed := map[string]string{
		"no declaration":       good[strings.Index(good, "<me:env"):],
		"comment and pi":       strings.Replace(good, "<me:alg>", "<!-- c --><?pi x?><me:alg>", 1),
		"unknown child":        strings.Replace(good, "<me:alg>", "<me:provenance><p>x</p></me:provenance><other>y</other><me:alg>", 1),
		"reordered":            strings.Replace(strings.Replace(good, data, "", 1), "</me:env>", data+"</me:env>", 1),
		"comment inside data":  strings.Replace(good, `type="application/xml">`, `type="application/xml"><!-- x -->`, 1),
		"crlf between":         strings.ReplaceAll(good, "\n", "\r\n"),
		"extra xmlns on child": strings.Replace(good, "<me:alg>", `<me:alg xmlns:x="urn:x">`, 1),
	}
	for name, in := range allowed {
		t.Run("allowed/"+name, func(t *testing.T) {
			env, err := magicenv.Parse([]byte(in), nil)
			if err != nil {
				t.Fatalf("Parse = %v", err)
			}
			if err := env.Verify(&privKey(t, "alice").PublicKey); err != nil {
				t.Errorf("Verify = %v", err)
			}
		})
	}
}

func TestMaxSize(t *testing.T) {
	good := []byte(validEnvelope(t))
	if _, err := magicenv.Parse(good, &magicenv.Options{MaxSize: int64(len(good)) - 1}); !errors.Is(err, magicenv.ErrTooLarge) {
		t.Errorf("Parse over the limit = %v, want ErrTooLarge", err)
	}
	if _, err := magicenv.Parse(good, &magicenv.Options{MaxSize: int64(len(good))}); err != nil {
		t.Errorf("Parse at the limit = %v", err)
	}
	// Read stops reading one byte past the limit.
	r := &countingReader{r: bytes.NewReader(bytes.Repeat([]byte(" "), 10<<20))}
	if _, err := magicenv.Read(r, nil); !errors.Is(err, magicenv.ErrTooLarge) {
		t.Errorf("Read = %v, want ErrTooLarge", err)
	}
	if r.n > magicenv.DefaultMaxSize+1 {
		t.Errorf("Read consumed %d bytes, limit %d", r.n, magicenv.DefaultMaxSize)
	}
	if env, err := magicenv.Read(bytes.NewReader(good), nil); err != nil || env == nil {
		t.Errorf("Read(valid) = %v", err)
	}
	if _, err := magicenv.Sign(make([]byte, magicenv.DefaultMaxSize+1), "a@b", privKey(t, "alice"), nil); !errors.Is(err, magicenv.ErrTooLarge) {
		t.Errorf("Sign(huge) = %v, want ErrTooLarge", err)
	}
}

type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// The two leniency options, proven on the reference vectors they relax.
func TestOptions(t *testing.T) {
	alice := &privKey(t, "alice").PublicKey
	for _, name := range []string{"envelope_other_prefix", "envelope_default_namespace"} {
		in := readFile(t, refDir+"magic_envelope_public/"+name+".xml")
		if _, err := magicenv.Parse(in, nil); !errors.Is(err, magicenv.ErrInvalidEnvelope) {
			t.Errorf("%s: default Parse = %v, want ErrInvalidEnvelope", name, err)
		}
		env, err := magicenv.Parse(in, &magicenv.Options{AnyPrefix: true})
		if err != nil {
			t.Fatalf("%s: AnyPrefix Parse = %v", name, err)
		}
		if err := env.Verify(alice); err != nil {
			t.Errorf("%s: Verify = %v", name, err)
		}
	}
	// jaywink/federation signs the me:data text as sent. With unpadded
	// data that differs from the canonical (padded) base string.
	priv := privKey(t, "alice")
	data := base64.RawURLEncoding.EncodeToString([]byte("<x>abc</x>"))
	h := sha256.Sum256([]byte(data + ".YXBwbGljYXRpb24veG1s.YmFzZTY0dXJs.UlNBLVNIQTI1Ng=="))
	sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, h[:])
	if err != nil {
		t.Fatal(err)
	}
	rawSigned := []byte(`<me:env xmlns:me="http://salmon-protocol.org/ns/magic-env"><me:data type="application/xml">` + data +
		`</me:data><me:encoding>base64url</me:encoding><me:alg>RSA-SHA256</me:alg><me:sig key_id="YWxpY2VAcG9kLWEuZXhhbXBsZS5vcmc">` +
		base64.RawURLEncoding.EncodeToString(sig) + `</me:sig></me:env>`)
	env, err := magicenv.Parse(rawSigned, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(alice); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("default Verify = %v, want ErrInvalidSignature", err)
	}
	env, err = magicenv.Parse(rawSigned, &magicenv.Options{AcceptRawSubject: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(alice); err != nil {
		t.Errorf("AcceptRawSubject Verify = %v", err)
	}
	if err := env.Verify(&privKey(t, "dave").PublicKey); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("AcceptRawSubject Verify(dave) = %v, want ErrInvalidSignature", err)
	}
	// The option accepts the text as received, not any other form: the
	// reference vector signed over a fully unpadded subject stays invalid.
	env, err = magicenv.Parse(readFile(t, refDir+"magic_envelope_public/signature_over_unpadded_subject.xml"), &magicenv.Options{AcceptRawSubject: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(alice); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("AcceptRawSubject Verify(unpadded subject) = %v, want ErrInvalidSignature", err)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	alice, dave := privKey(t, "alice"), privKey(t, "dave")
	payload := []byte("<comment><text>héllo &amp; ünïcode</text></comment>")
	env, err := magicenv.Sign(payload, "alice@pod-a.example.org", alice, nil)
	if err != nil {
		t.Fatal(err)
	}
	parsed, err := magicenv.Parse(env.Marshal(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(parsed.Payload(), payload) || !bytes.Equal(parsed.Signature(), env.Signature()) {
		t.Error("payload or signature changed in the round trip")
	}
	if err := parsed.Verify(&alice.PublicKey); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if err := parsed.Verify(&dave.PublicKey); !errors.Is(err, magicenv.ErrInvalidSignature) {
		t.Errorf("Verify(other key) = %v, want ErrInvalidSignature", err)
	}
	// Sign refuses bad input.
	if _, err := magicenv.Sign(nil, "a@b", alice, nil); err == nil {
		t.Error("Sign(empty payload) succeeded")
	}
	if _, err := magicenv.Sign(payload, "alice @pod", alice, nil); !errors.Is(err, magicenv.ErrInvalidAuthor) {
		t.Errorf("Sign(bad author) = %v", err)
	}
	if _, err := magicenv.Sign(payload, "a@b", nil, nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("Sign(nil key) = %v", err)
	}
	// WithAuthor names a sender for an envelope without key_id.
	noKeyID, err := magicenv.Parse(readFile(t, refDir+"magic_envelope_public/missing_key_id.xml"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noKeyID.Author(); !errors.Is(err, magicenv.ErrMissingKeyID) || !errors.Is(err, magicenv.ErrInvalidEnvelope) {
		t.Errorf("Author() = %v, want ErrMissingKeyID", err)
	}
	named, err := noKeyID.WithAuthor("alice@pod-a.example.org")
	if err != nil {
		t.Fatal(err)
	}
	if a, err := named.Author(); err != nil || a != "alice@pod-a.example.org" {
		t.Errorf("Author() = %q, %v", a, err)
	}
	if err := named.Verify(&alice.PublicKey); err != nil {
		t.Errorf("Verify = %v", err)
	}
	if _, err := noKeyID.Author(); err == nil {
		t.Error("WithAuthor modified the original")
	}
}

func TestOpen(t *testing.T) {
	alice := privKey(t, "alice")
	good := []byte(validEnvelope(t))
	ctx := context.Background()
	tempErr := errors.New("timeout")
	tests := []struct {
		name      string
		res       magicenv.KeyResolver
		temporary bool
		wantErr   error
	}{
		{"key", magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) { return &alice.PublicKey, nil }), false, nil},
		{"wrong key", magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) {
			return &privKey(t, "bob").PublicKey, nil
		}), false, magicenv.ErrInvalidSignature},
		{"not found", magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) { return nil, magicenv.ErrKeyNotFound }), false, magicenv.ErrKeyNotFound},
		{"nil nil", magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) { return nil, nil }), false, magicenv.ErrKeyNotFound},
		{"temporary", magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) { return nil, tempErr }), true, tempErr},
		{"no resolver", nil, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := magicenv.Open(ctx, good, tt.res, nil)
			var kerr *magicenv.KeyLookupError
			switch {
			case tt.name == "key":
				if err != nil || env == nil {
					t.Fatalf("Open = %v", err)
				}
			case tt.name == "no resolver":
				if !errors.As(err, &kerr) || !kerr.Temporary() {
					t.Fatalf("Open = %v, want a temporary KeyLookupError", err)
				}
			default:
				if !errors.Is(err, tt.wantErr) || env != nil {
					t.Fatalf("Open = %v, want %v", err, tt.wantErr)
				}
				if errors.As(err, &kerr) && kerr.Temporary() != tt.temporary {
					t.Errorf("Temporary() = %v, want %v", kerr.Temporary(), tt.temporary)
				}
			}
		})
	}
	// A broken envelope never reaches the resolver.
	called := false
	_, err := magicenv.Open(ctx, []byte("<x/>"), magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) {
		called = true
		return nil, nil
	}), nil)

	if err == nil || called {
		t.Errorf("Open(garbage) = %v, resolver called = %v", err, called)
	}
}

type finalErr struct{}

func (finalErr) Error() string   { return "no such person" }
func (finalErr) Temporary() bool { return false }

// A resolver error that says for itself whether it is temporary is
// believed (discovery's errors do this).
func TestKeyLookupErrorTemporary(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{magicenv.ErrKeyNotFound, false},
		{fmt.Errorf("wrapped: %w", magicenv.ErrKeyNotFound), false},
		{finalErr{}, false},
		{fmt.Errorf("wrapped: %w", finalErr{}), false},
		{errors.New("timeout"), true},
		{context.DeadlineExceeded, true},
	} {
		if got := (&magicenv.KeyLookupError{Author: "a@b", Err: tt.err}).Temporary(); got != tt.want {
			t.Errorf("Temporary(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
