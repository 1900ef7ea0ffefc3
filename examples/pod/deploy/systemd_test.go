//go:build linux

package deploy

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// systemdAnalyze finds systemd-analyze, or skips the test (fails it under
// POD_REQUIRE_SYSTEMD_ANALYZE=1, as .ci/run sets).
func systemdAnalyze(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("systemd-analyze")
	if err != nil {
		const msg = "the unit test needs systemd-analyze: install Debian's systemd package (apt-get install systemd)"
		if os.Getenv("POD_REQUIRE_SYSTEMD_ANALYZE") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// TestDeploySystemdUnit: systemd-analyze verify accepts pod.service, alone
// and with the drop-in pod-tls.conf, without a single warning (an unknown
// or misspelt directive is only a warning to systemd, so any output fails
// the test), and systemd-analyze security rates the unit's exposure at
// most 2.5 of 10. ExecStart names the built pod binary in a copy of the
// unit, since verify checks that the program exists.
func TestDeploySystemdUnit(t *testing.T) {
	sa := systemdAnalyze(t)
	bin := podBinary(t)
	unit := readFile(t, "pod.service")
	const execStart = "ExecStart=/usr/local/bin/pod serve\n"
	if strings.Count(unit, execStart) != 1 {
		t.Fatalf("pod.service has no line %q to point at the built binary", strings.TrimSpace(execStart))
	}
	unit = strings.Replace(unit, execStart, "ExecStart="+bin+" serve\n", 1)

	for _, variant := range []struct{ name, dropIn string }{{"behind nginx", ""}, {"built-in HTTPS", "pod-tls.conf"}} {
		t.Run(variant.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "pod.service")
			if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
				t.Fatal(err)
			}
			if variant.dropIn != "" {
				// verify reads drop-ins beside the unit, as systemd reads
				// /etc/systemd/system/pod.service.d/.
				if err := os.Mkdir(path+".d", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(path+".d", "tls.conf"), []byte(readFile(t, variant.dropIn)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			var out bytes.Buffer
			cmd := exec.Command(sa, "verify", "--man=no", path)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil || out.Len() != 0 {
				t.Errorf("systemd-analyze verify: %v\n%s", err, out.String())
			}
			out.Reset()
			cmd = exec.Command(sa, "security", "--offline=yes", "--threshold=25", "--no-pager", path)
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Run(); err != nil {
				t.Errorf("systemd-analyze security: %v (an exposure above 2.5 fails)\n%s", err, out.String())
			} else if i := strings.LastIndex(out.String(), "Overall exposure level"); i >= 0 {
				t.Log(strings.TrimSpace(out.String()[i:]))
			}
		})
	}
}
