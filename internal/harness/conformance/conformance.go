// Package conformance judges test vectors through the public API of the
// SDK and compares the verdicts with the ones in a vector manifest
// (format "diaspora-federation-vectors/1", see docs/conformance.md). It
// backs `dfed conformance` and the conformance tests.
package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// Verdict is what the SDK made of one vector.
type Verdict struct {
	Valid    bool          `json:"valid"`
	Sender   string        `json:"sender,omitempty"`
	Entity   any           `json:"entity,omitempty"`
	Category string        `json:"-"`
	Message  string        `json:"-"`
	Error    *VerdictError `json:"error,omitempty"`
}

// VerdictError is the error part of a Verdict as printed.
type VerdictError struct {
	Category string `json:"category"`
	Message  string `json:"message,omitempty"`
}

// Result compares a Verdict with the manifest.
type Result struct {
	ID      string
	Kind    string
	Verdict Verdict
	Pass    bool
	// Why says what differs when Pass is false.
	Why string
}

// Judge decides one kind of vector.
type Judge func(ctx context.Context, env *Env, v vectors.Vector, body []byte) Verdict

// JudgeFor returns the judge of a vector kind, and false for a kind no
// judge decides.
func JudgeFor(kind string) (Judge, bool) {
	switch kind {
	case "magic_envelope_public", "encrypted_magic_envelope_private", "legacy_slap_public", "legacy_slap_private":
		return judgeReceive, true
	case "entity_xml", "relayable_xml", "entity_json", "relayable_json":
		return judgeEntity, true
	case "webfinger_jrd", "webfinger_xrd", "host_meta", "hcard_html":
		return judgeDiscovery, true
	}
	return nil, false
}

// Env is the receiving side a manifest describes: people with their
// keys, and the entities the receiver already knows.
type Env struct {
	Manifest *vectors.Manifest
	keyOpts  magicenv.Options
}

// NewEnv prepares the receiving side of a manifest. Old fixtures use
// 1024-bit keys, so keys of 1024 bits and more are accepted here.
func NewEnv(m *vectors.Manifest) *Env {
	return &Env{Manifest: m, keyOpts: magicenv.Options{}}
}

func (e *Env) parser() vectors.KeyParser {
	return vectors.MagicenvKeys(&e.keyOpts)
}

// PublicKey implements magicenv.KeyResolver over the manifest's people:
// those with known_to_receiver false are not found.
func (e *Env) PublicKey(_ context.Context, id string) (*rsa.PublicKey, error) {
	pub, known, err := e.Manifest.PublicKey(e.parser(), id)
	if err != nil || !known {
		return nil, fmt.Errorf("%s: %w", id, magicenv.ErrKeyNotFound)
	}
	return pub, nil
}

// RecipientKey implements salmon.RecipientKeys; the "guid" is the
// recipient's diaspora* ID here.
func (e *Env) RecipientKey(_ context.Context, id string) (string, crypto.Decrypter, error) {
	key, err := e.Manifest.PrivateKey(e.parser(), id)
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w", id, salmon.ErrRecipientNotFound)
	}
	return id, key, nil
}

// RelatedEntity implements salmon.EntityStore over related_entities: the
// first entry with this guid whose type answers to typ (see [typeMatches]).
func (e *Env) RelatedEntity(_ context.Context, typ, guid string) (*salmon.RelatedEntity, error) {
	for i := range e.Manifest.RelatedEntities {
		if r := &e.Manifest.RelatedEntities[i]; r.GUID == guid && typeMatches(typ, r.EntityType) {
			return related(r), nil
		}
	}
	return nil, fmt.Errorf("%s %s: %w", typ, guid, salmon.ErrNotFound)
}

func related(r *vectors.RelatedEntity) *salmon.RelatedEntity {
	if r == nil {
		return nil
	}
	return &salmon.RelatedEntity{Type: r.EntityType, GUID: r.GUID, Author: r.Author, Local: r.Local, Public: r.Public, Parent: related(r.Parent)}
}

// typeMatches reports whether a known entity of type have is found by a
// lookup for type want. Both names are read as class names, snake_case
// spellings converted (status_message is StatusMessage). Post is the
// protocol's name for status messages and reshares alike, so a lookup for
// Post finds a known StatusMessage or Reshare. The converse does not hold:
// a known Post may be either, so it answers only to Post (the reference
// answers "not found: StatusMessage:<guid>" for a post it knows as Post).
func typeMatches(want, have string) bool {
	want, have = className(want), className(have)
	return want == have || want == "Post" && (have == "StatusMessage" || have == "Reshare")
}

// className turns a snake_case entity name into its class name
// (poll_participation: PollParticipation) and returns any other string
// unchanged, so that odd spellings such as " Post" or "Status_Message"
// still match nothing.
func className(name string) string {
	if !isSnake(name) {
		return name
	}
	var b strings.Builder
	for part := range strings.SplitSeq(name, "_") {
		b.WriteString(strings.ToUpper(part[:1]))
		b.WriteString(part[1:])
	}
	return b.String()
}

// isSnake reports whether name is lower-case words joined by single
// underscores.
func isSnake(name string) bool {
	if name == "" {
		return false
	}
	for part := range strings.SplitSeq(name, "_") {
		if part == "" || part[0] < 'a' || part[0] > 'z' {
			return false
		}
		for _, c := range part {
			if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

func (e *Env) receiver(legacy bool) *salmon.Receiver {
	return &salmon.Receiver{Keys: e, Entities: e, RecipientKeys: e, Legacy: legacy, Envelope: e.keyOpts}
}

func judgeReceive(ctx context.Context, env *Env, v vectors.Vector, body []byte) Verdict {
	r := env.receiver(v.Oracle == "legacy")
	var (
		msg *salmon.Message
		err error
	)
	if v.Kind == "encrypted_magic_envelope_private" || v.Kind == "legacy_slap_private" {
		msg, err = r.ReceivePrivate(ctx, v.Recipient, body)
	} else {
		msg, err = r.ReceivePublic(ctx, body)
	}
	if err != nil {
		return failed(err)
	}
	return Verdict{Valid: true, Sender: msg.Sender, Entity: view(msg.Entity)}
}

func judgeEntity(ctx context.Context, env *Env, v vectors.Vector, body []byte) Verdict {
	opts := &entities.Options{Legacy: v.Oracle == "legacy"}
	var (
		e   entities.Entity
		err error
	)
	if v.Kind == "entity_json" || v.Kind == "relayable_json" {
		e, err = entities.ParseJSON(body, opts)
	} else {
		e, err = entities.ParseXML(body, opts)
	}
	if err == nil {
		err = env.receiver(v.Oracle == "legacy").Check(ctx, e, "", false)
	}
	if err != nil {
		return failed(err)
	}
	return Verdict{Valid: true, Sender: entities.Author(e), Entity: view(e)}
}

func failed(err error) Verdict {
	c := salmon.Category(err)
	return Verdict{Category: c, Message: err.Error(), Error: &VerdictError{Category: c, Message: err.Error()}}
}

// view returns the neutral view as generic JSON values, numbers as
// json.Number so that integers keep every digit.
func view(e entities.Entity) any {
	b, err := json.Marshal(entities.ViewOf(e))
	if err != nil {
		return nil
	}
	out, err := decodeJSON(b)
	if err != nil {
		return nil
	}
	return out
}

// decodeJSON decodes one JSON value into generic values, with numbers as
// json.Number: through float64, 9223372036854775807 would come out as
// 9223372036854775808.
func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var out any
	if err := d.Decode(&out); err != nil {
		return nil, err
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON value")
	}
	return out, nil
}

// Run judges every vector of m, in manifest order.
func Run(ctx context.Context, m *vectors.Manifest) []Result {
	env := NewEnv(m)
	out := make([]Result, 0, len(m.Vectors))
	for _, v := range m.Vectors {
		out = append(out, RunOne(ctx, env, v))
	}
	return out
}

// RunOne judges one vector and compares the verdict with v.Expected.
func RunOne(ctx context.Context, env *Env, v vectors.Vector) Result {
	res := Result{ID: v.ID, Kind: v.Kind}
	judge, ok := JudgeFor(v.Kind)
	if !ok {
		res.Why = fmt.Sprintf("no judge for kind %q", v.Kind)
		return res
	}
	body, err := env.Manifest.ReadFile(v.File)
	if err != nil {
		res.Why = err.Error()
		return res
	}
	res.Verdict = judge(ctx, env, v, body)
	res.Why = compare(v.Expected, res.Verdict)
	res.Pass = res.Why == ""
	return res
}

// compare returns "" when got matches want, else what differs.
func compare(want vectors.Expected, got Verdict) string {
	if want.Valid != got.Valid {
		if got.Valid {
			return fmt.Sprintf("accepted, want %s", want.ErrorCategory)
		}
		return fmt.Sprintf("rejected as %s (%s), want valid", got.Category, got.Message)
	}
	if !want.Valid {
		if want.ErrorCategory != "" && want.ErrorCategory != got.Category {
			return fmt.Sprintf("rejected as %s (%s), want %s", got.Category, got.Message, want.ErrorCategory)
		}
		return ""
	}
	if want.Sender != "" && want.Sender != got.Sender {
		return fmt.Sprintf("sender %q, want %q", got.Sender, want.Sender)
	}
	if len(want.Entity) > 0 {
		w, err := decodeJSON(want.Entity)
		if err != nil {
			return "expected.entity: " + err.Error()
		}
		if path := subset(w, got.Entity, "entity"); path != "" {
			return "differs at " + path
		}
	}
	return ""
}

// subset reports the first path where got does not contain want: every
// key of a wanted object must be in got with a matching value; arrays
// must have the same length and match element by element; numbers are
// compared by value (see [sameNumber]).
func subset(want, got any, path string) string {
	if w, ok := numeral(want); ok {
		if g, ok := numeral(got); !ok || !sameNumber(w, g) {
			return path
		}
		return ""
	}
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return path
		}
		keys := make([]string, 0, len(w))
		for k := range w {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			gv, ok := g[k]
			if !ok && w[k] != nil {
				return path + "." + k
			}
			if p := subset(w[k], gv, path+"."+k); p != "" {
				return p
			}
		}
		return ""
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return path
		}
		for i := range w {
			if p := subset(w[i], g[i], fmt.Sprintf("%s[%d]", path, i)); p != "" {
				return p
			}
		}
		return ""
	}
	if !reflect.DeepEqual(want, got) {
		return path
	}
	return ""
}

// numeral returns a JSON number as its literal: json.Number as it is, a
// float64 (from a decoder without UseNumber) in its shortest form, with
// no exponent when it is a whole number, so that it compares exactly with
// integers.
func numeral(v any) (string, bool) {
	switch n := v.(type) {
	case json.Number:
		return string(n), true
	case float64:
		if n == math.Trunc(n) && !math.IsInf(n, 0) {
			return strconv.FormatFloat(n, 'f', -1, 64), true
		}
		return strconv.FormatFloat(n, 'g', -1, 64), true
	}
	return "", false
}

// sameNumber compares two JSON number literals: exactly when both are
// integers, however large; as float64 otherwise, so that 1.0 equals 1.
func sameNumber(a, b string) bool {
	if a == b {
		return true
	}
	if isInteger(a) && isInteger(b) {
		x, okx := new(big.Int).SetString(a, 10)
		y, oky := new(big.Int).SetString(b, 10)
		return okx && oky && x.Cmp(y) == 0
	}
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	if errx != nil || erry != nil {
		// Out of float64's range (or no number at all): only the same
		// literal matches, as checked above.
		return false
	}
	return x == y
}

// isInteger reports whether a JSON number literal has neither fraction nor
// exponent.
func isInteger(s string) bool {
	return !strings.ContainsAny(s, ".eE")
}

// Summary counts passes and failures.
func Summary(results []Result) (passed, failed int) {
	for _, r := range results {
		if r.Pass {
			passed++
		} else {
			failed++
		}
	}
	return
}
