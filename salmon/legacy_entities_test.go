package salmon_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/internal/harness/vectors"
)

// TestLegacySlapEntities reads the payload of every valid legacy slap
// (public and private) with the legacy vocabulary and compares the
// neutral view with the one the 0.2.6 reference produced. Without the
// legacy option the same payloads are refused.
func TestLegacySlapEntities(t *testing.T) {
	m := vectors.Reference(t)
	n := 0
	for _, v := range m.Vectors {
		if (v.Kind != "legacy_slap_public" && v.Kind != "legacy_slap_private") || !v.Expected.Valid {
			continue
		}
		n++
		t.Run(v.ID, func(t *testing.T) {
			if v.Oracle != "legacy" {
				t.Fatalf("oracle %q, want legacy", v.Oracle)
			}
			body, err := m.ReadFile(v.File)
			if err != nil {
				t.Fatal(err)
			}
			_, payload, err := openSlap(t, m, v, body)
			if err != nil {
				t.Fatal(err)
			}
			e, err := entities.ParseXML(payload, &entities.Options{Legacy: true, LegacyWrapper: true})
			if err != nil {
				t.Fatalf("ParseXML(legacy) = %v", err)
			}
			var want any
			if err := json.Unmarshal(v.Expected.Entity, &want); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, viewAsJSON(t, e)); diff != "" {
				t.Errorf("view (-want +got):\n%s", diff)
			}
			// Without the legacy option a payload is refused, or (when
			// it already uses the current vocabulary) read the same.
			switch current, err := entities.ParseXML(payload, nil); {
			case err == nil:
				if diff := cmp.Diff(want, viewAsJSON(t, current)); diff != "" {
					t.Errorf("read differently without the legacy option (-want +got):\n%s", diff)
				}
			case !errors.Is(err, entities.ErrUnknownEntity) && !errors.Is(err, entities.ErrValidation):
				t.Errorf("without legacy: %v, want unknown entity or validation", err)
			}
		})
	}
	if n != 15 {
		t.Errorf("%d valid legacy slaps, want 15", n)
	}
}

func viewAsJSON(t *testing.T, e entities.Entity) any {
	t.Helper()
	b, err := json.Marshal(entities.ViewOf(e))
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}
