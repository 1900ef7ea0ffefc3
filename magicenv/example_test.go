package magicenv_test

import (
	"context"
	"crypto/rsa"
	"fmt"
	"log"
	"os"

	"github.com/go-diaspora/federation/magicenv"
)

// Sign an entity as alice, then open the envelope on the receiving side.
func Example() {
	pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pem")
	if err != nil {
		log.Fatal(err)
	}
	alice, err := magicenv.ParsePrivateKey(pemBytes, nil)
	if err != nil {
		log.Fatal(err)
	}

	payload := []byte("<like><author>alice@pod-a.example.org</author></like>")
	env, err := magicenv.Sign(payload, "alice@pod-a.example.org", alice, nil)
	if err != nil {
		log.Fatal(err)
	}
	body := env.Marshal() // POST this as application/magic-envelope+xml

	keys := magicenv.KeyResolverFunc(func(_ context.Context, author string) (*rsa.PublicKey, error) {
		if author == "alice@pod-a.example.org" {
			return &alice.PublicKey, nil
		}
		return nil, magicenv.ErrKeyNotFound
	})
	got, err := magicenv.Open(context.Background(), body, keys, nil)
	if err != nil {
		log.Fatal(err)
	}
	sender, _ := got.Author()
	fmt.Println("sender:", sender)
	fmt.Println("payload:", string(got.Payload()))
	fmt.Printf("signature: %x...\n", got.Signature()[:16])
	// Output:
	// sender: alice@pod-a.example.org
	// payload: <like><author>alice@pod-a.example.org</author></like>
	// signature: 0016de827d62aa345eb1a7bed23186a5...
}
