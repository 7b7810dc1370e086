// Package helpprom exports the help requests past their due time to
// Prometheus.
package helpprom

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

// readTimeout bounds the query of one scrape.
const readTimeout = 2 * time.Second

// Counter is what the collector reads (help.Store has it).
type Counter interface {
	CountOverdueHelpRequests(ctx context.Context, now time.Time) (int, error)
}

// Overdue is a Prometheus collector of the gauge
//
//	ninsho_help_requests_overdue
//
// (open help requests past their due time) read from the store when scraped,
// at most once per MaxAge. When the store does not answer, the scrape leaves
// it out. It is safe for concurrent use.
type Overdue struct {
	store Counter
	clock ninsho.Clock
	desc  *prometheus.Desc

	mu     sync.Mutex
	last   int
	readAt time.Time
}

var _ prometheus.Collector = (*Overdue)(nil)

// NewOverdue registers the gauge of store on reg.
func NewOverdue(reg prometheus.Registerer, store Counter, clock ninsho.Clock) (*Overdue, error) {
	o := &Overdue{store: store, clock: clock, desc: prometheus.NewDesc("ninsho_help_requests_overdue",
		"Open help requests past their due time.", nil, nil)}
	if err := reg.Register(o); err != nil {
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			return o, nil
		}
		return nil, errors.New("helpprom: " + err.Error())
	}
	return o, nil
}

// Describe implements prometheus.Collector.
func (o *Overdue) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

// Collect implements prometheus.Collector.
func (o *Overdue) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	if o.readAt.IsZero() || now.Sub(o.readAt) >= MaxAge || now.Before(o.readAt) {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		n, err := o.store.CountOverdueHelpRequests(ctx, now)
		cancel()
		if err != nil {
			o.readAt = time.Time{}
			return
		}
		o.last, o.readAt = n, now
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(o.last))
}
