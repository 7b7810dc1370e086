package reset_test

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const (
	pw    = "kumo-no-ue-42"
	fresh = "aki-no-sora-2026"
)

// TestResetWithNewPassword: forgot password → code → new password twice. Other
// sessions end, the device becomes familiar, every verified channel is
// alerted, and only the new password works.
func TestResetWithNewPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		other, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || other.Session == nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), " ＨＡＮＡＫＯ@example.jp ")
		if err != nil || ans.Next.Step != flow.StepVerificationCode || ans.Next.Destination != "h*****@e******.jp" {
			t.Fatalf("Start = %+v, %v; want a code step with the masked address", ans, err)
		}
		msgs := e.Messages(t, "hanako@example.jp")
		if msgs[0].Template != "reset_code" {
			t.Fatalf("newest message %q, want reset_code", msgs[0].Template)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
		_, err = act(flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown) // not before the code
		choose, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		if err != nil || choose.Next.Step != flow.StepChoose || strings.Join(choose.Next.Options, ",") != "choose_sign_in_with_code,set_new_password" {
			t.Fatalf("after the code: %+v, %v; want the choice", choose.Next, err)
		}
		_, err = act(flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh + "x"})
		flowtest.WantCode(t, err, ninsho.CodePasswordMismatch)
		_, err = act(flow.Action{Name: flow.ActionSetNewPassword, Password: pw, PasswordConfirmation: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordReused)
		_, err = act(flow.Action{Name: flow.ActionSetNewPassword, Password: "password1", PasswordConfirmation: "password1"})
		flowtest.WantCode(t, err, ninsho.CodePasswordTooCommon)
		e.Clock.Advance(time.Minute)
		done, err := act(flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		if err != nil || done.Session == nil {
			t.Fatalf("set_new_password: %v", err)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, other.Session.Token); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Errorf("the other session after a reset: %v, want unauthenticated", err)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, done.Session.Token); err != nil {
			t.Errorf("the reset's own session: %v", err)
		}
		alert := e.Messages(t, "hanako@example.jp")[0]
		if alert.Template != "password_changed" || !strings.Contains(alert.Text, "/signin/not-me?token=") {
			t.Errorf("newest message %q, want password_changed with the link", alert.Template)
		}
		// The old device is still familiar; the reset device became familiar.
		for name, tok := range map[string]string{"old device": dev, "reset device": ans.DeviceToken} {
			got, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.8", tok), signin.Input{Identifier: "hanako@example.jp", Password: fresh})
			if err != nil || got.Session == nil {
				t.Errorf("%s with the new password: %v, want a session without a code", name, err)
			}
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
	})
}

func TestResetSignInWithCodeOnce(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "090-1234-5678", pw, "+819012345678")
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "０９０－１２３４－５６７８")
		if err != nil || ans.Next.Channel != "sms" || ans.Next.Destination != "090-****-5678" {
			t.Fatalf("Start = %+v, %v; want a code by SMS", ans.Next, err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		c := e.LastCode(t, "+819012345678")
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: c}); err != nil {
			t.Fatal(err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		if err != nil || done.Session == nil {
			t.Fatalf("choose_sign_in_with_code: %v", err)
		}
		// The password is unchanged.
		if got, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "09012345678", Password: pw}); err != nil || got.Session == nil {
			t.Errorf("sign-in with the unchanged password: %v", err)
		}
		// A realm that does not allow it does not offer it.
		e.JP.SignInWithCode = false
		e.Clock.Advance(time.Minute)
		ans, _ = e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "09012345678")
		c = e.LastCode(t, "+819012345678")
		choose, _ := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.8", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
		if strings.Join(choose.Next.Options, ",") != "set_new_password" {
			t.Errorf("options = %v, want set_new_password only", choose.Next.Options)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.8", ans.DeviceToken), flow.Action{Name: flow.ActionSignInWithCode})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
	})
}

// TestResetFinishesAnUnconfirmedSignupWithANewPassword: the assistant for an
// address whose sign-up never finished sends the sign-up code; the code
// proves the address but signs nobody in: only a new password confirms the
// account (issue 8: a stranger's sign-up with the victim's address must not
// become the victim's account with the stranger's password and a session).
func TestResetFinishesAnUnconfirmedSignupWithANewPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const strangers = "strangers-password-1"
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("198.51.100.66", ""), signup.Input{Identifier: "later@example.jp", Name: "L", Password: strangers}); err != nil {
			t.Fatal(err)
		}
		e.Messages(t, "later@example.jp")
		e.Clock.Advance(48 * time.Hour)
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), "later@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		if m := e.Messages(t, "later@example.jp"); m[0].Template != "signup_code" {
			t.Fatalf("newest message %q, want the sign-up code", m[0].Template)
		}
		req := flowtest.Req("192.0.2.1", ans.DeviceToken)
		choose, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "later@example.jp")})
		if err != nil || choose.Session != nil || choose.Next == nil || choose.Next.Step != flow.StepChoose || strings.Join(choose.Next.Options, ",") != "set_new_password" {
			t.Fatalf("the code of an unfinished sign-up: %+v, %v; want the choice of a new password only, no session", choose.Next, err)
		}
		if a, _ := e.DB.AccountByEmail(ctx, "jp", "later@example.jp"); a.Status != account.StatusPending {
			t.Fatalf("after the code alone: status %s, want still pending", a.Status)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSignInWithCode})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		if err != nil || done.Session == nil {
			t.Fatalf("new password: %v, want a session", err)
		}
		a, _ := e.DB.AccountByEmail(ctx, "jp", "later@example.jp")
		if a.Status != account.StatusActive || a.EmailVerifiedAt == nil {
			t.Errorf("account = %+v, want active and verified", a)
		}
		e.Clock.Advance(time.Minute)
		if ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.66", ""), signin.Input{Identifier: "later@example.jp", Password: strangers}); !ninsho.IsCode(err, ninsho.CodePasswordIncorrect) {
			t.Errorf("the sign-up's original password after the reset: %+v, %v; want password_incorrect", ans, err)
		}
	})
}

func TestResetCodeLimitsSurviveResend(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		ans, _ := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "hanako@example.jp")
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		act := func(a flow.Action) error { _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a); return err }
		for i := 0; i < 3; i++ {
			flowtest.WantCode(t, act(flow.Action{Name: flow.ActionSubmitCode, Code: "abcdef"}), ninsho.CodeCodeIncorrect)
		}
		e.Clock.Advance(31 * time.Second)
		if err := act(flow.Action{Name: flow.ActionResendCode}); err != nil {
			t.Fatal(err)
		}
		flowtest.WantCode(t, act(flow.Action{Name: flow.ActionSubmitCode, Code: "abcdef"}), ninsho.CodeCodeIncorrect)
		flowtest.WantCode(t, act(flow.Action{Name: flow.ActionSubmitCode, Code: "abcdef"}), ninsho.CodeCodeAttemptsExceeded)
	})
}

func TestResetStartsAreCapped(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	var err error
	dev := ""
	for i := 0; i < 11; i++ {
		// One device asking for eleven different identifiers within an hour.
		var ans *flow.Answer
		ans, err = e.Reset.Start(ctx, e.Safe, flowtest.Req("198.51.100.8", dev), "person"+string(rune('a'+i))+"@example.com")
		if ans != nil && dev == "" {
			dev = ans.DeviceToken
		}
		if i < 10 && err != nil && !ninsho.IsCode(err, ninsho.CodeCaptchaRequired) {
			t.Fatalf("start %d: %v", i+1, err)
		}
	}
	flowtest.WantCode(t, err, ninsho.CodeRateLimited) // ten starts an hour per device
	e.Clock.Advance(time.Hour + time.Second)
	if _, err := e.Reset.Start(ctx, e.Safe, flowtest.Req("198.51.100.8", dev), "later@example.com"); err != nil {
		t.Errorf("after an hour: %v", err)
	}
}

var updatedAt = regexp.MustCompile(`"updated_at":"([^"]*)"`)

var ids = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"device_token":"[^"]*"`)

// TestSafeRealmAnswersAlike compares the assistant's answers for a known and
// an unknown identifier in a safe realm, byte for byte minus ids and device
// tokens, at every step a person without the code can reach, and checks that
// nothing is sent for the unknown one.
func TestSafeRealmAnswersAlike(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "owner@example.com", pw, "owner@example.com")
		run := func(ident string) [][]byte {
			var out [][]byte
			t0 := e.Clock.Now()
			// next.delivery.updated_at as the time since the run began:
			// the two runs happen one after the other.
			since := func(b []byte) []byte {
				return updatedAt.ReplaceAllFunc(b, func(m []byte) []byte {
					at, err := time.Parse(time.RFC3339, string(updatedAt.FindSubmatch(m)[1]))
					if err != nil {
						t.Fatal(err)
					}
					return []byte(`"updated_at":"+` + at.Sub(t0).String() + `"`)
				})
			}
			enc := func(ans *flow.Answer, err error) {
				b, _ := json.Marshal(struct {
					Status flow.Status
					Next   *flow.Next
					Err    ninsho.Code
					Field  string
				}{ans.Flow.Status, ans.Next, ninsho.CodeOf(err), ninsho.ErrorOf(err).FieldOrEmpty()})
				out = append(out, since(ids.ReplaceAll(b, []byte("ID"))))
			}
			ans, err := e.Reset.Start(ctx, e.Safe, flowtest.Req("198.51.100.8", ""), ident)
			if err != nil {
				t.Fatalf("Start(%s): %v", ident, err)
			}
			enc(ans, nil)
			req := flowtest.Req("198.51.100.8", ans.DeviceToken)
			enc(e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: "000000"}))
			enc(e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}))
			e.Clock.Advance(31 * time.Second)
			enc(e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionResendCode}))
			return out
		}
		hashes := func() uint64 { return e.Kit.Passwords.Limiter.Runs() }
		h0 := hashes()
		known := run("owner@example.com")
		h1 := hashes()
		unknown := run("stranger@example.com")
		h2 := hashes()
		// The timing that tells accounts apart is the hash: both paths
		// spend the same number (none before the code is right).
		if h1-h0 != h2-h1 {
			t.Errorf("hashes spent: known %d, unknown %d; want equal", h1-h0, h2-h1)
		}
		for i := range known {
			// The destination is the identifier typed, masked: mask both alike.
			k := bytes.ReplaceAll(known[i], []byte(`o****@e******.com`), []byte("DEST"))
			u := bytes.ReplaceAll(unknown[i], []byte(`s*******@e******.com`), []byte("DEST"))
			if !bytes.Equal(k, u) {
				t.Errorf("answer %d differs:\n known   %s\n unknown %s", i, k, u)
			}
		}
		if n := len(e.Messages(t, "stranger@example.com")); n != 0 {
			t.Errorf("%d messages sent to an identifier without an account", n)
		}
		if n := len(e.Messages(t, "owner@example.com")); n < 3 {
			t.Errorf("owner got %d messages, want the sign-up code and two reset codes", n)
		}
		// Explicit realms say so.
		_, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "stranger@example.jp")
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
	})
}

// TestRepeatedStartsMeetACaptcha: the third start from one device within an
// hour holds the code back behind a CAPTCHA; solving it sends the code.
func TestRepeatedStartsMeetACaptcha(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		dev := ""
		var ans *flow.Answer
		var err error
		for i := 0; i < 3; i++ {
			e.Clock.Advance(time.Minute)
			ans, err = e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", dev), "hanako@example.jp")
			if ans.DeviceToken != "" {
				dev = ans.DeviceToken
			}
			if i < 2 && err != nil {
				t.Fatalf("start %d: %v", i+1, err)
			}
		}
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		if ans.Next.Step != flow.StepCaptcha || ans.Next.Captcha == nil {
			t.Fatalf("next = %+v, want the CAPTCHA step", ans.Next)
		}
		before := len(e.Messages(t, "hanako@example.jp"))
		req := flowtest.Req("198.51.100.8", dev)
		wrong, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: "x"})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaIncorrect)
		if wrong.Next == nil || wrong.Next.Captcha == nil || wrong.Next.Captcha.ID == ans.Next.Captcha.ID {
			t.Fatalf("a wrong answer: next = %+v, want a new challenge", wrong.Next)
		}
		answer, err := e.Captcha.Answer(ctx, wrong.Next.Captcha.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got := len(e.Messages(t, "hanako@example.jp")); got != before {
			t.Fatalf("a code was sent before the CAPTCHA was solved (%d → %d messages)", before, got)
		}
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		if err != nil || next.Next.Step != flow.StepVerificationCode {
			t.Fatalf("submit_captcha = %+v, %v; want the code step", next.Next, err)
		}
		if m := e.Messages(t, "hanako@example.jp"); len(m) != before+1 || m[0].Template != "reset_code" {
			t.Errorf("after the CAPTCHA: %d messages, newest %q; want one more reset_code", len(m), m[0].Template)
		}
	})
}

// TestResetSwitchChannelAndAlertsEveryChannel: an account with a verified
// e-mail and phone may take the code by SMS instead, and a reset alerts both.
func TestResetSwitchChannelAndAlertsEveryChannel(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		now := e.Clock.Now()
		a.Phone, a.PhoneVerifiedAt = "+819012345678", &now
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), "hanako@example.jp")
		if err != nil || strings.Join(ans.Next.Alternatives, ",") != "sms" {
			t.Fatalf("Start = %+v, %v; want SMS offered", ans.Next, err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		e.Clock.Advance(31 * time.Second)
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "sms"})
		if err != nil || sw.Next.Channel != "sms" {
			t.Fatalf("switch_channel: %+v, %v", sw.Next, err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "+819012345678")}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh}); err != nil {
			t.Fatal(err)
		}
		for _, to := range []string{"hanako@example.jp", "+819012345678"} {
			if m := e.Messages(t, to); m[0].Template != "password_changed" {
				t.Errorf("newest message to %s: %q, want password_changed", to, m[0].Template)
			}
		}
	})
}
