package web

import (
	"net/http"
	"net/url"
)

// Ignoring people (diaspora*'s blocks): a button on a person's page, and
// the list of ignored people at /privacy, diaspora*'s page for it.

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("POST /people/ignore", s.private(s.ignore))
		mux.HandleFunc("GET /privacy", s.private(s.privacy))
	})
}

// ignore ignores the person of field id (ignore=1) or stops ignoring
// them (ignore=0), then goes back to the page the form was on.
func (s *Server) ignore(q *req) {
	id := q.r.PostFormValue("id")
	if err := s.pod.Ignore(q.r.Context(), q.user, id, q.r.PostFormValue("ignore") == "1"); err != nil {
		s.fail(q, err)
		return
	}
	back(q, "/people?q="+url.QueryEscape(id))
}

// privacyPage is the data of /privacy.
type privacyPage struct {
	Ignored []string // diaspora* IDs
}

func (s *Server) privacy(q *req) {
	ids, err := s.st.Ignored(q.r.Context(), q.user.Username)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "privacy", "Ignored people", privacyPage{Ignored: ids})
}
