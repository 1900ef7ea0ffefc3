package entities

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"reflect"
	"strings"

	"github.com/go-diaspora/federation/relayable"
)

// Relayable is an interaction that the root author's pod relays to the
// audience of its parent: [*Comment], [*Like], [*PollParticipation] and
// [*EventParticipation]. Its author_signature covers the received properties
// in the received order, unknown ones included (see package relayable).
type Relayable interface {
	Entity
	// Parent returns the parent's type ("Post", "Comment", "Poll",
	// "Event") and GUID.
	Parent() (typ, guid string)
	// SignatureProperties returns the properties the author_signature
	// covers, in signature order: for a received relayable the received
	// elements (known ones with their canonical value, unknown ones with
	// their text), otherwise the declared properties in the reference's
	// order. author_signature itself is included (relayable.SignatureString
	// leaves it out).
	SignatureProperties() []relayable.Property
	// Sign computes author_signature with the author's key and stores it.
	Sign(key crypto.Signer) error
	// VerifyAuthorSignature checks author_signature with the author's
	// public key. It returns a [*SignatureError] when the signature is
	// missing or wrong. Whether a signature is needed at all (it is not
	// when the author is the root author) is the receiver's decision.
	VerifyAuthorSignature(pub *rsa.PublicKey) error
	// AdditionalData returns the unknown properties received with the
	// relayable, in order (first occurrence of each name).
	AdditionalData() []relayable.Property
}

// Parent returns ("Post", ParentGUID).
func (e *Comment) Parent() (typ, guid string) { return "Post", e.ParentGUID }

// Parent returns (ParentType, ParentGUID).
func (e *Like) Parent() (typ, guid string) { return e.ParentType, e.ParentGUID }

// Parent returns ("Poll", ParentGUID).
func (e *PollParticipation) Parent() (typ, guid string) { return "Poll", e.ParentGUID }

// Parent returns ("Event", ParentGUID).
func (e *EventParticipation) Parent() (typ, guid string) { return "Event", e.ParentGUID }

// SignatureProperties implements [Relayable].
func (e *Comment) SignatureProperties() []relayable.Property { return sigProps(e) }

// SignatureProperties implements [Relayable].
func (e *Like) SignatureProperties() []relayable.Property { return sigProps(e) }

// SignatureProperties implements [Relayable].
func (e *PollParticipation) SignatureProperties() []relayable.Property { return sigProps(e) }

// SignatureProperties implements [Relayable].
func (e *EventParticipation) SignatureProperties() []relayable.Property { return sigProps(e) }

// Sign implements [Relayable].
func (e *Comment) Sign(key crypto.Signer) error { return signRelayable(e, &e.AuthorSignature, key) }

// Sign implements [Relayable].
func (e *Like) Sign(key crypto.Signer) error { return signRelayable(e, &e.AuthorSignature, key) }

// Sign implements [Relayable].
func (e *PollParticipation) Sign(key crypto.Signer) error {
	return signRelayable(e, &e.AuthorSignature, key)
}

// Sign implements [Relayable].
func (e *EventParticipation) Sign(key crypto.Signer) error {
	return signRelayable(e, &e.AuthorSignature, key)
}

// VerifyAuthorSignature implements [Relayable].
func (e *Comment) VerifyAuthorSignature(pub *rsa.PublicKey) error { return verifyRelayable(e, pub) }

// VerifyAuthorSignature implements [Relayable].
func (e *Like) VerifyAuthorSignature(pub *rsa.PublicKey) error { return verifyRelayable(e, pub) }

// VerifyAuthorSignature implements [Relayable].
func (e *PollParticipation) VerifyAuthorSignature(pub *rsa.PublicKey) error {
	return verifyRelayable(e, pub)
}

// VerifyAuthorSignature implements [Relayable].
func (e *EventParticipation) VerifyAuthorSignature(pub *rsa.PublicKey) error {
	return verifyRelayable(e, pub)
}

// AdditionalData implements [Relayable].
func (e *Comment) AdditionalData() []relayable.Property { return additional(e) }

// AdditionalData implements [Relayable].
func (e *Like) AdditionalData() []relayable.Property { return additional(e) }

// AdditionalData implements [Relayable].
func (e *PollParticipation) AdditionalData() []relayable.Property { return additional(e) }

// AdditionalData implements [Relayable].
func (e *EventParticipation) AdditionalData() []relayable.Property { return additional(e) }

func isSignatureName(name string) bool { return strings.Contains(name, "signature") }

// sigProps builds the signed property list of a relayable.
func sigProps(e hasMeta) []relayable.Property {
	s := schemaOf(e)
	v := reflect.ValueOf(e).Elem()
	m := e.m()
	var out []relayable.Property
	if m.received != nil {
		seen := map[string]bool{}
		for _, f := range m.received {
			if seen[f.name] {
				continue
			}
			seen[f.name] = true
			if isSignatureName(f.name) {
				if f.name == "author_signature" {
					out = append(out, relayable.Property{Name: f.name, Value: v.FieldByName("AuthorSignature").String()})
				}
				continue
			}
			if p := s.prop(f.name); p != nil && p.kind != kEntity && p.kind != kList {
				c, _ := canonical(v, p, m)
				out = append(out, relayable.Property{Name: f.name, Value: c})
				continue
			}
			out = append(out, relayable.Property{Name: f.name, Value: Sanitize(f.text)})
		}
		return out
	}
	for i := range s.props {
		p := &s.props[i]
		if p.sig {
			continue
		}
		c, ok := canonical(v, p, m)
		if !ok && p.pres == optional && p.def == "" {
			continue
		}
		out = append(out, relayable.Property{Name: p.name, Value: c})
	}
	if sig := v.FieldByName("AuthorSignature").String(); sig != "" {
		out = append(out, relayable.Property{Name: "author_signature", Value: sig})
	}
	return out
}

// repeatedOrder returns the signed names of a relayable read from JSON
// whose property_order names a property more than once, with every
// occurrence, and the signature string over them (each occurrence signs
// the value again, as the reference signs it); ok is false for every other
// relayable, which relayable.SignatureString covers.
func repeatedOrder(e hasMeta) (names []string, str string, ok bool) {
	m := e.m()
	if !m.jsonOrder {
		return nil, "", false
	}
	seen := map[string]bool{}
	for _, f := range m.received {
		if seen[f.name] && !isSignatureName(f.name) {
			ok = true
		}
		seen[f.name] = true
	}
	if !ok {
		return nil, "", false
	}
	value := map[string]string{}
	for _, p := range sigProps(e) {
		value[p.Name] = p.Value
	}
	var b strings.Builder
	for _, f := range m.received {
		if isSignatureName(f.name) {
			continue
		}
		if len(names) > 0 {
			b.WriteByte(';')
		}
		names = append(names, f.name)
		b.WriteString(value[f.name])
	}
	return names, b.String(), true
}

func signRelayable(e hasMeta, dst *string, key crypto.Signer) error {
	if _, s, ok := repeatedOrder(e); ok {
		sig, err := relayable.SignString(s, key)
		if err != nil {
			return err
		}
		*dst = sig
		return nil
	}
	sig, err := relayable.Sign(sigProps(e), key)
	if err != nil {
		return err
	}
	*dst = sig
	return nil
}

func verifyRelayable(e hasMeta, pub *rsa.PublicKey) error {
	sig := reflect.ValueOf(e).Elem().FieldByName("AuthorSignature").String()
	if sig == "" {
		return &SignatureError{Entity: e.Type(), Property: "author_signature", Missing: true}
	}
	verify := func() error { return relayable.Verify(sigProps(e), sig, pub) }
	if _, s, ok := repeatedOrder(e); ok {
		verify = func() error { return relayable.VerifyString(s, sig, pub) }
	}
	if err := verify(); err != nil {
		return &SignatureError{Entity: e.Type(), Property: "author_signature"}
	}
	return nil
}

// additional returns the unknown received properties (first occurrence of
// each name), leaving out signature elements.
func additional(e hasMeta) []relayable.Property {
	s := schemaOf(e)
	m := e.m()
	var out []relayable.Property
	seen := map[string]bool{}
	for _, f := range m.received {
		if seen[f.name] || isSignatureName(f.name) || s.prop(f.name) != nil {
			continue
		}
		seen[f.name] = true
		out = append(out, relayable.Property{Name: f.name, Value: f.text})
	}
	return out
}

// OldID returns the old identity of the migration: Author, unless Author
// is the new identity (Profile.Author), in which case OldIdentity.
func (e *AccountMigration) OldID() string {
	if e.Profile != nil && e.Author == e.Profile.Author {
		return e.OldIdentity
	}
	return e.Author
}

// NewID returns the new identity of the migration (Profile.Author).
func (e *AccountMigration) NewID() string {
	if e.Profile == nil {
		return ""
	}
	return e.Profile.Author
}

// SignerID returns the identity whose key made Signature: the one that is
// not Author.
func (e *AccountMigration) SignerID() string {
	if e.Author == e.NewID() {
		return e.OldID()
	}
	return e.NewID()
}

// SignedText returns the text Signature covers:
// "AccountMigration:<old ID>:<new ID>".
func (e *AccountMigration) SignedText() string {
	return "AccountMigration:" + e.OldID() + ":" + e.NewID()
}

// Sign computes Signature with key, which must belong to [AccountMigration.SignerID].
// When Author is the new identity and OldIdentity is empty, Sign cannot
// know the old identity and fails.
func (e *AccountMigration) Sign(key crypto.Signer) error {
	if e.OldID() == "" || e.NewID() == "" {
		return errors.New("entities: account_migration needs both identities to be signed")
	}
	sig, err := relayable.Sign([]relayable.Property{{Name: "text", Value: e.SignedText()}}, key)
	if err != nil {
		return err
	}
	e.Signature = sig
	return nil
}

// VerifySignature checks Signature with the public key of
// [AccountMigration.SignerID]. It returns a [*SignatureError] when the
// signature is missing or wrong.
func (e *AccountMigration) VerifySignature(pub *rsa.PublicKey) error {
	if e.Signature == "" {
		return &SignatureError{Entity: e.Type(), Property: "signature", Missing: true}
	}
	if err := relayable.Verify([]relayable.Property{{Name: "text", Value: e.SignedText()}}, e.Signature, pub); err != nil {
		return &SignatureError{Entity: e.Type(), Property: "signature"}
	}
	return nil
}

// VerifyRoot checks a Reshare against the author of its root post as the
// receiver knows it: the root_author property must equal rootAuthor. It
// returns a [*ValidationError] (rule "root_author") otherwise. A Reshare
// without root needs no check.
func (e *Reshare) VerifyRoot(rootAuthor string) error {
	if e.RootGUID == "" && e.RootAuthor == "" {
		return nil
	}
	if e.RootAuthor != rootAuthor {
		return &ValidationError{Entity: e.Type(), Property: "root_author", Rule: "root_author",
			Detail: "root_author " + e.RootAuthor + " is not the known root author " + rootAuthor}
	}
	return nil
}

// ParticipantIDs splits Participants at ";".
func (e *Conversation) ParticipantIDs() []string {
	if e.Participants == "" {
		return nil
	}
	return strings.Split(e.Participants, ";")
}

// Author returns the author property of e (the diaspora* ID that created
// it), or "" for entities without author (Location, Poll, PollAnswer,
// Embed, UnknownEntity).
func Author(e Entity) string {
	if e == nil {
		return ""
	}
	v := reflect.ValueOf(e)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return ""
	}
	v = v.Elem()
	if v.Kind() != reflect.Struct {
		return ""
	}
	f := v.FieldByName("Author")
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}
