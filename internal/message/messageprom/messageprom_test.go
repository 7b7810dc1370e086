package messageprom

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/message"
)

// gather returns every counter sample of reg as "name{label=value,…}" → value.
func gather(tb testing.TB, reg *prometheus.Registry) map[string]float64 {
	tb.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, l.GetName()+"="+l.GetValue())
			}
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch {
			case m.GetHistogram() != nil:
				out[key+"_count"] = float64(m.GetHistogram().GetSampleCount())
				out[key+"_sum"] = m.GetHistogram().GetSampleSum()
			case m.GetGauge() != nil:
				out[key] = m.GetGauge().GetValue()
			default:
				out[key] = m.GetCounter().GetValue()
			}
		}
	}
	return out
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	again, err := New(reg) // a second dispatcher on the same registry
	if err != nil {
		t.Fatalf("New again: %v", err)
	}
	m.Sent(message.ChannelEmail, "smtp", 2*time.Second)
	again.Sent(message.ChannelEmail, "smtp", 500*time.Millisecond)
	m.AttemptFailed(message.ChannelSMS, "kannel")
	m.Failed(message.ChannelSMS, "kannel")
	m.Providers("kannel", "twilio")
	m.Breaker("kannel", message.BreakerOpen)
	m.Breaker("kannel", message.BreakerHalfOpen)
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	m.Reported(message.Delivery{Channel: message.ChannelSMS, Status: message.DeliveryDelivered, CreatedAt: t0, UpdatedAt: t0.Add(7 * time.Second)}, "kannel")
	m.Reported(message.Delivery{Channel: message.ChannelSMS, Status: message.DeliveryUndelivered, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}, "kannel")
	m.Reported(message.Delivery{Channel: message.ChannelSMS, Status: message.DeliverySent}, "kannel") // not final: not counted

	want := map[string]float64{
		"ninsho_messages_sent_total{channel=email,provider=smtp}":                      2,
		"ninsho_message_send_latency_seconds{channel=email,provider=smtp}_count":       2,
		"ninsho_message_send_latency_seconds{channel=email,provider=smtp}_sum":         2.5,
		"ninsho_message_attempts_failed_total{channel=sms,provider=kannel}":            1,
		"ninsho_messages_failed_total{channel=sms,provider=kannel}":                    1,
		"ninsho_message_provider_breaker_state{provider=kannel}":                       1,
		"ninsho_message_provider_breaker_state{provider=twilio}":                       0,
		"ninsho_message_reports_total{channel=sms,provider=kannel,status=delivered}":   1,
		"ninsho_message_reports_total{channel=sms,provider=kannel,status=undelivered}": 1,
		"ninsho_message_delivery_latency_seconds{channel=sms}_count":                   1,
		"ninsho_message_delivery_latency_seconds{channel=sms}_sum":                     7,
	}
	if got := gather(t, reg); !maps.Equal(got, want) {
		t.Errorf("samples = %v, want %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}
}

func TestNewConflict(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGauge(prometheus.GaugeOpts{Name: "ninsho_messages_sent_total", Help: "x"}))
	if _, err := New(reg); err == nil || !strings.HasPrefix(err.Error(), "messageprom: ") {
		t.Fatalf("New on a conflicting registry = %v, want a messageprom error", err)
	}
}
