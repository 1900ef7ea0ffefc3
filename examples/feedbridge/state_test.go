package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestStateRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := openState(dir, "news@feeds.example", 2048) // first start
	if err != nil || st.GUID == "" || !strings.Contains(st.PrivateKey, "PRIVATE KEY") {
		t.Fatalf("new state: %+v, %v", st, err)
	}
	st.Followers["alice@pod.example"] = "https://pod.example/"
	st.Posts["urn:1"] = &post{GUID: newGUID(), Envelope: "<me:env/>"}
	st.Posts["urn:skipped"] = &post{}
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := openState(dir, "news@feeds.example", 2048)
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
	if _, err := openState(dir, "other@feeds.example", 2048); err == nil || !strings.Contains(err.Error(), "belongs to news@feeds.example") {
		t.Errorf("another person on the same state: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, stateFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openState(dir, "news@feeds.example", 2048); err == nil || !strings.Contains(err.Error(), stateFile) {
		t.Errorf("a broken state file: %v, want an error naming it", err)
	}
}
