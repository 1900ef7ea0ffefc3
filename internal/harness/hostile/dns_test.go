package hostile_test

import (
	"context"
	"encoding/binary"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
)

// rebindPublic is what rebind.dns.test answers to its first A query: a
// public address no test ever connects to (the answer is spent on a
// pre-flight resolution).
var rebindPublic = netip.MustParseAddr("93.184.215.14")

// testDNS is a tiny DNS server on loopback UDP with hand-rolled answers,
// for DI-02's names:
//
//	loopback.dns.test  A 127.0.0.1
//	pod.dns.test       A 127.0.0.1
//	rebind.dns.test    A 93.184.215.14 on the first query, 127.0.0.1 after
//
// AAAA queries of those names get an empty answer, anything else
// NXDOMAIN. It counts the A queries per name.
type testDNS struct {
	pc net.PacketConn
	mu sync.Mutex
	a  map[string]int
}

func newTestDNS(t *testing.T) *testDNS {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &testDNS{pc: pc, a: map[string]int{}}
	t.Cleanup(func() { pc.Close() })
	go d.serve()
	return d
}

// resolver returns a pure-Go resolver whose every query goes to d,
// whatever /etc/resolv.conf names.
func (d *testDNS) resolver() *net.Resolver {
	addr := d.pc.LocalAddr().String()
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var dl net.Dialer
		return dl.DialContext(ctx, "udp", addr)
	}}
}

// queries is the number of A queries d answered for name.
func (d *testDNS) queries(name string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.a[strings.ToLower(strings.TrimSuffix(name, "."))]
}

func (d *testDNS) serve() {
	buf := make([]byte, 1500)
	for {
		n, from, err := d.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if resp := d.answer(buf[:n]); resp != nil {
			_, _ = d.pc.WriteTo(resp, from)
		}
	}
}

// answer builds the response to one query, or nil for a packet that is
// not a single-question query.
func (d *testDNS) answer(q []byte) []byte {
	if len(q) < 12 || q[2]&0x80 != 0 || binary.BigEndian.Uint16(q[4:6]) != 1 {
		return nil
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return nil
		}
		l := int(q[i])
		i++
		if l == 0 {
			break
		}
		if l > 63 || i+l > len(q) {
			return nil
		}
		labels = append(labels, string(q[i:i+l]))
		i += l
	}
	if i+4 > len(q) {
		return nil
	}
	qtype, qclass := binary.BigEndian.Uint16(q[i:]), binary.BigEndian.Uint16(q[i+2:])
	question := q[12 : i+4]
	name := strings.ToLower(strings.Join(labels, "."))

	rcode := byte(0)
	var addrs []netip.Addr
	switch name {
	case "loopback.dns.test", "pod.dns.test", "rebind.dns.test":
		if qtype == 1 && qclass == 1 {
			d.mu.Lock()
			d.a[name]++
			first := d.a[name] == 1
			d.mu.Unlock()
			a := netip.MustParseAddr("127.0.0.1")
			if name == "rebind.dns.test" && first {
				a = rebindPublic
			}
			addrs = append(addrs, a)
		}
	default:
		rcode = 3 // NXDOMAIN
	}
	resp := make([]byte, 12, 12+len(question)+16*len(addrs))
	copy(resp[0:2], q[0:2])
	resp[2] = 0x80 | 0x04 | q[2]&0x01 // QR, AA, RD copied
	resp[3] = 0x80 | rcode            // RA
	binary.BigEndian.PutUint16(resp[4:], 1)
	binary.BigEndian.PutUint16(resp[6:], uint16(len(addrs)))
	resp = append(resp, question...)
	for _, a := range addrs {
		ip := a.As4()
		resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4)
		resp = append(resp, ip[:]...)
	}
	return resp
}

// hostOnly is the host of a diaspora* ID, without user and port.
func hostOnly(id string) string {
	_, hp, _ := strings.Cut(id, "@")
	if h, _, err := net.SplitHostPort(hp); err == nil {
		return h
	}
	return hp
}

// TestDNSServer checks the test server itself: the rebinding name
// answers a public address first and loopback after, the plain names
// loopback, and unknown names fail.
func TestDNSServer(t *testing.T) {
	d := newTestDNS(t)
	r := d.resolver()
	for i, want := range []netip.Addr{rebindPublic, netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.1")} {
		got, err := r.LookupNetIP(ctxT(t), "ip4", "rebind.dns.test")
		if err != nil || len(got) != 1 || got[0] != want {
			t.Errorf("query %d: %v %v, want %v", i+1, got, err, want)
		}
	}
	if got, err := r.LookupNetIP(ctxT(t), "ip", "loopback.dns.test"); err != nil || len(got) != 1 || !got[0].IsLoopback() {
		t.Errorf("loopback.dns.test: %v %v", got, err)
	}
	if _, err := r.LookupNetIP(ctxT(t), "ip4", "unknown.dns.test"); err == nil {
		t.Error("unknown.dns.test resolved")
	}
	if n := d.queries("rebind.dns.test"); n != 3 {
		t.Errorf("%d A queries counted, want 3", n)
	}
}
