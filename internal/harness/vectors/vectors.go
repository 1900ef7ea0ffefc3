// Package vectors loads test-vector manifests in the format of the
// diaspora* federation vector sets (format "diaspora-federation-vectors/1"):
// people with their keys, related entities, and vectors with the verdict
// the reference implementation gave. It is plumbing shared by the tests and
// by the dfed tool; it does no judging of its own.
package vectors

import (
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/seeds"
	"github.com/go-diaspora/federation/magicenv"
)

// Format is the value of the format member that makes a JSON object a
// manifest.
const Format = "diaspora-federation-vectors/1"

// ErrNotManifest is returned by [Load] for a file that is JSON but no
// manifest: not an object, or an object whose format is not [Format].
var ErrNotManifest = errors.New("vectors: not a manifest")

// Manifest is a parsed manifest.json.
type Manifest struct {
	// Context, when set, names another manifest (relative to this one)
	// whose people and related entities this one reuses.
	Context         string            `json:"context"`
	Format          string            `json:"format"`
	Set             string            `json:"set"`
	People          map[string]Person `json:"people"`
	RelatedEntities []RelatedEntity   `json:"related_entities"`
	Vectors         []Vector          `json:"vectors"`

	dir string
}

// Person is one entry of manifest.people, keyed by diaspora* ID.
type Person struct {
	Role            string `json:"role"`
	Bits            int    `json:"bits"`
	PrivateKey      string `json:"private_key"`
	PublicKey       string `json:"public_key"`
	KnownToReceiver bool   `json:"known_to_receiver"`

	dir string // the directory its key paths are relative to
}

// RelatedEntity is an entity the receiving side already knows.
type RelatedEntity struct {
	EntityType string         `json:"entity_type"`
	GUID       string         `json:"guid"`
	Author     string         `json:"author"`
	Local      bool           `json:"local"`
	Public     bool           `json:"public"`
	Parent     *RelatedEntity `json:"parent"`
}

// Vector is one test vector.
type Vector struct {
	ID          string   `json:"id"`
	File        string   `json:"file"`
	Kind        string   `json:"kind"`
	Oracle      string   `json:"oracle"`
	Description string   `json:"description"`
	EntityType  string   `json:"entity_type"`
	Sender      string   `json:"sender"`
	Recipient   string   `json:"recipient"`
	DecryptKey  string   `json:"decrypt_key"`
	Signer      string   `json:"signer"`
	Tags        []string `json:"tags"`
	Expected    Expected `json:"expected"`
}

// HasTag reports whether v carries tag.
func (v Vector) HasTag(tag string) bool { return slices.Contains(v.Tags, tag) }

// Expected is the reference's verdict on a vector.
type Expected struct {
	Valid            bool            `json:"valid"`
	Sender           string          `json:"sender"`
	Entity           json.RawMessage `json:"entity"`
	Error            string          `json:"error"`
	ErrorCategory    string          `json:"error_category"`
	ReferenceMessage string          `json:"reference_message"`
}

// Load reads and parses the manifest at path. File names inside it are
// resolved relative to its directory. A manifest is a JSON object whose
// format member is [Format]; anything else is an error wrapping
// [ErrNotManifest] (or the JSON syntax error). The manifest named by
// context must be one as well, and contexts may not loop. Load does not
// require vectors: a manifest may serve only as another one's context.
func Load(path string) (*Manifest, error) {
	return load(path, nil)
}

func load(path string, seen []string) (*Manifest, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	if slices.Contains(seen, abs) {
		return nil, fmt.Errorf("vectors: %s: context loop", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field == "" {
			// The top level is an array, a string, a number...
			return nil, fmt.Errorf("%w: %s is a JSON %s, not an object", ErrNotManifest, path, te.Value)
		}
		return nil, fmt.Errorf("vectors: %s: %w", path, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("%w: %s has format %q, want %q", ErrNotManifest, path, m.Format, Format)
	}
	m.dir = filepath.Dir(path)
	for id, p := range m.People {
		p.dir = m.dir
		m.People[id] = p
	}
	if m.Context != "" {
		ctx, err := load(m.Path(m.Context), append(seen, abs))
		if err != nil {
			return nil, fmt.Errorf("vectors: %s: context: %w", path, err)
		}
		if m.People == nil {
			m.People = map[string]Person{}
		}
		for id, p := range ctx.People {
			if _, own := m.People[id]; !own {
				m.People[id] = p
			}
		}
		m.RelatedEntities = append(m.RelatedEntities, ctx.RelatedEntities...)
	}
	return &m, nil
}

// Path resolves a path given in the manifest.
func (m *Manifest) Path(rel string) string { return filepath.Join(m.dir, filepath.FromSlash(rel)) }

// ReadFile reads a file named in the manifest.
func (m *Manifest) ReadFile(rel string) ([]byte, error) { return os.ReadFile(m.Path(rel)) }

// Kind returns the vectors of one kind, in manifest order.
func (m *Manifest) Kind(kind string) []Vector {
	var out []Vector
	for _, v := range m.Vectors {
		if v.Kind == kind {
			out = append(out, v)
		}
	}
	return out
}

// KeyParser turns PEM bytes into keys; magicenv's parsers fit.
type KeyParser struct {
	Public  func([]byte) (*rsa.PublicKey, error)
	Private func([]byte) (*rsa.PrivateKey, error)
}

// MagicenvKeys is the KeyParser of magicenv with opts (nil: its defaults).
func MagicenvKeys(opts *magicenv.Options) KeyParser {
	return KeyParser{
		Public:  func(b []byte) (*rsa.PublicKey, error) { return magicenv.ParsePublicKey(b, opts) },
		Private: func(b []byte) (*rsa.PrivateKey, error) { return magicenv.ParsePrivateKey(b, opts) },
	}
}

// PublicKey returns the public key of a person, and whether the receiving
// side is supposed to know it.
func (m *Manifest) PublicKey(p KeyParser, id string) (*rsa.PublicKey, bool, error) {
	person, ok := m.People[id]
	if !ok || person.PublicKey == "" {
		return nil, false, fmt.Errorf("vectors: no public key for %q", id)
	}
	b, err := os.ReadFile(filepath.Join(person.dir, filepath.FromSlash(person.PublicKey)))
	if err != nil {
		return nil, false, err
	}
	k, err := p.Public(b)
	return k, person.KnownToReceiver, err
}

// PrivateKey returns the private key of a person.
func (m *Manifest) PrivateKey(p KeyParser, id string) (*rsa.PrivateKey, error) {
	person, ok := m.People[id]
	if !ok || person.PrivateKey == "" {
		return nil, fmt.Errorf("vectors: no private key for %q", id)
	}
	b, err := os.ReadFile(filepath.Join(person.dir, filepath.FromSlash(person.PrivateKey)))
	if err != nil {
		return nil, err
	}
	return p.Private(b)
}

var referenceSet struct {
	once sync.Once
	m    *Manifest
	err  error
}

// Reference returns the reference set of the repository
// (testdata/vectors/reference), loaded once per test binary; it fails tb
// when the set cannot be read. Tests of every package use it instead of
// loading the manifest themselves.
func Reference(tb testing.TB) *Manifest {
	tb.Helper()
	referenceSet.once.Do(func() {
		referenceSet.m, referenceSet.err = Load(filepath.Join(seeds.Root(tb), filepath.FromSlash(seeds.Reference), "manifest.json"))
	})
	if referenceSet.err != nil {
		tb.Fatal(referenceSet.err)
	}
	return referenceSet.m
}
