package render

import (
	"strings"
	"testing"
)

// hostileCases are attempts to get markup, scripts or dangerous URLs
// through. For each, want is a part that the output must have (or "" for
// none), to show what became of the attempt.
var hostileCases = []struct{ name, in, want string }{
	{"script element", "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"},
	{"script block", "<script>\nalert(1)\n</script>", "&lt;script&gt;"},
	{"img onerror", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
	{"javascript link", "[x](javascript:alert(1))", "<p>x</p>"},
	{"javascript link, mixed case", "[x](JaVaScRiPt:alert(1))", "<p>x</p>"},
	{"javascript link, tab entity", "[x](jav&#x09;ascript:alert(1))", "<p>x</p>"},
	{"javascript link, newline entity", "[x](jav&#10;ascript:alert(1))", "<p>x</p>"},
	{"javascript link, colon entity", "[x](javascript&colon;alert(1))", "<p>x</p>"},
	{"javascript link, leading space", "[x]( javascript:alert(1))", "<p>x</p>"},
	{"javascript link, pointy", "[x](<javascript:alert(1)>)", "<p>x</p>"},
	{"javascript link, encoded", "[x](javascript%3Aalert(1))", ""},
	{"javascript link, backslash", `[x](javascript\:alert(1))`, "<p>x</p>"},
	{"javascript reference", "[x]\n\n[x]: javascript:alert(1)", "<p>x</p>"},
	{"javascript image", "![x](javascript:alert(1))", "<p>x</p>"},
	{"vbscript link", "[x](vbscript:msgbox(1))", "<p>x</p>"},
	{"data link", "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "<p>x</p>"},
	{"data SVG image", "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)", "<p>x</p>"},
	{"data PNG image", "![x](data:image/png;base64,iVBORw0KGgo=)", "<p>x</p>"},
	{"relative image", "![x](/logout)", "<p>x</p>"},
	{"protocol-relative image", "![x](//evil.example/a.png)", "<p>x</p>"},
	{"file link", "[x](file:///etc/passwd)", "<p>x</p>"},
	{"svg script", "<svg><script>alert(1)</script></svg>", "&lt;svg&gt;"},
	{"svg onload", "<svg onload=alert(1)>", "&lt;svg onload=alert(1)&gt;"},
	{"math", `<math><mi xlink:href="javascript:alert(1)">x</mi></math>`, "&lt;math&gt;"},
	{"style attribute", `<a href="x" style="background:url(javascript:alert(1))">x</a>`, "&lt;a href="},
	{"style element", "<style>body{background:url(javascript:alert(1))}</style>", "&lt;style&gt;"},
	{"iframe", `<iframe src="https://evil.example"></iframe>`, "&lt;iframe"},
	{"object and embed", `<object data="x.swf"></object><embed src="x.swf">`, "&lt;object"},
	{"form", `<form action="/x"><input name="a"><button>go</button></form>`, "&lt;form"},
	{"raw attributes", `<p onclick="alert(1)" class="evil" id="main" style="color:red">x</p>`, "&lt;p onclick="},
	{"raw link", `<a href="javascript:alert(1)">x</a>`, "&lt;a href="},
	{"comment", "<!-- x --><![CDATA[x]]><?php x ?><!DOCTYPE html>", "&lt;!-- x --&gt;"},
	{"autolink javascript", "<javascript:alert(1)>", "<p>javascript:alert(1)</p>"},
	{"autolink data", "<data:text/html,<script>alert(1)</script>>", ""},
	{"autolink vbscript", "<vbscript:msgbox(1)>", "<p>vbscript:msgbox(1)</p>"},
	{"autolink mailto", "<mailto:a@b.example>", "<p>mailto:a@b.example</p>"},
	{"bare javascript", "javascript:alert(1)", "<p>javascript:alert(1)</p>"},
	{"bare URL with quotes", `https://a.example/"onmouseover="alert(1)`, `href="https://a.example/%22onmouseover=%22alert(1)"`},
	{"bare www with markup", "www.a.example/<script>", "&lt;script&gt;"},
	{"title breaking out", `[x](https://a.example "a\" onmouseover=\"alert(1)")`, `title="a&#34; onmouseover=&#34;alert(1)"`},
	{"image title breaking out", `![x](https://a.example/i.png "a\" onerror=\"alert(1)")`, `title="a&#34; onerror=&#34;alert(1)"`},
	{"alt breaking out", `![a" onerror="alert(1)](https://a.example/i.png)`, `alt="a&#34; onerror=&#34;alert(1)"`},
	{"href breaking out", `[x](https://a.example/"onmouseover="alert(1))`, `href="https://a.example/%22onmouseover=%22alert(1)"`},
	{"mention name", `@{<img src=x onerror=alert(1)>; a@b.cd}`, "&lt;img src=x onerror=alert(1)&gt;</a>"},
	{"tag text", "#<script>", "#&lt;script&gt;"},
	{"code span", "`<script>alert(1)</script>`", "<code>&lt;script&gt;"},
	{"code block info", "```\"><script>alert(1)</script>\nx\n```", "<pre><code>x"},
	{"table cell", "| a |\n|---|\n| <script>alert(1)</script> |", "<td>&lt;script&gt;"},
	{"heading id", "# <span id=x>", "<h1>&lt;span id=x&gt;</h1>"},
	{"NUL", "<scr\x00ipt>alert(1)</script>", ""},
	{"invalid UTF-8", "\xff<script>\xfe", "&lt;script&gt;"},
	{"entity-encoded tag", "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;"},
	{"numeric entities", "&#60;script&#62;", "&lt;script&gt;"},
	{"CSS url", `<div style="background-image:url(https://evil.example/t.png)">x</div>`, "&lt;div style="},
}

func TestHostile(t *testing.T) {
	for _, c := range hostileCases {
		t.Run(c.name, func(t *testing.T) {
			for name, out := range map[string]string{
				"Markdown": string(Markdown(c.in, nil)),
				"Plain":    string(Plain(c.in, nil)),
			} {
				checkSafe(t, c.in, out, true)
				if name == "Markdown" && !strings.Contains(out, c.want) {
					t.Errorf("%q: output %q lacks %q", c.in, out, c.want)
				}
			}
		})
	}
}

// hostileInputs are large inputs meant to make rendering slow, deep or
// big. Each must render (after the MaxInput cut) without panicking, and
// the output be safe; BenchmarkMarkdown measures the time they take.
var hostileInputs = []struct {
	name string
	in   string
}{
	{"1 MB of text", strings.Repeat("Lorem ipsum #dolor sit @{A; a@b.cd} amet, *consectetur* [adipiscing](https://e.example) elit.\n", 1<<20/88)},
	{"10,000 nested blockquotes", strings.Repeat(">", 10000) + " x\n" + strings.Repeat("y\n", 20000)},
	{"10,000 nested blockquotes, spaced", strings.Repeat("> ", 10000) + "x"},
	{"10,000 nested blockquotes, line by line", func() string {
		var b strings.Builder
		for i := 1; i <= 10000 && b.Len() < 1<<20; i++ {
			b.WriteString(strings.Repeat(">", i%400) + " x\n")
		}
		return b.String()
	}()},
	{"10,000 nested lists", strings.Repeat("- ", 10000) + "x\n" + strings.Repeat("  y\n", 20000)},
	{"10,000 nested ordered lists", strings.Repeat("1. ", 10000) + "x"},
	{"10,000 nested lists, indented", func() string {
		var b strings.Builder
		for i := 0; i < 10000 && b.Len() < 1<<20; i++ {
			b.WriteString(strings.Repeat(" ", 2*i) + "- x\n")
		}
		return b.String()
	}()},
	{"lists in blockquotes", strings.Repeat("> - ", 10000) + "x"},
	{"100,000 [", strings.Repeat("[", 100000)},
	{"100,000 ![", strings.Repeat("![", 100000)},
	{"100,000 *", strings.Repeat("*", 100000)},
	{"100,000 * around text", strings.Repeat("*", 50000) + "x" + strings.Repeat("*", 50000)},
	{"100,000 _a", strings.Repeat("_a", 100000)},
	{"nested brackets", strings.Repeat("[", 50000) + strings.Repeat("]", 50000)},
	{"unclosed links", strings.Repeat("[a](", 100000)},
	{"unclosed link titles", strings.Repeat("[a](b \"", 100000)},
	{"unclosed link titles on lines", strings.Repeat("[a](b \"\n", 100000)},
	{"unclosed pointy destinations", strings.Repeat("[a](<", 100000)},
	{"shortcut references on lines", strings.Repeat("[a]\n", 100000)},
	{"references", strings.Repeat("[a]: /u\n", 10000) + strings.Repeat("[a] ", 100000)},
	{"references in paragraphs", strings.Repeat(strings.Repeat("[a]: /u\n", maxRefLines)+"\n", 1000)},
	{"references and lines", strings.Repeat("[a]: /u\n", maxRefLines) + strings.Repeat("x\n", 100000)},
	{"long line", strings.Repeat("a", 1<<20)},
	{"long word line", strings.Repeat("abc ", 1<<18)},
	{"long URL", "https://a.example/" + strings.Repeat("a", 1<<20)},
	{"backticks", strings.Repeat("`", 100000)},
	{"code spans", strings.Repeat("`a", 100000)},
	{"angle brackets", strings.Repeat("<", 100000)},
	{"autolinks", strings.Repeat("<a:", 100000)},
	{"mentions", strings.Repeat("@{", 100000)},
	{"mentions with names", strings.Repeat("@{a; b@c.de}", 100000)},
	{"tags", strings.Repeat(" #a", 300000)},
	{"tags in emphasis", strings.Repeat("*", 20000) + strings.Repeat(" #a", 10000) + strings.Repeat("*", 20000)},
	{"hashes", strings.Repeat("#", 100000)},
	{"tables", "|" + strings.Repeat("a|", 30000) + "\n|" + strings.Repeat("-|", 30000) + "\n" + strings.Repeat("|x\n", 10000)},
	{"many tables", strings.Repeat("|a|b|\n|-|-|\n|`\\|`|`\\|`|\n\n", 20000)},
	{"escaped pipes", "|a|\n|-|\n" + strings.Repeat("|`\\|`", 50000)},
	{"entities", strings.Repeat("&#", 100000)},
	{"tildes", strings.Repeat("~", 100000)},
	{"emphasis runs", strings.Repeat("*a **b ***c ", 30000)},
	{"mixed emphasis", strings.Repeat("*_a", 100000)},
	{"mixed emphasis and strikethrough", strings.Repeat("~*\n", 100000)},
	{"emphasis in lists", strings.Repeat("1._*", 100000)},
	{"escaped backticks", strings.Repeat("\\``", 100000)},
	{"backtick runs", func() string {
		var b strings.Builder
		for i := 1; b.Len() < 1<<20; i = i%300 + 1 {
			b.WriteString(strings.Repeat("`", i) + " a ")
		}
		return b.String()
	}()},
	{"link texts across lines", strings.Repeat("][\n", 100000)},
	{"link labels across lines", strings.Repeat("[\n]", 100000)},
	{"HTML", strings.Repeat("<div><script>alert(1)</script>", 30000)},
	{"mixed", strings.Repeat("*_[`<#@{>-!|~\\&(", 70000)},
	{"null bytes", strings.Repeat("\x00", 100000)},
	{"invalid UTF-8", strings.Repeat("\xff\xfe", 100000)},
}

func TestHostileInputs(t *testing.T) {
	for _, c := range hostileInputs {
		t.Run(c.name, func(t *testing.T) {
			out := string(Markdown(c.in, nil))
			checkSafe(t, c.in, out, false)
			// Bounded nesting: no more block quotes or lists open at once
			// than maxNesting.
			for _, tag := range []string{"blockquote", "ul", "ol"} {
				if d := maxDepth(out, tag); d > maxNesting {
					t.Errorf("%d nested <%s>", d, tag)
				}
			}
			checkSafe(t, c.in, string(Plain(c.in, nil)), false)
		})
	}
}

// maxDepth returns how deep elements named tag nest in html.
func maxDepth(html, tag string) int {
	depth, deepest := 0, 0
	for i := 0; i < len(html); i++ {
		switch {
		case strings.HasPrefix(html[i:], "<"+tag+">"), strings.HasPrefix(html[i:], "<"+tag+" "):
			depth++
			deepest = max(deepest, depth)
		case strings.HasPrefix(html[i:], "</"+tag+">"):
			depth--
		}
	}
	return deepest
}
