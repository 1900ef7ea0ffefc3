package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// cleanEnv removes the POD_ variables of the test's environment for the
// length of the test (restored afterwards), so that only what a test
// sets counts.
func cleanEnv(t *testing.T) {
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "POD_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
}

func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "pod.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// parseConfig parses args as run does and applies the config file.
func parseConfig(t *testing.T, args ...string) (options, *configState, error) {
	t.Helper()
	var o options
	var env envReader
	fs := newFlags(&o, &env)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(env.errs...); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(fs, o.configFile)
	return o, c, err
}

// TestConfigPrecedence: command line > environment > config file >
// default, for every kind of flag, the file named by --config or by
// POD_CONFIG.
func TestConfigPrecedence(t *testing.T) {
	cleanEnv(t)
	path := writeConfig(t, `# a pod
addr = "127.0.0.1:4000"
pod-name = "From the file"
key-bits = 3072
invitations = 7
dev = true
retry-base = "45s"
trust-proxy = ["10.0.0.0/8", "fd00::/8"]
admin = "root"
"registrations" = 'closed'
`)
	t.Setenv("POD_NAME", "From the environment")
	t.Setenv("POD_INVITATIONS", "9")
	o, c, err := parseConfig(t, "--config", path, "--key-bits", "2048", "--invitations", "11")
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:4000" || !o.dev || o.retryBase != 45*time.Second || o.admin.name() != "root" || o.registrations != "closed" {
		t.Errorf("file values: addr %q dev %v retry-base %v admin %q registrations %q", o.addr, o.dev, o.retryBase, o.admin.name(), o.registrations)
	}
	if got := o.trustProxy.String(); got != "10.0.0.0/8,fd00::/8" {
		t.Errorf("trust-proxy %q", got)
	}
	if o.podName != "From the environment" || o.keyBits != 2048 || o.invitations != 11 {
		t.Errorf("pod-name %q (env over file), key-bits %d (flag over file), invitations %d (flag over env over file)", o.podName, o.keyBits, o.invitations)
	}
	if o.data != "pod-data" || o.maxInbox != 10000 {
		t.Errorf("defaults: data %q, max-inbox %d", o.data, o.maxInbox)
	}
	for name, want := range map[string]string{"addr": sourceFile, "trust-proxy": sourceFile, "pod-name": sourceEnv, "key-bits": sourceFlag,
		"invitations": sourceFlag, "config": sourceFlag, "data": sourceDefault, "retry-base": sourceFile} {
		if got := c.sources[name]; got != want {
			t.Errorf("source of %s = %q, want %q", name, got, want)
		}
	}

	// POD_CONFIG names the file; an environment list beats the file's,
	// and a --trust-proxy on the command line replaces the environment's.
	t.Setenv("POD_CONFIG", path)
	t.Setenv("POD_TRUST_PROXY", "192.0.2.1")
	o, c, err = parseConfig(t)
	if err != nil {
		t.Fatal(err)
	}
	if o.addr != "127.0.0.1:4000" || o.trustProxy.String() != "192.0.2.1/32" || c.sources["config"] != sourceEnv {
		t.Errorf("POD_CONFIG: addr %q, trust-proxy %q, config from %s", o.addr, o.trustProxy.String(), c.sources["config"])
	}
	o, _, err = parseConfig(t, "--trust-proxy", "10.1.0.0/16,10.2.0.0/16", "--trust-proxy", "2001:db8::/32")
	if err != nil {
		t.Fatal(err)
	}
	if got := o.trustProxy.String(); got != "10.1.0.0/16,10.2.0.0/16,2001:db8::/32" {
		t.Errorf("--trust-proxy twice over POD_TRUST_PROXY = %q", got)
	}
	// One string is a list of one.
	os.Unsetenv("POD_TRUST_PROXY")
	// An empty array is no proxy.
	o, _, err = parseConfig(t, "--config", writeConfig(t, "trust-proxy = []\n"))
	if err != nil || o.trustProxy.String() != "" {
		t.Errorf("trust-proxy = [] gives %q, %v", o.trustProxy.String(), err)
	}
	o, _, err = parseConfig(t, "--config", writeConfig(t, `trust-proxy = "172.16.0.0/12"`))
	if err != nil || o.trustProxy.String() != "172.16.0.0/12" {
		t.Errorf("trust-proxy as one string = %q, %v", o.trustProxy.String(), err)
	}
}

// TestConfigErrors: an unknown key, a table, a wrong type or a bad value
// is an error with its line; every error of the file is reported.
func TestConfigErrors(t *testing.T) {
	cleanEnv(t)
	path := writeConfig(t, `addr = "localhost:3000"

adr = "typo"
key-bits = "4096"
dev = "yes"
trust-proxy = ["10.0.0.0/8", 1]
retry-base = 30
pod-name = 7
config = "other.toml"
tls.domain = "pod.example"
invitations = 2.5
registrations = ["open"]
trust-proxy-x = true
`)
	_, _, err := parseConfig(t, "--config", path)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`line 3: unknown key "adr"`,
		`line 4: key-bits takes a whole number, not a string`,
		`line 5: dev takes true or false, not a string`,
		`line 6: trust-proxy takes an array of strings, and one element is an integer`,
		`line 7: retry-base takes a duration as a string ("30s", "2m"), not an integer`,
		`line 8: pod-name takes a string, not an integer`,
		`line 9: unknown key "config"`,
		`line 10: unknown key "tls.domain"`,
		`line 11: invitations takes a whole number, not a float`,
		`line 12: registrations takes a string, not an array`,
		`line 13: unknown key "trust-proxy-x"`,
	} {
		if !strings.Contains(err.Error(), "config "+path+" "+want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "line 1:") {
		t.Errorf("a good line is reported:\n%v", err)
	}

	for text, want := range map[string]string{
		"addr = \"a\"\n[pod]\ndev = true\n":      `line 2: [pod]: the configuration has no tables`,
		"dev = true\ndev = false\n":              `line 2:`,
		"addr = \"unterminated\n":                `line 1:`,
		"retry-base = \"soon\"\n":                `line 1: retry-base = "soon" is not a duration`,
		"trust-proxy = [\"10.0.0.0/33\"]\n":      `line 1: trust-proxy = "10.0.0.0/33": "10.0.0.0/33" is not a CIDR prefix`,
		"\n\n[[servers]]\nname = \"x\"\n":        `line 3: [servers]: the configuration has no tables`,
		"# only a comment\n\nmax-inbox = -1.0\n": `line 3: max-inbox takes a whole number, not a float`,
	} {
		_, _, err := parseConfig(t, "--config", writeConfig(t, text))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", text, err, want)
		}
	}
	if _, _, err := parseConfig(t, "--config", filepath.Join(t.TempDir(), "missing.toml")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("a missing file: %v", err)
	}
	// A wrong type is an error also where a flag or the environment
	// overrides the key.
	t.Setenv("POD_DEV", "1")
	if _, _, err := parseConfig(t, "--config", writeConfig(t, "dev = \"yes\"\nkey-bits = \"2048\"\n"), "--key-bits", "2048"); err == nil ||
		!strings.Contains(err.Error(), "line 1: dev takes") || !strings.Contains(err.Error(), "line 2: key-bits takes") {
		t.Errorf("overridden keys of the wrong type: %v", err)
	}
}

// TestConfigCheck: pod config check prints the configuration in effect as
// TOML, one flag a line with its source, secrets masked, and what it
// prints is a config file that loads to the same values.
func TestConfigCheck(t *testing.T) {
	cleanEnv(t)
	path := writeConfig(t, `addr = "127.0.0.1:4000"
password = "hunter2"
dev = true
trust-proxy = ["10.0.0.0/8", "2001:db8::/32"]
pod-name = "Say \"hi\"\tthere"
retry-base = "1m30s"
`)
	t.Setenv("POD_MAX_INBOX", "500")
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"config", "check", "--config", path, "--db", "postgres://pod:s3cret@db.example/pod?sslmode=disable&password=other"},
		strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Fatalf("config check: %v\n%s", err, errOut.String())
	}
	text := out.String()
	for _, s := range []string{"hunter2", "s3cret", "other"} {
		if strings.Contains(text, s) {
			t.Errorf("the secret %q is printed:\n%s", s, text)
		}
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if want := "# the pod's configuration in effect; precedence: flag > env > file > default"; lines[0] != want {
		t.Errorf("first line %q, want %q", lines[0], want)
	}
	if want := "# config file: " + path; lines[1] != want {
		t.Errorf("second line %q, want %q", lines[1], want)
	}
	got := map[string]string{}
	keyLine := regexp.MustCompile(`^([a-z0-9-]+) = (.+) # (flag|env POD_[A-Z0-9_]+|file|default)$`)
	for _, l := range lines[2:] {
		m := keyLine.FindStringSubmatch(l)
		if m == nil {
			t.Errorf("line %q is not NAME = VALUE # SOURCE", l)
			continue
		}
		got[m[1]] = l
	}
	for _, want := range []string{
		`addr = "127.0.0.1:4000" # file`,
		`password = "********" # file`,
		`db = "postgres://pod:********@db.example/pod?password=********&sslmode=disable" # flag`,
		`dev = true # file`,
		`trust-proxy = ["10.0.0.0/8", "2001:db8::/32"] # file`,
		`pod-name = "Say \"hi\"\u0009there" # file`,
		`retry-base = "1m30s" # file`,
		`max-inbox = 500 # env POD_MAX_INBOX`,
		`data = "pod-data" # default`,
		`key-bits = 4096 # default`,
		`receive-per-addr = 8 # default`,
		`admin = "" # default`,
		`remove = false # default`,
		`registrations = "" # default`,
	} {
		name, _, _ := strings.Cut(want, " ")
		if got[name] != want {
			t.Errorf("config check prints %q, want %q", got[name], want)
		}
	}
	if _, ok := got["config"]; ok {
		t.Error("config check prints a config key, which a file cannot hold")
	}

	// What it prints loads back (the masked secrets aside) to the same.
	again := writeConfig(t, text)
	o, c, err := parseConfig(t, "--config", again)
	if err != nil {
		t.Fatalf("config check's output does not load: %v\n%s", err, text)
	}
	if o.addr != "127.0.0.1:4000" || o.podName != "Say \"hi\"\tthere" || o.retryBase != 90*time.Second || o.trustProxy.String() != "10.0.0.0/8,2001:db8::/32" {
		t.Errorf("reloaded: addr %q pod-name %q retry-base %v trust-proxy %q", o.addr, o.podName, o.retryBase, o.trustProxy.String())
	}
	if c.sources["max-inbox"] != sourceEnv || o.maxInbox != 500 {
		t.Errorf("reloaded max-inbox %d from %s", o.maxInbox, c.sources["max-inbox"])
	}

	// Without a file: no file line, and a bad value is refused.
	out.Reset()
	if err := run(context.Background(), []string{"config", "check"}, strings.NewReader(""), &out, &errOut); err != nil || !strings.Contains(out.String(), "# config file: none\n") {
		t.Errorf("config check without a file: %v\n%s", err, out.String())
	}
	// A trusted proxy range that takes in the public Internet is
	// accepted, with a warning.
	out.Reset()
	errOut.Reset()
	if err := run(context.Background(), []string{"config", "check", "--trust-proxy", "10.0.0.0/8,0.0.0.0/0"}, strings.NewReader(""), &out, &errOut); err != nil ||
		!strings.Contains(errOut.String(), "warning: trust-proxy 0.0.0.0/0 is a wide public range") || strings.Contains(errOut.String(), "10.0.0.0/8") {
		t.Errorf("config check --trust-proxy 0.0.0.0/0: %v, stderr %q", err, errOut.String())
	}
	for _, args := range [][]string{{"--role", "janitor"}, {"--registrations", "sometimes"}, {"--url", "ftp://pod.example/"}, {"--db", "mysql://pod"}} {
		if err := run(context.Background(), append([]string{"config", "check"}, args...), strings.NewReader(""), io.Discard, io.Discard); err == nil {
			t.Errorf("config check %v: no error", args)
		}
	}
	if err := run(context.Background(), []string{"config", "check", "--config", writeConfig(t, "adr = 1\n")}, strings.NewReader(""), io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `line 1: unknown key "adr"`) {
		t.Errorf("config check of a bad file: %v", err)
	}
}

// TestServeConfigFile: serve takes its address, data directory, name and
// trusted proxies from the file, answers /healthz and /readyz, and logs
// the client address a trusted proxy forwarded.
func TestServeConfigFile(t *testing.T) {
	cleanEnv(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	path := writeConfig(t, `addr = "`+addr+`"
data = "`+filepath.Join(t.TempDir(), "data")+`"
dev = true
pod-name = "Configured Pod"
trust-proxy = ["127.0.0.0/8", "::1"]
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"serve", "--config", path}, strings.NewReader(""), io.Discard, logs) }()
	base := "http://" + addr
	get := func(path string, hdr ...string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if st, _ := get("/healthz"); st == http.StatusOK {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /healthz on %s within 30 s\n%s", addr, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st, body := get("/readyz"); st != http.StatusOK || body != "ok\n" {
		t.Errorf("/readyz = %d %q", st, body)
	}
	if st, body := get("/"); st != http.StatusOK || !strings.Contains(body, "Configured Pod") {
		t.Errorf("the front page (%d) does not name the pod of the file", st)
	}
	req, _ := http.NewRequest("POST", base+"/receive/users/no-such-guid", strings.NewReader("x"))
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 127.0.0.2")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("receive for nobody: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if !strings.Contains(logs.String(), "remote_host=203.0.113.7:0") {
		t.Errorf("the receive log does not name the forwarded client:\n%s", logs.String())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestFrontHandlerWorker: what a worker serves (frontHandler around
// nothing) is /healthz and /readyz, and 404 for the rest.
func TestFrontHandlerWorker(t *testing.T) {
	cleanEnv(t)
	o, _, err := parseConfig(t, "--data", t.TempDir(), "--dev", "--key-bits", "2048", "--trust-proxy", "10.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	p, err := pod.NewPod(context.Background(), o.config(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	h := frontHandler(p, o, http.NotFoundHandler())
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/": 404, "/receive/public": 404, "/users/sign_in": 404} {
		r := httptest.NewRequest("GET", path, nil)
		r.RemoteAddr = "10.0.0.1:5000"
		r.Header.Set("X-Forwarded-For", "203.0.113.7")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("worker GET %s = %d, want %d", path, w.Code, want)
		}
	}
}
