// Package messageprom counts outbox deliveries with Prometheus metrics. It
// is separate from package message so that the message capability does not
// depend on the Prometheus client (and, through it, on net/http).
package messageprom

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
)

// LatencyBuckets are the buckets (seconds) of both latency histograms: from
// a fast local relay to a report that comes minutes later.
var LatencyBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900}

// Metrics implements message.Metrics and message.ReportObserver with
//
//	ninsho_messages_sent_total{channel,provider}
//	ninsho_message_attempts_failed_total{channel,provider}
//	ninsho_messages_failed_total{channel,provider}
//	ninsho_message_reports_total{channel,provider,status}
//	ninsho_message_send_latency_seconds{channel,provider}  (histogram)
//	ninsho_message_delivery_latency_seconds{channel}       (histogram)
//	ninsho_message_provider_breaker_state{provider}        (gauge)
//
// Every label value comes from a fixed set: channels, the configured
// provider names and the delivery statuses. It is safe for concurrent use.
type Metrics struct {
	sent            *prometheus.CounterVec
	attemptsFailed  *prometheus.CounterVec
	failed          *prometheus.CounterVec
	reports         *prometheus.CounterVec
	sendLatency     *prometheus.HistogramVec
	deliveryLatency *prometheus.HistogramVec
	breaker         *prometheus.GaugeVec
}

var (
	_ message.Metrics        = (*Metrics)(nil)
	_ message.ReportObserver = (*Metrics)(nil)
)

// New registers the metrics on reg and returns them. When reg already holds
// them (a second dispatcher on the same registry), the registered ones are
// shared.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{}
	var err error
	if m.sent, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ninsho", Name: "messages_sent_total",
		Help: "Messages accepted by a provider, by channel and provider.",
	}, []string{"channel", "provider"})); err != nil {
		return nil, err
	}
	if m.attemptsFailed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ninsho", Name: "message_attempts_failed_total",
		Help: "Failed delivery attempts, by channel and provider.",
	}, []string{"channel", "provider"})); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ninsho", Name: "messages_failed_total",
		Help: "Messages given up after their last attempt or a permanent error, by channel and the last provider tried (empty: none).",
	}, []string{"channel", "provider"})); err != nil {
		return nil, err
	}
	if m.reports, err = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "ninsho", Name: "message_reports_total",
		Help: "Provider delivery reports that gave a message its final status (delivered, undelivered, failed), by channel and provider.",
	}, []string{"channel", "provider", "status"})); err != nil {
		return nil, err
	}
	if m.sendLatency, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "ninsho", Name: "message_send_latency_seconds",
		Help:    "Time from enqueue to acceptance by a provider, by channel and provider.",
		Buckets: LatencyBuckets,
	}, []string{"channel", "provider"})); err != nil {
		return nil, err
	}
	if m.deliveryLatency, err = register(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "ninsho", Name: "message_delivery_latency_seconds",
		Help:    "Time from enqueue to a provider's delivered report, by channel.",
		Buckets: LatencyBuckets,
	}, []string{"channel"})); err != nil {
		return nil, err
	}
	if m.breaker, err = register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "ninsho", Name: "message_provider_breaker_state",
		Help: "Circuit breaker of a provider in this instance: 0 closed, 1 half-open, 2 open.",
	}, []string{"provider"})); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c, or returns the collector of the same kind already
// registered under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		var zero C
		return zero, errors.New("messageprom: " + err.Error())
	}
	return c, nil
}

// Providers makes the breaker gauge of each named provider present (closed)
// from the start, before its first state change.
func (m *Metrics) Providers(names ...string) {
	for _, n := range names {
		m.breaker.WithLabelValues(n)
	}
}

// Sent implements message.Metrics.
func (m *Metrics) Sent(ch message.Channel, provider string, sinceEnqueue time.Duration) {
	m.sent.WithLabelValues(string(ch), provider).Inc()
	m.sendLatency.WithLabelValues(string(ch), provider).Observe(max(0, sinceEnqueue.Seconds()))
}

// AttemptFailed implements message.Metrics.
func (m *Metrics) AttemptFailed(ch message.Channel, provider string) {
	m.attemptsFailed.WithLabelValues(string(ch), provider).Inc()
}

// Failed implements message.Metrics.
func (m *Metrics) Failed(ch message.Channel, provider string) {
	m.failed.WithLabelValues(string(ch), provider).Inc()
}

// Breaker implements message.Metrics.
func (m *Metrics) Breaker(provider string, s message.BreakerState) {
	m.breaker.WithLabelValues(provider).Set(float64(s))
}

// Reported implements message.ReportObserver: a final report (delivered,
// undelivered, failed) is counted, and a delivered one observes the time
// since enqueue. Other statuses are not counted.
func (m *Metrics) Reported(d message.Delivery, provider string) {
	if !d.Status.Final() {
		return
	}
	m.reports.WithLabelValues(string(d.Channel), provider, string(d.Status)).Inc()
	if d.Status == message.DeliveryDelivered {
		m.deliveryLatency.WithLabelValues(string(d.Channel)).Observe(max(0, d.UpdatedAt.Sub(d.CreatedAt).Seconds()))
	}
}
