package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestStatementCache runs one cached statement again while its first rows
// are still open, and after it failed: each use sees its own results.
func TestStatementCache(t *testing.T) {
	db, err := openSQLite(filepath.Join(t.TempDir(), "ninsho.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY, v TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	const insert = `INSERT INTO t (id, v) VALUES ($1, $2)`
	for i := range 3 {
		if _, err := db.w.ExecContext(ctx, insert, i, fmt.Sprint("v", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.w.ExecContext(ctx, insert, 0, "dup"); err == nil {
		t.Fatal("insert of a used key: got nil error, want a constraint error")
	}
	if _, err := db.w.ExecContext(ctx, insert, 3, "v3"); err != nil {
		t.Fatalf("insert after a failed use of the statement: %v", err)
	}

	const sel = `SELECT v FROM t WHERE id >= $1 ORDER BY id`
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	outer, err := tx.QueryContext(ctx, sel, 2)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var v string
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		inner, err := tx.QueryContext(ctx, sel, 3) // the same statement, busy
		if err != nil {
			t.Fatal(err)
		}
		for inner.Next() {
			var w string
			if err := inner.Scan(&w); err != nil {
				t.Fatal(err)
			}
			v += "/" + w
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if err := outer.Err(); err != nil {
		t.Fatal(err)
	}
	outer.Close()
	want := []string{"v2/v3", "v3/v3"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("nested uses of one statement: got %v, want %v", got, want)
	}
}

// TestWriteTransactions counts what takes SQLite's writer: a transaction
// with any number of statements is one, a statement outside a transaction
// is one, a rolled-back transaction is one, and reads through the readers
// are none.
func TestWriteTransactions(t *testing.T) {
	db, err := openSQLite(filepath.Join(t.TempDir(), "ninsho.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE t (id INTEGER NOT NULL PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	count := func(what string, want int64, wantErr bool, fn func() error) {
		t.Helper()
		before := db.WriteTransactions()
		if err := fn(); (err != nil) != wantErr {
			t.Fatalf("%s: error %v, want one: %v", what, err, wantErr)
		}
		if got := db.WriteTransactions() - before; got != want {
			t.Errorf("%s: %d write transactions, want %d", what, got, want)
		}
	}
	count("three inserts in one transaction", 1, false, func() error {
		return db.InTx(ctx, func(ctx context.Context) error {
			for i := range 3 {
				if _, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES ($1)`, i); err != nil {
					return err
				}
			}
			var n int
			return db.writer(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n)
		})
	})
	count("one insert on its own", 1, false, func() error {
		_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES (10)`)
		return err
	})
	count("a transaction rolled back", 1, true, func() error {
		return db.InTx(ctx, func(ctx context.Context) error {
			_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO t (id) VALUES (10)`)
			return err // a used key
		})
	})
	count("a read through the readers", 0, false, func() error {
		var n int
		return db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n)
	})
}

type ctxKey struct{}

// TestUnwatched: a SQLite statement gets its request's values but not the
// request's cancellation; a deadline, or a context that has ended already,
// is kept.
func TestUnwatched(t *testing.T) {
	parent := context.WithValue(context.Background(), ctxKey{}, "value")

	req, cancel := context.WithCancel(parent)
	defer cancel()
	got := unwatched(req)
	if got.Done() != nil {
		t.Error("a cancellable context without a deadline is still watched")
	}
	if got.Value(ctxKey{}) != "value" {
		t.Error("the values were lost")
	}

	timed, cancelTimed := context.WithTimeout(parent, time.Hour)
	defer cancelTimed()
	if got := unwatched(timed); got != timed {
		t.Error("a context with a deadline was changed")
	}

	ended, end := context.WithCancel(parent)
	end()
	if got := unwatched(ended); got.Err() == nil {
		t.Error("a context that had ended lost its error")
	}

	if got := unwatched(context.Background()); got != context.Background() {
		t.Error("context.Background was changed")
	}
	if again := unwatched(got); again != got {
		t.Error("a context unwatched already was wrapped again")
	}
}
