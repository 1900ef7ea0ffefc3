package discovery_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

func testHandler(t *testing.T) *discovery.Handler {
	t.Helper()
	key, err := os.ReadFile(filepath.Join(referenceSet, "keys", "alice.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	dir := &directory{}
	dir.add(&discovery.Person{
		ID: "alice@pod-a.example.org", GUID: aliceGUID, PublicKeyPEM: string(key),
		FullName: "Alice Liddell", FirstName: "Alice", LastName: "Liddell", Searchable: true,
		AvatarLarge:  "https://pod-a.example.org/uploads/images/thumb_large_x.jpg",
		AvatarMedium: "https://pod-a.example.org/uploads/images/thumb_medium_x.jpg",
		AvatarSmall:  "https://pod-a.example.org/uploads/images/thumb_small_x.jpg",
	})
	return &discovery.Handler{
		BaseURL: "https://pod-a.example.org/", Directory: dir,
		Software: discovery.Software{Name: "go-diaspora", Version: "0.1.0"},
		Metadata: map[string]any{"nodeName": "Pod A"},
	}
}

func serve(h http.Handler, method, target, accept string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestHandler(t *testing.T) {
	h := testHandler(t)
	mux := http.NewServeMux()
	h.Register(mux)
	tests := []struct {
		name, method, target, accept string
		status                       int
		ctype                        string
		golden                       string
	}{
		{"host-meta", "GET", "/.well-known/host-meta", "", 200, "application/xrd+xml; charset=utf-8", ""},
		{"host-meta json", "GET", "/.well-known/host-meta.json", "", 200, "application/json; charset=utf-8", "host-meta.json"},
		{"jrd", "GET", "/.well-known/webfinger?resource=acct:alice@pod-a.example.org", "", 200, "application/jrd+json; charset=utf-8", "webfinger.jrd.json"},
		{"jrd percent-encoded", "GET", "/.well-known/webfinger?resource=acct%3Aalice%40pod-a.example.org", "application/jrd+json", 200, "application/jrd+json; charset=utf-8", "webfinger.jrd.json"},
		{"jrd uppercase", "GET", "/.well-known/webfinger?resource=+ACCT:Alice@Pod-A.example.org+", "", 200, "application/jrd+json; charset=utf-8", ""},
		{"xrd by accept", "GET", "/.well-known/webfinger?resource=acct:alice@pod-a.example.org", "application/xrd+xml", 200, "application/xrd+xml; charset=utf-8", "webfinger.xrd.xml"},
		{"json preferred", "GET", "/.well-known/webfinger?resource=acct:alice@pod-a.example.org", "application/xrd+xml;q=0.5, application/jrd+json", 200, "application/jrd+json; charset=utf-8", ""},
		{"xrd legacy path", "GET", "/.well-known/webfinger.xml?resource=acct:alice@pod-a.example.org", "", 200, "application/xrd+xml; charset=utf-8", "webfinger.xrd.xml"},
		{"no resource", "GET", "/.well-known/webfinger", "", 400, "", ""},
		{"unknown person", "GET", "/.well-known/webfinger?resource=acct:bob@pod-a.example.org", "", 404, "", ""},
		{"invalid resource", "GET", "/.well-known/webfinger?resource=not-an-id", "", 404, "", ""},
		{"hcard", "GET", "/hcard/users/" + aliceGUID, "", 200, "text/html; charset=utf-8", "hcard.html"},
		{"hcard unknown", "GET", "/hcard/users/0123456789abcdef0123", "", 404, "", ""},
		{"hcard bad guid", "GET", "/hcard/users/x", "", 404, "", ""},
		{"nodeinfo index", "GET", "/.well-known/nodeinfo", "", 200, "application/json; charset=utf-8", "nodeinfo-index.json"},
		{"nodeinfo 2.1", "GET", "/nodeinfo/2.1", "", 200, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.1#"`, "nodeinfo-2.1.json"},
		{"nodeinfo 2.0", "GET", "/nodeinfo/2.0", "", 200, `application/json; profile="http://nodeinfo.diaspora.software/ns/schema/2.0#"`, ""},
		{"head", "HEAD", "/.well-known/host-meta", "", 200, "application/xrd+xml; charset=utf-8", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, srv := range []http.Handler{h, mux} {
				w := serve(srv, tt.method, tt.target, tt.accept)
				if w.Code != tt.status {
					t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.target, w.Code, tt.status, w.Body)
				}
				if tt.ctype != "" && w.Header().Get("Content-Type") != tt.ctype {
					t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
				}
				if tt.golden != "" && srv == h {
					golden(t, tt.golden, w.Body.Bytes())
				}
			}
		})
	}
	if w := serve(h, "POST", "/.well-known/host-meta", ""); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d, want 405", w.Code)
	}
	if w := serve(h, "GET", "/.well-known/webfinger?resource=acct:alice@pod-a.example.org", ""); w.Header().Get("Access-Control-Allow-Origin") != "*" {
		t.Error("WebFinger without Access-Control-Allow-Origin: *")
	}
}

// TestHandlerProfileURL: a local person with a ProfileURL gets it as the
// profile-page link of their WebFinger document; the other links stay.
func TestHandlerProfileURL(t *testing.T) {
	h := testHandler(t)
	h.Directory.(*directory).add(&discovery.Person{ID: "news@pod-a.example.org", GUID: "0123456789abcdef0123456789abcdef",
		ProfileURL: "https://news.example/about"})
	for _, c := range []struct {
		id, want string
	}{
		{"news@pod-a.example.org", "https://news.example/about"},
		{"alice@pod-a.example.org", "https://pod-a.example.org/u/alice"},
	} {
		w := serve(h, "GET", "/.well-known/webfinger?resource=acct:"+c.id, "")
		wf, err := discovery.ParseJRD(w.Body.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got := wf.ProfileURL(); got != c.want || wf.HCardURL() == "" || wf.SeedURL() != "https://pod-a.example.org/" {
			t.Errorf("%s: profile %q (want %q), hcard %q, seed %q", c.id, got, c.want, wf.HCardURL(), wf.SeedURL())
		}
	}
}

// TestHandlerOutputParses checks that what the handler serves is accepted
// by this package's own parsers, and that host-meta equals the reference's.
func TestHandlerOutputParses(t *testing.T) {
	h := testHandler(t)
	body := func(target, accept string) []byte { return serve(h, "GET", target, accept).Body.Bytes() }
	if got, want := body("/.well-known/host-meta", ""), readRef(t, "host_meta/pod_a.xml"); string(got) != string(want) {
		t.Errorf("host-meta =\n%s\nwant the reference's\n%s", got, want)
	}
	if _, err := discovery.ParseHostMetaJSON(body("/.well-known/host-meta.json", "")); err != nil {
		t.Errorf("host-meta.json: %v", err)
	}
	w, err := discovery.ParseJRD(body("/.well-known/webfinger?resource=acct:alice@pod-a.example.org", ""))
	if err != nil || w.HCardURL() != "https://pod-a.example.org/hcard/users/"+aliceGUID {
		t.Errorf("JRD: %v %v", w, err)
	}
	if _, err := discovery.ParseXRD(body("/.well-known/webfinger.xml?resource=acct:alice@pod-a.example.org", "")); err != nil {
		t.Errorf("XRD: %v", err)
	}
	hc, err := discovery.ParseHCard(body("/hcard/users/"+aliceGUID, ""))
	if err != nil {
		t.Fatalf("hCard: %v", err)
	}
	if string(hc.HTML()) != string(readRef(t, "hcard_html/full.html")) {
		t.Errorf("served hCard differs from the reference vector hcard_html/full.html")
	}
	idx, err := discovery.ParseNodeInfoIndex(body("/.well-known/nodeinfo", ""))
	if err != nil {
		t.Fatal(err)
	}
	if l, ok := idx.Best(); !ok || l.Href != "https://pod-a.example.org/nodeinfo/2.1" {
		t.Errorf("Best = %v %v", l, ok)
	}
	ni, err := discovery.ParseNodeInfo(body("/nodeinfo/2.1", ""))
	if err != nil || ni.Version != "2.1" || ni.Usage.Users.Total == nil || *ni.Usage.Users.Total != 1 || ni.Metadata["nodeName"] != "Pod A" {
		b, _ := json.Marshal(ni)
		t.Errorf("NodeInfo = %s, %v", b, err)
	}
	if !strings.Contains(string(body("/nodeinfo/2.0", "")), `"version":"2.0"`) {
		t.Error("nodeinfo/2.0 does not say version 2.0")
	}
}
