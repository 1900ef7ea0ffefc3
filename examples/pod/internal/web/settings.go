package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Settings: the profile others see (/profile/edit) and the account
// itself, its password and its deletion (/user/edit).

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /profile/edit", s.private(s.profileForm))
		mux.HandleFunc("POST /profile/edit", s.privateUpload(s.updateProfile))
		mux.HandleFunc("GET /user/edit", s.private(s.accountForm))
		mux.HandleFunc("POST /user/edit/password", s.private(s.changePassword))
		mux.HandleFunc("POST /user/edit/delete", s.private(s.deleteAccount))
		mux.HandleFunc("POST /user/export", s.private(s.exportData))
	})
}

// profileEditPage is the data of the profile form.
type profileEditPage struct {
	FullName, Bio, Location, ImageURL string
	Searchable, NSFW                  bool
	ID                                string // the user's diaspora* ID
	Saved                             bool
	Error                             string
}

// profileForm shows the user's profile in a form (?saved=1 after a save).
func (s *Server) profileForm(q *req) {
	p, err := s.st.Profile(q.r.Context(), q.user.ID, false)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "profile_edit", "Edit profile", profileEditPage{
		FullName: p.FullName, Bio: p.Bio, Location: p.Location, ImageURL: p.ImageURL,
		Searchable: p.Searchable, NSFW: p.NSFW, ID: q.user.ID, Saved: q.r.URL.Query().Get("saved") == "1"})
}

// updateProfile saves the profile (and sends it to the user's contacts'
// pods); a value the pod refuses shows the form again with the message.
func (s *Server) updateProfile(q *req) {
	f := q.r.PostForm
	page := profileEditPage{FullName: strings.TrimSpace(f.Get("full_name")), Bio: f.Get("bio"),
		Location: strings.TrimSpace(f.Get("location")), ImageURL: strings.TrimSpace(f.Get("image_url")),
		Searchable: f.Get("searchable") != "", NSFW: f.Get("nsfw") != "", ID: q.user.ID}
	ups, err := s.uploads(q, "image_file")
	if err == nil && len(ups) > 1 {
		err = fmt.Errorf("%w: an avatar is one picture", store.ErrInvalid)
	}
	if err == nil && len(ups) == 1 {
		page.ImageURL, err = s.pod.SaveUpload(q.r.Context(), ups[0])
	}
	if err == nil {
		in := pod.ProfileInput{FullName: page.FullName, Bio: page.Bio,
			Location: &page.Location, ImageURL: &page.ImageURL, Searchable: &page.Searchable, NSFW: &page.NSFW}
		err = s.pod.UpdateProfile(q.r.Context(), q.user, in)
	}
	if err != nil {
		status, msg, _ := pod.Problem(err)
		if status == http.StatusInternalServerError || status == http.StatusNotFound {
			s.fail(q, err)
			return
		}
		page.Error = msg
		s.render(q, status, "profile_edit", "Edit profile", page)
		return
	}
	http.Redirect(q.w, q.r, "/profile/edit?saved=1", http.StatusSeeOther)
}

// accountPage is the data of the account settings page.
type accountPage struct {
	Username, ID               string
	Changed                    bool // the password was changed
	PasswordError, DeleteError string
}

// accountForm shows the password and account deletion forms (?changed=1
// after a password change).
func (s *Server) accountForm(q *req) {
	s.render(q, http.StatusOK, "user_edit", "Account", accountPage{Username: q.user.Username, ID: q.user.ID,
		Changed: q.r.URL.Query().Get("changed") == "1"})
}

// passwordProblem turns a failed password check (or change) into the
// status and sentence the form shows; ok is false for the pod's own
// errors.
func passwordProblem(q *req, err error) (status int, msg string, ok bool) {
	status, msg, retry := pod.Problem(err)
	switch {
	case status == http.StatusInternalServerError:
		return status, msg, false
	case errors.Is(err, pod.ErrForbidden):
		msg = "Your current password is not right."
	case retry > 0:
		q.w.Header().Set("Retry-After", strconv.Itoa(int(retry.Seconds()+0.999)))
	}
	return status, msg, true
}

// changePassword sets a new password after checking the current one and
// ends the user's other sessions; this one stays signed in.
func (s *Server) changePassword(q *req) {
	page := accountPage{Username: q.user.Username, ID: q.user.ID}
	f := q.r.PostForm
	next := f.Get("password")
	if next != f.Get("password_confirmation") {
		page.PasswordError = "The new password and its confirmation differ."
		s.render(q, http.StatusUnprocessableEntity, "user_edit", "Account", page)
		return
	}
	err := s.pod.ChangePassword(q.r.Context(), q.user, f.Get("current_password"), next, clientAddr(q.r), q.session)
	if err != nil {
		status, msg, ok := passwordProblem(q, err)
		if !ok {
			s.fail(q, err)
			return
		}
		page.PasswordError = msg
		s.render(q, status, "user_edit", "Account", page)
		return
	}
	http.Redirect(q.w, q.r, "/user/edit?changed=1", http.StatusSeeOther)
}

// deleteAccount closes the account after checking its password, signs
// the browser out and goes to the front page.
func (s *Server) deleteAccount(q *req) {
	err := s.pod.DeleteAccount(q.r.Context(), q.user, q.r.PostFormValue("current_password"), clientAddr(q.r))
	if err != nil {
		status, msg, ok := passwordProblem(q, err)
		if !ok {
			s.fail(q, err)
			return
		}
		s.render(q, status, "user_edit", "Account", accountPage{Username: q.user.Username, ID: q.user.ID, DeleteError: msg})
		return
	}
	http.SetCookie(q.w, s.cookie(q.r, sessionCookie, "", -1))
	http.Redirect(q.w, q.r, "/", http.StatusSeeOther)
}

// exportData is "download my data": everything the user put on the pod,
// as a JSON file (store.Export). It is a POST, so that another site cannot
// start the download.
func (s *Server) exportData(q *req) {
	x, err := s.pod.Export(q.r.Context(), q.user)
	if err != nil {
		s.fail(q, err)
		return
	}
	b, err := json.MarshalIndent(x, "", "  ")
	if err != nil {
		s.fail(q, err)
		return
	}
	h := q.w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="`+q.user.Username+`-diaspora-data.json"`)
	h.Set("Cache-Control", "no-store")
	_, _ = q.w.Write(b)
}
