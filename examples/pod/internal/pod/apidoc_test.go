package pod

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The JSON API's documentation, docs/api.md, is one session on a pod at
// pod.example: its ```http blocks are requests, each followed by the
// response. TestAPIDoc walks them in order against a running pod (and a
// second pod for remote.example) so that the document stays true:
// every status must match, every JSON response must have the documented
// members with the documented values. GUIDs and tokens in the document
// stand for whatever the pod answers the first time they appear and
// must then stay the same; timestamps only need their format.
//
// POD_API_DOC_RECORD=FILE writes the document with the responses the pod
// gave to FILE, for a person to review when the API changes.

const apiDocPath = "../../../../docs/api.md"

// docExchange is one request of the document with its response.
type docExchange struct {
	line           int // of the request block, for messages
	method, target string
	header         http.Header
	body           string
	status         int
	respBody       string
	respStart      int // byte offsets of the response block's inside in the document
	respEnd        int
}

var (
	docRequestLine  = regexp.MustCompile(`^(GET|POST|PUT|DELETE|PATCH) (/\S*)$`)
	docResponseLine = regexp.MustCompile(`^HTTP/1\.1 (\d{3})( .*)?$`)
	docGUID         = regexp.MustCompile(`^[0-9a-f]{32}$`)
	docToken        = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	docTime         = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
)

// parseAPIDoc reads the ```http blocks of the document.
func parseAPIDoc(doc string) ([]*docExchange, error) {
	var out []*docExchange
	off := 0
	lines := strings.SplitAfter(doc, "\n")
	for i := 0; i < len(lines); i++ {
		off += len(lines[i])
		if strings.TrimSpace(lines[i]) != "```http" {
			continue
		}
		var block []string
		blockStart := off
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(lines[j]) != "```"; j++ {
			block = append(block, strings.TrimRight(lines[j], "\n"))
			off += len(lines[j])
		}
		if j == len(lines) {
			return nil, fmt.Errorf("line %d: unterminated http block", i+1)
		}
		blockEnd := off
		off += len(lines[j])
		if len(block) == 0 {
			return nil, fmt.Errorf("line %d: empty http block", i+1)
		}
		head, body := splitDocBlock(block[1:])
		if m := docRequestLine.FindStringSubmatch(block[0]); m != nil {
			x := &docExchange{line: i + 1, method: m[1], target: m[2], header: http.Header{}, body: body}
			for _, h := range head {
				k, v, ok := strings.Cut(h, ":")
				if !ok {
					return nil, fmt.Errorf("line %d: bad header %q", i+1, h)
				}
				x.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
			out = append(out, x)
		} else if m := docResponseLine.FindStringSubmatch(block[0]); m != nil {
			if len(out) == 0 || out[len(out)-1].status != 0 {
				return nil, fmt.Errorf("line %d: a response without its request", i+1)
			}
			x := out[len(out)-1]
			x.status, _ = strconv.Atoi(m[1])
			x.respBody = body
			x.respStart, x.respEnd = blockStart, blockEnd
		} else {
			return nil, fmt.Errorf("line %d: an http block starts with neither a request nor a status line: %q", i+1, block[0])
		}
		i = j
	}
	for _, x := range out {
		if x.status == 0 {
			return nil, fmt.Errorf("line %d: %s %s has no response block", x.line, x.method, x.target)
		}
	}
	return out, nil
}

// splitDocBlock splits header lines from the body at the first blank line.
func splitDocBlock(lines []string) (head []string, body string) {
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			return lines[:i], strings.TrimSpace(strings.Join(lines[i+1:], "\n"))
		}
	}
	return lines, ""
}

// docWalker runs the exchanges, keeping what the document's values stand for.
type docWalker struct {
	t      *testing.T
	fixed  [][2]string       // the document's hosts and people, replaced in everything
	bound  map[string]string // document GUID or token -> the pod's
	record map[*docExchange]string
}

// subst puts the pod's values in place of the document's.
func (w *docWalker) subst(s string) string {
	pairs := append([][2]string(nil), w.fixed...)
	for k, v := range w.bound {
		pairs = append(pairs, [2]string{k, v})
	}
	sort.SliceStable(pairs, func(i, j int) bool { return len(pairs[i][0]) > len(pairs[j][0]) })
	var args []string
	for _, p := range pairs {
		args = append(args, p[0], p[1])
	}
	return strings.NewReplacer(args...).Replace(s)
}

// unsubst puts the document's values back, for recording.
func (w *docWalker) unsubst(s string) string {
	var args []string
	for k, v := range w.bound {
		args = append(args, v, k)
	}
	for _, p := range w.fixed {
		args = append(args, p[1], p[0])
	}
	return strings.NewReplacer(args...).Replace(s)
}

// match compares a documented JSON value with the pod's answer.
func (w *docWalker) match(doc, got any, at string) []string {
	switch d := doc.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: documented an object, got %v", at, got)}
		}
		var errs []string
		for k := range d {
			if _, ok := g[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: documented but not in the answer", at, k))
			}
		}
		for k := range g {
			if _, ok := d[k]; !ok {
				errs = append(errs, fmt.Sprintf("%s.%s: in the answer but not documented (value %v)", at, k, g[k]))
			}
		}
		keys := make([]string, 0, len(d))
		for k := range d {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if gv, ok := g[k]; ok {
				errs = append(errs, w.match(d[k], gv, at+"."+k)...)
			}
		}
		return errs
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(d) {
			return []string{fmt.Sprintf("%s: documented %d elements, got %v", at, len(d), got)}
		}
		var errs []string
		for i := range d {
			errs = append(errs, w.match(d[i], g[i], fmt.Sprintf("%s[%d]", at, i))...)
		}
		return errs
	case string:
		g, ok := got.(string)
		if !ok {
			return []string{fmt.Sprintf("%s: documented %q, got %v", at, d, got)}
		}
		if v, ok := w.bound[d]; ok {
			if v != g {
				return []string{fmt.Sprintf("%s: documented %q, which stood for %q before, got %q", at, d, v, g)}
			}
			return nil
		}
		switch {
		case docTime.MatchString(d) && docTime.MatchString(g):
			return nil
		case (docGUID.MatchString(d) && docGUID.MatchString(g)) || (docToken.MatchString(d) && docToken.MatchString(g)):
			w.bound[d] = g
			return nil
		case w.subst(d) != g:
			return []string{fmt.Sprintf("%s: documented %q, got %q", at, d, g)}
		}
		return nil
	default:
		if fmt.Sprint(doc) != fmt.Sprint(got) {
			return []string{fmt.Sprintf("%s: documented %v, got %v", at, doc, got)}
		}
		return nil
	}
}

// run sends one exchange's request and checks the answer.
func (w *docWalker) run(base string, x *docExchange) {
	t := w.t
	var body io.Reader
	if x.body != "" {
		body = strings.NewReader(w.subst(x.body))
	}
	req, err := http.NewRequest(x.method, strings.TrimSuffix(base, "/")+w.subst(x.target), body)
	if err != nil {
		t.Fatalf("line %d: %v", x.line, err)
	}
	for k, vs := range x.header {
		for _, v := range vs {
			req.Header.Add(k, w.subst(v))
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("line %d: %v", x.line, err)
	}
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	where := fmt.Sprintf("docs/api.md line %d, %s %s", x.line, x.method, x.target)
	defer w.recordAnswer(x, resp.StatusCode, data) // after the comparison has bound the document's values
	w.check(x, where, resp, data)
}

// recordAnswer keeps the answer to an exchange in the document's terms.
func (w *docWalker) recordAnswer(x *docExchange, status int, data []byte) {
	if w.record != nil {
		var v any
		if len(data) > 0 && json.Unmarshal(data, &v) == nil {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			enc.Encode(v)
			w.record[x] = fmt.Sprintf("%d|%s", status, w.unsubst(buf.String()))
		} else {
			w.record[x] = fmt.Sprintf("%d|", status)
		}
	}
}

// check compares the answer to an exchange with the document.
func (w *docWalker) check(x *docExchange, where string, resp *http.Response, data []byte) {
	t := w.t
	if resp.StatusCode != x.status {
		t.Errorf("%s: status %d, documented %d (answer %s)", where, resp.StatusCode, x.status, data)
		return
	}
	if x.respBody == "" {
		if len(bytes.TrimSpace(data)) != 0 {
			t.Errorf("%s: documented no body, got %s", where, data)
		}
		return
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type %q, want JSON", where, ct)
	}
	var doc, got any
	if err := json.Unmarshal([]byte(x.respBody), &doc); err != nil {
		t.Fatalf("%s: the documented response is not JSON: %v", where, err)
	}
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s: the answer is not JSON: %v: %s", where, err, data)
	}
	for _, e := range w.match(doc, got, "$") {
		t.Errorf("%s: %s", where, e)
	}
}

// TestAPIDoc walks docs/api.md against a pod (pod.example, with alice and
// carol) and a second pod (remote.example, with bob).
func TestAPIDoc(t *testing.T) {
	raw, err := os.ReadFile(apiDocPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	xs, err := parseAPIDoc(doc)
	if err != nil {
		t.Fatal(err)
	}
	if len(xs) < 30 {
		t.Fatalf("docs/api.md has %d examples; every route should have one", len(xs))
	}
	a, b := startPod(t), startPod(t)
	// The document's people: created before its session starts, with the
	// passwords it uses.
	for _, u := range []struct {
		p        *testPod
		name, pw string
	}{{a, "alice", "correct horse battery"}, {a, "carol", "carol's long password"}, {b, "bob", "bob's long password"}} {
		if _, err := u.p.AddUser(t.Context(), u.name, u.pw); err != nil {
			t.Fatal(err)
		}
	}
	w := &docWalker{t: t, bound: map[string]string{}, fixed: [][2]string{
		{"https://pod.example/", a.URL}, {"https://remote.example/", b.URL},
		{"pod.example", a.Host}, {"remote.example", b.Host},
	}}
	record := os.Getenv("POD_API_DOC_RECORD")
	if record != "" {
		w.record = map[*docExchange]string{}
	}
	for _, x := range xs {
		w.run(a.URL, x)
	}

	// Every route of the API is documented.
	routes := apiRoutes(t)
	for _, r := range routes {
		if !slices.ContainsFunc(xs, func(x *docExchange) bool { return routeMatches(r, x.method, x.target) }) {
			t.Errorf("route %s has no example in docs/api.md", r)
		}
	}

	if record != "" {
		var out strings.Builder
		last := 0
		for _, x := range xs {
			status, body, _ := strings.Cut(w.record[x], "|")
			code, _ := strconv.Atoi(status)
			out.WriteString(doc[last:x.respStart])
			fmt.Fprintf(&out, "HTTP/1.1 %d %s\n", code, http.StatusText(code))
			if body != "" {
				out.WriteString("Content-Type: application/json\n\n" + body)
			}
			last = x.respEnd
		}
		out.WriteString(doc[last:])
		if err := os.WriteFile(record, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded the answers in %s", filepath.Clean(record))
	}
}

// apiRoutes lists the API's routes as registered ("METHOD /api/...").
func apiRoutes(t *testing.T) []string {
	src, err := os.ReadFile("api.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`mux\.HandleFunc\("((?:GET|POST|PUT|DELETE) /api/[^"]*)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, m[1])
	}
	if len(out) < 30 {
		t.Fatalf("found %d API routes in api.go", len(out))
	}
	return out
}

// routeMatches reports whether a documented request is for a route.
func routeMatches(route, method, target string) bool {
	m, pattern, _ := strings.Cut(route, " ")
	if m != method {
		return false
	}
	path, _, _ := strings.Cut(target, "?")
	ps, ts := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(ts) {
		return false
	}
	for i := range ps {
		if !strings.HasPrefix(ps[i], "{") && ps[i] != ts[i] {
			return false
		}
	}
	return true
}
