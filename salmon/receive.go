package salmon

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/temporary"
	"github.com/go-diaspora/federation/magicenv"
)

// Errors of the receive rules. Each maps to one category of the neutral
// vocabulary ([Category]).
var (
	// ErrInvalidSender: the sender may not send this entity. The sender
	// must be the author; a relayable may also come from its root author
	// (https://diaspora.github.io/diaspora_federation/federation/relayable.html).
	ErrInvalidSender = errors.New("salmon: invalid sender")
	// ErrNotPublic: a non-public entity on the public route.
	ErrNotPublic = errors.New("salmon: entity is not public")
	// ErrRelatedNotFound: a parent, root or retraction target the
	// receiver does not know.
	ErrRelatedNotFound = temporary.Final("salmon: related entity not found")
	// ErrParentNotLocal: a Participation whose post is not on this pod.
	ErrParentNotLocal = errors.New("salmon: parent is not local")
	// ErrAuthorKeyNotFound: no public key for the author whose signature
	// (relayable author_signature, AccountMigration signature) must be
	// checked.
	ErrAuthorKeyNotFound = temporary.Final("salmon: author key not found")
	// ErrUnknownFormat: a body that is none of the formats accepted on
	// its route.
	ErrUnknownFormat = fmt.Errorf("%w: unknown body format", magicenv.ErrInvalidEnvelope)
)

// ErrNotFound is what [EntityStore] returns (possibly wrapped) for an
// entity it does not know. Any other error is a temporary failure.
var ErrNotFound = temporary.Final("salmon: not found")

// RelatedEntity is what the receiving pod knows about an entity that a
// received one refers to: a relayable's parent, a reshare's root, a
// retraction's target.
type RelatedEntity struct {
	// Type is the reference's class name: "Post" (status messages and
	// reshares), "Comment", "Like", "Poll", "Event", "PollParticipation",
	// "Photo", ...
	Type string
	// GUID is the entity's guid.
	GUID string
	// Author is the entity's author.
	Author string
	// Local reports that the entity lives on this pod.
	Local bool
	// Public reports a public entity.
	Public bool
	// Parent is the parent of a relayable entity (a Comment's post),
	// nil for an entity that is no relayable. The receiver follows it to
	// find the root author.
	Parent *RelatedEntity
}

// Root returns the top of the parent chain: the entity whose author
// relays interactions on it.
func (e *RelatedEntity) Root() *RelatedEntity {
	r := e
	for i := 0; r.Parent != nil && i < 8; i++ {
		r = r.Parent
	}
	return r
}

// EntityStore answers questions about entities the pod knows.
type EntityStore interface {
	// RelatedEntity returns the entity of the given type and guid, or an
	// error wrapping ErrNotFound.
	RelatedEntity(ctx context.Context, typ, guid string) (*RelatedEntity, error)
}

// RecipientKeys gives the private key of a local person, by guid (the
// {guid} of /receive/users/{guid}).
type RecipientKeys interface {
	// RecipientKey returns the person's diaspora* ID and private key, or
	// an error wrapping [ErrRecipientNotFound].
	RecipientKey(ctx context.Context, guid string) (id string, key crypto.Decrypter, err error)
}

// EntityStoreFunc adapts a function to [EntityStore].
type EntityStoreFunc func(ctx context.Context, typ, guid string) (*RelatedEntity, error)

// RelatedEntity calls f(ctx, typ, guid).
func (f EntityStoreFunc) RelatedEntity(ctx context.Context, typ, guid string) (*RelatedEntity, error) {
	return f(ctx, typ, guid)
}

// RecipientKeysFunc adapts a function to [RecipientKeys].
type RecipientKeysFunc func(ctx context.Context, guid string) (id string, key crypto.Decrypter, err error)

// RecipientKey calls f(ctx, guid).
func (f RecipientKeysFunc) RecipientKey(ctx context.Context, guid string) (string, crypto.Decrypter, error) {
	return f(ctx, guid)
}

// LookupError reports that something the receive rules need could not be
// looked up. It is final when the lookup answered "not found" and
// temporary otherwise: see [LookupError.Temporary] and [IsTemporary].
type LookupError struct {
	What string // "author key", "related entity", "recipient key"
	Key  string // the ID or type:guid looked up
	Err  error  // the lookup's error
	kind error  // the sentinel of a final "not found"
}

func lookupErr(what, key string, err, notFound error) *LookupError {
	e := &LookupError{What: what, Key: key, Err: err}
	if isNotFound(err) {
		e.kind = notFound
	}
	return e
}

// isNotFound reports a definite "not found": our sentinels, or an error
// that answers as final under the module's temporary-failure rule
// (discovery's key errors, a 404).
func isNotFound(err error) bool {
	if errors.Is(err, ErrNotFound) || errors.Is(err, magicenv.ErrKeyNotFound) || errors.Is(err, ErrRecipientNotFound) {
		return true
	}
	t, answered := temporary.Answer(err)
	return answered && !t
}

// Error implements error.
func (e *LookupError) Error() string { return fmt.Sprintf("salmon: %s %s: %v", e.What, e.Key, e.Err) }

// Unwrap returns the lookup's error and, for a final "not found", the
// package's sentinel for it (ErrRelatedNotFound, ErrAuthorKeyNotFound,
// ErrRecipientNotFound).
func (e *LookupError) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.Err}
	}
	return []error{e.Err}
}

// Temporary reports a lookup that failed for another reason than "not found".
func (e *LookupError) Temporary() bool { return e.kind == nil }

// IsTemporary reports whether err means "could not check now" rather than
// "checked and refused": a failed key or entity lookup (a timeout, a
// database error), a network failure. Answer such a message with 5xx, or
// keep it and retry.
//
// It is the module's one temporary-failure rule, the same function as
// discovery.IsTemporary: a tree that holds a cancelled context or a final
// "not found" ([ErrNotFound], [ErrRecipientNotFound],
// magicenv.ErrKeyNotFound, discovery's refusals) is not temporary;
// otherwise it is temporary when a net.Error or an error whose
// Temporary() bool method reports true (a [*LookupError], a
// magicenv.KeyLookupError, a [*StatusError], the caller's own types) is
// in it.
func IsTemporary(err error) bool { return temporary.Is(err) }

// Message is a received entity that passed every check.
type Message struct {
	// Sender signed the envelope (or, for a legacy slap, was named by
	// its header and signed it).
	Sender string
	// Recipient is the local person a private message was sent to
	// (empty for the public route).
	Recipient string
	// Format is the wire format it came in.
	Format Format
	// Entity is the validated entity.
	Entity entities.Entity
	// Payload is the entity XML exactly as signed: relay this, never a
	// re-serialization.
	Payload []byte
}

// Receiver opens received bodies and applies every rule the reference
// applies before an entity may be handed to the application. Fields must
// not change once it is in use.
type Receiver struct {
	// Keys finds public keys of senders and of relayable and
	// AccountMigration signers. Required.
	Keys magicenv.KeyResolver
	// Entities answers questions about parents, roots and targets.
	// Required for relayables, reshares, retractions and participations.
	Entities EntityStore
	// RecipientKeys gives local recipients' private keys. Required for
	// the private route.
	RecipientKeys RecipientKeys
	// Fetch, when set, resolves a relayable's parent or a reshare's root
	// that Entities does not know, from the pod of hint (the relayable's
	// author or the reshare's root author). [Fetcher.Related] does this
	// with a budget against loops. Retraction targets and participation
	// parents are never fetched: they must be known locally.
	Fetch func(ctx context.Context, hint, typ, guid string) (*RelatedEntity, error)
	// Legacy also accepts slaps and the pre-2017 entity vocabulary.
	Legacy bool
	// Envelope and EntityOptions configure the codecs; zero values are the
	// defaults. Envelope.MinKeyBits also applies to the keys that check
	// relayable and account-migration signatures.
	Envelope      magicenv.Options
	EntityOptions *entities.Options
}

// ReceivePublic processes a body posted to /receive/public.
func (r *Receiver) ReceivePublic(ctx context.Context, body []byte) (*Message, error) {
	switch f := Detect(body, magicenv.ContentType); {
	case f == FormatMagicEnvelope:
		return r.openEnvelope(ctx, f, body, "")
	case f == FormatLegacySlap && r.Legacy:
		slap, err := ParseSlap(body, &r.Envelope)
		if err != nil {
			return nil, err
		}
		return r.openSlap(ctx, f, slap, "")
	default:
		return nil, ErrUnknownFormat
	}
}

// ReceivePrivate processes a body posted to /receive/users/{guid}.
func (r *Receiver) ReceivePrivate(ctx context.Context, recipientGUID string, body []byte) (*Message, error) {
	if r.RecipientKeys == nil {
		return nil, lookupErr("recipient key", recipientGUID, errors.New("no RecipientKeys configured"), ErrRecipientNotFound)
	}
	id, key, err := r.RecipientKeys.RecipientKey(ctx, recipientGUID)
	if err == nil && key == nil {
		err = ErrRecipientNotFound
	}
	if err != nil {
		return nil, lookupErr("recipient key", recipientGUID, err, ErrRecipientNotFound)
	}
	switch f := Detect(body, magicenv.EncryptedContentType); {
	case f == FormatEncryptedMagicEnvelope:
		plain, err := magicenv.Decrypt(body, key, &r.Envelope)
		if err != nil {
			return nil, err
		}
		return r.openEnvelope(ctx, f, plain, id)
	case f == FormatLegacyEncryptedSlap && r.Legacy:
		slap, err := OpenEncryptedSlap(body, key, &r.Envelope)
		if err != nil {
			return nil, err
		}
		return r.openSlap(ctx, f, slap, id)
	default:
		return nil, ErrUnknownFormat
	}
}

// Receive processes what the receive [Handler] accepted.
func (r *Receiver) Receive(ctx context.Context, in *Incoming) (*Message, error) {
	if in == nil {
		return nil, ErrUnknownFormat
	}
	if in.Route == RoutePrivate {
		return r.ReceivePrivate(ctx, in.RecipientGUID, in.Body)
	}
	return r.ReceivePublic(ctx, in.Body)
}

func (r *Receiver) openEnvelope(ctx context.Context, f Format, data []byte, recipient string) (*Message, error) {
	env, err := magicenv.Parse(data, &r.Envelope)
	if err != nil {
		return nil, err
	}
	sender, err := env.Author()
	if err != nil {
		return nil, err
	}
	if err := r.verifyEnvelope(ctx, env, sender); err != nil {
		return nil, err
	}
	return r.finish(ctx, f, sender, env.Payload(), recipient)
}

func (r *Receiver) openSlap(ctx context.Context, f Format, s *Slap, recipient string) (*Message, error) {
	if err := r.verifyEnvelope(ctx, s.Envelope, s.Author); err != nil {
		return nil, err
	}
	payload, err := s.Payload()
	if err != nil {
		return nil, err
	}
	return r.finish(ctx, f, s.Author, payload, recipient)
}

func (r *Receiver) verifyEnvelope(ctx context.Context, env *magicenv.Envelope, sender string) error {
	// A sender that is no diaspora* ID can never be an entity's author or
	// a root author, so the body is refused before any key lookup: junk
	// in key_id (or a slap header) must not make the pod run discovery.
	if !entities.ValidDiasporaID(sender) {
		return fmt.Errorf("%w: sender %q is not a diaspora* ID", magicenv.ErrInvalidAuthor, sender)
	}
	pub, err := r.publicKey(ctx, sender)
	if err != nil {
		return &magicenv.KeyLookupError{Author: sender, Err: err}
	}
	return env.Verify(pub)
}

func (r *Receiver) publicKey(ctx context.Context, id string) (*rsa.PublicKey, error) {
	if r.Keys == nil {
		return nil, errors.New("no key resolver configured")
	}
	pub, err := r.Keys.PublicKey(ctx, id)
	if err == nil && pub == nil {
		err = magicenv.ErrKeyNotFound
	}
	return pub, err
}

func (r *Receiver) finish(ctx context.Context, f Format, sender string, payload []byte, recipient string) (*Message, error) {
	opts := r.EntityOptions
	if r.Legacy {
		o := entities.Options{}
		if opts != nil {
			o = *opts
		}
		o.Legacy, o.LegacyWrapper = true, true
		opts = &o
	}
	e, err := entities.ParseXML(payload, opts)
	if err != nil {
		return nil, err
	}
	if err := r.Check(ctx, e, sender, recipient == ""); err != nil {
		return nil, err
	}
	return &Message{Sender: sender, Recipient: recipient, Format: f, Entity: e, Payload: payload}, nil
}

// Check applies the receive rules to a parsed, valid entity: relayable
// parents, author signatures and who may relay them; reshare roots;
// retraction targets and their senders; participation parents;
// account migration signatures; that the sender is the author; and, on
// the public route, that the entity is public. sender may be empty to
// check an entity that came without an envelope (a fetched or archived
// one): the sender rules are then left out.
func (r *Receiver) Check(ctx context.Context, e entities.Entity, sender string, publicRoute bool) error {
	switch x := e.(type) {
	case entities.Relayable:
		typ, guid := x.Parent()
		parent, err := r.related(ctx, typ, guid, entities.Author(e))
		if err != nil {
			return err
		}
		root := parent.Root()
		author := entities.Author(e)
		if author != root.Author {
			pub, err := r.publicKey(ctx, author)
			if err != nil {
				return lookupErr("author key", author, err, ErrAuthorKeyNotFound)
			}
			if err := magicenv.CheckPublicKey(pub, &r.Envelope); err != nil {
				return err
			}
			if err := x.VerifyAuthorSignature(pub); err != nil {
				return err
			}
		}
		if sender != "" && sender != root.Author && !(sender == author && root.Local) {
			return fmt.Errorf("%w: %s relayed a %s by %s on a post by %s", ErrInvalidSender, sender, e.Type(), author, root.Author)
		}
		return nil
	case *entities.Reshare:
		if x.RootGUID != "" {
			root, err := r.related(ctx, "Post", x.RootGUID, x.RootAuthor)
			if err != nil {
				return err
			}
			if err := x.VerifyRoot(root.Author); err != nil {
				return err
			}
		}
	case *entities.Retraction:
		target, err := r.related(ctx, x.TargetType, x.TargetGUID, "")
		if err != nil {
			return err
		}
		if sender != "" && sender != target.Author {
			relayableTarget := x.TargetType == "Comment" || x.TargetType == "Like" || x.TargetType == "PollParticipation"
			if !relayableTarget || sender != target.Root().Author {
				return fmt.Errorf("%w: %s may not retract %s %s by %s", ErrInvalidSender, sender, x.TargetType, x.TargetGUID, target.Author)
			}
		}
		return nil
	case *entities.Participation:
		parent, err := r.related(ctx, x.ParentType, x.ParentGUID, "")
		if err != nil {
			return err
		}
		if !parent.Local {
			return fmt.Errorf("%w: %s %s", ErrParentNotLocal, x.ParentType, x.ParentGUID)
		}
	case *entities.AccountMigration:
		signer := x.SignerID()
		pub, err := r.publicKey(ctx, signer)
		if err != nil {
			return lookupErr("author key", signer, err, ErrAuthorKeyNotFound)
		}
		if err := magicenv.CheckPublicKey(pub, &r.Envelope); err != nil {
			return err
		}
		if err := x.VerifySignature(pub); err != nil {
			return err
		}
	}
	if sender != "" && sender != entities.Author(e) {
		return fmt.Errorf("%w: %s sent a %s by %s", ErrInvalidSender, sender, e.Type(), entities.Author(e))
	}
	if publicRoute && !isPublic(e) {
		return fmt.Errorf("%w: %s", ErrNotPublic, e.Type())
	}
	return nil
}

// isPublic applies the public-route rule: a status message, photo or
// profile received on /receive/public must be public, except a profile
// that carries none of the private fields (bio, birthday, gender,
// location).
func isPublic(e entities.Entity) bool {
	switch x := e.(type) {
	case *entities.StatusMessage:
		return x.Public
	case *entities.Photo:
		return x.Public
	case *entities.Profile:
		// A non-public profile may travel publicly with its base fields only.
		return x.Public || (x.Bio == "" && x.Birthday == "" && x.Gender == "" && x.Location == "")
	}
	return true
}

// related looks an entity up in Entities and, when it is unknown and a
// hint is given, fetches it through Fetch.
func (r *Receiver) related(ctx context.Context, typ, guid, hint string) (*RelatedEntity, error) {
	if r.Entities == nil {
		return nil, lookupErr("related entity", typ+":"+guid, errors.New("no EntityStore configured"), ErrRelatedNotFound)
	}
	e, err := r.Entities.RelatedEntity(ctx, typ, guid)
	if err == nil && e == nil {
		err = ErrNotFound
	}
	if errors.Is(err, ErrNotFound) && r.Fetch != nil && hint != "" {
		e, err = r.Fetch(ctx, hint, typ, guid)
		if err != nil && !IsTemporary(err) {
			// Whatever made the fetch fail for good (not found, a loop,
			// the budget, a forged answer), the entity stays unknown.
			err = fmt.Errorf("%w: fetch: %w", ErrNotFound, err)
		}
	}
	if err != nil {
		return nil, lookupErr("related entity", typ+":"+guid, err, ErrRelatedNotFound)
	}
	return e, nil
}

// Category names why the receive pipeline (this package, magicenv,
// entities) refused a body, in the neutral vocabulary of the test-vector
// manifests: malformed, invalid_envelope, invalid_envelope_signature,
// sender_key_not_found, decrypt, unknown_entity, validation,
// invalid_sender, not_public, invalid_entity_signature,
// author_key_not_found, related_entity_not_found, recipient_not_found,
// parent_not_local. It returns "" for nil and "other" for anything else,
// as entities.Category and discovery.Category do. A pod records it with a
// refused body (examples/pod does); dfed and the conformance runner print
// it. docs/conformance.md ("Error categories") defines each name.
func Category(err error) string {
	var kerr *magicenv.KeyLookupError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrAuthorKeyNotFound):
		return "author_key_not_found"
	case errors.Is(err, ErrRelatedNotFound):
		return "related_entity_not_found"
	case errors.Is(err, ErrRecipientNotFound):
		return "recipient_not_found"
	case errors.As(err, &kerr):
		return "sender_key_not_found"
	case errors.Is(err, ErrInvalidSender):
		return "invalid_sender"
	case errors.Is(err, ErrNotPublic):
		return "not_public"
	case errors.Is(err, ErrParentNotLocal):
		return "parent_not_local"
	case errors.Is(err, magicenv.ErrInvalidSignature):
		return "invalid_envelope_signature"
	case errors.Is(err, magicenv.ErrDecrypt):
		return "decrypt"
	case errors.Is(err, magicenv.ErrMalformed), errors.Is(err, magicenv.ErrTooLarge):
		return "malformed"
	case errors.Is(err, magicenv.ErrInvalidEnvelope):
		return "invalid_envelope"
	}
	return entities.Category(err)
}
