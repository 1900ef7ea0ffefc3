package pod

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// TestFindTagsMatchesRegexp: findTags gives exactly the captures of
// tagPattern on random texts built from the characters that matter
// (boundaries, tag characters, multibyte letters and digits, invalid
// UTF-8).
func TestFindTagsMatchesRegexp(t *testing.T) {
	pieces := []string{"#", "#", "a", "Z", "é", "Ä", "٣", "1", "_", "-", "&", "/", " ", "\n", ".", "\xff", "\xe2\x82", "\xc3",
		"💬", "ß", "##", "#-", "-#"}
	rng := rand.New(rand.NewPCG(1, 2))
	regexpTags := func(text string) []string {
		var out []string
		for _, m := range tagPattern.FindAllStringSubmatch(text, -1) {
			out = append(out, m[1])
		}
		return out
	}
	for i := range 50000 {
		var b strings.Builder
		for range rng.IntN(24) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		text := b.String()
		if got, want := findTags(text), regexpTags(text); !slices.Equal(got, want) {
			t.Fatalf("case %d %q: findTags %q, regexp %q", i, text, got, want)
		}
	}
	for _, text := range []string{"", "#", "#go", "a#go", " #go-#x", "#a #b&#c /#d #e", "x #über #٣٣ #_-"} {
		if got, want := findTags(text), regexpTags(text); !slices.Equal(got, want) {
			t.Errorf("%q: findTags %q, regexp %q", text, got, want)
		}
	}
}

func BenchmarkParseTags(b *testing.B) {
	text := "load 1 #podload " + strings.Repeat("lorem ipsum ", 200)
	for b.Loop() {
		parseTags(text)
	}
}
