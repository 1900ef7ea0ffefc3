package store

// What the store reads and the API shows: posts with what they carry,
// contacts, aspects, notifications and conversations.

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

// ConversationView is a conversation with its messages.
type ConversationView struct {
	GUID         string        `json:"guid"`
	Author       string        `json:"author"`
	Subject      string        `json:"subject"`
	CreatedAt    string        `json:"created_at"`
	Participants []string      `json:"participants"`
	Messages     []MessageView `json:"messages"`
}

// MessageView is one message of a conversation.
type MessageView struct {
	GUID      string `json:"guid"`
	Author    string `json:"author"`
	Text      string `json:"text"`
	CreatedAt string `json:"created_at"`
}
