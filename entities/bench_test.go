package entities_test

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"testing"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/relayable"
)

func BenchmarkParseXMLStatusMessageAllNested(b *testing.B) {
	data := readVectorFile(b, "entity_xml/status_message_all_nested.xml")
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := entities.ParseXML(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMarshalXMLStatusMessageAllNested(b *testing.B) {
	data := readVectorFile(b, "entity_xml/status_message_all_nested.xml")
	e, err := entities.ParseXML(data, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := entities.MarshalXML(e); err != nil {
			b.Fatal(err)
		}
	}
}

func benchComment(b *testing.B) (entities.Relayable, *rsa.PublicKey) {
	m := loadManifest(b)
	e, err := entities.ParseXML(readVectorFile(b, "relayable_xml/comment.xml"), nil)
	if err != nil {
		b.Fatal(err)
	}
	return e.(entities.Relayable), m.publicKey(b, "alice@pod-a.example.org")
}

func BenchmarkVerifyCommentAuthorSignature(b *testing.B) {
	c, pub := benchComment(b)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.VerifyAuthorSignature(pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRSAVerifyPKCS1v15 is the bare RSA verification of the same
// signature, to put BenchmarkVerifyCommentAuthorSignature in proportion.
func BenchmarkRSAVerifyPKCS1v15(b *testing.B) {
	c, pub := benchComment(b)
	sig, err := base64.StdEncoding.DecodeString(c.(*entities.Comment).AuthorSignature)
	if err != nil {
		b.Fatal(err)
	}
	msg := relayable.SignatureString(c.SignatureProperties())
	b.ReportAllocs()
	for b.Loop() {
		h := sha256.Sum256([]byte(msg))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, h[:], sig); err != nil {
			b.Fatal(err)
		}
	}
}
