package store_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// heard records what a Hub delivers.
type heard struct {
	mu   sync.Mutex
	keys []string
}

func (h *heard) add(key string) {
	h.mu.Lock()
	h.keys = append(h.keys, key)
	h.mu.Unlock()
}

func (h *heard) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.keys)
}

// waitFor polls until cond holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startListener opens a second DB on url (another instance) and runs its
// listener into a Hub whose Sessions notices go to the returned record.
func startListener(t *testing.T, url string) (*store.Listener, *heard) {
	t.Helper()
	db, err := store.Open(context.Background(), store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	var hub invalidate.Hub
	h := &heard{}
	hub.Subscribe(invalidate.Sessions, h.add)
	l := db.Listener(&hub, nil)
	if l == nil {
		t.Fatal("no listener on PostgreSQL")
	}
	l.MinBackoff = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); l.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "the listener to LISTEN", func() bool { return l.PID() != 0 })
	return l, h
}

// TestPublishLeavesAtCommit: another instance hears a notice published in
// a transaction only once it commits, never after a rollback, and one
// published outside a transaction at once.
func TestPublishLeavesAtCommit(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if !db.Notifies() {
		t.Fatal("PostgreSQL has pg_notify, but the store found none")
	}
	_, h := startListener(t, url)

	// Rolled back: never sent. A later notice arrives; the earlier one,
	// had it been sent, would have arrived first.
	rollback := errors.New("roll back")
	if err := db.InTx(ctx, func(ctx context.Context) error {
		if err := db.Publish(ctx, invalidate.Sessions, "rolled-back"); err != nil {
			return err
		}
		return rollback
	}); !errors.Is(err, rollback) {
		t.Fatalf("InTx = %v", err)
	}
	if err := db.Publish(ctx, invalidate.Sessions, "after-rollback"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "after-rollback", func() bool { return slices.Contains(h.all(), "after-rollback") })
	if slices.Contains(h.all(), "rolled-back") {
		t.Errorf("a notice of a rolled-back transaction was heard: %v", h.all())
	}

	// Committed: heard after the commit, not while the transaction is open
	// (a notice sent outside it meanwhile arrives first).
	if err := db.InTx(ctx, func(txCtx context.Context) error {
		if err := db.Publish(txCtx, invalidate.Sessions, "in-tx"); err != nil {
			return err
		}
		if err := db.Publish(ctx, invalidate.Sessions, "meanwhile"); err != nil {
			return err
		}
		waitFor(t, "meanwhile", func() bool { return slices.Contains(h.all(), "meanwhile") })
		if slices.Contains(h.all(), "in-tx") {
			t.Errorf("a notice was heard before its transaction committed: %v", h.all())
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "in-tx after commit", func() bool { return slices.Contains(h.all(), "in-tx") })
	got := h.all()
	if i, j := slices.Index(got, "meanwhile"), slices.Index(got, "in-tx"); i > j {
		t.Errorf("heard %v: the committed notice before the one sent meanwhile", got)
	}
}

// TestListenerReconnects: when its connection is killed the listener
// connects again, tells its subscribers that notices may have been lost
// (key ""), and hears the next notices.
func TestListenerReconnects(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	l, h := startListener(t, url)
	if got := h.all(); !slices.Equal(got, []string{""}) {
		t.Fatalf("after the first LISTEN the subscriber heard %q, want one loss notice \"\"", got)
	}
	pid := l.PID()
	if err := db.ExecForTest(ctx, `SELECT pg_terminate_backend($1)`, int(pid)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a second connection", func() bool { return l.Connections() == 2 && l.PID() != 0 })
	if l.PID() == pid {
		t.Errorf("listening on the killed backend %d still", pid)
	}
	if got := h.all(); !slices.Equal(got, []string{"", ""}) {
		t.Errorf("after reconnecting the subscriber heard %q, want a second loss notice", got)
	}
	if err := db.Publish(ctx, invalidate.Sessions, "after-reconnect"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "after-reconnect", func() bool { return slices.Contains(h.all(), "after-reconnect") })
}

// TestSQLitePublishesNothing: one process needs no notices; Publish is a
// no-op and there is no listener.
func TestSQLitePublishesNothing(t *testing.T) {
	db := storetest.MustOpenSQLite(t)
	ctx := context.Background()
	if err := db.InTx(ctx, func(ctx context.Context) error {
		return db.Publish(ctx, invalidate.Sessions, "a")
	}); err != nil {
		t.Errorf("Publish on SQLite: %v", err)
	}
	if db.Notifies() {
		t.Error("SQLite notifies")
	}
	if l := db.Listener(&invalidate.Hub{}, nil); l != nil {
		t.Errorf("SQLite has a listener: %+v", l)
	}
}
