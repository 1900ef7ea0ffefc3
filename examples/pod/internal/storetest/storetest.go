// Package storetest gives the pod's tests their databases: the embedded
// SQLite file by default or, when POD_TEST_POSTGRES holds the URL of a
// PostgreSQL database, a schema of its own in that database for each
// test pod, dropped when the test ends. .ci/run starts a PostgreSQL
// server (scripts/pg-test-server) and runs the pod's tests once with
// each store; POD_REQUIRE_POSTGRES turns a missing server into a failure.
package storetest

import (
	"crypto/rand"
	"database/sql"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// DB returns the --db value of a test pod: "" (the SQLite file in the
// pod's data directory) or a PostgreSQL URL with a schema of its own.
func DB(t testing.TB) string {
	t.Helper()
	return DBAt(t, "")
}

// dbs keeps the database of each data directory of a test run, so that a
// pod restarted on the same directory finds its data again.
var dbs sync.Map

// DBAt is DB for the pod whose data directory is dir: a restart on the
// same dir gets the same database.
func DBAt(t testing.TB, dir string) string {
	t.Helper()
	base := os.Getenv("POD_TEST_POSTGRES")
	if base == "" {
		return ""
	}
	if dir != "" {
		if u, ok := dbs.Load(dir); ok {
			return u.(string)
		}
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	schema := "pod_test_" + strings.ToLower(rand.Text()[:20])
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		admin.Close()
		t.Fatalf("creating a schema in POD_TEST_POSTGRES: %v", err)
	}
	t.Cleanup(func() {
		admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	if dir != "" {
		dbs.Store(dir, u.String())
	}
	return u.String()
}

// Postgres reports whether the tests run on PostgreSQL; without a server
// it skips t with what to install, or fails it under POD_REQUIRE_POSTGRES.
func Postgres(t testing.TB) {
	t.Helper()
	if os.Getenv("POD_TEST_POSTGRES") != "" {
		return
	}
	if os.Getenv("POD_REQUIRE_POSTGRES") != "" {
		t.Fatal("POD_REQUIRE_POSTGRES is set but POD_TEST_POSTGRES names no database")
	}
	t.Skip("the pod's tests ran on SQLite only: install PostgreSQL (Debian's postgresql package) and set POD_TEST_POSTGRES to a database URL to run them on PostgreSQL too, as .ci/run does")
}
