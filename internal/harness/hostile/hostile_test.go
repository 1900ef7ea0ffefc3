package hostile_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

// canary is a loopback listener that counts the connections it sees.
type canary struct {
	ln    net.Listener
	conns atomic.Int64
}

func newCanary(t *testing.T) *canary {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &canary{ln: ln}
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			c.conns.Add(1)
			conn.Close()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return c
}

func (c *canary) addr() string { return c.ln.Addr().String() }

// countingKeys is the receiver's KeyResolver: the manifest's people,
// with every lookup counted (a lookup stands for a discovery request).
type countingKeys struct {
	env      *conformance.Env
	lookups  atomic.Int64
	override *rsa.PublicKey
}

func (k *countingKeys) PublicKey(ctx context.Context, id string) (*rsa.PublicKey, error) {
	k.lookups.Add(1)
	if k.override != nil {
		return k.override, nil
	}
	return k.env.PublicKey(ctx, id)
}

// replay is one variant's receiving side.
type replay struct {
	keys      *countingKeys
	receiver  *salmon.Receiver
	logs      bytes.Buffer
	logMu     sync.Mutex
	delivered atomic.Int64
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newReplay(t *testing.T, v Variant) *replay {
	env := conformance.NewEnv(vectors.Reference(t))
	rp := &replay{keys: &countingKeys{env: env}}
	rp.receiver = &salmon.Receiver{
		Keys: rp.keys, Entities: env, RecipientKeys: env, Legacy: v.Has("legacy"),
		Envelope:      magicenv.Options{AnyPrefix: v.Has("any_prefix"), AcceptRawSubject: v.Has("accept_raw_subject")},
		EntityOptions: entityOptions(v),
	}
	return rp
}

func (rp *replay) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{&rp.logMu, &rp.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// handler is salmon.Handler with a SyncInbox whose Deliver records, and
// which logs every rejection as a pod would (class and message).
func (rp *replay) handler(legacy bool) *salmon.Handler {
	log := rp.logger()
	return &salmon.Handler{
		Legacy: legacy,
		Logger: log,
		Inbox: &salmon.SyncInbox{
			Receiver: rp.receiver,
			Deliver: func(ctx context.Context, m *salmon.Message) error {
				rp.delivered.Add(1)
				return nil
			},
			Rejected: func(ctx context.Context, in *salmon.Incoming, err error) {
				log.WarnContext(ctx, "rejected", "class", salmon.Category(err), "err", err.Error())
			},
		},
	}
}

// entityOptions are the entity codec options of a variant (nil for the
// defaults).
func entityOptions(v Variant) *entities.Options {
	if !v.Has("strict_values") && !v.Has("legacy") {
		return nil
	}
	return &entities.Options{StrictValues: v.Has("strict_values"), Legacy: v.Has("legacy")}
}

func contentType(body []byte) string {
	b := bytes.TrimSpace(body)
	switch {
	case bytes.HasPrefix(b, []byte("{")):
		return magicenv.EncryptedContentType
	case bytes.Contains(b[:min(len(b), 200)], []byte("<diaspora")):
		return "application/xml"
	}
	return magicenv.ContentType
}

// category maps an error to the corpus vocabulary: salmon's neutral
// categories, plus weak_key / invalid_key / key_conflict for key errors
// salmon does not name.
func category(err error) string {
	c := salmon.Category(err)
	if c != "other" {
		return c
	}
	switch {
	case errors.Is(err, magicenv.ErrWeakKey), errors.Is(err, discovery.ErrWeakKey):
		return "weak_key"
	case errors.Is(err, magicenv.ErrInvalidKey), errors.Is(err, discovery.ErrInvalidKey):
		return "invalid_key"
	case errors.Is(err, discovery.ErrKeyConflict):
		return "key_conflict"
	}
	return c
}

// checkErr applies the verdict of v to err.
func checkErr(t *testing.T, v Variant, err error, cat func(error) string) {
	t.Helper()
	if err != nil {
		t.Logf("verdict: %s (temporary %v): %v", cat(err), salmon.IsTemporary(err) || discovery.IsTemporary(err), err)
	}
	if v.Positive {
		if err != nil {
			t.Fatalf("positive control rejected: %v (category %s)", err, cat(err))
		}
		return
	}
	if err == nil {
		t.Fatalf("accepted, want %s %s", v.ExpectCategory, v.ExpectSentinel)
	}
	if v.ExpectCategory != "" && cat(err) != v.ExpectCategory {
		t.Errorf("category %q (%v), want %q", cat(err), err, v.ExpectCategory)
	}
	if v.ExpectSentinel != "" {
		s, ok := sentinels[v.ExpectSentinel]
		if !ok {
			t.Fatalf("unknown sentinel %q", v.ExpectSentinel)
		}
		if !errors.Is(err, s) {
			t.Errorf("error %v does not match %s", err, v.ExpectSentinel)
		}
	}
}

func viewJSON(e entities.Entity) string {
	b, _ := json.Marshal(entities.ViewOf(e))
	return string(b)
}

func TestCorpus(t *testing.T) {
	corpus := loadCorpus(t)
	if len(corpus) == 0 {
		t.Fatal("empty corpus: run go test ./internal/harness/hostile -run TestGenerate -update")
	}
	global := newCanary(t)
	var positives, negatives int
	for _, m := range corpus {
		t.Run(m.ID, func(t *testing.T) {
			if len(m.Variants) == 0 {
				t.Fatal("case without variants")
			}
			for _, v := range m.Variants {
				if v.Positive {
					positives++
				} else {
					negatives++
				}
				t.Run(v.Name, func(t *testing.T) {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("panic: %v\n%s", r, debug.Stack())
						}
					}()
					runVariant(t, m, v)
				})
			}
		})
	}
	if positives == 0 || negatives == 0 {
		t.Errorf("%d positive and %d negative variants; both kinds are needed", positives, negatives)
	}
	if n := global.conns.Load(); n != 0 {
		t.Errorf("canary saw %d connections", n)
	}
}

func runVariant(t *testing.T, m Meta, v Variant) {
	switch v.Entry {
	case "receive_public", "receive_private", "receive_public_with_key":
		replayReceive(t, m, v)
	case "check_entity_xml", "parse_entity_json":
		replayEntity(t, m, v)
	case "parse_public_key":
		replayKey(t, m, v)
	case "fetch_handler":
		replayFetchHandler(t, m, v)
	case "receive_public_fetch":
		replayFetch(t, m, v)
	case "receive_public_discovery":
		replayDiscoveredSender(t, m, v)
	case "discovery_lookup", "discovery_rediscover", "discovery_no_downgrade", "discovery_guid_conflict":
		replayDiscovery(t, m, v)
	case "discovery_parse_hcard", "discovery_parse_host_meta", "discovery_parse_jrd":
		replayDiscoveryParse(t, m, v)
	default:
		t.Fatalf("unknown entry %q", v.Entry)
	}
}

// structural reports verdicts that must be reached before any key
// lookup: envelope structure and encodings, and decryption.
func structural(v Variant) bool {
	if v.Positive {
		return false
	}
	switch v.ExpectCategory {
	case "decrypt":
		return true
	case "invalid_envelope", "malformed":
		return strings.HasPrefix(v.ExpectSentinel, "magicenv.") || strings.HasPrefix(v.ExpectSentinel, "salmon.")
	}
	return false
}

func replayReceive(t *testing.T, m Meta, v Variant) {
	body := input(t, m, v)
	ctx := context.Background()

	// 1. The receive pipeline.
	rp := newReplay(t, v)
	if v.Entry == "receive_public_with_key" {
		blk, _ := pem.Decode(body)
		if blk == nil {
			t.Fatal("no PEM block")
		}
		pub, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		rp.keys.override = pub
		body, err = os.ReadFile(filepath.Join(corpusDir, "ME-01", "input.control_alice_signs.xml"))
		if err != nil {
			t.Fatal(err)
		}
	}
	var (
		msg *salmon.Message
		err error
	)
	if v.Entry == "receive_private" {
		msg, err = rp.receiver.ReceivePrivate(ctx, v.Recipient, body)
	} else {
		msg, err = rp.receiver.ReceivePublic(ctx, body)
	}
	checkErr(t, v, err, category)
	if v.ParseSentinel != "" {
		_, perr := magicenv.Parse(body, nil)
		if s := sentinels[v.ParseSentinel]; s == nil || !errors.Is(perr, s) {
			t.Errorf("magicenv.Parse = %v, want %s", perr, v.ParseSentinel)
		}
	}
	if err != nil && msg != nil {
		t.Errorf("message returned with error %v", err)
	}
	if v.Positive {
		if msg == nil {
			t.Fatal("no message")
		}
		if v.Sender != "" && msg.Sender != v.Sender {
			t.Errorf("sender %q, want %q", msg.Sender, v.Sender)
		}
		if v.MustNotContain != "" && strings.Contains(viewJSON(msg.Entity), v.MustNotContain) {
			t.Errorf("accepted entity carries %q", v.MustNotContain)
		}
	}
	if structural(v) && rp.keys.lookups.Load() != 0 {
		t.Errorf("%d key lookups before a structural verdict", rp.keys.lookups.Load())
	}
	if v.Entry == "receive_public_with_key" {
		return
	}

	// 2. The same body through the HTTP handler and a SyncInbox.
	hp := newReplay(t, v)
	h := hp.handler(v.Has("legacy"))
	path := "/receive/public"
	if v.Entry == "receive_private" {
		path = "/receive/users/" + v.Recipient
	}
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", contentType(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if v.ExpectStatus != 0 && rec.Code != v.ExpectStatus {
		t.Errorf("HTTP status %d, want %d", rec.Code, v.ExpectStatus)
	}
	want := int64(0)
	if v.Positive {
		want = 1
	}
	if got := hp.delivered.Load(); got != want {
		t.Errorf("Deliver called %d times, want %d", got, want)
	}
	if structural(v) && hp.keys.lookups.Load() != 0 {
		t.Errorf("handler: %d key lookups before a structural verdict", hp.keys.lookups.Load())
	}
	hp.logMu.Lock()
	logs := hp.logs.String()
	hp.logMu.Unlock()
	if strings.Contains(logs, plaintextMarker) || strings.Contains(logs, "private words") {
		t.Errorf("plaintext in the logs:\n%s", logs)
	}
}

func replayEntity(t *testing.T, m Meta, v Variant) {
	body := input(t, m, v)
	rp := newReplay(t, v)
	var (
		e   entities.Entity
		err error
	)
	if v.Entry == "parse_entity_json" {
		e, err = entities.ParseJSON(body, entityOptions(v))
	} else {
		e, err = entities.ParseXML(body, entityOptions(v))
	}
	if err == nil {
		err = rp.receiver.Check(context.Background(), e, "", false)
	}
	checkErr(t, v, err, category)
	if err == nil && v.MustNotContain != "" && strings.Contains(viewJSON(e), v.MustNotContain) {
		t.Errorf("accepted entity carries %q", v.MustNotContain)
	}
}

func replayKey(t *testing.T, m Meta, v Variant) {
	body := input(t, m, v)
	_, err := magicenv.ParsePublicKey(body, &magicenv.Options{MinKeyBits: 1024})
	checkErr(t, v, err, category)
	_, derr := discovery.ParsePublicKey(body)
	if v.Positive != (derr == nil) {
		t.Errorf("discovery.ParsePublicKey = %v, positive %v", derr, v.Positive)
	}
	if derr != nil && v.ExpectCategory != "" && category(derr) != v.ExpectCategory {
		t.Errorf("discovery.ParsePublicKey category %q (%v), want %q", category(derr), derr, v.ExpectCategory)
	}
}

type sourceFunc func(ctx context.Context, typ, guid string) (*salmon.Fetched, error)

func (f sourceFunc) Fetch(ctx context.Context, typ, guid string) (*salmon.Fetched, error) {
	return f(ctx, typ, guid)
}

func replayFetchHandler(t *testing.T, m Meta, v Variant) {
	path := strings.TrimSpace(string(input(t, m, v)))
	envelope, err := os.ReadFile(filepath.Join(corpusDir, "ME-01", "input.control_alice_signs.xml"))
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	h := &salmon.FetchHandler{Source: sourceFunc(func(_ context.Context, typ, guid string) (*salmon.Fetched, error) {
		calls.Add(1)
		if typ == "post" && guid == "0f1e2d3c4b5a69788796a5b4c3d2e1f0" {
			return &salmon.Fetched{Envelope: envelope}, nil
		}
		return nil, salmon.ErrNotFound
	})}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	if rec.Code != v.ExpectStatus {
		t.Errorf("status %d, want %d", rec.Code, v.ExpectStatus)
	}
	if v.Positive && !bytes.Equal(rec.Body.Bytes(), envelope) {
		t.Error("control: envelope not served")
	}
	if !v.Positive && bytes.Contains(rec.Body.Bytes(), []byte("me:env")) {
		t.Error("envelope served for a hostile path")
	}
}

// TestOracleUniformity is the bounded EN-05 replay: 200 requests over
// four classes through salmon.Handler with a storing Inbox must get
// byte-identical answers; a worker then processes what was stored.
func TestOracleUniformity(t *testing.T) {
	var en05 *Meta
	for _, m := range loadCorpus(t) {
		if m.ID == "EN-05" {
			en05 = &m
		}
	}
	if en05 == nil {
		t.Fatal("EN-05 missing")
	}
	bodies := make([][]byte, len(en05.Variants))
	for i, v := range en05.Variants {
		bodies[i] = input(t, *en05, v)
	}
	var (
		mu     sync.Mutex
		stored []*salmon.Incoming
		kinds  []int
	)
	rp := newReplay(t, Variant{})
	h := &salmon.Handler{Logger: rp.logger(), Inbox: salmon.InboxFunc(func(_ context.Context, in *salmon.Incoming) error {
		mu.Lock()
		defer mu.Unlock()
		stored = append(stored, in)
		return nil
	})}
	type answer struct {
		status int
		header http.Header
		body   string
	}
	var first *answer
	const requests = 200
	for i := 0; i < requests; i++ {
		k := i % len(bodies)
		req := httptest.NewRequest(http.MethodPost, "/receive/users/"+en05.Variants[k].Recipient, bytes.NewReader(bodies[k]))
		req.Header.Set("Content-Type", magicenv.EncryptedContentType)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		a := &answer{rec.Code, rec.Header().Clone(), rec.Body.String()}
		if first == nil {
			first = a
			if a.status != http.StatusAccepted {
				t.Fatalf("status %d, want 202", a.status)
			}
		} else if a.status != first.status || a.body != first.body || fmt.Sprint(a.header) != fmt.Sprint(first.header) {
			t.Fatalf("request %d (%s): answer %+v differs from %+v", i, en05.Variants[k].Name, a, first)
		}
		kinds = append(kinds, k)
	}
	if len(stored) != requests {
		t.Fatalf("%d bodies stored, want %d", len(stored), requests)
	}
	// The worker.
	for i, in := range stored {
		v := en05.Variants[kinds[i]]
		msg, err := rp.receiver.Receive(context.Background(), in)
		if v.Positive {
			if err != nil || msg == nil {
				t.Fatalf("%s: %v", v.Name, err)
			}
			continue
		}
		if !errors.Is(err, magicenv.ErrDecrypt) || msg != nil {
			t.Fatalf("%s: %v, want ErrDecrypt", v.Name, err)
		}
		if err.Error() != magicenv.ErrDecrypt.Error() {
			t.Fatalf("%s: error %q is not the bare ErrDecrypt", v.Name, err)
		}
	}
	if strings.Contains(rp.logs.String(), plaintextMarker) {
		t.Error("plaintext in the logs")
	}
}
