//go:build boringcrypto

package rsaverify

// In BoringCrypto builds crypto/rsa calls BoringSSL, which is faster
// than the math/big path at every key size.
const useFast = false
