package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Lockout checks the lock state of accounts, network familiarity, link
// lookups by hash and per-kind flow state.
func Lockout(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("failures count exactly under concurrency and a lock resets them", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "lock@example.jp", ""))
		done := make(chan int, 20)
		for i := 0; i < 20; i++ {
			go func() {
				n, err := s.AddUnfamiliarFailure(ctx, a.ID)
				if err != nil {
					t.Errorf("AddUnfamiliarFailure: %v", err)
				}
				done <- n
			}()
		}
		seen := map[int]bool{}
		for i := 0; i < 20; i++ {
			seen[<-done] = true
		}
		if len(seen) != 20 || !seen[20] {
			t.Errorf("concurrent failures returned %d distinct counts, want 1..20", len(seen))
		}
		until := at(5 * time.Minute)
		lockedAt := at(0)
		mustNil(t, "SetLock", s.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 2, LockedAt: &lockedAt}))
		got, err := s.Account(ctx, a.ID)
		mustNil(t, "Account", err)
		if got.Lock.Kind != account.LockUnfamiliar || got.Lock.Level != 2 || !got.Lock.Until.Equal(until) || !got.Lock.LockedAt.Equal(lockedAt) || got.FailedUnfamiliar != 0 {
			t.Errorf("after SetLock: lock %+v failures %d", got.Lock, got.FailedUnfamiliar)
		}
		// UpdateAccount leaves the lock alone.
		got.Name = "renamed"
		got.Lock = account.Lock{}
		mustNil(t, "UpdateAccount", s.UpdateAccount(ctx, got))
		again, _ := s.Account(ctx, a.ID)
		if again.Lock.Kind != account.LockUnfamiliar {
			t.Errorf("UpdateAccount changed the lock: %+v", again.Lock)
		}
		_, err = s.AddUnfamiliarFailure(ctx, NewID())
		wantCode(t, "AddUnfamiliarFailure(unknown)", err, ninsho.CodeAccountNotFound)
		wantCode(t, "SetLock(unknown)", s.SetLock(ctx, NewID(), account.Lock{}), ninsho.CodeAccountNotFound)
	})

	t.Run("networks are remembered with their last time", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "net@example.jp", ""))
		mustNil(t, "MarkNetwork", s.MarkNetwork(ctx, "jp", a.ID, "192.0.2.0/24", at(0)))
		mustNil(t, "MarkNetwork again", s.MarkNetwork(ctx, "jp", a.ID, "192.0.2.0/24", at(time.Hour)))
		tests := []struct {
			prefix string
			since  time.Time
			want   bool
		}{
			{"192.0.2.0/24", at(30 * time.Minute), true},
			{"192.0.2.0/24", at(2 * time.Hour), false},
			{"198.51.100.0/24", at(0), false},
		}
		for _, tt := range tests {
			got, err := s.NetworkSeenSince(ctx, a.ID, tt.prefix, tt.since)
			mustNil(t, "NetworkSeenSince", err)
			if got != tt.want {
				t.Errorf("NetworkSeenSince(%s, %v) = %v, want %v", tt.prefix, tt.since, got, tt.want)
			}
		}
	})

	t.Run("codes are found by hash", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "hash@example.jp", ""))
		c := MustInsertCode(t, s, NewCode("jp", NewID(), a.ID, "hash@example.jp"))
		got, err := s.CodeByHash(ctx, c.Hash)
		mustNil(t, "CodeByHash", err)
		if got.ID != c.ID {
			t.Errorf("CodeByHash = %s, want %s", got.ID, c.ID)
		}
		_, err = s.CodeByHash(ctx, NewHash())
		wantCode(t, "CodeByHash(unknown)", err, ninsho.CodeNotFound)
	})

	t.Run("flow state round-trips", func(t *testing.T) {
		s := open(t)
		f := NewFlow("jp")
		f.Set("captcha", "passed")
		MustCreateFlow(t, s, f)
		got, err := s.Flow(ctx, f.ID)
		mustNil(t, "Flow", err)
		if got.Get("captcha") != "passed" {
			t.Errorf("state = %v", got.State)
		}
		got.Set("captcha", "")
		got.Set("purpose", "unlock")
		mustNil(t, "UpdateFlow", s.UpdateFlow(ctx, got))
		again, _ := s.Flow(ctx, f.ID)
		if again.Get("captcha") != "" || again.Get("purpose") != "unlock" {
			t.Errorf("state after update = %v", again.State)
		}
	})
}
