package web

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/go-diaspora/federation/examples/pod/internal/browsertest"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
)

// picture writes a w×h JPEG (with an Exif segment naming a place) or PNG
// to dir and returns its path.
func picture(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			m.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 180, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(name, ".png") {
		err = png.Encode(&b, m)
	} else {
		err = jpeg.Encode(&b, m, nil)
		exif := append([]byte{0xFF, 0xE1, 0, 0}, "Exif\x00\x00GPS 38.72 N 9.14 W"...)
		binary.BigEndian.PutUint16(exif[2:], uint16(len(exif)-2))
		raw := b.Bytes()
		b = *bytes.NewBuffer(append(append(append([]byte{}, raw[:2]...), exif...), raw[2:]...))
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBrowserUploads: in Chromium, carol posts two pictures from her
// computer and sets an avatar; the browser shows them from the pod, the
// stored pictures have no location, and a file that is no picture is
// refused with a message, leaving nothing behind.
func TestBrowserUploads(t *testing.T) {
	b := browsertest.New(t)
	tp := startTestPod(t, Config{Name: "Pod A"})
	tp.addUser(t, "carol")
	ctx := context.Background()
	dir := t.TempDir()
	photo, drawing := picture(t, dir, "lisbon.jpg", 320, 200), picture(t, dir, "drawing.png", 30, 20)
	notPicture := filepath.Join(dir, "notes.jpg")
	if err := os.WriteFile(notPicture, []byte("these are notes, not a picture"), 0o600); err != nil {
		t.Fatal(err)
	}

	p := b.Page(t)
	signInBrowser(p, tp.URL, "carol")

	// A file that is no picture: refused, nothing stored.
	p.Fill("#text", "my notes")
	p.Run(chromedp.SetUploadFiles(chromedp.CSS("#photo_files"), []string{photo, notPicture}))
	p.Submit(`.publisher form`)
	if p.Status() != http.StatusUnprocessableEntity || !strings.Contains(p.Text("main"), "notes.jpg") || !strings.Contains(p.Text("main"), "not a JPEG, PNG or GIF picture") {
		t.Errorf("posting a text file as a photo: %d\n%s", p.Status(), p.Text("main"))
	}
	if n, _ := tp.Store().Rows(ctx, "uploads"); n != 0 {
		t.Errorf("%d uploads stored after a refused post", n)
	}
	if n, _ := tp.Store().Rows(ctx, "posts"); n != 0 {
		t.Errorf("%d posts stored after a refused post", n)
	}

	// Two pictures in a public post.
	p.Open(tp.URL + "stream")
	p.Fill("#text", "Lisbon, and a drawing")
	check(p, `input[name=visibility][value=public]`)
	p.Run(chromedp.SetUploadFiles(chromedp.CSS("#photo_files"), []string{photo, drawing}))
	p.Submit(`.publisher form`)
	var sizes [][2]int
	loaded(t, p, "article.post .photos img", &sizes)
	if len(sizes) != 2 || sizes[0] != [2]int{320, 200} || sizes[1] != [2]int{30, 20} {
		t.Errorf("the pictures the browser shows in the stream: %v, want 320×200 and 30×20", sizes)
	}
	var srcs []string
	p.Eval(`Array.from(document.querySelectorAll("article.post .photos img")).map(i => i.src)`, &srcs)
	for _, src := range srcs {
		if !strings.HasPrefix(src, tp.URL+"uploads/images/") {
			t.Errorf("a photo at %s, not among the pod's uploads", src)
			continue
		}
		up, err := tp.Store().GetUpload(ctx, strings.TrimPrefix(src, tp.URL+"uploads/images/"))
		if err != nil || up.Username != "carol" || bytes.Contains(up.Data, []byte("GPS")) {
			t.Errorf("the stored upload of %s: %v (by %v), location left in: %v", src, err, up != nil && up.Username == "carol", up != nil && bytes.Contains(up.Data, []byte("GPS")))
		}
	}
	p.Screenshot("post-photos")

	// An avatar from a file.
	p.Open(tp.URL + "profile/edit")
	p.Run(chromedp.SetUploadFiles(chromedp.CSS("#image_file"), []string{drawing}))
	p.Submit(`form[action="/profile/edit"]`)
	carol, _ := tp.Store().UserByName(ctx, "carol")
	prof, err := tp.Store().Profile(ctx, carol.ID, false)
	if err != nil || !strings.HasPrefix(prof.ImageURL, tp.URL+"uploads/images/") {
		t.Fatalf("carol's avatar after an upload: %q, %v", prof.ImageURL, err)
	}
	var avatar [][2]int
	loaded(t, p, "img.avatar", &avatar)
	if len(avatar) != 1 || avatar[0] != [2]int{30, 20} {
		t.Errorf("the avatar the browser shows on the profile form: %v", avatar)
	}
	keepScreenshots(t, p)
}

// loaded waits (up to 10 s) until every image sel matches has loaded,
// and gives the natural size of each.
func loaded(t *testing.T, p *browsertest.Page, sel string, sizes *[][2]int) {
	t.Helper()
	var done bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		p.Eval(`Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).every(i => i.complete)`, &done)
		if done {
			break
		}
	}
	p.Eval(`Array.from(document.querySelectorAll(`+strconv.Quote(sel)+`)).map(i => [i.naturalWidth, i.naturalHeight])`, sizes)
}

// TestUploadLimits: a form with pictures is read only from a signed-in
// person (a stranger's body is refused unread), and one larger than the
// pod takes gets a 413 page; neither stores anything.
func TestUploadLimits(t *testing.T) {
	tp := startTestPod(t, Config{})
	tp.addUser(t, "carol")
	multipartBody := func(token string, size int) (*bytes.Buffer, string) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField(csrfField, token)
		mw.WriteField("text", "big")
		mw.WriteField("visibility", "public")
		fw, _ := mw.CreateFormFile("photo_files", "big.png")
		fw.Write(make([]byte, size))
		mw.Close()
		return &b, mw.FormDataContentType()
	}
	send := func(c *client, token string, size int) int {
		body, ct := multipartBody(token, size)
		resp, err := c.c.Post(c.base+"/status_messages", ct, body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	anon := tp.client(t)
	_, page, _ := anon.get("/users/sign_in")
	if st := send(anon, formToken(t, page), 1<<20); st != http.StatusForbidden {
		t.Errorf("a stranger's form with a picture: %d, want 403", st)
	}
	c := tp.client(t)
	c.signIn("carol")
	_, page, _ = c.get("/stream")
	if st := send(c, formToken(t, page), maxUploadForm+1); st != http.StatusRequestEntityTooLarge {
		t.Errorf("a form larger than the pod takes: %d, want 413", st)
	}
	if st := send(c, formToken(t, page), pod.MaxUploadBytes+1); st != http.StatusUnprocessableEntity {
		t.Errorf("one file over the size of a picture: %d, want 422", st)
	}
	// A post without text stores none of its pictures.
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField(csrfField, formToken(t, page))
	mw.WriteField("text", "  ")
	mw.WriteField("visibility", "public")
	fw, _ := mw.CreateFormFile("photo_files", "ok.png")
	fw.Write(pngPicture(t, 3, 3))
	mw.Close()
	resp, err := c.c.Post(c.base+"/status_messages", mw.FormDataContentType(), &b)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("a post with a picture and no text: %d, want 422", resp.StatusCode)
	}
	for _, table := range []string{"uploads", "posts"} {
		if n, _ := tp.Store().Rows(context.Background(), table); n != 0 {
			t.Errorf("%d rows in %s", n, table)
		}
	}
}
