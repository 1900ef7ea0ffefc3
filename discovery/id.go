package discovery

import (
	"fmt"
	"strings"

	"github.com/go-diaspora/federation/internal/rules"
)

// MaxIDLength is the longest diaspora* ID accepted, in characters.
const MaxIDLength = rules.MaxIDLength

// NormalizeID turns user input into a diaspora* ID the way the reference
// does before discovery: it trims white space, removes a leading "acct:"
// and lowercases. The result must match the diaspora* ID grammar
// (username@host[:port], at most 255 characters), otherwise the error
// wraps [ErrInvalidID].
func NormalizeID(s string) (string, error) {
	id := strings.TrimSpace(s)
	if len(id) >= 5 && strings.EqualFold(id[:5], "acct:") {
		id = id[5:]
	}
	id = strings.ToLower(id)
	if err := ValidateID(id); err != nil {
		return "", err
	}
	return id, nil
}

// ValidateID reports whether id is a diaspora* ID as the reference's
// validator accepts it (lowercase, username@host[:port], at most 255
// characters). The error wraps [ErrInvalidID].
func ValidateID(id string) error {
	if !rules.ValidID(id) {
		return fmt.Errorf("%w: %q", ErrInvalidID, truncate(id, 80))
	}
	return nil
}

// ValidGUID reports whether guid satisfies the reference's GUID rule:
// 16 to 255 characters from 0-9 A-Z a-z - _ @ . : ending in a letter or
// digit.
func ValidGUID(guid string) bool { return rules.ValidGUID(guid) }

// idHost returns the host part of a valid ID, with its port.
func idHost(id string) string {
	_, host, _ := strings.Cut(id, "@")
	return host
}

// normalizeSubject applies the reference's normalization to a WebFinger
// subject before it is compared with the requested ID.
func normalizeSubject(s string) string {
	s = strings.TrimSpace(s)
	if len(s) >= 5 && strings.EqualFold(s[:5], "acct:") {
		s = s[5:]
	}
	return strings.ToLower(s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
