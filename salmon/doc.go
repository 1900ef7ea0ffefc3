// Package salmon is the delivery layer of the diaspora* federation
// protocol: it tells the formats of received bodies apart, reads the
// legacy Salmon slaps of pre-2017 pods, and (in later releases) receives,
// checks and sends entities between pods.
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
// The package never logs and never touches the network.
package salmon
