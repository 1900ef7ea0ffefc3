package relayable

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"testing"
)

// benchVector returns the properties of a reference vector, the author's
// key pair, and the decoded signature and digest for the bare RSA baselines.
func benchVector(b *testing.B, file string) (ps []Property, key *rsa.PrivateKey, sig, digest []byte) {
	b.Helper()
	m := loadManifest(b)
	data, err := os.ReadFile(filepath.Join(refDir, file))
	if err != nil {
		b.Fatal(err)
	}
	_, ps, err = xmlProps(data)
	if err != nil {
		b.Fatal(err)
	}
	key = m.privateKey(b, value(ps, "author"))
	sig = decodeLenient(value(ps, AuthorSignature))
	sum := sha256.Sum256([]byte(SignatureString(ps)))
	if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, sum[:], sig); err != nil {
		b.Fatalf("vector signature: %v", err)
	}
	return ps, key, sig, sum[:]
}

// Verify* measure VerifyAuthor on a reference comment; RSAVerify* measure
// rsa.VerifyPKCS1v15 alone on the same digest and signature, so the
// difference is the cost of this package (string, digest, base64).

func benchmarkVerify(b *testing.B, file string) {
	ps, key, _, _ := benchVector(b, file)
	b.ReportAllocs()
	for b.Loop() {
		if err := VerifyAuthor(ps, &key.PublicKey); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkRSAVerify(b *testing.B, file string) {
	_, key, sig, digest := benchVector(b, file)
	b.ReportAllocs()
	for b.Loop() {
		if err := rsa.VerifyPKCS1v15(&key.PublicKey, crypto.SHA256, digest, sig); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkSign(b *testing.B, file string) {
	ps, key, _, _ := benchVector(b, file)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Sign(ps, key); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkRSASign(b *testing.B, file string) {
	_, key, _, digest := benchVector(b, file)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify2048(b *testing.B)    { benchmarkVerify(b, "relayable_xml/comment.xml") }
func BenchmarkRSAVerify2048(b *testing.B) { benchmarkRSAVerify(b, "relayable_xml/comment.xml") }
func BenchmarkSign2048(b *testing.B)      { benchmarkSign(b, "relayable_xml/comment.xml") }
func BenchmarkRSASign2048(b *testing.B)   { benchmarkRSASign(b, "relayable_xml/comment.xml") }
func BenchmarkVerify4096(b *testing.B)    { benchmarkVerify(b, "relayable_xml/comment_4096.xml") }
func BenchmarkRSAVerify4096(b *testing.B) { benchmarkRSAVerify(b, "relayable_xml/comment_4096.xml") }
func BenchmarkSign4096(b *testing.B)      { benchmarkSign(b, "relayable_xml/comment_4096.xml") }
func BenchmarkRSASign4096(b *testing.B)   { benchmarkRSASign(b, "relayable_xml/comment_4096.xml") }

func BenchmarkSignatureString(b *testing.B) {
	ps, _, _, _ := benchVector(b, "relayable_xml/comment_extra_elements.xml")
	b.ReportAllocs()
	for b.Loop() {
		SignatureString(ps)
	}
}

func BenchmarkDecodeLenient(b *testing.B) {
	_, _, sig, _ := benchVector(b, "relayable_xml/comment.xml")
	text := wrap(encodeStd(sig), 60, "\n")
	b.ReportAllocs()
	for b.Loop() {
		decodeLenient(text)
	}
}

func encodeStd(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
