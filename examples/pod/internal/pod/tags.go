package pod

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-diaspora/federation/discovery"
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

// parseTags returns the lowercased #hashtags of a text, once each.
func parseTags(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range findTags(text) { // tagPattern's captures
		t := strings.ToLower(strings.TrimRight(m, "-"))
		if t != "" && !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// parseMentions returns the diaspora* IDs of @{Name; id} and @{id}
// mentions, once each.
func parseMentions(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range mentionPattern.FindAllStringSubmatch(text, -1) {
		id, err := discovery.NormalizeID(m[1])
		if err == nil && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

var (
	tagPattern     = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&/#])#([\p{L}\p{N}_-]+)`)
	mentionPattern = regexp.MustCompile(`@\{(?:[^{}@;]*;\s*)?([^{};\s]+@[^{};\s]+)\s*\}`)
)
