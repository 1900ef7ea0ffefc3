package discovery_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/internal/harness/seeds"
)

// FuzzParseJRD checks that ParseJRD never panics and that an accepted
// document survives JRD() → ParseJRD with the same view.
func FuzzParseJRD(f *testing.F) {
	seeds.Vectors(f, 0, "webfinger_jrd/*")
	seeds.Add(f, 0, nil,
		`{"subject":"acct:a@b","links":[],"subject":"acct:c@d"}`,
		`{"subject":"acct:a@b.example","links":[{"rel":"http://microformats.org/profile/hcard","href":"https://b.example/h"},{"rel":"http://joindiaspora.com/seed_location","href":"https://b.example/"}],"properties":{"x":null}}`,
		strings.Repeat("[", 100)+strings.Repeat("]", 100),
		`{"subject":1,"links":{}}`, `null`, `"x"`, `{"subject":"x","links":[1]}`)
	f.Fuzz(func(t *testing.T, data []byte) {
		// the other JSON parsers share the decoder: no panics there either
		_, _ = discovery.ParseHostMetaJSON(data)
		_, _ = discovery.ParseNodeInfo(data)
		_, _ = discovery.ParseNodeInfo2(data)
		_, _ = discovery.ParseStatistics(data)
		if idx, err := discovery.ParseNodeInfoIndex(data); err == nil {
			idx.Best()
		}
		w, err := discovery.ParseJRD(data)
		if err != nil {
			if discovery.Category(err) == "other" {
				t.Fatalf("uncategorized error %v", err)
			}
			return
		}
		out, err := w.JRD()
		if err != nil {
			t.Fatalf("JRD(): %v", err)
		}
		w2, err := discovery.ParseJRD(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if d := cmp.Diff(w.View(), w2.View()); d != "" {
			t.Fatalf("round trip changed the view (-first +second):\n%s", d)
		}
	})
}

// FuzzParseXRD checks ParseXRD and ParseHostMeta for panics, and the
// XRD() round trip of accepted WebFinger documents.
func FuzzParseXRD(f *testing.F) {
	seeds.Vectors(f, 0, "webfinger_xrd/*")
	seeds.Add(f, 0, nil,
		`<!DOCTYPE x [<!ENTITY a "aaaa">]><XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Subject>&a;</Subject></XRD>`,
		`<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0"><Subject>acct:a@b.example</Subject><Link rel="lrdd" template="https://b.example/x?q={uri}"/></XRD><XRD/>`,
		strings.Repeat("<a>", 100),
		`<?xml version="1.0" encoding="ISO-8859-1"?><XRD/>`)
	seeds.Vectors(f, 0, "host_meta/*")
	seeds.Add(f, 0, nil)
	f.Fuzz(func(t *testing.T, data []byte) {
		if _, err := discovery.ParseHostMeta(data); err != nil && discovery.Category(err) == "other" {
			t.Fatalf("uncategorized host-meta error %v", err)
		}
		w, err := discovery.ParseXRD(data)
		if err != nil {
			if discovery.Category(err) == "other" {
				t.Fatalf("uncategorized error %v", err)
			}
			return
		}
		out := w.XRD()
		w2, err := discovery.ParseXRD(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if d := cmp.Diff(w.View(), w2.View()); d != "" {
			t.Fatalf("round trip changed the view (-first +second):\n%s", d)
		}
	})
}

// FuzzParseHCard checks that ParseHCard never panics and that an accepted
// hCard survives HTML() → ParseHCard with the same view.
func FuzzParseHCard(f *testing.F) {
	seeds.Vectors(f, 0, "hcard_html/*")
	seeds.Add(f, 0, nil,
		`<span class="fn">x</span><div class="entity_photo"><img class="photo" src="/a.png"></div><span class="uid">0123456789abcdef</span><pre class="key">-----BEGIN RSA PUBLIC KEY-----
x
-----END RSA PUBLIC KEY-----</pre>`,
		strings.Repeat("<div>", 1000),
		`<script>"<span class='fn'>"</script><!-- <span class="fn"> --><title><span class="fn"></title>`,
		`<span class=fn/><img class='photo' src=x>`)
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := discovery.ParseHCard(data)
		if err != nil {
			if discovery.Category(err) == "other" {
				t.Fatalf("uncategorized error %v", err)
			}
			return
		}
		out := h.HTML()
		h2, err := discovery.ParseHCard(out)
		if err != nil {
			t.Fatalf("re-parse of %s: %v", out, err)
		}
		if d := cmp.Diff(h.View(), h2.View()); d != "" {
			t.Fatalf("round trip changed the view (-first +second):\n%s", d)
		}
	})
}
