package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestSQLiteFullIsStorageFull fills a SQLite database to the size SQLite
// may grow it to (PRAGMA max_page_count): writes answer storage_full, not
// internal; reads go on; once the bound is lifted, writes work again on the
// same DB (no reopen).
func TestSQLiteFullIsStorageFull(t *testing.T) {
	ctx := context.Background()
	db := storetest.MustOpenSQLite(t)
	first := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "first@example.jp", ""))
	if err := db.ExecForTest(ctx, "PRAGMA max_page_count = 1"); err != nil { // clamps to the size now
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 10000 && err == nil; i++ {
		err = db.CreateAccount(ctx, storetest.NewAccount("jp", fmt.Sprintf("u%05d@example.jp", i), ""))
	}
	if got := ninsho.CodeOf(err); got != ninsho.CodeStorageFull {
		t.Fatalf("a write to a full database: %v (code %q), want %q", err, got, ninsho.CodeStorageFull)
	}
	if s, ok := ninsho.ErrorOf(err).Params["retry_after_s"]; !ok || s != ninsho.StorageFullRetryAfter {
		t.Errorf("storage_full retry_after_s = %v, want %d", s, ninsho.StorageFullRetryAfter)
	}
	// A transaction too, and through a service's internal wrapping.
	txErr := db.InTx(ctx, func(ctx context.Context) error {
		for i := range 1000 {
			if err := db.CreateAccount(ctx, storetest.NewAccount("jp", fmt.Sprintf("tx%04d@example.jp", i), "")); err != nil {
				return ninsho.Internal("signup: %w", err)
			}
		}
		return nil
	})
	if got := ninsho.CodeOf(txErr); got != ninsho.CodeStorageFull {
		t.Errorf("a transaction on a full database: %v (code %q), want %q", txErr, got, ninsho.CodeStorageFull)
	}
	if a, err := db.Account(ctx, first.ID); err != nil || a.Email != first.Email {
		t.Errorf("read on a full database: %v, %v", a, err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping on a full database: %v", err)
	}
	if err := db.ExecForTest(ctx, "PRAGMA max_page_count = 1073741823"); err != nil {
		t.Fatal(err)
	}
	storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "after@example.jp", ""))
}

// TestPostgresRefusedIsUnavailable: a PostgreSQL that refuses connections
// (nothing listens) is unavailable (503), not internal.
func TestPostgresRefusedIsUnavailable(t *testing.T) {
	ctx := context.Background()
	_, err := store.Open(ctx, store.Options{URL: "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=5"})
	if got := ninsho.CodeOf(err); got != ninsho.CodeUnavailable {
		t.Fatalf("open on a closed port: %v (code %q), want %q", err, got, ninsho.CodeUnavailable)
	}
}

// TestPostgresTerminatedIsUnavailable ends the server side of the store's
// connections (pg_terminate_backend, as a restart does): a transaction on a
// dead connection answers unavailable, and the next calls recover by
// themselves on new connections.
func TestPostgresTerminatedIsUnavailable(t *testing.T) {
	ctx := context.Background()
	u, err := url.Parse(storetest.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	app := fmt.Sprintf("ninsho_fault_%d", time.Now().UnixNano())
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	db, err := store.Open(ctx, store.Options{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	admin, err := sql.Open("pgx", os.Getenv(storetest.PostgresEnv))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	a := storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "pg@example.jp", ""))

	terminate := func() {
		t.Helper()
		if _, err := admin.ExecContext(ctx, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", app); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			var n int
			if err := admin.QueryRowContext(ctx, "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", app).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d backends still there", n)
			}
			time.Sleep(10 * time.Millisecond) // polling the server's own progress
		}
	}
	err = db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.Account(ctx, a.ID); err != nil {
			return err
		}
		terminate()
		_, err := db.Account(ctx, a.ID)
		return err
	})
	if got := ninsho.CodeOf(err); got != ninsho.CodeUnavailable {
		t.Fatalf("a transaction whose connection the server ended: %v (code %q), want %q", err, got, ninsho.CodeUnavailable)
	}
	if r := ninsho.ErrorOf(err).Params["retry_after_s"]; r != ninsho.UnavailableRetryAfter {
		t.Errorf("retry_after_s = %v, want %d", r, ninsho.UnavailableRetryAfter)
	}
	// Idle connections ended too: the next calls are served on new ones,
	// each either right or unavailable, never internal.
	storetest.MustCreateAccount(t, db, storetest.NewAccount("jp", "warm@example.jp", ""))
	terminate()
	ok := false
	for i := 0; i < 3 && !ok; i++ {
		_, err := db.Account(ctx, a.ID)
		switch ninsho.CodeOf(err) {
		case "":
			ok = true
		case ninsho.CodeUnavailable:
		default:
			t.Fatalf("after a restart of the connections: %v", err)
		}
	}
	if !ok {
		t.Fatal("the store did not recover on new connections")
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("ping after recovery: %v", err)
	}
}
