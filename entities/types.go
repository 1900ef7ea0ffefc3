package entities

import "time"

// Entity is a diaspora* federation entity. The concrete types are the
// pointer types of this package ([*StatusMessage], [*Comment], …) and
// [*UnknownEntity].
type Entity interface {
	// Type returns the snake_case entity name, which is also the XML root
	// element and the JSON entity_type, for example "status_message".
	Type() string
	// Validate checks the entity, and its nested entities, against the
	// validation rules of the protocol. It returns a [*ValidationError]
	// (or, for an UnknownEntity, an error matching [ErrUnknownEntity]).
	Validate() error
	entity()
}

// StatusMessage (status_message) is a post with text and optional photos,
// location, poll, event and link embed.
type StatusMessage struct {
	Author              string    `diaspora:"author,required,legacy=diaspora_handle"`
	GUID                string    `diaspora:"guid,required"`
	CreatedAt           time.Time `diaspora:"created_at,defaulted,default=now"`
	Public              bool      `diaspora:"public,defaulted,default=false"`
	ProviderDisplayName string    `diaspora:"provider_display_name,optional"`
	Text                string    `diaspora:"text,required,legacy=raw_message"`
	EditedAt            time.Time `diaspora:"edited_at,optional"`
	Photos              []*Photo  `diaspora:"photos,optional,xml=photo"`
	Location            *Location `diaspora:"location,optional"`
	Poll                *Poll     `diaspora:"poll,optional"`
	Event               *Event    `diaspora:"event,optional"`
	Embed               *Embed    `diaspora:"embed,optional"`

	meta meta
}

// Photo (photo) is an image, standalone or nested in a StatusMessage. The
// image URL is RemotePhotoPath + RemotePhotoName. Height and Width are 0
// when unknown.
type Photo struct {
	GUID              string    `diaspora:"guid,required"`
	Author            string    `diaspora:"author,required,legacy=diaspora_handle"`
	Public            bool      `diaspora:"public,defaulted,default=false"`
	CreatedAt         time.Time `diaspora:"created_at,defaulted,default=now"`
	EditedAt          time.Time `diaspora:"edited_at,optional"`
	RemotePhotoPath   string    `diaspora:"remote_photo_path,required"`
	RemotePhotoName   string    `diaspora:"remote_photo_name,required"`
	Text              string    `diaspora:"text,optional"`
	StatusMessageGUID string    `diaspora:"status_message_guid,optional"`
	Height            int       `diaspora:"height,optional"`
	Width             int       `diaspora:"width,optional"`

	meta meta
}

// Location (location) is a place, nested in a StatusMessage or Event. Lat
// and Lng are kept as the decimal strings received, so that re-serialized
// data stays byte-identical.
type Location struct {
	Address string `diaspora:"address,required"`
	Lat     string `diaspora:"lat,required"`
	Lng     string `diaspora:"lng,required"`

	meta meta
}

// Poll (poll) is a question with at least two answers, nested in a
// StatusMessage.
type Poll struct {
	GUID        string        `diaspora:"guid,required"`
	Question    string        `diaspora:"question,required"`
	PollAnswers []*PollAnswer `diaspora:"poll_answers,required,xml=poll_answer"`

	meta meta
}

// PollAnswer (poll_answer) is one answer of a Poll.
type PollAnswer struct {
	GUID   string `diaspora:"guid,required"`
	Answer string `diaspora:"answer,required"`

	meta meta
}

// Event (event) is a calendar event nested in a StatusMessage. End is zero
// for an open end; Timezone is an IANA name such as "Europe/Berlin" or "".
type Event struct {
	Author      string    `diaspora:"author,required"`
	GUID        string    `diaspora:"guid,required"`
	EditedAt    time.Time `diaspora:"edited_at,optional"`
	Summary     string    `diaspora:"summary,required"`
	Description string    `diaspora:"description,optional"`
	Start       time.Time `diaspora:"start,required"`
	End         time.Time `diaspora:"end,optional"`
	AllDay      bool      `diaspora:"all_day,optional,default=false"`
	Timezone    string    `diaspora:"timezone,optional"`
	Location    *Location `diaspora:"location,optional"`

	meta meta
}

// Embed (embed) tells receivers which link of a StatusMessage to embed
// (URL), or that nothing should be embedded (Nothing true). Exactly one of
// the two must be set.
type Embed struct {
	URL         string `diaspora:"url,optional"`
	Title       string `diaspora:"title,optional"`
	Description string `diaspora:"description,optional"`
	Image       string `diaspora:"image,optional"`
	// Nothing is nil when absent.
	Nothing *bool `diaspora:"nothing,optional"`

	meta meta
}

// Reshare (reshare) is a post that shares another post (the root). RootAuthor
// and RootGUID are both empty when the root was deleted.
type Reshare struct {
	Author     string    `diaspora:"author,required,legacy=diaspora_handle"`
	GUID       string    `diaspora:"guid,required"`
	CreatedAt  time.Time `diaspora:"created_at,defaulted,default=now"`
	RootAuthor string    `diaspora:"root_author,optional,legacy=root_diaspora_id"`
	RootGUID   string    `diaspora:"root_guid,optional"`

	meta meta
}

// Comment (comment) is a relayable comment on a post (parent type "Post").
type Comment struct {
	Author          string    `diaspora:"author,required,legacy=diaspora_handle"`
	GUID            string    `diaspora:"guid,required"`
	ParentGUID      string    `diaspora:"parent_guid,required"`
	AuthorSignature string    `diaspora:"author_signature,optional,sig"`
	Text            string    `diaspora:"text,required"`
	CreatedAt       time.Time `diaspora:"created_at,defaulted,default=now"`
	EditedAt        time.Time `diaspora:"edited_at,optional"`

	meta meta
}

// Like (like) is a relayable like (Positive true) or dislike of a post or
// comment; ParentType is "Post" or "Comment".
type Like struct {
	Author          string `diaspora:"author,required,legacy=diaspora_handle"`
	GUID            string `diaspora:"guid,required"`
	ParentGUID      string `diaspora:"parent_guid,required"`
	AuthorSignature string `diaspora:"author_signature,optional,sig"`
	ParentType      string `diaspora:"parent_type,required,legacy=target_type"`
	Positive        bool   `diaspora:"positive,required"`

	meta meta
}

// PollParticipation (poll_participation) is a relayable vote: ParentGUID is
// the poll, PollAnswerGUID the chosen answer.
type PollParticipation struct {
	Author          string `diaspora:"author,required,legacy=diaspora_handle"`
	GUID            string `diaspora:"guid,required"`
	ParentGUID      string `diaspora:"parent_guid,required"`
	AuthorSignature string `diaspora:"author_signature,optional,sig"`
	PollAnswerGUID  string `diaspora:"poll_answer_guid,required"`

	meta meta
}

// EventParticipation (event_participation) is a relayable answer to an
// event: Status is "accepted", "declined" or "tentative".
type EventParticipation struct {
	Author          string    `diaspora:"author,required"`
	GUID            string    `diaspora:"guid,required"`
	ParentGUID      string    `diaspora:"parent_guid,required"`
	AuthorSignature string    `diaspora:"author_signature,optional,sig"`
	Status          string    `diaspora:"status,required"`
	EditedAt        time.Time `diaspora:"edited_at,optional"`

	meta meta
}

// Participation (participation) subscribes Author to updates of a post
// (ParentType "Post"). It is not a relayable.
type Participation struct {
	Author     string `diaspora:"author,required,legacy=diaspora_handle"`
	GUID       string `diaspora:"guid,required"`
	ParentGUID string `diaspora:"parent_guid,required"`
	ParentType string `diaspora:"parent_type,required,legacy=target_type"`

	meta meta
}

// Profile (profile) is a person's public profile and, unless Public is
// false, the extended profile (Bio, Birthday, Gender, Location). Birthday is
// "YYYY-MM-DD" (a year of 1004 or lower means day and month only).
type Profile struct {
	Author         string    `diaspora:"author,required,legacy=diaspora_handle"`
	EditedAt       time.Time `diaspora:"edited_at,optional"`
	FullName       string    `diaspora:"full_name,optional"`
	FirstName      string    `diaspora:"first_name,optional"`
	LastName       string    `diaspora:"last_name,optional"`
	ImageURL       string    `diaspora:"image_url,optional"`
	ImageURLMedium string    `diaspora:"image_url_medium,optional"`
	ImageURLSmall  string    `diaspora:"image_url_small,optional"`
	Bio            string    `diaspora:"bio,optional"`
	Birthday       string    `diaspora:"birthday,optional"`
	Gender         string    `diaspora:"gender,optional"`
	Location       string    `diaspora:"location,optional"`
	Searchable     bool      `diaspora:"searchable,optional,default=true"`
	Public         bool      `diaspora:"public,optional,default=false"`
	NSFW           bool      `diaspora:"nsfw,optional,default=false"`
	TagString      string    `diaspora:"tag_string,optional"`

	meta meta
}

// Contact (contact) tells Recipient whether Author follows, shares with or
// blocks them. Received without following/sharing elements both default to
// true; a Contact built in Go has the values its fields hold.
type Contact struct {
	Author    string `diaspora:"author,required,legacy=sender_handle"`
	Recipient string `diaspora:"recipient,required,legacy=recipient_handle"`
	Following bool   `diaspora:"following,defaulted,default=true"`
	Sharing   bool   `diaspora:"sharing,defaulted,default=true"`
	Blocking  bool   `diaspora:"blocking,optional,default=false"`

	meta meta
}

// Conversation (conversation) starts a private conversation. Participants
// is the ";"-separated list of diaspora* IDs, author included; see
// [Conversation.ParticipantIDs].
type Conversation struct {
	Author       string     `diaspora:"author,required,legacy=diaspora_handle"`
	GUID         string     `diaspora:"guid,required"`
	Subject      string     `diaspora:"subject,required"`
	CreatedAt    time.Time  `diaspora:"created_at,defaulted,default=now"`
	Participants string     `diaspora:"participants,required,legacy=participant_handles"`
	Messages     []*Message `diaspora:"messages,defaulted,xml=message"`

	meta meta
}

// Message (message) is a message in a Conversation.
type Message struct {
	Author           string    `diaspora:"author,required,legacy=diaspora_handle"`
	GUID             string    `diaspora:"guid,required"`
	Text             string    `diaspora:"text,required"`
	CreatedAt        time.Time `diaspora:"created_at,defaulted,default=now"`
	EditedAt         time.Time `diaspora:"edited_at,optional"`
	ConversationGUID string    `diaspora:"conversation_guid,required"`

	meta meta
}

// Retraction (retraction) deletes the entity TargetType/TargetGUID.
type Retraction struct {
	Author     string `diaspora:"author,required,legacy=diaspora_handle|sender_handle"`
	TargetGUID string `diaspora:"target_guid,required,legacy=post_guid"`
	TargetType string `diaspora:"target_type,required,legacy=type"`

	meta meta
}

// AccountDeletion (account_deletion) announces that Author's account was
// closed.
type AccountDeletion struct {
	Author string `diaspora:"author,required,legacy=diaspora_handle"`

	meta meta
}

// AccountMigration (account_migration) moves an account to a new identity
// (Profile.Author). Signature is made by the identity that is not Author;
// see [AccountMigration.SignerID].
type AccountMigration struct {
	Author          string   `diaspora:"author,required"`
	Profile         *Profile `diaspora:"profile,required"`
	Signature       string   `diaspora:"signature,defaulted"`
	OldIdentity     string   `diaspora:"old_identity,optional"`
	RemotePhotoPath string   `diaspora:"remote_photo_path,optional"`

	meta meta
}

// Person (person) is the reference's result of discovery: a diaspora* ID
// with its GUID, pod URL, profile and PEM public key. It is not sent over
// federation, but the reference can serialize it.
type Person struct {
	GUID        string   `diaspora:"guid,required"`
	Author      string   `diaspora:"author,required"`
	URL         string   `diaspora:"url,required"`
	Profile     *Profile `diaspora:"profile,required"`
	ExportedKey string   `diaspora:"exported_key,required"`

	meta meta
}

// Type returns "status_message".
func (*StatusMessage) Type() string { return "status_message" }

// Type returns "photo".
func (*Photo) Type() string { return "photo" }

// Type returns "location".
func (*Location) Type() string { return "location" }

// Type returns "poll".
func (*Poll) Type() string { return "poll" }

// Type returns "poll_answer".
func (*PollAnswer) Type() string { return "poll_answer" }

// Type returns "event".
func (*Event) Type() string { return "event" }

// Type returns "embed".
func (*Embed) Type() string { return "embed" }

// Type returns "reshare".
func (*Reshare) Type() string { return "reshare" }

// Type returns "comment".
func (*Comment) Type() string { return "comment" }

// Type returns "like".
func (*Like) Type() string { return "like" }

// Type returns "poll_participation".
func (*PollParticipation) Type() string { return "poll_participation" }

// Type returns "event_participation".
func (*EventParticipation) Type() string { return "event_participation" }

// Type returns "participation".
func (*Participation) Type() string { return "participation" }

// Type returns "profile".
func (*Profile) Type() string { return "profile" }

// Type returns "contact".
func (*Contact) Type() string { return "contact" }

// Type returns "conversation".
func (*Conversation) Type() string { return "conversation" }

// Type returns "message".
func (*Message) Type() string { return "message" }

// Type returns "retraction".
func (*Retraction) Type() string { return "retraction" }

// Type returns "account_deletion".
func (*AccountDeletion) Type() string { return "account_deletion" }

// Type returns "account_migration".
func (*AccountMigration) Type() string { return "account_migration" }

// Type returns "person".
func (*Person) Type() string { return "person" }

func (e *StatusMessage) entity()      {}
func (e *Photo) entity()              {}
func (e *Location) entity()           {}
func (e *Poll) entity()               {}
func (e *PollAnswer) entity()         {}
func (e *Event) entity()              {}
func (e *Embed) entity()              {}
func (e *Reshare) entity()            {}
func (e *Comment) entity()            {}
func (e *Like) entity()               {}
func (e *PollParticipation) entity()  {}
func (e *EventParticipation) entity() {}
func (e *Participation) entity()      {}
func (e *Profile) entity()            {}
func (e *Contact) entity()            {}
func (e *Conversation) entity()       {}
func (e *Message) entity()            {}
func (e *Retraction) entity()         {}
func (e *AccountDeletion) entity()    {}
func (e *AccountMigration) entity()   {}
func (e *Person) entity()             {}

func (e *StatusMessage) m() *meta      { return &e.meta }
func (e *Photo) m() *meta              { return &e.meta }
func (e *Location) m() *meta           { return &e.meta }
func (e *Poll) m() *meta               { return &e.meta }
func (e *PollAnswer) m() *meta         { return &e.meta }
func (e *Event) m() *meta              { return &e.meta }
func (e *Embed) m() *meta              { return &e.meta }
func (e *Reshare) m() *meta            { return &e.meta }
func (e *Comment) m() *meta            { return &e.meta }
func (e *Like) m() *meta               { return &e.meta }
func (e *PollParticipation) m() *meta  { return &e.meta }
func (e *EventParticipation) m() *meta { return &e.meta }
func (e *Participation) m() *meta      { return &e.meta }
func (e *Profile) m() *meta            { return &e.meta }
func (e *Contact) m() *meta            { return &e.meta }
func (e *Conversation) m() *meta       { return &e.meta }
func (e *Message) m() *meta            { return &e.meta }
func (e *Retraction) m() *meta         { return &e.meta }
func (e *AccountDeletion) m() *meta    { return &e.meta }
func (e *AccountMigration) m() *meta   { return &e.meta }
func (e *Person) m() *meta             { return &e.meta }

// meta is what a parsed entity remembers beyond its typed fields.
type meta struct {
	// null lists properties that were present in the input but had no
	// value (empty or unparsable); only booleans need it, since the zero
	// value of the other Go types already means "no value".
	null map[string]bool
	// extra holds the entity_data members of a relayable read from JSON
	// that neither the schema nor property_order names, as plain JSON
	// values (for the view; they are neither signed nor relayed).
	extra map[string]any
	// jsonOrder is set when received comes from a JSON property_order,
	// whose repeated names are signed as often as they appear.
	jsonOrder bool
	// zero lists integer properties received as 0: a value, where an
	// integer field left at 0 in Go means "no value".
	zero map[string]bool
	// received is the ordered list of the direct children as received
	// (relayables only; nil for entities built in Go).
	received []rawField
	// legacy is set when the entity was read with Options.Legacy.
	legacy bool
}

// rawField is one received property: name (after legacy renaming) and text
// exactly as received. raw is the element's XML for unknown elements with
// element children, so that they can be re-emitted unchanged.
type rawField struct {
	name string
	text string
	raw  *node
}

type hasMeta interface {
	Entity
	m() *meta
}
