package entities_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-diaspora/federation/entities"
)

const vectorDir = "../testdata/vectors/reference"

type manifest struct {
	People          map[string]person `json:"people"`
	RelatedEntities []*related        `json:"related_entities"`
	Vectors         []vector          `json:"vectors"`
}

type person struct {
	PrivateKey      string `json:"private_key"`
	PublicKey       string `json:"public_key"`
	KnownToReceiver bool   `json:"known_to_receiver"`
}

type related struct {
	EntityType string   `json:"entity_type"`
	GUID       string   `json:"guid"`
	Author     string   `json:"author"`
	Local      bool     `json:"local"`
	Public     bool     `json:"public"`
	Parent     *related `json:"parent"`
}

type vector struct {
	ID         string   `json:"id"`
	File       string   `json:"file"`
	Kind       string   `json:"kind"`
	Oracle     string   `json:"oracle"`
	EntityType string   `json:"entity_type"`
	Sender     string   `json:"sender"`
	Recipient  string   `json:"recipient"`
	DecryptKey string   `json:"decrypt_key"`
	Tags       []string `json:"tags"`
	Expected   struct {
		Valid         bool            `json:"valid"`
		Entity        json.RawMessage `json:"entity"`
		ErrorCategory string          `json:"error_category"`
	} `json:"expected"`
}

func (v *vector) hasTag(tag string) bool {
	for _, t := range v.Tags {
		if t == tag {
			return true
		}
	}
	return false
}

var (
	manifestOnce sync.Once
	theManifest  *manifest
	manifestErr  error
)

func loadManifest(t testing.TB) *manifest {
	t.Helper()
	manifestOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join(vectorDir, "manifest.json"))
		if err != nil {
			manifestErr = err
			return
		}
		theManifest = new(manifest)
		manifestErr = json.Unmarshal(data, theManifest)
	})
	if manifestErr != nil {
		t.Fatalf("loading manifest: %v", manifestErr)
	}
	return theManifest
}

func readVectorFile(t testing.TB, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(vectorDir, filepath.FromSlash(rel)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadPrivateKey(t testing.TB, rel string) *rsa.PrivateKey {
	t.Helper()
	block, _ := pem.Decode(readVectorFile(t, rel))
	if block == nil {
		t.Fatalf("%s: no PEM block", rel)
	}
	k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", rel, err)
	}
	return k
}

// publicKey returns the public key of a person the receiver knows, or nil
// when the manifest says the receiver does not know it (or does not list
// the person at all).
func (m *manifest) publicKey(t testing.TB, id string) *rsa.PublicKey {
	t.Helper()
	p, ok := m.People[id]
	if !ok || !p.KnownToReceiver {
		return nil
	}
	block, _ := pem.Decode(readVectorFile(t, p.PublicKey))
	if block == nil {
		t.Fatalf("%s: no PEM block", p.PublicKey)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", p.PublicKey, err)
	}
	return k.(*rsa.PublicKey)
}

func (m *manifest) lookup(guid string) *related {
	for _, r := range m.RelatedEntities {
		if r.GUID == guid {
			return r
		}
		for p := r.Parent; p != nil; p = p.Parent {
			if p.GUID == guid {
				return p
			}
		}
	}
	return nil
}

func root(r *related) *related {
	for r.Parent != nil {
		r = r.Parent
	}
	return r
}

// judge plays the receiving pod for the checks that need knowledge the
// entity layer does not have, and returns the neutral error category (""
// for accepted). It is deliberately small; the real receive pipeline is a
// later issue. The rules, in the reference's order:
//
//   - err from parsing: its Category;
//   - relayable: the parent must be a related entity (else
//     related_entity_not_found); unless the author is the root author, the
//     author's key must be known (else author_key_not_found) and
//     author_signature must verify;
//   - Reshare with root: a known root's author must match (validation);
//     an unknown root is related_entity_not_found (the oracle never fetches);
//   - Retraction: the target must be known (related_entity_not_found);
//   - Participation: the parent must be known and local (parent_not_local);
//   - AccountMigration: the signer's key must be known and verify;
//   - with a sender (envelopes): the sender rule (the sender is the
//     author, or for a relayable its root author: invalid_sender) and,
//     on the public route, the public rule (status messages, photos and
//     profiles with private fields must be public: not_public).
func (m *manifest) judge(t testing.TB, e entities.Entity, err error, sender string, public bool) string {
	t.Helper()
	if err != nil {
		return entities.Category(err)
	}
	switch x := e.(type) {
	case entities.Relayable:
		_, pguid := x.Parent()
		parent := m.lookup(pguid)
		if parent == nil {
			return "related_entity_not_found"
		}
		rootAuthor := root(parent).Author
		author := entities.Author(e)
		if author != rootAuthor {
			pub := m.publicKey(t, author)
			if pub == nil {
				return "author_key_not_found"
			}
			if err := x.VerifyAuthorSignature(pub); err != nil {
				return entities.Category(err)
			}
		}
		if sender != "" && sender != rootAuthor && !(sender == author && root(parent).Local) {
			return "invalid_sender"
		}
		return ""
	case *entities.Reshare:
		if x.RootGUID != "" {
			r := m.lookup(x.RootGUID)
			if r == nil {
				return "related_entity_not_found"
			}
			if err := x.VerifyRoot(r.Author); err != nil {
				return entities.Category(err)
			}
		}
	case *entities.Retraction:
		target := m.lookup(x.TargetGUID)
		if target == nil {
			return "related_entity_not_found"
		}
		if sender != "" && sender != target.Author {
			relayableTarget := x.TargetType == "Comment" || x.TargetType == "Like" || x.TargetType == "PollParticipation"
			if !relayableTarget || sender != root(target).Author {
				return "invalid_sender"
			}
		}
		return ""
	case *entities.Participation:
		parent := m.lookup(x.ParentGUID)
		if parent == nil {
			return "related_entity_not_found"
		}
		if !parent.Local {
			return "parent_not_local"
		}
	case *entities.AccountMigration:
		pub := m.publicKey(t, x.SignerID())
		if pub == nil {
			return "author_key_not_found"
		}
		if err := x.VerifySignature(pub); err != nil {
			return entities.Category(err)
		}
	}
	if sender != "" && sender != entities.Author(e) {
		return "invalid_sender"
	}
	if public {
		switch x := e.(type) {
		case *entities.StatusMessage:
			if !x.Public {
				return "not_public"
			}
		case *entities.Photo:
			if !x.Public {
				return "not_public"
			}
		case *entities.Profile:
			if !x.Public && (x.Bio != "" || x.Birthday != "" || x.Gender != "" || x.Location != "") {
				return "not_public"
			}
		}
	}
	return ""
}

// viewJSON turns a view into generic JSON values for comparison with the
// manifest.
func viewJSON(t testing.TB, v *entities.View) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func rawJSON(t testing.TB, data json.RawMessage) any {
	t.Helper()
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// envelopeData returns the decoded me:data of a public Magic Envelope. It
// accepts base64url and the standard alphabet, with or without padding.
func envelopeData(body []byte) ([]byte, error) {
	d := xml.NewDecoder(strings.NewReader(string(body)))
	inData := false
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tk := tok.(type) {
		case xml.StartElement:
			if tk.Name.Local == "data" && tk.Name.Space == "http://salmon-protocol.org/ns/magic-env" {
				inData = true
			}
		case xml.EndElement:
			if inData {
				inData = false
				return decodeB64URL(text.String())
			}
		case xml.CharData:
			if inData {
				text.Write(tk)
			}
		}
	}
	return nil, errors.New("no me:data")
}

func decodeB64URL(s string) ([]byte, error) {
	s = strings.NewReplacer("-", "+", "_", "/").Replace(strings.TrimRight(s, "="))
	return base64.RawStdEncoding.DecodeString(s)
}
