package magicenv_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/go-diaspora/federation/magicenv"
)

func TestEncryptDecryptRoundTrip(t *testing.T) {
	bob := privKey(t, "bob")
	envXML := []byte(validEnvelope(t))
	body1, err := magicenv.Encrypt(envXML, &bob.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	body2, err := magicenv.Encrypt(envXML, &bob.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(body1, body2) {
		t.Error("two encryptions of the same envelope are identical: key or IV reused")
	}
	if !bytes.HasPrefix(body1, []byte(`{"aes_key":"`)) || !bytes.Contains(body1, []byte(`","encrypted_magic_envelope":"`)) {
		t.Errorf("body is not in the reference's shape: %.60s", body1)
	}
	for _, body := range [][]byte{body1, body2} {
		got, err := magicenv.Decrypt(body, bob, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, envXML) {
			t.Error("Decrypt(Encrypt(x)) != x")
		}
	}
	// Another recipient's key cannot open it.
	if _, err := magicenv.Decrypt(body1, privKey(t, "carol"), nil); !errors.Is(err, magicenv.ErrDecrypt) {
		t.Errorf("Decrypt(other key) = %v, want ErrDecrypt", err)
	}
	// Block-aligned plaintext gets a whole block of padding.
	aligned := bytes.Repeat([]byte("a"), 64)
	body, err := magicenv.Encrypt(aligned, &bob.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := magicenv.Decrypt(body, bob, nil); err != nil || !bytes.Equal(got, aligned) {
		t.Errorf("aligned round trip = %q, %v", got, err)
	}
}

// build makes an encrypted body by hand, so that each part can be broken.
func build(t *testing.T, pub *rsa.PublicKey, keyJSON string, key, iv, padded []byte) []byte {
	t.Helper()
	//lint:ignore SA1019 diaspora* encrypts keys with RSAES-PKCS1-v1_5 (https://diaspora.github.io/diaspora_federation/federation/encryption.html); the protocol leaves no choice
	wrapped, err := rsa.EncryptPKCS1v15(rand.Reader, pub, []byte(keyJSON))
	if err != nil {
		t.Fatal(err)
	}
	ct := make([]byte, len(padded))
	if len(key) == 32 && len(iv) == 16 && len(padded)%16 == 0 {
		block, _ := aes.NewCipher(key)
		cipher.NewCBCEncrypter(block, iv).CryptBlocks(ct, padded)
	} else {
		copy(ct, padded)
	}
	return []byte(`{"aes_key":"` + base64.StdEncoding.EncodeToString(wrapped) + `","encrypted_magic_envelope":"` + base64.StdEncoding.EncodeToString(ct) + `"}`)
}

func keyJSON(key, iv []byte) string {
	return `{"key":"` + base64.StdEncoding.EncodeToString(key) + `","iv":"` + base64.StdEncoding.EncodeToString(iv) + `"}`
}

func TestDecryptFailuresAreUniform(t *testing.T) {
	bob := privKey(t, "bob")
	pub := &bob.PublicKey
	key, iv := bytes.Repeat([]byte{7}, 32), bytes.Repeat([]byte{9}, 16)
	msg := []byte("<me:env>0123456789</me:env>") // 27 bytes
	pad := func(p byte, n int) []byte { return append(bytes.Clone(msg), bytes.Repeat([]byte{p}, n)...) }
	garbage := make([]byte, 256)
	for i := range garbage {
		garbage[i] = byte(i*7 + 1)
	}
	tests := map[string][]byte{
		"garbage aes_key": []byte(`{"aes_key":"` + base64.StdEncoding.EncodeToString(garbage) + `","encrypted_magic_envelope":"AAAAAAAAAAAAAAAAAAAAAA=="}`),
		"pad byte 0":      build(t, pub, keyJSON(key, iv), key, iv, pad(0, 5)),
		"pad byte 0x11":   build(t, pub, keyJSON(key, iv), key, iv, pad(0x11, 5)),
		"pad inconsistent": build(t, pub, keyJSON(key, iv), key, iv,
			append(bytes.Clone(msg), 5, 5, 4, 5, 5)),
		"ciphertext not block aligned": build(t, pub, keyJSON(key, iv), key, iv, []byte("0123456789")),
		"empty ciphertext":             build(t, pub, keyJSON(key, iv), key, iv, nil),
		"iv 15 bytes":                  build(t, pub, keyJSON(key, iv[:15]), key, iv[:15], pad(5, 5)),
		"iv 17 bytes":                  build(t, pub, keyJSON(key, append(bytes.Clone(iv), 1)), key, iv, pad(5, 5)),
		"key 16 bytes":                 build(t, pub, keyJSON(key[:16], iv), key[:16], iv, pad(5, 5)),
		"key 31 bytes":                 build(t, pub, keyJSON(key[:31], iv), key[:31], iv, pad(5, 5)),
		"key json not json":            build(t, pub, `key=1`, key, iv, pad(5, 5)),
		"key json duplicate key":       build(t, pub, `{"key":"`+base64.StdEncoding.EncodeToString(key)+`","key":"AA==","iv":"`+base64.StdEncoding.EncodeToString(iv)+`"}`, key, iv, pad(5, 5)),
		"key json missing iv":          build(t, pub, `{"key":"`+base64.StdEncoding.EncodeToString(key)+`"}`, key, iv, pad(5, 5)),
		"key json number":              build(t, pub, `{"key":1,"iv":"`+base64.StdEncoding.EncodeToString(iv)+`"}`, key, iv, pad(5, 5)),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := magicenv.Decrypt(body, bob, nil)
			if err != magicenv.ErrDecrypt || got != nil {
				t.Fatalf("Decrypt = %q, %v; want exactly ErrDecrypt", got, err)
			}
		})
	}
	// The positive control: the same construction with good padding opens.
	good := build(t, pub, keyJSON(key, iv), key, iv, pad(5, 5))
	if got, err := magicenv.Decrypt(good, bob, nil); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("control Decrypt = %q, %v", got, err)
	}
	// Python's spacing of the key JSON is accepted too.
	spaced := build(t, pub, strings.ReplaceAll(strings.ReplaceAll(keyJSON(key, iv), `":"`, `": "`), `","`, `", "`), key, iv, pad(5, 5))
	if got, err := magicenv.Decrypt(spaced, bob, nil); err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("spaced key JSON Decrypt = %q, %v", got, err)
	}
}

func TestDecryptMalformedBody(t *testing.T) {
	bob := privKey(t, "bob")
	good, err := magicenv.Encrypt([]byte("<x/>"), &bob.PublicKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	aesKey := s[len(`{"aes_key":"`):strings.Index(s, `","encrypted`)]
	tests := map[string]string{
		"empty":            "",
		"not json":         "hello",
		"array":            `["a","b"]`,
		"truncated":        s[:len(s)-2],
		"trailing data":    s + "{}",
		"missing member":   `{"aes_key":"` + aesKey + `"}`,
		"number member":    `{"aes_key":"` + aesKey + `","encrypted_magic_envelope":12}`,
		"null member":      `{"aes_key":"` + aesKey + `","encrypted_magic_envelope":null}`,
		"duplicate member": strings.Replace(s, `{"aes_key"`, `{"aes_key":"AAAA","aes_key"`, 1),
		"case variant":     strings.Replace(s, `{"aes_key"`, `{"AES_KEY":"AAAA","aes_key"`, 1),
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := magicenv.Decrypt([]byte(body), bob, nil); !errors.Is(err, magicenv.ErrMalformed) {
				t.Fatalf("Decrypt = %v, want ErrMalformed", err)
			}
		})
	}
	// Unknown extra members are ignored, and base64 may be line-wrapped.
	extra := strings.Replace(s, `{"aes_key"`, `{"version":1,"aes_key"`, 1)
	wrapped := strings.Replace(extra, aesKey[:20], aesKey[:10]+`\n`+aesKey[10:20], 1)
	if got, err := magicenv.Decrypt([]byte(wrapped), bob, nil); err != nil || string(got) != "<x/>" {
		t.Errorf("Decrypt(extra member, wrapped base64) = %q, %v", got, err)
	}
	if _, err := magicenv.Decrypt(good, bob, &magicenv.Options{MaxSize: 10}); !errors.Is(err, magicenv.ErrTooLarge) {
		t.Errorf("Decrypt over MaxSize = %v, want ErrTooLarge", err)
	}
	if _, err := magicenv.Decrypt(good, nil, nil); !errors.Is(err, magicenv.ErrInvalidKey) {
		t.Errorf("Decrypt(nil key) = %v, want ErrInvalidKey", err)
	}
	if _, err := magicenv.Encrypt(nil, &bob.PublicKey, nil); err == nil {
		t.Error("Encrypt(empty) succeeded")
	}
}
