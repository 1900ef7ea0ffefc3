package discovery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
)

// NodeInfo schema relations, newest last.
const (
	NodeInfoSchema10 = "http://nodeinfo.diaspora.software/ns/schema/1.0"
	NodeInfoSchema11 = "http://nodeinfo.diaspora.software/ns/schema/1.1"
	NodeInfoSchema20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
	NodeInfoSchema21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
)

var nodeInfoRank = map[string]int{NodeInfoSchema10: 1, NodeInfoSchema11: 2, NodeInfoSchema20: 3, NodeInfoSchema21: 4}

// NodeInfo is a NodeInfo document (versions 1.0 to 2.1). NodeInfo is not
// part of the federation protocol, but pods serve it and tools read it.
type NodeInfo struct {
	// Version is the schema version, "2.0" or "2.1" when generated.
	Version string `json:"version"`
	// Software names the server software.
	Software Software `json:"software"`
	// Protocols are the protocols the server speaks ("diaspora"). 1.x
	// documents list them as {inbound, outbound}; both are merged here.
	Protocols []string `json:"protocols"`
	// Services are third-party services the server can talk to.
	Services Services `json:"services"`
	// OpenRegistrations tells whether new users may sign up.
	OpenRegistrations bool `json:"openRegistrations"`
	// Usage holds the usage counts; unknown or malformed counts are nil.
	Usage Usage `json:"usage"`
	// Metadata is free-form server metadata (diaspora* puts nodeName here).
	Metadata map[string]any `json:"metadata"`
}

// Software is the software member of NodeInfo.
type Software struct {
	// Name is the software name, lowercase ("diaspora").
	Name string `json:"name"`
	// Version is the software version.
	Version string `json:"version"`
	// Repository and Homepage are URLs; NodeInfo 2.1 only.
	Repository string `json:"repository,omitempty"`
	Homepage   string `json:"homepage,omitempty"`
}

// Services is the services member of NodeInfo.
type Services struct {
	// Inbound services can post to the server, Outbound ones receive
	// from it.
	Inbound  []string `json:"inbound"`
	Outbound []string `json:"outbound"`
}

// Usage is the usage member of NodeInfo.
type Usage struct {
	// Users counts the server's users.
	Users UserCounts `json:"users"`
	// LocalPosts and LocalComments count what local users wrote; nil
	// when unknown.
	LocalPosts    *int64 `json:"localPosts,omitempty"`
	LocalComments *int64 `json:"localComments,omitempty"`
}

// UserCounts is usage.users of NodeInfo.
type UserCounts struct {
	// Total, ActiveHalfyear and ActiveMonth count all users and those
	// active in the last 180 and 30 days; nil when unknown.
	Total          *int64 `json:"total,omitempty"`
	ActiveHalfyear *int64 `json:"activeHalfyear,omitempty"`
	ActiveMonth    *int64 `json:"activeMonth,omitempty"`
	// ActiveWeek counts users active in the last 7 days; NodeInfo2 only.
	ActiveWeek *int64 `json:"activeWeek,omitempty"`
}

// ParseNodeInfo reads a NodeInfo document leniently, as the servers in
// the wild write it: protocols as a list (2.x) or as {inbound, outbound}
// (1.x), counts that are not integers ignored. It requires a JSON object
// with a version and a software name; otherwise the error wraps
// [ErrInvalidDocument].
func ParseNodeInfo(data []byte) (*NodeInfo, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a NodeInfo document: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: NodeInfo is not a JSON object", ErrInvalidDocument)
	}
	n := &NodeInfo{Metadata: map[string]any{}}
	n.Version, _ = obj["version"].(string)
	sw, _ := obj["software"].(map[string]any)
	n.Software.Name, _ = sw["name"].(string)
	n.Software.Version, _ = sw["version"].(string)
	n.Software.Repository, _ = sw["repository"].(string)
	n.Software.Homepage, _ = sw["homepage"].(string)
	if n.Version == "" || n.Software.Name == "" {
		return nil, fmt.Errorf("%w: NodeInfo needs version and software.name", ErrIncompleteDocument)
	}
	switch p := obj["protocols"].(type) {
	case []any:
		n.Protocols = stringList(p)
	case map[string]any:
		seen := map[string]bool{}
		for _, k := range []string{"inbound", "outbound"} {
			l, _ := p[k].([]any)
			for _, s := range stringList(l) {
				if !seen[s] {
					seen[s] = true
					n.Protocols = append(n.Protocols, s)
				}
			}
		}
	}
	if s, ok := obj["services"].(map[string]any); ok {
		in, _ := s["inbound"].([]any)
		out, _ := s["outbound"].([]any)
		n.Services = Services{Inbound: stringList(in), Outbound: stringList(out)}
	}
	n.OpenRegistrations, _ = obj["openRegistrations"].(bool)
	if u, ok := obj["usage"].(map[string]any); ok {
		users, _ := u["users"].(map[string]any)
		n.Usage.Users = UserCounts{Total: count(users["total"]), ActiveHalfyear: count(users["activeHalfyear"]), ActiveMonth: count(users["activeMonth"])}
		n.Usage.LocalPosts = count(u["localPosts"])
		n.Usage.LocalComments = count(u["localComments"])
	}
	if m, ok := obj["metadata"].(map[string]any); ok {
		n.Metadata = plainJSON(m).(map[string]any)
	}
	return n, nil
}

func stringList(l []any) []string {
	out := []string{}
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// count reads a non-negative integer count; anything else is nil.
func count(v any) *int64 {
	num, ok := v.(json.Number)
	if !ok {
		return nil
	}
	i, err := num.Int64()
	if err != nil {
		f, ferr := num.Float64()
		if ferr != nil || f != math.Trunc(f) || f < 0 || f > math.MaxInt64 {
			return nil
		}
		i = int64(f)
	}
	if i < 0 {
		return nil
	}
	return &i
}

// plainJSON turns json.Number values into float64 so that metadata
// re-encodes like encoding/json output.
func plainJSON(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = plainJSON(e)
		}
		return t
	case []any:
		for i, e := range t {
			t[i] = plainJSON(e)
		}
		return t
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		f, _ := t.Float64()
		return f
	}
	return v
}

// JSON encodes the document. Nil lists are written as [] and a nil
// metadata as {}, as the schema requires.
func (n *NodeInfo) JSON() ([]byte, error) {
	cp := *n
	if cp.Protocols == nil {
		cp.Protocols = []string{}
	}
	if cp.Services.Inbound == nil {
		cp.Services.Inbound = []string{}
	}
	if cp.Services.Outbound == nil {
		cp.Services.Outbound = []string{}
	}
	if cp.Metadata == nil {
		cp.Metadata = map[string]any{}
	}
	if cp.Version != "2.1" {
		cp.Software.Repository, cp.Software.Homepage = "", ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(cp); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// NodeInfoIndex is the /.well-known/nodeinfo document: links to the
// NodeInfo documents of a server.
type NodeInfoIndex struct {
	// Links are the index's links (rel = schema, href = document).
	Links []Link `json:"links"`
}

// JSON encodes the index as {"links": [...]}.
func (x *NodeInfoIndex) JSON() []byte { return linksJSON(x.Links) }

// ParseNodeInfoIndex reads /.well-known/nodeinfo, tolerating the shapes
// some servers serve: links as a single object instead of a list, and
// extra link objects at the top level under keys such as "0" (older
// Hubzilla). Links whose rel is not a NodeInfo schema are kept too. Errors
// wrap [ErrInvalidDocument].
func ParseNodeInfoIndex(data []byte) (*NodeInfoIndex, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a NodeInfo index: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: NodeInfo index is not a JSON object", ErrInvalidDocument)
	}
	idx := &NodeInfoIndex{}
	add := func(e any) {
		if o, ok := e.(map[string]any); ok {
			rel, _ := o["rel"].(string)
			href, _ := o["href"].(string)
			if rel != "" || href != "" {
				idx.Links = append(idx.Links, Link{Rel: rel, Href: href})
			}
		}
	}
	switch l := obj["links"].(type) {
	case []any:
		for _, e := range l {
			add(e)
		}
	case map[string]any:
		add(l)
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		if k != "links" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		add(obj[k])
	}
	if len(idx.Links) == 0 {
		return nil, fmt.Errorf("%w: NodeInfo index has no links", ErrIncompleteDocument)
	}
	return idx, nil
}

// Best returns the link to the newest NodeInfo schema the index offers.
func (x *NodeInfoIndex) Best() (Link, bool) {
	var best Link
	rank := 0
	for _, l := range x.Links {
		if r := nodeInfoRank[strings.TrimSuffix(l.Rel, "#")]; r > rank && l.Href != "" {
			best, rank = l, r
		}
	}
	return best, rank > 0
}

// NodeInfo fetches the NodeInfo of host (a host name with an optional
// port): /.well-known/nodeinfo, then the newest document it links to,
// which must be on the same host.
func (c *Client) NodeInfo(ctx context.Context, host string) (*NodeInfo, error) {
	if err := ValidateID("x@" + strings.ToLower(host)); err != nil || host != strings.ToLower(host) {
		return nil, fmt.Errorf("%w: host %q", ErrBlockedURL, truncate(host, 80))
	}
	r, err := c.getFallback(ctx, host+"/.well-known/nodeinfo", "application/json")
	if err != nil {
		return nil, err
	}
	idx, err := ParseNodeInfoIndex(r.body)
	if err != nil {
		return nil, err
	}
	l, ok := idx.Best()
	if !ok {
		return nil, fmt.Errorf("%w: no NodeInfo schema link", ErrIncompleteDocument)
	}
	u, err := url.Parse(l.Href)
	if err != nil || !strings.EqualFold(u.Hostname(), hostOnly(host)) {
		return nil, fmt.Errorf("%w: NodeInfo link to another host: %s", ErrBlockedURL, truncate(l.Href, 200))
	}
	r, err = c.get(ctx, l.Href, "application/json")
	if err != nil {
		return nil, err
	}
	return ParseNodeInfo(r.body)
}

// NodeInfo2 is a NodeInfo2 document (/.well-known/x-nodeinfo2), the
// variant some federated servers serve besides NodeInfo.
type NodeInfo2 struct {
	// Version is the NodeInfo2 schema version ("1.0").
	Version string
	// Server describes the server: base URL, name, software and version.
	Server struct{ BaseURL, Name, Software, Version string }
	// Organization names who runs the server.
	Organization struct{ Name, Contact, Account string }
	// Protocols are the protocols the server speaks.
	Protocols []string
	// Relay is the relay mode ("", "tags" or "all").
	Relay string
	// Services are the third-party services it connects to.
	Services Services
	// OpenRegistrations tells whether new users may sign up.
	OpenRegistrations bool
	// Usage holds the usage counts; unknown or malformed ones are nil.
	Usage Usage
}

// ParseNodeInfo2 reads a NodeInfo2 document leniently. It requires a JSON
// object with a version and server.baseUrl; otherwise the error wraps
// [ErrInvalidDocument].
func ParseNodeInfo2(data []byte) (*NodeInfo2, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a NodeInfo2 document: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: NodeInfo2 is not a JSON object", ErrInvalidDocument)
	}
	n := &NodeInfo2{}
	n.Version, _ = obj["version"].(string)
	srv, _ := obj["server"].(map[string]any)
	n.Server.BaseURL, _ = srv["baseUrl"].(string)
	n.Server.Name, _ = srv["name"].(string)
	n.Server.Software, _ = srv["software"].(string)
	n.Server.Version, _ = srv["version"].(string)
	if n.Version == "" || n.Server.BaseURL == "" {
		return nil, fmt.Errorf("%w: NodeInfo2 needs version and server.baseUrl", ErrIncompleteDocument)
	}
	org, _ := obj["organization"].(map[string]any)
	n.Organization.Name, _ = org["name"].(string)
	n.Organization.Contact, _ = org["contact"].(string)
	n.Organization.Account, _ = org["account"].(string)
	p, _ := obj["protocols"].([]any)
	n.Protocols = stringList(p)
	n.Relay, _ = obj["relay"].(string)
	if s, ok := obj["services"].(map[string]any); ok {
		in, _ := s["inbound"].([]any)
		out, _ := s["outbound"].([]any)
		n.Services = Services{Inbound: stringList(in), Outbound: stringList(out)}
	}
	n.OpenRegistrations, _ = obj["openRegistrations"].(bool)
	if u, ok := obj["usage"].(map[string]any); ok {
		users, _ := u["users"].(map[string]any)
		n.Usage.Users = UserCounts{Total: count(users["total"]), ActiveHalfyear: count(users["activeHalfyear"]),
			ActiveMonth: count(users["activeMonth"]), ActiveWeek: count(users["activeWeek"])}
		n.Usage.LocalPosts = count(u["localPosts"])
		n.Usage.LocalComments = count(u["localComments"])
	}
	return n, nil
}

// Statistics is the legacy /statistics.json of diaspora* pods before
// NodeInfo (0.5 and earlier).
type Statistics struct {
	// Name is the pod name, Network the software ("Diaspora"), Version
	// its version.
	Name, Network, Version string
	// RegistrationsOpen tells whether new users may sign up.
	RegistrationsOpen bool
	// Services lists the connected services.
	Services []string
	// TotalUsers, ActiveUsersHalfyear, ActiveUsersMonthly, LocalPosts and
	// LocalComments are the counts the pod chose to publish, else nil.
	TotalUsers, ActiveUsersHalfyear, ActiveUsersMonthly, LocalPosts, LocalComments *int64
}

// ParseStatistics reads a legacy statistics.json. It requires a JSON
// object with a name or a version; otherwise the error wraps
// [ErrInvalidDocument].
func ParseStatistics(data []byte) (*Statistics, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("%w: not a statistics document: %v", ErrInvalidDocument, err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: statistics is not a JSON object", ErrInvalidDocument)
	}
	s := &Statistics{}
	s.Name, _ = obj["name"].(string)
	s.Network, _ = obj["network"].(string)
	s.Version, _ = obj["version"].(string)
	if s.Name == "" && s.Version == "" {
		return nil, fmt.Errorf("%w: statistics needs a name or a version", ErrIncompleteDocument)
	}
	s.RegistrationsOpen, _ = obj["registrations_open"].(bool)
	l, _ := obj["services"].([]any)
	s.Services = stringList(l)
	s.TotalUsers = count(obj["total_users"])
	s.ActiveUsersHalfyear = count(obj["active_users_halfyear"])
	s.ActiveUsersMonthly = count(obj["active_users_monthly"])
	s.LocalPosts = count(obj["local_posts"])
	s.LocalComments = count(obj["local_comments"])
	return s, nil
}
