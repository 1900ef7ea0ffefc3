package discovery_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

// TestParseHCardVariants reads hand-written hCards in the markup styles
// of other software (made-up data, written for these tests): Friendica
// (hCard hidden in a full profile page, unclosed <img>, uid last, script
// and comment containing class names) and Hubzilla (XHTML with uppercase
// tags, single-quoted and unquoted attributes, several classes per
// element, entities, CRLF line ends, a PKCS#1 key and a GUID with "@").
func TestParseHCardVariants(t *testing.T) {
	tests := []struct {
		file                        string
		guid, fullName, first, last string
		searchable                  bool
		photo                       string
	}{
		{"hcard-friendica-style.html", "b6c0ee9f-3bcf-5773-14f8-4bc0ccaab0b1", "Alice Liddell", "Alice", "Liddell", true, "https://friendica.example/photo/custom/300/5.jpg?ts=1"},
		{"hcard-hubzilla-style.html", "0a1b2c3d4e5f6a7b@hub.example", "Renée Dupont", "Renée", "Dupont", false, "https://hub.example/photo/profile/l/2"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "testdata", "discovery", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			h, err := discovery.ParseHCard(data)
			if err != nil {
				t.Fatalf("ParseHCard: %v", err)
			}
			if h.GUID != tt.guid || h.FullName != tt.fullName || h.FirstName != tt.first || h.LastName != tt.last ||
				h.Searchable != tt.searchable || h.PhotoLarge != tt.photo {
				t.Errorf("ParseHCard = %+v", h)
			}
			key, err := h.PublicKey()
			if err != nil || key.N.BitLen() != 2048 {
				t.Errorf("PublicKey = %v, %v", key, err)
			}
		})
	}
}

func TestParseHCardIncomplete(t *testing.T) {
	full := string(readRef(t, "hcard_html/full.html"))
	for name, doc := range map[string]string{
		"no fn":             strings.Replace(full, `class="fn"`, `class="x"`, 1),
		"photo outside":     strings.Replace(full, `class="entity_photo"`, `class="entity_picture"`, 1),
		"photo without src": strings.Replace(full, `width="300" height="300" src=`, `width="300" height="300" data-src=`, 1),
		"empty":             "",
		"fn in a comment":   "<!-- <span class=\"fn\">x</span> --><div class=\"entity_photo\"><img class=\"photo\" src=\"/x\"></div>",
	} {
		if _, err := discovery.ParseHCard([]byte(doc)); discovery.Category(err) != "invalid_discovery_document" {
			t.Errorf("%s: ParseHCard = %v, want invalid_discovery_document", name, err)
		}
	}
	for name, doc := range map[string]string{
		"guid too short": strings.Replace(full, aliceGUID, "abc", 1),
		"name with ;":    strings.Replace(full, `<span class="fn">Alice Liddell`, `<span class="fn">Alice; Liddell`, 1),
		"long first":     strings.Replace(full, `<span class="given_name">Alice`, `<span class="given_name">`+strings.Repeat("x", 33), 1),
		"bad photo url":  strings.Replace(full, `src="https://pod-a.example.org/uploads/images/thumb_small_x.jpg"`, `src="https://pod a/x y"`, 1),
	} {
		if _, err := discovery.ParseHCard([]byte(doc)); discovery.Category(err) != "validation" {
			t.Errorf("%s: ParseHCard = %v, want validation", name, err)
		}
	}
}
