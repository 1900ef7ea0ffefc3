// Package podtest holds what the pod's tests in several packages share:
// the pod's binary, built once per test that runs it as a podmin would.
package podtest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// Main is the import path of the pod's command.
const Main = "github.com/go-diaspora/federation/examples/pod"

// BuildBinary builds the pod into dir and returns the binary's path.
func BuildBinary(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "pod")
	if out, err := exec.Command("go", "build", "-o", bin, Main).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
