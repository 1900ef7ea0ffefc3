// Package entities reads, validates and writes the entities of the diaspora*
// federation protocol: status messages, comments, likes, profiles, contacts,
// conversations and the rest of the entity catalogue
// (https://diaspora.github.io/diaspora_federation/entities/), in their XML
// form (what Magic Envelopes carry) and their JSON form.
//
// The package follows the reference Ruby implementation (diaspora_federation
// 1.1.0) wherever its behaviour and the published documentation differ, and
// is pinned by the reference's test vectors. It never logs and never touches
// the network: looking up keys, parents and other related entities is the
// caller's job.
//
// # Entities
//
// Every entity type is a struct with typed fields ([StatusMessage],
// [Comment], [Profile], …) and implements [Entity]. Timestamps are
// [time.Time] (the zero time means "no value"), strings are string ("" means
// "no value"), nested entities are pointers and lists are slices. An entity
// whose type the package does not know is an [*UnknownEntity] that keeps the
// raw input. The `diaspora:"..."` struct tags map the fields to the protocol's
// property names and record whether a property is required, defaulted or
// optional; only this package reads them.
//
// # Parsing and writing
//
// [ParseXML] and [ParseJSON] dispatch on the root element or entity_type and
// validate the result; [MarshalXML] and [MarshalJSON] write the canonical
// form. [ViewOf] gives a neutral picture of an entity, the form the test
// vectors use.
//
// # Relayables
//
// Comments, likes, poll participations and event participations are
// relayables ([Relayable]): their author_signature covers their properties in
// the order received, unknown properties included. A parsed relayable
// therefore remembers the received elements, and MarshalXML re-emits them
// as received, so that a pod can relay the original and every receiver can
// verify it. Verification needs the author's public key, which the caller
// looks up: see [Relayable.VerifyAuthorSignature]. Whether a signature is
// needed at all (not when the author is the root author), whether the parent
// exists and whether the sender may send the entity are decided by the
// receiving pod. [AccountMigration] has its own signature
// ([AccountMigration.VerifySignature]).
//
// # Legacy
//
// Pods older than 2017 used an <XML><post> wrapper, other element names and
// some entity types that no longer exist. [Options.Legacy] reads them; it is
// off by default, matching current diaspora*.
//
// # Options
//
// Like every package of this module, entities takes its configuration as a
// *Options last argument, where nil means the zero value (the defaults);
// a struct that holds options keeps them by value, zero meaning the
// defaults.
//
// # Limits
//
// Input is untrusted: parsing never panics, rejects DTDs, and caps size,
// depth, element count and list lengths ([Options]). Errors are typed: see
// [ErrMalformed], [ErrUnknownEntity], [ErrValidation] ([*ValidationError]),
// [ErrInvalidSignature] and [Category].
package entities
