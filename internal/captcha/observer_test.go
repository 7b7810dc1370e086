package captcha_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

type counts struct{ shown, solved map[string]int }

func (c *counts) Shown(realm string)  { c.shown[realm]++ }
func (c *counts) Solved(realm string) { c.solved[realm]++ }

func TestObserverCountsWhatCommitted(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		ctx := context.Background()
		db := open(t)
		s, _ := MustService(t, db)
		obs := &counts{shown: map[string]int{}, solved: map[string]int{}}
		s.Observer = obs

		c, answer := mustNew(t, s) // realm "jp", no transaction
		if err := s.Check(ctx, c.ID, c.FlowID, wrong(answer)); err == nil {
			t.Fatal("a wrong answer was accepted")
		}
		if err := s.Check(ctx, c.ID, c.FlowID, answer); err != nil {
			t.Fatalf("Check: %v", err)
		}
		// Issued and solved in a transaction that rolls back: not counted.
		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context) error {
			c, err := s.New(ctx, "jp", storetest.NewID())
			if err != nil {
				return err
			}
			answer, err := s.Answer(ctx, c.ID)
			if err != nil {
				return err
			}
			if err := s.Check(ctx, c.ID, c.FlowID, answer); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: got %v, want the rollback", err)
		}
		if obs.shown["jp"] != 1 || obs.solved["jp"] != 1 {
			t.Errorf("got shown %v solved %v, want 1 and 1 (a wrong answer and a rolled-back transaction count nothing)", obs.shown, obs.solved)
		}
	})
}
