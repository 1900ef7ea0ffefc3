package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /admins/jobs", s.admin(s.adminJobs))
		mux.HandleFunc("POST /admins/jobs/{action}", s.admin(s.jobAction))
	})
}

// jobsPage is the data of the jobs page (diaspora*'s Sidekiq view).
type jobsPage struct {
	Outbox   []store.OutboxJob
	Inbox    []store.InboxJob
	Rejected []store.Rejected
	Done     string
}

// jobsShown is how many rows of each queue the page lists.
const jobsShown = 100

func (s *Server) adminJobs(q *req) {
	out, in, rej, err := s.st.Jobs(q.r.Context(), jobsShown)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "admin_jobs", "Jobs", jobsPage{Outbox: out, Inbox: in, Rejected: rej, Done: q.r.URL.Query().Get("done")})
}

// jobAction retries or discards one delivery (field id) or every one to
// a pod (field host), or retries a received body (field inbox).
func (s *Server) jobAction(q *req) {
	ctx := q.r.Context()
	action := q.r.PathValue("action")
	id, _ := strconv.ParseInt(q.r.PostFormValue("id"), 10, 64)
	host := strings.ToLower(strings.TrimSpace(q.r.PostFormValue("host")))
	target, detail := host, ""
	if id > 0 {
		target = "delivery " + strconv.FormatInt(id, 10)
	}
	var err error
	switch {
	case action == "retry" && id > 0:
		err = s.st.RetryDelivery(ctx, id)
		s.pod.WakeOutbox()
	case action == "retry" && host != "":
		var n int
		n, err = s.st.RetryHost(ctx, host)
		detail = strconv.Itoa(n) + " deliveries"
		s.pod.WakeOutbox()
	case action == "discard" && (id > 0 || host != ""):
		var n int
		n, err = s.st.DiscardDeliveries(ctx, id, host)
		detail = strconv.Itoa(n) + " deliveries"
	case action == "retry_received":
		rid, perr := strconv.ParseInt(q.r.PostFormValue("inbox"), 10, 64)
		if perr != nil {
			s.fail(q, store.ErrNotFound)
			return
		}
		target = "received body " + strconv.FormatInt(rid, 10)
		err = s.st.RetryReceived(ctx, rid)
	default:
		s.fail(q, store.ErrNotFound)
		return
	}
	if err != nil {
		s.fail(q, err)
		return
	}
	s.audit(q, "jobs "+action, target, detail)
	http.Redirect(q.w, q.r, "/admins/jobs?done="+url.QueryEscape(action+" "+target), http.StatusSeeOther)
}
