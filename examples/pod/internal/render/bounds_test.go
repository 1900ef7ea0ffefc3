package render

import (
	"strings"
	"testing"
)

// TestBoundsKeepMarkdown checks that the bounds against hostile text
// change nothing in text within them: with and without them, goldmark
// renders the same.
func TestBoundsKeepMarkdown(t *testing.T) {
	unbound := newMarkdown(false)
	ins := []string{
		typicalPost,
		"[a\nb](https://e.example) [c\nd][r] [r]\n\n[r]: https://r.example",
		"[foo\nbar]\n\n[foo bar]: https://e.example 'title'",
		"> [foo\n> bar] x\n>\n> [foo bar]: https://e.example\n\n> [a\n> b](https://e.example)",
		"- [a\n  b](/x)\n  - [c\n    d][r]\n\n[r]: /r",
		"\t[a\n\tb](/x)\n\n>\t[a\n>\tb](/x)",
		"`a` ``b`` `c`` ``d` ```e``` ` `` ` f``g`` \\``h`",
		"`a\nb` ``c\n`d``",
		"[a](/u \"t\") [b](</u v>) [c](/u 't') [d](/u (t)) [e](/u(v)w) [f]( /u ) [g]()",
		"*a* _b_ **c** __d__ ~e~ ~~f~~ ***g*** *a _b_ c* a*b*c a_b_c *_a_* _*a*_",
		strings.Repeat("*em* **strong** ~~del~~ ", 40),
		strings.Repeat(">", 20) + " deep\n" + strings.Repeat("- ", 10) + "deep",
		"| a | `b \\| c` |\n|---|---|\n| `\\|` | d |",
		"[a]: /a\n[b]: /b\n[c]: /c\n\n[a] [b] [c] [d]",
		"[[a]](/x) [a [b] c](/y) ![a ![b](/i) c](/z) [a](/x)[b](/y)",
		"[unclosed [a](/x) ]( [b] (c)",
	}
	for _, cases := range [][]renderCase{markdownCases, tagCases, mentionCases} {
		for _, c := range cases {
			if c.name != "link on two lines is text" {
				ins = append(ins, c.in)
			}
		}
	}
	for _, in := range ins {
		got, _ := toHTML(markdown, []byte(in), nil)
		want, _ := toHTML(unbound, []byte(in), nil)
		if string(got) != string(want) {
			t.Errorf("%q:\n bounded %q\nunbound %q", in, got, want)
		}
	}
}
