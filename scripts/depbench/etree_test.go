// Package depbench measures candidate dependencies against the SDK's own
// code, in the same run, for README.md's "Dependencies" section. It is a
// module of its own so that the candidates never enter the SDK's go.mod:
//
//	cd scripts/depbench && go test -bench . -benchmem -count 5
package depbench

import (
	"os"
	"testing"

	"github.com/beevik/etree"

	"github.com/go-diaspora/federation/entities"
)

const vector = "../../testdata/vectors/reference/entity_xml/status_message_all_nested.xml"

func input(b *testing.B) []byte {
	data, err := os.ReadFile(vector)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

// BenchmarkStatusMessageAllNested compares building an etree document
// (a generic element tree, no validation) with entities.ParseXML, which
// reads the same bytes into a typed, validated entity through the SDK's
// hardened token tree.
func BenchmarkStatusMessageAllNested(b *testing.B) {
	data := input(b)
	b.Run("etree", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			doc := etree.NewDocument()
			if err := doc.ReadFromBytes(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("entities.ParseXML", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			if _, err := entities.ParseXML(data, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestSameInput keeps the benchmark honest: both readers accept the
// vector and see the same root element.
func TestSameInput(t *testing.T) {
	data, err := os.ReadFile(vector)
	if err != nil {
		t.Fatal(err)
	}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(data); err != nil {
		t.Fatal(err)
	}
	e, err := entities.ParseXML(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if doc.Root() == nil || doc.Root().Tag != e.Type() {
		t.Fatalf("etree root %v, entity %s", doc.Root(), e.Type())
	}
}
