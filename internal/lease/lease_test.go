package lease_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/lease"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestOneHolderPerPeriod: of instances taking one job's lease at the same
// time, exactly one gets it; it renews it, the others skip until it
// expires or is released, and then exactly one of them takes it over.
func TestOneHolderPerPeriod(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		db := open(t)
		ctx := context.Background()
		clock := ninsho.NewManualClock(storetest.Epoch)
		const period = 10 * time.Minute
		jobs := make([]*lease.Jobs, 8)
		for i := range jobs {
			jobs[i] = &lease.Jobs{Store: db, Clock: clock, Holder: fmt.Sprintf("instance-%d", i)}
		}
		// takeAll takes the lease from every instance at once and returns
		// who got it.
		takeAll := func(name string) []int {
			t.Helper()
			var (
				mu  sync.Mutex
				got []int
				wg  sync.WaitGroup
			)
			for i, j := range jobs {
				wg.Go(func() {
					ok, err := j.Take(ctx, name, period)
					if err != nil {
						t.Errorf("instance %d: %v", i, err)
					}
					if ok {
						mu.Lock()
						got = append(got, i)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			return got
		}
		for round := range 5 { // a name never taken: an INSERT race
			name := fmt.Sprintf("fresh-%d", round)
			if got := takeAll(name); len(got) != 1 {
				t.Fatalf("%s: holders %v, want exactly one", name, got)
			}
		}
		got := takeAll("housekeeping")
		if len(got) != 1 {
			t.Fatalf("holders %v, want exactly one", got)
		}
		holder := got[0]
		other := jobs[(holder+1)%len(jobs)]

		// Within the period only the holder renews.
		clock.Advance(period - time.Second)
		if ok, err := other.Take(ctx, "housekeeping", period); ok || err != nil {
			t.Errorf("another instance took a held lease: %v, %v", ok, err)
		}
		if ok, err := jobs[holder].Take(ctx, "housekeeping", period); !ok || err != nil {
			t.Errorf("the holder could not renew: %v, %v", ok, err)
		}
		clock.Advance(period - time.Second) // still within the renewed lease
		if got := takeAll("housekeeping"); len(got) != 1 || got[0] != holder {
			t.Errorf("within the renewed lease the holders were %v, want only %d", got, holder)
		}

		// The holder stops: at expiry exactly one other takes over.
		clock.Advance(period)
		stopped := jobs[holder].Holder
		jobs = slices.Delete(jobs, holder, holder+1) // never asks again
		got = takeAll("housekeeping")
		if len(got) != 1 || jobs[got[0]].Holder == stopped {
			t.Fatalf("after expiry holders %v, want exactly one other instance", got)
		}
		next := got[0]

		// Released at close: another takes it at once.
		if err := jobs[next].Release(ctx, "housekeeping"); err != nil {
			t.Fatal(err)
		}
		if err := other.Release(ctx, "housekeeping"); err != nil { // not its lease: nothing
			t.Fatal(err)
		}
		closed := jobs[next].Holder
		jobs = slices.Delete(jobs, next, next+1)
		got = takeAll("housekeeping")
		if len(got) != 1 || jobs[got[0]].Holder == closed {
			t.Errorf("after release holders %v, want exactly one other instance", got)
		}
	})
}
