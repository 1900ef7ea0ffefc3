package salmon_test

import (
	"bytes"
	"context"
	"crypto/rsa"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/internal/harness/conformance"
	"github.com/go-diaspora/federation/internal/harness/vectors"
	"github.com/go-diaspora/federation/magicenv"
	"github.com/go-diaspora/federation/salmon"
)

const bobGUID = "e9cd8f36e0e5013b0e3752540068d4a4"

func post(h http.Handler, path, contentType string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestHandler(t *testing.T) {
	m := vectors.Reference(t)
	read := func(rel string) []byte {
		b, err := m.ReadFile(rel)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	public := read("magic_envelope_public/status_message_basic.xml")
	private := read("encrypted_magic_envelope_private/contact.json")
	wrongKey := read("encrypted_magic_envelope_private/wrong_aes_key.json")
	tampered := read("encrypted_magic_envelope_private/tampered_ciphertext.json")
	slap := read("legacy_slap_public/status_message_legacy_payload.xml")
	encSlap := read("legacy_slap_private/status_message_legacy_payload.xml")

	var got []*salmon.Incoming
	inbox := salmon.InboxFunc(func(_ context.Context, in *salmon.Incoming) error {
		got = append(got, in)
		return nil
	})
	h := &salmon.Handler{Inbox: inbox}
	tests := []struct {
		name, method, path, ct string
		body                   []byte
		status                 int
		stored                 bool
	}{
		{"public", "POST", "/receive/public", magicenv.ContentType, public, 202, true},
		{"public without content type", "POST", "/receive/public", "", public, 202, true},
		{"private", "POST", "/receive/users/" + bobGUID, "application/json", private, 202, true},
		{"private wrong key looks the same", "POST", "/receive/users/" + bobGUID, "application/json", wrongKey, 202, true},
		{"private tampered looks the same", "POST", "/receive/users/" + bobGUID, "application/json", tampered, 202, true},
		{"private body on public route", "POST", "/receive/public", "application/json", private, 422, false},
		{"public body on private route", "POST", "/receive/users/" + bobGUID, magicenv.ContentType, public, 422, false},
		{"garbage", "POST", "/receive/public", magicenv.ContentType, []byte("hello"), 422, false},
		{"legacy slap without legacy mode", "POST", "/receive/public", "", slap, 422, false},
		{"GET", "GET", "/receive/public", "", nil, 405, false},
		{"bad guid", "POST", "/receive/users/x;y", "application/json", private, 404, false},
		{"other path", "POST", "/receive/elsewhere", "", public, 404, false},
		{"too large", "POST", "/receive/public", magicenv.ContentType, append(bytes.Clone(public), bytes.Repeat([]byte(" "), magicenv.DefaultMaxSize)...), 413, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got = nil
			req := httptest.NewRequest(tt.method, tt.path, bytes.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if (len(got) == 1) != tt.stored {
				t.Fatalf("inbox got %d bodies, want stored=%v", len(got), tt.stored)
			}
			if tt.stored && !bytes.Equal(got[0].Body, tt.body) {
				t.Error("inbox body differs from the request body")
			}
		})
	}
	// No oracle: valid, wrong-key and tampered private bodies get
	// byte-identical answers.
	answer := func(body []byte) string {
		rec := post(h, "/receive/users/"+bobGUID, "application/json", body)
		return rec.Result().Status + rec.Header().Get("Content-Type") + rec.Body.String()
	}
	if a, b, c := answer(private), answer(wrongKey), answer(tampered); a != b || b != c {
		t.Errorf("answers differ: %q %q %q", a, b, c)
	}
	// Route and recipient reach the inbox.
	got = nil
	post(h, "/receive/users/"+bobGUID, "application/json", private)
	if in := got[0]; in.Route != salmon.RoutePrivate || in.RecipientGUID != bobGUID || in.Format != salmon.FormatEncryptedMagicEnvelope || in.ReceivedAt.IsZero() {
		t.Errorf("incoming = %+v", in)
	}

	// Legacy mode: raw slaps and double-encoded form bodies.
	lh := &salmon.Handler{Inbox: inbox, Legacy: true}
	form := []byte("xml=" + url.QueryEscape(url.QueryEscape(string(slap))))
	for name, c := range map[string]struct {
		path, ct string
		body     []byte
		format   salmon.Format
	}{
		"raw slap":          {"/receive/public", "", slap, salmon.FormatLegacySlap},
		"form slap":         {"/receive/public", salmon.FormContentType, form, salmon.FormatLegacySlap},
		"raw encrypted":     {"/receive/users/" + bobGUID, "", encSlap, salmon.FormatLegacyEncryptedSlap},
		"modern still fine": {"/receive/public", magicenv.ContentType, public, salmon.FormatMagicEnvelope},
	} {
		got = nil
		if rec := post(lh, c.path, c.ct, c.body); rec.Code != 202 || len(got) != 1 || got[0].Format != c.format {
			t.Errorf("legacy %s: status %d, stored %d", name, rec.Code, len(got))
		} else if c.ct == salmon.FormContentType && !bytes.Equal(got[0].Body, slap) {
			t.Errorf("legacy %s: form not unwrapped", name)
		}
	}
	if rec := post(lh, "/receive/public", salmon.FormContentType, []byte("foo=bar")); rec.Code != 422 {
		t.Errorf("form without xml: %d, want 422", rec.Code)
	}
}

func TestHandlerInboxErrors(t *testing.T) {
	m := vectors.Reference(t)
	private, err := m.ReadFile("encrypted_magic_envelope_private/contact.json")
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		err        error
		status     int
		retryAfter string
	}{
		"stored":           {nil, 202, ""},
		"rejected":         {salmon.ErrRejected, 202, ""},
		"wrapped rejected": {errors.Join(errors.New("bad signature"), salmon.ErrRejected), 202, ""},
		"no recipient":     {salmon.ErrRecipientNotFound, 404, ""},
		"store down":       {errors.New("disk full"), 503, "60"},
	} {
		h := &salmon.Handler{Inbox: salmon.InboxFunc(func(context.Context, *salmon.Incoming) error { return c.err })}
		rec := post(h, "/receive/users/"+bobGUID, "application/json", private)
		if rec.Code != c.status || rec.Header().Get("Retry-After") != c.retryAfter {
			t.Errorf("%s: status %d Retry-After %q, want %d %q", name, rec.Code, rec.Header().Get("Retry-After"), c.status, c.retryAfter)
		}
		if strings.Contains(rec.Body.String(), "disk") || strings.Contains(rec.Body.String(), "signature") {
			t.Errorf("%s: answer leaks the inbox error: %q", name, rec.Body.String())
		}
	}
	if rec := post(&salmon.Handler{}, "/receive/users/"+bobGUID, "application/json", private); rec.Code != 503 {
		t.Errorf("nil inbox: %d, want 503", rec.Code)
	}
}

func TestSyncInbox(t *testing.T) {
	m := vectors.Reference(t)
	env := conformance.NewEnv(m)
	var delivered []*salmon.Message
	var rejected []string
	inbox := &salmon.SyncInbox{
		Receiver: &salmon.Receiver{Keys: env, Entities: env, RecipientKeys: env},
		Deliver:  func(_ context.Context, msg *salmon.Message) error { delivered = append(delivered, msg); return nil },
		Rejected: func(_ context.Context, _ *salmon.Incoming, err error) {
			rejected = append(rejected, salmon.Category(err))
		},
	}
	h := &salmon.Handler{Inbox: inbox}
	good := mustRead(t, m, "magic_envelope_public/status_message_basic.xml")
	tampered := mustRead(t, m, "magic_envelope_public/tampered_data.xml")
	wrongKey := mustRead(t, m, "encrypted_magic_envelope_private/wrong_aes_key.json")
	if rec := post(h, "/receive/public", magicenv.ContentType, good); rec.Code != 202 || len(delivered) != 1 {
		t.Fatalf("good: %d, delivered %d", rec.Code, len(delivered))
	}
	if rec := post(h, "/receive/public", magicenv.ContentType, tampered); rec.Code != 202 || len(delivered) != 1 {
		t.Errorf("tampered: %d, delivered %d", rec.Code, len(delivered))
	}
	if rec := post(h, "/receive/users/bob@pod-b.example.net", "application/json", wrongKey); rec.Code != 202 {
		t.Errorf("wrong key: %d", rec.Code)
	}
	if rec := post(h, "/receive/users/nobody00000000000", "application/json", wrongKey); rec.Code != 404 {
		t.Errorf("unknown recipient: %d", rec.Code)
	}
	if len(rejected) != 2 || rejected[0] != "invalid_envelope_signature" || rejected[1] != "decrypt" {
		t.Errorf("rejected = %v", rejected)
	}
	// A key server that is down: 503, so the sender tries again.
	inbox.Receiver = &salmon.Receiver{Keys: magicenv.KeyResolverFunc(func(context.Context, string) (*rsa.PublicKey, error) {
		return nil, errors.New("timeout")
	}), Entities: env}
	if rec := post(h, "/receive/public", magicenv.ContentType, good); rec.Code != 503 {
		t.Errorf("key server down: %d, want 503", rec.Code)
	}
}
