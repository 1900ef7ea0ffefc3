package entities_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/magicenv"
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

// The JSON form of an entity: entity_type and entity_data, properties in
// the order the protocol declares them.
func ExampleMarshalJSON() {
	post := &entities.StatusMessage{
		Author:    "alice@pod-a.example.org",
		GUID:      "6bc23f6a8eb9ea65a46628563c8c4ba8",
		CreatedAt: time.Date(2023, 4, 5, 6, 7, 8, 0, time.UTC),
		Public:    true,
		Text:      "Hello, federation!",
	}
	if err := post.Validate(); err != nil {
		log.Fatal(err)
	}
	out, err := entities.MarshalJSON(post)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))

	// ParseJSON reads it back, and MarshalXML gives the form envelopes carry.
	e, err := entities.ParseJSON(out, nil)
	if err != nil {
		log.Fatal(err)
	}
	xml, err := entities.MarshalXML(e)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(xml))
	// Output:
	// {"entity_type":"status_message","entity_data":{"author":"alice@pod-a.example.org","guid":"6bc23f6a8eb9ea65a46628563c8c4ba8","created_at":"2023-04-05T06:07:08Z","public":true,"text":"Hello, federation!","photos":[]}}
	// <status_message>
	//   <author>alice@pod-a.example.org</author>
	//   <guid>6bc23f6a8eb9ea65a46628563c8c4ba8</guid>
	//   <created_at>2023-04-05T06:07:08Z</created_at>
	//   <public>true</public>
	//   <text>Hello, federation!</text>
	// </status_message>
}

// A relayable in JSON carries property_order, the order its author signed
// the properties in. Properties the receiver does not know are kept, so the
// author_signature still verifies and the comment can be relayed.
func ExampleParseJSON() {
	data, err := os.ReadFile("../testdata/vectors/reference/relayable_json/comment_extra_properties.json")
	if err != nil {
		log.Fatal(err)
	}
	e, err := entities.ParseJSON(data, nil)
	if err != nil {
		log.Fatal(err)
	}
	c := e.(*entities.Comment)
	fmt.Println(c.Type(), "by", c.Author, "on", c.ParentGUID)
	fmt.Println("unknown:", c.AdditionalData())

	pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := magicenv.ParsePublicKey(pemBytes, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("author_signature verified:", c.VerifyAuthorSignature(pub) == nil)
	// Output:
	// comment by alice@pod-a.example.org on 150bd6a707a2f2aa31d6a9902e3e2212
	// unknown: [{new_property a value from the future} {rating 5}]
	// author_signature verified: true
}

// ViewOf gives a neutral picture of an entity: every declared property by
// name, as the test vectors write it, ready for encoding/json.
func ExampleViewOf() {
	e, err := entities.ParseXML([]byte(`<like>
  <author>alice@pod-a.example.org</author>
  <guid>8476ab7cfe0d9a666b1b2bddab31f81e</guid>
  <parent_guid>150bd6a707a2f2aa31d6a9902e3e2212</parent_guid>
  <parent_type>Post</parent_type>
  <positive>true</positive>
  <reaction>heart</reaction>
</like>`), nil)
	if err != nil {
		log.Fatal(err)
	}
	out, err := json.MarshalIndent(entities.ViewOf(e), "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out))
	// Output:
	// {
	//   "type": "like",
	//   "properties": {
	//     "author": "alice@pod-a.example.org",
	//     "author_signature": null,
	//     "guid": "8476ab7cfe0d9a666b1b2bddab31f81e",
	//     "parent_guid": "150bd6a707a2f2aa31d6a9902e3e2212",
	//     "parent_type": "Post",
	//     "positive": true
	//   },
	//   "property_order": [
	//     "author",
	//     "guid",
	//     "parent_guid",
	//     "parent_type",
	//     "positive",
	//     "reaction"
	//   ],
	//   "additional_data": {
	//     "reaction": "heart"
	//   }
	// }
}

// Parsing validates: an entity that breaks a rule of the protocol is
// refused with a *ValidationError naming the property and the rule.
func ExampleValidationError() {
	_, err := entities.ParseXML([]byte(`<comment>
  <author>alice@pod-a.example.org</author>
  <guid>too-short</guid>
  <parent_guid>150bd6a707a2f2aa31d6a9902e3e2212</parent_guid>
  <text>Hi</text>
</comment>`), nil)
	var verr *entities.ValidationError
	if errors.As(err, &verr) {
		fmt.Printf("entity %s, property %s, rule %s\n", verr.Entity, verr.Property, verr.Rule)
	}
	fmt.Println(errors.Is(err, entities.ErrValidation), entities.Category(err))
	// Output:
	// entity comment, property guid, rule guid
	// true validation
}
