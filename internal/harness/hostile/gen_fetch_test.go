package hostile_test

import (
	"testing"
	"time"

	"github.com/go-diaspora/federation/entities"
)

// unknownParent is a post guid the receiver does not know (RL-07).
const unknownParent = "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a01"

func buildFetchCases(t *testing.T, newCase func(id, name string, threats []string, notes string) *genCase) {
	c := newCase("RL-07", "parent-resolution", []string{"T4", "T5", "T17"},
		"bob relays alice's comment on a post the receiver does not know; salmon.Receiver.Fetch is salmon.Fetcher.Related, which fetches /fetch/post/<guid> from a loopback fake pod. The SDK exports no SSRF-guarded http.Client (discovery's is internal), so the Fetcher gets a test dialer that allows only the fake pod's address: the redirect variant checks that the Fetcher dials redirects through its client (the canary sees nothing). The plan's ErrNotFetchable is salmon.ErrRelatedNotFound.")
	created := time.Date(2023, 4, 5, 6, 12, 8, 0, time.UTC)
	cm := signedComment(t, &entities.Comment{Author: alice, GUID: "c0ffee00c0ffee00c0ffee00c0ffee10", ParentGUID: unknownParent,
		Text: "on an unknown post " + plaintextMarker, CreatedAt: created}, alice)
	relayed := signed(t, cm, bob, bob)
	path := "/fetch/post/" + unknownParent
	fetchVar := func(name, cat, sentinel string, serve string) Variant {
		return Variant{Name: name, Entry: "receive_public_fetch", Sender: bob, Signer: bob, ExpectCategory: cat, ExpectSentinel: sentinel,
			Serve: map[string]string{path: serve}, AllowedOutbound: []string{"the fake pod"}}
	}
	c.add(fetchVar("parent_404", "related_entity_not_found", "salmon.ErrRelatedNotFound", "status:404"), "xml", relayed)
	c.add(fetchVar("parent_other_guid", "", "salmon.ErrOriginMismatch", "file:input.parent_other_guid.served.xml"), "xml", relayed)
	c.files["input.parent_other_guid.served.xml"] = signed(t, statusMessage(bob, "9a9a9a9a9a9a9a9a9a9a9a9a9a9a9a02", "another post", true), bob, bob)
	c.add(fetchVar("parent_by_dave", "invalid_sender", "salmon.ErrInvalidSender", "file:input.parent_by_dave.served.xml"), "xml", relayed)
	c.files["input.parent_by_dave.served.xml"] = signed(t, statusMessage(dave, unknownParent, "dave's post", true), dave, dave)
	v := fetchVar("parent_redirect_to_loopback", "", "", "redirect:http://{{CANARY}}"+path)
	v.Templated = true
	c.add(v, "xml", relayed)
	v = fetchVar("control_parent_by_bob", "", "", "file:input.control_parent_by_bob.served.xml")
	v.Positive = true
	c.add(v, "xml", relayed)
	c.files["input.control_parent_by_bob.served.xml"] = signed(t, statusMessage(bob, unknownParent, "bob's post", true), bob, bob)
}
