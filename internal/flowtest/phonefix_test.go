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
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
	"github.com/ninsho/ninsho/internal/twostep"
)

// A third and a fourth mobile number, as typed and as stored.
const (
	phMobile3     = "070-1111-2222"
	phMobile3E164 = "+817011112222"
	phMobile4     = "080-3333-4444"
	phMobile4E164 = "+818033334444"
)

// twoStepAlerts returns the two_step_changed messages to to, newest first.
func twoStepAlerts(t *testing.T, e *flowtest.Env, to string) []string {
	t.Helper()
	var out []string
	for _, m := range e.Messages(t, to) {
		if m.Template == message.TemplateTwoStepChanged {
			out = append(out, m.Subject+m.Text)
		}
	}
	return out
}

// wantNewAlert fails unless to got exactly one more two-step alert than
// before (n), saying text.
func wantNewAlert(t *testing.T, e *flowtest.Env, to string, n int, text string) int {
	t.Helper()
	got := twoStepAlerts(t, e, to)
	if len(got) != n+1 || !strings.Contains(got[0], text) {
		t.Fatalf("alerts to %s: %d (newest %q), want %d, the newest saying %q", to, len(got), first(got), n+1, text)
	}
	return len(got)
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// TestPhoneAndPasskeyChangesAlert: proving a first phone number (2SV
// turned on), another number (method added) and a passkey (method added)
// each alert the verified e-mail; changing the 2SV number (replaces)
// alerts the e-mail and the old number by text message, and not the new
// number, which got only its code.
func TestPhoneAndPasskeyChangesAlert(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		mail := len(twoStepAlerts(t, e, sfEmail))

		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		mail = wantNewAlert(t, e, sfEmail, mail, "2段階認証がオンになりました")
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)
		mail = wantNewAlert(t, e, sfEmail, mail, "確認方法が追加されました")
		if got := twoStepAlerts(t, e, phFixedE164); len(got) != 0 {
			t.Errorf("the new voice number got alerts: %q", got)
		}
		enrolPasskey(t, e, sfEmail, &passkeytest.Authenticator{Origin: pkOrigin})
		mail = wantNewAlert(t, e, sfEmail, mail, "確認方法：パスキー")

		// Changing the 2SV phone: the old number hears of it too.
		req := flowtest.Req("192.0.2.10", "")
		old := len(twoStepAlerts(t, e, phMobileE164))
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile2, smsID)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(twoStepAlerts(t, e, sfEmail)); got != mail {
			t.Errorf("an alert before the new number was proved")
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, phMobile2E164)); err != nil {
			t.Fatal(err)
		}
		wantNewAlert(t, e, sfEmail, mail, "2段階認証の電話番号が変更されました")
		wantNewAlert(t, e, phMobileE164, old, "2段階認証の電話番号が変更されました")
		if ms := e.Messages(t, phMobileE164); ms[0].Channel != "sms" || !strings.Contains(ms[0].Text, "/n/") {
			t.Errorf("the old number's alert: %s %q; want a text with the \"this wasn't me\" link", ms[0].Channel, ms[0].Text)
		}
		if got := twoStepAlerts(t, e, phMobile2E164); len(got) != 0 {
			t.Errorf("the new number got alerts: %q", got)
		}
	})
}

// TestPhoneChangeAlertsOnceWhenTheOldNumberIsTheAccounts: an account that
// signed up with its mobile number and used it for 2SV gets one alert
// there when the 2SV number changes, not two.
func TestPhoneChangeAlertsOnceWhenTheOldNumberIsTheAccounts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, phMobile, pw, phMobileE164)
		a, err := e.DB.AccountByPhone(ctx, e.JP.ID, phMobileE164)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", "")
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, phMobileE164)); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		n := len(twoStepAlerts(t, e, phMobileE164))
		ch, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, phMobile2, en.CredentialID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, ch.CredentialID, e.LastCode(t, phMobile2E164)); err != nil {
			t.Fatal(err)
		}
		wantNewAlert(t, e, phMobileE164, n, "2段階認証の電話番号が変更されました")
	})
}

// TestPhoneEnrolAccountCap: one account may begin phone enrolments to 3
// different numbers an hour and be sent 10 enrolment codes an hour in
// all; the next is resend_limit_reached (kind two_step_account) and
// nothing goes out; refusals are not counted, and an hour later it may
// begin again.
func TestPhoneEnrolAccountCap(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, err := e.DB.AccountByEmail(ctx, e.JP.ID, sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", "")
		wantCapped := func(err error) {
			t.Helper()
			flowtest.WantCode(t, err, ninsho.CodeResendLimitReached)
			if k := ninsho.ErrorOf(err).Params["kind"]; k != "two_step_account" {
				t.Errorf("kind = %v, want two_step_account", k)
			}
		}
		begin := func(typed string) (*twostep.PhoneEnrolment, error) {
			t.Helper()
			e.Clock.Advance(31 * time.Second)
			return e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, typed, "")
		}
		resend := func(id string, times int) {
			t.Helper()
			for i := 0; i < times; i++ {
				e.Clock.Advance(31 * time.Second)
				if _, err := e.TwoStep.ResendPhone(ctx, e.JP, req, a, id); err != nil {
					t.Fatalf("resend %d: %v", i+1, err)
				}
			}
		}

		// Three numbers: the fourth is refused, and not sent to.
		for _, n := range []string{phMobile, phMobile2, phMobile3} {
			if _, err := begin(n); err != nil {
				t.Fatalf("begin %s: %v", n, err)
			}
		}
		_, err = begin(phMobile4)
		wantCapped(err)
		if got := e.Messages(t, phMobile4E164); len(got) != 0 {
			t.Errorf("%d messages to the fourth number, want none", len(got))
		}
		// A number begun already this hour is not a new one.
		en, err := begin(phMobile)
		if err != nil {
			t.Fatalf("begin the first number again: %v", err)
		}
		// 4 codes so far; 6 more over the three numbers make 10 (each
		// number stays within its own hourly budget; a new enrolment
		// replaces the unfinished one), the eleventh is refused.
		resend(en.CredentialID, 2)
		en, err = begin(phMobile2)
		if err != nil {
			t.Fatal(err)
		}
		resend(en.CredentialID, 2)
		if en, err = begin(phMobile3); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(31 * time.Second)
		_, err = e.TwoStep.ResendPhone(ctx, e.JP, req, a, en.CredentialID)
		wantCapped(err)
		if got := len(e.Messages(t, phMobileE164)); got != 4 {
			t.Errorf("%d codes to the first number, want 4 (2 begins, 2 resends)", got)
		}

		// An hour later: refusals were not counted, the budget is back.
		e.Clock.Advance(time.Hour)
		if _, err := begin(phMobile4); err != nil {
			t.Fatalf("begin a new number an hour later: %v", err)
		}
		// Another account has its own caps.
		e.MustSignUp(t, e.JP, "taro@example.jp", pw, "taro@example.jp")
		b, err := e.DB.AccountByEmail(ctx, e.JP.ID, "taro@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, b, twostep.MethodVoice, phFixed, ""); err != nil {
			t.Fatalf("another account: %v", err)
		}
	})
}

// drainWakeups forgets the outbox wake-ups so far.
func drainWakeups(e *flowtest.Env) {
	for {
		select {
		case <-e.Kit.Outbox.Wakeups():
		default:
			return
		}
	}
}

// wantWoken fails unless the outbox was woken since drainWakeups.
func wantWoken(t *testing.T, e *flowtest.Env, what string) {
	t.Helper()
	select {
	case <-e.Kit.Outbox.Wakeups():
	default:
		t.Errorf("the outbox was not woken after %s", what)
	}
}

// TestPhoneChallengeSaysWhenCodeNotSent: when the number's hourly budget
// is spent, a new challenge still shows the sms method, sends nothing and
// says why in next.not_sent; another method works; a code sent later
// clears it.
func TestPhoneChallengeSaysWhenCodeNotSent(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		a, smsID := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if err := e.TwoStep.SetPreferred(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a, smsID); err != nil {
			t.Fatal(err)
		}
		// This challenge (1) + 9 resends: the 10 codes of the owner's lane
		// of the hour (the enrolment's code was the strangers' lane's).
		drainWakeups(e)
		ans, req := signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "totp")
		wantWoken(t, e, "a sign-in challenge that texted a code")
		if ans.Next.NotSent != "" {
			t.Errorf("not_sent = %q on a challenge whose code went", ans.Next.NotSent)
		}
		for i := 0; i < 9; i++ {
			e.Clock.Advance(31 * time.Second)
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}); err != nil {
				t.Fatalf("resend %d: %v", i+1, err)
			}
		}
		texts := len(e.Messages(t, phMobileE164))

		e.Clock.Advance(time.Minute)
		ans, req = signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "totp")
		if ans.Next.NotSent != string(ninsho.CodeResendLimitReached) || ans.Next.Destination != "090-****-5678" {
			t.Errorf("next = %+v; want not_sent resend_limit_reached for 090-****-5678", ans.Next)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Errorf("%d texts, want %d: the budget was spent", got, texts)
		}
		// Read again, the flow still says so.
		view, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if err != nil || view.Next == nil || view.Next.NotSent != string(ninsho.CodeResendLimitReached) {
			t.Errorf("view: %+v, %v; want not_sent kept", view.Next, err)
		}
		// The authenticator app still completes it.
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "totp"})
		wantSecondFactor(t, sw, err, "totp", "sms")
		if sw.Next.NotSent != "" {
			t.Errorf("not_sent = %q at the authenticator app", sw.Next.NotSent)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")

		// An hour later the code goes again and not_sent is gone.
		e.Clock.Advance(time.Hour)
		ans, _ = signInToChallenge(t, e)
		wantSecondFactor(t, ans, nil, "sms", "totp")
		if ans.Next.NotSent != "" || len(e.Messages(t, phMobileE164)) != texts+1 {
			t.Errorf("an hour later: not_sent %q; want the code sent", ans.Next.NotSent)
		}
	})
}

// TestPhoneGateInPasswordAssistantAndUnlock: for an account whose only
// method is SMS, the password assistant and unlock text the second
// factor's code only after their own code is right; until the SMS code is
// right nothing has changed; the right SMS code leads on, and the flow
// completes at AAL 2 with the methods email and sms. The outbox is woken
// for the text.
func TestPhoneGateInPasswordAssistantAndUnlock(t *testing.T) {
	const newPW = "aki-no-sora-2026"
	for _, kind := range []string{"password_assistant", "unlock"} {
		t.Run(kind, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
				a, _ := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
				if kind == "unlock" {
					until, at := e.Clock.Now().Add(30*time.Minute), e.Clock.Now()
					if err := e.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 3, LockedAt: &at}); err != nil {
						t.Fatal(err)
					}
				}
				before := effectsOf(t, e, a, otherSession(t, e, a))
				texts := len(e.Messages(t, phMobileE164))

				var ans *flow.Answer
				var err error
				if kind == "unlock" {
					ans, err = e.Unlock.Start(ctx, e.JP, flowtest.Req(sfIP, ""), sfEmail)
				} else {
					ans, err = e.Reset.Start(ctx, e.JP, flowtest.Req(sfIP, ""), sfEmail)
				}
				if err != nil {
					t.Fatal(err)
				}
				req := flowtest.Req(sfIP, ans.DeviceToken)
				act := func(x flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, x) }
				mailCode := e.LastCode(t, sfEmail)
				if got := len(e.Messages(t, phMobileE164)); got != texts {
					t.Fatalf("a text before the %s's own code was right", kind)
				}
				drainWakeups(e)
				got, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: mailCode})
				wantSecondFactor(t, got, err, "sms")
				wantWoken(t, e, "the "+kind+"'s second-factor text")
				if got.Next.Destination != "090-****-5678" || got.Next.NotSent != "" {
					t.Errorf("next = %+v; want the code texted to 090-****-5678", got.Next)
				}
				sms := lastTo(t, e, phMobileE164)
				if sms.Template != message.TemplateTwoStepCode || len(e.Messages(t, phMobileE164)) != texts+1 {
					t.Fatalf("texts after the code: newest %s; want one two_step_code", sms.Template)
				}
				wantUntouched(t, e, a, before)

				wrong := "000000"
				if sms.Code == wrong {
					wrong = "111111"
				}
				_, err = act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrong})
				flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
				wantUntouched(t, e, a, before)

				next, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: sms.Code})
				if err != nil || next.Session != nil || next.Next == nil {
					t.Fatalf("after the SMS code: %+v, %v", next, err)
				}
				wantUntouched(t, e, a, before)
				var done *flow.Answer
				if kind == "unlock" {
					if next.Next.Step != flow.StepPassword {
						t.Fatalf("step %s, want password", next.Next.Step)
					}
					done, err = act(flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
					wantAAL2(t, e, done, err, "pwd", "email", "sms")
					if after := effectsOf(t, e, a, before.other); after.lock != "" {
						t.Errorf("lock %q after the unlock, want lifted", after.lock)
					}
					return
				}
				if next.Next.Step != flow.StepChoose {
					t.Fatalf("step %s, want choose", next.Next.Step)
				}
				done, err = act(flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW})
				wantAAL2(t, e, done, err, "pwd", "email", "sms")
				wantPasswordChanged(t, e, a, before)
			})
		})
	}
}

// TestStrangersEnrolmentsCannotSilenceTheOwnersNumber: enrolments are
// asked by accounts that have not proved they own the number, so their
// codes come from the number's strangers' lane. Other accounts that fill
// it (and get resend_limit_reached) leave the owner's second-factor codes
// untouched: the owner's sign-in still texts the code.
func TestStrangersEnrolmentsCannotSilenceTheOwnersNumber(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		e.Clock.Advance(time.Hour) // the owner's own enrolment code is past

		req := flowtest.Req("203.0.113.9", "")
		sent, refused := 0, 0
		for i := range 4 {
			email := "stranger" + string(rune('a'+i)) + "@example.jp"
			e.MustSignUp(t, e.JP, email, pw, email)
			s, err := e.DB.AccountByEmail(ctx, e.JP.ID, email)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range []twostep.Method{twostep.MethodSMS, twostep.MethodVoice} {
				e.Clock.Advance(31 * time.Second)
				_, err := e.TwoStep.BeginPhone(ctx, e.JP, req, s, m, phMobile, "")
				switch ninsho.CodeOf(err) {
				case "":
					sent++
				case ninsho.CodeResendLimitReached:
					refused++
				default:
					t.Fatalf("stranger %d %s: %v", i, m, err)
				}
			}
		}
		if sent != 5 || refused != 3 {
			t.Errorf("strangers' enrolment codes to the number: %d sent, %d refused; want 5 and 3 (the strangers' lane)", sent, refused)
		}

		before := len(e.Messages(t, phMobileE164))
		ans, _ := signInToChallenge(t, e)
		if ans.Next == nil || ans.Next.Method != "sms" || ans.Next.NotSent != "" {
			t.Fatalf("owner's challenge = %+v; want sms, sent", ans.Next)
		}
		if got := len(e.Messages(t, phMobileE164)); got != before+1 {
			t.Errorf("messages to the owner's number after the sign-in: %d, want %d", got, before+1)
		}
	})
}
