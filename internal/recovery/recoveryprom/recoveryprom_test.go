package recoveryprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/recovery/recoveryprom"
)

// TestOverdue: the gauge shows the count, read at most once per MaxAge,
// and is left out while the store does not answer.
func TestOverdue(t *testing.T) {
	clock := ninsho.NewManualClock(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	n, reads, fail := 3, 0, false
	reg := prometheus.NewRegistry()
	_, err := recoveryprom.New(reg, func(context.Context, time.Time) (int, error) {
		reads++
		if fail {
			return 0, errors.New("down")
		}
		return n, nil
	}, clock)
	if err != nil {
		t.Fatal(err)
	}
	gauge := func() []float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var out []float64
		for _, mf := range mfs {
			if mf.GetName() == "ninsho_recovery_cases_overdue" {
				for _, m := range mf.GetMetric() {
					out = append(out, m.GetGauge().GetValue())
				}
			}
		}
		return out
	}
	want := func(v float64) {
		t.Helper()
		if got := gauge(); len(got) != 1 || got[0] != v {
			t.Errorf("ninsho_recovery_cases_overdue = %v, want [%v]", got, v)
		}
	}
	want(3)
	n = 5
	want(3) // within MaxAge: no second read
	if reads != 1 {
		t.Fatalf("%d reads, want 1", reads)
	}
	clock.Advance(recoveryprom.MaxAge)
	want(5)
	clock.Advance(recoveryprom.MaxAge)
	fail = true
	if got := gauge(); len(got) != 0 {
		t.Fatalf("while down: %v; want no series", got)
	}
}
