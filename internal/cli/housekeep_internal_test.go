package cli

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/lease"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestHousekeepingOncePerPeriod: housekeeping runs on the instance that
// holds the period's lease; while another instance holds it, this one
// skips the pass; when the other stops renewing, this one takes the job
// over after the lease expires; closing releases the lease at once.
func TestHousekeepingOncePerPeriod(t *testing.T) {
	for _, db := range storetest.Databases() {
		t.Run(db.Name, func(t *testing.T) {
			url := ""
			if db.Name == "postgres" {
				url = storetest.PostgresURL(t)
			}
			clock := ninsho.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
			cfg := config.Default()
			cfg.DataDir, cfg.DatabaseURL = t.TempDir(), config.Secret(url)
			a, err := NewApp(context.Background(), cfg, Options{LogOutput: io.Discard, Clock: clock})
			if err != nil {
				t.Fatalf("NewApp: %v", err)
			}
			t.Cleanup(func() { a.Close() })
			ctx := context.Background()
			other := &lease.Jobs{Store: a.DB, Clock: clock, Holder: "other-instance"}

			if ok, err := other.Take(ctx, housekeepingLease, HousekeepingEvery); !ok || err != nil {
				t.Fatalf("the other instance took the lease: %v, %v", ok, err)
			}
			if a.housekeep(ctx) {
				t.Error("housekeeping ran while another instance held the period's lease")
			}
			clock.Advance(HousekeepingEvery - time.Second)
			if ok, _ := other.Take(ctx, housekeepingLease, HousekeepingEvery); !ok {
				t.Fatal("the holder could not renew")
			}
			clock.Advance(HousekeepingEvery - time.Second)
			if a.housekeep(ctx) {
				t.Error("housekeeping ran within the holder's renewed lease")
			}
			// The other instance stops: once its lease expires this one
			// does the pass, and keeps the job at every later tick.
			clock.Advance(2 * time.Second)
			for tick := range 3 {
				if !a.housekeep(ctx) {
					t.Fatalf("tick %d after the lease expired: housekeeping did not run", tick)
				}
				if ok, _ := other.Take(ctx, housekeepingLease, HousekeepingEvery); ok {
					t.Fatalf("tick %d: the other instance took the lease this one holds", tick)
				}
				clock.Advance(HousekeepingEvery)
			}
		})
	}
}

// TestCloseReleasesHousekeeping: an instance that closes gives the lease
// up, so another takes housekeeping over at its next tick rather than
// after the lease expires.
func TestCloseReleasesHousekeeping(t *testing.T) {
	clock := ninsho.NewManualClock(time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	ctx := context.Background()
	a, err := NewApp(ctx, cfg, Options{LogOutput: io.Discard, Clock: clock})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	if !a.housekeep(ctx) {
		t.Fatal("the only instance did not run housekeeping")
	}
	a.Close()
	b, err := NewApp(ctx, cfg, Options{LogOutput: io.Discard, Clock: clock})
	if err != nil {
		t.Fatalf("NewApp: %v", err)
	}
	defer b.Close()
	other := &lease.Jobs{Store: b.DB, Clock: clock, Holder: "other-instance"}
	if ok, err := other.Take(ctx, housekeepingLease, HousekeepingEvery); !ok || err != nil {
		t.Errorf("after Close another instance could not take the lease at once: %v, %v", ok, err)
	}
}
