package salmon_test

import (
	"fmt"
	"log"
	"os"

	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// Tell a received body's format, then read a legacy public slap.
func Example() {
	body, err := os.ReadFile("../testdata/vectors/reference/legacy_slap_public/status_message_legacy_payload.xml")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("format:", salmon.Detect(body, ""))

	slap, err := salmon.ParseSlap(body, nil)
	if err != nil {
		log.Fatal(err)
	}
	pem, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := magicenv.ParsePublicKey(pem, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("sender:", slap.Author)
	fmt.Println("signature ok:", slap.Verify(pub) == nil)
	// Output:
	// format: legacy_slap
	// sender: alice@pod-a.example.org
	// signature ok: true
}
