// Package pod is the reference pod's federation core, built only on the
// SDK's public API. A [Pod] holds the parts:
//
//   - HTTP (http.go): the federation routes (discovery documents by the
//     SDK's discovery.Handler, /receive behind the receive gate of
//     receive.go, /fetch), the JSON API (api.go) and the feeds
//     (feeds.go), with the security headers of every response set in one
//     place (securityHeaders, which the web interface's pages use too).
//   - Receiving (receive.go, inbox.go): the door checks of a received
//     body, its durable write, and the inbox worker that verifies it with
//     the SDK's salmon.Receiver and applies its entity.
//   - Sending (outbox.go): the durable outbox the SDK's salmon.Sender
//     works; what goes where is decided by the actions.
//   - Actions (actions.go, sharing.go, features.go): what a person does
//     (post, comment, like, share, converse, edit a profile, delete an
//     account), each stored and queued in one transaction.
//   - Lookups (lookups.go): discovery of unknown people, bounded per host
//     and run in the background for the inbox.
//
// Every query is a function of package store; cmd/pod (the parent
// directory) is the command line around it.
package pod
