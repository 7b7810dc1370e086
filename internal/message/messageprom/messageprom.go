// Package messageprom counts outbox deliveries with Prometheus counters. It
// is separate from package message so that the message capability does not
// depend on the Prometheus client (and, through it, on net/http).
package messageprom

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
)

// Metrics implements message.Metrics with the counters
//
//	ninsho_messages_sent_total{channel,provider}
//	ninsho_message_attempts_failed_total{channel,provider}
//	ninsho_messages_failed_total{channel}
//
// It is safe for concurrent use.
type Metrics struct {
	sent           *prometheus.CounterVec
	attemptsFailed *prometheus.CounterVec
	failed         *prometheus.CounterVec
}

var _ message.Metrics = (*Metrics)(nil)

// New registers the counters on reg and returns them. When reg already holds
// them (a second dispatcher on the same registry), the registered counters
// are shared.
func New(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ninsho", Name: "messages_sent_total",
			Help: "Messages accepted by a provider, by channel and provider.",
		}, []string{"channel", "provider"}),
		attemptsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ninsho", Name: "message_attempts_failed_total",
			Help: "Failed delivery attempts, by channel and provider.",
		}, []string{"channel", "provider"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "ninsho", Name: "messages_failed_total",
			Help: "Messages given up after their last attempt or a permanent error, by channel.",
		}, []string{"channel"}),
	}
	var err error
	if m.sent, err = register(reg, m.sent); err != nil {
		return nil, err
	}
	if m.attemptsFailed, err = register(reg, m.attemptsFailed); err != nil {
		return nil, err
	}
	if m.failed, err = register(reg, m.failed); err != nil {
		return nil, err
	}
	return m, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, errors.New("messageprom: " + err.Error())
	}
	return c, nil
}

// Sent implements message.Metrics.
func (m *Metrics) Sent(ch message.Channel, provider string) {
	m.sent.WithLabelValues(string(ch), provider).Inc()
}

// AttemptFailed implements message.Metrics.
func (m *Metrics) AttemptFailed(ch message.Channel, provider string) {
	m.attemptsFailed.WithLabelValues(string(ch), provider).Inc()
}

// Failed implements message.Metrics.
func (m *Metrics) Failed(ch message.Channel) {
	m.failed.WithLabelValues(string(ch)).Inc()
}
