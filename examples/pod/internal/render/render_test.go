package render

import (
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
)

// rel is the rel attribute of every link.
const rel = ` rel="nofollow noopener noreferrer"`

func tagLink(tag, shown string) string {
	return `<a href="/tags/` + url.PathEscape(tag) + `"` + rel + `>` + shown + `</a>`
}

func personLink(id, shown string) string {
	return `<a href="/people?q=` + url.QueryEscape(id) + `"` + rel + `>` + shown + `</a>`
}

type renderCase struct {
	name, in, want string
}

var markdownCases = []renderCase{
	{"empty", "", ""},
	{"paragraphs", "one\n\ntwo", "<p>one</p>\n<p>two</p>\n"},
	{"line break kept", "one\ntwo", "<p>one<br>\ntwo</p>\n"},
	{"emphasis", "*em* _em_ **strong** __strong__ ~~del~~", "<p><em>em</em> <em>em</em> <strong>strong</strong> <strong>strong</strong> <del>del</del></p>\n"},
	{"link", "[text](https://example.com/a?b=c&d=e)", `<p><a href="https://example.com/a?b=c&amp;d=e"` + rel + `>text</a></p>` + "\n"},
	{"link with title", `[text](http://example.com "the title")`, `<p><a href="http://example.com"` + rel + ` title="the title">text</a></p>` + "\n"},
	{"relative link", "[text](/posts/1)", `<p><a href="/posts/1"` + rel + `>text</a></p>` + "\n"},
	{"reference link", "[text][r]\n\n[r]: https://example.com", `<p><a href="https://example.com"` + rel + `>text</a></p>` + "\n"},
	{"autolink", "<https://example.com>", `<p><a href="https://example.com"` + rel + `>https://example.com</a></p>` + "\n"},
	{"bare URL", "see https://example.com/x.", `<p>see <a href="https://example.com/x"` + rel + `>https://example.com/x</a>.</p>` + "\n"},
	{"bare www", "see www.example.com", `<p>see <a href="http://www.example.com"` + rel + `>www.example.com</a></p>` + "\n"},
	{"bare e-mail address is text", "mail bob@example.com", "<p>mail bob@example.com</p>\n"},
	{"image", `![alt text](https://example.com/a.png "t")`, `<p><img src="https://example.com/a.png" alt="alt text" title="t" loading="lazy"></p>` + "\n"},
	{"image without http is its alt", "![alt](/a.png)", "<p>alt</p>\n"},
	{"unordered list", "- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n"},
	{"ordered list", "3. a\n4. b", "<ol start=\"3\">\n<li>a</li>\n<li>b</li>\n</ol>\n"},
	{"nested list", "- a\n  - b", "<ul>\n<li>a\n<ul>\n<li>b</li>\n</ul>\n</li>\n</ul>\n"},
	{"code span", "`a <b> *c*`", "<p><code>a &lt;b&gt; *c*</code></p>\n"},
	{"fenced code", "```go\nx := 1 < 2\n```", "<pre><code>x := 1 &lt; 2\n</code></pre>\n"},
	{"indented code", "    code", "<pre><code>code\n</code></pre>\n"},
	{"headings", "# One\n## Two\n###### Six", "<h1>One</h1>\n<h2>Two</h2>\n<h6>Six</h6>\n"},
	{"setext heading", "One\n===", "<h1>One</h1>\n"},
	{"blockquote", "> quoted\n> more", "<blockquote>\n<p>quoted<br>\nmore</p>\n</blockquote>\n"},
	{"rule", "a\n\n---\n\nb", "<p>a</p>\n<hr>\n<p>b</p>\n"},
	{"table", "| a | b |\n|:--|--:|\n| 1 | 2 |", "<table>\n<thead>\n<tr>\n<th align=\"left\">a</th>\n<th align=\"right\">b</th>\n</tr>\n</thead>\n<tbody>\n<tr>\n<td align=\"left\">1</td>\n<td align=\"right\">2</td>\n</tr>\n</tbody>\n</table>\n"},
	{"raw HTML is text", "<b>bold</b>", "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"},
	{"HTML block is text", "<div>\nx\n</div>", "<p>&lt;div&gt;<br>\nx<br>\n&lt;/div&gt;</p>\n"},
	{"entities", "&amp; &lt; &copy; &#35;", "<p>&amp; &lt; © #</p>\n"},
	{"backslash escape", `\*not em\*`, "<p>*not em*</p>\n"},
	{"link on two lines is text", "[a](\nhttps://example.com)", "<p>[a](<br>\n" + `<a href="https://example.com"` + rel + `>https://example.com</a>)</p>` + "\n"},
}

var tagCases = []renderCase{
	{"start of text", "#tag", "<p>" + tagLink("tag", "#tag") + "</p>\n"},
	{"after space", "a #tag b", "<p>a " + tagLink("tag", "#tag") + " b</p>\n"},
	{"start of line", "a\n#tag", "<p>a<br>\n" + tagLink("tag", "#tag") + "</p>\n"},
	{"after punctuation", "(#a) ,#b .#c", "<p>(" + tagLink("a", "#a") + ") ," + tagLink("b", "#b") + " ." + tagLink("c", "#c") + "</p>\n"},
	{"in emphasis", "**#tag**", "<p><strong>" + tagLink("tag", "#tag") + "</strong></p>\n"},
	{"ends at punctuation", "#tag.", "<p>" + tagLink("tag", "#tag") + ".</p>\n"},
	{"not after a letter", "a#tag", "<p>a#tag</p>\n"},
	{"not after a digit", "1#tag", "<p>1#tag</p>\n"},
	{"not after underscore", "_#tag", "<p>_#tag</p>\n"},
	{"not after ampersand", "&#tag", "<p>&amp;#tag</p>\n"},
	{"not after slash", "/#tag", "<p>/#tag</p>\n"},
	{"not after hash", "##tag", "<p>##tag</p>\n"},
	{"unicode", "#über #日本", "<p>" + tagLink("über", "#über") + " " + tagLink("日本", "#日本") + "</p>\n"},
	{"lowercased link, text as written", "#DiAsPoRa", "<p>" + tagLink("diaspora", "#DiAsPoRa") + "</p>\n"},
	{"trailing dash trimmed in link", "#tag--", "<p>" + tagLink("tag", "#tag--") + "</p>\n"},
	{"dashes only", "#--- #-", "<p>#--- #-</p>\n"},
	{"digits", "#2024", "<p>" + tagLink("2024", "#2024") + "</p>\n"},
	{"the next may not start in the previous", "#a-#b", "<p>" + tagLink("a", "#a-") + "#b</p>\n"},
	{"two", "#a #b", "<p>" + tagLink("a", "#a") + " " + tagLink("b", "#b") + "</p>\n"},
	{"heading is no tag", "# Title", "<h1>Title</h1>\n"},
	{"tag in heading", "## #tag", "<h2>" + tagLink("tag", "#tag") + "</h2>\n"},
	{"not in code span", "`#tag`", "<p><code>#tag</code></p>\n"},
	{"not in code block", "```\n#tag\n```", "<pre><code>#tag\n</code></pre>\n"},
	{"not in link text", "[#tag](https://example.com)", `<p><a href="https://example.com"` + rel + `>#tag</a></p>` + "\n"},
	{"not in link URL", "[x](https://example.com/#tag)", `<p><a href="https://example.com/#tag"` + rel + `>x</a></p>` + "\n"},
	{"not in bare URL", "https://example.com/x?a=#tag", `<p><a href="https://example.com/x?a=#tag"` + rel + `>https://example.com/x?a=#tag</a></p>` + "\n"},
	{"not in image alt", "![#tag](https://example.com/a.png)", `<p><img src="https://example.com/a.png" alt="#tag" loading="lazy"></p>` + "\n"},
	{"escaped hash", `\#tag`, "<p>#tag</p>\n"},
	{"in blockquote", ">#tag", "<blockquote>\n<p>" + tagLink("tag", "#tag") + "</p>\n</blockquote>\n"},
	{"in list", "- #tag", "<ul>\n<li>" + tagLink("tag", "#tag") + "</li>\n</ul>\n"},
}

var mentionCases = []renderCase{
	{"with name", "hi @{Alice Doe; alice@pod.example}!", "<p>hi " + personLink("alice@pod.example", "Alice Doe") + "!</p>\n"},
	{"without name", "@{alice@pod.example}", "<p>" + personLink("alice@pod.example", "alice@pod.example") + "</p>\n"},
	{"spaces", "@{ Alice ;  alice@pod.example  }", "<p>" + personLink("alice@pod.example", "Alice") + "</p>\n"},
	{"ID normalized", "@{Alice; Alice@Pod.Example}", "<p>" + personLink("alice@pod.example", "Alice") + "</p>\n"},
	{"empty name", "@{; alice@pod.example}", "<p>" + personLink("alice@pod.example", "alice@pod.example") + "</p>\n"},
	{"name escaped", "@{<b>x</b>; a@b.c}", "<p>" + personLink("a@b.c", "&lt;b&gt;x&lt;/b&gt;") + "</p>\n"},
	{"name with Markdown", "@{*x* [y](z); a@b.c}", "<p>" + personLink("a@b.c", "*x* [y](z)") + "</p>\n"},
	{"name with quote", `@{"><script>; a@b.c}`, "<p>" + personLink("a@b.c", "&#34;&gt;&lt;script&gt;") + "</p>\n"},
	{"invalid ID", "@{Alice; alice}", "<p>@{Alice; alice}</p>\n"},
	{"unclosed", "@{Alice; alice@pod.example", "<p>@{Alice; alice@pod.example</p>\n"},
	{"not in code", "`@{alice@pod.example}`", "<p><code>@{alice@pod.example}</code></p>\n"},
	{"not in link text", "[@{Alice; alice@pod.example}](https://example.com)", `<p><a href="https://example.com"` + rel + `>Alice</a></p>` + "\n"},
	{"then a tag", "@{Alice; alice@pod.example}#tag", "<p>" + personLink("alice@pod.example", "Alice") + tagLink("tag", "#tag") + "</p>\n"},
	{"two", "@{a@b.cd} @{B; b@c.de}", "<p>" + personLink("a@b.cd", "a@b.cd") + " " + personLink("b@c.de", "B") + "</p>\n"},
}

func runCases(t *testing.T, cases []renderCase, f func(string, *Options) template.HTML) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(f(c.in, nil))
			if got != c.want {
				t.Errorf("%q:\n got %q\nwant %q", c.in, got, c.want)
			}
			checkSafe(t, c.in, got, true)
		})
	}
}

func TestMarkdown(t *testing.T) { runCases(t, markdownCases, Markdown) }
func TestTags(t *testing.T)     { runCases(t, tagCases, Markdown) }
func TestMentions(t *testing.T) { runCases(t, mentionCases, Markdown) }

func TestPlain(t *testing.T) {
	runCases(t, []renderCase{
		{"empty", "", ""},
		{"escaped, no Markdown", "<b>*x*</b> & [a](b) &amp;", "&lt;b&gt;*x*&lt;/b&gt; &amp; [a](b) &amp;amp;"},
		{"line breaks", "a\nb\r\nc\rd", "a<br>\nb<br>\nc<br>\nd"},
		{"tags", "#a b#c (#Über) #d-#e #--", tagLink("a", "#a") + " b#c (" + tagLink("über", "#Über") + ") " + tagLink("d", "#d-") + "#e #--"},
		{"tag after line break", "x\n#a", "x<br>\n" + tagLink("a", "#a")},
		{"mentions", "@{A <b>; a@b.cd} @{a@b.cd}", personLink("a@b.cd", "A &lt;b&gt;") + " " + personLink("a@b.cd", "a@b.cd")},
		{"mention name on two lines", "@{A\nB; a@b.cd}", personLink("a@b.cd", "A\nB")},
		{"hostile", `<script>alert(1)</script><img src=x onerror=alert(1)>`, "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"},
	}, Plain)
}

// podTagPattern is the pod's tag rule (tagPattern, that findTags of
// examples/pod/internal/pod/tags.go implements).
var podTagPattern = regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&/#])#([\p{L}\p{N}_-]+)`)

// TestTagsAsThePod checks that the tags linked are the ones the pod
// indexes, for text with no Markdown in it (FuzzMarkdown checks Plain with
// any text).
func TestTagsAsThePod(t *testing.T) {
	for _, in := range []string{
		"#a #b,#c;#d\n#e", "x#a #b#c #d&#e #f/#g ##h #i_#j", "#a-#b #c--#d #---#e",
		"(#über) «#日本» #ça-va #x1 #1x #İstanbul", "#a\t#b\u00a0#c", "#a-b-c- #-x #_y",
		"@#a !#b ?#c %#d ~#e +#f =#g |#h", "#é#f #é-#f", "#a.#b #a,#b #a:#b",
	} {
		want := podTags(in)
		for name, f := range map[string]func(string, *Options) template.HTML{"Markdown": Markdown, "Plain": Plain} {
			if got := linkedTags(string(f(in, nil))); !slices.Equal(got, want) {
				t.Errorf("%s(%q): tags %q, the pod's %q", name, in, got, want)
			}
		}
	}
}

func TestOptions(t *testing.T) {
	o := &Options{
		TagURL:    func(tag string) string { return "https://pod.example/t/" + url.PathEscape(tag) },
		PersonURL: func(id string) string { return "/u/" + url.PathEscape(id) },
	}
	got := string(Markdown("#Tag @{A; a@b.cd}", o))
	want := `<p><a href="https://pod.example/t/tag"` + rel + `>#Tag</a> <a href="/u/a@b.cd"` + rel + `>A</a></p>` + "\n"
	if got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := string(Plain("#Tag @{A; a@b.cd}", o)); got != strings.TrimSuffix(strings.TrimPrefix(want, "<p>"), "</p>\n") {
		t.Errorf("Plain: got %q", got)
	}

	// URLs given by the options are sanitized too.
	evil := &Options{
		TagURL:    func(string) string { return "javascript:alert(1)" },
		PersonURL: func(string) string { return `"><script>alert(1)</script>` },
	}
	for _, f := range []func(string, *Options) template.HTML{Markdown, Plain} {
		out := string(f("#tag @{A; a@b.cd}", evil))
		checkSafe(t, "evil options", out, true)
	}
}

func TestMaxInput(t *testing.T) {
	for _, c := range []struct {
		in   string
		max  int
		want string
	}{
		{"abcdef", 3, "<p>abc…</p>\n"},
		{"abc", 3, "<p>abc</p>\n"},
		{"aéb", 2, "<p>a…</p>\n"}, // not in the middle of é
		{"aéb", 3, "<p>aé…</p>\n"},
		{"日本語", 4, "<p>日…</p>\n"},
		{"#tagname", 4, "<p>" + tagLink("tag", "#tag") + "…</p>\n"},
	} {
		got := string(Markdown(c.in, &Options{MaxInput: c.max}))
		if got != c.want {
			t.Errorf("Markdown(%q, MaxInput %d) = %q, want %q", c.in, c.max, got, c.want)
		}
	}
	long := strings.Repeat("a", defaultMaxInput+10)
	if got := string(Markdown(long, nil)); got != "<p>"+long[:defaultMaxInput]+"…</p>\n" {
		t.Errorf("default MaxInput: %d bytes out", len(got))
	}
	if got := string(Plain(long, &Options{MaxInput: 5})); got != "aaaaa…" {
		t.Errorf("Plain MaxInput 5: %q", got)
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, in := range []string{"\xff\xfe#tag", "a\x00b", "<\x00script>", "#\xc3", "@{\xff; a@b.cd}", "[x](https://a.example/\xff)"} {
		for _, f := range []func(string, *Options) template.HTML{Markdown, Plain} {
			checkSafe(t, in, string(f(in, nil)), true)
		}
	}
}

// TestConcurrent renders from many goroutines at once: the goldmark
// instance is shared (run with -race).
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				in := fmt.Sprintf("#t%d @{A; a%d@b.cd} [x](https://e.example/%d) | a |\n|---|\n| %d |", i, j, j, i)
				out := string(Markdown(in, nil))
				if !strings.Contains(out, fmt.Sprintf("/tags/t%d", i)) || !strings.Contains(out, fmt.Sprintf("a%d%%40b.cd", j)) {
					t.Errorf("%q: %q", in, out)
				}
			}
		})
	}
	wg.Wait()
}
