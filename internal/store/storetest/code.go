package storetest

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// Code checks code.Store: the latest code of a flow, single consumption even
// under concurrent replays, and counting per destination.
func Code(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("latest", func(t *testing.T) {
		s := open(t)
		f := MustCreateFlow(t, s, NewFlow("jp"))
		_, err := s.LatestCode(ctx, f.ID)
		wantCode(t, "LatestCode before any", err, ninsho.CodeNoCodeRequested)

		first := NewCode("jp", f.ID, "", "hanako@example.jp")
		second := NewCode("jp", f.ID, NewID(), "+819012345678")
		second.Purpose, second.Channel = code.PurposeSignin, code.ChannelSMS
		second.CreatedAt, second.ExpiresAt = at(time.Minute), at(11*time.Minute)
		MustInsertCode(t, s, second) // inserted first, created later
		MustInsertCode(t, s, first)
		MustInsertCode(t, s, NewCode("jp", NewID(), "", "hanako@example.jp")) // another flow
		got, err := s.LatestCode(ctx, f.ID)
		mustNil(t, "LatestCode", err)
		if !reflect.DeepEqual(got, second) {
			t.Errorf("LatestCode:\ngot  %s\nwant %s", show(got), show(second))
		}
	})

	t.Run("consume links to an address", func(t *testing.T) {
		s := open(t)
		const acct, other = "acct-links", "acct-other"
		link := func(account, dest string, p code.Purpose) *code.Code {
			c := NewCode("jp", NewID(), account, dest)
			c.Purpose = p
			return MustInsertCode(t, s, c)
		}
		hit1 := link(acct, "thief@example.net", code.PurposeNotMe)
		hit2 := link(acct, "thief@example.net", code.PurposeContactUndo)
		used := link(acct, "thief@example.net", code.PurposeNotMe)
		if ok, err := s.ConsumeCode(ctx, used.ID, at(time.Second)); err != nil || !ok {
			t.Fatalf("ConsumeCode: %v, %v", ok, err)
		}
		keep := []*code.Code{
			link(acct, "thief@example.net", code.PurposeSignin), // another purpose
			link(acct, "owner@example.jp", code.PurposeNotMe),   // another address
			link(other, "thief@example.net", code.PurposeNotMe), // another account
		}
		n, err := s.ConsumeLinksTo(ctx, "jp", acct, "thief@example.net", []code.Purpose{code.PurposeNotMe, code.PurposeContactUndo}, at(time.Minute))
		mustNil(t, "ConsumeLinksTo", err)
		if n != 2 {
			t.Errorf("ConsumeLinksTo: %d, want 2 (the used one stays as it was)", n)
		}
		for _, c := range []*code.Code{hit1, hit2} {
			if got, _ := s.LatestCode(ctx, c.FlowID); got.ConsumedAt == nil || !got.ConsumedAt.Equal(at(time.Minute)) {
				t.Errorf("%s link not used up: %v", c.Purpose, got.ConsumedAt)
			}
		}
		if got, _ := s.LatestCode(ctx, used.FlowID); !got.ConsumedAt.Equal(at(time.Second)) {
			t.Errorf("an already used link moved: %v", got.ConsumedAt)
		}
		for _, c := range keep {
			if got, _ := s.LatestCode(ctx, c.FlowID); got.ConsumedAt != nil {
				t.Errorf("%s to %s of %s used up, want untouched", c.Purpose, c.Destination, c.AccountID)
			}
		}
	})

	t.Run("consume once", func(t *testing.T) {
		s := open(t)
		c := MustInsertCode(t, s, NewCode("jp", NewID(), "", "hanako@example.jp"))
		steps := []struct {
			at   time.Time
			want bool
		}{
			{at(time.Minute), true},
			{at(2 * time.Minute), false},
			{at(time.Minute), false},
		}
		for i, st := range steps {
			got, err := s.ConsumeCode(ctx, c.ID, st.at)
			mustNil(t, "ConsumeCode", err)
			if got != st.want {
				t.Errorf("ConsumeCode #%d: got %v, want %v", i+1, got, st.want)
			}
		}
		got, err := s.LatestCode(ctx, c.FlowID)
		mustNil(t, "LatestCode", err)
		if got.ConsumedAt == nil || !got.ConsumedAt.Equal(at(time.Minute)) {
			t.Errorf("ConsumedAt: got %v, want %v (the first consumption)", got.ConsumedAt, at(time.Minute))
		}
	})

	t.Run("concurrent replays", func(t *testing.T) {
		s := open(t)
		c := MustInsertCode(t, s, NewCode("jp", NewID(), "", "hanako@example.jp"))
		var (
			wg   sync.WaitGroup
			wins atomic.Int32
		)
		for range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.ConsumeCode(ctx, c.ID, at(time.Minute))
				if err != nil {
					t.Errorf("ConsumeCode: %v", err)
				}
				if ok {
					wins.Add(1)
				}
			}()
		}
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Errorf("concurrent ConsumeCode: got %d successes, want 1", got)
		}
	})

	t.Run("count since", func(t *testing.T) {
		s := open(t)
		dest := "+819012345678"
		for _, c := range []*code.Code{
			NewCode("jp", NewID(), "", dest),
			NewCode("jp", NewID(), "", dest),
			NewCode("jp", NewID(), "", "other@example.jp"),
			NewCode("us", NewID(), "", dest),
		} {
			MustInsertCode(t, s, c)
		}
		old := NewCode("jp", NewID(), "", dest)
		old.CreatedAt = at(-2 * time.Hour)
		MustInsertCode(t, s, old)
		stranger := NewCode("jp", NewID(), "", dest)
		stranger.Lane = code.LaneStranger
		MustInsertCode(t, s, stranger)
		link := NewCode("jp", NewID(), "", dest)
		link.Lane = code.LaneLink
		MustInsertCode(t, s, link) // in no budget: counted by neither lane

		cases := []struct {
			realm, dest string
			lane        code.Lane
			since       time.Time
			want        int
		}{
			{"jp", dest, code.LaneOwner, at(-time.Hour), 2},
			{"jp", dest, code.LaneOwner, Epoch, 2},
			{"jp", dest, code.LaneOwner, at(time.Microsecond), 0},
			{"jp", dest, code.LaneOwner, at(-3 * time.Hour), 3},
			{"us", dest, code.LaneOwner, at(-time.Hour), 1},
			{"jp", "nobody@example.jp", code.LaneOwner, at(-time.Hour), 0},
			{"jp", dest, code.LaneStranger, at(-time.Hour), 1},
			{"us", dest, code.LaneStranger, at(-time.Hour), 0},
		}
		for _, tc := range cases {
			got, err := s.CountCodesSince(ctx, tc.realm, tc.dest, tc.lane, tc.since)
			mustNil(t, "CountCodesSince", err)
			if got != tc.want {
				t.Errorf("CountCodesSince(%s, %s, %s, %v): got %d, want %d", tc.realm, tc.dest, tc.lane, tc.since, got, tc.want)
			}
		}
	})
}
