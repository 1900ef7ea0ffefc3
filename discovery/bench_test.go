package discovery_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

func BenchmarkParseJRD(b *testing.B) {
	data := readRefB(b, "webfinger_jrd/full.json")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := discovery.ParseJRD(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseXRD(b *testing.B) {
	data := readRefB(b, "webfinger_xrd/full.xml")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := discovery.ParseXRD(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseHCard(b *testing.B) {
	data := readRefB(b, "hcard_html/full.html")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := discovery.ParseHCard(data); err != nil {
			b.Fatal(err)
		}
	}
}

func readRefB(b *testing.B, rel string) []byte {
	b.Helper()
	data, err := os.ReadFile(filepath.Join(referenceSet, rel))
	if err != nil {
		b.Fatal(err)
	}
	return data
}
