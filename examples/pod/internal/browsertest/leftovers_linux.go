//go:build linux

package browsertest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// killLeftovers kills the processes whose command line names dir as their
// --user-data-dir: helpers of a Chromium (renderers, the GPU and network
// processes, the zygote) that outlive it would keep writing in the profile
// while t.TempDir's cleanup removes it. Helpers can still fork while the
// first ones die, so it scans again until two scans in a row find none, for
// at most two seconds.
func killLeftovers(dir string) {
	want := []byte("--user-data-dir=" + dir)
	self := os.Getpid()
	deadline := time.Now().Add(2 * time.Second)
	for quiet := 0; quiet < 2 && time.Now().Before(deadline); {
		found := 0
		cmdlines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range cmdlines {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(f)))
			if err != nil || pid == self {
				continue
			}
			b, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			for _, arg := range bytes.Split(b, []byte{0}) {
				if bytes.Equal(arg, want) {
					_ = syscall.Kill(pid, syscall.SIGKILL)
					found++
					break
				}
			}
		}
		if found == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(20 * time.Millisecond)
	}
}
