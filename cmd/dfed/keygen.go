package main

import (
	"flag"
	"fmt"
	"io"

	"github.com/go-diaspora/federation/magicenv"
)

// keygen prints a new RSA key pair: the private key as PKCS#1 PEM (what
// diaspora* stores), then the public key as SubjectPublicKeyInfo PEM (what
// it publishes). Sizes under magicenv.MinGenerateKeyBits (2048) are
// refused.
func keygen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bits := fs.Int("bits", magicenv.DefaultKeyBits, "key size in bits")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: dfed keygen [--bits N]")
		return 2
	}
	key, err := magicenv.GenerateKey(*bits, nil)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 2
	}
	priv, err := magicenv.MarshalPrivateKey(key)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 1
	}
	pub, err := magicenv.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		fmt.Fprintf(stderr, "dfed: %v\n", err)
		return 1
	}
	if _, err := stdout.Write(append(priv, pub...)); err != nil {
		return 1
	}
	return 0
}
