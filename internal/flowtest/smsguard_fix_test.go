package flowtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestSMSGuardCountryIsRegion: the per-country limit goes by the number's
// region, not its calling code: for a realm in "US", +1 876 (Jamaica) and
// +1 416 (Canada) are foreign, each its own country, while US numbers use
// the own-country budget. An hour later (injected clock) there is room
// again.
func TestSMSGuardCountryIsRegion(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		us := *e.Safe
		us.SMSLimits = realm.SMSLimits{PerCountryHour: 3, PerForeignCountryHour: 1}
		admit := func(to string) error { return e.SMSGuard.Admit(ctx, &us, code.ChannelSMS, to, code.LaneStranger) }
		if err := admit("+18762101234"); err != nil {
			t.Fatalf("first text to Jamaica: %v", err)
		}
		wantRefused(t, admit("+18762101235"), r, "country_hour/sms")
		if err := admit("+14165550123"); err != nil {
			t.Errorf("first text to Canada, another country: %v", err)
		}
		wantRefused(t, admit("+14165550124"), r, "country_hour/sms")
		for i := 0; i < 3; i++ {
			if err := admit(fmt.Sprintf("+1201555012%d", i)); err != nil {
				t.Fatalf("text %d to the US: %v", i, err)
			}
		}
		wantRefused(t, admit("+12015550129"), r, "country_hour/sms")
		e.Clock.Advance(time.Hour)
		if err := admit("+18762101235"); err != nil {
			t.Errorf("Jamaica an hour later: %v", err)
		}
	})
}

// TestSMSGuardAlertsLeaveTheOwnersCodes: alerts and notices to a number do
// not count in its hourly limit (only in the day and the ceilings), so
// with the default limits the owner's 10 codes of the hour all go after six
// alerts, the 10th with its code_limit notice, and the 11th is refused by
// the code budget (resend_limit_reached), not by the guard (rate_limited).
func TestSMSGuardAlertsLeaveTheOwnersCodes(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolTOTP(t, e, sfEmail)
		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 6; i++ { // alerts: sign-in alerts, two_step_changed …
			if ok, err := e.SMSGuard.AdmitOptional(ctx, e.JP, code.ChannelSMS, phMobileE164, code.LaneOwner); err != nil || !ok {
				t.Fatalf("alert %d: %v %v", i, ok, err)
			}
		}
		for i := 1; i <= 11; i++ {
			e.Clock.Advance(31 * time.Second)
			ans, _ := signInToChallenge(t, e)
			want := ""
			if i == 11 {
				want = string(ninsho.CodeResendLimitReached)
			}
			if ans.Next.NotSent != want {
				t.Fatalf("challenge %d: not_sent %q, want %q", i, ans.Next.NotSent, want)
			}
		}
		if m := lastTo(t, e, phMobileE164); m.Template != "code_limit" || m.Channel != "sms" {
			t.Errorf("newest text %s by %s, want the code_limit notice by sms", m.Template, m.Channel)
		}
		if got := r.take(); len(got) != 0 {
			t.Errorf("guard refusals %v, want none", got)
		}
		// The day limit still counts alerts.
		e.JP.SMSLimits = realm.SMSLimits{PerNumberDay: 17} // 6 alerts, 10 codes, 1 notice
		defer func() { e.JP.SMSLimits = realm.SMSLimits{} }()
		if ok, err := e.SMSGuard.AdmitOptional(ctx, e.JP, code.ChannelSMS, phMobileE164, code.LaneOwner); err != nil || ok {
			t.Errorf("an alert past the day: %v %v, want left out", ok, err)
		}
		if got := r.take(); len(got) != 1 || got[0] != "number_day/sms" {
			t.Errorf("refusals = %v, want [number_day/sms]", got)
		}
	})
}

// TestCodeLimitNoticeOfVoiceGoesBySMS: when the code that uses up the
// owner's hourly budget was a voice call, its code_limit notice goes as a
// text message to a mobile number, and is left out for a fixed line: never
// a second call.
func TestCodeLimitNoticeOfVoiceGoesBySMS(t *testing.T) {
	for _, tt := range []struct {
		name, typed, to string
		notice          bool
	}{
		{"mobile", phMobile, phMobileE164, true},
		{"fixed line", phFixed, phFixedE164, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
				enrolTOTP(t, e, sfEmail)
				a, id := enrolPhone(t, e, sfEmail, twostep.MethodVoice, tt.typed, tt.to)
				if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, id); err != nil {
					t.Fatal(err)
				}
				for i := 1; i <= 10; i++ {
					e.Clock.Advance(31 * time.Second)
					if ans, _ := signInToChallenge(t, e); ans.Next.NotSent != "" {
						t.Fatalf("challenge %d: not_sent %q", i, ans.Next.NotSent)
					}
				}
				var calls, notices int
				for _, m := range e.Messages(t, tt.to) {
					switch {
					case m.Template == "code_limit" && m.Channel == "sms":
						notices++
					case m.Template == "code_limit":
						t.Errorf("code_limit by %s", m.Channel)
					case m.Channel == "voice":
						calls++
					}
				}
				if calls != 11 { // the enrolment's and ten sign-ins'
					t.Errorf("%d calls, want 11", calls)
				}
				if want := map[bool]int{true: 1, false: 0}[tt.notice]; notices != want {
					t.Errorf("%d code_limit texts, want %d", notices, want)
				}
			})
		})
	}
}
