package store

import (
	"context"
	"fmt"
)

// Ready reports whether the store can serve: the database answers a
// trivial query and its schema is migrated to this binary's version (or
// a newer one's). It is the pod's readiness check, so it is cheap: one
// row of one small table.
func (s *Store) Ready(ctx context.Context) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	if v < len(s.migrations) {
		return fmt.Errorf("the schema is at version %d, this pod needs %d", v, len(s.migrations))
	}
	return nil
}
