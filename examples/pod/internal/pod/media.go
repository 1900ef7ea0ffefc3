package pod

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/entities"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// PollInput is the poll of a new post.
type PollInput struct {
	Question string   `json:"question"`
	Answers  []string `json:"answers"`
}

// extraOf reads the photos, location and poll of a status message.
func extraOf(sm *entities.StatusMessage) store.PostExtra {
	var x store.PostExtra
	for _, ph := range sm.Photos {
		x.Photos = append(x.Photos, ph.RemotePhotoPath+ph.RemotePhotoName)
	}
	if l := sm.Location; l != nil {
		x.Location = &store.LocationView{Address: l.Address, Lat: l.Lat, Lng: l.Lng}
	}
	if p := sm.Poll; p != nil {
		x.Poll = &store.PollView{GUID: p.GUID, Question: p.Question}
		for _, a := range p.PollAnswers {
			x.Poll.Answers = append(x.Poll.Answers, store.AnswerView{GUID: a.GUID, Answer: a.Answer})
		}
	}
	return x
}

// attach adds photos (by URL), a location and a poll to a new status
// message.
func attach(sm *entities.StatusMessage, photos []string, loc *store.LocationView, poll *PollInput) error {
	// The limits other pods hold received posts to (the SDK's defaults).
	if len(photos) > entities.DefaultMaxPhotos {
		return fmt.Errorf("%w: a post has at most %d photos", store.ErrInvalid, entities.DefaultMaxPhotos)
	}
	if poll != nil && len(poll.Answers) > entities.DefaultMaxPollAnswers {
		return fmt.Errorf("%w: a poll has at most %d answers", store.ErrInvalid, entities.DefaultMaxPollAnswers)
	}
	for _, raw := range photos {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: photo %q is not an http(s) URL", store.ErrInvalid, raw)
		}
		i := strings.LastIndex(raw, "/")
		sm.Photos = append(sm.Photos, &entities.Photo{GUID: NewGUID(), Author: sm.Author, Public: sm.Public,
			CreatedAt: sm.CreatedAt, RemotePhotoPath: raw[:i+1], RemotePhotoName: raw[i+1:], StatusMessageGUID: sm.GUID})
	}
	if loc != nil {
		sm.Location = &entities.Location{Address: loc.Address, Lat: loc.Lat, Lng: loc.Lng}
	}
	if poll != nil {
		if len(poll.Answers) < 2 {
			return fmt.Errorf("%w: a poll needs at least two answers", store.ErrInvalid)
		}
		sm.Poll = &entities.Poll{GUID: NewGUID(), Question: poll.Question}
		for _, a := range poll.Answers {
			sm.Poll.PollAnswers = append(sm.Poll.PollAnswers, &entities.PollAnswer{GUID: NewGUID(), Answer: a})
		}
	}
	return nil
}
