package discovery_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"sync/atomic"

	"github.com/go-diaspora/federation/discovery"
)

// testPod is an in-process pod on loopback, over plain http, that serves
// the discovery documents of one person, alice, and counts the requests it
// answers.
type testPod struct {
	*httptest.Server
	AliceID  string
	Requests atomic.Int32
}

func newTestPod() *testPod {
	key, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	p := &testPod{}
	mux := http.NewServeMux()
	p.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.Requests.Add(1)
		mux.ServeHTTP(w, r)
	}))
	host := p.Listener.Addr().String() // 127.0.0.1:port
	p.AliceID = "alice@" + host
	h := &discovery.Handler{
		BaseURL:           "http://" + host + "/",
		Directory:         people{{ID: p.AliceID, GUID: "b6c0ee9f3bcf577314f84bc0ccaab0b1", PublicKeyPEM: string(key), FullName: "Alice Liddell"}},
		Software:          discovery.Software{Name: "mypod", Version: "1.2.0"},
		OpenRegistrations: true,
	}
	h.Register(mux)
	p.Start()
	return p
}

// Client returns a Client that may reach the pod: AllowHTTP for its plain
// http, AllowedAddrs for its loopback address. A client for the real
// network needs neither.
func (p *testPod) Client() *discovery.Client {
	return &discovery.Client{
		AllowHTTP:    true,
		AllowedAddrs: []netip.AddrPort{netip.MustParseAddrPort(p.Listener.Addr().String())},
	}
}

// Handler serves a pod's discovery documents from the application's
// people (a Directory). Here a WebFinger request and host-meta.
func ExampleHandler() {
	key, err := os.ReadFile("../testdata/vectors/reference/keys/alice.pub.pem")
	if err != nil {
		log.Fatal(err)
	}
	h := &discovery.Handler{
		BaseURL: "https://pod.example/",
		Directory: people{{
			ID: "alice@pod.example", GUID: "b6c0ee9f3bcf577314f84bc0ccaab0b1", PublicKeyPEM: string(key),
			FullName: "Alice Liddell", Searchable: true,
		}},
	}
	get := func(target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		fmt.Println("GET", target, "→", w.Code, w.Header().Get("Content-Type"))
		return w
	}

	w := get("/.well-known/webfinger?resource=acct:alice@pod.example")
	wf, err := discovery.ParseJRD(w.Body.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("  subject:", wf.Subject)
	fmt.Println("  hcard:", wf.HCardURL())
	fmt.Println("  seed:", wf.SeedURL())
	fmt.Println("  salmon:", wf.SalmonURL())

	w = get("/.well-known/host-meta")
	hm, err := discovery.ParseHostMeta(w.Body.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("  template:", hm.WebFingerTemplate())

	get("/.well-known/webfinger?resource=acct:nobody@pod.example")
	// Output:
	// GET /.well-known/webfinger?resource=acct:alice@pod.example → 200 application/jrd+json; charset=utf-8
	//   subject: acct:alice@pod.example
	//   hcard: https://pod.example/hcard/users/b6c0ee9f3bcf577314f84bc0ccaab0b1
	//   seed: https://pod.example/
	//   salmon: https://pod.example/receive/users/b6c0ee9f3bcf577314f84bc0ccaab0b1
	// GET /.well-known/host-meta → 200 application/xrd+xml; charset=utf-8
	//   template: https://pod.example/.well-known/webfinger.xml?resource={uri}
	// GET /.well-known/webfinger?resource=acct:nobody@pod.example → 404 text/plain; charset=utf-8
}

// Lookup finds a person and their key. Its errors say what went wrong and
// whether trying later may help. The zero Client connects only over https,
// to port 443 of public addresses, so that a stranger's ID or WebFinger
// document cannot make a pod probe its own network.
func ExampleClient_Lookup() {
	pod := newTestPod()
	defer pod.Close()
	ctx := context.Background()

	p, err := pod.Client().Lookup(ctx, pod.AliceID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("found:", p.FullName, p.GUID, p.PublicKey.N.BitLen(), "bit key")

	_, err = pod.Client().Lookup(ctx, "nobody@"+pod.Listener.Addr().String())
	fmt.Println("nobody:", errors.Is(err, discovery.ErrNotFound), discovery.IsTemporary(err))

	var safe discovery.Client // the zero Client, as on the real network
	_, err = safe.Lookup(ctx, pod.AliceID)
	fmt.Println("zero Client:", discovery.Category(err), discovery.IsTemporary(err))
	// Output:
	// found: Alice Liddell b6c0ee9f3bcf577314f84bc0ccaab0b1 2048 bit key
	// nobody: true false
	// zero Client: blocked false
}

// A Resolver looks a person up once and then answers from its Cache. Its
// PublicKey method is the key resolver of the receive pipeline
// (salmon.Receiver.Keys).
func ExampleResolver() {
	pod := newTestPod()
	defer pod.Close()
	r := &discovery.Resolver{Client: pod.Client(), Cache: &discovery.MemoryCache{}}

	for range 3 {
		pub, err := r.PublicKey(context.Background(), pod.AliceID)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(pub.N.BitLen(), "bit key; requests to the pod:", pod.Requests.Load())
	}
	// Output:
	// 2048 bit key; requests to the pod: 2
	// 2048 bit key; requests to the pod: 2
	// 2048 bit key; requests to the pod: 2
}

// NodeInfo tells which software a pod runs and whether it is open for
// sign-ups; Handler serves it and Client.NodeInfo reads it.
func ExampleClient_NodeInfo() {
	pod := newTestPod()
	defer pod.Close()

	n, err := pod.Client().NodeInfo(context.Background(), pod.Listener.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("version:", n.Version)
	fmt.Println("software:", n.Software.Name, n.Software.Version)
	fmt.Println("protocols:", n.Protocols)
	fmt.Println("open registrations:", n.OpenRegistrations)
	// Output:
	// version: 2.1
	// software: mypod 1.2.0
	// protocols: [diaspora]
	// open registrations: true
}
