package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

// withPhone gives a's account a verified mobile number (sfPhone), so that
// alerts go to both verified channels.
func withPhone(t *testing.T, e *flowtest.Env, a *account.Account) {
	t.Helper()
	now := e.Clock.Now()
	a.Phone, a.PhoneVerifiedAt = sfPhone, &now
	if err := e.DB.UpdateAccount(context.Background(), a); err != nil {
		t.Fatal(err)
	}
}

// wrongTOTP is a six-digit code that secret does not give now.
func wrongTOTP(t *testing.T, e *flowtest.Env, secret string) string {
	t.Helper()
	if totpAt(t, secret, e.Clock.Now()) == "000000" {
		return "111111"
	}
	return "000000"
}

// signInWrong starts a sign-in with the right password from ip and answers
// the second factor wrong n times; it returns the last answer and error.
func signInWrong(t *testing.T, e *flowtest.Env, ip, secret string, n int) (*flow.Answer, error) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, ""), signin.Input{Identifier: sfEmail, Password: pw})
	wantSecondFactor(t, ans, err, "totp")
	req := flowtest.Req(ip, ans.DeviceToken)
	var got *flow.Answer
	for range n {
		got, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrongTOTP(t, e, secret)})
	}
	return got, err
}

// factorFailedAlerts counts the alerts of a failed second factor sent to
// the e-mail address and to the phone, and fails the test unless each
// carries a "this wasn't me" link.
func factorFailedAlerts(t *testing.T, e *flowtest.Env) (mail, sms int) {
	t.Helper()
	for to, n := range map[string]*int{sfEmail: &mail, sfPhone: &sms} {
		for _, m := range e.Messages(t, to) {
			if m.Template != message.TemplateSecondFactorFailed {
				continue
			}
			*n++
			// E-mail carries the link, a text message its short form.
			if link := map[string]string{"email": "/signin/not-me?token=", "sms": "/n/"}[m.Channel]; !strings.Contains(m.Text, link) {
				t.Errorf("the alert to %s has no \"this wasn't me\" link:\n%s", to, m.Text)
			}
		}
	}
	return mail, sms
}

// factorFailedEvents returns the account's signin.second_factor_failed
// events, newest first.
func factorFailedEvents(t *testing.T, e *flowtest.Env, a *account.Account) []*event.Event {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), a.ID, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for _, ev := range evs {
		if ev.Type == event.TypeSigninSecondFactorFailed {
			out = append(out, ev)
		}
	}
	return out
}

// TestSecondFactorFailedAlertsOwner: someone with the right password who
// fails the second-factor challenge (the fifth wrong answer) makes the
// owner get one alert on each verified channel (e-mail and SMS), with the
// "this wasn't me" link, and an event that the history shows. Two more
// failed flows within the hour send nothing more (the events are still
// recorded); an hour after the first alert, the next failure alerts again.
func TestSecondFactorFailedAlertsOwner(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		withPhone(t, e, a)
		if m, s := factorFailedAlerts(t, e); m != 0 || s != 0 {
			t.Fatalf("alerts before any failure: %d, %d", m, s)
		}

		first := e.Clock.Now()
		got, err := signInWrong(t, e, sfIP, secret, authflow.SecondFactorAttempts)
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		if got.Flow.Status != flow.StatusFailed {
			t.Fatalf("status %s, want failed", got.Flow.Status)
		}
		if m, s := factorFailedAlerts(t, e); m != 1 || s != 1 {
			t.Fatalf("alerts after a failed challenge: %d e-mails, %d SMS; want 1 and 1", m, s)
		}
		evs := factorFailedEvents(t, e, a)
		if len(evs) != 1 || evs[0].Data["reason"] != authflow.FactorFailedAttempts || evs[0].Data["kind"] != "signin" ||
			evs[0].Data["alerted"] != true || evs[0].IP != sfIP {
			t.Fatalf("events = %+v; want one signin.second_factor_failed, attempts_exceeded, alerted, from %s", evs, sfIP)
		}
		// The owner's history lists it.
		p := signin.Principal{Account: a}
		hist, err := e.Signin.History(ctx, &p, 50)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, h := range hist {
			found = found || h.Type == event.TypeSigninSecondFactorFailed
		}
		if !found {
			t.Errorf("the history does not list the failed second factor")
		}

		// Two more failed flows within the hour: no further alert. (The
		// guard pauses the account's codes after 10 wrong answers; the
		// clock moves past each pause.)
		for _, ip := range []string{"203.0.113.9", "203.0.113.10"} {
			e.Clock.Advance(20 * time.Minute)
			_, err := signInWrong(t, e, ip, secret, authflow.SecondFactorAttempts)
			flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		}
		if m, s := factorFailedAlerts(t, e); m != 1 || s != 1 {
			t.Fatalf("alerts after three failed challenges within the hour: %d e-mails, %d SMS; want still 1 and 1", m, s)
		}
		evs = factorFailedEvents(t, e, a)
		if len(evs) != 3 || evs[0].Data["alerted"] != false {
			t.Fatalf("%d events (newest %+v); want 3, the later ones not alerted", len(evs), evs[0].Data)
		}

		// An hour after the first alert, the next failure alerts again.
		e.Clock.Set(first.Add(authflow.FactorFailedAlertEvery + 10*time.Minute))
		_, err = signInWrong(t, e, sfIP, secret, authflow.SecondFactorAttempts)
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		if m, s := factorFailedAlerts(t, e); m != 2 || s != 2 {
			t.Fatalf("alerts an hour later: %d e-mails, %d SMS; want 2 and 2", m, s)
		}
	})
}

// TestSecondFactorPauseAlertsOwner: a wrong answer that makes the
// account's wrong-code guard pause its codes (the tenth, over three flows
// none of which failed) alerts the owner once, with reason codes_paused;
// wrong answers before it alert no one.
func TestSecondFactorPauseAlertsOwner(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		for _, n := range []int{4, 4, 1} {
			got, err := signInWrong(t, e, sfIP, secret, n)
			flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
			if got.Flow.Status != flow.StatusChallenge {
				t.Fatalf("status %s, want challenge", got.Flow.Status)
			}
		}
		if m, _ := factorFailedAlerts(t, e); m != 0 || len(factorFailedEvents(t, e, a)) != 0 {
			t.Fatalf("%d alerts after 9 wrong answers, want 0", m)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
		req := flowtest.Req(sfIP, ans.DeviceToken)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrongTOTP(t, e, secret)})
		flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		// The next answer, even the right one, finds the codes paused.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if m, _ := factorFailedAlerts(t, e); m != 1 {
			t.Fatalf("%d alerts after the wrong answer that paused the codes, want 1", m)
		}
		evs := factorFailedEvents(t, e, a)
		if len(evs) != 1 || evs[0].Data["reason"] != authflow.FactorFailedPaused || evs[0].Data["alerted"] != true {
			t.Fatalf("events = %+v; want one, codes_paused, alerted", evs)
		}
	})
}

// TestSecondFactorRightAnswerAlertsNoOne: wrong answers followed by the
// right one, in a challenge that did not fail, send no such alert and
// record no such event.
func TestSecondFactorRightAnswerAlertsNoOne(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
		req := flowtest.Req(sfIP, ans.DeviceToken)
		for range authflow.SecondFactorAttempts - 1 {
			_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrongTOTP(t, e, secret)})
			flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")
		if m, _ := factorFailedAlerts(t, e); m != 0 || len(factorFailedEvents(t, e, a)) != 0 {
			t.Fatalf("%d alerts after the right factor, want 0", m)
		}
	})
}

// TestPasswordAssistantSecondFactorFailedAlerts: the password assistant's
// code followed by a failed second factor alerts the owner too, in words
// about a code rather than the password, and the event names the kind.
func TestPasswordAssistantSecondFactorFailedAlerts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req(sfIP, ""), sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req(sfIP, ans.DeviceToken)
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
		wantSecondFactor(t, got, err, "totp")
		for range authflow.SecondFactorAttempts {
			_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrongTOTP(t, e, secret)})
		}
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		var alert string
		for _, m := range e.Messages(t, sfEmail) {
			if m.Template == message.TemplateSecondFactorFailed {
				alert = m.Text
			}
		}
		if !strings.Contains(alert, "お送りした確認コード") || strings.Contains(alert, "正しいパスワード") {
			t.Errorf("the alert after the password assistant's code does not speak of the code:\n%s", alert)
		}
		evs := factorFailedEvents(t, e, a)
		if len(evs) != 1 || evs[0].Data["kind"] != string(flow.KindReset) {
			t.Fatalf("events = %+v; want one, kind password_assistant", evs)
		}
	})
}
