package render

import (
	"bytes"
	"regexp"
	"sort"

	"github.com/go-diaspora/federation/discovery"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	extast "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown is the one goldmark instance: its parsers and renderers keep no
// state between documents (the per-document state is in the parser
// context), so it is safe for concurrent use.
var markdown = newMarkdown(true)

// newMarkdown returns the goldmark instance: CommonMark less raw HTML,
// with strikethrough, tables, linkify, tags and mentions, and the
// renderers of links and images of this package. If bound, the goldmark
// parsers that take quadratic time on some text are wrapped in the bounds
// of the package doc; the tests compare the two.
func newMarkdown(bound bool) goldmark.Markdown {
	list, quote := parser.NewListParser(), parser.NewBlockquoteParser()
	code, link := parser.NewCodeSpanParser(), parser.NewLinkParser()
	em, del := parser.NewEmphasisParser(), extension.NewStrikethroughParser()
	var refs, table parser.ParagraphTransformer = parser.LinkReferenceParagraphTransformer, extension.NewTableParagraphTransformer()
	if bound {
		list, quote = bounded{list}, bounded{quote}
		code, link = codeSpanParser{code}, linkParser{link}
		em, del = delimiterParser{em}, delimiterParser{del}
		refs, table = refTransformer{refs}, tableTransformer{table}
	}
	return goldmark.New(
		goldmark.WithParser(parser.NewParser(
			// goldmark's defaults less the HTML block parser, so that
			// raw HTML is text.
			parser.WithBlockParsers(
				util.Prioritized(parser.NewSetextHeadingParser(), 100),
				util.Prioritized(parser.NewThematicBreakParser(), 200),
				util.Prioritized(list, 300),
				util.Prioritized(parser.NewListItemParser(), 400),
				util.Prioritized(parser.NewCodeBlockParser(), 500),
				util.Prioritized(parser.NewATXHeadingParser(), 600),
				util.Prioritized(parser.NewFencedCodeBlockParser(), 700),
				util.Prioritized(quote, 800),
				util.Prioritized(parser.NewParagraphParser(), 1000),
			),
			// goldmark's defaults less the raw HTML parser, plus
			// strikethrough, tags and mentions (linkify comes as an
			// extension).
			parser.WithInlineParsers(
				util.Prioritized(code, 100),
				util.Prioritized(link, 200),
				util.Prioritized(parser.NewAutoLinkParser(), 300),
				util.Prioritized(em, 500),
				util.Prioritized(del, 500),
				util.Prioritized(tagParser{}, 600),
				util.Prioritized(mentionParser{}, 600),
			),
			parser.WithParagraphTransformers(
				util.Prioritized(refs, 100),
				util.Prioritized(table, 200),
			),
			parser.WithASTTransformers(
				util.Prioritized(extension.NewTableASTTransformer(), 0),
				util.Prioritized(linkTransformer{}, 100),
			),
		)),
		goldmark.WithRenderer(renderer.NewRenderer(renderer.WithNodeRenderers(
			util.Prioritized(html.NewRenderer(html.WithHardWraps()), 1000),
			util.Prioritized(extension.NewStrikethroughHTMLRenderer(), 500),
			util.Prioritized(extension.NewTableHTMLRenderer(
				extension.WithTableCellAlignMethod(extension.TableCellAlignAttribute)), 500),
			util.Prioritized(nodeRenderer{}, 100), // overrides links and images
		))),
		goldmark.WithExtensions(
			extension.NewLinkify(
				extension.WithLinkifyAllowedProtocols([]string{"http:", "https:"}),
				// No bare e-mail addresses: mailto: is not an allowed
				// scheme, and they would catch the IDs of mentions.
				extension.WithLinkifyEmailRegexp(regexp.MustCompile(`^[^\x00-\x{10FFFF}]`)),
			),
		),
	)
}

// maxNesting is how deep in the document (counting the block quotes, lists
// and list items around it) a block quote or list may open: deeper, its
// marker is text. A list item is two levels (the list and the item), so
// this allows about 16 nested lists, or 32 nested block quotes.
const maxNesting = 32

// bounded is a container block parser (lists, block quotes) that opens no
// container deeper than maxNesting blocks: the marker is then text. The
// block parser checks every open container on every line, and the
// renderer recurses, so unbounded nesting would let a few kilobytes of
// ">>>>" or "- - - -" cost quadratic time.
type bounded struct{ parser.BlockParser }

func (b bounded) Open(parent ast.Node, reader text.Reader, pc parser.Context) (ast.Node, parser.State) {
	depth := 0
	for p := parent; p != nil; p = p.Parent() {
		if depth++; depth > maxNesting {
			stateOf(pc).bounded = true
			return nil, parser.NoChildren
		}
	}
	return b.BlockParser.Open(parent, reader, pc)
}

// maxDelimiters is how many emphasis and strikethrough delimiters (runs
// of '*', '_' or '~' that may open or close) a paragraph may have; past
// them, the characters are text. goldmark matches every closer with a walk
// back through all the delimiters before it.
const maxDelimiters = 256

// delimiterParser is goldmark's parser of emphasis or strikethrough
// delimiters, that gives at most maxDelimiters to a block.
type delimiterParser struct{ parser.InlineParser }

func (p delimiterParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	st := stateOf(pc)
	if st.delimiters >= maxDelimiters {
		last := pc.LastDelimiter()
		if last == st.lastCounted && last != nil {
			st.bounded = true
			return nil // counted already, and full
		}
		// The count is of all the delimiters pushed: count those still
		// in the block's list (that a link text may have matched, and
		// that the end of the previous block cleared).
		st.delimiters, st.lastCounted = 0, last
		for d := last; d != nil; d = d.PreviousDelimiter {
			st.delimiters++
		}
		if st.delimiters >= maxDelimiters {
			st.bounded = true
			return nil
		}
	}
	n := p.InlineParser.Parse(parent, block, pc)
	if n != nil {
		st.delimiters++
	}
	return n
}

func (p delimiterParser) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	if cb, ok := p.InlineParser.(parser.CloseBlocker); ok {
		cb.CloseBlock(parent, block, pc)
	}
}

// codeSpanParser is goldmark's code span parser, that does not look again
// for a closing run of backticks of a length it did not find after an
// earlier point of the block. goldmark's parser looks through the rest of
// the block for every opening run, so that unclosed runs make quadratic
// time.
type codeSpanParser struct{ parser.InlineParser }

func (p codeSpanParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	st := stateOf(pc)
	if st.codeBlock != parent {
		st.codeBlock, st.codeUnclosed = parent, map[int]int{}
	}
	line, seg := block.PeekLine()
	n := 0
	for n < len(line) && line[n] == '`' {
		n++
	}
	if from, ok := st.codeUnclosed[n]; ok && from <= seg.Start {
		// What goldmark's parser returns when it finds no closing run.
		block.Advance(n)
		return ast.NewTextSegment(seg.WithStop(seg.Start + n))
	}
	node := p.InlineParser.Parse(parent, block, pc)
	if _, ok := node.(*ast.Text); ok {
		if from, ok := st.codeUnclosed[n]; !ok || seg.Start < from {
			st.codeUnclosed[n] = seg.Start
		}
	}
	return node
}

// maxRefLines is how many lines starting with '[' a paragraph may have
// for its link reference definitions ("[label]: URL") to be read: goldmark
// reads every definition through every line of the paragraph after it.
const maxRefLines = 64

// refTransformer is goldmark's paragraph transformer of link reference
// definitions, given only paragraphs with at most maxRefLines lines that
// may start one. In the others, definitions are text.
type refTransformer struct{ parser.ParagraphTransformer }

func (t refTransformer) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines, src := node.Lines(), reader.Source()
	n := 0
	for i := range lines.Len() {
		seg := lines.At(i)
		line := seg.Value(src)
		if j := bytes.IndexFunc(line, func(r rune) bool { return r != ' ' && r != '\t' }); j >= 0 && line[j] == '[' {
			if n++; n > maxRefLines {
				stateOf(pc).bounded = true
				return
			}
		}
	}
	t.ParagraphTransformer.Transform(node, reader, pc)
}

// maxTableCells is how many cells the tables of a document may have in
// all. The table extension gives every row as many cells as the header,
// so a few kilobytes of pipes could make megabytes of HTML; a paragraph
// that could make more becomes no table.
const maxTableCells = 4096

// tableTransformer is the table extension's paragraph transformer, given
// only paragraphs whose table would fit in what is left of maxTableCells.
type tableTransformer struct{ parser.ParagraphTransformer }

func (t tableTransformer) Transform(node *ast.Paragraph, reader text.Reader, pc parser.Context) {
	lines := node.Lines()
	if lines.Len() < 2 {
		return
	}
	// At most as many columns as the pipes of a line, plus one, and as
	// many rows as lines.
	cols := 0
	for i := range lines.Len() {
		seg := lines.At(i)
		cols = max(cols, bytes.Count(seg.Value(reader.Source()), []byte{'|'})+1)
	}
	st := stateOf(pc)
	if cols*lines.Len() > maxTableCells-st.tableCells {
		st.bounded = true
		return
	}
	parent, prev, next := node.Parent(), node.PreviousSibling(), node.NextSibling()
	t.ParagraphTransformer.Transform(node, reader, pc)
	// A table made is inserted after the paragraph, which is removed if
	// it has no line left.
	var n ast.Node
	switch {
	case node.Parent() != nil:
		n = node.NextSibling()
	case prev != nil:
		n = prev.NextSibling()
	default:
		n = parent.FirstChild()
	}
	if tb, ok := n.(*extast.Table); ok && n != next {
		st.tableCells += tb.ChildCount() * len(tb.Alignments)
	}
}

// maxLinkTail is how long the "(destination "title")" of an inline link
// may be.
const maxLinkTail = 4096

// maxOpenLabels is how many link texts ("[" or "![" not yet closed) a
// paragraph may have open at a time; a '[' past them is text.
const maxOpenLabels = 32

// linkParser is goldmark's link parser, bounded so that hostile text stays
// linear in time (goldmark's own parser is quadratic on some inputs):
//
//   - At most maxOpenLabels link texts are open at once: every ']' walks
//     what follows the innermost open one (to refuse a link in a link).
//   - The "(destination "title")" of an inline link is parsed only if it
//     closes on the line of the ']' and within maxLinkTail bytes: goldmark
//     scans the rest of the line, or of the block for a title, for every
//     ']' followed by '('. A "(...)" that does not close so is not a link:
//     "[text]" is then a shortcut reference link or text, as when
//     goldmark's own parsing of it fails.
//   - The text of a link label is read with a binary search of the lines
//     of the block: goldmark reads it through every line of the block
//     after it.
type linkParser struct{ parser.InlineParser }

func (p linkParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, _ := block.PeekLine()
	if line[0] == '[' || (line[0] == '!' && len(line) > 1 && line[1] == '[') {
		st := stateOf(pc)
		open := st.labels[:0]
		for _, n := range st.labels {
			if n.Parent() != nil { // closed ones are replaced or removed
				open = append(open, n)
			}
		}
		clear(st.labels[len(open):])
		st.labels = open
		if len(open) >= maxOpenLabels {
			st.bounded = true
			return nil
		}
		n := p.InlineParser.Parse(parent, block, pc)
		if n != nil {
			st.labels = append(st.labels, n)
		}
		return n
	}
	r := text.Reader(block)
	if parent.Type() == ast.TypeBlock {
		r = blockValue{block, parent.Lines()}
	}
	if len(line) > 1 && line[0] == ']' && line[1] == '(' && !inlineLinkCloses(line[1:]) {
		stateOf(pc).bounded = true
		r = noParen{r}
	}
	return p.InlineParser.Parse(parent, r, pc)
}

// CloseBlock lets goldmark's parser turn the unclosed link texts of a
// block back into text.
func (p linkParser) CloseBlock(parent ast.Node, block text.Reader, pc parser.Context) {
	p.InlineParser.(parser.CloseBlocker).CloseBlock(parent, block, pc)
}

// blockValue is a reader of the lines of a block that reads the value of
// a segment as goldmark's block reader does (text.blockReader.Value), but
// finds its first line by binary search instead of a walk back from the
// last line of the block.
type blockValue struct {
	text.Reader
	lines *text.Segments
}

func (r blockValue) Value(seg text.Segment) []byte {
	n := r.lines.Len()
	// The last line starting at or before seg.
	line := sort.Search(n, func(i int) bool { return r.lines.At(i).Start > seg.Start }) - 1
	if line < 0 {
		return r.Reader.Value(seg)
	}
	src := r.Source()
	ret := make([]byte, 0, seg.Stop-seg.Start+1)
	i := seg.Start
	for ; line < n; line++ {
		s := r.lines.At(line)
		if i < 0 {
			i = s.Start
		}
		ret = s.ConcatPadding(ret)
		if j := min(seg.Stop, s.Stop); i < j {
			ret = append(ret, src[i:j]...)
		}
		i = -1
		if s.Stop > seg.Stop {
			break
		}
	}
	return ret
}

// noParen hides the '(' after a link text from the link parser, which then
// takes "[text]" for a shortcut reference.
type noParen struct{ text.Reader }

func (r noParen) Peek() byte {
	if c := r.Reader.Peek(); c != '(' {
		return c
	}
	return ' '
}

// inlineLinkCloses reports whether s, from the '(' after a link text to the
// end of the line, starts with an inline link's destination and title that
// close within maxLinkTail bytes: as goldmark's parser reads them
// (parseLinkDestination and parseLinkTitle of its parser/link.go), but on
// this line only.
func inlineLinkCloses(s []byte) bool {
	if len(s) > maxLinkTail {
		s = s[:maxLinkTail]
	}
	if bytes.IndexByte(s, ')') < 0 { // the quick answer for most hostile text
		return false
	}
	i := skipLineSpaces(s, 1)
	if i >= len(s) || s[i] == '\n' {
		return false
	}
	if s[i] == ')' {
		return true
	}
	if s[i] == '<' {
		for i++; ; i++ {
			if i >= len(s) || s[i] == '\n' {
				return false
			}
			if s[i] == '\\' && i+1 < len(s) && util.IsPunct(s[i+1]) {
				i++
			} else if s[i] == '>' {
				i++
				break
			}
		}
	} else {
		for opened := 0; ; i++ {
			if i >= len(s) {
				return false
			}
			c := s[i]
			if c == '\\' && i+1 < len(s) && util.IsPunct(s[i+1]) {
				i++
			} else if c == '(' {
				opened++
			} else if c == ')' {
				if opened--; opened < 0 {
					break
				}
			} else if util.IsSpace(c) {
				break
			}
		}
	}
	i = skipLineSpaces(s, i)
	if i >= len(s) {
		return false
	}
	closer := s[i]
	switch closer {
	case ')':
		return true
	case '"', '\'':
	case '(':
		closer = ')'
	default:
		return false
	}
	for i++; ; i++ {
		if i >= len(s) || s[i] == '\n' {
			return false
		}
		c := s[i]
		if c == '\\' && i+1 < len(s) && util.IsPunct(s[i+1]) {
			i++
		} else if c == closer {
			break
		} else if c == '(' && closer == ')' {
			return false
		}
	}
	i = skipLineSpaces(s, i+1)
	return i < len(s) && s[i] == ')'
}

// skipLineSpaces returns the index of the first byte of s from i that is
// not a space, or a newline.
func skipLineSpaces(s []byte, i int) int {
	for i < len(s) && s[i] != '\n' && util.IsSpace(s[i]) {
		i++
	}
	return i
}

// toHTML renders src, Markdown, with md as HTML not yet sanitized. It
// reports whether a bound against hostile text may have made the HTML
// other than goldmark's (some did not apply, or did not change anything).
func toHTML(md goldmark.Markdown, src []byte, o *Options) (html []byte, bounded bool) {
	st := &state{opts: o, lastTagEnd: -1}
	pc := parser.NewContext()
	pc.Set(stateKey, st)
	doc := md.Parser().Parse(text.NewReader(src), parser.WithContext(pc))
	var buf bytes.Buffer
	buf.Grow(len(src) + len(src)/2)
	// The renderers write to a bytes.Buffer, and fail only as it fails.
	_ = md.Renderer().Render(&buf, src, doc)
	return buf.Bytes(), st.bounded
}

// state is what the parsers of one document share, kept in its parser
// context.
type state struct {
	opts *Options
	// bounded is set when a bound against hostile text applied.
	bounded bool
	// labels are the link texts that the link parser opened, some of
	// them closed since.
	labels []ast.Node
	// delimiters is how many delimiters the delimiter parsers pushed
	// since the list was last counted, when its last was lastCounted.
	delimiters  int
	lastCounted *parser.Delimiter
	// codeUnclosed maps the length of a run of backticks to the first
	// offset in codeBlock after which no run of that length closes it.
	codeBlock    ast.Node
	codeUnclosed map[int]int
	// tableCells is how many cells the tables so far have.
	tableCells int
	// lastTagEnd is the offset in the source just after the last tag
	// matched: as with the pod's regexp, the character before a '#' may
	// not belong to the previous tag ("#a-#b" has one tag).
	lastTagEnd int
}

var stateKey = parser.NewContextKey()

func stateOf(pc parser.Context) *state { return pc.Get(stateKey).(*state) }

// kindTag and kindMention are the AST kinds of tags and mentions.
var (
	kindTag     = ast.NewNodeKind("DiasporaTag")
	kindMention = ast.NewNodeKind("DiasporaMention")
)

// linkNode is a tag or a mention: an inline link to URL, showing its
// children (one Text or String).
type linkNode struct {
	ast.BaseInline
	kind ast.NodeKind
	URL  string
	// inLink is set, by linkTransformer, on a tag or mention inside a
	// link, which stays text.
	inLink bool
}

func (n *linkNode) Kind() ast.NodeKind { return n.kind }

func (n *linkNode) Dump(source []byte, level int) {
	ast.DumpHelper(n, source, level, map[string]string{"URL": n.URL}, nil)
}

// tagParser parses #tags.
type tagParser struct{}

func (tagParser) Trigger() []byte { return []byte{'#'} }

func (tagParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	st := stateOf(pc)
	line, seg := block.PeekLine()
	if seg.Start == st.lastTagEnd || isTagBoundary(block.PrecendingCharacter()) {
		return nil
	}
	n := tagLength(line[1:])
	if n == 0 {
		return nil
	}
	st.lastTagEnd = seg.Start + 1 + n
	name := tagName(string(line[1 : 1+n]))
	if name == "" {
		return nil
	}
	block.Advance(1 + n)
	node := &linkNode{kind: kindTag, URL: st.opts.tagURL(name)}
	node.AppendChild(node, ast.NewTextSegment(text.NewSegment(seg.Start, seg.Start+1+n)))
	return node
}

// mentionParser parses @{Name; id@pod.example} and @{id@pod.example}
// mentions that fit on one line.
type mentionParser struct{}

func (mentionParser) Trigger() []byte { return []byte{'@'} }

func (mentionParser) Parse(parent ast.Node, block text.Reader, pc parser.Context) ast.Node {
	line, _ := block.PeekLine()
	id, name, n := matchMention(line)
	if n == 0 {
		return nil
	}
	block.Advance(n)
	node := &linkNode{kind: kindMention, URL: stateOf(pc).opts.personURL(id)}
	node.AppendChild(node, ast.NewString([]byte(name)))
	return node
}

func normalizeID(s string) (string, bool) {
	id, err := discovery.NormalizeID(s)
	return id, err == nil
}

// nodeRenderer renders tags and mentions, and replaces goldmark's
// renderers of links, autolinks and images: those write an element with
// an emptied URL for a dangerous one, these write the text alone for any
// URL that is not allowed.
type nodeRenderer struct{}

func (nodeRenderer) RegisterFuncs(reg renderer.NodeRendererFuncRegisterer) {
	reg.Register(kindTag, renderLinkNode)
	reg.Register(kindMention, renderLinkNode)
	reg.Register(ast.KindLink, renderLink)
	reg.Register(ast.KindAutoLink, renderAutoLink)
	reg.Register(ast.KindImage, renderImage)
}

// linkTransformer marks the tags and mentions inside links: a link's text
// is parsed before the parser knows it is one, so this is done once the
// document is parsed, in one walk.
//
// It also joins the text around a '#' that follows '&': the parser split
// the text there to try the tag parser, and "&#35;" must stay whole for
// the renderer to read it as a character reference.
type linkTransformer struct{}

func (linkTransformer) Transform(doc *ast.Document, reader text.Reader, pc parser.Context) {
	src := reader.Source()
	depth := 0 // of links around the node
	_ = ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Link, *ast.AutoLink:
			if entering {
				depth++
			} else {
				depth--
			}
		case *linkNode:
			n.inLink = depth > 0
		case *ast.Text:
			for entering && n.Segment.Len() > 0 && src[n.Segment.Stop-1] == '&' {
				next := n.NextSibling()
				if next == nil || !n.Merge(next, src) {
					break
				}
				n.Parent().RemoveChild(n.Parent(), next)
			}
		}
		return ast.WalkContinue, nil
	})
}

func renderLinkNode(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if node.(*linkNode).inLink {
		return ast.WalkContinue, nil
	}
	if entering {
		openLink(w, []byte(node.(*linkNode).URL), nil)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

// openLink writes the start tag of a link to href, with title if not nil.
func openLink(w util.BufWriter, href, title []byte) {
	_, _ = w.WriteString(`<a href="`)
	_, _ = w.Write(util.EscapeHTML(href))
	_, _ = w.WriteString(`" rel="` + linkRel + `"`)
	if title != nil {
		_, _ = w.WriteString(` title="`)
		html.DefaultWriter.Write(w, title)
		_ = w.WriteByte('"')
	}
	_ = w.WriteByte('>')
}

func renderLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	n := node.(*ast.Link)
	dest := util.URLEscape(n.Destination, true)
	if !allowedURL(dest, true) {
		return ast.WalkContinue, nil // the text alone
	}
	if entering {
		openLink(w, dest, n.Title)
	} else {
		_, _ = w.WriteString("</a>")
	}
	return ast.WalkContinue, nil
}

func renderAutoLink(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.AutoLink)
	url := util.URLEscape(n.URL(source), false)
	label := util.EscapeHTML(n.Label(source))
	if n.AutoLinkType != ast.AutoLinkURL || !allowedURL(url, false) {
		_, _ = w.Write(label)
		return ast.WalkContinue, nil
	}
	openLink(w, url, nil)
	_, _ = w.Write(label)
	_, _ = w.WriteString("</a>")
	return ast.WalkContinue, nil
}

func renderImage(w util.BufWriter, source []byte, node ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	n := node.(*ast.Image)
	dest := util.URLEscape(n.Destination, true)
	if !allowedURL(dest, false) {
		writeTexts(w, source, n) // the alt text alone
		return ast.WalkSkipChildren, nil
	}
	_, _ = w.WriteString(`<img src="`)
	_, _ = w.Write(util.EscapeHTML(dest))
	_, _ = w.WriteString(`" alt="`)
	writeTexts(w, source, n)
	_ = w.WriteByte('"')
	if n.Title != nil {
		_, _ = w.WriteString(` title="`)
		html.DefaultWriter.Write(w, n.Title)
		_ = w.WriteByte('"')
	}
	_, _ = w.WriteString(` loading="lazy">`)
	return ast.WalkSkipChildren, nil
}

// writeTexts writes the text of the descendants of n, escaped, as an
// image's alt.
func writeTexts(w util.BufWriter, source []byte, n ast.Node) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			html.DefaultWriter.Write(w, c.Segment.Value(source))
			if c.SoftLineBreak() || c.HardLineBreak() {
				_ = w.WriteByte(' ')
			}
		case *ast.String:
			html.DefaultWriter.Write(w, c.Value)
		default:
			writeTexts(w, source, c)
		}
	}
}

// allowedURL reports whether url, as written in an attribute, is absolute
// http or https with a host, or, if relative is true, relative. It allows no control
// character or space, which browsers drop from a URL before they read its
// scheme ("jav\tascript:").
func allowedURL(url []byte, relative bool) bool {
	if len(url) == 0 {
		return false
	}
	for _, c := range url {
		if c <= ' ' || c == 0x7f || c == '\\' {
			return false
		}
	}
	i := bytes.IndexAny(url, ":/?#")
	if i < 0 || url[i] != ':' {
		return relative
	}
	scheme, rest := url[:i], url[i:]
	return (bytes.EqualFold(scheme, []byte("http")) || bytes.EqualFold(scheme, []byte("https"))) &&
		bytes.HasPrefix(rest, []byte("://")) && len(rest) > 3 && bytes.IndexByte([]byte("/?#"), rest[3]) < 0
}
