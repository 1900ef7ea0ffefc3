package entities

import "time"

// Default limits used when the corresponding [Options] field is zero.
const (
	DefaultMaxSize        = 512 << 10 // bytes of XML or JSON
	DefaultMaxDepth       = 32        // nesting depth of elements or JSON values
	DefaultMaxElements    = 5000      // XML elements or JSON values in one document
	DefaultMaxPhotos      = 64        // photos in one status message
	DefaultMaxPollAnswers = 64        // answers in one poll
	DefaultMaxMessages    = 256       // messages in one conversation
)

// Options configures parsing. A nil *Options means the zero value, and a zero
// field means its default: current (non-legacy) vocabulary, the Default*
// limits and [time.Now] as clock.
type Options struct {
	// Legacy enables the pre-2017 vocabulary (diaspora_federation 0.2.x):
	// old element names such as diaspora_handle and raw_message, the
	// removed types request (read as a Contact) and signed_retraction /
	// relayable_retraction (read as a Retraction), and the legacy
	// parent_author_signature as a known relayable property. It is off by
	// default; current diaspora* rejects all of these.
	Legacy bool

	// LegacyWrapper accepts the <XML><post> wrapper around the entity, as
	// the payloads of legacy Salmon slaps carry it. The 0.2.x reference
	// unwrapped it only there, never for a bare entity, so it is a
	// separate switch; it is off by default.
	LegacyWrapper bool

	// MaxSize caps the input size in bytes (default DefaultMaxSize).
	MaxSize int
	// MaxDepth caps element / JSON nesting (default DefaultMaxDepth).
	MaxDepth int
	// MaxElements caps the number of elements / JSON values (default
	// DefaultMaxElements).
	MaxElements int
	// MaxPhotos caps the photos of a status message (default
	// DefaultMaxPhotos).
	MaxPhotos int
	// MaxPollAnswers caps the answers of a poll (default
	// DefaultMaxPollAnswers).
	MaxPollAnswers int
	// MaxMessages caps the messages of a conversation (default
	// DefaultMaxMessages).
	MaxMessages int

	// StrictValues refuses typed properties (timestamps, booleans,
	// integers) whose text does not parse, with a [*ValidationError]
	// (rule "type"). The reference reads such a value as "no value" (an
	// invalid created_at becomes nil, a height of "1e9" is dropped), and
	// so does this package by default; the strict reading closes threat T3
	// of testdata/hostile/README.md (values of a relayable shuffled
	// between element names). Empty elements still mean "no value".
	StrictValues bool

	// Now returns the current time. It supplies the default of created_at
	// when a received entity has none (the reference uses the receive
	// time). Nil means time.Now.
	Now func() time.Time
}

func pick(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}

func (o *Options) maxSize() int {
	if o == nil {
		return DefaultMaxSize
	}
	return pick(o.MaxSize, DefaultMaxSize)
}

func (o *Options) maxDepth() int {
	if o == nil {
		return DefaultMaxDepth
	}
	return pick(o.MaxDepth, DefaultMaxDepth)
}

func (o *Options) maxElements() int {
	if o == nil {
		return DefaultMaxElements
	}
	return pick(o.MaxElements, DefaultMaxElements)
}

func (o *Options) maxList(prop string) int {
	var v, def int
	switch prop {
	case "photos":
		def = DefaultMaxPhotos
		if o != nil {
			v = o.MaxPhotos
		}
	case "poll_answers":
		def = DefaultMaxPollAnswers
		if o != nil {
			v = o.MaxPollAnswers
		}
	case "messages":
		def = DefaultMaxMessages
		if o != nil {
			v = o.MaxMessages
		}
	default:
		return DefaultMaxElements
	}
	return pick(v, def)
}

func (o *Options) legacy() bool { return o != nil && o.Legacy }

func (o *Options) strictValues() bool { return o != nil && o.StrictValues }

func (o *Options) now() time.Time {
	if o != nil && o.Now != nil {
		return o.Now().UTC().Truncate(time.Second)
	}
	return time.Now().UTC().Truncate(time.Second)
}
