package magicenv_test

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/go-diaspora/federation/entities"
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

// Receive a public envelope in three steps (parse it, look the sender's key
// up, verify it), then read the entity it carries. salmon.Receiver does the
// same and applies the receive rules of the protocol on top.
func ExampleParse() {
	// The pod's key store: the public keys of the people it knows. A pod
	// keeps them in its database and asks discovery for strangers'.
	alicePEM, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	alicePub, err := magicenv.ParsePublicKey(alicePEM, nil)
	if err != nil {
		log.Fatal(err)
	}
	keyStore := map[string]*rsa.PublicKey{"alice@pod-a.example.org": alicePub}

	// A body POSTed to /receive/public.
	body, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		log.Fatal(err)
	}

	env, err := magicenv.Parse(body, nil) // structure and encodings only
	if err != nil {
		log.Fatal(err) // errors.Is(err, magicenv.ErrInvalidEnvelope), ...
	}
	sender, err := env.Author() // the diaspora* ID in key_id
	if err != nil {
		log.Fatal(err)
	}
	pub, ok := keyStore[sender]
	if !ok {
		log.Fatal("no public key for ", sender)
	}
	if err := env.Verify(pub); err != nil {
		log.Fatal(err) // magicenv.ErrInvalidSignature
	}
	// The payload is now authenticated as coming from sender.
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		log.Fatal(err)
	}
	post := e.(*entities.StatusMessage)
	fmt.Println("sender:", sender)
	fmt.Println("entity:", e.Type(), "by", post.Author)
	fmt.Println("text:", post.Text)
	// Output:
	// sender: alice@pod-a.example.org
	// entity: status_message by alice@pod-a.example.org
	// text: Hello, federation! This is a reference status message.
}

// Open a private envelope, as bob's pod does with a body POSTed to
// /receive/users/{guid}: decrypt it with the recipient's private key, then
// parse and verify the signed envelope inside, as for a public one.
func ExampleDecrypt() {
	bobPEM, err := os.ReadFile("../testdata/vectors/reference/keys/bob.pem")
	if err != nil {
		log.Fatal(err)
	}
	bob, err := magicenv.ParsePrivateKey(bobPEM, nil)
	if err != nil {
		log.Fatal(err)
	}
	alicePEM, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	alice, err := magicenv.ParsePublicKey(alicePEM, nil)
	if err != nil {
		log.Fatal(err)
	}
	body, err := os.ReadFile("../testdata/vectors/reference/encrypted_magic_envelope_private/contact.json")
	if err != nil {
		log.Fatal(err)
	}

	signed, err := magicenv.Decrypt(body, bob, nil) // every failure: magicenv.ErrDecrypt
	if err != nil {
		log.Fatal(err)
	}
	env, err := magicenv.Parse(signed, nil)
	if err != nil {
		log.Fatal(err)
	}
	sender, err := env.Author()
	if err != nil {
		log.Fatal(err)
	}
	if sender != "alice@pod-a.example.org" {
		log.Fatal("unexpected sender ", sender) // a pod looks the sender's key up instead
	}
	if err := env.Verify(alice); err != nil {
		log.Fatal(err)
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		log.Fatal(err)
	}
	c := e.(*entities.Contact)
	fmt.Println("sender:", sender)
	fmt.Printf("%s: %s -> %s, sharing %t\n", e.Type(), c.Author, c.Recipient, c.Sharing)
	// Output:
	// sender: alice@pod-a.example.org
	// contact: alice@pod-a.example.org -> bob@pod-b.example.net, sharing true
}

// Encrypt a signed envelope for one recipient. Encryption uses a fresh key
// every time, so the body differs on each call; only the recipient can
// decrypt it, and every failure to decrypt is the same ErrDecrypt.
func ExampleEncrypt() {
	alicePEM, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pem")
	if err != nil {
		log.Fatal(err)
	}
	alice, err := magicenv.ParsePrivateKey(alicePEM, nil)
	if err != nil {
		log.Fatal(err)
	}
	bobPEM, err := os.ReadFile("../testdata/vectors/reference/keys/bob.pem")
	if err != nil {
		log.Fatal(err)
	}
	bob, err := magicenv.ParsePrivateKey(bobPEM, nil)
	if err != nil {
		log.Fatal(err)
	}

	payload := []byte("<contact><author>alice@pod-a.example.org</author><recipient>bob@pod-b.example.net</recipient></contact>")
	env, err := magicenv.Sign(payload, "alice@pod-a.example.org", alice, nil)
	if err != nil {
		log.Fatal(err)
	}
	body, err := magicenv.Encrypt(env.Marshal(), &bob.PublicKey, nil) // POST as application/json
	if err != nil {
		log.Fatal(err)
	}

	signed, err := magicenv.Decrypt(body, bob, nil)
	fmt.Println("bob decrypts:", err == nil, string(signed) == string(env.Marshal()))
	_, err = magicenv.Decrypt(body, alice, nil)
	fmt.Println("alice decrypts:", errors.Is(err, magicenv.ErrDecrypt))
	// Output:
	// bob decrypts: true true
	// alice decrypts: true
}

// A signature checked with another person's key, or over changed data,
// fails with ErrInvalidSignature and nothing more.
func ExampleEnvelope_Verify() {
	body, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		log.Fatal(err)
	}
	env, err := magicenv.Parse(body, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"alice", "bob"} {
		pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/" + name + ".pub.pem")
		if err != nil {
			log.Fatal(err)
		}
		pub, err := magicenv.ParsePublicKey(pemBytes, nil)
		if err != nil {
			log.Fatal(err)
		}
		err = env.Verify(pub)
		fmt.Printf("%s's key: %v (invalid signature: %t)\n", name, err, errors.Is(err, magicenv.ErrInvalidSignature))
	}
	// Output:
	// alice's key: <nil> (invalid signature: false)
	// bob's key: magicenv: invalid signature (invalid signature: true)
}

// Parse errors wrap the package's sentinels, and a *ParseError names the
// element concerned: a structural problem matches ErrInvalidEnvelope, text
// that is not strict base64 ErrMalformed.
func ExampleParseError() {
	for _, file := range []string{"missing_key_id.xml", "broken_base64_sig.xml", "wrong_algorithm.xml"} {
		body, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/" + file)
		if err != nil {
			log.Fatal(err)
		}
		env, err := magicenv.Parse(body, nil)
		if err == nil {
			_, err = env.Author() // key_id is read when the sender is asked for
		}
		var perr *magicenv.ParseError
		if errors.As(err, &perr) {
			fmt.Printf("%s: %s, invalid envelope %t, malformed %t\n", file, perr.Element,
				errors.Is(err, magicenv.ErrInvalidEnvelope), errors.Is(err, magicenv.ErrMalformed))
		}
	}
	// Output:
	// missing_key_id.xml: me:sig/@key_id, invalid envelope true, malformed false
	// broken_base64_sig.xml: me:sig, invalid envelope false, malformed true
	// wrong_algorithm.xml: me:alg, invalid envelope true, malformed false
}

// When the sender's key cannot be found, Open returns a *KeyLookupError,
// which tells a final "no such key" (refuse the body) from a failure that
// may pass (answer 503, or retry later).
func ExampleKeyLookupError() {
	body, err := os.ReadFile("../testdata/vectors/reference/magic_envelope_public/status_message_basic.xml")
	if err != nil {
		log.Fatal(err)
	}
	for _, lookupErr := range []error{magicenv.ErrKeyNotFound, errors.New("key server: timeout")} {
		keys := magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) {
			return nil, lookupErr
		})
		_, err := magicenv.Open(context.Background(), body, keys, nil)
		var kerr *magicenv.KeyLookupError
		if errors.As(err, &kerr) {
			fmt.Printf("%s: %v, temporary %t\n", kerr.Author, kerr.Err, kerr.Temporary())
		}
	}
	// Output:
	// alice@pod-a.example.org: magicenv: public key not found, temporary false
	// alice@pod-a.example.org: key server: timeout, temporary true
}

// Keys are read from PEM. Short keys are refused, at 1024 bits by default;
// Options.MinKeyBits raises the floor.
func ExampleParsePublicKey() {
	pemBytes, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := magicenv.ParsePublicKey(pemBytes, nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(pub.N.BitLen(), "bits")

	_, err = magicenv.ParsePublicKey(pemBytes, &magicenv.Options{MinKeyBits: 4096})
	fmt.Println(errors.Is(err, magicenv.ErrWeakKey))

	_, err = magicenv.ParsePublicKey([]byte("not a key"), nil)
	fmt.Println(errors.Is(err, magicenv.ErrInvalidKey))
	// Output:
	// 2048 bits
	// true
	// true
}
