package store

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// openTxTestDB opens a SQLite database with a table t and a table child
// whose foreign key to t is checked only at COMMIT.
func openTxTestDB(t *testing.T) *DB {
	t.Helper()
	db, err := openSQLite(filepath.Join(t.TempDir(), "ninsho.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER NOT NULL PRIMARY KEY,
			parent INTEGER NOT NULL REFERENCES t (id) DEFERRABLE INITIALLY DEFERRED)`,
	} {
		if _, err := db.w.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

func countRows(t *testing.T, db *DB, table string) int {
	t.Helper()
	var n int
	if err := db.read.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// watchers counts the goroutines database/sql runs to watch a transaction
// or the rows of a query for the end of their context.
func watchers() int {
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "database/sql.(*Tx).awaitDone") + strings.Count(stacks, "database/sql.(*Rows).awaitDone")
}

// TestSQLiteTransactionStartsNoWatchers: a write transaction on SQLite,
// with a request's context (one that can be cancelled), starts no
// goroutine for itself nor for the rows of a query in it.
func TestSQLiteTransactionStartsNoWatchers(t *testing.T) {
	db := openTxTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	before := watchers()
	err := db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES (1)`); err != nil {
			return err
		}
		rows, err := db.writer(ctx).QueryContext(ctx, `SELECT id FROM t`)
		if err != nil {
			return err
		}
		defer rows.Close()
		if got := watchers() - before; got != 0 {
			t.Errorf("%d goroutines watch the transaction and its rows, want 0", got)
		}
		for rows.Next() {
		}
		return rows.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countRows(t, db, "t"); n != 1 {
		t.Errorf("%d rows after the commit, want 1", n)
	}
}

// TestSQLiteTransactionEndsWithItsRequest: a transaction whose context is
// cancelled after it began (the client went away) fails at its next
// statement and commits nothing, and a transaction still waiting for the
// writer gives up with its context.
func TestSQLiteTransactionEndsWithItsRequest(t *testing.T) {
	db := openTxTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	err := db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES (1)`); err != nil {
			return err
		}
		cancel()
		_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES (2)`)
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("transaction whose context ended after it began: %v, want context.Canceled", err)
	}
	if n := countRows(t, db, "t"); n != 0 {
		t.Errorf("%d rows after the transaction failed, want 0", n)
	}

	// The writer is held; a second transaction waits for it until its
	// context ends.
	held := make(chan struct{})
	release := make(chan struct{})
	done := make(chan error)
	go func() {
		done <- db.InTx(context.Background(), func(context.Context) error {
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	waiting, stop := context.WithCancel(context.Background())
	ran := false
	waited := make(chan error)
	go func() {
		waited <- db.InTx(waiting, func(context.Context) error { ran = true; return nil })
	}()
	stop()
	select {
	case err := <-waited:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("waiting for the writer after the context ended: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a transaction waiting for the writer did not give up when its context ended")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("the transaction whose context ended while it waited ran")
	}
}

// TestSQLiteTransactionEnds: after a failed COMMIT, a failed ROLLBACK and a
// panic, the transaction's writes are gone and the writer serves the next
// transaction, which counts as one.
func TestSQLiteTransactionEnds(t *testing.T) {
	db := openTxTestDB(t)
	ctx := context.Background()
	insert := func(ctx context.Context, q string) error {
		_, err := db.writer(ctx).ExecContext(ctx, q)
		return err
	}
	next := func(what string, id int) {
		t.Helper()
		before := db.WriteTransactions()
		if err := db.InTx(ctx, func(ctx context.Context) error {
			_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES ($1)`, id)
			return err
		}); err != nil {
			t.Fatalf("after %s, the next transaction: %v", what, err)
		}
		if got := db.WriteTransactions() - before; got != 1 {
			t.Errorf("after %s, the next transaction counted %d write transactions, want 1", what, got)
		}
	}

	// COMMIT fails on the deferred foreign key and leaves the transaction
	// open; it is rolled back.
	err := db.InTx(ctx, func(ctx context.Context) error {
		if err := insert(ctx, `INSERT INTO t (id) VALUES (100)`); err != nil {
			return err
		}
		return insert(ctx, `INSERT INTO child (id, parent) VALUES (1, 999)`)
	})
	if err == nil || !strings.Contains(err.Error(), "FOREIGN KEY") {
		t.Fatalf("commit with a dangling foreign key: %v, want its failure", err)
	}
	if n := countRows(t, db, "t") + countRows(t, db, "child"); n != 0 {
		t.Errorf("%d rows after a failed commit, want 0", n)
	}
	next("a failed commit", 1)

	// fn ends SQLite's transaction itself, so the ROLLBACK after its error
	// fails: the connection is replaced.
	errFn := errors.New("fn failed")
	err = db.InTx(ctx, func(ctx context.Context) error {
		if err := insert(ctx, `ROLLBACK`); err != nil {
			return err
		}
		return errFn
	})
	if !errors.Is(err, errFn) || !strings.Contains(err.Error(), "rollback") {
		t.Fatalf("a failed rollback: %v, want fn's error and the rollback's", err)
	}
	next("a failed rollback", 2)

	// A panic rolls back and goes on.
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on")
			}
		}()
		_ = db.InTx(ctx, func(ctx context.Context) error {
			if err := insert(ctx, `INSERT INTO t (id) VALUES (200)`); err != nil {
				return err
			}
			panic("fn panicked")
		})
	}()
	next("a panic", 3)
	if n := countRows(t, db, "t"); n != 3 {
		t.Errorf("%d rows in t, want the 3 of the transactions that committed", n)
	}
}
