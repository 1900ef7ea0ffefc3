package salmon

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/rules"
	"github.com/go-diaspora/federation/magicenv"
)

// Recipient is a person a private entity goes to.
type Recipient struct {
	// GUID is the person's guid: the {guid} of /receive/users/{guid}.
	GUID string
	// Pod is the base URL of the person's pod (WebFinger's seed
	// location), such as https://pod.example/.
	Pod string
	// PublicKey encrypts the body for the person.
	PublicKey *rsa.PublicKey
}

// PublicDeliveries signs payload (the entity XML) once as sender and
// returns one delivery per pod, all sharing the same body, for
// /receive/public. opts configures signing (key size floor).
func PublicDeliveries(payload []byte, sender string, key crypto.Signer, pods []string, opts *magicenv.Options) ([]Delivery, error) {
	env, err := magicenv.Sign(payload, sender, key, opts)
	if err != nil {
		return nil, err
	}
	return EnvelopeDeliveries(env, pods)
}

// EnvelopeDeliveries returns one delivery of a signed public envelope per
// pod, for /receive/public, all sharing its body: PublicDeliveries for an
// application that signs the envelope itself, to keep it (for /fetch,
// say).
func EnvelopeDeliveries(env *magicenv.Envelope, pods []string) ([]Delivery, error) {
	body := env.Marshal()
	out := make([]Delivery, 0, len(pods))
	for _, pod := range pods {
		u, err := receiveURL(pod, "receive/public")
		if err != nil {
			return nil, err
		}
		out = append(out, Delivery{ID: deliveryID(u, body), URL: u, ContentType: magicenv.ContentType, Body: body})
	}
	return out, nil
}

// PrivateDeliveries signs payload once as sender and encrypts the signed
// envelope for each recipient (a fresh key and IV each), for
// /receive/users/{guid}.
func PrivateDeliveries(payload []byte, sender string, key crypto.Signer, recipients []Recipient, opts *magicenv.Options) ([]Delivery, error) {
	env, err := magicenv.Sign(payload, sender, key, opts)
	if err != nil {
		return nil, err
	}
	signed := env.Marshal()
	out := make([]Delivery, 0, len(recipients))
	for _, r := range recipients {
		if !rules.ValidGUID(r.GUID) {
			return nil, fmt.Errorf("salmon: recipient guid %q is not a valid guid", r.GUID)
		}
		u, err := receiveURL(r.Pod, "receive/users/"+r.GUID)
		if err != nil {
			return nil, err
		}
		body, err := magicenv.Encrypt(signed, r.PublicKey, opts)
		if err != nil {
			return nil, fmt.Errorf("salmon: encrypt for %s: %w", r.GUID, err)
		}
		out = append(out, Delivery{ID: deliveryID(u, body), URL: u, ContentType: magicenv.EncryptedContentType, Body: body})
	}
	return out, nil
}

// deliveryID names a delivery by its destination and its body, so that
// two messages to one pod have different IDs.
func deliveryID(url string, body []byte) string {
	h := sha256.Sum256(body)
	return url + "#" + hex.EncodeToString(h[:8])
}

// ErrNotRelayable means Relay was given a message that is no relayable.
var ErrNotRelayable = errors.New("salmon: not a relayable")

// Relay builds the envelope by which the root author's pod passes a
// received relayable (a comment, like, ...) on to the parent's audience:
// the payload exactly as the author signed it, in a new envelope signed
// by the root author. Never rebuild the entity from its fields: unknown
// elements and their order are part of the author's signature.
func Relay(msg *Message, rootAuthor string, key crypto.Signer, opts *magicenv.Options) (*magicenv.Envelope, error) {
	if msg == nil || msg.Entity == nil {
		return nil, ErrNotRelayable
	}
	if _, ok := msg.Entity.(entities.Relayable); !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotRelayable, msg.Entity.Type())
	}
	return magicenv.Sign(msg.Payload, rootAuthor, key, opts)
}

// receiveURL joins a pod base URL and a path; only http(s) URLs with a
// host are accepted.
func receiveURL(pod, path string) (string, error) {
	u, err := url.Parse(pod)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
		return "", fmt.Errorf("salmon: pod URL %q is not an http(s) URL", pod)
	}
	return strings.TrimSuffix(u.String(), "/") + "/" + path, nil
}
