//go:build linux

package deploy

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
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// nginxMissing is the message of the skip (or, under POD_REQUIRE_NGINX=1,
// the failure) of a test that finds no nginx.
const nginxMissing = "the deployment test needs nginx: install Debian's nginx package (apt-get install nginx)"

// findNginx returns the nginx binary: nginx on PATH, else /usr/sbin/nginx
// (Debian's, which a user's PATH may lack).
func findNginx(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	if st, err := os.Stat("/usr/sbin/nginx"); err == nil && st.Mode()&0o111 != 0 {
		return "/usr/sbin/nginx"
	}
	if os.Getenv("POD_REQUIRE_NGINX") == "1" {
		t.Fatal(nginxMissing)
	}
	t.Skip(nginxMissing)
	return ""
}

// TestDeployNginx runs the deployment of docs/deploy.md on loopback: two
// pods, each configured by pod.env and behind its own copy of nginx.conf
// (one nginx process serves both sites), with a certificate of a test CA
// that the pods trust through SSL_CERT_FILE. Then, all through nginx:
//
//   - the site redirects http to https, answers with the pod's security
//     headers once each plus HSTS, and passes bodies up to the pod's 1 MiB
//     and no larger; /healthz and /readyz answer 200;
//   - alice (pod A) and bob (pod B) share with each other, bob posts
//     publicly, alice comments, alice writes bob a private message and bob
//     answers; each arrives, and nginx's access log shows the deliveries;
//   - a client that forges X-Forwarded-For does not change the address the
//     pod throttles sign-ins by, while a client with another real address
//     (127.0.0.2) is told apart: nginx replaces the header, and the pod,
//     trusting 127.0.0.1 (POD_TRUST_PROXY), takes the address from it.
//
// The pods' IDs are alice@localhost:PORT and bob@localhost:PORT, PORT
// being the nginx port of each pod, so the test runs the pods with
// POD_DEV=1: without it a pod talks only to port 443 of public addresses.
// Everything else is pod.env's configuration; the pods reach each other
// over https only (their URLs), so every federation request crosses nginx
// and is checked against the test CA.
func TestDeployNginx(t *testing.T) {
	nginxBin := findNginx(t)
	bin := podBinary(t)
	dir := nginxDir(t)
	ca := newTestCA(t, dir, "localhost")

	ports := freePorts(t, 6)
	a := &deployedPod{name: "A", addr: addrOf(ports[0]), httpsPort: ports[1], httpPort: ports[2]}
	b := &deployedPod{name: "B", addr: addrOf(ports[3]), httpsPort: ports[4], httpPort: ports[5]}
	tmpl := readFile(t, "nginx.conf")
	for _, p := range []*deployedPod{a, b} {
		p.url = fmt.Sprintf("https://localhost:%d/", p.httpsPort)
		site := renderSite(t, tmpl, "localhost", ca.certFile, ca.keyFile, p.httpsPort, p.httpPort, p.addr)
		writeFile(t, filepath.Join(dir, "pod-"+p.name+".conf"), site)
	}
	ng := startNginx(t, nginxBin, dir, []string{"pod-A.conf", "pod-B.conf"}, []int{a.httpsPort, a.httpPort, b.httpsPort, b.httpPort})

	env, _ := envFile(t, "pod.env")
	alice := a.start(t, bin, env, ca, "alice")
	bob := b.start(t, bin, env, ca, "bob")
	client := ca.client(nil)
	aliceTok := a.signIn(t, client, "alice")
	bobTok := b.signIn(t, client, "bob")

	t.Run("site", func(t *testing.T) {
		// http → https, for the same path and query.
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 10 * time.Second}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/users/sign_in?next=%%2Fstream", a.httpPort), nil)
		req.Host = "localhost"
		resp := do(t, noFollow, req)
		if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusMovedPermanently || loc != "https://localhost/users/sign_in?next=%2Fstream" {
			t.Errorf("http GET = %d to %q, want 301 to https://localhost/users/sign_in?next=%%2Fstream", resp.StatusCode, loc)
		}
		// The pod's security headers once each, HSTS from nginx, no version.
		resp = do(t, client, mustRequest(t, "GET", a.url+"users/sign_in", nil))
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /users/sign_in through nginx = %d", resp.StatusCode)
		}
		for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options", "Referrer-Policy", "Strict-Transport-Security"} {
			if n := len(resp.Header.Values(h)); n != 1 {
				t.Errorf("%s: %d times in the answer %v, want once", h, n, resp.Header.Values(h))
			}
		}
		if s := resp.Header.Get("Server"); s != "nginx" {
			t.Errorf("Server: %q, want nginx without its version (server_tokens off)", s)
		}
		// Bodies: the pod's 1 MiB cap on /receive passes nginx, one byte
		// more is nginx's own 413 (without the pod's headers).
		for _, c := range []struct {
			size  int
			pod   bool
			state string
		}{{1 << 20, true, "reaches the pod"}, {1<<20 + 1, false, "is nginx's 413"}} {
			req := mustRequest(t, "POST", a.url+"receive/public", bytes.NewReader(bytes.Repeat([]byte("x"), c.size)))
			req.Header.Set("Content-Type", "application/magic-envelope+xml")
			resp := do(t, client, req)
			fromPod := resp.Header.Get("Content-Security-Policy") != ""
			if fromPod != c.pod || (resp.StatusCode == http.StatusRequestEntityTooLarge) == c.pod {
				t.Errorf("a %d-byte body: %d (answered by the pod: %v); want that it %s", c.size, resp.StatusCode, fromPod, c.state)
			}
		}
	})

	t.Run("health", func(t *testing.T) {
		for _, path := range []string{"healthz", "readyz"} {
			resp := do(t, client, mustRequest(t, "GET", a.url+path, nil))
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET /%s through nginx = %d, want 200 (docs/deploy.md's health checks)", path, resp.StatusCode)
			}
		}
	})

	t.Run("federation", func(t *testing.T) {
		// Sharing both ways: discovery of each other over https.
		a.call(t, client, "POST", "/api/contacts", aliceTok, map[string]any{"id": bob, "aspects": []string{"Friends"}}, http.StatusCreated, nil)
		b.call(t, client, "POST", "/api/contacts", bobTok, map[string]any{"id": alice}, http.StatusCreated, nil)
		waitUntil(t, "sharing on both pods", func() bool {
			var ca, cb struct{ Sharing, Receiving bool }
			a.call(t, client, "GET", "/api/contacts/"+bob, aliceTok, nil, http.StatusOK, &ca)
			b.call(t, client, "GET", "/api/contacts/"+alice, bobTok, nil, http.StatusOK, &cb)
			return ca.Sharing && ca.Receiving && cb.Sharing && cb.Receiving
		})

		// A public post of bob's reaches A; alice's comment reaches B.
		var post store.PostView
		b.call(t, client, "POST", "/api/posts", bobTok, map[string]any{"text": "Hello through nginx"}, http.StatusCreated, &post)
		waitUntil(t, "bob's post on A", func() bool {
			v, ok := a.post(t, client, aliceTok, post.GUID)
			return ok && v.Author == bob && v.Text == "Hello through nginx"
		})
		a.call(t, client, "POST", "/api/posts/"+post.GUID+"/comments", aliceTok, map[string]any{"text": "Hello back"}, http.StatusCreated, nil)
		waitUntil(t, "alice's comment on B", func() bool {
			v, _ := b.post(t, client, bobTok, post.GUID)
			return len(v.Comments) == 1 && v.Comments[0].Author == alice && v.Comments[0].Text == "Hello back"
		})

		// A private message, encrypted to bob, and his answer.
		var conv store.ConversationView
		a.call(t, client, "POST", "/api/conversations", aliceTok, map[string]any{"subject": "nginx", "text": "Is TLS on?", "participants": []string{bob}}, http.StatusCreated, &conv)
		waitUntil(t, "the conversation on B", func() bool {
			var c store.ConversationView
			status := b.call(t, client, "GET", "/api/conversations/"+conv.GUID, bobTok, nil, 0, &c)
			return status == http.StatusOK && len(c.Messages) == 1 && c.Messages[0].Text == "Is TLS on?"
		})
		b.call(t, client, "POST", "/api/conversations/"+conv.GUID+"/messages", bobTok, map[string]any{"text": "It is."}, http.StatusCreated, nil)
		waitUntil(t, "bob's answer on A", func() bool {
			var c store.ConversationView
			a.call(t, client, "GET", "/api/conversations/"+conv.GUID, aliceTok, nil, http.StatusOK, &c)
			return len(c.Messages) == 2 && c.Messages[1].Author == bob && c.Messages[1].Text == "It is."
		})

		// The deliveries went through nginx, to both pods.
		log := ng.accessLog(t)
		for _, p := range []*deployedPod{a, b} {
			prefix := strconv.Itoa(p.httpsPort) + " 127.0.0.1 \"POST /receive/"
			n := 0
			for _, line := range strings.Split(log, "\n") {
				if strings.HasPrefix(line, prefix) && strings.Contains(line, "\" 202 ") {
					n++
				}
			}
			if n == 0 {
				t.Errorf("nginx's access log shows no delivery accepted by pod %s:\n%s", p.name, log)
			}
		}
	})

	t.Run("forwarded-for", func(t *testing.T) {
		// Failed sign-ins from 127.0.0.1, each claiming another address in
		// X-Forwarded-For and naming another (unknown) account: if the pod
		// believed the header, every attempt would come from a new
		// address and none would be throttled. It allows 30 failures per
		// address (then one every 10 s): the first 429 must come at the
		// 31st attempt, a few more if the machine is slow.
		first429 := 0
		for i := 1; i <= 45 && first429 == 0; i++ {
			status := a.failedSignIn(t, client, fmt.Sprintf("ghost%02d", i), fmt.Sprintf("198.51.100.%d", i))
			switch status {
			case http.StatusTooManyRequests:
				first429 = i
			case http.StatusUnauthorized:
			default:
				t.Fatalf("failed sign-in %d = %d, want 401 or 429", i, status)
			}
		}
		if first429 == 0 {
			t.Fatal("45 failed sign-ins from 127.0.0.1 with forged X-Forwarded-For addresses were never throttled: the pod believed the forged addresses")
		}
		if first429 < 31 {
			t.Fatalf("the first 429 came at attempt %d (want 31 or a little later): the sign-in throttle is not what LIMITS.md says", first429)
		}
		t.Logf("throttled at attempt %d", first429)
		// A forged header naming an address the pod has not throttled
		// changes nothing.
		if status := a.failedSignIn(t, client, "ghost-forged", "127.0.0.2"); status != http.StatusTooManyRequests {
			t.Errorf("a sign-in from throttled 127.0.0.1 claiming X-Forwarded-For 127.0.0.2 = %d, want 429", status)
		}
		// A client with another real address is a client of its own: the
		// pod reads nginx's X-Forwarded-For, since it trusts 127.0.0.1.
		other := ca.client(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)})
		if status := a.failedSignIn(t, other, "ghost-other", ""); status != http.StatusUnauthorized {
			t.Errorf("a failed sign-in from 127.0.0.2 = %d, want 401: the pod counted it against nginx's address 127.0.0.1, "+
				"so it does not take the client's address from X-Forwarded-For (pod.env sets POD_TRUST_PROXY=%q)", status, env["POD_TRUST_PROXY"])
		}
	})
}

// deployedPod is one pod process behind nginx.
type deployedPod struct {
	name      string
	addr      string // where the pod listens (POD_ADDR)
	url       string // its public URL, at nginx
	httpsPort int
	httpPort  int
	password  string
	out       *syncBuffer
	cmd       *exec.Cmd
	exited    chan struct{}
}

// start creates the pod's user and serves the pod with pod.env's
// configuration, the test's addresses and POD_DEV=1, trusting only the
// test CA; it returns the user's ID once the pod answers through nginx.
func (p *deployedPod) start(t *testing.T, bin string, fileEnv map[string]string, ca *testCA, username string) string {
	t.Helper()
	data := t.TempDir()
	p.password = "password-" + username
	vars := map[string]string{}
	for k, v := range fileEnv {
		vars[k] = v
	}
	vars["POD_URL"], vars["POD_ADDR"], vars["POD_DATA"] = p.url, p.addr, data
	vars["POD_DEV"] = "1"         // IDs on localhost and ports other than 443
	vars["POD_KEY_BITS"] = "2048" // faster keys
	vars["POD_RETRY_BASE"] = "1s" // quick retries, should a delivery fail
	vars["POD_PASSWORD"] = p.password
	env := []string{"SSL_CERT_FILE=" + ca.caFile, "SSL_CERT_DIR=" + ca.emptyDir}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "POD_") && !strings.HasPrefix(kv, "SSL_CERT_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}

	add := exec.Command(bin, "user", "add", username)
	add.Env = env
	out, err := add.CombinedOutput()
	id := strings.TrimSpace(string(out))
	if want := fmt.Sprintf("%s@localhost:%d", username, p.httpsPort); err != nil || id != want {
		t.Fatalf("pod %s: user add %s = %v %q, want %s", p.name, username, err, out, want)
	}

	p.out = &syncBuffer{}
	p.cmd = exec.Command(bin, "serve")
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p.exited = make(chan struct{})
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.exited:
		case <-time.After(15 * time.Second):
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("pod %s's output:\n%s", p.name, p.out.String())
		}
	})

	client := ca.client(nil)
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-p.exited:
			t.Fatalf("pod %s exited: %v\n%s", p.name, p.cmd.ProcessState, p.out.String())
		default:
		}
		resp, err := client.Get(p.url + ".well-known/host-meta")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return id
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pod %s does not answer through nginx at %s: %v %v\n%s", p.name, p.url, resp, err, p.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// call sends a JSON API request through nginx and decodes the answer into
// out; a want of 0 accepts any status. It returns the status.
func (p *deployedPod) call(t *testing.T, c *http.Client, method, path, token string, in any, want int, out any) int {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req := mustRequest(t, method, strings.TrimSuffix(p.url, "/")+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s on pod %s: %v", method, path, p.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if want != 0 && resp.StatusCode != want {
		t.Fatalf("%s %s on pod %s = %d, want %d: %s", method, path, p.name, resp.StatusCode, want, raw)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s on pod %s: %v: %s", method, path, p.name, err, raw)
		}
	}
	return resp.StatusCode
}

func (p *deployedPod) signIn(t *testing.T, c *http.Client, username string) string {
	t.Helper()
	var s struct{ Token string }
	p.call(t, c, "POST", "/api/session", "", map[string]string{"username": username, "password": p.password}, http.StatusCreated, &s)
	return s.Token
}

// failedSignIn signs in with a wrong password, with X-Forwarded-For set to
// forged unless it is empty, and returns the status.
func (p *deployedPod) failedSignIn(t *testing.T, c *http.Client, username, forged string) int {
	t.Helper()
	req := mustRequest(t, "POST", p.url+"api/session", strings.NewReader(`{"username":"`+username+`","password":"wrong"}`))
	req.Header.Set("Content-Type", "application/json")
	if forged != "" {
		req.Header.Set("X-Forwarded-For", forged)
	}
	return do(t, c, req).StatusCode
}

// post reads a post through the API; false when the pod does not have it.
func (p *deployedPod) post(t *testing.T, c *http.Client, token, guid string) (store.PostView, bool) {
	t.Helper()
	var v store.PostView
	status := p.call(t, c, "GET", "/api/posts/"+guid, token, nil, 0, &v)
	if status != http.StatusOK && status != http.StatusNotFound {
		t.Fatalf("GET /api/posts/%s on pod %s = %d", guid, p.name, status)
	}
	return v, status == http.StatusOK
}

// waitUntil polls cond until it holds, for at most 30 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > 30*time.Second {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
}

func mustRequest(t *testing.T, method, url string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends req and reads and closes the answer's body.
func do(t *testing.T, c *http.Client, req *http.Request) *http.Response {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// renderSite fills in nginx.conf as the test needs it: the placeholders
// (domain, certificate, key), loopback listeners on the test's ports
// instead of 80 and 443 (the IPv6 listeners dropped) and the pod's
// address as the upstream. Each replaced line must be there exactly as
// often as the template has it, so that a change of the template that the
// test would no longer exercise fails here.
func renderSite(t *testing.T, tmpl, domain, cert, key string, httpsPort, httpPort int, upstream string) string {
	t.Helper()
	site := tmpl
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort), 1},
		{"listen [::]:80;", "", 1},
		{"listen 443 ssl;", fmt.Sprintf("listen 127.0.0.1:%d ssl;", httpsPort), 1},
		{"listen [::]:443 ssl;", "", 1},
		{"server_name @DOMAIN@;", "server_name " + domain + ";", 2},
		{"ssl_certificate     @CERT@;", "ssl_certificate     " + cert + ";", 1},
		{"ssl_certificate_key @KEY@;", "ssl_certificate_key " + key + ";", 1},
		{"proxy_pass http://127.0.0.1:3000;", "proxy_pass http://" + upstream + ";", 1},
	} {
		if n := strings.Count(site, r.old); n != r.n {
			t.Fatalf("nginx.conf has %q %d times, want %d", r.old, n, r.n)
		}
		site = strings.ReplaceAll(site, r.old, r.new)
	}
	for _, line := range strings.Split(site, "\n") {
		if l := strings.TrimSpace(line); !strings.HasPrefix(l, "#") && strings.Contains(l, "@") {
			t.Fatalf("nginx.conf: a placeholder the test does not fill: %q", l)
		}
	}
	return site
}

// nginxProc is the test's nginx.
type nginxProc struct{ dir string }

func (n *nginxProc) accessLog(t *testing.T) string {
	t.Helper()
	return readFile(t, filepath.Join(n.dir, "access.log"))
}

// nginxDir makes the directory of the test's nginx: its configuration,
// certificate, logs and temporary files. When the test runs as root,
// nginx runs as nobody (see startNginx), which owns the directory.
func nginxDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pod-deploy-nginx-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// unprivileged is the user nginx runs as when the test runs as root.
func unprivileged(t *testing.T) *syscall.Credential {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("nobody")
	if err != nil {
		t.Fatalf("running as root, nginx would run as nobody: %v", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// startNginx runs nginx as a user process (never as root: as nobody when
// the test runs as root) on the sites in dir, with everything it writes
// in dir, in the foreground and logging to stderr:
// nginx -p DIR -c DIR/nginx.conf -g 'daemon off; error_log stderr; pid DIR/nginx.pid;'
// It checks the configuration first (nginx -t), waits until every port
// accepts connections, and stops nginx at the end of the test.
func startNginx(t *testing.T, bin, dir string, sites []string, ports []int) *nginxProc {
	t.Helper()
	var includes strings.Builder
	for _, s := range sites {
		fmt.Fprintf(&includes, "    include %s;\n", filepath.Join(dir, s))
	}
	// The http block of Debian's /etc/nginx/nginx.conf, where the site is
	// included in a real deployment, reduced to what a user process needs.
	conf := fmt.Sprintf(`worker_processes 1;
events {
    worker_connections 256;
}
http {
    log_format deploytest '$server_port $remote_addr "$request" $status "$http_x_forwarded_for"';
    access_log %[1]s/access.log deploytest;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
%[2]s}
`, dir, includes.String())
	writeFile(t, filepath.Join(dir, "nginx.conf"), conf)
	cred := unprivileged(t)
	if cred != nil {
		err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Chown(path, int(cred.Uid), int(cred.Gid))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"-p", dir + "/", "-c", filepath.Join(dir, "nginx.conf"), "-e", "stderr",
		"-g", "daemon off; error_log stderr; pid " + filepath.Join(dir, "nginx.pid") + ";"}
	check := exec.Command(bin, append([]string{"-t", "-q"}, args...)...)
	check.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s\nthe configuration:\n%s", err, out, conf)
	}

	out := &syncBuffer{}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // fast shutdown, workers included
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("nginx's output:\n%s", out.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for _, port := range ports {
		for {
			conn, err := net.DialTimeout("tcp", addrOf(port), time.Second)
			if err == nil {
				conn.Close()
				break
			}
			select {
			case <-exited:
				t.Fatalf("nginx exited: %v\n%s", cmd.ProcessState, out.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("nginx does not listen on %d: %v\n%s", port, err, out.String())
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return &nginxProc{dir: dir}
}

// testCA is a certificate authority of the test, and a certificate it
// issued for the sites' name.
type testCA struct {
	pool                      *x509.CertPool
	caFile, certFile, keyFile string
	emptyDir                  string // SSL_CERT_DIR of the pods: no other roots
}

func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pod deployment test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{pool: x509.NewCertPool(), caFile: filepath.Join(dir, "ca.pem"), certFile: filepath.Join(dir, "cert.pem"),
		keyFile: filepath.Join(dir, "key.pem"), emptyDir: t.TempDir()}
	ca.pool.AddCert(caCert)
	writeFile(t, ca.caFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})))
	writeFile(t, ca.certFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER})))
	writeFile(t, ca.keyFile, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})))
	return ca
}

// client is an HTTP client that trusts only the test CA and connects to
// 127.0.0.1 whatever the host name, from local (nil: any address).
func (ca *testCA) client(local *net.TCPAddr) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if local != nil {
		d.LocalAddr = local
	}
	tr := &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.pool},
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			_, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(ctx, "tcp4", net.JoinHostPort("127.0.0.1", port))
		},
		Proxy: nil,
	}
	return &http.Client{Transport: tr, Timeout: 40 * time.Second}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func addrOf(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a bytes.Buffer that a process's output may be written to
// while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
