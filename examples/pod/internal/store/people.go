package store

import "context"

// UpdateLocalProfile sets the name and bio of a local person.
func UpdateLocalProfile(ctx context.Context, tx *Tx, id, fullName, bio string) error {
	_, err := tx.exec(ctx, `UPDATE people SET full_name = ?, bio = ? WHERE id = ?`, fullName, bio, id)
	return err
}

// UpdateRemoteProfile sets the name and bio a remote person's Profile
// entity gave.
func UpdateRemoteProfile(ctx context.Context, tx *Tx, id, fullName, bio string) error {
	_, err := tx.exec(ctx, `UPDATE people SET full_name = ?, bio = ? WHERE id = ? AND local = 0`, fullName, bio, id)
	return err
}

// CloseLocalAccount deletes a local user's content, contacts,
// notifications and sessions, and keeps the account as a suspended
// tombstone without password or key (so that its ID is never reused).
func CloseLocalAccount(ctx context.Context, tx *Tx, username, id string) error {
	for _, q := range []string{
		`DELETE FROM interactions WHERE author = ?`,
		`DELETE FROM interactions WHERE post_guid IN (SELECT guid FROM posts WHERE author = ?)`,
		`DELETE FROM posts WHERE author = ?`,
		`DELETE FROM conversation_participants WHERE person_id = ?`,
		`DELETE FROM contacts WHERE person_id = ?`,
		`DELETE FROM aspect_memberships WHERE person_id = ?`,
	} {
		if _, err := tx.exec(ctx, q, id); err != nil {
			return err
		}
	}
	for _, q := range []string{
		`DELETE FROM contacts WHERE username = ?`,
		`DELETE FROM aspect_memberships WHERE username = ?`,
		`DELETE FROM notifications WHERE username = ?`,
		`DELETE FROM sessions WHERE username = ?`,
		`DELETE FROM uploads WHERE username = ?`,
		`UPDATE users SET suspended = 1, password_hash = '', private_key = '' WHERE username = ?`,
	} {
		if _, err := tx.exec(ctx, q, username); err != nil {
			return err
		}
	}
	return nil
}

// ForgetRemoteAccount deletes what a remote person who deleted their
// account left on this pod.
func ForgetRemoteAccount(ctx context.Context, tx *Tx, id string) error {
	for _, q := range []string{`DELETE FROM interactions WHERE author = ?`, `DELETE FROM posts WHERE author = ? AND local = 0`,
		`DELETE FROM contacts WHERE person_id = ?`, `DELETE FROM aspect_memberships WHERE person_id = ?`,
		`DELETE FROM notifications WHERE actor = ?`} {
		if _, err := tx.exec(ctx, q, id); err != nil {
			return err
		}
	}
	return nil
}

// ActiveUsers counts the local accounts that are not suspended.
func (s *Store) ActiveUsers(ctx context.Context) (int, error) {
	var n int
	err := s.db.queryRow(ctx, `SELECT COUNT(*) FROM users WHERE suspended = 0`).Scan(&n)
	return n, err
}
