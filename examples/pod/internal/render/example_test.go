package render_test

import (
	"fmt"
	"net/url"

	"github.com/go-diaspora/federation/examples/pod/internal/render"
)

func ExampleMarkdown() {
	post := "Hello **#Diaspora** from @{Alice; alice@pod.example}!\n" +
		"<script>alert(1)</script> [click](javascript:alert(1))"
	fmt.Print(render.Markdown(post, nil))
	// Output:
	// <p>Hello <strong><a href="/tags/diaspora" rel="nofollow noopener noreferrer">#Diaspora</a></strong> from <a href="/people?q=alice%40pod.example" rel="nofollow noopener noreferrer">Alice</a>!<br>
	// &lt;script&gt;alert(1)&lt;/script&gt; click</p>
}

func ExamplePlain() {
	o := &render.Options{
		TagURL: func(tag string) string { return "https://pod.example/tags/" + url.PathEscape(tag) },
	}
	fmt.Print(render.Plain("I like *stars* and #Astronomy\n<b>and you?</b>", o))
	// Output:
	// I like *stars* and <a href="https://pod.example/tags/astronomy" rel="nofollow noopener noreferrer">#Astronomy</a><br>
	// &lt;b&gt;and you?&lt;/b&gt;
}
