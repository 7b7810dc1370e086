// Package caseprom exports the support queues' cases past their due time
// as Prometheus gauges, read from the store when scraped:
//
//	ninsho_help_requests_overdue   open help requests past their due time
//	ninsho_recovery_cases_overdue  open document recovery cases past theirs
//
// One reading answers the scrapes of MaxAge, so several Prometheus servers
// scraping at once cost one query; when the store does not answer, the
// scrape leaves the gauge out.
package caseprom

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// MaxAge is how long one reading answers scrapes.
const MaxAge = 5 * time.Second

// readTimeout bounds the query of one scrape.
const readTimeout = 2 * time.Second

// Counter counts the open cases overdue at now (help.Service.OverdueCount,
// recovery.Service.OverdueCount).
type Counter func(ctx context.Context, now time.Time) (int, error)

// The gauges' names.
const (
	HelpRequests  = "ninsho_help_requests_overdue"
	RecoveryCases = "ninsho_recovery_cases_overdue"
)

// help is each gauge's description.
var help = map[string]string{
	HelpRequests:  "Open help requests past their due time.",
	RecoveryCases: "Open document recovery cases past their due time.",
}

// Overdue is the collector of one gauge. It is safe for concurrent use.
type Overdue struct {
	count Counter
	clock ninsho.Clock
	desc  *prometheus.Desc

	mu     sync.Mutex
	last   int
	readAt time.Time
}

var _ prometheus.Collector = (*Overdue)(nil)

// New registers the gauge name (HelpRequests or RecoveryCases) of count on
// reg.
func New(reg prometheus.Registerer, name string, count Counter, clock ninsho.Clock) (*Overdue, error) {
	h, ok := help[name]
	if !ok {
		return nil, errors.New("caseprom: unknown gauge " + name)
	}
	o := &Overdue{count: count, clock: clock, desc: prometheus.NewDesc(name, h, nil, nil)}
	if err := reg.Register(o); err != nil {
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			return o, nil
		}
		return nil, errors.New("caseprom: " + err.Error())
	}
	return o, nil
}

// Describe implements prometheus.Collector.
func (o *Overdue) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

// Collect implements prometheus.Collector: the count, read at most once per
// MaxAge (again at once if the clock went back), left out while the store
// does not answer.
func (o *Overdue) Collect(ch chan<- prometheus.Metric) {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.clock.Now()
	if o.readAt.IsZero() || now.Sub(o.readAt) >= MaxAge || now.Before(o.readAt) {
		ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
		n, err := o.count(ctx, now)
		cancel()
		if err != nil {
			o.readAt = time.Time{}
			return
		}
		o.last, o.readAt = n, now
	}
	ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(o.last))
}
