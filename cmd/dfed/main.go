// Command dfed decodes, checks and explains diaspora* federation payloads.
//
// Usage:
//
//	dfed decode [--pub ID=PEMFILE]... [--key PEMFILE] [--min-key-bits N] FILE|-
//	dfed explain [--pub ID=PEMFILE]... [--key PEMFILE] [--legacy] FILE|-
//	dfed encode [--key PEMFILE --author ID] [--author-key PEMFILE] [--to PUBPEM] [--format F] ENTITY.json|-
//	dfed keygen [--bits N]
//	dfed conformance [--json] MANIFEST.json...
//	dfed discover [--trace] ID
//
// decode opens a public Magic Envelope or, with --key (the recipient's
// private key), an encrypted one, verifies the signature with the public
// key given for the claimed sender by --pub, and prints one JSON object:
//
//	{"format": "magic_envelope", "valid": true, "sender": "alice@pod.example",
//	 "signature": "valid", "payload": "<status_message>…"}
//
// or, when the input is rejected, "valid": false with
// "error": {"category": ..., "message": ...}. The categories are the neutral
// names of the test-vector manifests (invalid_envelope, malformed,
// invalid_envelope_signature, sender_key_not_found, decrypt, ...).
//
// explain does what decode does, for a person: the detected format, the
// alphabet and padding of every base64 field, the exact signature base
// string, the key used, the relayable signature order and string, and why
// the input was rejected.
//
// encode is the reverse of decode: it takes an entity in the neutral view
// (decode's "entity"), signs relayables with --author-key (or --key when
// the author is the sender), and writes the body the reference would
// accept: entity_xml, entity_json, magic_envelope (the default) or, with
// --to, encrypted_magic_envelope.
//
// keygen prints a new RSA key pair as PEM: the private key (PKCS#1), then
// the public key (SubjectPublicKeyInfo). It makes 4096-bit keys, as
// diaspora* does, unless --bits says otherwise.
//
// conformance runs every vector of test-vector manifests (the format is
// described in docs/conformance.md) through the SDK, prints one line per
// vector and a last line "N passed, M failed", and exits 1 when any
// failed. With --json it prints instead, per vector, what the SDK decoded:
// {"id", "valid", "sender", "entity", "error": {"category"}}.
//
// discover looks a diaspora* ID up the way a pod does (WebFinger, or the
// legacy host-meta and XRD, then the hCard) and prints the person as JSON;
// --trace prints every request and its status on the way.
//
// Exit status of decode: 0 when the input is valid, 1 when it is rejected, 2 on a
// usage error.
package main

import (
	"fmt"
	"io"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: dfed <command> [arguments]

commands:
  decode [--pub ID=PEMFILE]... [--key PEMFILE] [--min-key-bits N] FILE|-
        open a Magic Envelope (encrypted with --key) and print it as JSON
  explain [--pub ID=PEMFILE]... [--key PEMFILE] [--legacy] [--min-key-bits N] FILE|-
        say step by step how a body is read, signed and judged
  encode [--key PEMFILE --author ID] [--author-key PEMFILE] [--to PUBPEM] [--format F] ENTITY.json|-
        write an entity view as entity XML/JSON or a (encrypted) Magic Envelope
  keygen [--bits N]
        print a new RSA key pair as PEM (private PKCS#1, then public SPKI)
  discover [--trace] ID
        find a person (WebFinger, host-meta, hCard) and print it as JSON
  conformance [--json] MANIFEST.json...
        judge every vector of the manifests and compare with their verdicts
`

// run is main without the process: it returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "decode":
		return decode(args[1:], stdin, stdout, stderr)
	case "explain":
		return explain(args[1:], stdin, stdout, stderr)
	case "encode":
		return encode(args[1:], stdin, stdout, stderr)
	case "discover":
		return discover(args[1:], stdin, stdout, stderr)
	case "conformance":
		return conformanceCmd(args[1:], stdout, stderr)
	case "keygen":
		return keygen(args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "dfed: unknown command %q\n%s", args[0], usage)
	return 2
}
