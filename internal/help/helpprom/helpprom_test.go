package helpprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/help/helpprom"
	"github.com/ninsho/ninsho/internal/ninsho"
)

type fakeCount struct {
	n     int
	err   error
	reads int
}

func (f *fakeCount) CountOverdueHelpRequests(ctx context.Context, now time.Time) (int, error) {
	f.reads++
	return f.n, f.err
}

// overdue gathers reg and returns the gauge and whether it was there.
func overdue(tb testing.TB, reg *prometheus.Registry) (float64, bool) {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "ninsho_help_requests_overdue" && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

// TestOverdue: the gauge reads the store at most once per MaxAge, and a
// failed read leaves the gauge out.
func TestOverdue(t *testing.T) {
	reg := prometheus.NewRegistry()
	clock := ninsho.NewManualClock(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	store := &fakeCount{n: 2}
	if _, err := helpprom.NewOverdue(reg, store, clock); err != nil {
		t.Fatal(err)
	}
	if v, ok := overdue(t, reg); !ok || v != 2 {
		t.Errorf("first scrape: %v %v, want 2", v, ok)
	}
	store.n = 5
	if v, _ := overdue(t, reg); v != 2 || store.reads != 1 {
		t.Errorf("within MaxAge: %v after %d reads, want 2 after 1", v, store.reads)
	}
	clock.Advance(helpprom.MaxAge)
	if v, _ := overdue(t, reg); v != 5 || store.reads != 2 {
		t.Errorf("after MaxAge: %v after %d reads, want 5 after 2", v, store.reads)
	}
	store.err = errors.New("down")
	clock.Advance(helpprom.MaxAge)
	if _, ok := overdue(t, reg); ok {
		t.Errorf("a failed read still reports the gauge")
	}
}
