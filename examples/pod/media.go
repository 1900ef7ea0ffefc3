package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/go-diaspora/federation/entities"
)

// PostExtra holds what a status message carries besides its text.
type PostExtra struct {
	Photos   []string      `json:"photos,omitempty"`
	Location *LocationView `json:"location,omitempty"`
	Poll     *PollView     `json:"poll,omitempty"`
}

// LocationView is a post's location.
type LocationView struct {
	Address string `json:"address"`
	Lat     string `json:"lat"`
	Lng     string `json:"lng"`
}

// PollView is a post's poll with its vote counts.
type PollView struct {
	GUID     string       `json:"guid"`
	Question string       `json:"question"`
	Answers  []AnswerView `json:"answers"`
}

// AnswerView is one poll answer.
type AnswerView struct {
	GUID   string `json:"guid"`
	Answer string `json:"answer"`
	Votes  int    `json:"votes"`
}

// PollInput is the poll of a new post.
type PollInput struct {
	Question string   `json:"question"`
	Answers  []string `json:"answers"`
}

// extraOf reads the photos, location and poll of a status message.
func extraOf(sm *entities.StatusMessage) PostExtra {
	var x PostExtra
	for _, ph := range sm.Photos {
		x.Photos = append(x.Photos, ph.RemotePhotoPath+ph.RemotePhotoName)
	}
	if l := sm.Location; l != nil {
		x.Location = &LocationView{Address: l.Address, Lat: l.Lat, Lng: l.Lng}
	}
	if p := sm.Poll; p != nil {
		x.Poll = &PollView{GUID: p.GUID, Question: p.Question}
		for _, a := range p.PollAnswers {
			x.Poll.Answers = append(x.Poll.Answers, AnswerView{GUID: a.GUID, Answer: a.Answer})
		}
	}
	return x
}

// attach adds photos (by URL), a location and a poll to a new status
// message.
func attach(sm *entities.StatusMessage, photos []string, loc *LocationView, poll *PollInput) error {
	// The limits other pods hold received posts to (the SDK's defaults).
	if len(photos) > entities.DefaultMaxPhotos {
		return fmt.Errorf("%w: a post has at most %d photos", errInvalid, entities.DefaultMaxPhotos)
	}
	if poll != nil && len(poll.Answers) > entities.DefaultMaxPollAnswers {
		return fmt.Errorf("%w: a poll has at most %d answers", errInvalid, entities.DefaultMaxPollAnswers)
	}
	for _, raw := range photos {
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("%w: photo %q is not an http(s) URL", errInvalid, raw)
		}
		i := strings.LastIndex(raw, "/")
		sm.Photos = append(sm.Photos, &entities.Photo{GUID: newGUID(), Author: sm.Author, Public: sm.Public,
			CreatedAt: sm.CreatedAt, RemotePhotoPath: raw[:i+1], RemotePhotoName: raw[i+1:], StatusMessageGUID: sm.GUID})
	}
	if loc != nil {
		sm.Location = &entities.Location{Address: loc.Address, Lat: loc.Lat, Lng: loc.Lng}
	}
	if poll != nil {
		if len(poll.Answers) < 2 {
			return fmt.Errorf("%w: a poll needs at least two answers", errInvalid)
		}
		sm.Poll = &entities.Poll{GUID: newGUID(), Question: poll.Question}
		for _, a := range poll.Answers {
			sm.Poll.PollAnswers = append(sm.Poll.PollAnswers, &entities.PollAnswer{GUID: newGUID(), Answer: a})
		}
	}
	return nil
}
