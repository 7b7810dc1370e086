package messageprom_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/messageprom"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// gauges returns the backlog gauges of reg by name; a missing one is absent
// from the map.
func gauges(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestBacklogGauges(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(testing.TB) *store.DB) {
		db := open(t)
		clock := ninsho.NewManualClock(storetest.Epoch)
		reg := prometheus.NewRegistry()
		if _, err := messageprom.NewBacklog(reg, db, clock); err != nil {
			t.Fatalf("NewBacklog: %v", err)
		}
		if got := gauges(t, reg); got["ninsho_outbox_pending_messages"] != 0 || got["ninsho_outbox_oldest_pending_age_seconds"] != 0 {
			t.Errorf("empty outbox: got %v, want 0 and 0", got)
		}
		for _, ago := range []time.Duration{90 * time.Second, 30 * time.Second} {
			m := storetest.NewMessage("jp", "hanako@example.jp")
			m.CreatedAt = storetest.Epoch.Add(-ago)
			storetest.MustEnqueue(t, db, m)
		}
		// A reading answers for BacklogMaxAge: still the empty outbox.
		clock.Advance(messageprom.BacklogMaxAge - time.Millisecond)
		if got := gauges(t, reg); got["ninsho_outbox_pending_messages"] != 0 {
			t.Errorf("within BacklogMaxAge: got %v, want the cached reading (0 pending)", got)
		}
		clock.Advance(time.Millisecond)
		want := 90 + messageprom.BacklogMaxAge.Seconds()
		if got := gauges(t, reg); got["ninsho_outbox_pending_messages"] != 2 || got["ninsho_outbox_oldest_pending_age_seconds"] != want {
			t.Errorf("got %v, want 2 pending, the oldest %v s old", got, want)
		}
	})
}

// failingBacklog is a store that does not answer.
type failingBacklog struct{}

func (failingBacklog) OutboxBacklog(context.Context) (message.Backlog, error) {
	return message.Backlog{}, errors.New("database is down")
}

func TestBacklogGaugesAbsentWhenTheStoreFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := messageprom.NewBacklog(reg, failingBacklog{}, ninsho.NewManualClock(storetest.Epoch)); err != nil {
		t.Fatalf("NewBacklog: %v", err)
	}
	if got := gauges(t, reg); len(got) != 0 {
		t.Errorf("got %v, want no gauges (and no failed scrape)", got)
	}
}
