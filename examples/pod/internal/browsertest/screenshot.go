package browsertest

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// shotDirs holds the screenshot directory of each test that took one.
var shotDirs sync.Map // testing.TB -> string

// Screenshot writes a full-page PNG of the page (all of it, not only the
// viewport) as name.png, and returns its path. The directory is
// $POD_SCREENSHOTS/<test name> when POD_SCREENSHOTS is set, and otherwise a
// temporary directory of the test (removed when the test ends), made once per
// test; the test's log names each file. name may hold any characters: the ones
// that do not belong in a file name become "_".
func (p *Page) Screenshot(name string) string {
	p.t.Helper()
	png := Get(p, chromedp.FullScreenshot(100))
	path := filepath.Join(screenshotDir(p.t), safeName(strings.TrimSuffix(name, ".png"))+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatalf("browsertest: writing the screenshot: %v", err)
	}
	p.t.Logf("browsertest: screenshot %s (%d bytes)", path, len(png))
	return path
}

// screenshotDir returns the directory of t's screenshots, and makes it the
// first time.
func screenshotDir(t testing.TB) string {
	t.Helper()
	if d, ok := shotDirs.Load(t); ok {
		return d.(string)
	}
	var dir string
	if root := os.Getenv("POD_SCREENSHOTS"); root != "" {
		dir = filepath.Join(root, safeName(t.Name()))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatalf("browsertest: making the screenshot directory (POD_SCREENSHOTS): %v", err)
		}
	} else {
		dir = t.TempDir()
	}
	if d, loaded := shotDirs.LoadOrStore(t, dir); loaded {
		return d.(string)
	}
	t.Cleanup(func() { shotDirs.Delete(t) })
	t.Logf("browsertest: the screenshots of %s go to %s", t.Name(), dir)
	return dir
}

// safeName turns s into a file name: letters, digits, '.', '-' and '_' stay,
// anything else becomes '_'.
func safeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-', c == '_':
		default:
			b[i] = '_'
		}
	}
	if len(b) == 0 || strings.Trim(string(b), ".") == "" {
		return "screenshot"
	}
	return string(b)
}
