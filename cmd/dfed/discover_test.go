package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

// discoverDirectory serves one person, alice, for the fake pod.
type discoverDirectory struct{ alice *discovery.Person }

func (d discoverDirectory) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	if id == d.alice.ID {
		return d.alice, nil
	}
	return nil, discovery.ErrNotFound
}

func (d discoverDirectory) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	if guid == d.alice.GUID {
		return d.alice, nil
	}
	return nil, discovery.ErrNotFound
}

// discoverPod starts a plain-http fake pod on loopback (hence
// --insecure-dev in the tests) and returns its host:port.
func discoverPod(t *testing.T) string {
	t.Helper()
	key, err := os.ReadFile(ref + "keys/alice.pub.pem")
	if err != nil {
		t.Fatal(err)
	}
	h := &discovery.Handler{}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	host := srv.Listener.Addr().String()
	h.BaseURL = srv.URL + "/"
	h.Directory = discoverDirectory{alice: &discovery.Person{
		ID: "alice@" + host, GUID: "b6c0ee9f3bcf577314f84bc0ccaab0b1", PublicKeyPEM: string(key),
		FullName: "Alice Liddell", Searchable: true,
	}}
	return host
}

func TestDiscover(t *testing.T) {
	host := discoverPod(t)
	t.Run("found", func(t *testing.T) {
		code, out, stderr := runDiscover(t, "--insecure-dev", "--timeout=5s", "alice@"+host)
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, stderr)
		}
		var p struct {
			ID, GUID, PublicKey, PodURL string
			FullName                    string `json:"full_name"`
		}
		if err := json.Unmarshal([]byte(out), &p); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		var raw map[string]any
		_ = json.Unmarshal([]byte(out), &raw)
		if p.ID != "alice@"+host || p.GUID != "b6c0ee9f3bcf577314f84bc0ccaab0b1" || p.FullName != "Alice Liddell" ||
			!strings.HasPrefix(raw["public_key"].(string), "-----BEGIN PUBLIC KEY-----") || raw["pod_url"] != "http://"+host+"/" {
			t.Errorf("unexpected person %s", out)
		}
	})
	t.Run("trace", func(t *testing.T) {
		code, _, stderr := runDiscover(t, "alice@"+host, "--trace", "--insecure-dev", "--timeout=5s")
		if code != 0 {
			t.Fatalf("exit %d; stderr: %s", code, stderr)
		}
		for _, want := range []string{
			"> GET https://" + host + "/.well-known/webfinger?resource=acct:alice@" + host,
			"retrying over http",
			"< 200 http://" + host + "/.well-known/webfinger?resource=acct:alice@" + host,
			"< 200 http://" + host + "/hcard/users/b6c0ee9f3bcf577314f84bc0ccaab0b1",
		} {
			if !strings.Contains(stderr, want) {
				t.Errorf("trace lacks %q:\n%s", want, stderr)
			}
		}
	})
	t.Run("not found", func(t *testing.T) {
		code, out, _ := runDiscover(t, "--insecure-dev", "--timeout=5s", "bob@"+host)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		var res discoverFailure
		if err := json.Unmarshal([]byte(out), &res); err != nil || res.Found || res.Error.Category != "not_found" || res.Error.Temporary {
			t.Errorf("output %s (%v)", out, err)
		}
	})
	t.Run("loopback refused without --insecure-dev", func(t *testing.T) {
		code, out, _ := runDiscover(t, "--timeout=5s", "alice@"+host)
		if code != 1 {
			t.Fatalf("exit %d, want 1", code)
		}
		if !strings.Contains(out, `"category": "blocked"`) {
			t.Errorf("output %s", out)
		}
	})
	t.Run("invalid id", func(t *testing.T) {
		code, out, _ := runDiscover(t, "not an id")
		if code != 1 || !strings.Contains(out, `"category": "validation"`) {
			t.Errorf("exit %d, output %s", code, out)
		}
	})
}

func TestDiscoverUsage(t *testing.T) {
	for _, args := range [][]string{{}, {"a@b.example", "c@d.example"}, {"--nope", "a@b.example"}} {
		code, _, _ := runDiscover(t, args...)
		if code != 2 {
			t.Errorf("discover %q: exit %d, want 2", args, code)
		}
	}
}

// runDiscover calls discover directly, so these tests do not depend on
// main.go's command switch.
func runDiscover(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := discover(args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}
