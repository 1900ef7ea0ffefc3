package entities_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/entities"
)

// TestStrictValues is the regression test of hostile case ET-06 (threat T3
// of testdata/hostile/README.md): by default, as in the reference, a typed
// value that does not parse is read as "no value"; with
// Options.StrictValues it is a validation error.
func TestStrictValues(t *testing.T) {
	const sm = `<status_message>
  <author>alice@pod-a.example.org</author>
  <guid>0f1e2d3c4b5a69788796a5b4c3d2e1f0</guid>
  <created_at>CREATED</created_at>
  <public>true</public>
  <text>x</text>
</status_message>`
	const photo = `<photo>
  <guid>accbbd065cfa2f34015026ccf9d67e58</guid>
  <author>alice@pod-a.example.org</author>
  <public>true</public>
  <created_at>2023-04-05T06:07:08Z</created_at>
  <remote_photo_path>https://pod-a.example.org/uploads/images/</remote_photo_path>
  <remote_photo_name>a.jpg</remote_photo_name>
  <height>HEIGHT</height>
  <width>1024</width>
</photo>`
	strict := &entities.Options{StrictValues: true}
	for _, tt := range []struct {
		name, in, prop string
	}{
		{"timestamp yesterday", strings.Replace(sm, "CREATED", "yesterday", 1), "created_at"},
		{"integer 1e9", strings.Replace(photo, "HEIGHT", "1e9", 1), "height"},
		{"integer -1", strings.Replace(photo, "HEIGHT", "-1", 1), "height"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := entities.ParseXML([]byte(tt.in), nil); err != nil {
				t.Errorf("default: %v, want accepted as the reference does", err)
			}
			_, err := entities.ParseXML([]byte(tt.in), strict)
			var ve *entities.ValidationError
			if !errors.Is(err, entities.ErrValidation) || !errors.As(err, &ve) || ve.Property != tt.prop || ve.Rule != "type" {
				t.Fatalf("strict: %v, want a type ValidationError on %s", err, tt.prop)
			}
		})
	}
	// Good and empty values stay fine under StrictValues.
	for _, in := range []string{
		strings.Replace(sm, "CREATED", "2023-04-05T06:07:08Z", 1),
		strings.Replace(sm, "<created_at>CREATED</created_at>", "<created_at></created_at>", 1),
		strings.Replace(photo, "HEIGHT", "768", 1),
	} {
		if _, err := entities.ParseXML([]byte(in), strict); err != nil {
			t.Errorf("strict, good value: %v", err)
		}
	}
	// The JSON form follows the same rule.
	js := `{"entity_type":"photo","entity_data":{"guid":"accbbd065cfa2f34015026ccf9d67e58","author":"alice@pod-a.example.org","public":true,"created_at":"2023-04-05T06:07:08Z","remote_photo_path":"https://pod-a.example.org/uploads/images/","remote_photo_name":"a.jpg","height":HEIGHT,"width":1024}}`
	if _, err := entities.ParseJSON([]byte(strings.Replace(js, "HEIGHT", `"1e9"`, 1)), nil); err != nil {
		t.Errorf("JSON default: %v", err)
	}
	if _, err := entities.ParseJSON([]byte(strings.Replace(js, "HEIGHT", `"1e9"`, 1)), strict); !errors.Is(err, entities.ErrValidation) {
		t.Errorf("JSON strict string: %v, want ErrValidation", err)
	}
	if _, err := entities.ParseJSON([]byte(strings.Replace(js, "HEIGHT", `-1`, 1)), strict); !errors.Is(err, entities.ErrValidation) {
		t.Errorf("JSON strict number: %v, want ErrValidation", err)
	}
	if _, err := entities.ParseJSON([]byte(strings.Replace(js, "HEIGHT", `768`, 1)), strict); err != nil {
		t.Errorf("JSON strict good: %v", err)
	}
}
