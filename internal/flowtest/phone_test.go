package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

const (
	// A mobile number as typed in Japan, and as stored (E.164).
	phMobile      = "090-1234-5678"
	phMobileE164  = "+819012345678"
	phMobile2     = "080-9876-5432"
	phMobile2E164 = "+818098765432"
	// A fixed line (Tokyo): a voice call reaches it, a text message does not.
	phFixed     = "03-1234-5678"
	phFixedE164 = "+81312345678"
)

// lastTo returns the newest message to the number, failing without one.
func lastTo(t *testing.T, e *flowtest.Env, to string) *devinbox.Message {
	t.Helper()
	ms := e.Messages(t, to)
	if len(ms) == 0 {
		t.Fatalf("no message to %s", to)
	}
	return ms[0]
}

// enrolPhone adds and proves a phone method of the account of email and
// returns the account and the credential id.
func enrolPhone(t *testing.T, e *flowtest.Env, email string, m twostep.Method, typed, to string) (*account.Account, string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.DB.AccountByEmail(ctx, e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", "")
	en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, m, typed, "")
	if err != nil {
		t.Fatalf("begin %s: %v", m, err)
	}
	if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, to)); err != nil {
		t.Fatalf("prove %s: %v", m, err)
	}
	e.Clock.Advance(time.Minute)
	return a, en.CredentialID
}

// TestPhoneEnrolSMSAndVoice: a text-message number and a voice-call number
// are each proved with the code sent to them before they count; the first
// turns 2SV on; a wrong code uses an attempt and counts in the account's
// guard; the voice call reads the code out twice, digit by digit, in the
// account's language.
func TestPhoneEnrolSMSAndVoice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, err := e.DB.AccountByEmail(ctx, e.JP.ID, sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", "")

		// A text message needs a mobile number; an e-mail is never a method.
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phFixed, "")
		flowtest.WantRefusals(t, err, "phone_not_mobile/phone")
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, sfEmail, "")
		flowtest.WantRefusals(t, err, "identifier_invalid/phone")
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.Method("email"), sfEmail, "")
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)

		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile, "")
		if err != nil {
			t.Fatal(err)
		}
		if en.Destination != "090-****-5678" {
			t.Errorf("destination = %q, want 090-****-5678", en.Destination)
		}
		sms := lastTo(t, e, phMobileE164)
		if sms.Channel != "sms" || sms.Template != message.TemplateTwoStepCode || !strings.HasPrefix(sms.Text, "【") {
			t.Errorf("sms = %s %s %q", sms.Channel, sms.Template, sms.Text)
		}
		// Not a method before it is proved.
		if ms, _ := e.TwoStep.Methods(ctx, e.JP, a); len(ms) != 0 {
			t.Errorf("methods before proof: %+v", ms)
		}
		wrong := "000000"
		if sms.Code == wrong {
			wrong = "111111"
		}
		_, err = e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, wrong)
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if left := ninsho.ErrorOf(err).Params["attempts_left"]; left != 4 {
			t.Errorf("attempts_left = %v, want 4", left)
		}
		if g, err := e.DB.CodeGuard(ctx, e.JP.ID, "account:"+a.ID); err != nil || g.Total != 1 {
			t.Errorf("guard after a wrong enrolment code = %+v, %v; want 1 failure", g, err)
		}
		// Another account cannot prove it.
		_, err = e.TwoStep.ProvePhone(ctx, e.JP, req, &account.Account{ID: "someone-else"}, en.CredentialID, sms.Code)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)

		p, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, sms.Code)
		if err != nil || !p.TurnedOn {
			t.Fatalf("prove sms: %+v, %v; want 2SV turned on", p, err)
		}
		// Used once only.
		_, err = e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, sms.Code)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)

		// A voice call reaches a fixed line; the account reads English.
		a.Locale = "en"
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		ev, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodVoice, phFixed, "")
		if err != nil {
			t.Fatal(err)
		}
		call := lastTo(t, e, phFixedE164)
		if call.Channel != "voice" || call.Locale != "en" {
			t.Errorf("voice message on %s in %s, want voice in en", call.Channel, call.Locale)
		}
		spoken := strings.Join(strings.Split(call.Code, ""), ", ")
		if strings.Count(call.Text, spoken) != 2 {
			t.Errorf("the call does not read %q twice:\n%s", spoken, call.Text)
		}
		p, err = e.TwoStep.ProvePhone(ctx, e.JP, req, a, ev.CredentialID, call.Code)
		if err != nil || p.TurnedOn {
			t.Fatalf("prove voice: %+v, %v; want proved, 2SV already on", p, err)
		}
		ms, err := e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil || len(ms) != 2 || ms[0].Kind != twostep.MethodSMS || !ms[0].Preferred || ms[1].Kind != twostep.MethodVoice {
			t.Errorf("methods = %+v, %v; want sms (preferred), voice", ms, err)
		}
		// The enrolment record is no flow anyone can act on.
		_, err = e.Engine.View(ctx, "jp", en.CredentialID, flowtest.Req("192.0.2.10", ""))
		flowtest.WantCode(t, err, ninsho.CodeFlowNotFound)
	})
}

// TestPhoneEnrolExpiryAndResend: the enrolment code expires after 10
// minutes (injected clock); a resend waits 30 s, then sends a new code that
// proves the number.
func TestPhoneEnrolExpiryAndResend(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := e.DB.AccountByEmail(ctx, e.JP.ID, sfEmail)
		req := flowtest.Req("192.0.2.10", "")
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile, "")
		if err != nil {
			t.Fatal(err)
		}
		first := e.LastCode(t, phMobileE164)
		_, err = e.TwoStep.ResendPhone(ctx, e.JP, req, a, en.CredentialID)
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)

		e.Clock.Advance(10 * time.Minute)
		_, err = e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, first)
		flowtest.WantCode(t, err, ninsho.CodeCodeExpired)
		if _, err := e.TwoStep.ResendPhone(ctx, e.JP, req, a, en.CredentialID); err != nil {
			t.Fatalf("resend: %v", err)
		}
		second := e.LastCode(t, phMobileE164)
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, second); err != nil {
			t.Fatalf("prove with the resent code: %v", err)
		}
	})
}

// signInToChallenge signs in with the password from a new device and
// returns the second-factor answer and the request of that device.
func signInToChallenge(t *testing.T, e *flowtest.Env) (*flow.Answer, ninsho.Request) {
	t.Helper()
	ans, err := e.Signin.Start(context.Background(), e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return ans, flowtest.Req(sfIP, ans.DeviceToken)
}

// TestPhoneSignInWithSMSAndVoice: after the right password the code goes
// by text message to the preferred number (masked in next.destination);
// it completes with AAL 2 and methods pwd+sms. switching to the voice call
// calls the other number and completes with pwd+tel. A wrong code uses one
// of the challenge's attempts and counts in the account's guard.
func TestPhoneSignInWithSMSAndVoice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)
		texts, calls := len(e.Messages(t, phMobileE164)), len(e.Messages(t, phFixedE164))

		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "voice")
		if ans.Next.Destination != "090-****-5678" || ans.Next.ResendAfterS != 30 {
			t.Errorf("next = %+v; want destination 090-****-5678, resend after 30 s", ans.Next)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts+1 {
			t.Fatalf("%d texts, want %d", got, texts+1)
		}
		if got := len(e.Messages(t, phFixedE164)); got != calls {
			t.Errorf("the voice number was called before it was asked for")
		}
		sms := lastTo(t, e, phMobileE164)
		wrong := "000000"
		if sms.Code == wrong {
			wrong = "111111"
		}
		bad, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrong})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if bad.Next == nil || bad.Next.AttemptsLeft != 4 {
			t.Errorf("after a wrong code: next %+v; want 4 attempts left", bad.Next)
		}
		if g, _ := e.DB.CodeGuard(ctx, e.JP.ID, "account:"+a.ID); g.Total != 1 {
			t.Errorf("guard total = %d, want 1", g.Total)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: sms.Code})
		wantAAL2(t, e, done, err, "pwd", "sms")

		// The voice call, by switch_method.
		e.Clock.Advance(time.Minute)
		ans, req = signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "voice")
		e.Clock.Advance(31 * time.Second)
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		wantSecondFactor(t, sw, err, "voice", "sms")
		if sw.Next.Destination != "03-****-5678" {
			t.Errorf("destination = %q, want the fixed line masked", sw.Next.Destination)
		}
		call := lastTo(t, e, phFixedE164)
		if call.Channel != "voice" || call.Template != message.TemplateTwoStepCode {
			t.Fatalf("call = %s %s", call.Channel, call.Template)
		}
		done, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")
	})
}

// TestPhoneSwitchFromTOTPAndResend: an account whose preferred method is
// the authenticator app gets no text at the password; switch_method to sms
// sends one; resend_code waits for the 30 s cool-down, then sends another,
// and only the newest code is accepted. resend_code is refused for the
// authenticator app.
func TestPhoneSwitchFromTOTPAndResend(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolTOTP(t, e, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		texts := len(e.Messages(t, phMobileE164))

		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "totp", "sms")
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Fatalf("a text was sent while the authenticator app was asked for")
		}
		_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)

		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
		wantSecondFactor(t, sw, err, "sms", "totp")
		first := e.LastCode(t, phMobileE164)

		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
		e.Clock.Advance(30 * time.Second)
		re, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode})
		wantSecondFactor(t, re, err, "sms", "totp")
		second := e.LastCode(t, phMobileE164)
		if first != second {
			_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: first})
			flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: second})
		wantAAL2(t, e, done, err, "pwd", "sms")
	})
}

// TestPhoneWrongPasswordSendsNothing: a stranger without the password
// cannot make the owner's phone buzz.
func TestPhoneWrongPasswordSendsNothing(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		texts := len(e.Messages(t, phMobileE164))
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw + "x"})
		if err == nil {
			t.Fatal("a wrong password was accepted")
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Errorf("%d texts after a wrong password, want %d", got, texts)
		}
	})
}

// TestPhoneChangeWithReplaces: a new number that replaces the preferred
// one keeps the old number working until it is proved; once proved, the
// old credential is gone and the new one is preferred, and sign-in texts
// the new number.
func TestPhoneChangeWithReplaces(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, old := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		req := flowtest.Req("192.0.2.10", "")

		_, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile2, "not-a-credential")
		flowtest.WantRefusals(t, err, "not_found/replaces")
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile2, old)
		if err != nil {
			t.Fatal(err)
		}
		newCode := e.LastCode(t, phMobile2E164)

		// Until then the old number is the one sign-in uses.
		ans, sreq := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms")
		if ans.Next.Destination != "090-****-5678" {
			t.Errorf("destination before the change = %q", ans.Next.Destination)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, sreq, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: e.LastCode(t, phMobileE164)})
		wantAAL2(t, e, done, err, "pwd", "sms")

		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, newCode); err != nil {
			t.Fatalf("prove the new number: %v", err)
		}
		ms, err := e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil || len(ms) != 1 || ms[0].ID != en.CredentialID || !ms[0].Preferred {
			t.Fatalf("methods after the change = %+v, %v; want only the new number, preferred", ms, err)
		}
		e.Clock.Advance(time.Minute)
		ans, _ = signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms")
		if ans.Next.Destination != "080-****-5432" {
			t.Errorf("destination after the change = %q", ans.Next.Destination)
		}
	})
}

// TestPhoneSignInCodeExpires: the text of a challenge expires after 10
// minutes (no attempt used); resend_code sends one that works.
func TestPhoneSignInCodeExpires(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms")
		old := e.LastCode(t, phMobileE164)
		e.Clock.Advance(10 * time.Minute)
		exp, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: old})
		flowtest.WantCode(t, err, ninsho.CodeCodeExpired)
		if exp.Next == nil || exp.Next.AttemptsLeft != 5 {
			t.Errorf("after an expired code: next %+v; want 5 attempts left", exp.Next)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}); err != nil {
			t.Fatalf("resend: %v", err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: e.LastCode(t, phMobileE164)})
		wantAAL2(t, e, done, err, "pwd", "sms")
	})
}

// TestPhoneCodeDiesWithItsNumber: a code texted at sign-in stops working
// when its number is removed from the account before it is typed (a lost
// phone removed from the settings), and the challenge is still open.
func TestPhoneCodeDiesWithItsNumber(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolTOTP(t, e, sfEmail)
		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "totp")
		texted := e.LastCode(t, phMobileE164)
		if err := e.TwoStep.Remove(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: texted})
		flowtest.WantCode(t, err, ninsho.CodeCodeExpired)
		if got.Session != nil || got.Flow.Status != flow.StatusChallenge {
			t.Fatalf("a removed number's code: %+v; want no session, the challenge open", got)
		}
	})
}
