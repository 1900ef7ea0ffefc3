package discovery_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"

	"github.com/go-diaspora/federation/discovery"
)

// people is a minimal discovery.Directory over a fixed list.
type people []*discovery.Person

func (ps people) PersonByID(_ context.Context, id string) (*discovery.Person, error) {
	for _, p := range ps {
		if p.ID == id {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

func (ps people) PersonByGUID(_ context.Context, guid string) (*discovery.Person, error) {
	for _, p := range ps {
		if p.GUID == guid {
			return p, nil
		}
	}
	return nil, discovery.ErrNotFound
}

// This example serves alice's discovery documents from an in-process pod
// and looks her up with a Client, as a remote pod would.
func Example() {
	key, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}

	// The serving side: a Handler backed by the application's people.
	h := &discovery.Handler{}
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	host := srv.Listener.Addr().String() // 127.0.0.1:port
	h.BaseURL = srv.URL + "/"
	h.Directory = people{{
		ID: "alice@" + host, GUID: "b6c0ee9f3bcf577314f84bc0ccaab0b1", PublicKeyPEM: string(key),
		FullName: "Alice Liddell", FirstName: "Alice", LastName: "Liddell", Searchable: true,
	}}

	// The looking-up side. A real client needs none of these fields; this
	// one trusts the test server's certificate and may connect to its
	// loopback address, which the default client refuses.
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())
	c := &discovery.Client{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		AllowedAddrs:    []netip.AddrPort{netip.MustParseAddrPort(host)},
	}
	p, err := c.Lookup(context.Background(), "acct:Alice@"+host)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.ID == "alice@"+host)
	fmt.Println(p.GUID)
	fmt.Println(p.FullName)
	fmt.Println(p.PublicKey.N.BitLen(), "bit key")
	fmt.Println(p.ReceiveURL == srv.URL+"/receive/users/"+p.GUID)
	// Output:
	// true
	// b6c0ee9f3bcf577314f84bc0ccaab0b1
	// Alice Liddell
	// 2048 bit key
	// true
}

// ParseKind gives the neutral view of a document, as the test-vector
// manifests write it.
func ExampleParseKind() {
	jrd := []byte(`{"subject":"acct:alice@pod.example","links":[
	  {"rel":"http://microformats.org/profile/hcard","type":"text/html","href":"https://pod.example/hcard/users/0123456789abcdef"},
	  {"rel":"http://joindiaspora.com/seed_location","type":"text/html","href":"https://pod.example/"}]}`)
	v, err := discovery.ParseKind(discovery.KindWebFingerJRD, jrd)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(v.Type, v.Properties["hcard_url"], v.Properties["salmon_url"])

	_, err = discovery.ParseKind(discovery.KindWebFingerJRD, []byte(`{"subject":"acct:alice@pod.example"}`))
	fmt.Println(discovery.Category(err))
	// Output:
	// web_finger https://pod.example/hcard/users/0123456789abcdef <nil>
	// invalid_discovery_document
}
