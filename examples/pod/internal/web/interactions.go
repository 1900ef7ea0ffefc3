package web

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Taking back what one did to a post: deleting one's comment, unliking.

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("POST /comments/{guid}/delete", s.private(s.deleteComment))
		mux.HandleFunc("POST /likes/{guid}/delete", s.private(s.unlike))
	})
}

// deleteComment deletes the user's comment {guid} (a federated
// retraction) and goes back to its post.
func (s *Server) deleteComment(q *req) {
	ctx := q.r.Context()
	c, err := store.GetInteraction(ctx, s.st, q.r.PathValue("guid"))
	if err == nil && c.Type != "Comment" {
		err = store.ErrNotFound
	}
	if err == nil {
		err = s.pod.DeleteInteraction(ctx, q.user, c.GUID)
	}
	if err != nil {
		s.fail(q, err)
		return
	}
	back(q, "/posts/"+url.PathEscape(c.PostGUID)+"#comments")
}

// unlike takes back the user's like. {guid} is the like's own GUID or
// that of the liked post (what a post's Unlike button knows); unliking a
// post the user does not like changes nothing.
func (s *Server) unlike(q *req) {
	ctx := q.r.Context()
	guid := q.r.PathValue("guid")
	postGUID, likeGUID := guid, ""
	if i, err := store.GetInteraction(ctx, s.st, guid); err == nil && i.Type == "Like" {
		postGUID, likeGUID = i.PostGUID, i.GUID
	} else if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.fail(q, err)
		return
	}
	if likeGUID == "" {
		if _, err := s.st.PostView(ctx, q.user, postGUID); err != nil {
			s.fail(q, err)
			return
		}
		var err error
		if likeGUID, err = store.LikeOf(ctx, s.st, q.user.ID, postGUID); errors.Is(err, store.ErrNotFound) {
			back(q, "/posts/"+url.PathEscape(postGUID))
			return
		} else if err != nil {
			s.fail(q, err)
			return
		}
	}
	if err := s.pod.DeleteInteraction(ctx, q.user, likeGUID); err != nil {
		s.fail(q, err)
		return
	}
	back(q, "/posts/"+url.PathEscape(postGUID))
}
