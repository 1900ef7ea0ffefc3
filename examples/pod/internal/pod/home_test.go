package pod

import (
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestHomeAndAvatar: a fresh pod's front page says what to do next; the
// avatar the hCard advertises is served.
func TestHomeAndAvatar(t *testing.T) {
	p := startPod(t)
	page := func() string {
		resp := get(t, p.URL)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET / = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for h, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
			if got := resp.Header.Get(h); got != want {
				t.Errorf("%s = %q, want %q", h, got, want)
			}
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("CSP = %q", csp)
		}
		return string(b)
	}
	if s := page(); !strings.Contains(s, "Nobody has an account here yet") || !strings.Contains(s, "pod user add NAME") {
		t.Errorf("fresh front page does not say what to do next:\n%s", s)
	}
	if resp := get(t, p.URL+"no-such-page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-page = %d, want 404", resp.StatusCode)
	}
	id, _ := p.user(t, "olga")
	if s := page(); !strings.Contains(s, "1 person has an account here") {
		t.Errorf("front page with one user:\n%s", s)
	}

	// The hCard's avatar is served as a PNG.
	u, err := p.store.UserByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	resp := get(t, p.URL+"hcard/users/"+u.GUID)
	hcard, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`class="photo avatar"[^>]*src="([^"]+)"`).FindSubmatch(hcard)
	if m == nil {
		t.Fatalf("no avatar in the hCard:\n%s", hcard)
	}
	src := string(m[1])
	if strings.HasPrefix(src, "/") {
		src = strings.TrimSuffix(p.URL, "/") + src
	}
	resp = get(t, src)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s = %d %s", src, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	img, err := png.Decode(resp.Body)
	if err != nil || img.Bounds().Dx() != 100 {
		t.Errorf("avatar: %v, %v", err, img)
	}
}
