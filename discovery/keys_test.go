package discovery_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-diaspora/federation/discovery"
)

// pkcs1 returns alice's reference key as a PKCS#1 "RSA PUBLIC KEY" PEM.
func pkcs1(t *testing.T) string {
	t.Helper()
	k, err := discovery.ParsePublicKey(readRef(t, "keys/alice.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)}))
}

func TestParsePublicKey(t *testing.T) {
	spki := readRef(t, "keys/alice.pub.pem")
	k1, err := discovery.ParsePublicKey(spki)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := discovery.ParsePublicKey([]byte("\n  " + pkcs1(t) + "\n"))
	if err != nil || !k1.Equal(k2) {
		t.Fatalf("PKCS#1 form: %v, %v", k2, err)
	}
	// a 512-bit modulus: refused with a typed error
	n := new(big.Int).Lsh(big.NewInt(1), 511)
	n.Add(n, big.NewInt(1))
	der, err := x509.MarshalPKIXPublicKey(&rsa.PublicKey{N: n, E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	_, err = discovery.ParsePublicKey(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	var wk *discovery.WeakKeyError
	if !errors.As(err, &wk) || wk.Bits != 512 || !errors.Is(err, discovery.ErrWeakKey) {
		t.Errorf("512-bit key: %v", err)
	}
	ec, err := os.ReadFile(filepath.Join("..", "testdata", "keys", "ec-p256.pub.pem"))
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"ec":          ec,
		"garbage":     []byte("hello"),
		"two blocks":  append(append([]byte{}, spki...), spki...),
		"trailing":    append(append([]byte{}, spki...), "junk"...),
		"wrong type":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}}),
		"broken body": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2, 3}}),
	}
	for name, b := range bad {
		if _, err := discovery.ParsePublicKey(b); !errors.Is(err, discovery.ErrInvalidKey) {
			t.Errorf("%s: ParsePublicKey = %v, want ErrInvalidKey", name, err)
		}
	}
	pemText, err := discovery.MarshalPublicKey(k1)
	if err != nil || pemText != string(spki) {
		t.Errorf("MarshalPublicKey = %q, %v", pemText, err)
	}
}

// KeyError tells the receive pipeline which failures are final.
func TestKeyErrorTemporary(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&discovery.HTTPError{StatusCode: 404, URL: "https://pod.example/.well-known/webfinger"}, false},
		{&discovery.HTTPError{StatusCode: 503, URL: "https://pod.example/.well-known/webfinger"}, true},
		{discovery.ErrSubjectMismatch, false},
		{discovery.ErrBlockedAddress, false},
	} {
		if got := (&discovery.KeyError{Author: "a@pod.example", Err: tt.err}).Temporary(); got != tt.want {
			t.Errorf("KeyError{%v}.Temporary() = %v, want %v", tt.err, got, tt.want)
		}
	}
}
