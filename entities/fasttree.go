package entities

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// xmlDecls are the XML declarations fastTree reads: the ones senders write.
var xmlDecls = [...]string{
	`<?xml version="1.0" encoding="UTF-8"?>`,
	`<?xml version="1.0" encoding="utf-8"?>`,
	`<?xml version="1.0"?>`,
}

// fastFrame is an open element of fastTree: the node and where its
// pending children and parts start on the shared stacks.
type fastFrame struct {
	n            *node
	kids, pieces int
}

// fastTree builds the tree of a document of the shape entity XML has in
// practice, without encoding/xml: an optional byte order mark and XML
// declaration (one of xmlDecls), then elements with plain ASCII names
// (no prefix, no attributes, no white space inside the tags), text of
// valid XML characters other than CR, with the five predefined entity
// references and character references, and white space around the root.
// It returns ok == false for anything else (comments, processing
// instructions, CDATA, DOCTYPEs, attributes, truncated documents, errors,
// documents over maxDepth or maxElements), which slowTree then reads or
// refuses as before; whatever fastTree accepts, slowTree reads to the
// same tree, which FuzzFastTree checks.
func fastTree(data []byte, maxDepth, maxElements int) (root *node, ok bool) {
	// Each element has one or two tags, and each part is an element or
	// text before a tag. A document of more tags than twice the element
	// budget (and an XML declaration) goes to slowTree at once: it has
	// too many elements, or something else than elements and text.
	tags := bytes.Count(data, []byte{'<'})
	if tags > 2*maxElements+1 {
		return nil, false
	}
	// One copy of the document: names and text without references are
	// substrings of it.
	s := string(data)
	i := 0
	if strings.HasPrefix(s, "\xEF\xBB\xBF") {
		i = 3
	}
	for _, d := range xmlDecls {
		if strings.HasPrefix(s[i:], d) {
			i += len(d)
			break
		}
	}
	est := tags/2 + 1
	var (
		frameBuf [DefaultMaxDepth]fastFrame
		kidBuf   [64]*node
		pieceBuf [64]part
		frames   = frameBuf[:0]
		kids     = kidBuf[:0] // children of the open elements
		pieces   = pieceBuf[:0]
		// Finished elements take their children and parts from these.
		kidArena   = make([]*node, 0, est)
		pieceArena = make([]part, 0, tags+est)
		slab       []node
		elements   int
	)
	closeTop := func(end int) {
		f := frames[len(frames)-1]
		frames = frames[:len(frames)-1]
		n := f.n
		n.end = int64(end)
		if len(kids) > f.kids {
			k := len(kidArena)
			kidArena = append(kidArena, kids[f.kids:]...)
			n.children = kidArena[k:len(kidArena):len(kidArena)]
			kids = kids[:f.kids]
		}
		if len(pieces) > f.pieces {
			k := len(pieceArena)
			pieceArena = append(pieceArena, pieces[f.pieces:]...)
			n.parts = pieceArena[k:len(pieceArena):len(pieceArena)]
			pieces = pieces[:f.pieces]
		}
	}
	for i < len(s) {
		if s[i] != '<' {
			j := strings.IndexByte(s[i:], '<')
			if j < 0 {
				j = len(s) - i
			}
			run := s[i : i+j]
			i += j
			if len(frames) == 0 {
				if !xmlSpace(run) {
					return nil, false
				}
				continue
			}
			text, ok := fastText(run)
			if !ok {
				return nil, false
			}
			frames[len(frames)-1].n.hasChildNodes = true
			pieces = append(pieces, part{text: text, child: -1})
			continue
		}
		if i+1 >= len(s) {
			return nil, false
		}
		if s[i+1] == '/' {
			if len(frames) == 0 {
				return nil, false
			}
			name := frames[len(frames)-1].n.name
			end := i + 2 + len(name)
			if end >= len(s) || s[end] != '>' || s[i+2:end] != name {
				return nil, false
			}
			closeTop(end + 1)
			i = end + 1
			continue
		}
		j := i + 1
		for j < len(s) && nameByte(s[j], j == i+1) {
			j++
		}
		if j == i+1 || j >= len(s) {
			return nil, false
		}
		name := s[i+1 : j]
		selfClosing := false
		switch {
		case s[j] == '>':
			j++
		case s[j] == '/' && j+1 < len(s) && s[j+1] == '>':
			selfClosing = true
			j += 2
		default:
			return nil, false
		}
		if root != nil && len(frames) == 0 {
			return nil, false // content after the root element
		}
		elements++
		if elements > maxElements || len(frames)+1 > maxDepth {
			return nil, false
		}
		if len(slab) == cap(slab) {
			slab = make([]node, 0, min(max(est-elements+1, 4), 256))
		}
		slab = slab[:len(slab)+1]
		n := &slab[len(slab)-1]
		n.name, n.start = name, int64(i)
		if len(frames) == 0 {
			root = n
		} else {
			p := &frames[len(frames)-1]
			p.n.hasChildNodes = true
			pieces = append(pieces, part{child: len(kids) - p.kids})
			kids = append(kids, n)
		}
		frames = append(frames, fastFrame{n: n, kids: len(kids), pieces: len(pieces)})
		i = j
		if selfClosing {
			closeTop(i)
		}
	}
	if root == nil || len(frames) != 0 {
		return nil, false
	}
	return root, true
}

// nameByte reports whether c may stand in an element name that fastTree
// reads: ASCII letters and '_', then also digits, '-' and '.'.
func nameByte(c byte, first bool) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		return true
	case '0' <= c && c <= '9', c == '-', c == '.':
		return !first
	}
	return false
}

// xmlSpace reports whether s holds only XML white space.
func xmlSpace(s string) bool {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// fastText checks a run of character data as encoding/xml does and
// resolves its references. It returns ok == false for CR (which
// encoding/xml rewrites), "]]>", invalid UTF-8, characters outside the
// XML Char production and references it does not read the same way.
func fastText(run string) (string, bool) {
	refs := false
	for k := 0; k < len(run); k++ {
		switch c := run[k]; {
		case c == '&':
			refs = true
		case c == '>':
			if k >= 2 && run[k-1] == ']' && run[k-2] == ']' {
				return "", false
			}
		case c < 0x20:
			if c != '\t' && c != '\n' {
				return "", false
			}
		case c >= 0x80:
			r, size := utf8.DecodeRuneInString(run[k:])
			if (r == utf8.RuneError && size == 1) || !isXMLChar(r) {
				return "", false
			}
			k += size - 1
		}
	}
	if !refs {
		return run, true
	}
	var b strings.Builder // its String does not copy
	b.Grow(len(run))
	for k := 0; k < len(run); {
		c := run[k]
		if c != '&' {
			b.WriteByte(c)
			k++
			continue
		}
		semi := strings.IndexByte(run[k:], ';')
		if semi < 2 || semi > 12 {
			return "", false
		}
		ref := run[k+1 : k+semi]
		k += semi + 1
		switch ref {
		case "amp":
			b.WriteByte('&')
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "apos":
			b.WriteByte('\'')
		case "quot":
			b.WriteByte('"')
		default:
			r, ok := charRef(ref)
			if !ok {
				return "", false
			}
			b.WriteRune(r)
		}
	}
	return b.String(), true
}

// charRef reads the body of a character reference ("#65", "#x41") to
// a character of the XML Char production.
func charRef(ref string) (rune, bool) {
	if len(ref) < 2 || ref[0] != '#' {
		return 0, false
	}
	digits, base := ref[1:], 10
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if digits == "" {
		return 0, false
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if !('0' <= c && c <= '9' || base == 16 && ('a' <= c && c <= 'f' || 'A' <= c && c <= 'F')) {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || n > utf8.MaxRune || !isXMLChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}
