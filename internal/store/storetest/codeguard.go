package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
)

// CodeGuard checks code.GuardStore: the zero state of an unknown key, exact
// counting under concurrency, writing and resetting a state, and keys kept
// apart by realm.
func CodeGuard(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("count set reset", func(t *testing.T) {
		s := open(t)
		st, err := s.CodeGuard(ctx, "jp", "account:a")
		mustNil(t, "CodeGuard of an unknown key", err)
		if !reflect.DeepEqual(st, code.GuardState{}) {
			t.Fatalf("CodeGuard of an unknown key: got %+v, want the zero state", st)
		}
		for i := 1; i <= 3; i++ {
			st, err = s.AddCodeFailure(ctx, "jp", "account:a", at(time.Duration(i)*time.Second))
			mustNil(t, "AddCodeFailure", err)
			if st.Failures != i || st.Total != i {
				t.Fatalf("AddCodeFailure #%d: got %+v, want failures and total %d", i, st, i)
			}
		}
		until, lockedAt := at(time.Hour), at(time.Minute)
		want := code.GuardState{Failures: 0, Total: 3, Level: 2, LockedUntil: &until, LockedAt: &lockedAt}
		mustNil(t, "SetCodeGuard", s.SetCodeGuard(ctx, "jp", "account:a", want, at(time.Minute)))
		got, err := s.CodeGuard(ctx, "jp", "account:a")
		mustNil(t, "CodeGuard", err)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("CodeGuard after SetCodeGuard:\ngot  %s\nwant %s", show(got), show(want))
		}
		got, err = s.AddCodeFailure(ctx, "jp", "account:a", at(2*time.Minute))
		mustNil(t, "AddCodeFailure after a pause", err)
		if got.Failures != 1 || got.Total != 4 || got.Level != 2 || got.LockedUntil == nil || !got.LockedUntil.Equal(until) {
			t.Fatalf("AddCodeFailure after a pause: got %s; want failures 1, total 4, the pause kept", show(got))
		}
		if other, _ := s.CodeGuard(ctx, "us", "account:a"); other.Total != 0 {
			t.Errorf("the same key in another realm: got %+v, want the zero state", other)
		}
		mustNil(t, "ResetCodeGuard", s.ResetCodeGuard(ctx, "jp", "account:a"))
		if got, _ := s.CodeGuard(ctx, "jp", "account:a"); !reflect.DeepEqual(got, code.GuardState{}) {
			t.Errorf("CodeGuard after ResetCodeGuard: got %+v, want the zero state", got)
		}
	})

	t.Run("concurrent failures all count", func(t *testing.T) {
		s := open(t)
		const n = 16
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				err := s.InTx(ctx, func(ctx context.Context) error {
					_, err := s.AddCodeFailure(ctx, "jp", "identifier:x@example.jp", Epoch)
					return err
				})
				if err != nil {
					t.Errorf("AddCodeFailure: %v", err)
				}
			}()
		}
		wg.Wait()
		got, err := s.CodeGuard(ctx, "jp", "identifier:x@example.jp")
		mustNil(t, "CodeGuard", err)
		if got.Total != n || got.Failures != n {
			t.Errorf("after %d concurrent failures: got %+v", n, got)
		}
	})
}
