package web

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/render"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// layout is what the layout template gets: the page's own data in Data.
type layout struct {
	Title    string
	Pod      string
	User     *store.User
	CSRF     string
	Unread   int
	CanJoin  bool // sign-up is possible without an invitation
	Data     any
	Template string
}

// Wide reports whether the page gets the wide column: the dashboard's
// pages, whose tables need it.
func (l layout) Wide() bool { return strings.HasPrefix(l.Template, "admin_") }

// errorPage is the data of the error page.
type errorPage struct {
	Message string
}

// render writes page name (templates/name.html in the layout) with
// status.
func (s *Server) render(q *req, status int, name, title string, data any) {
	t := s.pages[name]
	if t == nil {
		s.log.ErrorContext(q.r.Context(), "no such page template", "name", name)
		http.Error(q.w, "internal error", http.StatusInternalServerError)
		return
	}
	l := layout{Title: title, Pod: s.podName(q), User: q.user, CSRF: q.csrf, Unread: q.unread, Data: data, Template: name}
	if q.user == nil {
		l.CanJoin = s.registrations(q) == RegistrationsOpen
	}
	var b bytes.Buffer
	if err := t.Execute(&b, l); err != nil {
		s.log.ErrorContext(q.r.Context(), "rendering a page", "page", name, "err", err)
		http.Error(q.w, "internal error", http.StatusInternalServerError)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	q.w.WriteHeader(status)
	q.w.Write(b.Bytes())
}

// fail answers a request whose work failed: the person's message for
// what they can fix, a plain apology (and a log record) for the pod's own
// errors.
func (s *Server) fail(q *req, err error) {
	status, msg, retry := pod.Problem(err)
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(q.r.Context(), "web", "path", q.r.URL.Path, "err", err)
		msg = "Something went wrong on this pod. Try again later."
	}
	if status == http.StatusNotFound {
		msg = "There is nothing here, or it is not yours to see."
	}
	if retry > 0 {
		q.w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
	}
	s.render(q, status, "error", http.StatusText(status), errorPage{Message: msg})
}

// back redirects after a form to the page it came from (when that is a
// page of this pod) or to fallback.
func back(q *req, fallback string) {
	target := fallback
	if ref, err := url.Parse(q.r.Referer()); err == nil && ref.Host == q.r.Host && ref.Path != "" {
		target = localPath(ref.RequestURI())
	}
	if rt := q.r.PostFormValue("return_to"); rt != "" {
		target = localPath(rt)
	}
	http.Redirect(q.w, q.r, target, http.StatusSeeOther)
}

// postView is a post as a page shows it.
type postView struct {
	store.PostView
	HTML      template.HTML
	Root      *postView // what a reshare reshares, when this pod has it
	Mine      bool
	LikedByMe bool
	Comments  []commentView
}

// formButton is a one-button form of the dashboard: its action, the
// token, a label, the fields it posts (host, id, inbox) when set, and
// whether it destroys something (it is then drawn in red).
type formButton struct {
	Action, CSRF, Host, Label string
	ID, Inbox                 int64
	Danger                    bool
}

// postContext is what the post template gets.
type postContext struct {
	Post postView
	User *store.User
	CSRF string
}

// commentView is a comment as a page shows it.
type commentView struct {
	store.InteractionView
	HTML template.HTML
	Mine bool
}

// view prepares posts for a page: text rendered and sanitized, what the
// reader may do with each.
func (s *Server) view(q *req, posts []store.PostView) []postView {
	out := make([]postView, len(posts))
	for i, p := range posts {
		v := postView{PostView: p, HTML: render.Markdown(p.Text, s.md)}
		if p.RootGUID != "" {
			if root, err := s.st.PostView(q.r.Context(), q.user, p.RootGUID); err == nil {
				rv := postView{PostView: *root, HTML: render.Markdown(root.Text, s.md)}
				v.Root = &rv
			}
		}
		if q.user != nil {
			v.Mine = p.Author == q.user.ID
			for _, l := range p.Likes {
				if l.Author == q.user.ID {
					v.LikedByMe = true
				}
			}
		}
		for _, c := range p.Comments {
			cv := commentView{InteractionView: c, HTML: render.Markdown(c.Text, s.md)}
			cv.Mine = q.user != nil && c.Author == q.user.ID
			v.Comments = append(v.Comments, cv)
		}
		out[i] = v
	}
	return out
}

func (s *Server) funcs() template.FuncMap {
	return template.FuncMap{
		// person links a diaspora* ID to its page on this pod.
		"person": func(id string) string { return "/people?q=" + url.QueryEscape(id) },
		// when shows an RFC 3339 time briefly.
		"when": func(t string) string {
			tt, err := time.Parse(time.RFC3339, t)
			if err != nil {
				return t
			}
			return tt.UTC().Format("2 Jan 2006 15:04 UTC")
		},
		"markdown": func(text string) template.HTML { return render.Markdown(text, s.md) },
		"plain":    func(text string) template.HTML { return render.Plain(text, s.md) },
		// withPost gives the post template a post and the reader.
		"withPost":  func(l layout, p postView) postContext { return postContext{Post: p, User: l.User, CSRF: l.CSRF} },
		"inAspects": func(c *store.ContactView, name string) bool { return c != nil && slices.Contains(c.Aspects, name) },
		// adminForm, adminHostForm, jobForm and receivedForm give the
		// form_button template a form; danger marks one that destroys.
		"adminForm": func(l layout, action, label string) formButton {
			return formButton{Action: action, CSRF: l.CSRF, Label: label}
		},
		"adminHostForm": func(l layout, action, host, label string) formButton {
			return formButton{Action: action, CSRF: l.CSRF, Label: label, Host: host}
		},
		"jobForm": func(l layout, action string, id int64, host, label string) formButton {
			return formButton{Action: action, CSRF: l.CSRF, ID: id, Host: host, Label: label}
		},
		"receivedForm": func(l layout, id int64) formButton {
			return formButton{Action: "/admins/jobs/retry_received", CSRF: l.CSRF, Inbox: id, Label: "Retry now"}
		},
		"danger": func(b formButton) formButton { b.Danger = true; return b },
		"shortid": func(id string) string {
			name, _, _ := strings.Cut(id, "@")
			return name
		},
	}
}
