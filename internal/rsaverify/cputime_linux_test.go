package rsaverify

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time the calling thread has used (with the
// goroutine locked to it), so benchmarks on a shared machine can report
// CPU time next to wall time.
func threadCPU() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if syscall.Getrusage(rusageThread, &ru) != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
