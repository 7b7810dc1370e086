// Package storetest is the conformance suite of the store interfaces and the
// helpers that open a fresh database for tests.
//
// Every suite function takes a constructor of Stores, so store.DB on SQLite
// and store.DB on PostgreSQL run the same cases, and so would any test double
// of a store (which is honest only if it passes them):
//
//	func TestConformance(t *testing.T) {
//		storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
//			storetest.All(t, func(tb testing.TB) storetest.Stores { return open(tb) })
//		})
//	}
//
// Other packages' tests use MustOpenSQLite, MustOpenPostgres, Databases or
// EachDatabase to run against both databases. PostgreSQL runs when the
// environment variable NINSHO_TEST_POSTGRES holds a URL such as
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable; each opened
// database lives in its own schema, dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, for schema set-up

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/help"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/retention"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/sessions"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/trust"
	"github.com/ninsho/ninsho/internal/twostep"
)

// PostgresEnv names the environment variable that holds the PostgreSQL test
// URL. When it is unset, PostgreSQL tests skip.
const PostgresEnv = "NINSHO_TEST_POSTGRES"

// Epoch is the fixed time the suites start their clocks at.
var Epoch = time.Date(2026, 11, 25, 1, 2, 3, 0, time.UTC)

// Stores is everything the conformance suite exercises: one value that
// implements every store interface and the transaction runner, as store.DB
// does.
type Stores interface {
	ninsho.TxRunner
	account.Store
	account.LockStore
	device.NetworkStore
	flow.Store
	code.Store
	code.GuardStore
	session.Store
	device.Store
	event.Store
	message.Store
	devinbox.Store
	throttle.Store
	captcha.Store
	retention.Store
	message.BacklogStore
	message.ReportStore
	message.ListStore
	twostep.Store
	twostep.BackupStore
	trust.Store
	sessions.Store
	help.Store
}

var _ Stores = (*store.DB)(nil)

// MustOpenSQLite opens a fresh SQLite database in a temporary directory,
// migrated, with a clock stopped at Epoch. It is closed when the test ends.
func MustOpenSQLite(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), store.Options{
		DataDir: filepath.Join(tb.TempDir(), "data"),
		Clock:   ninsho.NewManualClock(Epoch),
	})
	if err != nil {
		tb.Fatalf("storetest: open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// MustOpenPostgres opens a fresh PostgreSQL database: a new schema with a
// random name on the server that NINSHO_TEST_POSTGRES names, migrated, with
// a clock stopped at Epoch. The schema is dropped when the test ends. It
// skips the test when NINSHO_TEST_POSTGRES is unset.
func MustOpenPostgres(tb testing.TB) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: PostgresURL(tb), Clock: ninsho.NewManualClock(Epoch)})
	if err != nil {
		tb.Fatalf("storetest: open postgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() }) // runs before the schema is dropped
	return db
}

var (
	adminMu  sync.Mutex
	adminDBs = map[string]*sql.DB{}
)

// mustAdmin returns the process-wide connection pool that creates and drops
// test schemas.
func mustAdmin(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	adminMu.Lock()
	defer adminMu.Unlock()
	if db, ok := adminDBs[dsn]; ok {
		return db
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatalf("storetest: open postgres admin connection: %v", err)
	}
	db.SetMaxIdleConns(2)
	if err := db.Ping(); err != nil {
		db.Close()
		tb.Fatalf("storetest: postgres at %s=%s: %v", PostgresEnv, redact(dsn), err)
	}
	adminDBs[dsn] = db
	return db
}

func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// Named is one database the tests run against.
type Named struct {
	Name string                        // "sqlite" or "postgres"
	Open func(tb testing.TB) *store.DB // a fresh, migrated database; may skip
}

// Databases lists the databases tests run against: SQLite always and
// PostgreSQL, whose Open skips when NINSHO_TEST_POSTGRES is unset.
func Databases() []Named {
	return []Named{
		{Name: "sqlite", Open: MustOpenSQLite},
		{Name: "postgres", Open: MustOpenPostgres},
	}
}

// EachDatabase runs fn as a subtest per database of Databases, named after
// it. fn opens as many fresh databases as it needs with open.
func EachDatabase(t *testing.T, fn func(t *testing.T, open func(tb testing.TB) *store.DB)) {
	t.Helper()
	for _, d := range Databases() {
		t.Run(d.Name, func(t *testing.T) {
			if d.Name == "postgres" && os.Getenv(PostgresEnv) == "" {
				t.Skipf("%s is not set", PostgresEnv)
			}
			fn(t, d.Open)
		})
	}
}
