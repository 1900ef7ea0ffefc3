package pod

import (
	_ "embed"
	"html/template"
	"net/http"
	"strings"
	"time"
)

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
