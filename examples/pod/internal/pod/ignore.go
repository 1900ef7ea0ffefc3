package pod

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-diaspora/federation/discovery"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// Ignore makes u ignore the person with the diaspora* ID rawID (what
// diaspora* calls blocking), or stop ignoring them. Ignoring someone u
// shares with stops sharing first (a Contact retraction goes to their
// pod); after that their posts, comments and likes are hidden from u and
// what they do makes no notification. It is not federated otherwise, as
// in diaspora*: they are not told.
func (p *Pod) Ignore(ctx context.Context, u *store.User, rawID string, ignore bool) error {
	id, err := discovery.NormalizeID(rawID)
	if err != nil {
		return fmt.Errorf("%w: %q is not a diaspora* ID (like someone@example.org)", store.ErrInvalid, rawID)
	}
	if id == u.ID {
		return fmt.Errorf("%w: you cannot ignore yourself", store.ErrInvalid)
	}
	if ignore {
		c, err := p.store.Contact(ctx, u.Username, id)
		switch {
		case err == nil && c.Receiving:
			if _, err := p.ShareWith(ctx, u, id, nil, false); err != nil {
				return err
			}
		case err != nil && !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	return p.store.SetIgnored(ctx, u.Username, id, ignore)
}
