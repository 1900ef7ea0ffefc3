package seeds

import (
	"bytes"
	"testing"
)

func TestFiles(t *testing.T) {
	all := Files(t, 0, Reference+"/entity_xml/*.xml")
	if len(all) < 10 {
		t.Fatalf("%d entity_xml vectors", len(all))
	}
	small := Files(t, 600, Reference+"/entity_xml/*.xml")
	if len(small) == 0 || len(small) >= len(all) {
		t.Errorf("maxSize 600 kept %d of %d", len(small), len(all))
	}
	for _, b := range small {
		if len(b) > 600 {
			t.Errorf("a %d-byte file passed maxSize 600", len(b))
		}
	}
	for _, b := range Hostile(t, 0, ".json") {
		if trimmed := bytes.TrimSpace(b); len(trimmed) > 0 && trimmed[0] == '<' {
			t.Errorf("an XML input among the .json ones: %.40q", trimmed)
		}
	}
	if len(Hostile(t, 0, ".xml")) < 20 {
		t.Error("fewer than 20 hostile XML inputs")
	}
}
