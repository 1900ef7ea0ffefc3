package main

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// findTags returns the captures of tagPattern, `(?:^|[^\p{L}\p{N}_&/#])#([\p{L}\p{N}_-]+)`,
// in text, as FindAllStringSubmatch would, without the regexp: the inbox
// worker runs it on every received post, and the backtracking matcher
// was a tenth of its time. TestFindTagsMatchesRegexp holds them equal.
func findTags(text string) []string {
	var out []string
	lastEnd := 0 // a match's prefix character may not overlap the previous match
	for from := 0; from < len(text); {
		i := strings.IndexByte(text[from:], '#')
		if i < 0 {
			break
		}
		h := from + i
		from = h + 1
		if h > 0 {
			r, w := utf8.DecodeLastRuneInString(text[:h])
			if h-w < lastEnd || isTagBoundary(r) {
				continue
			}
		} else if lastEnd > 0 {
			continue
		}
		e := h + 1
		for e < len(text) {
			r, w := utf8.DecodeRuneInString(text[e:])
			if !isTagRune(r) {
				break
			}
			e += w
		}
		if e > h+1 {
			out = append(out, text[h+1:e])
			lastEnd, from = e, e
		}
	}
	return out
}

// isTagRune is [\p{L}\p{N}_-].
func isTagRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-'
}

// isTagBoundary is [\p{L}\p{N}_&/#]: a character that may not precede a tag.
func isTagBoundary(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '&' || r == '/' || r == '#'
}
