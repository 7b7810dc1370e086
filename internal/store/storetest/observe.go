package storetest

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// CommitHooks checks ninsho.AfterCommit under the Stores' transactions: the
// hooks run after the outermost commit, in order, and never after a
// rollback; outside a transaction they run at once.
func CommitHooks(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	errBoom := errors.New("boom")
	tests := []struct {
		name string
		fn   func(s Stores, log *[]string) error
		want []string
	}{
		{"no transaction: at once", func(s Stores, log *[]string) error {
			ninsho.AfterCommit(ctx, func() { *log = append(*log, "a") })
			*log = append(*log, "after")
			return nil
		}, []string{"a", "after"}},
		{"commit: after it, in order", func(s Stores, log *[]string) error {
			err := s.InTx(ctx, func(ctx context.Context) error {
				ninsho.AfterCommit(ctx, func() { *log = append(*log, "a") })
				if err := s.InTx(ctx, func(ctx context.Context) error {
					ninsho.AfterCommit(ctx, func() { *log = append(*log, "b") })
					return nil
				}); err != nil {
					return err
				}
				*log = append(*log, "before commit")
				return s.CreateAccount(ctx, NewAccount("jp", "hooks@example.jp", ""))
			})
			*log = append(*log, "returned")
			return err
		}, []string{"before commit", "a", "b", "returned"}},
		{"rollback: never", func(s Stores, log *[]string) error {
			err := s.InTx(ctx, func(ctx context.Context) error {
				ninsho.AfterCommit(ctx, func() { *log = append(*log, "a") })
				return errBoom
			})
			if !errors.Is(err, errBoom) {
				return err
			}
			return nil
		}, nil},
		{"failed statement rolls back: never", func(s Stores, log *[]string) error {
			a := NewAccount("jp", "dup@example.jp", "")
			MustCreateAccount(t, s, a)
			err := s.InTx(ctx, func(ctx context.Context) error {
				ninsho.AfterCommit(ctx, func() { *log = append(*log, "a") })
				return s.CreateAccount(ctx, a) // the same id again
			})
			if err == nil {
				return errors.New("creating an account twice succeeded")
			}
			return nil
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			var log []string
			if err := tt.fn(s, &log); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(log, tt.want) {
				t.Errorf("got %q, want %q", log, tt.want)
			}
		})
	}
}

// Backlog checks message.BacklogStore: only pending messages count, and the
// oldest is the earliest enqueued, whatever its next attempt.
func Backlog(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()
	s := open(t)
	b, err := s.OutboxBacklog(ctx)
	mustNil(t, "OutboxBacklog", err)
	if b.Pending != 0 || !b.Oldest.IsZero() {
		t.Errorf("empty outbox: got %+v, want no backlog", b)
	}
	enqueue := func(created time.Duration, st message.Status) *message.Message {
		m := NewMessage("jp", "hanako@example.jp")
		m.CreatedAt, m.NextAttemptAt, m.Status = at(created), at(created+time.Hour), st
		return MustEnqueue(t, s, m)
	}
	sent := enqueue(-3*time.Hour, message.StatusPending)
	markSent(t, s, sent.ID, at(-2*time.Hour))
	enqueue(-4*time.Hour, message.StatusSuppressed)
	oldest := enqueue(-2*time.Hour, message.StatusPending)
	enqueue(-time.Minute, message.StatusPending)
	b, err = s.OutboxBacklog(ctx)
	mustNil(t, "OutboxBacklog", err)
	if b.Pending != 2 || !b.Oldest.Equal(oldest.CreatedAt) {
		t.Errorf("got %+v, want 2 pending, the oldest enqueued at %v", b, oldest.CreatedAt)
	}
}
