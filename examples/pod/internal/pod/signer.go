package pod

import (
	"crypto"
	"crypto/rsa"
	"io"
	"sync/atomic"
)

// countingSigner counts the signatures made with a key.
type countingSigner struct {
	key *rsa.PrivateKey
	n   *atomic.Int64
}

func (s countingSigner) Public() crypto.PublicKey { return s.key.Public() }

func (s countingSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.n.Add(1)
	return s.key.Sign(r, digest, opts)
}
