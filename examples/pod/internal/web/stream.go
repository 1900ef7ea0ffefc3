package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// streamPage is the data of a page of posts.
type streamPage struct {
	Heading   string
	Posts     []postView
	Older     string // the link to older posts, "" on the last page
	Publisher bool
	Aspects   []store.AspectView
	Tag       string   // on a tag's page, the tag
	Following bool     // on a tag's page, whether the reader follows it
	Followed  []string // on the stream, the tags the reader follows
}

// pageSize is how many posts a stream page shows.
const pageSize = 20

// posts loads a page of a stream (?before= pages back) and its link to
// older posts.
func (s *Server) posts(q *req, sq store.StreamQuery, path string) ([]postView, string, error) {
	sq.Limit = pageSize + 1
	if b := q.r.URL.Query().Get("before"); b != "" {
		t, err := time.Parse(time.RFC3339, b)
		if err != nil {
			return nil, "", fmt.Errorf("%w: before is not a time", store.ErrInvalid)
		}
		sq.Before = t
	}
	ps, err := s.st.Posts(q.r.Context(), q.user, sq)
	if err != nil {
		return nil, "", err
	}
	older := ""
	if len(ps) > pageSize {
		ps = ps[:pageSize]
		older = path + "?before=" + ps[len(ps)-1].CreatedAt
	}
	return s.view(q, ps), older, nil
}

func (s *Server) showStream(q *req, sq store.StreamQuery, path, heading string, publisher bool) {
	ps, older, err := s.posts(q, sq, path)
	if err != nil {
		s.fail(q, err)
		return
	}
	page := streamPage{Heading: heading, Posts: ps, Older: older, Publisher: publisher}
	if publisher {
		if page.Aspects, err = s.st.Aspects(q.r.Context(), q.user.Username); err != nil {
			s.fail(q, err)
			return
		}
	}
	if q.user != nil && (publisher || sq.Kind == "tag") {
		followed, err := s.st.FollowedTags(q.r.Context(), q.user.Username)
		if err != nil {
			s.fail(q, err)
			return
		}
		if publisher {
			page.Followed = followed
		} else {
			page.Tag, page.Following = sq.Tag, slices.Contains(followed, sq.Tag)
		}
	}
	s.render(q, http.StatusOK, "stream", heading, page)
}

// followTag follows the tag of the path (follow=1) or stops (follow=0),
// then shows the tag's page.
func (s *Server) followTag(q *req) {
	tag, err := s.pod.FollowTag(q.r.Context(), q.user, q.r.PathValue("tag"), q.r.PostFormValue("follow") == "1")
	if err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/tags/"+url.PathEscape(tag), http.StatusSeeOther)
}

// stream is the user's stream: their posts and those of the people they
// share with, with the publisher.
func (s *Server) stream(q *req) {
	s.showStream(q, store.StreamQuery{Kind: "stream"}, "/stream", "Stream", true)
}

// public is every public post the pod has.
func (s *Server) public(q *req) {
	s.showStream(q, store.StreamQuery{Kind: "public"}, "/public", "Public activity", false)
}

// activity is the posts the user commented on or liked.
func (s *Server) activity(q *req) {
	s.showStream(q, store.StreamQuery{Kind: "activity"}, "/activity", "My activity", false)
}

// tag is the posts with a #tag.
func (s *Server) tag(q *req) {
	tag := strings.ToLower(strings.TrimPrefix(q.r.PathValue("tag"), "#"))
	s.showStream(q, store.StreamQuery{Kind: "tag", Tag: tag}, "/tags/"+tag, "#"+tag, false)
}

// postPage is the data of a post's page.
type postPage struct {
	Post postView
}

// post is a post's page with its comments and what the reader may do.
func (s *Server) post(q *req) {
	p, err := s.st.PostView(q.r.Context(), q.user, q.r.PathValue("guid"))
	if err != nil {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "post", "Post by "+p.Author, postPage{Post: s.view(q, []store.PostView{*p})[0]})
}

// createPost is the publisher: text, visibility (public, all aspects or
// chosen aspects), photos by URL, a poll, a location.
func (s *Server) createPost(q *req) {
	f := q.r.PostForm
	in := pod.PostInput{Text: f.Get("text")}
	public := false
	switch v := f.Get("visibility"); v {
	case "public":
		public = true
	case "", "all":
		as, err := s.st.Aspects(q.r.Context(), q.user.Username)
		if err != nil {
			s.fail(q, err)
			return
		}
		for _, a := range as {
			in.Aspects = append(in.Aspects, a.Name)
		}
		if len(in.Aspects) == 0 {
			s.fail(q, fmt.Errorf("%w: you have no aspects to post to; post publicly or make an aspect", store.ErrInvalid))
			return
		}
	case "aspects":
		in.Aspects = f["aspects"]
		if len(in.Aspects) == 0 {
			s.fail(q, fmt.Errorf("%w: choose at least one aspect", store.ErrInvalid))
			return
		}
	default:
		s.fail(q, fmt.Errorf("%w: unknown visibility %q", store.ErrInvalid, v))
		return
	}
	in.Public = &public
	in.Photos = append(in.Photos, strings.Fields(f.Get("photos"))...)
	if strings.TrimSpace(in.Text) == "" { // before any picture is stored
		s.fail(q, fmt.Errorf("%w: a post needs text", store.ErrInvalid))
		return
	}
	// Uploaded pictures: all checked before any is stored.
	ups, err := s.uploads(q, "photo_files")
	if err != nil {
		s.fail(q, err)
		return
	}
	if len(in.Photos)+len(ups) > entities.DefaultMaxPhotos {
		s.fail(q, fmt.Errorf("%w: a post has at most %d photos", store.ErrInvalid, entities.DefaultMaxPhotos))
		return
	}
	for _, up := range ups {
		u, err := s.pod.SaveUpload(q.r.Context(), up)
		if err != nil {
			s.fail(q, err)
			return
		}
		in.Photos = append(in.Photos, u)
	}
	if loc := strings.TrimSpace(f.Get("location")); loc != "" {
		in.Location = &store.LocationView{Address: loc}
	}
	if question := strings.TrimSpace(f.Get("poll_question")); question != "" {
		poll := &pod.PollInput{Question: question}
		for _, a := range strings.Split(f.Get("poll_answers"), "\n") {
			if a = strings.TrimSpace(a); a != "" {
				poll.Answers = append(poll.Answers, a)
			}
		}
		in.Poll = poll
	}
	p, err := s.pod.CreatePost(q.r.Context(), q.user, in)
	if err != nil {
		s.fail(q, err)
		return
	}
	if f.Get("return_to") != "" {
		back(q, "/stream")
		return
	}
	http.Redirect(q.w, q.r, "/posts/"+p.GUID, http.StatusSeeOther)
}

// uploads reads and prepares the pictures of a form's file field (none
// when the form has no such field or the browser sent it empty); one
// that is not a picture refuses them all.
func (s *Server) uploads(q *req, field string) ([]*store.Upload, error) {
	mf := q.r.MultipartForm
	if mf == nil {
		return nil, nil
	}
	var out []*store.Upload
	for _, fh := range mf.File[field] {
		if fh.Size == 0 && fh.Filename == "" {
			continue // an empty file input
		}
		if fh.Size > pod.MaxUploadBytes {
			return nil, fmt.Errorf("%w: %s is larger than %d MiB", store.ErrInvalid, fh.Filename, pod.MaxUploadBytes>>20)
		}
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(f, pod.MaxUploadBytes+1))
		f.Close()
		if err != nil {
			return nil, err
		}
		up, err := s.pod.PrepareUpload(q.user, data)
		if err != nil {
			_, msg, _ := pod.Problem(err)
			return nil, fmt.Errorf("%w: %s: %s", store.ErrInvalid, fh.Filename, msg)
		}
		out = append(out, up)
	}
	return out, nil
}

// comment adds a comment to a post.
func (s *Server) comment(q *req) {
	guid := q.r.PathValue("guid")
	if _, err := s.pod.Interact(q.r.Context(), q.user, guid, q.r.PostFormValue("text"), false); err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/posts/"+guid+"#comments", http.StatusSeeOther)
}

// like likes a post.
func (s *Server) like(q *req) {
	guid := q.r.PathValue("guid")
	if _, err := s.pod.Interact(q.r.Context(), q.user, guid, "", true); err != nil && !errors.Is(err, store.ErrConflict) {
		s.fail(q, err)
		return
	}
	back(q, "/posts/"+guid)
}

// reshare reshares a public post.
func (s *Server) reshare(q *req) {
	guid := q.r.PathValue("guid")
	p, err := s.pod.Reshare(q.r.Context(), q.user, guid)
	if err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/posts/"+p.GUID, http.StatusSeeOther)
}

// vote answers a post's poll.
func (s *Server) vote(q *req) {
	guid := q.r.PathValue("guid")
	if _, err := s.pod.Vote(q.r.Context(), q.user, guid, q.r.PostFormValue("answer")); err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/posts/"+guid, http.StatusSeeOther)
}

// deletePost deletes the user's own post (a federated retraction).
func (s *Server) deletePost(q *req) {
	if err := s.pod.DeletePost(q.r.Context(), q.user, q.r.PathValue("guid")); err != nil {
		s.fail(q, err)
		return
	}
	http.Redirect(q.w, q.r, "/stream", http.StatusSeeOther)
}

// maxReason caps the text of a report.
const maxReason = 1000

// report stores a report of a post or comment for the podmin.
func (s *Server) report(q *req) {
	guid := q.r.PathValue("guid")
	typ := "Post"
	target := guid
	if c := q.r.PostFormValue("comment"); c != "" {
		typ, target = "Comment", c
	}
	if _, err := s.st.PostView(q.r.Context(), q.user, guid); err != nil {
		s.fail(q, err)
		return
	}
	reason := strings.TrimSpace(q.r.PostFormValue("reason"))
	if reason == "" || len(reason) > maxReason {
		s.fail(q, fmt.Errorf("%w: say in up to %d characters what is wrong", store.ErrInvalid, maxReason))
		return
	}
	if err := s.st.AddReport(q.r.Context(), q.user.Username, typ, target, reason); err != nil && !errors.Is(err, store.ErrConflict) {
		s.fail(q, err)
		return
	}
	s.render(q, http.StatusOK, "error", "Reported", errorPage{Message: "Thank you: the podmin will look at it."})
}
