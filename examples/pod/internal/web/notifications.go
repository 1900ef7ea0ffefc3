package web

import (
	"net/http"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Notifications: what others did that concerns the user.

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /notifications", s.private(s.notifications))
		mux.HandleFunc("POST /notifications/read", s.private(s.readNotifications))
	})
}

// notificationsPage is the data of the notifications page.
type notificationsPage struct {
	Notifications []store.NotificationView
	Unread        int
}

// notifications lists the user's newest notifications as sentences, the
// unread ones marked; looking does not mark them read (the button does).
func (s *Server) notifications(q *req) {
	ns, unread, err := s.st.Notifications(q.r.Context(), q.user.Username, false)
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "notifications", "Notifications", notificationsPage{Notifications: ns, Unread: unread})
}

// readNotifications marks all of the user's notifications read.
func (s *Server) readNotifications(q *req) {
	if err := s.st.MarkNotificationsRead(q.r.Context(), q.user.Username, nil); err != nil {
		s.fail(q, err)
		return
	}
	back(q, "/notifications")
}
