package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// podCLI runs the built pod binary as a podmin would, with env added to
// the environment, and returns its exit code and output.
type podCLI struct{ bin string }

func (c podCLI) run(t *testing.T, stdin string, env []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

// TestCLI drives the pod's command line as a podmin would: help, strict
// environment variables, admin commands against a missing database,
// normalized blocks, and user add from a pipe.
func TestCLI(t *testing.T) {
	tmp := t.TempDir()
	c := podCLI{bin: podtest.BuildBinary(t, tmp)}
	data := filepath.Join(tmp, "data")

	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		code, out, _ := c.run(t, "", nil, args...)
		if code != 0 {
			t.Errorf("pod %v exits %d, want 0", args, code)
		}
		for _, cmd := range []string{"serve", "user add NAME", "user suspend NAME", "user unsuspend NAME", "admin block HOST|URL",
			"admin unblock HOST|URL", "admin health", "load [load flags]", "load fanout [fanout flags]", "help [COMMAND]", "--data", "--key-bits", "POD_DEV"} {
			if !strings.Contains(out, cmd) {
				t.Errorf("pod %v does not mention %q:\n%s", args, cmd, out)
			}
		}
	}
	code, out, _ := c.run(t, "", nil, "help", "user", "add")
	if code != 0 || !strings.Contains(out, "Usage: pod user add NAME") || !strings.Contains(out, "--password") || strings.Contains(out, "--max-inbox") {
		t.Errorf("pod help user add = %d\n%s", code, out)
	}
	code, out, _ = c.run(t, "", nil, "help", "load", "fanout")
	if code != 0 || !strings.Contains(out, "-pods") {
		t.Errorf("pod help load fanout = %d\n%s", code, out)
	}

	// Errors: one "pod:" prefix, exit 1.
	fails := []struct {
		env  []string
		args []string
		says string
	}{
		{nil, []string{"help", "frobnicate"}, `no command "frobnicate"`},
		{nil, []string{"frobnicate"}, `unknown command "frobnicate"`},
		{nil, []string{"user", "add"}, "usage: pod user add NAME"},
		{nil, []string{"--nope"}, "flag provided but not defined"},
		{[]string{"POD_DEV=maybe"}, []string{"admin", "health", "--data", data}, `POD_DEV="maybe"`},
		{[]string{"POD_KEY_BITS=4k"}, []string{"admin", "health", "--data", data}, `POD_KEY_BITS="4k" is not a whole number`},
		{[]string{"POD_RETRY_BASE=soon"}, []string{"admin", "health", "--data", data}, `POD_RETRY_BASE="soon"`},
		{nil, []string{"--key-bits", "1024", "admin", "health", "--data", data}, "at least 2048"},
		{nil, []string{"admin", "health", "--data", data}, "no pod database in " + data},
		{nil, []string{"admin", "block", "pod.example", "--data", data}, "no pod database"},
		{nil, []string{"user", "suspend", "alice", "--data", data}, "no pod database"},
		{nil, []string{"admin", "health", "--db", "mysql://pod"}, "--db takes a postgres:// URL"},
	}
	for _, f := range fails {
		code, _, errOut := c.run(t, "", f.env, f.args...)
		if code != 1 || !strings.Contains(errOut, f.says) || strings.Count(errOut, "pod:") != 1 || !strings.HasPrefix(errOut, "pod: ") {
			t.Errorf("%v pod %v = exit %d, %q; want exit 1 and one \"pod: ...%s\"", f.env, f.args, code, errOut, f.says)
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("admin commands created the data directory: %v", err)
	}

	// user add from a pipe: one line. Documented boolean spellings work.
	code, out, errOut := c.run(t, "correct horse\n", []string{"POD_DEV=yes", "POD_KEY_BITS=2048"}, "user", "add", "alice", "--data", data, "--addr", "127.0.0.1:3999")
	if code != 0 || strings.TrimSpace(out) != "alice@127.0.0.1:3999" {
		t.Fatalf("user add = %d %q %q", code, out, errOut)
	}

	// admin block takes a host or a URL and stores the normalized host.
	for _, b := range []struct{ arg, host string }{
		{"https://Bad.Example:443/people/x", "bad.example"},
		{"Other.example:8443", "other.example:8443"},
		{"http://127.0.0.1:3001/", "127.0.0.1:3001"},
	} {
		code, out, errOut := c.run(t, "", nil, "admin", "block", b.arg, "--data", data)
		if code != 0 || strings.TrimSpace(out) != "blocked "+b.host {
			t.Errorf("admin block %s = %d %q %q, want blocked %s", b.arg, code, out, errOut, b.host)
		}
	}
	for _, bad := range []string{"bad host!", "ftp://pod.example/", "https://user@pod.example/", "pod.example/path", "", "-"} {
		code, _, errOut := c.run(t, "", nil, "admin", "block", bad, "--data", data)
		if code != 1 || !strings.Contains(errOut, "is not a pod's") {
			t.Errorf("admin block %q = %d %q, want a refusal", bad, code, errOut)
		}
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "pod.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var hosts string
	if err := db.QueryRow(`SELECT group_concat(host, ' ') FROM (SELECT host FROM pods WHERE blocked = 1 ORDER BY host)`).Scan(&hosts); err != nil {
		t.Fatal(err)
	}
	if hosts != "127.0.0.1:3001 bad.example other.example:8443" {
		t.Errorf("blocked hosts = %q", hosts)
	}
	code, out, _ = c.run(t, "", nil, "admin", "unblock", "BAD.example", "--data", data)
	if code != 0 || strings.TrimSpace(out) != "unblocked bad.example" {
		t.Errorf("unblock = %d %q", code, out)
	}
	code, out, _ = c.run(t, "", nil, "migrate", "--data", data)
	if code != 0 || strings.TrimSpace(out) != fmt.Sprintf("schema version %d (sqlite)", store.SQLiteMigrations) {
		t.Errorf("migrate = %d %q", code, out)
	}
	code, _, errOut = c.run(t, "", nil, "user", "suspend", "nobody", "--data", data)
	if code != 1 || !strings.Contains(errOut, `no local user "nobody"`) {
		t.Errorf("suspend nobody = %d %q", code, errOut)
	}
	// Admins: user add --admin, user admin NAME [--remove], each in the
	// audit log the dashboard shows.
	code, _, errOut = c.run(t, "", []string{"POD_KEY_BITS=2048", "POD_PASSWORD=password-root"}, "user", "add", "root", "--admin", "--data", data, "--addr", "127.0.0.1:3999")
	if code != 0 {
		t.Fatalf("user add --admin = %d %q", code, errOut)
	}
	if code, _, errOut = c.run(t, "", nil, "user", "admin", "alice", "--data", data); code != 0 {
		t.Errorf("user admin alice = %d %q", code, errOut)
	}
	if code, _, errOut = c.run(t, "", nil, "user", "admin", "--remove", "root", "--data", data); code != 0 {
		t.Errorf("user admin --remove root = %d %q", code, errOut)
	}
	if code, _, errOut = c.run(t, "", nil, "user", "admin", "nobody", "--data", data); code != 1 || !strings.Contains(errOut, `no local user "nobody"`) {
		t.Errorf("user admin nobody = %d %q", code, errOut)
	}
	st, err := store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for name, want := range map[string]bool{"alice": true, "root": false} {
		if u, err := st.UserByName(context.Background(), name); err != nil || u.Admin != want {
			t.Errorf("%s admin = %v, %v; want %v", name, u != nil && u.Admin, err, want)
		}
	}
	log, err := st.AuditLog(context.Background(), 20)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Target)
	}
	for _, want := range []string{"user admin root", "user admin alice", "user unadmin root", "pod block bad.example", "pod unblock bad.example"} {
		if !slices.Contains(got, want) {
			t.Errorf("the audit log %v lacks %q", got, want)
		}
	}
}

// TestCLIPasswordPrompt: on a terminal, user add asks for the password
// twice without echoing it, and refuses two different answers.
func TestCLIPasswordPrompt(t *testing.T) {
	tmp := t.TempDir()
	bin := podtest.BuildBinary(t, tmp)
	data := filepath.Join(tmp, "data")
	type result struct {
		screen string
		code   int
	}
	typeAt := func(name string, answers ...string) result {
		cmd := exec.Command(bin, "user", "add", name, "--data", data, "--key-bits", "2048", "--addr", "127.0.0.1:3998")
		cmd.Env = os.Environ()
		tty, err := pty.Start(cmd)
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		var screen bytes.Buffer
		rd := bufio.NewReader(tty)
		readUntil := func(s string) {
			deadline := time.Now().Add(30 * time.Second)
			for !strings.Contains(screen.String(), s) {
				if time.Now().After(deadline) {
					t.Fatalf("no %q on the terminal; it shows %q", s, screen.String())
				}
				b, err := rd.ReadByte()
				if err != nil {
					t.Fatalf("reading the terminal: %v; it shows %q", err, screen.String())
				}
				screen.WriteByte(b)
			}
		}
		// A person types after the prompt; a test must also wait until
		// the pod has turned echo off (the prompt comes just before).
		echoOff := func() {
			deadline := time.Now().Add(10 * time.Second)
			for {
				tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
				if err != nil {
					t.Fatal(err)
				}
				if tio.Lflag&unix.ECHO == 0 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatal("the terminal still echoes 10 s after the prompt")
				}
				time.Sleep(time.Millisecond)
			}
		}
		readUntil("password for " + name + ": ")
		echoOff()
		io.WriteString(tty, answers[0]+"\r")
		readUntil("again, to be sure: ")
		echoOff()
		io.WriteString(tty, answers[1]+"\r")
		rest, _ := io.ReadAll(rd) // until the process closes the terminal
		screen.Write(rest)
		err = cmd.Wait()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		}
		return result{screen.String(), code}
	}
	r := typeAt("bob", "secret-one-1", "secret-two-2")
	if r.code != 1 || !strings.Contains(r.screen, "the two passwords differ") {
		t.Errorf("different answers: exit %d, screen %q", r.code, r.screen)
	}
	r = typeAt("bob", "secret-one-1", "secret-one-1")
	if r.code != 0 || !strings.Contains(r.screen, "bob@127.0.0.1:3998") {
		t.Errorf("same answers: exit %d, screen %q", r.code, r.screen)
	}
	for _, res := range []string{r.screen} {
		if strings.Contains(res, "secret-") {
			t.Errorf("the password was echoed: %q", res)
		}
	}
}

// TestMaxInboxConfig: the high-water mark comes from --max-inbox or
// POD_MAX_INBOX, 10,000 by default.
func TestMaxInboxConfig(t *testing.T) {
	parse := func(args ...string) int {
		var o options
		if err := newFlags(&o, &envReader{}).Parse(args); err != nil {
			t.Fatal(err)
		}
		return o.config(nil).MaxInboxPending
	}
	if n := parse(); n != 10000 {
		t.Errorf("default %d", n)
	}
	if n := parse("--max-inbox", "7"); n != 7 {
		t.Errorf("--max-inbox 7 gives %d", n)
	}
	t.Setenv("POD_MAX_INBOX", "42")
	if n := parse(); n != 42 {
		t.Errorf("POD_MAX_INBOX=42 gives %d", n)
	}
}
