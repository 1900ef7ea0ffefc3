package relayable_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/go-diaspora/federation/relayable"
)

// This example signs a comment as its author would, then verifies it as the
// root author's pod would, and shows that a changed value is caught.
func Example() {
	// A test key from the reference vectors (PKCS#1 PEM, as diaspora* stores it).
	data, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		log.Fatal("no PEM block")
	}
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}

	// The comment's elements in the order they will be written; mood is an
	// element the receiver may not know, and is signed all the same.
	comment := []relayable.Property{
		{Name: "author", Value: "alice@pod-a.example.org"},
		{Name: "guid", Value: "4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f"},
		{Name: "parent_guid", Value: "150bd6a707a2f2aa31d6a9902e3e2212"},
		{Name: "text", Value: "Nice; thanks!"},
		{Name: "created_at", Value: "2024-03-01T17:05:09Z"},
		{Name: "mood", Value: "happy"},
	}
	fmt.Println(relayable.SignatureString(comment))

	sig, err := relayable.Sign(comment, key)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(sig)

	// author_signature goes last; it is not part of the signed string.
	comment = append(comment, relayable.Property{Name: relayable.AuthorSignature, Value: sig})
	fmt.Println(relayable.VerifyAuthor(comment, &key.PublicKey))

	comment[3].Value = "Nice; thanks!!"
	err = relayable.VerifyAuthor(comment, &key.PublicKey)
	fmt.Println(errors.Is(err, relayable.ErrInvalidSignature), err)

	// Output:
	// alice@pod-a.example.org;4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f;150bd6a707a2f2aa31d6a9902e3e2212;Nice; thanks!;2024-03-01T17:05:09Z;happy
	// l/7HrKgdhOro3KjheV7adRfXAyOljFSJOKMVZiBMPw1wp5QSYSe5/OJKAgLYbIAyz9y+teaXBBdlCgTjS7s6iTAmxi9xcrbutB5FAmKppMEzgfQ7Nyr8N720hmrQ3H3QFnTtP4qrVqRfSKhONc8esFyj3IeGlOEizAFrQBFGvD6A6mtNRi9OV3RfDkILmK+rNLHr6oAyZZSbiIyi/XbsBye+b2RZ4ixVGl4JUbVofIiiSxjIVsWRG8qVmpfbT0UL4tQRDPWUqIJ86FKLcX1hzD/B5qxuOf2LXPKzw3XwMb1EA0cZuxCEurP0FveTYVXloPk/47trWFp2k0v4nAEOoA==
	// <nil>
	// true relayable: invalid signature
}

// The signature string takes the first value of each name, in order, leaves
// out every property whose name contains "signature", and keeps empty
// values as empty slots. Nothing is escaped.
func ExampleSignatureString() {
	like := []relayable.Property{
		{Name: "author", Value: "alice@pod-a.example.org"},
		{Name: "guid", Value: "8476ab7cfe0d9a666b1b2bddab31f81e"},
		{Name: "author_signature", Value: "…"},
		{Name: "parent_guid", Value: "150bd6a707a2f2aa31d6a9902e3e2212"},
		{Name: "note", Value: ""},
		{Name: "guid", Value: "ignored, a second guid"},
		{Name: "parent_type", Value: "Post"},
		{Name: "positive", Value: "true"},
	}
	fmt.Println(relayable.Order(like))
	fmt.Println(relayable.SignatureString(like))
	// Output:
	// [author guid parent_guid note parent_type positive]
	// alice@pod-a.example.org;8476ab7cfe0d9a666b1b2bddab31f81e;150bd6a707a2f2aa31d6a9902e3e2212;;Post;true
}
