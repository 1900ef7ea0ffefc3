package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

// testCA issues certificates for the tests: the pod's own (--tls-cert)
// and pebble's https endpoint.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pod test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: c, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

func (ca *testCA) pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}

// issue writes a certificate for the names (IP addresses too) and its key
// to certFile and keyFile, and returns its serial number.
func (ca *testCA) issue(t *testing.T, certFile, keyFile string, names ...string) *big.Int {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: names[0]},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
	return serial
}

// writeFile writes data and moves the modification time on, so that a
// rewrite within the file system's clock tick is still seen as a change.
func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	var mod time.Time
	if fi, err := os.Stat(name); err == nil {
		mod = fi.ModTime().Add(time.Second)
	}
	if err := os.WriteFile(name, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if !mod.IsZero() {
		if err := os.Chtimes(name, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
}

// clearPodEnv unsets the variables of the flags these tests give, so that
// a podmin's environment does not change them.
func clearPodEnv(t *testing.T) {
	for _, k := range []string{"POD_ADDR", "POD_URL", "POD_DATA", "POD_DB", "POD_DEV", "POD_TLS_DOMAIN", "POD_TLS_CERT", "POD_TLS_KEY",
		"POD_HTTP_ADDR", "POD_ACME_DIRECTORY", "POD_ACME_CA", "POD_ACME_EMAIL", "POD_ROLE", "POD_ADMIN"} {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
}

// freePort is a loopback port nothing listens on (for a moment).
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// syncBuffer is a log both the pod and the test use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runPod runs the pod's command line in this process.
func runPod(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errOut syncBuffer
	err := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	if err != nil {
		t.Logf("pod %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return strings.TrimSpace(out.String()), err
}

// servePod starts pod serve in this process; the returned function stops
// it and fails the test unless it ends cleanly.
func servePod(t *testing.T, log *syncBuffer, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), io.Discard, log) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("pod serve: %v", err)
			}
		case <-time.After(20 * time.Second):
			t.Errorf("pod serve did not stop\n%s", log.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

// dialTo is an HTTP client that reaches every host at addr, trusting roots.
func dialTo(addr string, roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 20 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			DisableKeepAlives: true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// serverCert is the certificate served at addr for name, verified
// against roots.
func serverCert(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, &tls.Config{ServerName: name, RootCAs: roots})
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// checkWebFinger fetches alice's WebFinger document over https from the
// pod at addr and returns the certificate it came with.
func checkWebFinger(t *testing.T, addr, domain string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	res, err := dialTo(addr, roots).Get("https://" + domain + "/.well-known/webfinger?resource=acct:alice@" + domain)
	if err != nil {
		t.Fatalf("WebFinger over https: %v", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || !strings.Contains(string(body), `"acct:alice@`+domain+`"`) {
		t.Fatalf("WebFinger over https: %s\n%s", res.Status, body)
	}
	if res.TLS == nil || len(res.TLS.VerifiedChains) == 0 {
		t.Fatal("WebFinger came without a verified certificate")
	}
	return res.TLS.PeerCertificates[0]
}

// checkRedirects: plain http at addr sends every request to the https
// URL, with ACME's http-01 challenges left alone when acme is set.
func checkRedirects(t *testing.T, addr, domain string, acme bool) {
	t.Helper()
	c := dialTo(addr, nil)
	for _, method := range []string{"GET", "POST"} {
		req, _ := http.NewRequest(method, "http://"+domain+"/.well-known/webfinger?resource=acct:alice@"+domain, strings.NewReader(""))
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		want := "https://" + domain + "/.well-known/webfinger?resource=acct:alice@" + domain
		if res.StatusCode != http.StatusPermanentRedirect || res.Header.Get("Location") != want {
			t.Errorf("%s over plain http = %s, Location %q; want 308 to %s", method, res.Status, res.Header.Get("Location"), want)
		}
	}
	if !acme {
		return
	}
	res, err := c.Get("http://" + domain + "/.well-known/acme-challenge/no-such-token")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound || !strings.Contains(string(body), "acme/autocert") {
		t.Errorf("an ACME challenge over plain http = %s %q; want autocert's 404, not a redirect", res.Status, body)
	}
}

// TestTLSFlags: the flag combinations refused, and the defaults that
// --tls-domain and --tls-cert imply.
func TestTLSFlags(t *testing.T) {
	clearPodEnv(t)
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certFile, keyFile, "pod.test")
	fails := []struct {
		env  []string
		args []string
		says string
	}{
		{nil, []string{"--tls-domain", "pod.test", "--tls-cert", certFile, "--tls-key", keyFile}, "exclude each other"},
		{[]string{"POD_TLS_DOMAIN=pod.test", "POD_TLS_CERT=" + certFile, "POD_TLS_KEY=" + keyFile}, nil, "exclude each other"},
		{nil, []string{"--tls-domain", "pod.test", "--url", "https://other.test/"}, `--url "https://other.test/" is not on --tls-domain pod.test`},
		{[]string{"POD_URL=https://www.pod.test/"}, []string{"--tls-domain", "pod.test"}, "is not on --tls-domain pod.test"},
		{nil, []string{"--tls-domain", "pod.test", "--url", "http://pod.test/"}, "its public URL is https://HOST/"},
		{nil, []string{"--tls-cert", certFile, "--tls-key", keyFile, "--url", "http://pod.test/"}, "its public URL is https://HOST/"},
		{nil, []string{"--tls-cert", certFile}, "--tls-cert needs --tls-key"},
		{nil, []string{"--tls-key", keyFile}, "--tls-key needs --tls-cert"},
		{nil, []string{"--tls-cert", certFile, "--tls-key", keyFile}, "--tls-cert: set --url"},
		{nil, []string{"--tls-domain", "127.0.0.1"}, "not IP addresses"},
		{nil, []string{"--tls-domain", "pod.test:443"}, "bare domain name"},
		{nil, []string{"--tls-domain", "https://pod.test/"}, "bare domain name"},
		{nil, []string{"--tls-domain", "localhost"}, "has a dot"},
		{nil, []string{"--acme-email", "podmin@pod.test"}, "--acme-email is for --tls-domain"},
		{nil, []string{"--acme-directory", "https://127.0.0.1:14000/dir"}, "--acme-directory is for --tls-domain"},
		{nil, []string{"--http-addr", ":8080"}, "--http-addr redirects to the https"},
	}
	for _, f := range fails {
		for _, kv := range f.env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		_, err := runPod(t, append([]string{"migrate", "--data", dir}, f.args...)...)
		if err == nil || !strings.Contains(err.Error(), f.says) {
			t.Errorf("%v pod %v: %v; want %q", f.env, f.args, err, f.says)
		}
		clearPodEnv(t)
	}
	if _, err := os.Stat(filepath.Join(dir, "pod.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused command opened the store: %v", err)
	}

	// The key file missing: serve stops before listening.
	_, err := runPod(t, "--data", dir, "--tls-cert", certFile, "--tls-key", filepath.Join(dir, "nope.pem"), "--url", "https://pod.test/", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "--tls-key") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve with a missing key file: %v", err)
	}
	// A certificate and key that do not belong together.
	ca.issue(t, filepath.Join(dir, "other.pem"), filepath.Join(dir, "other-key.pem"), "pod.test")
	_, err = runPod(t, "--data", dir, "--tls-cert", certFile, "--tls-key", filepath.Join(dir, "other-key.pem"), "--url", "https://pod.test/", "--addr", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), "private key does not match") {
		t.Errorf("serve with another certificate's key: %v", err)
	}

	defaults := []struct {
		env                 []string
		args                []string
		addr, url, httpAddr string
	}{
		{nil, nil, "localhost:3000", "", ""},
		{[]string{"POD_HTTP_ADDR=off"}, nil, "localhost:3000", "", "off"},
		{nil, []string{"--tls-domain", "Pod.Test"}, ":443", "https://pod.test/", ":80"},
		{nil, []string{"--tls-domain", "pod.test", "--url", "https://POD.test/", "--addr", "127.0.0.1:8443", "--http-addr", "off"}, "127.0.0.1:8443", "https://POD.test/", ""},
		{[]string{"POD_ADDR=:9443", "POD_HTTP_ADDR=:9080"}, []string{"--tls-domain", "pod.test"}, ":9443", "https://pod.test/", ":9080"},
		{nil, []string{"--tls-cert", certFile, "--tls-key", keyFile, "--url", "https://pod.test/"}, ":443", "https://pod.test/", ""},
		{nil, []string{"--tls-cert", certFile, "--tls-key", keyFile, "--addr", "localhost:8443"}, "localhost:8443", "https://localhost:8443/", ""},
		{nil, []string{"--tls-cert", certFile, "--tls-key", keyFile, "--addr", "pod.test:443", "--http-addr", ":8080"}, "pod.test:443", "https://pod.test/", ":8080"},
	}
	for _, d := range defaults {
		for _, kv := range d.env {
			k, v, _ := strings.Cut(kv, "=")
			os.Setenv(k, v)
		}
		var o options
		fs := newFlags(&o, &envReader{})
		if err := fs.Parse(d.args); err != nil {
			t.Fatal(err)
		}
		if err := o.applyTLS(fs); err != nil {
			t.Errorf("%v %v: %v", d.env, d.args, err)
		} else if o.addr != d.addr || o.url != d.url || o.tls.httpAddr != d.httpAddr {
			t.Errorf("%v %v: addr %q url %q http-addr %q; want %q %q %q", d.env, d.args, o.addr, o.url, o.tls.httpAddr, d.addr, d.url, d.httpAddr)
		}
		clearPodEnv(t)
	}
}

// TestTLSRedirect: the plain-http handler sends every request to the
// public https URL with 308, and leaves ACME's http-01 challenges to
// autocert.
func TestTLSRedirect(t *testing.T) {
	for _, c := range []struct{ base, target, want string }{
		{"https://pod.test/", "http://pod.test/people?q=bob%40pod.example", "https://pod.test/people?q=bob%40pod.example"},
		{"https://pod.test/", "http://evil.example/receive/public", "https://pod.test/receive/public"},
		{"https://pod.test:8443/", "http://pod.test:8080/", "https://pod.test:8443/"},
	} {
		base, _ := url.Parse(c.base)
		for _, method := range []string{"GET", "HEAD", "POST"} {
			w := httptest.NewRecorder()
			redirectToHTTPS(base).ServeHTTP(w, httptest.NewRequest(method, c.target, nil))
			if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != c.want {
				t.Errorf("%s %s = %d %q; want 308 to %s", method, c.target, w.Code, w.Header().Get("Location"), c.want)
			}
		}
	}
	base, _ := url.Parse("https://pod.test/")
	m := &autocert.Manager{HostPolicy: autocert.HostWhitelist("pod.test")}
	h := m.HTTPHandler(redirectToHTTPS(base))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://pod.test/.well-known/acme-challenge/token", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("an unknown http-01 token = %d %q; want autocert's 404", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://pod.test/.well-known/host-meta", nil))
	if w.Code != http.StatusPermanentRedirect || w.Header().Get("Location") != "https://pod.test/.well-known/host-meta" {
		t.Errorf("host-meta over plain http = %d %q", w.Code, w.Header().Get("Location"))
	}
}

// TestTLSCertReload: --tls-cert's files are re-read on the first
// handshake after they change; a pair that does not load leaves the
// previous certificate in place.
func TestTLSCertReload(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	s1 := ca.issue(t, certFile, keyFile, "pod.test")
	var log syncBuffer
	cf, err := loadCertFiles(certFile, keyFile, slog.New(slog.NewTextHandler(&log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	serial := func() *big.Int {
		c, err := cf.get(&tls.ClientHelloInfo{ServerName: "pod.test"})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.SerialNumber
	}
	if s := serial(); s.Cmp(s1) != 0 {
		t.Fatalf("serial %v, want %v", s, s1)
	}
	s2 := ca.issue(t, certFile, keyFile, "pod.test")
	if s := serial(); s.Cmp(s2) != 0 {
		t.Fatalf("after a new certificate: serial %v, want %v", s, s2)
	}
	// Half written: the new certificate without its key.
	ca.issue(t, filepath.Join(dir, "c3.pem"), filepath.Join(dir, "k3.pem"), "pod.test")
	c3, _ := os.ReadFile(filepath.Join(dir, "c3.pem"))
	writeFile(t, certFile, c3)
	for range 3 {
		if s := serial(); s.Cmp(s2) != 0 {
			t.Fatalf("after a certificate without its key: serial %v, want the previous %v", s, s2)
		}
	}
	if n := strings.Count(log.String(), "do not load"); n != 1 {
		t.Errorf("the refused pair was logged %d times, want once:\n%s", n, log.String())
	}
	os.Remove(keyFile)
	if s := serial(); s.Cmp(s2) != 0 {
		t.Fatalf("with the key file gone: serial %v, want the previous %v", s, s2)
	}
	k3, _ := os.ReadFile(filepath.Join(dir, "k3.pem"))
	writeFile(t, keyFile, k3)
	if s := serial(); s.Cmp(s2) == 0 {
		t.Fatalf("with the key written: still the previous certificate")
	}
}

// TestTLSCertServe serves a pod with --tls-cert in this process:
// WebFinger over https with that certificate, http redirected, and a new
// certificate in the files served without a restart.
func TestTLSCertServe(t *testing.T) {
	clearPodEnv(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	ca := newTestCA(t)
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	s1 := ca.issue(t, certFile, keyFile, "pod.test")
	if id, err := runPod(t, "user", "add", "alice", "--data", data, "--url", "https://pod.test/", "--password", "correct horse battery", "--key-bits", "2048"); err != nil || id != "alice@pod.test" {
		t.Fatalf("user add = %q, %v", id, err)
	}
	addr, httpAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	var log syncBuffer
	stop := servePod(t, &log, "--data", data, "--tls-cert", certFile, "--tls-key", keyFile, "--url", "https://pod.test/", "--addr", addr, "--http-addr", httpAddr)
	var leaf *x509.Certificate
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if leaf, err = serverCert(addr, "pod.test", ca.pool()); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no https on %s: %v\n%s", addr, err, log.String())
	}
	if leaf.SerialNumber.Cmp(s1) != 0 {
		t.Fatalf("served serial %v, want %v", leaf.SerialNumber, s1)
	}
	if c := checkWebFinger(t, addr, "pod.test", ca.pool()); c.SerialNumber.Cmp(s1) != 0 {
		t.Errorf("WebFinger came with serial %v, want %v", c.SerialNumber, s1)
	}
	checkRedirects(t, httpAddr, "pod.test", false)

	s2 := ca.issue(t, certFile, keyFile, "pod.test")
	if leaf, err = serverCert(addr, "pod.test", ca.pool()); err != nil || leaf.SerialNumber.Cmp(s2) != 0 {
		t.Fatalf("after new files: %v, %v; want serial %v", leaf, err, s2)
	}
	stop()
	if !strings.Contains(log.String(), "certificate re-read") {
		t.Errorf("the new certificate was not logged:\n%s", log.String())
	}
}

// pebbleVersion is the ACME test server the ACME test builds.
const pebbleVersion = "github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.3"

// pebble is a running local ACME server.
type pebble struct {
	dir   string         // its directory URL
	roots *x509.CertPool // the root of the certificates it issues
}

// startPebble builds and starts pebble on loopback, issuing certificates
// valid for validity seconds and validating every challenge without
// looking (PEBBLE_VA_ALWAYS_VALID). Its own https uses a certificate of
// ca. Without go or the network to fetch pebble the test is skipped, or
// fails under POD_REQUIRE_ACME=1 (as in CI).
func startPebble(t *testing.T, ca *testCA, validity int) *pebble {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		msg := fmt.Sprintf(format, args...)
		if os.Getenv("POD_REQUIRE_ACME") == "1" {
			t.Fatalf("POD_REQUIRE_ACME=1: %s", msg)
		}
		t.Skip(msg)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		missing("no go command to build pebble, the local ACME server, with (%v)", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	// Built outside this module (go install PKG@VERSION), so go.mod stays
	// as it is; the build cache makes it quick after the first time.
	build := exec.CommandContext(ctx, goCmd, "install", pebbleVersion)
	build.Dir = dir
	build.Env = append(os.Environ(), "GOBIN="+dir, "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := build.CombinedOutput(); err != nil {
		missing("cannot build pebble, the local ACME server (go install %s needs the network or the module proxy to fetch it): %v\n%s", pebbleVersion, err, out)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	ca.issue(t, certFile, keyFile, "127.0.0.1", "localhost")
	listen, mgmt := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	var cfg struct {
		Pebble map[string]any `json:"pebble"`
	}
	cfg.Pebble = map[string]any{
		"listenAddress":           listen,
		"managementListenAddress": mgmt,
		"certificate":             certFile,
		"privateKey":              keyFile,
		"httpPort":                5002, // not used: PEBBLE_VA_ALWAYS_VALID
		"tlsPort":                 5001,
		"ocspResponderURL":        "",
		"retryAfter":              map[string]int{"authz": 1, "order": 1},
		"keyAlgorithm":            "ecdsa",
		"profiles": map[string]any{
			"default": map[string]any{"description": "short-lived, for the renewal test", "validityPeriod": validity},
		},
	}
	cfgJSON, _ := json.Marshal(cfg)
	cfgFile := filepath.Join(dir, "pebble.json")
	writeFile(t, cfgFile, cfgJSON)

	var out syncBuffer
	cmd := exec.Command(filepath.Join(dir, "pebble"), "-config", cfgFile)
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("pebble's log:\n%s", out.String())
		}
	})

	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.pool()}}}
	get := func(u string) ([]byte, error) {
		res, err := c.Get(u)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err == nil && res.StatusCode != 200 {
			err = fmt.Errorf("%s: %s", u, res.Status)
		}
		return b, err
	}
	p := &pebble{dir: "https://" + listen + "/dir"}
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		select {
		case <-exited:
			t.Fatalf("pebble exited:\n%s", out.String())
		default:
		}
		_, err1 := get(p.dir)
		root, err2 := get("https://" + mgmt + "/roots/0")
		if err1 == nil && err2 == nil {
			p.roots = x509.NewCertPool()
			if !p.roots.AppendCertsFromPEM(root) {
				t.Fatalf("pebble's root is not PEM: %q", root)
			}
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("pebble does not answer: %v, %v\n%s", err1, err2, out.String())
		}
	}
}

// TestACMEPebble serves a pod with --tls-domain against pebble, a local
// ACME server: the pod obtains a certificate for pod.test from it, serves
// WebFinger with it, redirects plain http (but not ACME's challenges), and
// renews the certificate before it expires.
func TestACMEPebble(t *testing.T) {
	clearPodEnv(t)
	ca := newTestCA(t)
	// Certificates valid 30 s, renewed 25 s before they expire: a new one
	// every 4 to 6.5 s (autocert adds up to a tenth of RenewBefore).
	pb := startPebble(t, ca, 30)
	acmeRenewBefore = 25 * time.Second
	t.Cleanup(func() { acmeRenewBefore = 0 })

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	caFile := filepath.Join(dir, "pebble-https-ca.pem")
	writeFile(t, caFile, ca.pem)
	if id, err := runPod(t, "user", "add", "alice", "--data", data, "--tls-domain", "pod.test", "--password", "correct horse battery", "--key-bits", "2048"); err != nil || id != "alice@pod.test" {
		t.Fatalf("user add = %q, %v", id, err)
	}
	addr, httpAddr := "127.0.0.1:"+freePort(t), "127.0.0.1:"+freePort(t)
	var log syncBuffer
	start := time.Now()
	stop := servePod(t, &log, "--data", data, "--tls-domain", "pod.test", "--addr", addr, "--http-addr", httpAddr,
		"--acme-directory", pb.dir, "--acme-ca", caFile, "--acme-email", "podmin@pod.test")

	var first *x509.Certificate
	var err error
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if first, err = serverCert(addr, "pod.test", pb.roots); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("no certificate from pebble: %v\n%s", err, log.String())
	}
	t.Logf("certificate %x from pebble after %v, valid until %v", first.SerialNumber, time.Since(start).Round(time.Millisecond), first.NotAfter)
	if err := first.VerifyHostname("pod.test"); err != nil {
		t.Error(err)
	}
	if fi, err := os.Stat(filepath.Join(data, "acme")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the ACME cache: %v, %v; want a directory of mode 0700", fi, err)
	}
	// autocert hands the certificate to every waiting handshake before the
	// caller that obtained it (the pod's start-up request) writes it to the
	// cache, so the file may appear a moment after the first handshake.
	var cacheErr error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, cacheErr = os.Stat(filepath.Join(data, "acme", "pod.test")); cacheErr == nil {
			break
		}
	}
	if cacheErr != nil {
		t.Errorf("the certificate is not in the cache: %v", cacheErr)
	}

	checkWebFinger(t, addr, "pod.test", pb.roots)
	checkRedirects(t, httpAddr, "pod.test", true)

	// Renewal: a certificate with another serial number, from pebble too.
	var renewed *x509.Certificate
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, err := serverCert(addr, "pod.test", pb.roots)
		if err != nil {
			t.Fatalf("https during renewal: %v\n%s", err, log.String())
		}
		if c.SerialNumber.Cmp(first.SerialNumber) != 0 {
			renewed = c
			break
		}
	}
	if renewed == nil {
		t.Fatalf("the certificate %x was not renewed\n%s", first.SerialNumber, log.String())
	}
	t.Logf("renewed: %x, valid until %v", renewed.SerialNumber, renewed.NotAfter)
	if renewed.NotAfter.Before(first.NotAfter) {
		t.Errorf("the renewed certificate expires %v, before the first one (%v)", renewed.NotAfter, first.NotAfter)
	}
	checkWebFinger(t, addr, "pod.test", pb.roots)
	stop()
	if n := strings.Count(log.String(), "certificate stored"); n < 2 {
		t.Errorf("%d certificates stored, want the first and a renewal:\n%s", n, log.String())
	}
}
