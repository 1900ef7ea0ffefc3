package pod

import (
	_ "embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head>
<body>
<h1>{{.Title}}</h1>
{{if .ID}}<p>{{.ID}}</p>{{end}}
{{range .Posts}}<article id="{{.GUID}}">
<p>{{.Text}}</p>
<footer><a href="{{$.Base}}posts/{{.GUID}}">{{.CreatedAt}}</a> · {{.Author}} · {{len .Comments}} comments · {{len .Likes}} likes</footer>
{{range .Comments}}<blockquote><p>{{.Text}}</p><footer>{{.Author}}, {{.CreatedAt}}</footer></blockquote>{{end}}
</article>
{{else}}<p>No public posts.</p>{{end}}
</body></html>
`))

type page struct {
	Title, ID, Base string
	Posts           []store.PostView
}

// setPageHeaders sets the type of an HTML page (the security headers
// of every response are set by securityHeaders, http.go).
func setPageHeaders(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
}

func (p *Pod) renderPage(w http.ResponseWriter, r *http.Request, pg page) {
	pg.Base = p.base
	setPageHeaders(w)
	if err := pageTemplate.Execute(w, pg); err != nil {
		p.log.ErrorContext(r.Context(), "rendering page", "err", err)
	}
}

// serveProfile serves the HTML profile page of a local person: name, ID
// and public posts. It is the WebFinger profile-page link.
func (p *Pod) serveProfile(w http.ResponseWriter, r *http.Request) {
	u, err := p.store.UserByName(r.Context(), r.PathValue("name"))
	if err != nil || u.Suspended {
		http.NotFound(w, r)
		return
	}
	posts, err := p.store.PublicPostsBy(r.Context(), u.ID, 50)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	p.renderPage(w, r, page{Title: u.Username, ID: u.ID, Posts: posts})
}

// servePostPage serves the HTML page of a public post.
func (p *Pod) servePostPage(w http.ResponseWriter, r *http.Request) {
	v, err := p.store.PostView(r.Context(), nil, r.PathValue("guid"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	p.renderPage(w, r, page{Title: "Post by " + v.Author, Posts: []store.PostView{*v}})
}

// servePeople redirects the WebFinger alias /people/{guid} to the
// profile page.
func (p *Pod) servePeople(w http.ResponseWriter, r *http.Request) {
	u, err := p.store.UserByGUID(r.Context(), r.PathValue("guid"))
	if err != nil || u.Suspended {
		http.NotFound(w, r)
		return
	}
	http.Redirect(w, r, p.base+"u/"+url.PathEscape(u.Username), http.StatusMovedPermanently)
}

var atomTemplate = template.Must(template.New("atom").Parse(`<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>{{.Title}}</title>
<id>{{.Base}}public/{{.Name}}.atom</id>
<link rel="self" href="{{.Base}}public/{{.Name}}.atom"/>
<link rel="alternate" type="text/html" href="{{.Base}}u/{{.Name}}"/>
<updated>{{.Updated}}</updated>
<author><name>{{.Name}}</name><uri>{{.Base}}u/{{.Name}}</uri></author>
{{range .Posts}}<entry>
<id>{{$.Base}}posts/{{.GUID}}</id>
<title>{{.Text}}</title>
<link rel="alternate" type="text/html" href="{{$.Base}}posts/{{.GUID}}"/>
<published>{{.CreatedAt}}</published>
<updated>{{.CreatedAt}}</updated>
<content type="text">{{.Text}}</content>
</entry>
{{end}}</feed>
`))

// serveAtom serves /public/{name}.atom, the Atom feed of a local person's
// public posts that WebFinger advertises.
func (p *Pod) serveAtom(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutSuffix(r.PathValue("feed"), ".atom")
	u, err := p.store.UserByName(r.Context(), name)
	if !ok || err != nil || u.Suspended {
		http.NotFound(w, r)
		return
	}
	posts, err := p.store.PublicPostsBy(r.Context(), u.ID, 20)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	updated := time.Now().UTC().Format(time.RFC3339)
	if len(posts) > 0 {
		updated = posts[0].CreatedAt
	}
	w.Header().Set("Content-Type", "application/atom+xml; charset=utf-8")
	if err := atomTemplate.Execute(w, map[string]any{"Title": u.ID, "Base": p.base, "Name": u.Username, "Updated": updated, "Posts": posts}); err != nil {
		p.log.ErrorContext(r.Context(), "rendering feed", "err", err)
	}
}

// defaultAvatar is the picture the hCard advertises for people without
// one (discovery.DefaultAvatar).
//
//go:embed default-avatar.png
var defaultAvatar []byte

func serveDefaultAvatar(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(defaultAvatar)
}

var homeTemplate = template.Must(template.New("home").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Domain}}: a diaspora* pod</title></head>
<body>
<h1>{{.Domain}}</h1>
<p>This is a <a href="https://diasporafoundation.org/">diaspora*</a> pod, the reference pod of
<a href="https://github.com/go-diaspora/federation">go-diaspora/federation</a>.</p>
{{if eq .Users 0}}
<h2>What to do next</h2>
<p>Nobody has an account here yet. The podmin creates the first one on the pod's machine, with the
same <code>--url</code> (or <code>--addr</code>) and <code>--data</code> the pod serves with:</p>
<pre>pod user add NAME</pre>
<p>(from a clone of the repository: <code>go run ./examples/pod user add NAME</code>). The new person
is <code>NAME@{{.Domain}}</code>. <code>pod help</code> lists every command.</p>
{{else}}
<p>{{.Users}} {{if eq .Users 1}}person has{{else}}people have{{end}} an account here.</p>
{{end}}
<h2>Using the pod</h2>
<p>People sign in through the JSON API (<code>POST /api/session</code>), described in
<a href="https://github.com/go-diaspora/federation/blob/main/docs/api.md">docs/api.md</a>: posts, comments,
likes, aspects, contacts, conversations and notifications. Public profiles are at
<code>/u/NAME</code>; other diaspora* pods find people here through WebFinger.</p>
</body></html>
`))

// serveHome is the pod's front page: what it is, and on a fresh pod what
// the podmin does next.
func (p *Pod) serveHome(w http.ResponseWriter, r *http.Request) {
	users, err := p.store.ActiveUsers(r.Context())
	if err != nil {
		p.log.ErrorContext(r.Context(), "home page", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	setPageHeaders(w)
	if err := homeTemplate.Execute(w, map[string]any{"Domain": p.domain, "Users": users}); err != nil {
		p.log.ErrorContext(r.Context(), "rendering home", "err", err)
	}
}
