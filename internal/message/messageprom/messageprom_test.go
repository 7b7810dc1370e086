package messageprom

import (
	"maps"
	"slices"
	"strings"
	"testing"

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
			out[mf.GetName()+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
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
	m.Sent(message.ChannelEmail, "smtp")
	again.Sent(message.ChannelEmail, "smtp")
	m.AttemptFailed(message.ChannelSMS, "kannel")
	m.Failed(message.ChannelSMS)

	want := map[string]float64{
		"ninsho_messages_sent_total{channel=email,provider=smtp}":           2,
		"ninsho_message_attempts_failed_total{channel=sms,provider=kannel}": 1,
		"ninsho_messages_failed_total{channel=sms}":                         1,
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
