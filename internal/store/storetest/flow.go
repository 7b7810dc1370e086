package storetest

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Flow checks flow.Store: round trips (return_to included), optimistic
// concurrency on update, and the removal of expired flows.
func Flow(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("round trip", func(t *testing.T) {
		s := open(t)
		fresh := NewFlow("jp")
		fresh.Version = 7 // CreateFlow sets 1 whatever the caller had
		sent := NewFlow("us")
		sent.Kind, sent.Status, sent.Step = flow.KindSignup, flow.StatusChallenge, flow.StepVerificationCode
		sent.AccountID, sent.DeviceID = NewID(), NewID()
		sent.Channel, sent.Destination = "sms", "+819012345678"
		sent.Attempts, sent.Sends, sent.LastSentAt = 2, 3, at(time.Minute)
		sent.Locale, sent.UpdatedAt = "en", at(time.Minute)
		// The binding: the client kind, a page flow's secret hash and the
		// bound device's token hash survive the round trip.
		fresh.Client = ninsho.ClientAPI
		sent.Client, sent.BindingHash, sent.DeviceHash = ninsho.ClientPage, NewHash(), NewHash()
		// Where the page flow returns: kept as given (fresh has none:
		// NULL reads back as "").
		sent.ReturnTo = "https://shop.example.jp/mypage/orders?id=7&q=%E3%81%82#top"
		for _, f := range []*flow.Flow{fresh, sent} {
			MustCreateFlow(t, s, f)
			if f.Version != 1 {
				t.Errorf("CreateFlow: got Version %d, want 1", f.Version)
			}
			got, err := s.Flow(ctx, f.ID)
			mustNil(t, "Flow", err)
			if !reflect.DeepEqual(got, f) {
				t.Errorf("Flow:\ngot  %s\nwant %s", show(got), show(f))
			}
		}
		_, err := s.Flow(ctx, NewID())
		wantCode(t, "Flow of an unknown id", err, ninsho.CodeFlowNotFound)
	})

	t.Run("optimistic update", func(t *testing.T) {
		s := open(t)
		f := NewFlow("jp")
		f.ReturnTo = "https://shop.example.jp/"
		MustCreateFlow(t, s, f)
		stale := *f

		f.Status, f.Step, f.AccountID, f.Attempts = flow.StatusChallenge, flow.StepVerificationCode, NewID(), 1
		f.Channel, f.Destination, f.Sends, f.LastSentAt = "email", "hanako@example.jp", 1, at(time.Minute)
		f.UpdatedAt, f.ExpiresAt = at(time.Minute), at(2*time.Hour)
		f.DeviceHash = NewHash()
		mustNil(t, "UpdateFlow", s.UpdateFlow(ctx, f))
		// return_to is fixed when the flow is made: an update keeps it
		// (checked by the comparison below).
		if f.Version != 2 {
			t.Errorf("UpdateFlow: got Version %d, want 2", f.Version)
		}
		got, err := s.Flow(ctx, f.ID)
		mustNil(t, "Flow", err)
		if !reflect.DeepEqual(got, f) {
			t.Errorf("Flow after update:\ngot  %s\nwant %s", show(got), show(f))
		}

		stale.Attempts = 5
		err = s.UpdateFlow(ctx, &stale)
		wantCode(t, "UpdateFlow with a stale version", err, ninsho.CodeConflict)
		if stale.Version != 1 {
			t.Errorf("UpdateFlow with a stale version: got Version %d, want it left at 1", stale.Version)
		}
		got, err = s.Flow(ctx, f.ID)
		mustNil(t, "Flow", err)
		if got.Attempts != 1 || got.Version != 2 {
			t.Errorf("Flow after a stale update: got attempts %d version %d, want 1 and 2", got.Attempts, got.Version)
		}

		ghost := NewFlow("jp")
		ghost.Version = 1
		if err := s.UpdateFlow(ctx, ghost); err == nil {
			t.Errorf("UpdateFlow of an unknown flow: got nil, want an error")
		}
	})

	t.Run("concurrent updates", func(t *testing.T) {
		s := open(t)
		f := MustCreateFlow(t, s, NewFlow("jp"))
		const n = 16
		var (
			wg        sync.WaitGroup
			mu        sync.Mutex
			ok, stale int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := *f
				c.Attempts = i + 1
				err := s.UpdateFlow(ctx, &c)
				mu.Lock()
				defer mu.Unlock()
				switch ninsho.CodeOf(err) {
				case "":
					ok++
				case ninsho.CodeConflict:
					stale++
				default:
					t.Errorf("UpdateFlow: got error %v, want nil or %q", err, ninsho.CodeConflict)
				}
			}()
		}
		wg.Wait()
		if ok != 1 || stale != n-1 {
			t.Errorf("concurrent UpdateFlow of one version: got %d successes and %d conflicts, want 1 and %d", ok, stale, n-1)
		}
	})

	t.Run("delete expired", func(t *testing.T) {
		s := open(t)
		now := at(time.Hour)
		expiry := []time.Duration{-time.Hour, -time.Microsecond, 0, time.Minute}
		ids := make([]string, len(expiry))
		for i, d := range expiry {
			f := NewFlow("jp")
			f.ExpiresAt = now.Add(d)
			ids[i] = MustCreateFlow(t, s, f).ID
		}
		n, err := s.DeleteExpiredFlows(ctx, now)
		mustNil(t, "DeleteExpiredFlows", err)
		if n != 2 {
			t.Errorf("DeleteExpiredFlows: got %d, want 2", n)
		}
		for i, id := range ids {
			_, err := s.Flow(ctx, id)
			want := ninsho.Code("")
			if expiry[i] < 0 {
				want = ninsho.CodeFlowNotFound
			}
			if got := ninsho.CodeOf(err); got != want {
				t.Errorf("Flow expiring at now%+v: got error %v, want code %q", expiry[i], err, want)
			}
		}
	})
}
