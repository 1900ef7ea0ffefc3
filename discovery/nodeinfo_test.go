package discovery_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/discovery"
)

// sourceJudged is a vector of a captured set's source_judged_vectors,
// whose expected outcome restates the source's own test.
type sourceJudged struct {
	ID       string          `json:"id"`
	File     string          `json:"file"`
	Kind     string          `json:"kind"`
	Expected json.RawMessage `json:"expected"`
}

// TestCapturedNodeInfo runs the NodeInfo documents and /.well-known/nodeinfo
// indexes of the captured sets, when they are present.
func TestCapturedNodeInfo(t *testing.T) {
	for _, set := range capturedSets {
		t.Run(set, func(t *testing.T) { capturedNodeInfo(t, set) })
	}
}

// capturedNodeInfo checks the NodeInfo vectors of one captured set.
func capturedNodeInfo(t *testing.T, set string) {
	path := sharedVectors(t, set)
	dir := filepath.Dir(path)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		SourceJudged []sourceJudged `json:"source_judged_vectors"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, v := range m.SourceJudged {
		switch v.Kind {
		case "nodeinfo", "nodeinfo_well_known", "nodeinfo2", "statistics_json":
		default:
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, v.File))
			if err != nil {
				t.Fatal(err)
			}
			var want map[string]any
			if err := json.Unmarshal(v.Expected, &want); err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			switch v.Kind {
			case "nodeinfo":
				ni, err := discovery.ParseNodeInfo(data)
				if err != nil {
					t.Fatalf("ParseNodeInfo: %v", err)
				}
				got = nodeInfoView(ni)
			case "nodeinfo2":
				ni, err := discovery.ParseNodeInfo2(data)
				if err != nil {
					t.Fatalf("ParseNodeInfo2: %v", err)
				}
				got = nodeInfo2View(ni)
			case "statistics_json":
				st, err := discovery.ParseStatistics(data)
				if err != nil {
					t.Fatalf("ParseStatistics: %v", err)
				}
				got = map[string]any{"valid": true, "name": st.Name, "network": st.Network, "version": st.Version, "registrations_open": st.RegistrationsOpen}
			case "nodeinfo_well_known":
				idx, err := discovery.ParseNodeInfoIndex(data)
				if err != nil {
					t.Fatalf("ParseNodeInfoIndex: %v", err)
				}
				l, ok := idx.Best()
				got = map[string]any{"valid": ok, "chosen_schema": l.Rel, "chosen_href": l.Href}
			}
			sub := map[string]any{}
			for k := range want {
				sub[k] = got[k]
			}
			if d := cmp.Diff(want, sub); d != "" {
				t.Errorf("(-want +got):\n%s", d)
			}
		})
	}
	t.Logf("set %s: %d NodeInfo, NodeInfo2, index and statistics vectors checked", set, n)
}

func nodeInfo2View(n *discovery.NodeInfo2) map[string]any {
	v := nodeInfoView(&discovery.NodeInfo{Version: n.Version, Protocols: n.Protocols, OpenRegistrations: n.OpenRegistrations, Usage: n.Usage})
	if n.Usage.Users.ActiveWeek != nil {
		v["users"].(map[string]any)["activeWeek"] = float64(*n.Usage.Users.ActiveWeek)
	}
	v["server"] = map[string]any{"baseUrl": n.Server.BaseURL, "name": n.Server.Name, "software": n.Server.Software, "version": n.Server.Version}
	v["relay"] = n.Relay
	return v
}

// nodeInfoView writes a NodeInfo in the shape of the captured manifests.
func nodeInfoView(n *discovery.NodeInfo) map[string]any {
	num := func(p *int64) any {
		if p == nil {
			return nil
		}
		return float64(*p)
	}
	users := map[string]any{}
	for k, p := range map[string]*int64{"total": n.Usage.Users.Total, "activeHalfyear": n.Usage.Users.ActiveHalfyear, "activeMonth": n.Usage.Users.ActiveMonth} {
		if p != nil {
			users[k] = num(p)
		}
	}
	protocols := []any{}
	for _, p := range n.Protocols {
		protocols = append(protocols, p)
	}
	return map[string]any{
		"valid":             true,
		"version":           n.Version,
		"software":          map[string]any{"name": n.Software.Name, "version": n.Software.Version},
		"protocols":         protocols,
		"openRegistrations": n.OpenRegistrations,
		"users":             users,
		"localPosts":        num(n.Usage.LocalPosts),
		"localComments":     num(n.Usage.LocalComments),
		"nodeName":          n.Metadata["nodeName"],
		"adminAccount":      n.Metadata["adminAccount"],
	}
}

func TestClientNodeInfo(t *testing.T) {
	p := newPod(t, true)
	p.handler.Software = discovery.Software{Name: "go-diaspora", Version: "1.2.3"}
	ni, err := p.client().NodeInfo(ctxT(t), p.host)
	if err != nil {
		t.Fatalf("NodeInfo: %v", err)
	}
	if ni.Version != "2.1" || ni.Software.Version != "1.2.3" || ni.Usage.Users.Total == nil || *ni.Usage.Users.Total != 1 {
		t.Errorf("NodeInfo = %+v", ni)
	}
	if _, err := p.client().NodeInfo(ctxT(t), "pod.example/evil"); err == nil {
		t.Error("NodeInfo accepted a host with a path")
	}
}

func TestParseNodeInfoLenient(t *testing.T) {
	ni, err := discovery.ParseNodeInfo([]byte(`{"version":"2.1","software":{"name":"x","version":"1"},"protocols":{"inbound":["diaspora"],"outbound":["diaspora","activitypub"]},"usage":{"users":{"total":1.5,"activeMonth":-3},"localPosts":{"all":3}},"openRegistrations":"yes"}`))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"diaspora", "activitypub"}, ni.Protocols); d != "" {
		t.Error(d)
	}
	if ni.Usage.Users.Total != nil || ni.Usage.Users.ActiveMonth != nil || ni.Usage.LocalPosts != nil || ni.OpenRegistrations {
		t.Errorf("malformed values not ignored: %+v", ni)
	}
	for _, bad := range []string{`[]`, `{}`, `{"version":"2.0"}`, `not json`, `{"version":"2.0","software":{"name":"x"},"version":"2.1"}`} {
		if _, err := discovery.ParseNodeInfo([]byte(bad)); err == nil {
			t.Errorf("ParseNodeInfo(%s) accepted", bad)
		}
	}
}
