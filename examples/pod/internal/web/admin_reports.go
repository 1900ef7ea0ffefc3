package web

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/render"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /admins/reports", s.admin(s.adminReports))
		mux.HandleFunc("POST /admins/reports/{id}/{action}", s.admin(s.reportAction))
	})
}

// reportView is a report with what it is about.
type reportView struct {
	store.Report
	Author   string
	PostGUID string // the post to link (the comment's post for a comment)
	HTML     template.HTML
	Gone     bool // the content no longer exists
	Local    bool // the author is on this pod
}

// reportsPage is the data of the reports page.
type reportsPage struct {
	Reports []reportView
	Done    string
}

func (s *Server) adminReports(q *req) {
	ctx := q.r.Context()
	rs, err := s.st.Reports(ctx)
	if err != nil {
		s.fail(q, err)
		return
	}
	page := reportsPage{Done: q.r.URL.Query().Get("done")}
	for _, r := range rs {
		v := reportView{Report: r}
		author, text, postGUID, err := s.reported(q, r.TargetType, r.TargetGUID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			v.Gone = true
		case err != nil:
			s.fail(q, err)
			return
		default:
			v.Author, v.PostGUID, v.HTML = author, postGUID, render.Markdown(text, s.md)
			_, host, _ := strings.Cut(author, "@")
			v.Local = host == s.pod.Domain()
		}
		page.Reports = append(page.Reports, v)
	}
	s.render(q, http.StatusOK, "admin_reports", "Reports", page)
}

// reported loads the author and text of reported content.
func (s *Server) reported(q *req, typ, guid string) (author, text, postGUID string, err error) {
	if typ == "Comment" {
		c, err := store.GetInteraction(q.r.Context(), s.st, guid)
		if err != nil {
			return "", "", "", err
		}
		return c.Author, c.Text, c.PostGUID, nil
	}
	p, err := store.GetPost(q.r.Context(), s.st, guid)
	if err != nil {
		return "", "", "", err
	}
	return p.Author, p.Text, p.GUID, nil
}

// reportAction handles a report: delete the content, dismiss the
// report, suspend the local author or block the author's pod.
func (s *Server) reportAction(q *req) {
	ctx := q.r.Context()
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(q, store.ErrNotFound)
		return
	}
	r, err := s.st.ReportByID(ctx, id)
	if err != nil {
		s.fail(q, err)
		return
	}
	action := q.r.PathValue("action")
	author, _, _, cerr := s.reported(q, r.TargetType, r.TargetGUID)
	if cerr != nil && action != "dismiss" {
		s.fail(q, cerr)
		return
	}
	target := r.TargetType + " " + r.TargetGUID
	switch action {
	case "delete":
		if err = s.pod.RemoveContent(ctx, r.TargetType, r.TargetGUID); err == nil {
			err = s.st.SetReportState(ctx, r.TargetType, r.TargetGUID, "deleted")
		}
	case "dismiss":
		err = s.st.SetReportState(ctx, r.TargetType, r.TargetGUID, "dismissed")
	case "suspend":
		name, host, _ := strings.Cut(author, "@")
		if host != s.pod.Domain() {
			s.fail(q, fmt.Errorf("%w: %s is not on this pod; block their pod instead", store.ErrInvalid, author))
			return
		}
		target = name
		err = s.st.SetSuspended(ctx, name, true)
	case "block":
		_, host, _ := strings.Cut(author, "@")
		if host == s.pod.Domain() {
			s.fail(q, fmt.Errorf("%w: %s is on this pod; suspend them instead", store.ErrInvalid, author))
			return
		}
		target = host
		err = s.st.SetBlocked(ctx, strings.ToLower(host), true)
	default:
		s.fail(q, store.ErrNotFound)
		return
	}
	if err != nil {
		s.fail(q, err)
		return
	}
	s.audit(q, "report "+action, target, "report "+strconv.FormatInt(id, 10))
	http.Redirect(q.w, q.r, "/admins/reports?done="+action, http.StatusSeeOther)
}
