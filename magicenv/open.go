package magicenv

import (
	"context"
	"crypto/rsa"
	"errors"
)

// KeyResolver finds the public key of a diaspora* ID. It is how [Open]
// learns keys; a pod backs it with its key store, and a discovery client
// can implement it.
//
// PublicKey returns an error wrapping [ErrKeyNotFound] when the author is
// known to have no key; any other error means the key could not be looked
// up now (a temporary failure).
type KeyResolver interface {
	// PublicKey returns the public key of the diaspora* ID author.
	PublicKey(ctx context.Context, author string) (*rsa.PublicKey, error)
}

// KeyResolverFunc adapts a function to [KeyResolver].
type KeyResolverFunc func(ctx context.Context, author string) (*rsa.PublicKey, error)

// PublicKey calls f(ctx, author).
func (f KeyResolverFunc) PublicKey(ctx context.Context, author string) (*rsa.PublicKey, error) {
	return f(ctx, author)
}

// Open chains the three steps of receiving an envelope: [Parse],
// a key lookup for [Envelope.Author] through resolver, and
// [Envelope.Verify]. It returns the verified envelope, whose
// [Envelope.Payload] is now authenticated as coming from its author.
//
// Key lookup failures are returned as [*KeyLookupError]; a resolver that
// returns neither a key nor an error counts as [ErrKeyNotFound].
//
// opts may be nil, meaning the zero [Options].
func Open(ctx context.Context, data []byte, resolver KeyResolver, opts *Options) (*Envelope, error) {
	return opts.value().open(ctx, data, resolver)
}

func (o Options) open(ctx context.Context, data []byte, resolver KeyResolver) (*Envelope, error) {
	env, err := o.parse(data)
	if err != nil {
		return nil, err
	}
	author, err := env.Author()
	if err != nil {
		return nil, err
	}
	if resolver == nil {
		return nil, &KeyLookupError{Author: author, Err: errors.New("no key resolver")}
	}
	pub, err := resolver.PublicKey(ctx, author)
	if err == nil && pub == nil {
		err = ErrKeyNotFound
	}
	if err != nil {
		return nil, &KeyLookupError{Author: author, Err: err}
	}
	if err := env.Verify(pub); err != nil {
		return nil, err
	}
	return env, nil
}
