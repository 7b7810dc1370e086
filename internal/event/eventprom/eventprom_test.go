package eventprom_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/event/eventprom"
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
			out[strings.TrimPrefix(mf.GetName(), "ninsho_")+"{"+strings.Join(labels, ",")+"}"] = m.GetCounter().GetValue()
		}
	}
	return out
}

func TestObserve(t *testing.T) {
	ev := func(typ, account string, data map[string]any) *event.Event {
		return &event.Event{Realm: "jp", Type: typ, AccountID: account, Data: data}
	}
	tests := []struct {
		name string
		e    *event.Event
		want string // the one sample counted, "" for none
	}{
		{"password", ev(event.TypeSigninSucceeded, "a", map[string]any{"methods": []string{"pwd"}}),
			"signin_outcomes_total{realm=jp,reason=password,result=succeeded}"},
		{"after a code", ev(event.TypeSigninSucceeded, "a", map[string]any{"methods": []string{"pwd", "email"}}),
			"signin_outcomes_total{realm=jp,reason=verification_code,result=succeeded}"},
		{"password assistant", ev(event.TypeSigninSucceeded, "a", map[string]any{"via": "password_assistant", "methods": []string{"sms"}}),
			"signin_outcomes_total{realm=jp,reason=password_assistant,result=succeeded}"},
		{"code asked", ev(event.TypeSigninChallenged, "a", map[string]any{"reasons": []string{"device_unfamiliar", "network_unfamiliar"}}),
			"signin_outcomes_total{realm=jp,reason=device_unfamiliar,result=code_required}"},
		{"reasons read back from JSON", ev(event.TypeSigninChallenged, "a", map[string]any{"reasons": []any{"network_unfamiliar"}}),
			"signin_outcomes_total{realm=jp,reason=network_unfamiliar,result=code_required}"},
		{"captcha: the first reason that asks for one", ev(event.TypeSigninFailed, "", map[string]any{"reason": "captcha_required", "risk": []string{"identifier_failures", "automation_headless"}}),
			"signin_outcomes_total{realm=jp,reason=identifier_failures,result=captcha_required}"},
		{"rate limited: the velocity reason", ev(event.TypeSigninFailed, "", map[string]any{"reason": "rate_limited", "risk": []string{"identifier_failures", "prefix_velocity"}}),
			"signin_outcomes_total{realm=jp,reason=prefix_velocity,result=rate_limited}"},
		{"wrong password", ev(event.TypeSigninFailed, "a", map[string]any{"reason": "password_incorrect", "risk": []string{}}),
			"signin_outcomes_total{realm=jp,reason=password_incorrect,result=refused}"},
		{"safe realm", ev(event.TypeSigninFailed, "", map[string]any{"reason": "credentials_incorrect"}),
			"signin_outcomes_total{realm=jp,reason=credentials_incorrect,result=refused}"},
		{"unknown reason: bounded", ev(event.TypeSigninFailed, "", map[string]any{"reason": "hanako@example.jp"}),
			"signin_outcomes_total{realm=jp,reason=other,result=refused}"},
		{"unknown risk reason: bounded", ev(event.TypeSigninChallenged, "a", map[string]any{"reasons": []string{"203.0.113.9"}}),
			"signin_outcomes_total{realm=jp,reason=other,result=code_required}"},
		{"smart lock", ev(event.TypeAccountLocked, "a", map[string]any{"kind": "unfamiliar", "level": 1}),
			"locks_set_total{kind=unfamiliar,realm=jp}"},
		{"this wasn't me", ev(event.TypeAccountLocked, "a", map[string]any{"kind": "suspicious", "reason": "not_me"}),
			"locks_set_total{kind=suspicious,realm=jp}"},
		{"unlocked", ev(event.TypeAccountUnlocked, "a", map[string]any{"lock": "unfamiliar"}),
			"locks_lifted_total{kind=unfamiliar,realm=jp,via=unlock}"},
		{"reset lifts a lock", ev(event.TypePasswordChanged, "a", map[string]any{"via": "password_assistant", "lock_lifted": "suspicious"}),
			"locks_lifted_total{kind=suspicious,realm=jp,via=password_assistant}"},
		{"reset without a lock", ev(event.TypePasswordChanged, "a", map[string]any{"via": "password_assistant"}), ""},
		{"unlock's new password: counted by account.unlocked", ev(event.TypePasswordChanged, "a", map[string]any{"via": "unlock", "lock_lifted": "suspicious"}), ""},
		{"code", ev(event.TypeCodeSent, "a", map[string]any{"purpose": "signin", "channel": "sms"}),
			"codes_sent_total{channel=sms,purpose=signin,realm=jp}"},
		{"suppressed code", ev(event.TypeCodeSent, "", map[string]any{"purpose": "reset", "channel": "email"}), ""},
		{"other events", ev(event.TypeSignout, "a", nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			m, err := eventprom.New(reg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			m.Observe(tt.e)
			got := gather(t, reg)
			var want map[string]float64
			if tt.want != "" {
				want = map[string]float64{tt.want: 1}
			}
			if !maps.Equal(got, want) {
				t.Errorf("got %v, want %v", slices.Sorted(maps.Keys(got)), tt.want)
			}
		})
	}
}

func TestCaptchasAndSharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := eventprom.New(reg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	again, err := eventprom.New(reg) // a second instance on the same registry
	if err != nil {
		t.Fatalf("New again: %v", err)
	}
	m.Shown("jp")
	again.Shown("jp")
	m.Solved("jp")
	want := map[string]float64{"captchas_shown_total{realm=jp}": 2, "captchas_solved_total{realm=jp}": 1}
	if got := gather(t, reg); !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
