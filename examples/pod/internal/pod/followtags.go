package pod

import (
	"context"
	"fmt"
	"strings"

	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// NormalizeTag reads a #tag as a person types it (with or without the
// #) and returns it as posts store it, lowercased; a tag the posts' own
// rule would not find is refused (store.ErrInvalid).
func NormalizeTag(raw string) (string, error) {
	t := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(raw), "#"))
	if ts := parseTags("#" + t); len(ts) != 1 || ts[0] != t || len(t) > 255 {
		return "", fmt.Errorf("%w: %q is not a #tag (letters, digits, _ and -)", store.ErrInvalid, raw)
	}
	return t, nil
}

// FollowTag makes u follow a #tag (public posts with it join u's stream,
// as in diaspora*), or stop following it.
func (p *Pod) FollowTag(ctx context.Context, u *store.User, raw string, follow bool) (string, error) {
	tag, err := NormalizeTag(raw)
	if err != nil {
		return "", err
	}
	return tag, p.store.FollowTag(ctx, u.Username, tag, follow)
}
