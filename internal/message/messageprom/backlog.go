package messageprom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// BacklogMaxAge is how long one reading of the outbox backlog answers
// scrapes: several Prometheus servers scraping at once cost one query.
const BacklogMaxAge = 5 * time.Second

// backlogTimeout bounds the query of one scrape.
const backlogTimeout = 2 * time.Second

// Backlog is a Prometheus collector of the gauges
//
//	ninsho_outbox_pending_messages
//	ninsho_outbox_oldest_pending_age_seconds
//
// read from the store when scraped (at most once per BacklogMaxAge). When
// the store does not answer, the scrape leaves both out (alert on their
// absence, or on /readyz). It is safe for concurrent use.
type Backlog struct {
	store   message.BacklogStore
	clock   ninsho.Clock
	pending *prometheus.Desc
	oldest  *prometheus.Desc

	mu     sync.Mutex
	last   message.Backlog
	readAt time.Time
}

var _ prometheus.Collector = (*Backlog)(nil)

// NewBacklog registers the backlog gauges of store on reg.
func NewBacklog(reg prometheus.Registerer, store message.BacklogStore, clock ninsho.Clock) (*Backlog, error) {
	b := &Backlog{
		store: store, clock: clock,
		pending: prometheus.NewDesc("ninsho_outbox_pending_messages",
			"Outbox messages waiting for a delivery (first or retried).", nil, nil),
		oldest: prometheus.NewDesc("ninsho_outbox_oldest_pending_age_seconds",
			"Time since the oldest pending outbox message was enqueued; 0 without a backlog.", nil, nil),
	}
	if err := reg.Register(b); err != nil {
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			return b, nil // another instance on the same registry reports it
		}
		return nil, errors.New("messageprom: " + err.Error())
	}
	return b, nil
}

// Describe implements prometheus.Collector.
func (b *Backlog) Describe(ch chan<- *prometheus.Desc) {
	ch <- b.pending
	ch <- b.oldest
}

// Collect implements prometheus.Collector.
func (b *Backlog) Collect(ch chan<- prometheus.Metric) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.clock.Now()
	if b.readAt.IsZero() || now.Sub(b.readAt) >= BacklogMaxAge || now.Before(b.readAt) {
		ctx, cancel := context.WithTimeout(context.Background(), backlogTimeout)
		got, err := b.store.OutboxBacklog(ctx)
		cancel()
		if err != nil {
			b.readAt = time.Time{}
			return
		}
		b.last, b.readAt = got, now
	}
	age := 0.0
	if b.last.Pending > 0 && !b.last.Oldest.IsZero() {
		age = max(0, now.Sub(b.last.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(b.pending, prometheus.GaugeValue, float64(b.last.Pending))
	ch <- prometheus.MustNewConstMetric(b.oldest, prometheus.GaugeValue, age)
}
