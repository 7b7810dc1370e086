package storetest

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// NewChallenge returns an unsolved CAPTCHA challenge of the flow, created at
// Epoch, valid ten minutes.
func NewChallenge(realm, flowID string) *captcha.Challenge {
	return &captcha.Challenge{
		ID: NewID(), Realm: realm, FlowID: flowID, SealedDigits: NewHash(),
		CreatedAt: Epoch, ExpiresAt: at(10 * time.Minute),
	}
}

// MustCreateChallenge stores c and returns it.
func MustCreateChallenge(tb testing.TB, s captcha.Store, c *captcha.Challenge) *captcha.Challenge {
	tb.Helper()
	if err := s.CreateChallenge(context.Background(), c); err != nil {
		tb.Fatalf("CreateChallenge(%s): %v", c.ID, err)
	}
	return c
}

// Captcha checks captcha.Store: challenges round-trip, and an update is a
// compare-and-set that records one answer at a time and nothing after the
// challenge is solved.
func Captcha(t *testing.T, open func(tb testing.TB) Stores) {
	ctx := context.Background()

	t.Run("create and read", func(t *testing.T) {
		s := open(t)
		c := MustCreateChallenge(t, s, NewChallenge("jp", NewID()))
		got, err := s.Challenge(ctx, c.ID)
		mustNil(t, "Challenge", err)
		if !reflect.DeepEqual(got, c) {
			t.Errorf("Challenge:\ngot  %s\nwant %s", show(got), show(c))
		}
		_, err = s.Challenge(ctx, NewID())
		wantCode(t, "Challenge of an unknown id", err, ninsho.CodeNotFound)
	})

	t.Run("update", func(t *testing.T) {
		s := open(t)
		c := MustCreateChallenge(t, s, NewChallenge("jp", NewID()))
		other := MustCreateChallenge(t, s, NewChallenge("jp", c.FlowID))
		steps := []struct {
			attempts int
			solved   *time.Time
			want     ninsho.Code
		}{
			{1, nil, ""},
			{1, nil, ninsho.CodeConflict}, // another answer recorded attempt 1 first
			{1, ptr(at(time.Minute)), ninsho.CodeConflict},
			{2, ptr(at(time.Minute)), ""},
			{3, nil, ninsho.CodeConflict}, // solved: nothing more is recorded
			{3, ptr(at(2 * time.Minute)), ninsho.CodeConflict},
		}
		for i, st := range steps {
			u := *c
			u.Attempts, u.SolvedAt = st.attempts, st.solved
			err := s.UpdateChallenge(ctx, &u)
			if got := ninsho.CodeOf(err); got != st.want {
				t.Errorf("UpdateChallenge #%d (attempts %d, solved %v): got %v, want code %q", i+1, st.attempts, st.solved, err, st.want)
			}
		}
		got, err := s.Challenge(ctx, c.ID)
		mustNil(t, "Challenge", err)
		want := *c
		want.Attempts, want.SolvedAt = 2, ptr(at(time.Minute))
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("Challenge after updates:\ngot  %s\nwant %s", show(got), show(&want))
		}
		got, err = s.Challenge(ctx, other.ID)
		mustNil(t, "Challenge", err)
		if !reflect.DeepEqual(got, other) {
			t.Errorf("other challenge of the flow changed:\ngot  %s\nwant %s", show(got), show(other))
		}

		unknown := NewChallenge("jp", c.FlowID)
		unknown.Attempts = 1
		wantCode(t, "UpdateChallenge of an unknown id", s.UpdateChallenge(ctx, unknown), ninsho.CodeNotFound)
	})

	t.Run("concurrent answers", func(t *testing.T) {
		s := open(t)
		c := MustCreateChallenge(t, s, NewChallenge("jp", NewID()))
		var (
			wg   sync.WaitGroup
			wins atomic.Int32
		)
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				u := *c
				u.Attempts = 1
				if i%2 == 0 {
					u.SolvedAt = ptr(at(time.Minute))
				}
				err := s.UpdateChallenge(ctx, &u)
				switch ninsho.CodeOf(err) {
				case "":
					wins.Add(1)
				case ninsho.CodeConflict:
				default:
					t.Errorf("UpdateChallenge: %v", err)
				}
			}()
		}
		wg.Wait()
		if got := wins.Load(); got != 1 {
			t.Errorf("concurrent UpdateChallenge: got %d recorded, want 1", got)
		}
		got, err := s.Challenge(ctx, c.ID)
		mustNil(t, "Challenge", err)
		if got.Attempts != 1 {
			t.Errorf("Attempts after concurrent answers: got %d, want 1", got.Attempts)
		}
	})
}
