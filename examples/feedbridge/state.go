package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/go-diaspora/federation/magicenv"
)

const (
	stateFile = "state.json"
	maxPosts  = 2 * maxFeedEntries // published entries kept; Poll forgets older ones the feed no longer lists
)

// state is what the bridge remembers across restarts, in one JSON file
// rewritten after every change.
type state struct {
	ID         string            `json:"id"`          // the person's diaspora* ID
	GUID       string            `json:"guid"`        // and guid
	PrivateKey string            `json:"private_key"` // PEM
	Followers  map[string]string `json:"followers"`   // diaspora* ID → base URL of their pod
	Posts      map[string]*post  `json:"posts"`       // by feed entry ID
}

// post is a published entry.
type post struct {
	GUID     string `json:"guid,omitempty"`     // of the status message; empty for a skipped entry
	Envelope string `json:"envelope,omitempty"` // signed once: delivered, and served by /fetch
}

// openState reads the state in dir or, on first start, makes the person
// id: a guid and a key of keyBits.
func openState(dir, id string, keyBits int) (*state, error) {
	st := &state{ID: id, GUID: newGUID(), Followers: map[string]string{}, Posts: map[string]*post{}}
	data, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, fs.ErrNotExist) {
		key, err := magicenv.GenerateKey(keyBits, nil)
		if err == nil {
			err = os.MkdirAll(dir, 0o700)
		}
		if err != nil {
			return nil, err
		}
		pem, _ := magicenv.MarshalPrivateKey(key) // cannot fail for a generated key
		st.PrivateKey = string(pem)
		return st, st.save(dir)
	}
	if err == nil {
		err = json.Unmarshal(data, st)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", stateFile, err)
	}
	if st.ID != id {
		return nil, fmt.Errorf("%s belongs to %s, not %s: --url and --name must stay what they were", dir, st.ID, id)
	}
	return st, nil
}

// save writes the state atomically: to a temporary file, synced, then
// renamed over the old one, so that a crash leaves the old state or the
// new one, never half of one.
func (st *state) save(dir string) error {
	data, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, stateFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // 0600: it holds the key
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if err = errors.Join(err, f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, stateFile))
}

// newGUID returns 32 random hexadecimal digits, as diaspora* makes guids.
func newGUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
