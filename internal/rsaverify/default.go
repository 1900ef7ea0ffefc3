//go:build !boringcrypto

package rsaverify

// useFast enables the math/big path for large keys in standard builds.
const useFast = true
