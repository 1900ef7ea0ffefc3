package entities_test

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/go-diaspora/federation/entities"
)

// Build a comment, sign it with the author's key and serialize it. PKCS#1
// v1.5 signatures are deterministic, so the output is stable.
func ExampleComment_Sign() {
	pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pem")
	if err != nil {
		log.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	key, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		log.Fatal(err)
	}

	c := &entities.Comment{
		Author:     "alice@pod-a.example.org",
		GUID:       "4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f",
		ParentGUID: "150bd6a707a2f2aa31d6a9902e3e2212",
		Text:       "Nice; thanks!",
		CreatedAt:  time.Date(2024, 3, 1, 17, 5, 9, 0, time.UTC),
	}
	if err := c.Validate(); err != nil {
		log.Fatal(err)
	}
	if err := c.Sign(key); err != nil {
		log.Fatal(err)
	}
	out, err := entities.MarshalXML(c)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))

	// The receiver verifies with the author's public key.
	fmt.Println("verified:", c.VerifyAuthorSignature(&key.PublicKey) == nil)
	// Output:
	// <comment>
	//   <author>alice@pod-a.example.org</author>
	//   <guid>4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f</guid>
	//   <parent_guid>150bd6a707a2f2aa31d6a9902e3e2212</parent_guid>
	//   <text>Nice; thanks!</text>
	//   <created_at>2024-03-01T17:05:09Z</created_at>
	//   <author_signature>fY+dXa9jJ+fREBV6gbexG8Rmt4hZc/xHV1yWr/s5uI0Plp+1rwwC0NJ6dVeB45UV9iRTefTgTDLgJavAnJNluWrQeye3d5G9S4GQe+RpCn86VoeL+w+1TzWp85Ze4spWZMHcDQU0hb+F6fzTG0T8ExYi4Rd7Hi+kb+Lac/z8+ZWqHgZMUaFGsjRoM1B8HJna7+xKQe0r2AyfGjkafez5zgDlVLYOJ4bAFSPtor30W1erl+1DacafsWXGodHI8SkvPb1pCOtL3fidM8DusWYBeseOUZSGKUkG0IO78VGzn4RW7H5onrRoHorA6UGryK99gb7RdKKcjKHaGoMSP/NANQ==</author_signature>
	// </comment>
	// verified: true
}

// An entity type this package does not know is returned as an
// *UnknownEntity together with an error, so it can be stored or relayed.
func ExampleParseXML_unknownEntity() {
	payload := []byte(`<shiny_new_thing>
  <author>alice@pod-a.example.org</author>
  <sparkle>lots</sparkle>
</shiny_new_thing>`)

	e, err := entities.ParseXML(payload, nil)
	if errors.Is(err, entities.ErrUnknownEntity) {
		u := e.(*entities.UnknownEntity)
		fmt.Println("type:", u.Name)
		fmt.Println("category:", entities.Category(err))
		fmt.Println("author known:", entities.Author(u) != "")
		fmt.Printf("raw: %d bytes\n", len(u.Raw))
	}
	// Output:
	// type: shiny_new_thing
	// category: unknown_entity
	// author known: false
	// raw: 105 bytes
}
