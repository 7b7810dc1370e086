package storetest

import (
	"context"
	"net/url"
	"os"
	"testing"
)

// PostgresURL creates a fresh schema on the server that NINSHO_TEST_POSTGRES
// names and returns a URL whose search_path selects it, for tests that open
// the database themselves (e.g. a whole server). The schema is dropped when the
// test ends. It skips the test when NINSHO_TEST_POSTGRES is unset.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(PostgresEnv)
	if dsn == "" {
		tb.Skipf("storetest: %s is not set; skipping PostgreSQL", PostgresEnv)
	}
	u, err := url.Parse(dsn)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("storetest: %s must be a postgres:// URL", PostgresEnv)
	}
	admin := mustAdmin(tb, dsn)
	schema := "ninsho_test_" + randomHex(8)
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("storetest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storetest: drop schema %s: %v", schema, err)
		}
	})
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
