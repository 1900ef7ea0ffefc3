package hostile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/seeds"
)

// Dir is the corpus directory, relative to the repository root.
const Dir = "testdata/hostile"

// Meta is the meta.json of one case directory.
type Meta struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Threats []string `json:"threats,omitempty"`
	Notes   string   `json:"notes,omitempty"`
	// Generator is how the inputs are rebuilt.
	Generator string    `json:"generator"`
	Variants  []Variant `json:"variants"`
}

// Variant is one input of a case.
type Variant struct {
	Name  string `json:"name"`
	File  string `json:"file,omitempty"`
	Entry string `json:"entry"`
	// Path is the request path of a pod case (PD-*).
	Path string `json:"path,omitempty"`
	// Sender is the person named by the envelope (key_id or slap header);
	// Signer the person whose key made the signature.
	Sender    string `json:"sender,omitempty"`
	Signer    string `json:"signer,omitempty"`
	Recipient string `json:"recipient,omitempty"`
	// Options are codec options of the replay: any_prefix,
	// accept_raw_subject, legacy.
	Options []string `json:"options,omitempty"`
	// Positive marks a control that must be accepted.
	Positive       bool   `json:"positive"`
	ExpectCategory string `json:"expect_category,omitempty"`
	ExpectSentinel string `json:"expect_sentinel,omitempty"`
	ExpectStatus   int    `json:"expect_status,omitempty"`
	// ParseSentinel is what magicenv.Parse must return for the body when
	// the pipeline stops earlier (at format detection).
	ParseSentinel string `json:"parse_sentinel,omitempty"`
	// SpecExpected is what the case plan (testdata/hostile/README.md)
	// proposed when the corpus expects
	// something else (a reference vector's verdict, or an error name we
	// map to one of ours).
	SpecExpected string `json:"spec_expected,omitempty"`
	// Generated inputs are built at test time (too big to commit): see
	// the generator named by File.
	Generated bool `json:"generated,omitempty"`
	// Templated inputs contain {{POD}} / {{CANARY}} placeholders for the
	// loopback addresses of the fake pod and the canary listener.
	Templated       bool     `json:"templated,omitempty"`
	AllowedOutbound []string `json:"allowed_outbound"`
	// LookupID is the diaspora* ID a discovery case looks up (templated).
	LookupID string `json:"lookup_id,omitempty"`
	// Holder is the diaspora* ID the cache already holds the looked-up
	// person's GUID for (templated; discovery_guid_conflict).
	Holder string `json:"holder,omitempty"`
	// Serve overrides paths of the fake pod: "file:<name>" (templated),
	// "gen:<generator>", "status:<code>", "redirect:<url>" (templated) or
	// "special:<behaviour>". Other paths are served by discovery.Handler
	// with alice's genuine documents.
	Serve map[string]string `json:"serve,omitempty"`
	// DeferredTo names the layer that must reject the input when the SDK
	// accepts it by design (e.g. "pod" for GUID idempotency).
	DeferredTo string `json:"deferred_to,omitempty"`
	// MustNotContain is a string the accepted entity must not carry (the
	// attacker's part of an input the SDK accepts).
	MustNotContain string `json:"must_not_contain,omitempty"`
	Notes          string `json:"notes,omitempty"`
}

// Has reports whether the replay runs with the codec option opt.
func (v Variant) Has(opt string) bool {
	for _, o := range v.Options {
		if o == opt {
			return true
		}
	}
	return false
}

// Load reads the meta.json of every case directory whose ID keep accepts
// (every case when keep is nil), sorted by ID. Unknown fields and an ID
// that is not its directory's name fail tb.
func Load(tb testing.TB, keep func(id string) bool) []Meta {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(seeds.Root(tb), Dir, "*", "meta.json"))
	if err != nil || len(paths) == 0 {
		tb.Fatalf("hostile: no cases under %s", Dir)
	}
	var out []Meta
	for _, p := range paths {
		if id := filepath.Base(filepath.Dir(p)); keep != nil && !keep(id) {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		var m Meta
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			tb.Fatalf("%s: %v", p, err)
		}
		if m.ID != filepath.Base(filepath.Dir(p)) {
			tb.Fatalf("%s: id %q does not match its directory", p, m.ID)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ReadFile returns a committed file of case id.
func ReadFile(tb testing.TB, id, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(seeds.Root(tb), Dir, id, name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
