package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// personPage is the data of a person's page.
type personPage struct {
	Person  *store.ProfileView
	Posts   []postView
	Older   string
	Contact *store.ContactView // nil: no contact
	Aspects []store.AspectView // the reader's, for the share form
	Self    bool
	Ignored bool // the reader ignores them
}

// localProfile is a local person's page by username.
func (s *Server) localProfile(q *req) {
	u, err := s.st.UserByName(q.r.Context(), strings.ToLower(q.r.PathValue("username")))
	if err != nil || u.Suspended {
		s.fail(q, store.ErrNotFound)
		return
	}
	s.showPerson(q, u.ID, false)
}

// person is a person's page by GUID, local or remote.
func (s *Server) person(q *req) {
	s.showPerson(q, q.r.PathValue("guid"), true)
}

func (s *Server) showPerson(q *req, key string, byGUID bool) {
	ctx := q.r.Context()
	p, err := s.st.Profile(ctx, key, byGUID)
	if err != nil {
		s.fail(q, err)
		return
	}
	if p.Local {
		if u, err := s.st.UserByID(ctx, p.ID); err != nil || u.Suspended {
			s.fail(q, store.ErrNotFound)
			return
		}
	}
	page := personPage{Person: p}
	if page.Posts, page.Older, err = s.posts(q, store.StreamQuery{Kind: "author", Author: p.ID}, "/people/"+url.PathEscape(p.GUID)); err != nil {
		s.fail(q, err)
		return
	}
	if q.user != nil {
		page.Self = q.user.ID == p.ID
		if c, err := s.st.Contact(ctx, q.user.Username, p.ID); err == nil {
			page.Contact = c
		} else if !errors.Is(err, store.ErrNotFound) {
			s.fail(q, err)
			return
		}
		if page.Aspects, err = s.st.Aspects(ctx, q.user.Username); err != nil {
			s.fail(q, err)
			return
		}
		if page.Ignored, err = s.st.IsIgnored(ctx, q.user.Username, p.ID); err != nil {
			s.fail(q, err)
			return
		}
	}
	name := p.FullName
	if name == "" {
		name = p.ID
	}
	s.render(q, http.StatusOK, "person", name, page)
}

// peoplePage is the data of the people search.
type peoplePage struct {
	Query  string
	Found  *discovery.Person
	GUID   string
	Error  string
	Status int
}

// people finds a person by diaspora* ID (through discovery when the pod
// does not know them yet) and sends the reader to their page.
func (s *Server) people(q *req) {
	query := strings.TrimSpace(q.r.URL.Query().Get("q"))
	page := peoplePage{Query: query}
	if query == "" {
		s.render(q, http.StatusOK, "people", "Find people", page)
		return
	}
	per, err := s.pod.FindPerson(q.r.Context(), strings.TrimPrefix(query, "@"))
	if err != nil {
		status, msg, _ := pod.Problem(err)
		if status == http.StatusInternalServerError {
			s.fail(q, err)
			return
		}
		if status == http.StatusNotFound {
			msg = "Nobody with that diaspora* ID was found."
		}
		page.Error = msg
		s.render(q, status, "people", "Find people", page)
		return
	}
	http.Redirect(q.w, q.r, "/people/"+url.PathEscape(per.GUID), http.StatusSeeOther)
}

// share puts a person into the reader's chosen aspects (none: stop
// sharing), as diaspora*'s aspect membership dropdown does.
func (s *Server) share(q *req) {
	id := q.r.PostFormValue("id")
	aspects := q.r.PostForm["aspects"]
	c, err := s.pod.ShareWith(q.r.Context(), q.user, id, aspects, false)
	if err != nil {
		s.fail(q, err)
		return
	}
	back(q, "/people/"+url.PathEscape(c.GUID))
}
