package netguard

import (
	"errors"
	"net/netip"
	"testing"
)

func TestReserved(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "100.64.0.1", "100.127.255.255", "0.0.0.0", "0.1.2.3", "224.0.0.1",
		"255.255.255.255", "240.0.0.1", "192.0.0.8", "198.18.0.1", "192.0.2.1",
		"::1", "::", "fc00::1", "fd12:3456::1", "fe80::1", "ff02::1", "::ffff:127.0.0.1",
		"::ffff:10.0.0.1", "::ffff:8.8.8.8", "64:ff9b::a00:1", "64:ff9b::7f00:1", "2002:7f00:1::1",
		"2001:db8::1", "fec0::1", "64:ff9b:1::1",
	}
	for _, s := range blocked {
		if !Reserved(netip.MustParseAddr(s)) {
			t.Errorf("Reserved(%s) = false, want true", s)
		}
	}
	allowed := []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808", "2002:808:808::1", "172.32.0.1", "100.128.0.1"}
	for _, s := range allowed {
		if Reserved(netip.MustParseAddr(s)) {
			t.Errorf("Reserved(%s) = true, want false", s)
		}
	}
	if !Reserved(netip.Addr{}) {
		t.Error("the zero Addr is not reserved")
	}
}

// TestControl calls the dialer hook directly, so no connection to these
// addresses is ever attempted.
func TestControl(t *testing.T) {
	errBlocked := errors.New("blocked")
	control := Control(errBlocked)
	for addr, ok := range map[string]bool{
		"8.8.8.8:443":            true,
		"[2606:4700::1111]:8443": true,
		"127.0.0.1:443":          false,
		"169.254.169.254:80":     false,
		"[::1]:443":              false,
		"[::ffff:10.0.0.1]:443":  false,
		"not an address":         false,
	} {
		err := control("tcp", addr, nil)
		if (err == nil) != ok {
			t.Errorf("Control(%q) = %v, want allowed %v", addr, err, ok)
		}
		if err != nil && !errors.Is(err, errBlocked) {
			t.Errorf("Control(%q) = %v, does not wrap the given error", addr, err)
		}
	}
}
