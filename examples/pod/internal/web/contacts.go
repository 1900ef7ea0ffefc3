package web

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// The contacts page (people in either direction, their aspects) and the
// aspects page (make, rename, delete).

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /contacts", s.private(s.contacts))
		mux.HandleFunc("GET /aspects", s.private(s.aspects))
		mux.HandleFunc("POST /aspects", s.private(s.createAspect))
		mux.HandleFunc("POST /aspects/{id}/rename", s.private(s.renameAspect))
		mux.HandleFunc("POST /aspects/{id}/delete", s.private(s.deleteAspect))
	})
}

// contactsPage is the data of the contacts page.
type contactsPage struct {
	Contacts []contactRow
	Aspects  []store.AspectView
	Aspect   *store.AspectView // the filter; nil shows everyone
	ReturnTo string            // where the aspect forms bring the reader back
}

// contactRow is a contact with the choices of its aspect form.
type contactRow struct {
	store.ContactView
	Link    string // the person's page
	Options []aspectOption
}

// aspectOption is one checkbox of a contact's aspect form.
type aspectOption struct {
	ID      int64
	Name    string
	Checked bool
}

// contacts lists the user's contacts (they share with the user, the
// user shares with them, or both), optionally those of one aspect
// (?aspect=ID), each with a form to change their aspects.
func (s *Server) contacts(q *req) {
	ctx := q.r.Context()
	aspects, err := s.st.Aspects(ctx, q.user.Username)
	if err != nil {
		s.fail(q, err)
		return
	}
	page := contactsPage{Aspects: aspects, ReturnTo: "/contacts"}
	if v := q.r.URL.Query().Get("aspect"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		i := slices.IndexFunc(aspects, func(a store.AspectView) bool { return a.ID == id })
		if err != nil || i < 0 {
			s.fail(q, store.ErrNotFound)
			return
		}
		page.Aspect = &aspects[i]
		page.ReturnTo = "/contacts?aspect=" + strconv.FormatInt(id, 10)
	}
	all, err := s.st.Contacts(ctx, q.user.Username)
	if err != nil {
		s.fail(q, err)
		return
	}
	page.Contacts = []contactRow{}
	for _, c := range all {
		if page.Aspect != nil && !slices.Contains(c.Aspects, page.Aspect.Name) {
			continue
		}
		row := contactRow{ContactView: c, Link: personLink(c.ID, c.GUID)}
		for _, a := range aspects {
			row.Options = append(row.Options, aspectOption{ID: a.ID, Name: a.Name, Checked: slices.Contains(c.Aspects, a.Name)})
		}
		page.Contacts = append(page.Contacts, row)
	}
	title := "Contacts"
	if page.Aspect != nil {
		title = "Contacts in " + page.Aspect.Name
	}
	s.render(q, http.StatusOK, "contacts", title, page)
}

// personLink is the page of a person: by GUID when the pod knows it,
// else the search by diaspora* ID.
func personLink(id, guid string) string {
	if guid != "" {
		return "/people/" + url.PathEscape(guid)
	}
	return "/people?q=" + url.QueryEscape(id)
}

// aspectsPage is the data of the aspects page.
type aspectsPage struct {
	Aspects []store.AspectView
	Name    string // the name the create form had when it failed
	Error   string
}

// aspects lists the user's aspects with their member counts and the
// forms that change them.
func (s *Server) aspects(q *req) {
	s.showAspects(q, http.StatusOK, aspectsPage{})
}

func (s *Server) showAspects(q *req, status int, page aspectsPage) {
	var err error
	if page.Aspects, err = s.st.Aspects(q.r.Context(), q.user.Username); err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, status, "aspects", "Aspects", page)
}

// aspectDone ends an aspect form: back to the aspects page, or the page
// again with what went wrong.
func (s *Server) aspectDone(q *req, err error, name string) {
	if err == nil {
		http.Redirect(q.w, q.r, "/aspects", http.StatusSeeOther)
		return
	}
	status, msg, _ := pod.Problem(err)
	if status == http.StatusInternalServerError || status == http.StatusNotFound {
		s.fail(q, err)
		return
	}
	s.showAspects(q, status, aspectsPage{Name: name, Error: msg})
}

func (s *Server) createAspect(q *req) {
	name := q.r.PostFormValue("name")
	_, err := s.pod.CreateAspect(q.r.Context(), q.user, name)
	s.aspectDone(q, err, name)
}

// aspectID is the {id} of an aspect route; a malformed one is not found.
func aspectID(q *req) (int64, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		return 0, store.ErrNotFound
	}
	return id, nil
}

func (s *Server) renameAspect(q *req) {
	id, err := aspectID(q)
	if err == nil {
		_, err = s.pod.RenameAspect(q.r.Context(), q.user, id, q.r.PostFormValue("name"))
	}
	s.aspectDone(q, err, "")
}

func (s *Server) deleteAspect(q *req) {
	id, err := aspectID(q)
	if err == nil {
		err = s.pod.DeleteAspect(q.r.Context(), q.user, id)
	}
	s.aspectDone(q, err, "")
}
