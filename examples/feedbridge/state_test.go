package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestStateRoundTrip(t *testing.T) {
	dir := t.TempDir()
	if st, err := loadState(dir); st != nil || err != nil {
		t.Fatalf("empty directory: %v, %v", st, err)
	}
	at := time.Date(2026, 12, 5, 2, 37, 48, 0, time.UTC)
	st := &state{Version: stateVersion, ID: "news@feeds.example", GUID: newGUID(), PrivateKey: "-----BEGIN RSA PRIVATE KEY-----\n...",
		Followers: map[string]follower{"alice@pod.example": {GUID: newGUID(), Pod: "https://pod.example/", Since: at}},
		Posts: map[string]*post{
			"urn:1":       {GUID: newGUID(), CreatedAt: at, Envelope: "<me:env/>", Pending: []string{"https://pod.example/receive/public"}},
			"urn:skipped": {CreatedAt: at},
		}}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	st.Followers["bob@other.example"] = follower{Pod: "https://other.example/"}
	if err := st.save(dir); err != nil { // again, over the first file
		t.Fatal(err)
	}
	got, err := loadState(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, st) {
		t.Errorf("loaded\n%+v\nwant\n%+v", got, st)
	}
	files, _ := os.ReadDir(dir)
	if len(files) != 1 || files[0].Name() != stateFile {
		t.Errorf("the data directory holds %v, want only %s", files, stateFile)
	}
	if fi, err := os.Stat(filepath.Join(dir, stateFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode: %v, %v; want 0600 (it holds the key)", fi.Mode(), err)
	}
}

func TestLoadStateErrors(t *testing.T) {
	for name, content := range map[string]string{
		"not JSON":      "{",
		"other version": `{"version": 99}`,
	} {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, stateFile), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := loadState(dir); err == nil || !strings.Contains(err.Error(), stateFile) {
			t.Errorf("%s: error %v, want one naming the file", name, err)
		}
	}
}

func TestPrune(t *testing.T) {
	st := &state{Posts: map[string]*post{}}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxPosts + 5 {
		st.Posts[strings.Repeat("x", i+1)] = &post{GUID: newGUID(), CreatedAt: base.Add(time.Duration(i) * time.Minute)}
	}
	st.Posts["x"].Pending = []string{"https://pod.example/receive/public"} // the oldest, undelivered
	inFeed := map[string]bool{"xx": true}                                  // the second oldest, still in the feed
	if !st.prune(inFeed) {
		t.Fatal("nothing pruned")
	}
	if len(st.Posts) != maxPosts {
		t.Errorf("%d posts kept, want %d", len(st.Posts), maxPosts)
	}
	for _, id := range []string{"x", "xx", strings.Repeat("x", maxPosts+5)} {
		if st.Posts[id] == nil {
			t.Errorf("post %.10s... (len %d) was forgotten", id, len(id))
		}
	}
	if st.Posts["xxx"] != nil {
		t.Error("the oldest prunable post was kept")
	}
	if st.prune(inFeed) {
		t.Error("pruned again at the limit")
	}
}
