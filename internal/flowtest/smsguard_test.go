package flowtest_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/smsguard"
	"github.com/ninsho/ninsho/internal/twostep"
)

// refusals records the SMS guard's refusals, as the operator metric sees
// them: "limit/channel".
type refusals struct {
	mu  sync.Mutex
	got []string
}

func (r *refusals) Refused(limit string, ch code.Channel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got = append(r.got, limit+"/"+string(ch))
}

func (r *refusals) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	got := r.got
	r.got = nil
	return got
}

func watchGuard(e *flowtest.Env) *refusals {
	r := &refusals{}
	e.SMSGuard.Observer = r
	return r
}

// wantRefused fails unless err is rate_limited with the same retry_after
// whatever the limit, and the guard reported exactly limit.
func wantRefused(t *testing.T, err error, r *refusals, limit string) {
	t.Helper()
	flowtest.WantCode(t, err, ninsho.CodeRateLimited)
	if p := ninsho.ErrorOf(err).Params; p["retry_after_s"] != 3600 || p["kind"] != "messages" || len(p) != 2 {
		t.Errorf("params = %v, want kind messages and retry_after_s 3600 for every limit", p)
	}
	for _, loc := range []string{"ja", "en"} {
		msg := i18n.FieldErrorMessage(loc, ninsho.ErrorOf(err))
		wait := map[string]string{"ja": "1時間ほど", "en": "about an hour"}[loc]
		if !strings.Contains(msg, wait) || strings.Contains(msg, "error.") {
			t.Errorf("%s message %q, want the catalogue's words with the hour's wait (%q)", loc, msg, wait)
		}
	}
	if got := r.take(); len(got) != 1 || got[0] != limit {
		t.Errorf("refusals = %v, want [%s]", got, limit)
	}
}

// TestSMSGuardPerNumber: an account's second-factor texts to one number
// are capped per hour and per day (in the owner's lane: the enrolment's
// code was the strangers' lane's). Past the cap resend_code answers
// rate_limited and nothing is sent, while the authenticator app still
// completes the sign-in; an hour later the hourly cap has room again but the
// daily one stops the next text; a day later texts go again.
func TestSMSGuardPerNumber(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.JP.SMSLimits = realm.SMSLimits{PerNumberHour: 2, PerNumberDay: 3}
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164) // text 1, strangers' lane

		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "totp", "sms")
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"}) // owner's 1
		wantSecondFactor(t, sw, err, "sms", "totp")
		e.Clock.Advance(31 * time.Second)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}); err != nil { // owner's 2
			t.Fatalf("resend within the cap: %v", err)
		}
		texts := len(e.Messages(t, phMobileE164))
		if texts != 3 {
			t.Fatalf("%d texts, want 3", texts)
		}
		e.Clock.Advance(31 * time.Second)
		re, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
		wantRefused(t, err, r, "number_hour/sms")
		if re == nil || re.Flow == nil || re.Next == nil || re.Next.Step != flow.StepSecondFactor {
			t.Errorf("refused resend answered %+v; want the flow, still at its second factor", re)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Errorf("%d texts after the refusal, want %d: nothing is enqueued", got, texts)
		}
		// The authenticator app is not counted: the sign-in completes.
		tf, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "totp"})
		wantSecondFactor(t, tf, err, "totp", "sms")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")

		// An hour later: one more text makes the owner's three today; the
		// fourth, though the hour has room, waits for the day.
		e.Clock.Advance(time.Hour)
		for i := 3; i <= 4; i++ {
			e.Clock.Advance(31 * time.Second)
			ans, req = signInToChallenge(t, e)
			_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
			if i == 3 {
				if err != nil {
					t.Fatalf("owner's text %d: %v", i, err)
				}
				continue
			}
			wantRefused(t, err, r, "number_day/sms")
		}
		if got := len(e.Messages(t, phMobileE164)); got != 4 {
			t.Errorf("%d texts, want 4", got)
		}
		e.Clock.Advance(smsguard.Day)
		ans, req = signInToChallenge(t, e)
		sw, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
		wantSecondFactor(t, sw, err, "sms", "totp")
		done, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: e.LastCode(t, phMobileE164)})
		wantAAL2(t, e, done, err, "pwd", "sms")
	})
}

// TestSMSGuardStrangerCannotSpendOwnersNumber: strangers who ask the
// password assistant for codes to an account's number spend the strangers'
// share of the number's budget; the owner, from the device they signed up
// on, still gets a code to the same number.
func TestSMSGuardStrangerCannotSpendOwnersNumber(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.JP.SMSLimits = realm.SMSLimits{PerNumberHour: 2}
		owner := e.MustSignUp(t, e.JP, phMobile, pw, phMobileE164) // the sign-up code: strangers' lane
		for i := 2; i <= 3; i++ {
			e.Clock.Advance(time.Minute)
			_, err := e.Reset.Start(ctx, e.JP, flowtest.Req(fmt.Sprintf("198.51.100.%d", i), ""), phMobile)
			if i == 2 && err != nil {
				t.Fatalf("stranger's start %d: %v", i, err)
			}
			if i == 3 {
				wantRefused(t, err, r, "number_hour/sms")
			}
		}
		texts := len(e.Messages(t, phMobileE164))
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("192.0.2.10", owner), phMobile)
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("owner's start: %+v, %v", ans, err)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts+1 {
			t.Errorf("%d texts, want %d: the owner's code goes", got, texts+1)
		}
	})
}

// TestSMSGuardCountryAndRealm: texts to another country are capped per
// hour apart from the realm's own country; the realm-wide ceiling stops
// every text and call; e-mail codes are never counted; an hour later texts
// go again.
func TestSMSGuardCountryAndRealm(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.JP.SMSLimits = realm.SMSLimits{PerForeignCountryHour: 2, RealmHour: 5}
		n := 0
		start := func(ident string) error {
			n++
			_, err := e.Signup.Start(ctx, e.JP, flowtest.Req(fmt.Sprintf("198.51.100.%d", n), ""), signup.Input{Identifier: ident, Name: "N", Password: pw})
			return err
		}
		for _, uk := range []string{"+447400123451", "+447400123452"} {
			if err := start(uk); err != nil {
				t.Fatalf("text to %s: %v", uk, err)
			}
		}
		wantRefused(t, start("+447400123453"), r, "country_hour/sms")
		if ms := e.Messages(t, "+447400123453"); len(ms) != 0 {
			t.Errorf("%d texts to the refused number, want none", len(ms))
		}
		// Japan's own budget is apart: three texts make the realm's five.
		for i := 1; i <= 3; i++ {
			if err := start(fmt.Sprintf("090-1111-000%d", i)); err != nil {
				t.Fatalf("text %d to Japan: %v", i, err)
			}
		}
		wantRefused(t, start("090-1111-0004"), r, "realm_hour/sms")
		// E-mail codes are not SMS.
		if err := start("hanako@example.jp"); err != nil {
			t.Fatalf("an e-mail code past the SMS ceiling: %v", err)
		}
		if e.LastCode(t, "hanako@example.jp") == "" {
			t.Error("no e-mail code")
		}
		e.Clock.Advance(time.Hour)
		if err := start("090-1111-0004"); err != nil {
			t.Errorf("a text an hour later: %v", err)
		}
		if err := start("+447400123453"); err != nil {
			t.Errorf("a text abroad an hour later: %v", err)
		}
		if got := r.take(); len(got) != 0 {
			t.Errorf("refusals after the hour: %v", got)
		}
	})
}

// TestSMSGuardDefaults: a realm without sms_limits gets the defaults.
func TestSMSGuardDefaults(t *testing.T) {
	got := smsguard.LimitsOf(&realm.Realm{PhoneRegion: "JP", SMSLimits: realm.SMSLimits{PerNumberHour: 4}})
	want := realm.SMSLimits{PerNumberHour: 4, PerNumberDay: 40, PerCountryHour: 1000, PerForeignCountryHour: 50, RealmHour: 2000}
	if got != want {
		t.Errorf("LimitsOf = %+v, want %+v", got, want)
	}
}

// TestSMSGuardChallengeSaysNotSent: when the guard refuses the text of a
// sign-in's second-factor challenge, the challenge is shown all the same
// with next.not_sent rate_limited and nothing sent, and the authenticator
// app completes it.
func TestSMSGuardChallengeSaysNotSent(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.JP.SMSLimits = realm.SMSLimits{PerNumberHour: 1}
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		ans, _ := signInToChallenge(t, e) // the owner's one text of the hour
		wantSecondFactor(t, ans, nil, "sms", "totp")
		if ans.Next.NotSent != "" {
			t.Fatalf("not_sent = %q on the first challenge", ans.Next.NotSent)
		}
		texts := len(e.Messages(t, phMobileE164))

		e.Clock.Advance(time.Minute)
		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "totp")
		if ans.Next.NotSent != string(ninsho.CodeRateLimited) {
			t.Errorf("not_sent = %q, want rate_limited", ans.Next.NotSent)
		}
		if got := r.take(); len(got) != 1 || got[0] != "number_hour/sms" {
			t.Errorf("refusals = %v", got)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Errorf("%d texts, want %d", got, texts)
		}
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "totp"})
		wantSecondFactor(t, sw, err, "totp", "sms")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")
	})
}

// TestSMSGuardCountsOnlySentCodes: challenges whose code the number's
// hourly code budget refuses (next.not_sent resend_limit_reached, the flow
// kept) are not counted by the guard: after the owner's 10 codes and the
// code_limit notice (11 texts) and three refused challenges, a daily cap of
// 12 still lets the next hour's code go.
func TestSMSGuardCountsOnlySentCodes(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolTOTP(t, e, sfEmail)
		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 13; i++ {
			e.Clock.Advance(31 * time.Second)
			ans, _ := signInToChallenge(t, e)
			want := ""
			if i > 10 {
				want = string(ninsho.CodeResendLimitReached)
			}
			if ans.Next.NotSent != want {
				t.Fatalf("challenge %d: not_sent %q, want %q", i, ans.Next.NotSent, want)
			}
		}
		e.JP.SMSLimits = realm.SMSLimits{PerNumberDay: 12}
		e.Clock.Advance(time.Hour)
		ans, _ := signInToChallenge(t, e)
		if ans.Next.NotSent != "" {
			t.Errorf("not_sent = %q an hour later; the refused challenges were counted", ans.Next.NotSent)
		}
	})
}

// TestSMSGuardLeavesOutAlerts: an alert to the phone counts in the
// number's day (not its hour, which counts codes); past the limit it is
// left out and the sign-in it tells of completes.
func TestSMSGuardLeavesOutAlerts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		r := watchGuard(e)
		e.MustSignUp(t, e.JP, phMobile, pw, phMobileE164)
		e.JP.SMSLimits = realm.SMSLimits{PerNumberDay: 1} // the owner's lane: the sign-in code
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: phMobile, Password: pw})
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("sign-in from a new device: %+v, %v", ans, err)
		}
		c := e.LastCode(t, phMobileE164)
		texts := len(e.Messages(t, phMobileE164))
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
		if err != nil || done.Session == nil {
			t.Fatalf("the code: %v", err)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Errorf("%d texts, want %d: the alert is left out", got, texts)
		}
		if got := r.take(); len(got) != 1 || got[0] != "number_day/sms" {
			t.Errorf("refusals = %v", got)
		}
		// With room, the alert goes.
		e.JP.SMSLimits = realm.SMSLimits{}
		e.Clock.Advance(time.Minute)
		ans, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: phMobile, Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, phMobileE164)}); err != nil {
			t.Fatal(err)
		}
		if m := lastTo(t, e, phMobileE164); m.Template != "signin_alert" {
			t.Errorf("newest text %s, want the signin_alert", m.Template)
		}
	})
}
