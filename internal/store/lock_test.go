package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/store"
)

// TestSQLiteExclusive: a SQLite file opened Exclusive (serve) refuses a
// second Exclusive opening with a message naming the file, the holder's
// process and the way out, while a plain opening (the short-lived
// commands) still works next to it; closing releases it.
func TestSQLiteExclusive(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first, err := store.Open(ctx, store.Options{DataDir: dir, Exclusive: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = store.Open(ctx, store.Options{DataDir: dir, Exclusive: true})
	if err == nil {
		t.Fatal("a second server on the same SQLite file was let in")
	}
	for _, want := range []string{filepath.Join(dir, "ninsho.db"), "in use by another Ninsho server", "process " + strconv.Itoa(os.Getpid()), "PostgreSQL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	cmd, err := store.Open(ctx, store.Options{DataDir: dir})
	if err != nil {
		t.Fatalf("a command next to the server: %v", err)
	}
	cmd.Close()
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	again, err := store.Open(ctx, store.Options{DataDir: dir, Exclusive: true})
	if err != nil {
		t.Fatalf("after the first closed: %v", err)
	}
	again.Close()
}
