package entities

import (
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-diaspora/federation/internal/rules"
)

var (
	timezoneRE = regexp.MustCompile(`^[A-Za-z_-]{0,14}(/[A-Za-z_-]{0,14}){1,2}$`)
	birthdayRE = regexp.MustCompile(`[0-9]{4}-[0-9]{2}-[0-9]{2}`)
)

// ValidGUID reports whether s is a valid GUID: 16 to 255 characters out of
// 0-9 A-Z a-z - _ @ . :, the last one alphanumeric.
func ValidGUID(s string) bool { return rules.ValidGUID(s) }

// ValidDiasporaID reports whether s is a valid diaspora* ID
// (username@host[:port], lowercase, at most 255 characters), with the
// reference's grammar.
func ValidDiasporaID(s string) bool { return rules.ValidID(s) }

// checker collects the first broken rule of one entity.
type checker struct {
	entity string
	m      *meta
	err    error
}

func (c *checker) fail(prop, rule, detail string) {
	if c.err == nil {
		c.err = &ValidationError{Entity: c.entity, Property: prop, Rule: rule, Detail: detail}
	}
}

func (c *checker) guid(prop, v string) {
	if !ValidGUID(v) {
		c.fail(prop, "guid", "not a valid GUID")
	}
}

func (c *checker) optGUID(prop, v string) {
	if v != "" {
		c.guid(prop, v)
	}
}

func (c *checker) id(prop, v string) {
	if !ValidDiasporaID(v) {
		c.fail(prop, "diaspora_id", "not a valid diaspora* ID")
	}
}

func (c *checker) optID(prop, v string) {
	if v != "" {
		c.id(prop, v)
	}
}

func (c *checker) notEmpty(prop, v string) {
	if v == "" {
		c.fail(prop, "not_empty", "must have a value")
	}
}

func (c *checker) maxLen(prop, v string, n int) {
	if runeLen(v) > n {
		c.fail(prop, "length", "longer than "+strconv.Itoa(n)+" characters")
	}
}

func (c *checker) name(prop, v string, n int) {
	c.maxLen(prop, v, n)
	if strings.Contains(v, ";") {
		c.fail(prop, "name", "contains ';'")
	}
}

// boolean refuses a boolean that was present without a value (empty or
// unparsable). The reference has this rule only for the booleans a
// receiver acts on: a status message's and a photo's public, a contact's
// following and sharing. Its other booleans (a profile's public,
// searchable and nsfw, an event's all_day, a contact's blocking) read such
// a value as "no value", and so does this package.
func (c *checker) boolean(prop string) {
	if c.m != nil && c.m.null[prop] {
		c.fail(prop, "boolean", "must be true or false")
	}
}

func (c *checker) oneOf(prop, v string, allowed ...string) {
	for _, a := range allowed {
		if v == a {
			return
		}
	}
	c.fail(prop, "one_of", "must be one of "+strings.Join(allowed, ", "))
}

// uri checks an optional URL: it must parse and have the required parts.
// Like the reference's rule (Ruby's RFC 3986 URI parser), it takes ASCII
// only: an invisible or other non-ASCII character, a control character or
// white space makes it invalid; a scheme-relative URL ("//host/x") is
// valid where no scheme is required.
func (c *checker) uri(prop, v string, scheme, host, path bool) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) ||
		strings.ContainsAny(v, "<>\"{}|\\^`") ||
		(scheme && u.Scheme == "") || (host && u.Host == "") || (path && u.Path == "") {
		c.fail(prop, "uri", "not a valid URL")
	}
}

func (c *checker) nested(prop string, e Entity) {
	if c.err != nil || e == nil {
		return
	}
	if err := e.Validate(); err != nil {
		c.err = &ValidationError{Entity: c.entity, Property: prop, Rule: "nested", Err: err}
	}
}

func check(e hasMeta) checker { return checker{entity: e.Type(), m: e.m()} }

// Validate implements [Entity].
func (e *StatusMessage) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.boolean("public")
	c.maxLen("text", e.Text, 65535)
	for _, p := range e.Photos {
		if p == nil {
			c.fail("photos", "not_nil", "nil photo")
			continue
		}
		c.nested("photos", p)
		if p.Author != e.Author {
			c.fail("photos", "author", "nested photo by another author")
		}
	}
	if e.Location != nil {
		c.nested("location", e.Location)
	}
	if e.Poll != nil {
		c.nested("poll", e.Poll)
	}
	if e.Event != nil {
		c.nested("event", e.Event)
	}
	if e.Embed != nil {
		c.nested("embed", e.Embed)
	}
	return c.err
}

// Validate implements [Entity].
func (e *Photo) Validate() error {
	c := check(e)
	c.guid("guid", e.GUID)
	c.id("author", e.Author)
	c.boolean("public")
	c.notEmpty("remote_photo_path", e.RemotePhotoPath)
	c.uri("remote_photo_path", e.RemotePhotoPath, false, false, true)
	c.notEmpty("remote_photo_name", e.RemotePhotoName)
	c.maxLen("text", e.Text, 65535)
	c.optGUID("status_message_guid", e.StatusMessageGUID)
	if e.Height < 0 {
		c.fail("height", "numeric", "negative")
	}
	if e.Width < 0 {
		c.fail("width", "numeric", "negative")
	}
	return c.err
}

// Validate implements [Entity].
func (e *Location) Validate() error {
	c := check(e)
	c.notEmpty("lat", e.Lat)
	c.notEmpty("lng", e.Lng)
	return c.err
}

// Validate implements [Entity].
func (e *Poll) Validate() error {
	c := check(e)
	c.guid("guid", e.GUID)
	c.notEmpty("question", e.Question)
	c.maxLen("question", e.Question, 255)
	if len(e.PollAnswers) < 2 {
		c.fail("poll_answers", "length", "a poll needs at least 2 answers")
	}
	for _, a := range e.PollAnswers {
		if a == nil {
			c.fail("poll_answers", "not_nil", "nil answer")
			continue
		}
		c.nested("poll_answers", a)
	}
	return c.err
}

// Validate implements [Entity].
func (e *PollAnswer) Validate() error {
	c := check(e)
	c.guid("guid", e.GUID)
	c.notEmpty("answer", e.Answer)
	c.maxLen("answer", e.Answer, 255)
	return c.err
}

// Validate implements [Entity].
func (e *Event) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.notEmpty("summary", e.Summary)
	c.maxLen("summary", e.Summary, 255)
	c.maxLen("description", e.Description, 65535)
	if e.Start.IsZero() {
		c.fail("start", "not_nil", "must be a timestamp")
	}
	if e.Timezone != "" && !timezoneRE.MatchString(e.Timezone) {
		c.fail("timezone", "timezone", "not an Area/Location time zone name")
	}
	if e.Location != nil {
		c.nested("location", e.Location)
	}
	return c.err
}

// Validate implements [Entity].
func (e *Embed) Validate() error {
	c := check(e)
	c.uri("url", e.URL, false, true, false)
	c.maxLen("title", e.Title, 255)
	c.maxLen("description", e.Description, 65535)
	c.uri("image", e.Image, false, true, true)
	nothing := e.Nothing != nil && *e.Nothing
	if (e.URL != "") == nothing {
		c.fail("url", "embed", "either url must be set or nothing must be true")
	}
	return c.err
}

// Validate implements [Entity].
func (e *Reshare) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.optID("root_author", e.RootAuthor)
	c.optGUID("root_guid", e.RootGUID)
	if (e.RootAuthor == "") != (e.RootGUID == "") {
		c.fail("root_guid", "root", "root_author and root_guid must be both present or both absent")
	}
	return c.err
}

func (c *checker) relayable(author, guid, parentGUID string) {
	c.id("author", author)
	c.guid("guid", guid)
	c.guid("parent_guid", parentGUID)
}

// Validate implements [Entity].
func (e *Comment) Validate() error {
	c := check(e)
	c.relayable(e.Author, e.GUID, e.ParentGUID)
	c.notEmpty("text", e.Text)
	c.maxLen("text", e.Text, 65535)
	return c.err
}

// Validate implements [Entity].
func (e *Like) Validate() error {
	c := check(e)
	c.relayable(e.Author, e.GUID, e.ParentGUID)
	c.oneOf("parent_type", e.ParentType, "Post", "Comment")
	return c.err
}

// Validate implements [Entity].
func (e *PollParticipation) Validate() error {
	c := check(e)
	c.relayable(e.Author, e.GUID, e.ParentGUID)
	c.guid("poll_answer_guid", e.PollAnswerGUID)
	return c.err
}

// Validate implements [Entity].
func (e *EventParticipation) Validate() error {
	c := check(e)
	c.relayable(e.Author, e.GUID, e.ParentGUID)
	c.oneOf("status", e.Status, "accepted", "declined", "tentative")
	return c.err
}

// Validate implements [Entity].
func (e *Participation) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.guid("parent_guid", e.ParentGUID)
	c.oneOf("parent_type", e.ParentType, "Post")
	return c.err
}

// Validate implements [Entity].
func (e *Profile) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.name("full_name", e.FullName, 70)
	c.name("first_name", e.FirstName, 32)
	c.name("last_name", e.LastName, 32)
	c.uri("image_url", e.ImageURL, false, false, true)
	c.uri("image_url_medium", e.ImageURLMedium, false, false, true)
	c.uri("image_url_small", e.ImageURLSmall, false, false, true)
	c.maxLen("bio", e.Bio, 65535)
	if e.Birthday != "" && !validBirthday(e.Birthday) {
		c.fail("birthday", "birthday", "not a valid date")
	}
	c.maxLen("gender", e.Gender, 255)
	c.maxLen("location", e.Location, 255)
	if strings.Count(e.TagString, "#") > 5 {
		c.fail("tag_string", "tag_count", "more than 5 tags")
	}
	return c.err
}

func validBirthday(s string) bool {
	d := birthdayRE.FindString(s)
	if d == "" {
		return false
	}
	y, _ := strconv.Atoi(d[0:4])
	mo, _ := strconv.Atoi(d[5:7])
	da, _ := strconv.Atoi(d[8:10])
	t := time.Date(y, time.Month(mo), da, 0, 0, 0, 0, time.UTC)
	return t.Year() == y && int(t.Month()) == mo && t.Day() == da
}

// Validate implements [Entity].
func (e *Contact) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.id("recipient", e.Recipient)
	c.boolean("following")
	c.boolean("sharing")
	if e.Blocking && (e.Following || e.Sharing) {
		c.fail("blocking", "flags", "blocking requires following and sharing to be false")
	}
	return c.err
}

// Validate implements [Entity].
func (e *Conversation) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.notEmpty("subject", e.Subject)
	c.maxLen("subject", e.Subject, 255)
	ids := e.ParticipantIDs()
	if len(ids) < 2 {
		c.fail("participants", "diaspora_id_list", "at least 2 participants")
	}
	for _, id := range ids {
		if !ValidDiasporaID(id) {
			c.fail("participants", "diaspora_id_list", "not a valid diaspora* ID: "+id)
			break
		}
	}
	for _, msg := range e.Messages {
		if msg == nil {
			c.fail("messages", "not_nil", "nil message")
			continue
		}
		c.nested("messages", msg)
		if msg.Author != e.Author {
			c.fail("messages", "author", "nested message by another author")
		}
	}
	return c.err
}

// Validate implements [Entity].
func (e *Message) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("guid", e.GUID)
	c.notEmpty("text", e.Text)
	c.maxLen("text", e.Text, 65535)
	c.guid("conversation_guid", e.ConversationGUID)
	return c.err
}

// Validate implements [Entity].
func (e *Retraction) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	c.guid("target_guid", e.TargetGUID)
	c.notEmpty("target_type", e.TargetType)
	return c.err
}

// Validate implements [Entity].
func (e *AccountDeletion) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	return c.err
}

// Validate implements [Entity].
func (e *AccountMigration) Validate() error {
	c := check(e)
	c.id("author", e.Author)
	if e.Profile == nil {
		c.fail("profile", "not_nil", "a profile is required")
	} else {
		c.nested("profile", e.Profile)
	}
	// old_identity counts only when the author is the new identity (see
	// OldID), and then it is required; otherwise the reference ignores it,
	// and so does this package.
	if e.Profile != nil && e.Author == e.Profile.Author {
		c.id("old_identity", e.OldIdentity)
	}
	c.uri("remote_photo_path", e.RemotePhotoPath, false, false, true)
	return c.err
}

// Validate implements [Entity].
func (e *Person) Validate() error {
	c := check(e)
	c.guid("guid", e.GUID)
	c.id("author", e.Author)
	c.notEmpty("url", e.URL)
	c.uri("url", e.URL, true, true, false)
	if e.Profile == nil {
		c.fail("profile", "not_nil", "a profile is required")
	} else {
		c.nested("profile", e.Profile)
	}
	if !validPublicKeyPEM(e.ExportedKey) {
		c.fail("exported_key", "public_key", "not a PEM public key")
	}
	return c.err
}

func validPublicKeyPEM(s string) bool { return rules.PublicKeyRule(s) }
