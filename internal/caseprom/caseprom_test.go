package caseprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/caseprom"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// TestOverdue: each gauge shows its own count, read at most once per
// MaxAge, and is left out while the store does not answer.
func TestOverdue(t *testing.T) {
	clock := ninsho.NewManualClock(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
	reg := prometheus.NewRegistry()
	type source struct {
		n, reads int
		err      error
	}
	help, rec := &source{n: 2}, &source{n: 7}
	counter := func(s *source) caseprom.Counter {
		return func(context.Context, time.Time) (int, error) { s.reads++; return s.n, s.err }
	}
	if _, err := caseprom.New(reg, caseprom.HelpRequests, counter(help), clock); err != nil {
		t.Fatal(err)
	}
	if _, err := caseprom.New(reg, caseprom.RecoveryCases, counter(rec), clock); err != nil {
		t.Fatal(err)
	}
	if _, err := caseprom.New(reg, "ninsho_other", counter(rec), clock); err == nil {
		t.Fatal("an unknown gauge was registered")
	}
	gauges := func() map[string]float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]float64{}
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				out[mf.GetName()] = m.GetGauge().GetValue()
			}
		}
		return out
	}
	want := func(h, r float64) {
		t.Helper()
		g := gauges()
		if len(g) != 2 || g[caseprom.HelpRequests] != h || g[caseprom.RecoveryCases] != r {
			t.Fatalf("gauges = %v, want help %v, recovery %v", g, h, r)
		}
	}
	want(2, 7)
	help.n, rec.n = 5, 8
	want(2, 7) // within MaxAge: no second read
	if help.reads != 1 || rec.reads != 1 {
		t.Fatalf("reads %d, %d; want 1, 1", help.reads, rec.reads)
	}
	clock.Advance(caseprom.MaxAge)
	want(5, 8)
	clock.Advance(caseprom.MaxAge)
	help.err = errors.New("down")
	if g := gauges(); len(g) != 1 || g[caseprom.RecoveryCases] != 8 {
		t.Fatalf("while the help store is down: %v; want only the recovery gauge", g)
	}
	help.err = nil
	want(5, 8) // read again at once after a failure
}
