// Package smsguardprom reports the SMS guard's refusals as the Prometheus
// counter
//
//	ninsho_sms_guard_refusals_total{limit="number_hour|number_day|country_hour|realm_hour", channel="sms|voice"}
//
// Every label pair is exported from the start at 0, so that an alert on its
// increase works before the first refusal.
package smsguardprom

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/smsguard"
)

// Metrics counts refusals; it implements smsguard.Observer and is safe for
// concurrent use.
type Metrics struct {
	refusals *prometheus.CounterVec
}

var _ smsguard.Observer = (*Metrics)(nil)

// Limits and channels, the label values.
var (
	limits   = []string{smsguard.LimitNumberHour, smsguard.LimitNumberDay, smsguard.LimitCountryHour, smsguard.LimitRealmHour}
	channels = []code.Channel{code.ChannelSMS, code.ChannelVoice}
)

// New registers the counter on reg. A registry that has it already (another
// instance on the same registry) shares it.
func New(reg prometheus.Registerer) (*Metrics, error) {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "ninsho_sms_guard_refusals_total",
		Help: "SMS and voice messages the cost guard refused, by the limit that refused them and the channel.",
	}, []string{"limit", "channel"})
	if err := reg.Register(c); err != nil {
		are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err)
		if !ok {
			return nil, errors.New("smsguardprom: " + err.Error())
		}
		c = are.ExistingCollector.(*prometheus.CounterVec)
	}
	for _, l := range limits {
		for _, ch := range channels {
			c.WithLabelValues(l, string(ch))
		}
	}
	return &Metrics{refusals: c}, nil
}

// Refused implements smsguard.Observer.
func (m *Metrics) Refused(limit string, ch code.Channel) {
	m.refusals.WithLabelValues(limit, string(ch)).Inc()
}
