package pod

import (
	"image/png"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestAvatar: the avatar the hCard advertises is served (the web
// interface's pages, the front page among them, are internal/web's).
func TestAvatar(t *testing.T) {
	p := startPod(t)
	if resp := get(t, p.URL+"no-such-page"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /no-such-page = %d, want 404", resp.StatusCode)
	}
	id, _ := p.user(t, "olga")

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
