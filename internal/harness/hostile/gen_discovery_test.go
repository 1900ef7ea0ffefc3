package hostile_test

import (
	"strings"
	"testing"
)

// aliceGUID is the guid the fake pod's discovery.Handler serves alice under.
const aliceGUID = "b6c0ee9f3bcf577314f84bc0ccaab0b1"

func jrd(subject, hcard, seed string) string {
	return `{"subject":"` + subject + `","links":[{"rel":"http://microformats.org/profile/hcard","type":"text/html","href":"` + hcard +
		`"},{"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":"` + seed + `"}]}`
}

func buildDiscoveryCases(t *testing.T, newCase func(id, name string, threats []string, notes string) *genCase) {
	const (
		me      = "alice@{{POD}}"
		hcard   = "{{SCHEME}}://{{POD}}/hcard/users/" + aliceGUID
		seed    = "{{SCHEME}}://{{POD}}/"
		noMeta  = "status:404"
		jrdPath = "/.well-known/webfinger"
		hmPath  = "/.well-known/host-meta"
	)
	lookup := func(name, cat, sentinel string, serve map[string]string) Variant {
		return Variant{Name: name, Entry: "discovery_lookup", LookupID: me, Templated: true, ExpectCategory: cat, ExpectSentinel: sentinel, Serve: serve,
			AllowedOutbound: []string{"the fake pod"}}
	}
	fileServe := func(name string, extra ...string) map[string]string {
		m := map[string]string{jrdPath: "file:input." + name + ".json", hmPath: noMeta}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}

	c := newCase("DI-01", "subject-mismatch", []string{"T6"},
		"Replayed through discovery.Resolver with a MemoryCache against a loopback fake pod (discovery.Client with AllowHTTP and AllowedAddrs = the pod only); nothing may be cached. host-meta answers 404 so the legacy fallback cannot hide the JRD's verdict. The plan's ErrDiscovery is discovery.ErrSubjectMismatch; a missing subject is discovery.ErrValidation (the reference's acct_uri not_empty rule).")
	c.add(lookup("subject_other_user", "subject_mismatch", "discovery.ErrSubjectMismatch", fileServe("subject_other_user")), "json", []byte(jrd("acct:bob@{{POD}}", hcard, seed)))
	c.add(lookup("subject_other_host", "subject_mismatch", "discovery.ErrSubjectMismatch", fileServe("subject_other_host")), "json", []byte(jrd("acct:alice@b.example", hcard, seed)))
	v0 := lookup("subject_missing", "invalid_discovery_document", "discovery.ErrInvalidDocument", fileServe("subject_missing"))
	v0.SpecExpected = "ErrDiscovery"
	c.add(v0, "json",
		[]byte(`{"links":[{"rel":"http://microformats.org/profile/hcard","type":"text/html","href":"`+hcard+`"},{"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":"`+seed+`"}]}`))
	v := lookup("control_genuine_documents", "", "", nil)
	v.Positive = true
	c.add(v, "", nil)
	v = lookup("control_served_jrd", "", "", fileServe("control_served_jrd"))
	v.Positive = true
	c.add(v, "json", []byte(jrd("acct:alice@{{POD}}", hcard, seed)))

	c = newCase("DI-02", "private-targets", []string{"T5"},
		"The canary listens on 127.0.0.1; the client may only dial the fake pod's exact address, and its port policy admits 80, 443 and the canary's port, so that the address (not the port) is what is refused. Variants with the option test_dns resolve names through a loopback DNS server of the test (discovery.Client.Resolver): loopback.dns.test answers 127.0.0.1; rebind.dns.test answers a public address (93.184.215.14) to its first A query and 127.0.0.1 to every later one, and the replay spends that first answer on a resolve-then-check pre-flight (option dns_preflight, asserting it saw the public address), so the client's own dial gets 127.0.0.1; pod.dns.test answers 127.0.0.1, where the fake pod's exact address is allowed (control: the DNS path reaches the pod, which does not know that name: not_found). The replay asserts that the dial resolved through the test server (A queries counted).")
	for _, id := range []struct{ name, id, cat, sentinel string }{
		{"loopback_canary", "alice@{{CANARY}}", "blocked", "discovery.ErrBlockedAddress"},
		{"ipv6_loopback", "alice@[::1]:{{CANARY_PORT}}", "blocked", "discovery.ErrBlockedAddress"},
		{"private_10_0_0_5", "alice@10.0.0.5:8080", "blocked", "discovery.ErrBlockedAddress"},
		{"link_local_metadata", "alice@169.254.169.254", "blocked", "discovery.ErrBlockedAddress"},
		{"ipv4_mapped_loopback", "alice@[::ffff:127.0.0.1]:{{CANARY_PORT}}", "validation", "discovery.ErrInvalidID"},
		{"localhost_canary", "alice@localhost:{{CANARY_PORT}}", "blocked", "discovery.ErrBlockedAddress"},
	} {
		c.add(Variant{Name: id.name, Entry: "discovery_lookup", LookupID: id.id, Templated: true, ExpectCategory: id.cat, ExpectSentinel: id.sentinel,
			AllowedOutbound: []string{}}, "", nil)
	}
	c.add(Variant{Name: "name_resolving_to_loopback", Entry: "discovery_lookup", LookupID: "alice@loopback.dns.test:{{CANARY_PORT}}", Templated: true,
		Options: []string{"test_dns"}, ExpectCategory: "blocked", ExpectSentinel: "discovery.ErrBlockedAddress", AllowedOutbound: []string{}}, "", nil)
	c.add(Variant{Name: "dns_rebinding_public_then_loopback", Entry: "discovery_lookup", LookupID: "alice@rebind.dns.test:{{CANARY_PORT}}", Templated: true,
		Options: []string{"test_dns", "dns_preflight"}, ExpectCategory: "blocked", ExpectSentinel: "discovery.ErrBlockedAddress", AllowedOutbound: []string{}}, "", nil)
	c.add(Variant{Name: "control_name_resolving_to_fake_pod", Entry: "discovery_lookup", LookupID: "alice@pod.dns.test:{{POD_PORT}}", Templated: true,
		Options: []string{"test_dns", "no_host_meta_fallback"}, ExpectCategory: "not_found", ExpectSentinel: "discovery.ErrNotFound", AllowedOutbound: []string{"the fake pod"},
		Notes: "control: resolved through the test DNS server to the fake pod's allowed address; the pod answers 404 for a name it does not serve"}, "", nil)
	v = lookup("control_fake_pod", "", "", nil)
	v.Positive = true
	c.add(v, "", nil)

	c = newCase("DI-03", "hostile-links-and-redirects", []string{"T5"},
		"JRDs whose hCard link is hostile, and redirects. Variants with the option tls use an https fake pod and a client without AllowHTTP, so that http:// is a downgrade. The client's port policy admits 80, 443 and the canary's port (and the fake pod's exact address); port 8443 on a name is refused before the name is resolved (pod.invalid never resolves, so reaching the resolver would be a network error, not ErrBlockedURL).")
	for _, l := range []struct{ name, href, cat, sentinel string }{
		{"hcard_file_url", "file:///etc/passwd", "validation", "discovery.ErrValidation"},
		{"hcard_gopher_url", "gopher://{{CANARY}}/", "blocked", "discovery.ErrBlockedURL"},
		{"hcard_userinfo", "{{SCHEME}}://user:pw@{{POD}}/hcard/users/" + aliceGUID, "blocked", "discovery.ErrBlockedURL"},
		{"hcard_4kib_url", "{{SCHEME}}://{{POD}}/hcard/users/" + strings.Repeat("a", 4096), "blocked", "discovery.ErrBlockedURL"},
		{"hcard_internal_host", "{{SCHEME}}://{{CANARY}}/hcard/users/" + aliceGUID, "blocked", "discovery.ErrBlockedAddress"},
		{"hcard_port_not_allowed", "{{SCHEME}}://pod.invalid:8443/hcard/users/" + aliceGUID, "blocked", "discovery.ErrBlockedURL"},
	} {
		c.add(lookup(l.name, l.cat, l.sentinel, fileServe(l.name)), "json", []byte(jrd("acct:alice@{{POD}}", l.href, seed)))
	}
	v = lookup("hcard_http_downgrade", "blocked", "discovery.ErrBlockedURL", fileServe("hcard_http_downgrade"))
	v.Options = []string{"tls"}
	c.add(v, "json", []byte(jrd("acct:alice@{{POD}}", "http://{{POD}}/hcard/users/"+aliceGUID, seed)))
	c.add(lookup("webfinger_redirect_to_canary", "blocked", "discovery.ErrBlockedAddress", map[string]string{jrdPath: "redirect:http://{{CANARY}}/", hmPath: noMeta}), "", nil)
	c.add(lookup("webfinger_redirect_to_port_not_allowed", "blocked", "discovery.ErrBlockedURL", map[string]string{jrdPath: "redirect:{{SCHEME}}://pod.invalid:8443/", hmPath: noMeta}), "", nil)
	c.add(lookup("four_hop_redirect_chain", "", "discovery.ErrTooManyRedirects", map[string]string{
		jrdPath: "redirect:{{SCHEME}}://{{POD}}/r1", "/r1": "redirect:{{SCHEME}}://{{POD}}/r2", "/r2": "redirect:{{SCHEME}}://{{POD}}/r3",
		"/r3": "redirect:{{SCHEME}}://{{POD}}/r4", "/r4": "redirect:{{SCHEME}}://{{POD}}/.well-known/webfinger", hmPath: noMeta}), "", nil)
	v = lookup("https_to_http_redirect", "blocked", "discovery.ErrBlockedURL", map[string]string{jrdPath: "redirect:http://{{POD}}/r1", hmPath: noMeta})
	v.Options = []string{"tls"}
	c.add(v, "", nil)
	v = lookup("control_two_hop_redirect", "", "", map[string]string{jrdPath: "redirect:{{SCHEME}}://{{POD}}/r1", "/r1": "file:input.control_two_hop_redirect.json"})
	v.Positive = true
	c.add(v, "json", []byte(jrd("acct:alice@{{POD}}", hcard, seed)))

	c = newCase("DI-04", "hostile-responses", []string{"T8", "T19"},
		"The gzip bomb is 1,024 concatenated gzip members of 1 MiB of zeros each (1 GiB inflated, about 1 MiB on the wire), built at test time. The trickle runs with Client.Timeout = 1 s (the 20 s default is the same code path). Heap growth is not asserted here.")
	d := lookup("jrd_10mib", "", "discovery.ErrResponseTooLarge", map[string]string{jrdPath: "gen:jrd_10mib", hmPath: noMeta})
	d.Generated, d.File = true, "gen:jrd_10mib"
	c.add(d, "", nil)
	c.add(lookup("gzip_bomb", "", "discovery.ErrResponseTooLarge", map[string]string{jrdPath: "special:gzip_bomb", hmPath: noMeta}), "", nil)
	c.add(lookup("content_length_smaller_than_body", "invalid_discovery_document", "discovery.ErrInvalidDocument", map[string]string{jrdPath: "special:short_content_length", hmPath: noMeta}), "", nil)
	v = lookup("trickle_1_byte_per_interval", "network", "", map[string]string{jrdPath: "special:trickle"})
	v.Options = []string{"timeout_1s", "no_host_meta_fallback"}
	v.Notes = "no host-meta fallback, so that the verdict is the timeout's (network, temporary)"
	c.add(v, "", nil)
	c.add(lookup("endless_chunked_body", "", "discovery.ErrResponseTooLarge", map[string]string{jrdPath: "special:endless", hmPath: noMeta}), "", nil)
	v = lookup("control_genuine_documents", "", "", nil)
	v.Positive = true
	c.add(v, "", nil)

	c = newCase("DI-05", "hostile-documents", []string{"T6", "T7", "T9", "T11"},
		"Parser entries replay discovery.ParseHCard (then HCard.PublicKey) / ParseHostMeta / ParseJRD on the input. lrdd_template_other_host is a lookup whose error joins the JRD's 404 with the blocked fallback, so only the sentinel is asserted. The plan's ErrInvalidData is discovery.ErrInvalidDocument or a *ValidationError (category validation); ErrXMLDoctype is discovery.ErrDoctype.")
	full := string(readVector(t, "hcard_html/full.html"))
	ks := strings.Index(full, "-----BEGIN PUBLIC KEY-----")
	ke := strings.Index(full, "-----END PUBLIC KEY-----") + len("-----END PUBLIC KEY-----\n")
	keyBlock := full[ks:ke]
	dlStart := strings.Index(full, `        <dl class="entity_key">`)
	keyDL := full[dlStart : ks+strings.Index(full[ks:], "</dl>")+len("</dl>\n")]
	c.add(Variant{Name: "hcard_two_key_elements", Entry: "discovery_parse_hcard", Positive: true, SpecExpected: "ErrInvalidData",
		Notes: "accepted: the first .key wins, as in the reference (Nokogiri at_css); whoever serves the hCard controls both keys. Rejecting it would be a stricter option (not implemented)."}, "html",
		[]byte(strings.Replace(full, keyDL, keyDL+keyDL, 1)))
	c.add(Variant{Name: "hcard_no_key", Entry: "discovery_parse_hcard", ExpectCategory: "validation", ExpectSentinel: "discovery.ErrValidation"}, "html",
		[]byte(strings.Replace(full, keyDL, "", 1)))
	c.add(Variant{Name: "hcard_512_bit_key", Entry: "discovery_parse_hcard", ExpectCategory: "validation", ExpectSentinel: "discovery.ErrWeakKey"}, "html",
		[]byte(strings.Replace(full, keyBlock, string(weakPublicKeyPEM(t)), 1)))
	c.add(Variant{Name: "hcard_ec_key", Entry: "discovery_parse_hcard", ExpectCategory: "validation", ExpectSentinel: "discovery.ErrInvalidKey"}, "html",
		[]byte(strings.Replace(full, keyBlock, string(ecPublicKeyPEM(t)), 1)))
	hm := string(readVector(t, "host_meta/pod_a.xml"))
	c.add(Variant{Name: "host_meta_doctype", Entry: "discovery_parse_host_meta", ExpectCategory: "invalid_discovery_document", ExpectSentinel: "discovery.ErrDoctype"}, "xml",
		[]byte(strings.Replace(hm, "<XRD", `<!DOCTYPE XRD [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>`+"\n<XRD", 1)))
	c.add(Variant{Name: "jrd_duplicate_keys", Entry: "discovery_parse_jrd", ExpectCategory: "invalid_discovery_document", ExpectSentinel: "discovery.ErrInvalidDocument"}, "json",
		[]byte(strings.Replace(string(readVector(t, "webfinger_jrd/full.json")), `{"subject":"acct:alice@pod-a.example.org",`, `{"subject":"acct:alice@pod-a.example.org","subject":"acct:mallory@unknown.example",`, 1)))
	c.add(lookup("lrdd_template_other_host", "", "discovery.ErrBlockedURL", map[string]string{jrdPath: "status:404", hmPath: "file:input.lrdd_template_other_host.xml"}), "xml",
		[]byte(strings.Replace(hm, "https://pod-a.example.org/", "https://evil.example/", 1)))
	c.add(Variant{Name: "control_hcard", Entry: "discovery_parse_hcard", Positive: true}, "html", []byte(full))
	c.add(Variant{Name: "control_host_meta", Entry: "discovery_parse_host_meta", Positive: true}, "xml", []byte(hm))

	c = newCase("DI-06", "key-substitution", []string{"T6", "T24"},
		"(a) the cache already holds dave's key (the input) for alice@{{POD}}; a fresh lookup finds alice's key and Cache.Put must refuse with ErrKeyConflict, keeping the stored key. (b) the pod speaks plain http only: a client without AllowHTTP must fail and the pod must see no HTTP request.")
	c.add(Variant{Name: "rediscovery_key_changed", Entry: "discovery_rediscover", LookupID: me, Templated: true, ExpectCategory: "key_conflict", ExpectSentinel: "discovery.ErrKeyConflict",
		AllowedOutbound: []string{"the fake pod"}}, "pem", readVector(t, "keys/dave.pub.pem"))
	c.add(Variant{Name: "control_rediscovery_same_key", Entry: "discovery_rediscover", LookupID: me, Templated: true, Positive: true,
		AllowedOutbound: []string{"the fake pod"}}, "pem", readVector(t, "keys/alice.pub.pem"))
	c.add(Variant{Name: "https_fails_http_not_tried", Entry: "discovery_no_downgrade", LookupID: me, Templated: true, ExpectCategory: "network",
		AllowedOutbound: []string{"the fake pod (TLS handshake only)"}}, "", nil)

	c = newCase("DI-07", "identity-poisoning", []string{"T6", "T13"},
		"A stranger's WebFinger document for evil@{{POD}} links the hCard of alice on the other fake pod ({{OTHER_POD}}, another port of 127.0.0.1 that the client may reach, so that the hCard host rule and not the address guard refuses it). Accepted, it would give evil alice's GUID and key, and a cache with unique GUIDs could then never store alice. discovery.Client.Lookup refuses an hCard that is not on the host (and port) of the ID with discovery.ErrForeignHCard before requesting it. discovery_guid_conflict: the cache holds the holder evil@{{POD}} with alice's GUID and the Resolver looks alice up on the other pod; the holder is re-discovered: if it still validly claims the GUID (its own host serves an hCard with it) the answer is discovery.ErrGUIDConflict and the cache is unchanged; if its re-discovery is refused (a cache poisoned before the host rule) its entry is deleted and alice stored.")
	const evil = "evil@{{POD}}"
	foreign := jrd("acct:"+evil, "{{SCHEME}}://{{OTHER_POD}}/hcard/users/"+aliceGUID, seed)
	own := jrd("acct:"+evil, hcard, seed)
	v = Variant{Name: "foreign_hcard", Entry: "discovery_lookup", Options: []string{"other_pod"}, LookupID: evil, Templated: true,
		ExpectCategory: "foreign_hcard", ExpectSentinel: "discovery.ErrForeignHCard", Serve: fileServe("foreign_hcard"), AllowedOutbound: []string{"the fake pod"},
		Notes: "the other fake pod must see no request"}
	c.add(v, "json", []byte(foreign))
	v = Variant{Name: "guid_conflict", Entry: "discovery_guid_conflict", LookupID: "alice@{{OTHER_POD}}", Holder: evil, Templated: true,
		ExpectCategory: "guid_conflict", ExpectSentinel: "discovery.ErrGUIDConflict", Serve: fileServe("guid_conflict"),
		AllowedOutbound: []string{"the fake pod", "the other fake pod"},
		Notes:           "the holder's WebFinger links an hCard on its own host that carries alice's GUID: a valid claim, first come; the cache keeps the holder and does not store alice"}
	c.add(v, "json", []byte(own))
	v = Variant{Name: "control_hcard_on_own_host", Entry: "discovery_lookup", Options: []string{"other_pod"}, LookupID: evil, Templated: true, Positive: true,
		Serve: fileServe("control_hcard_on_own_host"), AllowedOutbound: []string{"the fake pod"}}
	c.add(v, "json", []byte(own))
	v = Variant{Name: "control_poisoned_cache_repaired", Entry: "discovery_guid_conflict", Options: []string{"poisoned_cache"}, LookupID: "alice@{{OTHER_POD}}", Holder: evil,
		Templated: true, Positive: true, Serve: map[string]string{jrdPath: "file:input.foreign_hcard.json", hmPath: noMeta},
		AllowedOutbound: []string{"the fake pod", "the other fake pod"},
		Notes:           "the cache holds evil with alice's GUID and key, as a lookup of foreign_hcard stored it before the host rule; re-discovering evil is refused (final), so evil's entry is deleted and alice stored; the other pod serves alice's hCard once, to alice's own lookup"}
	c.add(v, "", nil)
}
