package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// stateFile is the name of the bridge's state in its data directory.
const stateFile = "state.json"

// stateVersion is the version of the state file's format.
const stateVersion = 1

// maxStateBytes bounds the state file read at start.
const maxStateBytes = 64 << 20

// maxPosts is how many published entries the state remembers. Older ones
// are forgotten unless the feed still lists them (see prune), so an
// entry is never published twice while it is in the feed.
const maxPosts = 2 * maxFeedEntries

// state is everything the bridge must remember across restarts. It is
// kept in one JSON file, rewritten atomically after every change.
type state struct {
	Version int `json:"version"`
	// ID and GUID are the bridge person's diaspora* ID and guid.
	ID   string `json:"id"`
	GUID string `json:"guid"`
	// PrivateKey is the person's RSA key, PEM (PKCS#1).
	PrivateKey string `json:"private_key"`
	// Followers are the people who share with the bridge person, by
	// diaspora* ID.
	Followers map[string]follower `json:"followers"`
	// Posts are the published entries, by feed entry ID.
	Posts map[string]*post `json:"posts"`
}

// follower is a person who receives the bridge's posts.
type follower struct {
	GUID  string    `json:"guid"`
	Pod   string    `json:"pod"` // base URL of their pod
	Since time.Time `json:"since"`
}

// post is a published entry: the status message's guid and its signed
// envelope (served by /fetch and delivered to followers' pods), and the
// receive URLs it has still to be delivered to.
type post struct {
	GUID      string    `json:"guid"`
	CreatedAt time.Time `json:"created_at"`
	Envelope  string    `json:"envelope,omitempty"`
	Pending   []string  `json:"pending,omitempty"`
}

// loadState reads the state in dir; a missing file is no error but a nil
// state.
func loadState(dir string) (*state, error) {
	f, err := os.Open(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", f.Name(), maxStateBytes)
	}
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	if st.Version != stateVersion {
		return nil, fmt.Errorf("%s has version %d; this bridge reads version %d", f.Name(), st.Version, stateVersion)
	}
	if st.Followers == nil {
		st.Followers = map[string]follower{}
	}
	if st.Posts == nil {
		st.Posts = map[string]*post{}
	}
	for id, p := range st.Posts {
		if p == nil {
			delete(st.Posts, id)
		}
	}
	return &st, nil
}

// save writes the state to dir atomically: a temporary file in the same
// directory, synced, then renamed over the old one, so that a crash
// leaves either the old state or the new one.
func (st *state) save(dir string) error {
	data, err := json.MarshalIndent(st, "", "\t")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, stateFile+".*.tmp") // mode 0600: it holds the private key
	if err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("saving state: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("saving state: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, stateFile)); err != nil {
		return fmt.Errorf("saving state: %w", err)
	}
	if d, err := os.Open(dir); err == nil { // make the rename durable too
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// prune forgets the oldest published entries beyond maxPosts, except
// those the feed still lists (inFeed) and those not yet delivered
// everywhere. It reports whether it forgot any.
func (st *state) prune(inFeed map[string]bool) bool {
	if len(st.Posts) <= maxPosts {
		return false
	}
	type aged struct {
		id string
		at time.Time
	}
	var old []aged
	for id, p := range st.Posts {
		if !inFeed[id] && len(p.Pending) == 0 {
			old = append(old, aged{id, p.CreatedAt})
		}
	}
	slices.SortFunc(old, func(a, b aged) int { return a.at.Compare(b.at) })
	pruned := false
	for _, a := range old {
		if len(st.Posts) <= maxPosts {
			break
		}
		delete(st.Posts, a.id)
		pruned = true
	}
	return pruned
}
