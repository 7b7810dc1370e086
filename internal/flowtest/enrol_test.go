package flowtest_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

// makeSeller turns the account of email into a seller in a realm that
// requires 2SV of sellers.
func makeSeller(t *testing.T, e *flowtest.Env, email string) *account.Account {
	t.Helper()
	ctx := context.Background()
	e.JP.TwoStep.RequiredFor = []string{string(account.TypeSeller)}
	a, err := e.DB.AccountByEmail(ctx, e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	a.Type = account.TypeSeller
	if err := e.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a
}

// TestMandatoryEnrolmentAtSignin: a seller without 2SV in a realm that
// requires it gets no session after the right password but the enrolment
// step; submit_second_factor before begin_totp is code_not_requested;
// begin_totp shows the secret, otpauth URL and QR code; a wrong code is
// refused; the right one completes with a session of AAL 2 (pwd+otp); the
// next sign-in asks the second factor.
func TestMandatoryEnrolmentAtSignin(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		makeSeller(t, e, sfEmail)
		req := flowtest.Req("192.0.2.10", dev)

		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || ans.Session != nil || ans.Flow.Status != flow.StatusChallenge || ans.Next == nil ||
			ans.Next.Step != flow.StepEnrolSecondFactor || strings.Join(ans.Next.Methods, ",") != "totp" {
			t.Fatalf("password: %+v next %+v, %v; want the enrolment step with methods [totp] and no session", ans, ans.Next, err)
		}
		view, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if err != nil || view.Next == nil || view.Next.Step != flow.StepEnrolSecondFactor {
			t.Fatalf("view: %+v, %v", view.Next, err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: "123456"})
		flowtest.WantCode(t, err, ninsho.CodeNoCodeRequested)
		// Nothing is sent at this step: the message says to add the app.
		if msg := i18n.FieldErrorMessage("en", ninsho.ErrorOf(err)); !strings.Contains(msg, "add the authenticator app first") {
			t.Errorf("before begin_totp: %q", msg)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)

		begun, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionBeginTOTP})
		if err != nil || begun.Next == nil || begun.Next.Enrolment == nil {
			t.Fatalf("begin_totp: %+v, %v", begun, err)
		}
		en := begun.Next.Enrolment
		if en.CredentialID == "" || len(en.Secret) != 32 || !strings.HasPrefix(en.OTPAuthURL, "otpauth://totp/") ||
			strings.ReplaceAll(en.SecretGrouped, " ", "") != en.Secret || !strings.HasPrefix(base64.StdEncoding.EncodeToString(en.QRPNG), "iVBORw0KGgo") {
			t.Fatalf("enrolment = %+v", en)
		}
		again, err := e.Kit.SecondFactor().EnrolmentOf(ctx, e.JP, begun.Flow)
		if err != nil || again == nil || again.Secret != en.Secret {
			t.Fatalf("the enrolment shown again: %+v, %v", again, err)
		}
		bad, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: "000000"})
		flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		if bad.Session != nil || bad.Next == nil || bad.Next.AttemptsLeft != 4 {
			t.Fatalf("wrong code: %+v next %+v", bad, bad.Next)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, en.Secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")

		e.Clock.Advance(time.Minute)
		next, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, next, err, "totp")
	})
}

// TestMandatoryEnrolmentAtPasswordAssistant: the password assistant's
// sign-in with the code leads a seller without 2SV to the enrolment step,
// not to a session.
func TestMandatoryEnrolmentAtPasswordAssistant(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		makeSeller(t, e, sfEmail)
		req := flowtest.Req("192.0.2.10", dev)
		ans, err := e.Reset.Start(ctx, e.JP, req, sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		ans, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepChoose {
			t.Fatalf("code: %+v, %v", ans, err)
		}
		ans, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepEnrolSecondFactor {
			t.Fatalf("sign in with the code: %+v, %v; want the enrolment step", ans, err)
		}
	})
}
