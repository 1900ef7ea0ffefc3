// Package magicenv reads, verifies, signs and encrypts diaspora* Magic
// Envelopes, the signed wrapper every federated entity travels in.
//
// The protocol is described in the diaspora* federation documentation
// (https://diaspora.github.io/diaspora_federation/federation/magicsig.html
// and .../encryption.html). This package follows the reference Ruby
// implementation (diaspora_federation 1.1.0) wherever the two differ, and
// its behaviour is pinned by the reference's test vectors.
//
// # Receiving
//
// Receiving is three separate steps, so that the caller decides where keys
// come from:
//
//	env, err := magicenv.Parse(body, nil) // structure and encodings only
//	author, err := env.Author()           // the sender named by key_id
//	pub := lookUp(author)                 // the caller's key store or discovery
//	err = env.Verify(pub)                 // RSA-SHA256 over the canonical base string
//	entityXML := env.Payload()
//
// [Open] runs the three steps with a [KeyResolver].
//
// # Sending
//
// [Sign] builds an envelope from the entity XML, the sender's diaspora* ID
// and a [crypto.Signer] (so keys may live in an HSM); [Envelope.Marshal]
// writes it byte for byte as the reference does. For private delivery,
// [Encrypt] wraps the marshalled envelope for one recipient and [Decrypt]
// opens it again.
//
// # What is accepted
//
// Like the reference: the envelope elements must use the prefix "me"
// bound to [Namespace] (see [Options.AnyPrefix]); me:data, me:sig and
// key_id are strict base64 in the URL-safe or the standard alphabet, with
// or without padding, and without white space; the signature covers the
// payload re-encoded as padded base64url (see [Options.AcceptRawSubject]).
// Base64 inside an encrypted envelope is read leniently.
//
// # Errors
//
// Errors wrap the sentinels of this package: [ErrInvalidEnvelope] (and
// the more precise sentinels that wrap it), [ErrMalformed],
// [ErrInvalidSignature], [ErrDecrypt], [ErrTooLarge], [ErrWeakKey] and
// [ErrInvalidKey]; key lookups fail with a [*KeyLookupError] that tells a
// temporary failure from a final one. Signature and decryption errors are
// deliberately vague.
//
// # Options
//
// Like every package of this module, magicenv takes its configuration as a
// *Options last argument, where nil means the zero value (the defaults);
// a struct that holds options keeps them by value, zero meaning the
// defaults.
//
// # Limits
//
// Inputs are capped at [Options.MaxSize] (1 MiB by default); DOCTYPEs are
// refused; RSA keys shorter than [Options.MinKeyBits] (1024 bits by
// default and at the lowest, as in every package of the module) are
// refused, and [GenerateKey] makes no key under 2048 bits. The package never logs and
// never touches the network.
package magicenv
