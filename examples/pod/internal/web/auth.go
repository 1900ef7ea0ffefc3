package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// homePage is the data of the front page.
type homePage struct {
	Rules         string
	Registrations string
	Users         int
	Domain        string
}

// home is the front page: what the pod is, how to join; signed in, the
// stream.
func (s *Server) home(q *req) {
	if q.user != nil {
		http.Redirect(q.w, q.r, "/stream", http.StatusSeeOther)
		return
	}
	n, err := s.st.ActiveUsers(q.r.Context())
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "home", s.podName(q), homePage{Rules: s.rules(q), Registrations: s.registrations(q), Users: n, Domain: s.pod.Domain()})
}

// signInPage is the data of the sign-in form.
type signInPage struct {
	Username, ReturnTo, Error string
}

func (s *Server) signInForm(q *req) {
	if q.user != nil {
		http.Redirect(q.w, q.r, "/stream", http.StatusSeeOther)
		return
	}
	s.render(q, http.StatusOK, "sign_in", "Sign in", signInPage{ReturnTo: q.r.URL.Query().Get("return_to")})
}

// signIn checks a password (throttled per account and address by the
// pod, with the same answer for an unknown user and a wrong password).
func (s *Server) signIn(q *req) {
	name := strings.TrimSpace(q.r.PostFormValue("username"))
	u, err := s.pod.Login(q.r.Context(), name, q.r.PostFormValue("password"), clientAddr(q.r))
	if err != nil {
		page := signInPage{Username: name, ReturnTo: q.r.PostFormValue("return_to"), Error: "Wrong username or password."}
		status := http.StatusUnauthorized
		var t pod.ThrottledError
		switch {
		case errors.As(err, &t):
			page.Error, status = t.Error(), http.StatusTooManyRequests
		case !errors.Is(err, pod.ErrForbidden):
			s.fail(q, err)
			return
		}
		s.render(q, status, "sign_in", "Sign in", page)
		return
	}
	if err := s.startSession(q, u); err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, localPath(q.r.PostFormValue("return_to")), http.StatusSeeOther)
}

// signOut ends the session (in the store, not only in the browser).
func (s *Server) signOut(q *req) {
	if q.session != nil {
		if err := s.st.DeleteSession(q.r.Context(), q.session); err != nil {
			s.fail(q, err)
			return
		}
	}
	http.SetCookie(q.w, s.cookie(q.r, sessionCookie, "", -1))
	http.Redirect(q.w, q.r, "/", http.StatusSeeOther)
}

// signUpPage is the data of the sign-up form.
type signUpPage struct {
	Mode, Invite, Username, Error, Domain, Rules string
}

func (s *Server) signUpForm(q *req) {
	if q.user != nil {
		http.Redirect(q.w, q.r, "/stream", http.StatusSeeOther)
		return
	}
	page := signUpPage{Mode: s.registrations(q), Invite: q.r.URL.Query().Get("invite"), Domain: s.pod.Domain(), Rules: s.rules(q)}
	status := http.StatusOK
	if page.Mode == RegistrationsClosed {
		status = http.StatusForbidden
	}
	s.render(q, status, "sign_up", "Sign up", page)
}

// signUp makes an account: with an unused invitation code in invite
// mode (the code is spent), and signs the new person in.
func (s *Server) signUp(q *req) {
	ctx := q.r.Context()
	page := signUpPage{Mode: s.registrations(q), Invite: strings.TrimSpace(q.r.PostFormValue("invite")),
		Username: strings.ToLower(strings.TrimSpace(q.r.PostFormValue("username"))), Domain: s.pod.Domain(), Rules: s.rules(q)}
	fail := func(status int, msg string) {
		page.Error = msg
		s.render(q, status, "sign_up", "Sign up", page)
	}
	switch page.Mode {
	case RegistrationsClosed:
		fail(http.StatusForbidden, "This pod takes no new accounts.")
		return
	case RegistrationsInvite:
		if page.Invite == "" {
			fail(http.StatusForbidden, "This pod takes new people by invitation: ask someone here for a link.")
			return
		}
	}
	pw := q.r.PostFormValue("password")
	if pw != q.r.PostFormValue("password_confirmation") {
		fail(http.StatusUnprocessableEntity, "The two passwords differ.")
		return
	}
	if page.Mode == RegistrationsInvite {
		if _, err := s.st.ClaimInvitation(ctx, page.Invite, page.Username); errors.Is(err, store.ErrNotFound) {
			fail(http.StatusForbidden, "That invitation code is unknown or was used already.")
			return
		} else if err != nil {
			s.fail(q, err)
			return
		}
	}
	_, err := s.pod.AddUser(ctx, page.Username, pw)
	if err != nil {
		if page.Mode == RegistrationsInvite {
			if rerr := s.st.ReleaseInvitation(ctx, page.Invite); rerr != nil {
				s.log.ErrorContext(ctx, "releasing an invitation", "err", rerr)
			}
		}
		status, msg, _ := pod.Problem(err)
		if status == http.StatusInternalServerError {
			s.fail(q, err)
			return
		}
		if errors.Is(err, store.ErrConflict) || strings.Contains(err.Error(), "UNIQUE") || strings.Contains(err.Error(), "duplicate key") {
			status, msg = http.StatusConflict, "That username is taken."
		}
		fail(status, msg)
		return
	}
	u, err := s.st.UserByName(ctx, page.Username)
	if err != nil {
		s.fail(q, err)
		return
	}
	if err := s.startSession(q, u); err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/stream", http.StatusSeeOther)
}

// invitationsPage is the data of the invitations page.
type invitationsPage struct {
	Base    string
	Unused  []store.Invitation
	Used    []store.Invitation
	Enabled bool
}

// invitations lists the user's invitation codes as sign-up links.
func (s *Server) invitations(q *req) {
	all, err := s.st.Invitations(q.r.Context(), q.user.Username, s.cfg.Invitations)
	if err != nil {
		s.fail(q, err)
		return
	}
	page := invitationsPage{Base: s.pod.BaseURL(), Enabled: s.registrations(q) == RegistrationsInvite}
	for _, in := range all {
		if in.UsedBy == "" {
			page.Unused = append(page.Unused, in)
		} else {
			page.Used = append(page.Used, in)
		}
	}
	s.render(q, http.StatusOK, "invitations", "Invitations", page)
}
