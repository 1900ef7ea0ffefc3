package main

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
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
	Posts           []PostView
}

func (p *Pod) renderPage(w http.ResponseWriter, r *http.Request, pg page) {
	pg.Base = p.base
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
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
	p.renderPage(w, r, page{Title: "Post by " + v.Author, Posts: []PostView{*v}})
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
