package smsguardprom_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/smsguard/smsguardprom"
)

func TestRefusals(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := smsguardprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	zero := scrape(t, reg)
	if n := strings.Count(zero, "\n"); n != 8 || strings.Count(zero, "} 0\n") != 8 {
		t.Errorf("before any refusal:\n%s\nwant the 8 limit×channel pairs at 0", zero)
	}
	m.Refused("country_hour", code.ChannelSMS)
	m.Refused("country_hour", code.ChannelSMS)
	m.Refused("realm_hour", code.ChannelVoice)
	got := scrape(t, reg)
	for _, want := range []string{
		`ninsho_sms_guard_refusals_total{channel="sms",limit="country_hour"} 2`,
		`ninsho_sms_guard_refusals_total{channel="voice",limit="realm_hour"} 1`,
		`ninsho_sms_guard_refusals_total{channel="sms",limit="number_hour"} 0`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("scrape lacks %s:\n%s", want, got)
		}
	}
	// A second instance on the same registry shares the counter.
	m2, err := smsguardprom.New(reg)
	if err != nil {
		t.Fatal(err)
	}
	m2.Refused("realm_hour", code.ChannelVoice)
	if !strings.Contains(scrape(t, reg), `ninsho_sms_guard_refusals_total{channel="voice",limit="realm_hour"} 2`) {
		t.Errorf("the second instance's refusal was not added to the first's")
	}
}

func scrape(t *testing.T, reg *prometheus.Registry) string {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			fmt.Fprintf(&b, "%s{channel=%q,limit=%q} %g\n", mf.GetName(), labels["channel"], labels["limit"], m.GetCounter().GetValue())
		}
	}
	return b.String()
}
