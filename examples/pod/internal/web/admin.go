package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// The podmin's dashboard under /admins (diaspora*'s routes): statistics,
// accounts, pods and settings. Every page answers 404 to anyone who is
// not an admin, every action is a POST with the CSRF token, and every
// action is written to the audit log.

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /admins/dashboard", s.admin(s.dashboard))
		mux.HandleFunc("GET /admins/user_search", s.admin(s.userSearch))
		mux.HandleFunc("POST /admins/users/{username}/{action}", s.admin(s.userAction))
		mux.HandleFunc("GET /admins/pods", s.admin(s.adminPods))
		mux.HandleFunc("POST /admins/pods/{action}", s.admin(s.podAction))
		mux.HandleFunc("GET /admins/settings", s.admin(s.settingsForm))
		mux.HandleFunc("POST /admins/settings", s.admin(s.saveSettings))
	})
}

// admin wraps a page of the dashboard: 404 for everyone but admins.
func (s *Server) admin(h func(*req)) http.HandlerFunc {
	return s.page(func(q *req) {
		if q.user == nil || !q.user.Admin {
			s.fail(q, store.ErrNotFound)
			return
		}
		h(q)
	})
}

// audit records an admin's action; a failure to record is logged, and
// the action, already done, stands.
func (s *Server) audit(q *req, action, target, detail string) {
	if err := s.st.Audit(q.r.Context(), q.user.Username, action, target, detail); err != nil {
		s.log.ErrorContext(q.r.Context(), "audit log", "err", err)
	}
}

// dashboardPage is the data of the dashboard.
type dashboardPage struct {
	Stats   *store.Stats
	Audit   []store.AuditEntry
	Version string
}

func (s *Server) dashboard(q *req) {
	st, err := s.st.Stats(q.r.Context())
	if err != nil {
		s.fail(q, err)
		return
	}
	log, err := s.st.AuditLog(q.r.Context(), 50)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "admin_dashboard", "Dashboard", dashboardPage{Stats: st, Audit: log, Version: softwareVersion})
}

// softwareVersion is what NodeInfo and the dashboard call the pod.
const softwareVersion = "go-diaspora-pod 0.1"

// userSearchPage is the data of the account search.
type userSearchPage struct {
	Query    string
	Accounts []store.Account
	Done     string
}

func (s *Server) userSearch(q *req) {
	query := q.r.URL.Query().Get("q")
	as, err := s.st.Accounts(q.r.Context(), query)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "admin_users", "Accounts", userSearchPage{Query: query, Accounts: as, Done: q.r.URL.Query().Get("done")})
}

// userAction is one action on an account: suspend, unsuspend, admin,
// unadmin, revoke_sessions, invitations (n more), delete.
func (s *Server) userAction(q *req) {
	ctx := q.r.Context()
	name, action := q.r.PathValue("username"), q.r.PathValue("action")
	u, err := s.st.UserByName(ctx, name)
	if err != nil {
		s.fail(q, err)
		return
	}
	detail := ""
	switch action {
	case "suspend", "unsuspend":
		if u.Username == q.user.Username {
			s.fail(q, fmt.Errorf("%w: you cannot suspend yourself", store.ErrInvalid))
			return
		}
		err = s.st.SetSuspended(ctx, u.Username, action == "suspend")
	case "admin", "unadmin":
		if u.Username == q.user.Username && action == "unadmin" {
			s.fail(q, fmt.Errorf("%w: another admin removes you", store.ErrInvalid))
			return
		}
		err = s.st.SetAdmin(ctx, u.Username, action == "admin")
	case "revoke_sessions":
		err = s.st.RevokeSessions(ctx, u.Username)
	case "invitations":
		n, perr := strconv.Atoi(q.r.PostFormValue("n"))
		if perr != nil || n < 1 || n > 100 {
			s.fail(q, fmt.Errorf("%w: give 1 to 100 invitations", store.ErrInvalid))
			return
		}
		detail = strconv.Itoa(n)
		err = s.st.GrantInvitations(ctx, u.Username, n)
	case "delete":
		if u.Username == q.user.Username {
			s.fail(q, fmt.Errorf("%w: delete your own account from your account settings", store.ErrInvalid))
			return
		}
		if q.r.PostFormValue("confirm") != "yes" {
			s.fail(q, fmt.Errorf("%w: tick the box beside the button to confirm the deletion", store.ErrInvalid))
			return
		}
		err = s.pod.CloseAccount(ctx, u)
	default:
		s.fail(q, store.ErrNotFound)
		return
	}
	if err != nil {
		s.fail(q, err)
		return
	}
	s.audit(q, "user "+action, u.Username, detail)
	http.Redirect(q.w, q.r, "/admins/user_search?q="+url.QueryEscape(u.Username)+"&done="+url.QueryEscape(action), http.StatusSeeOther)
}

// podsPage is the data of the pods page.
type podsPage struct {
	Pods []store.PodHealth
	Done string
}

func (s *Server) adminPods(q *req) {
	h, err := s.st.Health(q.r.Context())
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "admin_pods", "Pods", podsPage{Pods: h, Done: q.r.URL.Query().Get("done")})
}

// podAction blocks, unblocks or retries a pod (field host).
func (s *Server) podAction(q *req) {
	ctx := q.r.Context()
	host := strings.ToLower(strings.TrimSpace(q.r.PostFormValue("host")))
	if u, err := url.Parse(host); err == nil && u.Host != "" {
		host = strings.ToLower(u.Host)
	}
	if host == "" || strings.ContainsAny(host, "/ ") {
		s.fail(q, fmt.Errorf("%w: name a pod by its host, like pod.example.org", store.ErrInvalid))
		return
	}
	detail := ""
	var err error
	switch action := q.r.PathValue("action"); action {
	case "block", "unblock":
		err = s.st.SetBlocked(ctx, host, action == "block")
	case "retry":
		var n int
		n, err = s.st.RetryHost(ctx, host)
		detail = strconv.Itoa(n) + " deliveries"
		s.pod.WakeOutbox()
	default:
		s.fail(q, store.ErrNotFound)
		return
	}
	if err != nil {
		s.fail(q, err)
		return
	}
	s.audit(q, "pod "+q.r.PathValue("action"), host, detail)
	http.Redirect(q.w, q.r, "/admins/pods?done="+url.QueryEscape(q.r.PathValue("action")+" "+host), http.StatusSeeOther)
}

// The settings a podmin changes in the browser; they win over the flags.
const (
	settingName          = "pod_name"
	settingRegistrations = "registrations"
	settingRules         = "rules"
)

// settingsPage is the data of the settings page.
type settingsPage struct {
	Name, Registrations, Rules string
	Aspects, Autofollow        string
	Saved                      bool
	Error                      string
}

func (s *Server) settingsForm(q *req) {
	ctx := q.r.Context()
	page := settingsPage{Name: s.podName(q), Registrations: s.registrations(q), Rules: s.rules(q), Saved: q.r.URL.Query().Get("saved") != ""}
	aspects, err := s.pod.DefaultAspects(ctx)
	if err != nil { // a setting that no longer parses: show it to be fixed
		v, _ := s.setting(q, pod.SettingDefaultAspects)
		_, msg, _ := pod.Problem(err)
		aspects, page.Error = []string{v}, msg
	}
	page.Aspects = strings.Join(aspects, "\n")
	if page.Autofollow, err = s.pod.Autofollow(ctx); err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "admin_settings", "Settings", page)
}

// maxRules caps the rules text.
const maxRules = 10000

func (s *Server) saveSettings(q *req) {
	ctx := q.r.Context()
	page := settingsPage{Name: strings.TrimSpace(q.r.PostFormValue("name")), Registrations: q.r.PostFormValue("registrations"),
		Rules: strings.TrimSpace(q.r.PostFormValue("rules")), Aspects: q.r.PostFormValue("aspects"),
		Autofollow: strings.TrimSpace(q.r.PostFormValue("autofollow"))}
	switch {
	case page.Registrations != RegistrationsOpen && page.Registrations != RegistrationsInvite && page.Registrations != RegistrationsClosed:
		page.Error = "Registrations are open, invite or closed."
	case len(page.Name) > 100:
		page.Error = "A pod name has at most 100 characters."
	case len(page.Rules) > maxRules:
		page.Error = fmt.Sprintf("The rules have at most %d characters.", maxRules)
	}
	if page.Error == "" {
		// Checked and stored first: a refused value leaves every setting as it was.
		if err := s.pod.SetAccountDefaults(ctx, page.Aspects, page.Autofollow); err != nil {
			status, msg, _ := pod.Problem(err)
			if status == http.StatusInternalServerError {
				s.fail(q, err)
				return
			}
			page.Error = msg
		}
	}
	if page.Error != "" {
		s.render(q, http.StatusUnprocessableEntity, "admin_settings", "Settings", page)
		return
	}
	for k, v := range map[string]string{settingName: page.Name, settingRegistrations: page.Registrations, settingRules: page.Rules} {
		if err := s.st.SetSetting(ctx, k, v); err != nil {
			s.fail(q, err)
			return
		}
	}
	detail := "registrations " + page.Registrations
	if page.Autofollow != "" {
		detail += ", new users share with " + page.Autofollow
	}
	s.audit(q, "settings", "", detail)
	http.Redirect(q.w, q.r, "/admins/settings?saved=1", http.StatusSeeOther)
}

// setting reads a setting changed in the browser ("" when none).
func (s *Server) setting(q *req, key string) (string, bool) {
	v, ok, err := s.st.Setting(q.r.Context(), key)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.ErrorContext(q.r.Context(), "reading a setting", "key", key, "err", err)
	}
	return v, ok
}

// podName is the pod's name: the setting, else the flag, else the domain.
func (s *Server) podName(q *req) string {
	if v, ok := s.setting(q, settingName); ok && v != "" {
		return v
	}
	return s.cfg.Name
}

// rules is the text of the pod's rules.
func (s *Server) rules(q *req) string {
	if v, ok := s.setting(q, settingRules); ok {
		return v
	}
	return s.cfg.Rules
}
