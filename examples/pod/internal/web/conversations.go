package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/pod"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Conversations: private messages between a few people, on this pod or
// others.

func init() {
	moreRoutes = append(moreRoutes, func(s *Server, mux *http.ServeMux) {
		mux.HandleFunc("GET /conversations", s.private(s.conversations))
		mux.HandleFunc("POST /conversations", s.private(s.startConversation))
		mux.HandleFunc("GET /conversations/{guid}", s.private(s.conversation))
		mux.HandleFunc("POST /conversations/{guid}/messages", s.private(s.sendMessage))
	})
}

// conversationsPage is the data of the conversations page.
type conversationsPage struct {
	Conversations []conversationRow
	// The new conversation form, filled again when it failed.
	Subject, Recipients, Text, Error string
}

// conversationRow is a conversation in the list.
type conversationRow struct {
	GUID, Subject, Author string
	Participants          []string // besides the reader
	Messages              int
	Last                  string // RFC 3339 time of the newest message
}

// conversations lists the user's conversations, the most recently active
// first, with the form that starts one.
func (s *Server) conversations(q *req) {
	s.showConversations(q, http.StatusOK, conversationsPage{})
}

func (s *Server) showConversations(q *req, status int, page conversationsPage) {
	cs, err := s.st.Conversations(q.r.Context(), q.user)
	if err != nil {
		s.fail(q, err)
		return
	}
	page.Conversations = make([]conversationRow, 0, len(cs))
	for _, c := range cs {
		row := conversationRow{GUID: c.GUID, Subject: c.Subject, Author: c.Author, Messages: len(c.Messages), Last: c.CreatedAt}
		if n := len(c.Messages); n > 0 {
			row.Last = c.Messages[n-1].CreatedAt
		}
		for _, id := range c.Participants {
			if id != q.user.ID {
				row.Participants = append(row.Participants, id)
			}
		}
		page.Conversations = append(page.Conversations, row)
	}
	// RFC 3339 times in UTC sort as strings.
	slices.SortStableFunc(page.Conversations, func(a, b conversationRow) int { return cmp.Compare(b.Last, a.Last) })
	s.render(q, status, "conversations", "Conversations", page)
}

// splitRecipients splits the recipients field: diaspora* IDs separated
// by commas, semicolons, spaces or newlines, an @ in front allowed.
func splitRecipients(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ';' || r == ' ' || r == '\t' || r == '\r' || r == '\n'
	}) {
		if f = strings.TrimPrefix(f, "@"); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// startConversation starts a conversation and shows it.
func (s *Server) startConversation(q *req) {
	f := q.r.PostForm
	page := conversationsPage{Subject: f.Get("subject"), Recipients: f.Get("recipients"), Text: f.Get("text")}
	in := pod.ConversationInput{Subject: strings.TrimSpace(page.Subject), Text: page.Text, Participants: splitRecipients(page.Recipients)}
	c, err := s.pod.StartConversation(q.r.Context(), q.user, in)
	if err != nil {
		status, msg, _ := pod.Problem(err)
		if status == http.StatusInternalServerError {
			s.fail(q, err)
			return
		}
		if status == http.StatusNotFound {
			msg = "Somebody among the recipients was not found: check their diaspora* IDs."
		}
		page.Error = msg
		s.showConversations(q, status, page)
		return
	}
	http.Redirect(q.w, q.r, "/conversations/"+url.PathEscape(c.GUID), http.StatusSeeOther)
}

// conversationPage is the data of a conversation's page.
type conversationPage struct {
	Conversation *store.ConversationView
	Others       []string // the participants besides the reader
	Text, Error  string   // the reply form, filled again when it failed
}

// conversation shows a conversation the user takes part in, its messages
// oldest first, and the reply form.
func (s *Server) conversation(q *req) {
	s.showConversation(q, http.StatusOK, conversationPage{})
}

func (s *Server) showConversation(q *req, status int, page conversationPage) {
	c, err := s.st.Conversation(q.r.Context(), q.user, q.r.PathValue("guid"))
	if err != nil {
		s.fail(q, err)
		return
	}
	page.Conversation = c
	for _, id := range c.Participants {
		if id != q.user.ID {
			page.Others = append(page.Others, id)
		}
	}
	title := c.Subject
	if strings.TrimSpace(title) == "" {
		title = "Conversation"
	}
	s.render(q, status, "conversation", title, page)
}

// sendMessage adds the user's reply to a conversation and shows it there.
func (s *Server) sendMessage(q *req) {
	guid := q.r.PathValue("guid")
	text := q.r.PostFormValue("text")
	m, err := s.pod.SendMessage(q.r.Context(), q.user, guid, text)
	if err != nil {
		status, msg, _ := pod.Problem(err)
		if status == http.StatusInternalServerError || status == http.StatusNotFound {
			s.fail(q, err)
			return
		}
		s.showConversation(q, status, conversationPage{Text: text, Error: msg})
		return
	}
	http.Redirect(q.w, q.r, "/conversations/"+url.PathEscape(guid)+"#message-"+m.GUID, http.StatusSeeOther)
}
