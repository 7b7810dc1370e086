// Package recoveryprom exports the document recovery cases past their due
// time as a Prometheus gauge (ninsho_recovery_cases_overdue), read from the
// store when scraped.
package recoveryprom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// MaxAge is how long one reading answers scrapes: several Prometheus
// servers scraping at once cost one query.
const MaxAge = 5 * time.Second

// timeout bounds the query of one scrape.
const timeout = 2 * time.Second

// Counter counts the open cases overdue at now (recovery.Service.OverdueCount).
type Counter func(ctx context.Context, now time.Time) (int, error)

// Overdue is the collector. When the store does not answer, the scrape
// leaves the gauge out. It is safe for concurrent use.
type Overdue struct {
	count Counter
	clock ninsho.Clock
	desc  *prometheus.Desc

	mu     sync.Mutex
	last   int
	readAt time.Time
}

var _ prometheus.Collector = (*Overdue)(nil)

// New registers the gauge on reg.
func New(reg prometheus.Registerer, count Counter, clock ninsho.Clock) (*Overdue, error) {
	o := &Overdue{count: count, clock: clock, desc: prometheus.NewDesc("ninsho_recovery_cases_overdue",
		"Open document recovery cases past their due time.", nil, nil)}
	if err := reg.Register(o); err != nil {
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			return o, nil
		}
		return nil, errors.New("recoveryprom: " + err.Error())
	}
	return o, nil
}

// Describe sends the gauge's description.
func (o *Overdue) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

// Collect reads the count (at most once per MaxAge) and sends it.
func (o *Overdue) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	if o.readAt.IsZero() || now.Sub(o.readAt) >= MaxAge {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		n, err := o.count(ctx, now)
		cancel()
		if err != nil {
			return
		}
		o.last, o.readAt = n, now
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(o.last))
}
