// Package salmon is the delivery layer of the diaspora* federation
// protocol: it tells the formats of received bodies apart, reads the
// legacy Salmon slaps of pre-2017 pods, receives and checks entities
// ([Receiver]), fetches them from other pods ([Fetcher], [FetchHandler])
// and sends them ([PublicDeliveries], [PrivateDeliveries], [Relay],
// [Sender]).
//
// # Receiving
//
// [Receiver] opens a public or private body, verifies the envelope with
// the sender's key, reads the entity and applies every rule the reference
// applies (relayable parents and signatures, who may relay, retraction
// targets, reshare roots, participations, account migrations, the sender
// being the author, the public route). Its errors map to the neutral
// vocabulary of the test vectors through [Category]; [IsTemporary] tells a
// failed lookup from a refusal.
//
// # Formats
//
// [Detect] recognises a public Magic Envelope, the encrypted envelope JSON
// of private delivery, and the two legacy slaps; legacy form bodies
// ("xml=...") are unwrapped by [DecodeLegacyForm]. Current diaspora* pods
// no longer send slaps: read them only when legacy support is wanted.
//
// # Legacy slaps
//
// [ParseSlap] reads a public slap, [OpenEncryptedSlap] a private one with
// the recipient's key. Both return a [Slap] whose envelope must be
// verified with the header author's key ([Slap.Verify]) before its
// [Slap.Payload] is used. Errors wrap the sentinels of package magicenv
// ([magicenv.ErrInvalidEnvelope], [magicenv.ErrDecrypt], ...).
//
// # Receiving over HTTP
//
// [Handler] serves POST /receive/public and /receive/users/{guid}: it caps
// the body, checks its outer format, hands the raw body to an [Inbox]
// (which stores it durably) and answers 202 before any cryptography runs.
//
// # Sending
//
// [Sender] posts bodies to other pods: [Sender.Send] makes one classified
// attempt, [Sender.Run] works a [Queue] with bounded concurrency and
// retries with backoff, honouring Retry-After, never following a redirect
// of a POST. [MemoryQueue] is an in-memory queue; a pod supplies a
// durable one.
//
// Functions that build or read envelopes take a *[magicenv.Options] last
// (nil: the defaults), as the whole module does; [Receiver] holds its
// envelope options by value.
//
// The codec parts never log; only Handler, FetchHandler and Sender do,
// and only through the slog.Logger they are given.
package salmon
