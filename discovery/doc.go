// Package discovery finds diaspora* people and their public keys, and
// serves the documents that let others find local people.
//
// It implements diaspora* discovery: WebFinger
// (https://diaspora.github.io/diaspora_federation/discovery/webfinger.html)
// in its JRD (RFC 7033) and legacy XRD forms, host-meta (RFC 6415), the
// hCard (https://diaspora.github.io/diaspora_federation/discovery/hcard.html),
// and NodeInfo (https://nodeinfo.diaspora.software/). The package
// imports no other package of this module.
//
// # Documents
//
// Each document has a parser that accepts what real pods serve, a
// generator that emits what the reference implementation emits, and
// validation with typed errors: [ParseJRD], [ParseXRD], [ParseHostMeta],
// [ParseHCard], [ParseNodeInfo] and [ParseNodeInfoIndex] (plus
// [ParseNodeInfo2] and [ParseStatistics] for what older servers publish);
// [WebFinger.JRD], [WebFinger.XRD], [HostMeta.XRD], [HCard.HTML] and
// [NodeInfo.JSON]. [ParseKind] turns a document of a test-vector kind into
// the neutral {"type", "properties"} [View] the vector manifests use, and
// [Category] maps errors to the manifests' error categories.
//
// # Lookup
//
// A zero [Client] is ready to use. [Client.Lookup] normalizes the ID,
// fetches the WebFinger JRD over https, falls back to host-meta and the
// legacy XRD template, checks that the subject is the person asked for,
// fetches and validates the hCard and returns a [Person]. The hCard must
// be on the host and port of the ID ([ErrForeignHCard] otherwise, before
// any request to another host), so that no one can claim the GUID and key
// of a person on another pod.
// [Client.PublicKey] makes a Client usable as the key resolver of the
// receive pipeline. The client is safe by default: https only, port 443
// only ([Client.AllowedPorts]), the address actually dialled is checked
// against loopback, private, link-local, CGNAT, unique-local and
// IPv4-mapped ranges and the port policy before connecting, at most
// [MaxRedirects] redirects each re-checked, no proxy from the environment,
// bounded bodies and time. [Cache] and [MemoryCache] keep what was found
// without ever replacing a known key silently, nor giving one GUID to two
// IDs ([ErrGUIDConflict]); [Resolver] re-discovers the holder of a
// conflicting GUID and drops its entry when it is stale.
//
// # Serving
//
// [Handler] serves /.well-known/host-meta, /.well-known/webfinger (JRD, or
// XRD by content negotiation), /hcard/users/{guid}, /.well-known/nodeinfo
// and /nodeinfo/2.1 from a [Directory] the application implements.
//
// # Errors
//
// Errors are prefixed "discovery:" and wrap sentinels such as
// [ErrNotFound], [ErrInvalidDocument], [ErrSubjectMismatch],
// [ErrBlockedAddress] and [ErrTooManyRedirects], or are typed:
// [*HTTPError], [*ValidationError], [*WeakKeyError], [*GUIDConflictError]. [IsTemporary] tells
// network failures and 5xx answers (retry later) from final refusals.
package discovery
