package flowtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

const sfPhone = "+819012345678"

func accountOf(t *testing.T, e *flowtest.Env, email string) *account.Account {
	t.Helper()
	a, err := e.DB.AccountByEmail(context.Background(), e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEnrolmentProvedBeforeItCounts: an authenticator app added but not
// proved changes nothing at sign-in; wrong codes prove nothing and count
// against the account's wrong-code guard (the tenth pauses it); once
// proved, the sign-in asks for it.
func TestEnrolmentProvedBeforeItCounts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a := accountOf(t, e, sfEmail)
		req := flowtest.Req("192.0.2.10", "")
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("sign-in with an unproved app: %+v %v; want the device code, not a second factor", ans.Next, err)
		}
		right := totpAt(t, en.Secret, e.Clock.Now())
		wrong := "000000"
		if wrong == right {
			wrong = "111111"
		}
		for i := 1; i <= 10; i++ {
			_, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, wrong)
			flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		}
		// The guard now pauses the account's codes: even the right one waits.
		_, err = e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, right)
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if st, _ := e.TwoStep.State(ctx, e.JP, a); st.Enabled {
			t.Fatal("2SV is on after wrong codes only")
		}
		e.Clock.Advance(2 * time.Minute)
		en, err = e.TwoStep.BeginTOTP(ctx, e.JP, req, a) // a new secret replaces the unfinished one
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now()))
		if err != nil || !p.TurnedOn || p.HasBackupCodes {
			t.Fatalf("prove: %+v %v; want turned on, no backup codes", p, err)
		}
		e.Clock.Advance(time.Minute)
		ans, err = e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
	})
}

// TestRegeneratedBackupCodesReplaceTheOld: only the newest backup codes work.
func TestRegeneratedBackupCodesReplaceTheOld(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := enrolTOTP(t, e, sfEmail)
		req := flowtest.Req("192.0.2.10", "")
		old, err := e.TwoStep.RegenerateBackupCodesOn(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		fresh, err := e.TwoStep.RegenerateBackupCodesOn(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		backup := func(ip, c string) (*flow.Answer, error) {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, ""), signin.Input{Identifier: sfEmail, Password: pw})
			wantSecondFactor(t, ans, err, "totp", "backup_code")
			r := flowtest.Req(ip, ans.DeviceToken)
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, r, flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"}); err != nil {
				t.Fatal(err)
			}
			return e.Engine.Act(ctx, "jp", ans.Flow.ID, r, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: c})
		}
		_, err = backup(sfIP, old[0])
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		done, err := backup("203.0.113.9", fresh[0])
		wantAAL2(t, e, done, err, "pwd", "backup")
		if done.BackupCodesLeft != nil {
			t.Errorf("backup_codes_left = %d with 9 left, want none", *done.BackupCodesLeft)
		}
	})
}

// TestBackupCodesLeftAfterSignin: a sign-in with a backup code that leaves
// 2 or fewer says how many are left.
func TestBackupCodesLeftAfterSignin(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := enrolTOTP(t, e, sfEmail)
		codes, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range codes[:9] {
			ip := "198.51.100." + string(rune('1'+i))
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, ""), signin.Input{Identifier: sfEmail, Password: pw})
			if err != nil {
				t.Fatal(err)
			}
			r := flowtest.Req(ip, ans.DeviceToken)
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, r, flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"}); err != nil {
				t.Fatal(err)
			}
			done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, r, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: c})
			if err != nil || done.Session == nil {
				t.Fatalf("sign-in %d: %v", i+1, err)
			}
			left := 10 - (i + 1)
			switch {
			case left > twostep.LowBackupCodes && done.BackupCodesLeft != nil:
				t.Errorf("%d left: backup_codes_left = %d, want none", left, *done.BackupCodesLeft)
			case left <= twostep.LowBackupCodes && (done.BackupCodesLeft == nil || *done.BackupCodesLeft != left):
				t.Errorf("%d left: backup_codes_left = %v, want %d", left, done.BackupCodesLeft, left)
			}
		}
	})
}

// TestRemovalAndTurnOffRules: removing one of two methods keeps 2SV on;
// removing the last turns it off and drops the backup codes; TurnOff
// removes every method at once. Each sends one alert, to every verified
// channel (e-mail and SMS), in the account's language.
func TestRemovalAndTurnOffRules(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a := accountOf(t, e, sfEmail)
		now := e.Clock.Now()
		a.Phone, a.PhoneVerifiedAt, a.Locale = sfPhone, &now, "en"
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", "")
		prove := func() string {
			t.Helper()
			en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now())); err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(time.Minute)
			return en.CredentialID
		}
		alerts := func() (mail, sms int) {
			t.Helper()
			for _, m := range e.Messages(t, sfEmail) {
				if m.Template == message.TemplateTwoStepChanged {
					mail++
					if m.Locale != "en" {
						t.Errorf("alert in %q, want the account's en", m.Locale)
					}
				}
			}
			return mail, templates(t, e, sfPhone, message.TemplateTwoStepChanged)
		}
		first := prove()
		second := prove()
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		if m, s := alerts(); m != 3 || s != 3 {
			t.Fatalf("alerts after on, added, backup codes: %d e-mails, %d SMS; want 3 and 3", m, s)
		}
		if err := e.TwoStep.Remove(ctx, e.JP, req, a, first); err != nil {
			t.Fatal(err)
		}
		sum, err := e.TwoStep.Summarize(ctx, e.JP, a)
		if err != nil || !sum.Enabled || len(sum.Methods) != 1 || !sum.Methods[0].Preferred || sum.BackupCodesLeft != 10 {
			t.Fatalf("after removing one of two: %+v %v", sum, err)
		}
		if err := e.TwoStep.Remove(ctx, e.JP, req, a, second); err != nil {
			t.Fatal(err)
		}
		sum, err = e.TwoStep.Summarize(ctx, e.JP, a)
		if err != nil || sum.Enabled || len(sum.Methods) != 0 || sum.BackupCodesLeft != 0 {
			t.Fatalf("after removing the last: %+v %v", sum, err)
		}
		if m, s := alerts(); m != 5 || s != 5 {
			t.Fatalf("alerts after two removals: %d e-mails, %d SMS; want 5 and 5", m, s)
		}
		// Off again: backup codes are refused.
		_, err = e.TwoStep.RegenerateBackupCodesOn(ctx, e.JP, req, a)
		flowtest.WantCode(t, err, ninsho.CodeTwoStepOff)

		prove()
		prove()
		if err := e.TwoStep.TurnOff(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		sum, err = e.TwoStep.Summarize(ctx, e.JP, a)
		if err != nil || sum.Enabled || len(sum.Methods) != 0 {
			t.Fatalf("after TurnOff: %+v %v", sum, err)
		}
		// On, added, and one "turned off" for the two removed at once.
		if m, s := alerts(); m != 8 || s != 8 {
			t.Errorf("alerts after TurnOff: %d e-mails, %d SMS; want 8 and 8", m, s)
		}
		if err := e.TwoStep.TurnOff(ctx, e.JP, req, a); err != nil {
			t.Errorf("turning off what is off: %v", err)
		}
		if m, _ := alerts(); m != 8 {
			t.Errorf("turning off what is off sent an alert")
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step == flow.StepSecondFactor {
			t.Errorf("sign-in after TurnOff: %+v %v; want no second factor", ans.Next, err)
		}
	})
}
