package deploy

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
)

// deployFiles are the files of this directory that docs/deploy.md carries
// verbatim, each in a fenced block of its own.
var deployFiles = []string{"nginx.conf", "pod.service", "pod-tls.conf", "pod.env", "pod-tls.env"}

// docPath is docs/deploy.md, from this package's directory.
const docPath = "../../../docs/deploy.md"

// build is the pod's binary, built once for the tests of this package
// that run it, in a directory TestMain removes.
var build struct {
	once     sync.Once
	dir, bin string
	err      error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	os.Exit(code)
}

// podBinary builds the pod (once per test binary) and returns its path.
func podBinary(t *testing.T) string {
	t.Helper()
	build.once.Do(func() {
		build.dir, build.err = os.MkdirTemp("", "pod-deploy-bin-")
		if build.err != nil {
			return
		}
		build.bin = filepath.Join(build.dir, "pod")
		if out, err := exec.Command("go", "build", "-o", build.bin, podtest.Main).CombinedOutput(); err != nil {
			build.err = fmt.Errorf("go build %s: %v\n%s", podtest.Main, err, out)
		}
	})
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.bin
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// fencedBlocks returns the contents of the fenced code blocks of a
// Markdown document, each ending with a newline.
func fencedBlocks(doc string) []string {
	var blocks []string
	var cur []string
	in := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "```") {
			if in {
				blocks = append(blocks, strings.Join(cur, "\n")+"\n")
				cur = nil
			}
			in = !in
			continue
		}
		if in {
			cur = append(cur, line)
		}
	}
	return blocks
}

// TestDeployDocs: docs/deploy.md shows every deployment file exactly as it
// is in the repository, so that what a podmin copies from the page is what
// the tests of this package check. A new file here must be added to
// deployFiles and to the page.
func TestDeployDocs(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var here []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".go") {
			here = append(here, e.Name())
		}
	}
	want := slices.Sorted(slices.Values(deployFiles))
	if !slices.Equal(here, want) {
		t.Errorf("files in examples/pod/deploy = %v, want %v (deployFiles): docs/deploy.md must carry each", here, want)
	}
	blocks := fencedBlocks(readFile(t, docPath))
	for _, name := range deployFiles {
		content := readFile(t, name)
		if !slices.Contains(blocks, content) {
			t.Errorf("docs/deploy.md has no fenced block equal to examples/pod/deploy/%s; paste the file again:\n%s", name, content)
		}
	}
}

// envFile reads a VARIABLE=value file (the format of systemd's
// EnvironmentFile as these files use it): the set variables, and every
// variable named, also in a commented-out example line.
func envFile(t *testing.T, name string) (set map[string]string, named []string) {
	t.Helper()
	set = map[string]string{}
	re := regexp.MustCompile(`^#?(POD_[A-Z0-9_]+)=(.*)$`)
	sc := bufio.NewScanner(strings.NewReader(readFile(t, name)))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		m := re.FindStringSubmatch(line)
		if m == nil {
			if line != "" && !strings.HasPrefix(line, "#") {
				t.Errorf("%s: %q is neither a comment nor POD_NAME=value", name, line)
			}
			continue
		}
		named = append(named, m[1])
		if !strings.HasPrefix(line, "#") {
			set[m[1]] = m[2]
		}
	}
	return set, named
}

// directive returns the value of the only line of a unit or nginx file
// that starts with key, without key and a trailing semicolon.
func directive(t *testing.T, file, content, key string) string {
	t.Helper()
	var vals []string
	for _, line := range strings.Split(content, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), key); ok {
			vals = append(vals, strings.TrimSpace(strings.TrimSuffix(v, ";")))
		}
	}
	if len(vals) != 1 {
		t.Fatalf("%s has %d lines starting with %q, want 1", file, len(vals), key)
	}
	return vals[0]
}

// TestDeployConsistency: the files agree with each other: nginx proxies to
// the address pod.env makes the pod listen on, the pod trusts that proxy,
// the unit reads the environment file where the page installs it and may
// write the data directory both environment files name, and only the
// drop-in of the built-in HTTPS variant grants a capability.
func TestDeployConsistency(t *testing.T) {
	nginx, unit := readFile(t, "nginx.conf"), readFile(t, "pod.service")
	env, _ := envFile(t, "pod.env")
	tlsEnv, _ := envFile(t, "pod-tls.env")
	if up := directive(t, "nginx.conf", nginx, "proxy_pass "); up != "http://"+env["POD_ADDR"] {
		t.Errorf("nginx.conf proxies to %s, pod.env's POD_ADDR is %s", up, env["POD_ADDR"])
	}
	if host, _, _ := strings.Cut(env["POD_ADDR"], ":"); env["POD_TRUST_PROXY"] != host+"/32" {
		t.Errorf("pod.env: POD_TRUST_PROXY=%s, want the address nginx connects from, %s/32", env["POD_TRUST_PROXY"], host)
	}
	if env["POD_URL"] != "https://@DOMAIN@/" {
		t.Errorf("pod.env: POD_URL=%s, want https://@DOMAIN@/", env["POD_URL"])
	}
	rw := directive(t, "pod.service", unit, "ReadWritePaths=")
	for name, e := range map[string]map[string]string{"pod.env": env, "pod-tls.env": tlsEnv} {
		if e["POD_DATA"] != rw {
			t.Errorf("%s: POD_DATA=%s, but the unit may write only %s", name, e["POD_DATA"], rw)
		}
	}
	if wd := directive(t, "pod.service", unit, "WorkingDirectory="); wd != rw {
		t.Errorf("pod.service: WorkingDirectory=%s, ReadWritePaths=%s", wd, rw)
	}
	if ef := directive(t, "pod.service", unit, "EnvironmentFile="); ef != "/etc/pod/pod.env" {
		t.Errorf("pod.service reads %s, docs/deploy.md installs /etc/pod/pod.env", ef)
	}
	if _, ok := tlsEnv["POD_TRUST_PROXY"]; ok {
		t.Error("pod-tls.env trusts a proxy, but that pod has none in front of it")
	}
	if strings.Contains(unit, "AmbientCapabilities") {
		t.Error("pod.service grants capabilities: only the drop-in pod-tls.conf may (the pod behind nginx binds a high port)")
	}
	if c := directive(t, "pod-tls.conf", readFile(t, "pod-tls.conf"), "AmbientCapabilities="); c != "CAP_NET_BIND_SERVICE" {
		t.Errorf("pod-tls.conf: AmbientCapabilities=%s, want CAP_NET_BIND_SERVICE only", c)
	}
}

// TestDeployEnvFiles: the environment files are configurations the pod
// accepts, and reads as the page says. pod config check, run with each
// file's variables (placeholders filled in), must accept them and show
// every one as read from the environment; a variable that is only shown
// in a comment must be one pod help lists. So a misspelt or renamed
// variable, which the pod would silently ignore, fails here.
func TestDeployEnvFiles(t *testing.T) {
	bin := podBinary(t)
	help, err := exec.Command(bin, "help").CombinedOutput()
	if err != nil {
		t.Fatalf("pod help: %v\n%s", err, help)
	}
	for _, c := range []struct {
		file string
		want []string // lines of config check's output
	}{
		{"pod.env", []string{`addr = "127.0.0.1:3000"`, `url = "https://pod.example.org/"`, `trust-proxy = ["127.0.0.1/32"]`, `tls-domain = ""`}},
		{"pod-tls.env", []string{`addr = ":443"`, `http-addr = ":80"`, `url = "https://pod.example.org/"`, `trust-proxy = []`}},
	} {
		set, named := envFile(t, c.file)
		for _, v := range named {
			if !strings.Contains(string(help), "("+v+")") {
				t.Errorf("%s names %s, which pod help does not list: the pod would ignore it", c.file, v)
			}
		}
		cmd := exec.Command(bin, "config", "check")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
		for k, v := range set {
			v = strings.NewReplacer("@DOMAIN@", "pod.example.org", "@EMAIL@", "podmin@example.org").Replace(v)
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("pod config check with %s: %v\n%s", c.file, err, out)
			continue
		}
		lines := strings.Split(string(out), "\n")
		for k := range set {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasSuffix(l, "# env "+k) }) {
				t.Errorf("pod config check with %s does not show %s as read from the environment:\n%s", c.file, k, out)
			}
		}
		for _, w := range c.want {
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, w+" #") }) {
				t.Errorf("pod config check with %s has no line %s:\n%s", c.file, w, out)
			}
		}
	}
}
