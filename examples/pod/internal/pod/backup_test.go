package pod

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/go-diaspora/federation/examples/pod/internal/podtest"
	"github.com/go-diaspora/federation/examples/pod/internal/store"
)

// sqlitePod opens a pod on the SQLite file in dir (whatever the test
// run's POD_TEST_POSTGRES says), without serving it.
func sqlitePod(t *testing.T, dir string) *Pod {
	t.Helper()
	p, err := NewPod(context.Background(), Config{PublicURL: "http://127.0.0.1:3997/", DataDir: dir, KeyBits: 2048, Dev: true,
		BcryptCost: bcrypt.MinCost, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBackupRestore: pod backup writes a consistent copy of a running
// pod's SQLite store; a pod started on the copy finds the data of that
// moment; an existing file is never overwritten.
func TestBackupRestore(t *testing.T) {
	tmp := t.TempDir()
	bin := podtest.BuildBinary(t, tmp)
	dir := filepath.Join(tmp, "data")
	p := sqlitePod(t, dir)
	ctx := context.Background()
	if _, err := p.AddUser(ctx, "alice", "password-alice"); err != nil {
		t.Fatal(err)
	}
	alice, _ := p.store.UserByName(ctx, "alice")
	before, err := p.CreatePost(ctx, alice, PostInput{Text: "before the backup"})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(tmp, "pod-backup.db")
	// The pod is open (and may write) while another process backs it up.
	out, err := exec.Command(bin, "backup", file, "--data", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "backup written to "+file) {
		t.Fatalf("pod backup: %v\n%s", err, out)
	}
	after, err := p.CreatePost(ctx, alice, PostInput{Text: "after the backup"})
	if err != nil {
		t.Fatal(err)
	}
	p.Close()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, mode %v; want 0600", err, fi.Mode())
	}
	if out, err := exec.Command(bin, "backup", file, "--data", dir).CombinedOutput(); err == nil || !strings.Contains(string(out), "exists") {
		t.Errorf("a backup over an existing file: %v\n%s", err, out)
	}

	// Restore: the copy is a pod's data directory.
	restored := filepath.Join(tmp, "restored")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(restored, "pod.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	q := sqlitePod(t, restored)
	defer q.Close()
	u, err := q.Login(ctx, "alice", "password-alice", "127.0.0.1")
	if err != nil {
		t.Fatalf("alice cannot sign in on the restored pod: %v", err)
	}
	if v, err := q.store.PostView(ctx, u, before.GUID); err != nil || v.Text != "before the backup" {
		t.Errorf("the post from before the backup: %+v, %v", v, err)
	}
	if _, err := q.store.PostView(ctx, u, after.GUID); err == nil {
		t.Error("the restored pod holds a post written after the backup")
	}
}

// TestMigrateStore: pod migrate-store copies a SQLite pod with every
// kind of row into an empty PostgreSQL database; every table's rows are
// the same afterwards, a pod serves from the copy, and a second run into
// the filled database is refused.
func TestMigrateStore(t *testing.T) {
	requirePostgres(t)
	tmp := t.TempDir()
	bin := podtest.BuildBinary(t, tmp)
	dir := filepath.Join(tmp, "data")
	p := sqlitePod(t, dir)
	ctx := context.Background()
	for _, n := range []string{"alice", "carol"} {
		if _, err := p.AddUser(ctx, n, "password-"+n); err != nil {
			t.Fatal(err)
		}
	}
	alice, _ := p.store.UserByName(ctx, "alice")
	carol, _ := p.store.UserByName(ctx, "carol")
	// A remote contact on an unreachable pod: deliveries stay queued.
	bob := plantRemote(t, p, "bob", "http://127.0.0.1:9/", 1)
	if _, err := p.ShareWith(ctx, alice, bob.ID, []string{"Family"}, true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.ShareWith(ctx, carol, alice.ID, []string{"Friends"}, true); err != nil {
		t.Fatal(err)
	}
	f := false
	pub, err := p.CreatePost(ctx, alice, PostInput{Text: "hello #world @{Carol; " + carol.ID + "}",
		Poll: &PollInput{Question: "tea?", Answers: []string{"yes", "no"}}, IdempotencyKey: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreatePost(ctx, alice, PostInput{Text: "family", Public: &f, Aspects: []string{"Family"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Interact(ctx, carol, pub.GUID, "nice", false); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Interact(ctx, carol, pub.GUID, "", true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Vote(ctx, carol, pub.GUID, pub.Poll.Answers[0].GUID); err != nil {
		t.Fatal(err)
	}
	if _, err := p.StartConversation(ctx, alice, ConversationInput{Subject: "hi", Text: "hello carol", Participants: []string{carol.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.CreateAspect(ctx, alice, "Book club"); err != nil {
		t.Fatal(err)
	}
	if err := p.store.CreateSession(ctx, HashToken("token"), "alice", timeIn(24)); err != nil {
		t.Fatal(err)
	}
	if err := p.store.SetBlocked(ctx, "bad.example", true); err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.SQL().Exec(`INSERT INTO inbox_rejected (route, size, sha256, prefix, category, received_at, rejected_at) VALUES ('public', 3, 'ab', 'CD', 'malformed', 1, 2)`); err != nil {
		t.Fatal(err)
	}
	// The web interface's and the dashboard's tables.
	if _, err := p.store.Invitations(ctx, "alice", 2); err != nil {
		t.Fatal(err)
	}
	if err := p.store.AddReport(ctx, "alice", "Post", pub.GUID, "a test"); err != nil {
		t.Fatal(err)
	}
	if err := p.store.Audit(ctx, "", "user admin", "alice", "test"); err != nil {
		t.Fatal(err)
	}
	if err := p.store.SetSetting(ctx, "registrations", "closed"); err != nil {
		t.Fatal(err)
	}
	p.Close()

	url := testDB(t)
	out, err := exec.Command(bin, "migrate-store", "--from", dir, "--to", url).CombinedOutput()
	if err != nil {
		t.Fatalf("pod migrate-store: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	src, err := store.Open(ctx, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.Open(ctx, url, "")
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	empty := 0
	for _, table := range store.Tables {
		a, b := tableRows(t, src.SQL(), table), tableRows(t, dst.SQL(), table)
		if len(a) == 0 {
			empty++
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %d rows in SQLite, %d in PostgreSQL, or they differ:\n%v\n%v", table, len(a), len(b), a, b)
		}
	}
	if empty > 4 {
		t.Errorf("%d of %d tables were empty: the test copies too little", empty, len(store.Tables))
	}
	if n := len(tableRows(t, dst.SQL(), "outbox")); n == 0 {
		t.Error("no queued delivery was copied")
	}

	// The pod serves from PostgreSQL: alice signs in and reads her post;
	// new rows get new ids.
	q, err := NewPod(ctx, Config{PublicURL: "http://127.0.0.1:3997/", DB: url, KeyBits: 2048, Dev: true, BcryptCost: bcrypt.MinCost, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	u, err := q.Login(ctx, "alice", "password-alice", "127.0.0.1")
	if err != nil {
		t.Fatalf("alice cannot sign in after the move: %v", err)
	}
	if v, err := q.store.PostView(ctx, u, pub.GUID); err != nil || len(v.Comments) != 1 || len(v.Likes) != 1 || v.Poll.Answers[0].Votes != 1 {
		t.Errorf("alice's post after the move: %+v, %v", v, err)
	}
	if _, err := q.CreateAspect(ctx, u, "New"); err != nil {
		t.Errorf("a new aspect after the move: %v", err)
	}
	if out, err := exec.Command(bin, "migrate-store", "--from", dir, "--to", url).CombinedOutput(); err == nil || !strings.Contains(string(out), "already holds a pod") {
		t.Errorf("a second migrate-store: %v\n%s", err, out)
	}
}

// tableRows reads every row of a table (without PostgreSQL's arrival
// numbers) as strings, sorted, for comparing stores.
func tableRows(t *testing.T, db *store.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(`SELECT * FROM ` + table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, c := range cols {
			if c == "rowid" {
				continue
			}
			v := vals[i]
			switch x := v.(type) {
			case []byte:
				v = fmt.Sprintf("%x", x)
			case int32:
				v = int64(x)
			case int16:
				v = int64(x)
			}
			parts = append(parts, fmt.Sprintf("%s=%v", c, v))
		}
		sortStrings(parts)
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	sortStrings(out)
	return out
}

func sortStrings(s []string) { slices.Sort(s) }

// timeIn is the time h hours from now.
func timeIn(h int) time.Time { return time.Now().Add(time.Duration(h) * time.Hour) }
