package salmon_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// TestSenderNotAnIDNoLookup is the regression test of hostile case ME-04:
// an envelope whose key_id decodes to something that is no diaspora* ID
// is refused as ErrInvalidAuthor before the KeyResolver is asked (a
// resolver backed by discovery would otherwise go out to the network).
func TestSenderNotAnIDNoLookup(t *testing.T) {
	m := vectors.Reference(t)
	good, err := m.ReadFile("magic_envelope_public/status_message_basic.xml")
	if err != nil {
		t.Fatal(err)
	}
	keyID := base64.URLEncoding.EncodeToString([]byte("alice@pod-a.example.org"))
	if !strings.Contains(string(good), `key_id="`+keyID+`"`) {
		t.Fatal("vector without the expected key_id")
	}
	var lookups atomic.Int64
	keys := magicenv.KeyResolverFunc(func(ctx context.Context, id string) (*rsa.PublicKey, error) {
		lookups.Add(1)
		pub, known, err := m.PublicKey(keyParser, id)
		if err != nil || !known {
			return nil, magicenv.ErrKeyNotFound
		}
		return pub, nil
	})
	r := &salmon.Receiver{Keys: keys}
	for _, id := range []string{"Alice@Pod-A.example.org", "a@b@c", "alice", "alice@pod-a.example.org/x"} {
		body := strings.Replace(string(good), keyID, base64.URLEncoding.EncodeToString([]byte(id)), 1)
		msg, err := r.ReceivePublic(context.Background(), []byte(body))
		if msg != nil || !errors.Is(err, magicenv.ErrInvalidAuthor) {
			t.Errorf("key_id %q: %v, %v; want ErrInvalidAuthor", id, msg, err)
		}
		if got := salmon.Category(err); got != "invalid_envelope" {
			t.Errorf("key_id %q: category %q", id, got)
		}
	}
	if n := lookups.Load(); n != 0 {
		t.Errorf("%d key lookups for senders that are no diaspora* ID", n)
	}
	// The control still looks the key up once and is accepted.
	if _, err := r.ReceivePublic(context.Background(), good); err != nil || lookups.Load() != 1 {
		t.Errorf("control: %v after %d lookups", err, lookups.Load())
	}
}
