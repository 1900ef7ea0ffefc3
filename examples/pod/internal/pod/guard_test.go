package pod

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

func TestParseTagsAndMentions(t *testing.T) {
	text := "Hello #Go and #go, #diaspora-fed! a#b &#39; @{Bob Smith; Bob@Pod.Example} @{carol@c.example:3000} @{broken}"
	if got, want := parseTags(text), []string{"go", "diaspora-fed"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseTags = %v, want %v", got, want)
	}
	if got, want := parseMentions(text), []string{"bob@pod.example", "carol@c.example:3000"}; !reflect.DeepEqual(got, want) {
		t.Errorf("parseMentions = %v, want %v", got, want)
	}
}

// The pod's outbound client is discovery's guarded one: loopback only in
// development mode, never other reserved addresses.
func TestOutboundGuard(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, dev := range []bool{false, true} {
		p, err := NewPod(context.Background(), Config{PublicURL: "https://pod.example/", DB: testDB(t), DataDir: t.TempDir(), KeyBits: 2048,
			BcryptCost: 4, Dev: dev, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := p.sender.HTTPClient.Get(srv.URL)
		if dev {
			if err != nil {
				t.Errorf("dev client to loopback: %v", err)
			} else {
				resp.Body.Close()
			}
		} else if err == nil {
			resp.Body.Close()
			t.Error("production client reached loopback")
		}
		for _, u := range []string{"http://10.1.2.3/x", "https://169.254.169.254/x", "https://[::ffff:127.0.0.1]/x"} {
			if _, err := p.sender.HTTPClient.Get(u); err == nil {
				t.Errorf("dev=%v: %s reached", dev, u)
			}
		}
		p.Close()
	}
}

func TestSSRFGuardOnFollow(t *testing.T) {
	p, err := NewPod(context.Background(), Config{PublicURL: "https://pod.example/", DB: testDB(t), DataDir: t.TempDir(), KeyBits: 2048,
		BcryptCost: 4, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.AddUser(context.Background(), "ivy", "password-ivy"); err != nil {
		t.Fatal(err)
	}
	u, _ := p.store.UserByName(context.Background(), "ivy")
	for _, id := range []string{"victim@127.0.0.1:8080", "victim@localhost", "victim@10.0.0.1"} {
		if _, err := p.ShareWith(context.Background(), u, id, []string{"Friends"}, true); !errors.Is(err, discovery.ErrBlockedAddress) && !errors.Is(err, discovery.ErrBlockedURL) {
			t.Errorf("ShareWith(%s) without --dev = %v, want a blocked address", id, err)
		}
	}
	var n int
	if err := p.store.SQL().QueryRow(`SELECT COUNT(*) FROM outbox`).Scan(&n); err != nil || n != 0 {
		t.Errorf("outbox rows = %d, %v; want none", n, err)
	}
}
