// Package relayable computes and checks the author signatures of diaspora*
// relayables: comments, likes, poll participations and event participations,
// the entities that an author's pod sends to the root author's pod, which then
// relays them to everyone who can see the root post.
//
// The package works on an ordered list of [Property] values, one per direct
// child element of the entity element, in document order. It knows no entity
// types and imports no other public package of this module (only an
// internal, dependency-free RSA verification helper): parsing the XML (or
// JSON) into that list, and deciding whether a signature is needed at all,
// is the job of the caller.
//
// # The signature string
//
// An author_signature covers the values of the entity's properties, not their
// names. [SignatureString] builds it:
//
//   - properties are taken in document order;
//   - only the first occurrence of each name counts;
//   - every property whose name contains "signature" is left out
//     (author_signature and the legacy parent_author_signature);
//   - unknown properties are kept, because the author signed them too;
//   - the values are joined with ";" and nothing is escaped, so an empty value
//     still takes a slot ("a;;c") and a ";" inside a value stays as it is.
//
// For example, the comment
//
//	<comment>
//	  <author>alice@pod.example</author>
//	  <guid>4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f</guid>
//	  <parent_guid>9e0c1a2b3c4d5e6f708192a3b4c5d6e7</parent_guid>
//	  <text>Nice; thanks!</text>
//	  <mood>happy</mood>
//	  <author_signature>…</author_signature>
//	</comment>
//
// is signed over
//
//	alice@pod.example;4d5a8c1e0b2f4c1a9e7d6f3b2a1c0e9f;9e0c1a2b3c4d5e6f708192a3b4c5d6e7;Nice; thanks!;happy
//
// The signature itself is RSASSA-PKCS1-v1_5 with SHA-256 over the UTF-8 bytes
// of that string, written in standard, padded base64 ([Sign]). [Verify]
// decodes the base64 leniently, as the reference implementation does:
// characters outside the base64 alphabet, such as line breaks, are ignored.
//
// # Values
//
// The values must be the texts the author signed. For an element that the
// receiver does not know, that is the element text as received. For a known
// property the reference implementation signs and verifies the canonical form
// of the parsed value (timestamps as 2006-01-02T15:04:05Z in UTC, booleans as
// true/false), so a caller holding non-canonical input should canonicalize
// known values before calling [Verify]. The reference accepts only that
// canonical form: a signature over the raw text of a non-canonical timestamp
// is rejected there, although it verifies here over the raw values. Senders
// should always emit canonical values, so that both forms are the same.
//
// # Errors
//
// A signature that does not verify, whatever the reason (bad base64, wrong
// key, changed data), yields [ErrInvalidSignature], on purpose with no further
// detail. A missing signature yields [ErrMissingSignature]. A key that cannot
// be used (nil, not RSA, or too short) yields [ErrUnsupportedKey]: the
// signature was not checked at all.
//
// The protocol is described at
// https://diaspora.github.io/diaspora_federation/federation/relayable.html.
package relayable
