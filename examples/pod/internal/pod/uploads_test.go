package pod

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
	"github.com/go-diaspora/federation/magicenv"
)

// testPicture is a w×h picture with a few colours.
func testPicture(w, h int) image.Image {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			m.Set(x, y, color.RGBA{uint8(x * 20), uint8(y * 20), 128, 255})
		}
	}
	return m
}

// jpegWithExif is a JPEG whose APP1 segment holds Exif with a GPS tag,
// an XMP APP1 and a comment, as a phone's camera writes them.
func jpegWithExif(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testPicture(12, 8), nil); err != nil {
		t.Fatal(err)
	}
	seg := func(marker byte, payload string) []byte {
		s := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
		return append(s, payload...)
	}
	raw := b.Bytes()
	out := append([]byte{}, raw[:2]...)
	out = append(out, seg(0xE1, "Exif\x00\x00GPSLatitude 52.5200 N")...)
	out = append(out, seg(0xE1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>Berlin</x:xmpmeta>")...)
	out = append(out, seg(0xFE, "taken at home")...)
	return append(out, raw[2:]...)
}

// pngChunk is one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(append([]byte(typ), data...)))
}

// pngWithText is a PNG with a tEXt chunk (a location) before its data.
func pngWithText(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testPicture(5, 7)); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	ihdrEnd := len(pngSignature) + 12 + 13
	out := append([]byte{}, raw[:ihdrEnd]...)
	out = append(out, pngChunk("tEXt", []byte("Location\x00Berlin, 52.52 N"))...)
	return append(out, raw[ihdrEnd:]...)
}

// pngHeader is a PNG signature and an IHDR of the given size: enough for
// image.DecodeConfig.
func pngHeader(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0)
	out := append([]byte{}, pngSignature...)
	out = append(out, pngChunk("IHDR", ihdr)...)
	return append(out, pngChunk("IEND", nil)...)
}

// TestPrepareUpload: pictures lose their location and camera data and
// still decode to the same size; anything else is refused with
// ErrNotPicture or another store.ErrInvalid, and nothing is stored.
func TestPrepareUpload(t *testing.T) {
	tp := startPod(t)
	tp.user(t, "alice")
	u, err := tp.store.UserByName(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	var g bytes.Buffer
	if err := gif.Encode(&g, testPicture(3, 4), nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, contentType, ext string
		data                   []byte
		w, h                   int
		gone                   []string
	}{
		{"jpeg", "image/jpeg", ".jpg", jpegWithExif(t), 12, 8, []string{"Exif", "GPSLatitude", "xmpmeta", "taken at home"}},
		{"png", "image/png", ".png", pngWithText(t), 5, 7, []string{"tEXt", "Berlin"}},
		{"gif", "image/gif", ".gif", g.Bytes(), 3, 4, nil},
	} {
		up, err := tp.PrepareUpload(u, c.data)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if up.ContentType != c.contentType || !strings.HasSuffix(up.Name, c.ext) || up.Width != c.w || up.Height != c.h || up.Username != "alice" {
			t.Errorf("%s: %s %s %dx%d by %s", c.name, up.Name, up.ContentType, up.Width, up.Height, up.Username)
		}
		for _, s := range c.gone {
			if bytes.Contains(up.Data, []byte(s)) {
				t.Errorf("%s: %q is still in the stored picture", c.name, s)
			}
		}
		m, _, err := image.Decode(bytes.NewReader(up.Data))
		if err != nil || m.Bounds().Dx() != c.w || m.Bounds().Dy() != c.h {
			t.Errorf("%s: the stripped picture does not decode to %dx%d: %v", c.name, c.w, c.h, err)
		}
	}
	for name, data := range map[string][]byte{
		"text":           []byte("just some text, not a picture"),
		"svg":            []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`),
		"truncated jpeg": jpegWithExif(t)[:30],
		"huge":           pngHeader(MaxUploadSide+1, 10),
		"empty":          nil,
		"too many bytes": append(pngWithText(t), make([]byte, MaxUploadBytes)...),
	} {
		if up, err := tp.PrepareUpload(u, data); !errors.Is(err, store.ErrInvalid) {
			t.Errorf("%s: %v, %v; want a store.ErrInvalid", name, up, err)
		}
	}
	if _, err := tp.PrepareUpload(u, []byte("plain text")); !errors.Is(err, ErrNotPicture) {
		t.Errorf("text: %v, want ErrNotPicture", err)
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM uploads`); n != 0 {
		t.Errorf("%d uploads stored by PrepareUpload", n)
	}
}

// TestUploadPhotoFederates: alice uploads a photo and posts it publicly;
// her pod serves the picture at the photo's URL, the post's Photo carries
// its size, and bob's pod shows the photo from alice's pod.
func TestUploadPhotoFederates(t *testing.T) {
	a, b := startPod(t), startPod(t)
	alice, aliceTok := a.user(t, "alice")
	_, bobTok := b.user(t, "bob")
	b.call(t, "POST", "/api/contacts", bobTok, map[string]string{"id": alice, "aspect": "Friends"}, http.StatusCreated, nil)
	waitFor(t, "A to learn that bob follows alice", func() bool {
		return a.count(t, `SELECT COUNT(*) FROM contacts WHERE username = 'alice' AND sharing = 1`) == 1
	})
	ctx := context.Background()
	u, _ := a.store.UserByName(ctx, "alice")
	up, err := a.PrepareUpload(u, jpegWithExif(t))
	if err != nil {
		t.Fatal(err)
	}
	photoURL, err := a.SaveUpload(ctx, up)
	if err != nil || photoURL != a.URL+"uploads/images/"+up.Name {
		t.Fatalf("SaveUpload = %q, %v", photoURL, err)
	}
	resp := get(t, photoURL)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/jpeg" || !bytes.Equal(body, up.Data) ||
		!strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET %s = %d %q, %d bytes", photoURL, resp.StatusCode, resp.Header, len(body))
	}
	if resp := get(t, a.URL+"uploads/images/nosuchpicture.jpg"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown upload: %d", resp.StatusCode)
	}

	var post store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "look", "photos": []string{photoURL}}, http.StatusCreated, &post)
	waitFor(t, "the post on B", func() bool { _, ok := b.post(t, bobTok, post.GUID); return ok })
	pb, _ := b.post(t, bobTok, post.GUID)
	if len(pb.Photos) != 1 || pb.Photos[0] != photoURL {
		t.Errorf("photos on B: %q, want %q", pb.Photos, photoURL)
	}
	resp = get(t, a.URL+"fetch/post/"+post.GUID)
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	env, err := magicenv.Parse(raw, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := entities.ParseXML(env.Payload(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sm := e.(*entities.StatusMessage)
	if len(sm.Photos) != 1 || sm.Photos[0].Width != 12 || sm.Photos[0].Height != 8 || sm.Photos[0].RemotePhotoName != up.Name {
		t.Errorf("the federated Photo: %+v", sm.Photos)
	}

	// Deleting the post deletes its picture; another person's picture
	// named in someone else's post stays.
	a.call(t, "DELETE", "/api/posts/"+post.GUID, aliceTok, nil, http.StatusNoContent, nil)
	if resp := get(t, photoURL); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the photo of a deleted post: %d, want 404", resp.StatusCode)
	}
	a.user(t, "bob")
	bobUser, _ := a.store.UserByName(ctx, "bob")
	bobUp, _ := a.PrepareUpload(bobUser, pngWithText(t))
	bobURL, err := a.SaveUpload(ctx, bobUp)
	if err != nil {
		t.Fatal(err)
	}
	var p2 store.PostView
	a.call(t, "POST", "/api/posts", aliceTok, map[string]any{"text": "bob's picture", "photos": []string{bobURL}}, http.StatusCreated, &p2)
	a.call(t, "DELETE", "/api/posts/"+p2.GUID, aliceTok, nil, http.StatusNoContent, nil)
	if resp := get(t, bobURL); resp.StatusCode != http.StatusOK {
		t.Errorf("bob's picture after alice deleted her post naming it: %d, want 200", resp.StatusCode)
	}
}

// TestAPIPhotos: POST /api/photos stores a picture (its metadata
// stripped) whose URL a post then carries; a file that is no picture is
// 422 and a body over the cap 413, and neither stores anything.
func TestAPIPhotos(t *testing.T) {
	tp := startPod(t)
	_, tok := tp.user(t, "alice")
	var bad map[string]string
	tp.call(t, "POST", "/api/photos", tok, map[string]any{"data": []byte("not a picture")}, http.StatusUnprocessableEntity, &bad)
	if !strings.Contains(bad["error"], "not a JPEG, PNG or GIF") {
		t.Errorf("a text file: %q", bad["error"])
	}
	tp.call(t, "POST", "/api/photos", tok, map[string]any{"data": make([]byte, MaxUploadBytes+64<<10)}, http.StatusRequestEntityTooLarge, nil)
	if n := tp.count(t, `SELECT COUNT(*) FROM uploads`); n != 0 {
		t.Fatalf("%d uploads after two refusals", n)
	}
	var got struct {
		GUID, URL string
		Width     int
	}
	tp.call(t, "POST", "/api/photos", tok, map[string]any{"data": jpegWithExif(t)}, http.StatusCreated, &got)
	if got.Width != 12 || got.URL != tp.URL+"uploads/images/"+got.GUID+".jpg" {
		t.Fatalf("upload: %+v", got)
	}
	resp := get(t, got.URL)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if bytes.Contains(body, []byte("GPSLatitude")) || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %d, location kept %v", got.URL, resp.StatusCode, bytes.Contains(body, []byte("GPSLatitude")))
	}
	var post store.PostView
	tp.call(t, "POST", "/api/posts", tok, map[string]any{"text": "with a photo", "photos": []string{got.URL}}, http.StatusCreated, &post)
	if len(post.Photos) != 1 || post.Photos[0] != got.URL {
		t.Errorf("the post's photos: %v", post.Photos)
	}
}

// TestUploadAllowance: a person may store UploadsPerDay pictures in a
// day; the next is refused and not stored.
func TestUploadAllowance(t *testing.T) {
	tp := startPod(t)
	tp.user(t, "alice")
	ctx := context.Background()
	u, _ := tp.store.UserByName(ctx, "alice")
	data := pngWithText(t)
	for i := range UploadsPerDay + 1 {
		up, err := tp.PrepareUpload(u, data)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tp.SaveUpload(ctx, up)
		if i < UploadsPerDay && err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
		if i == UploadsPerDay && !errors.Is(err, store.ErrInvalid) {
			t.Errorf("upload %d of a day: %v, want ErrInvalid", i+1, err)
		}
	}
	if n := tp.count(t, `SELECT COUNT(*) FROM uploads`); n != UploadsPerDay {
		t.Errorf("%d uploads stored, want %d", n, UploadsPerDay)
	}
}

// TestUploadQuota: past Config.UploadQuota bytes a person's next picture
// is refused and not stored; deleting a post with pictures makes room.
func TestUploadQuota(t *testing.T) {
	data := pngWithText(t)
	tp, _ := startPodConfigured(t, t.TempDir(), "127.0.0.1:0", testLogger(t), func(c *Config) { c.UploadQuota = int64(2*len(data) + 10) })
	_, tok := tp.user(t, "alice")
	ctx := context.Background()
	u, _ := tp.store.UserByName(ctx, "alice")
	var urls []string
	for i := range 3 {
		up, err := tp.PrepareUpload(u, data)
		if err != nil {
			t.Fatal(err)
		}
		url, err := tp.SaveUpload(ctx, up)
		if i < 2 && err != nil {
			t.Fatalf("upload %d: %v", i+1, err)
		}
		if i == 2 && (!errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), "MiB this pod keeps")) {
			t.Fatalf("the upload past the quota: %v", err)
		}
		urls = append(urls, url)
	}
	var post store.PostView
	tp.call(t, "POST", "/api/posts", tok, map[string]any{"text": "two pictures", "photos": urls[:2]}, http.StatusCreated, &post)
	tp.call(t, "DELETE", "/api/posts/"+post.GUID, tok, nil, http.StatusNoContent, nil)
	up, _ := tp.PrepareUpload(u, data)
	if _, err := tp.SaveUpload(ctx, up); err != nil {
		t.Errorf("an upload after deleting the post with two pictures: %v", err)
	}
}

// FuzzStripMetadata: the strippers never panic, never grow a file, and
// what they return from a JPEG has no APP1 segment before its scan.
func FuzzStripMetadata(f *testing.F) {
	f.Add(jpegWithExif(f))
	f.Add(pngWithText(f))
	f.Add(pngHeader(3, 3))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []string{"jpeg", "png", "gif", "webp"} {
			out, _, err := stripMetadata(format, data)
			if err != nil {
				continue
			}
			if len(out) > len(data) {
				t.Fatalf("%s: %d bytes out of %d", format, len(out), len(data))
			}
			if format == "jpeg" {
				again, err := stripJPEG(out)
				if err != nil || !bytes.Equal(again, out) {
					t.Fatalf("stripping a stripped JPEG changes it: %v", err)
				}
			}
		}
	})
}
