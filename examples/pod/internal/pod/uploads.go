package pod

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/gif" // the formats a picture may have
	_ "image/jpeg"
	_ "image/png"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Pictures people upload (LIMITS.md): JPEG, PNG or GIF, each at most
// MaxUploadBytes and MaxUploadSide pixels a side, UploadsPerDay a person.
// Location and camera data (JPEG's Exif and XMP, PNG's text and eXIf
// chunks) are removed before anything is stored, as diaspora* does.
const (
	MaxUploadBytes = 5 << 20
	MaxUploadSide  = 16384
	UploadsPerDay  = 100
)

// DefaultUploadQuota is how many bytes of pictures one person keeps on
// the pod unless Config.UploadQuota says otherwise.
const DefaultUploadQuota = 1 << 30

// uploadPath is where the pod serves uploads, as diaspora* does.
const uploadPath = "uploads/images/"

// ErrNotPicture is the refusal of an upload that is no JPEG, PNG or GIF
// picture (it wraps store.ErrInvalid).
var ErrNotPicture = fmt.Errorf("%w: the file is not a JPEG, PNG or GIF picture", store.ErrInvalid)

// PrepareUpload checks data as a picture of u and strips its metadata;
// nothing is stored until SaveUpload. Every file of a post is prepared
// before any is saved, so that one bad file leaves nothing behind.
func (p *Pod) PrepareUpload(u *store.User, data []byte) (*store.Upload, error) {
	if len(data) > MaxUploadBytes {
		return nil, fmt.Errorf("%w: a picture is at most %d MiB", store.ErrInvalid, MaxUploadBytes>>20)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, ErrNotPicture
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > MaxUploadSide || cfg.Height > MaxUploadSide {
		return nil, fmt.Errorf("%w: a picture is at most %d pixels a side", store.ErrInvalid, MaxUploadSide)
	}
	clean, ext, err := stripMetadata(format, data)
	if err != nil {
		return nil, ErrNotPicture
	}
	return &store.Upload{Name: NewGUID() + ext, Username: u.Username, ContentType: "image/" + format,
		Width: cfg.Width, Height: cfg.Height, Data: clean, CreatedAt: time.Now()}, nil
}

// SaveUpload stores a prepared picture, within the person's daily
// allowance, and returns its URL.
func (p *Pod) SaveUpload(ctx context.Context, up *store.Upload) (string, error) {
	if err := p.store.AddUpload(ctx, *up, store.UploadLimits{Since: time.Now().Add(-24 * time.Hour), Max: UploadsPerDay, Quota: p.cfg.UploadQuota}); err != nil {
		return "", err
	}
	return p.base + uploadPath + up.Name, nil
}

// maxPhotoAPIBody caps the body of POST /api/photos: a picture of
// MaxUploadBytes in base64, and the JSON around it.
const maxPhotoAPIBody = MaxUploadBytes/3*4 + 4<<10

// apiUploadPhoto is POST /api/photos: {"data": base64 of a picture}
// stores it (as the web publisher does) and answers its guid, URL and
// size; the URL goes in a post's "photos".
func (p *Pod) apiUploadPhoto(w http.ResponseWriter, r *http.Request, u *store.User) {
	var in struct {
		Data []byte `json:"data"` // encoding/json reads base64
	}
	if !readJSONLimit(w, r, &in, maxPhotoAPIBody) {
		return
	}
	up, err := p.PrepareUpload(u, in.Data)
	if err == nil {
		var url string
		if url, err = p.SaveUpload(r.Context(), up); err == nil {
			writeJSON(w, http.StatusCreated, map[string]any{"guid": strings.TrimSuffix(up.Name, path.Ext(up.Name)),
				"url": url, "content_type": up.ContentType, "width": up.Width, "height": up.Height})
			return
		}
	}
	p.fail(w, r, err)
}

// serveUpload answers GET /uploads/images/{name}: the picture, cached for
// good (a name is never reused).
func (p *Pod) serveUpload(w http.ResponseWriter, r *http.Request) {
	up, err := p.store.GetUpload(r.Context(), r.PathValue("name"))
	if errors.Is(err, store.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.log.ErrorContext(r.Context(), "serving an upload", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", up.ContentType)
	h.Set("Content-Length", strconv.Itoa(len(up.Data)))
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(up.Data)
}

// uploadNames gives the names of the photos among urls that are this
// pod's uploads (a deleted post takes them with it).
func (p *Pod) uploadNames(urls []string) []string {
	var names []string
	for _, u := range urls {
		if name, ok := strings.CutPrefix(u, p.base+uploadPath); ok && name != "" && !strings.Contains(name, "/") {
			names = append(names, name)
		}
	}
	return names
}

// Export is the "download my data" of u: store.ExportUser with the URL
// of each upload.
func (p *Pod) Export(ctx context.Context, u *store.User) (*store.Export, error) {
	x, err := p.store.ExportUser(ctx, u)
	if err != nil {
		return nil, err
	}
	for i := range x.Uploads {
		x.Uploads[i].URL = p.base + uploadPath + x.Uploads[i].Name
	}
	return x, nil
}

// photoSizes gives the photos of sm that are this pod's uploads their
// width and height.
func (p *Pod) photoSizes(ctx context.Context, sm *entities.StatusMessage) error {
	for _, ph := range sm.Photos {
		if ph.RemotePhotoPath != p.base+uploadPath {
			continue
		}
		up, err := p.store.GetUpload(ctx, ph.RemotePhotoName)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		ph.Width, ph.Height = up.Width, up.Height
	}
	return nil
}

// errBadPicture is what the strippers return for a file whose structure
// they cannot follow.
var errBadPicture = errors.New("malformed picture")

// stripMetadata returns data without the metadata that can locate or
// identify a person, and the file extension of its format (from
// image.DecodeConfig): JPEG loses its APP1 (Exif, XMP), APP13 (IPTC) and
// comment segments, PNG its text, eXIf and tIME chunks; GIF is kept as it
// is.
func stripMetadata(format string, data []byte) ([]byte, string, error) {
	switch format {
	case "jpeg":
		out, err := stripJPEG(data)
		return out, ".jpg", err
	case "png":
		out, err := stripPNG(data)
		return out, ".png", err
	case "gif":
		return data, ".gif", nil
	}
	return nil, "", errBadPicture
}

// stripJPEG copies the segments of a JPEG file up to the start of the
// scan, leaving out APP1, APP13 and COM, then the scan and the rest as
// they are.
func stripJPEG(data []byte) ([]byte, error) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return nil, errBadPicture
	}
	out := make([]byte, 0, len(data))
	out = append(out, 0xFF, 0xD8)
	i := 2
	for {
		if i+1 >= len(data) || data[i] != 0xFF {
			return nil, errBadPicture
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0xDA: // start of scan: the image data follows
			return append(out, data[i:]...), nil
		case m == 0xD9: // end of image
			return append(out, data[i:i+2]...), nil
		case m == 0x01 || (m >= 0xD0 && m <= 0xD7): // no length
			out = append(out, data[i:i+2]...)
			i += 2
			continue
		}
		if i+4 > len(data) {
			return nil, errBadPicture
		}
		n := int(binary.BigEndian.Uint16(data[i+2:]))
		if n < 2 || i+2+n > len(data) {
			return nil, errBadPicture
		}
		if m != 0xE1 && m != 0xED && m != 0xFE {
			out = append(out, data[i:i+2+n]...)
		}
		i += 2 + n
	}
}

// pngSignature starts every PNG file.
var pngSignature = []byte("\x89PNG\r\n\x1a\n")

// stripPNG copies the chunks of a PNG file up to IEND, leaving out the
// text (tEXt, zTXt, iTXt), eXIf and tIME chunks.
func stripPNG(data []byte) ([]byte, error) {
	if !bytes.HasPrefix(data, pngSignature) {
		return nil, errBadPicture
	}
	out := make([]byte, 0, len(data))
	out = append(out, pngSignature...)
	for i := len(pngSignature); ; {
		if i+12 > len(data) {
			return nil, errBadPicture
		}
		n := binary.BigEndian.Uint32(data[i:])
		if n > uint32(len(data)-i-12) {
			return nil, errBadPicture
		}
		end := i + 12 + int(n)
		switch typ := string(data[i+4 : i+8]); typ {
		case "tEXt", "zTXt", "iTXt", "eXIf", "tIME":
		default:
			out = append(out, data[i:end]...)
			if typ == "IEND" {
				return out, nil
			}
		}
		i = end
	}
}
