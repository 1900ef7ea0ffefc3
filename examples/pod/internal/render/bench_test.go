package render

import (
	"strings"
	"testing"
)

// typicalPost is a post of about 1 KB, with the Markdown, tags and
// mentions that posts have.
const typicalPost = `## Back from #FOSDEM

Had a *great* time at FOSDEM this year with @{Alice Doe; alice@pod.example}
and @{bob@friends.example}. The talks about **federation** were full, and
the hallway track even more so. Slides are at https://fosdem.org/2025/schedule/
and [the recordings](https://video.fosdem.org/2025/ "FOSDEM videos") are
coming in.

What I liked most:

- the decentralised-social devroom, with #diaspora and #fediverse people
- a long talk on ~~XMPP~~ Matrix bridges
- the waffles (of course)

> The best way to predict the future is to invent it.

Some code we hacked on in the train:

` + "```" + `go
func main() { fmt.Println("hello, #notatag") }
` + "```" + `

| day | talks |
|-----|------:|
| Sat | 7 |
| Sun | 5 |

![our table](https://pod.example/uploads/images/abc.jpg)

#conference #opensource #travel
`

// hostileMix is 1 MB of hostile text: a slice of each hostile input,
// repeated, so that the MaxInput cut keeps some of each.
var hostileMix = func() string {
	var b strings.Builder
	for b.Len() < 1<<20 {
		for _, c := range hostileInputs {
			b.WriteString(c.in[:min(len(c.in), 1024)])
			b.WriteString("\n\n")
		}
	}
	return b.String()[:1<<20]
}()

func BenchmarkMarkdown(b *testing.B) {
	for _, c := range []struct {
		name string
		in   string
		o    *Options
	}{
		{"post-1KB", typicalPost, nil},
		{"hostile-1MB", hostileMix, nil},
		{"hostile-1MB-uncut", hostileMix, &Options{MaxInput: 1 << 20}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(min(len(c.in), c.o.maxInput()))) // the bytes rendered
			for b.Loop() {
				Markdown(c.in, c.o)
			}
		})
	}
}

// BenchmarkHostile measures each hostile input, cut to the default
// MaxInput.
func BenchmarkHostile(b *testing.B) {
	for _, c := range hostileInputs {
		b.Run(strings.ReplaceAll(c.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Markdown(c.in, nil)
			}
		})
	}
}

func BenchmarkPlain(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(typicalPost)))
	for b.Loop() {
		Plain(typicalPost, nil)
	}
}
