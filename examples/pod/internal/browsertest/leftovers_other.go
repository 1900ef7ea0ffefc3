//go:build !linux

package browsertest

// killLeftovers does nothing here: outside Linux, chromedp's own process
// handling is all there is.
func killLeftovers(dir string) {}
