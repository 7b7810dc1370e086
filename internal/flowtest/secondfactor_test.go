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
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/totp"
)

const (
	sfEmail = "hanako@example.jp"
	sfIP    = "198.51.100.7" // an unfamiliar network
)

// enrolTOTP turns 2SV on for the account of email with a proved
// authenticator app and returns its secret; the clock then moves past the
// step the proof used.
func enrolTOTP(t *testing.T, e *flowtest.Env, email string) (*account.Account, string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.DB.AccountByEmail(ctx, e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", "")
	en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now())); err != nil {
		t.Fatalf("prove: %v", err)
	}
	e.Clock.Advance(time.Minute)
	return a, en.Secret
}

func totpAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.CodeAt(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantSecondFactor fails unless ans is the second-factor step without a
// session, asking for method with alternatives alts.
func wantSecondFactor(t *testing.T, ans *flow.Answer, err error, method string, alts ...string) {
	t.Helper()
	if err != nil {
		t.Fatalf("answer: %v; want the second-factor step", err)
	}
	if ans.Session != nil || ans.AccountID != "" {
		t.Fatalf("a session (or account) before the second factor: %+v", ans)
	}
	if ans.Flow.Status != flow.StatusChallenge || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor {
		t.Fatalf("answer = status %s next %+v; want challenge at second_factor", ans.Flow.Status, ans.Next)
	}
	if ans.Next.Method != method || strings.Join(ans.Next.Alternatives, ",") != strings.Join(alts, ",") {
		t.Fatalf("next = method %q alternatives %v; want %q %v", ans.Next.Method, ans.Next.Alternatives, method, alts)
	}
}

// wantAAL2 fails unless ans carries a session of AAL 2 with methods.
func wantAAL2(t *testing.T, e *flowtest.Env, ans *flow.Answer, err error, methods ...string) {
	t.Helper()
	if err != nil || ans.Session == nil {
		t.Fatalf("answer: %+v, %v; want a session", ans, err)
	}
	if ans.Flow.Status != flow.StatusComplete || ans.Session.AAL != 2 {
		t.Errorf("status %s aal %d; want complete, 2", ans.Flow.Status, ans.Session.AAL)
	}
	p, err := e.Signin.Authenticate(context.Background(), e.JP, ans.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Session.AAL != 2 || strings.Join(p.Session.Methods, ",") != strings.Join(methods, ",") {
		t.Errorf("session aal %d methods %v; want 2 %v", p.Session.AAL, p.Session.Methods, methods)
	}
}

// TestSecondFactorReplacesDeviceCode: the right password on an unfamiliar
// device of an account with 2SV asks for the authenticator app (no e-mail
// code is sent); the right TOTP completes with AAL 2, methods pwd+otp, and
// the owner gets the new-device sign-in alert; the
// same TOTP in a new flow is refused as reused.
func TestSecondFactorReplacesDeviceCode(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		mails := len(e.Messages(t, sfEmail))

		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
		if ans.Next.AttemptsLeft != 5 {
			t.Errorf("attempts_left = %d, want 5", ans.Next.AttemptsLeft)
		}
		if got := len(e.Messages(t, sfEmail)); got != mails {
			t.Errorf("%d messages after the password, want %d (no device code with 2SV)", got, mails)
		}
		req := flowtest.Req(sfIP, ans.DeviceToken)
		// The device-code actions are not this step's.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: "123456"})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
		view, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		wantSecondFactor(t, view, err, "totp")

		alerts := templates(t, e, sfEmail, message.TemplateSigninAlert)
		code := totpAt(t, secret, e.Clock.Now())
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: code})
		wantAAL2(t, e, done, err, "pwd", "otp")
		// The new device is told of, as after the device code.
		if got := templates(t, e, sfEmail, message.TemplateSigninAlert); got != alerts+1 {
			t.Errorf("%d sign-in alerts after the second factor on a new device, want %d", got, alerts+1)
		}

		// The same code in a new flow (another device) is refused.
		again, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, again, err, "totp")
		ans2, err := e.Engine.Act(ctx, "jp", again.Flow.ID, flowtest.Req("203.0.113.9", again.DeviceToken), flow.Action{Name: flow.ActionSubmitSecondFactor, Code: code})
		flowtest.WantCode(t, err, ninsho.CodeTOTPReused)
		if ans2.Session != nil || ans2.Next == nil || ans2.Next.AttemptsLeft != 4 {
			t.Errorf("after a reused code: %+v next %+v; want no session, 4 attempts left", ans2, ans2.Next)
		}
	})
}

// TestSecondFactorBackupCodeAndSwitch: with backup codes left they are the
// alternative; switch_method to backup_code and a backup code completes with
// methods pwd+backup, once; an unknown method cannot be switched to.
func TestSecondFactorBackupCodeAndSwitch(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := enrolTOTP(t, e, sfEmail)
		codes, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a)
		if err != nil {
			t.Fatal(err)
		}
		start := func(ip string) (*flow.Answer, func(flow.Action) (*flow.Answer, error)) {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, ""), signin.Input{Identifier: sfEmail, Password: pw})
			wantSecondFactor(t, ans, err, "totp", "backup_code")
			req := flowtest.Req(ip, ans.DeviceToken)
			return ans, func(act flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, act) }
		}
		_, act := start(sfIP)
		_, err = act(flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		_, err = act(flow.Action{Name: flow.ActionSwitchMethod})
		flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
		sw, err := act(flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"})
		wantSecondFactor(t, sw, err, "backup_code", "totp")
		done, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: codes[0]})
		wantAAL2(t, e, done, err, "pwd", "backup")

		// The used backup code is no way in again.
		_, act = start("203.0.113.9")
		if _, err := act(flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"}); err != nil {
			t.Fatal(err)
		}
		_, err = act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: codes[0]})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
	})
}

// TestSecondFactorFiveWrongAnswersFail: the fifth wrong answer fails the
// flow (code_attempts_exceeded), and the right code then does nothing.
func TestSecondFactorFiveWrongAnswersFail(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
		req := flowtest.Req(sfIP, ans.DeviceToken)
		right := totpAt(t, secret, e.Clock.Now())
		wrong := "000000"
		if wrong == right {
			wrong = "111111"
		}
		for i := 1; i <= 4; i++ {
			got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrong})
			flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
			if got.Next == nil || got.Next.AttemptsLeft != 5-i {
				t.Fatalf("after %d wrong: next %+v, want %d attempts left", i, got.Next, 5-i)
			}
		}
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrong})
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		if got.Flow.Status != flow.StatusFailed || got.Session != nil {
			t.Fatalf("after 5 wrong: status %s session %v; want failed, none", got.Flow.Status, got.Session)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: right})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
	})
}

// TestSecondFactorPauseUsesNoAttempt: while the account's wrong-code guard
// pauses its codes (10 wrong answers over two flows), a third flow's
// answers are refused with account_locked and a blank one with
// field_required, and none of them uses an attempt of that flow: whoever
// caused the pause cannot also use up the owner's challenge.
func TestSecondFactorPauseUsesNoAttempt(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		_, secret := enrolTOTP(t, e, sfEmail)
		wrong := "000000"
		if wrong == totpAt(t, secret, e.Clock.Now()) {
			wrong = "111111"
		}
		for range 2 {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
			wantSecondFactor(t, ans, err, "totp")
			req := flowtest.Req(sfIP, ans.DeviceToken)
			for range 5 {
				e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrong})
			}
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, ans, err, "totp")
		req := flowtest.Req(sfIP, ans.DeviceToken)
		for i := range 6 {
			got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
			flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
			if got.Flow.Status != flow.StatusChallenge || got.Next == nil || got.Next.AttemptsLeft != 5 {
				t.Fatalf("paused answer %d: status %s next %+v; want the challenge with 5 attempts left", i+1, got.Flow.Status, got.Next)
			}
		}
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: " "})
		flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
		if got.Next == nil || got.Next.AttemptsLeft != 5 {
			t.Fatalf("blank answer: next %+v; want 5 attempts left", got.Next)
		}
	})
}

// effects is what a password change or an unlock does to an account, as
// seen from outside: the stored hash, another session of the account, the
// password_changed messages, the account's status and lock.
type effects struct {
	hash    string
	other   string // token of a session made before the flow
	changed int    // password_changed messages
	status  account.Status
	lock    account.LockKind
}

// otherSession gives a's account a session besides the flow's, to see
// whether the flow revokes it.
func otherSession(t *testing.T, e *flowtest.Env, a *account.Account) string {
	t.Helper()
	token, _, err := e.Kit.Sessions.Create(context.Background(), session.New{Realm: e.JP.ID, AccountID: a.ID, AAL: 2, Methods: []string{"pwd", "otp"}})
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func templates(t *testing.T, e *flowtest.Env, to, template string) int {
	t.Helper()
	n := 0
	for _, m := range e.Messages(t, to) {
		if m.Template == template {
			n++
		}
	}
	return n
}

func effectsOf(t *testing.T, e *flowtest.Env, a *account.Account, other string) effects {
	t.Helper()
	ctx := context.Background()
	hash, err := e.DB.PasswordHash(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	now, err := e.DB.Account(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return effects{hash: hash, other: other, changed: templates(t, e, sfEmail, message.TemplatePasswordChanged), status: now.Status, lock: now.Lock.Kind}
}

// wantUntouched fails unless nothing of a password change or unlock has
// happened since before: same hash, the other session alive, no
// password_changed message, the same status and lock.
func wantUntouched(t *testing.T, e *flowtest.Env, a *account.Account, before effects) {
	t.Helper()
	now := effectsOf(t, e, a, before.other)
	if now.hash != before.hash || now.changed != before.changed || now.status != before.status || now.lock != before.lock {
		t.Errorf("before the second factor: hash changed %v, password_changed %d→%d, status %s→%s, lock %q→%q; want nothing changed",
			now.hash != before.hash, before.changed, now.changed, before.status, now.status, before.lock, now.lock)
	}
	if _, err := e.Kit.Sessions.Check(context.Background(), e.JP.ID, before.other); err != nil {
		t.Errorf("the other session before the second factor: %v; want it alive", err)
	}
}

// wantPasswordChanged fails unless the password was replaced, the other
// session revoked, password_changed sent, and the account active unlocked.
func wantPasswordChanged(t *testing.T, e *flowtest.Env, a *account.Account, before effects) {
	t.Helper()
	now := effectsOf(t, e, a, before.other)
	if now.hash == before.hash || now.changed <= before.changed || now.status != account.StatusActive || now.lock != "" {
		t.Errorf("after the second factor: hash changed %v, password_changed %d→%d, status %s, lock %q; want changed, sent, active, none",
			now.hash != before.hash, before.changed, now.changed, now.status, now.lock)
	}
	if _, err := e.Kit.Sessions.Check(context.Background(), e.JP.ID, before.other); err == nil {
		t.Error("the other session outlived the new password")
	}
}

// TestPasswordAssistantNeverAroundSecondFactor: for an account with 2SV
// the password assistant asks the second factor right after the code,
// before the choice: until it is passed the password is the old one, no
// session is revoked and nothing is sent; then "sign in once with the code"
// or a new password completes at AAL 2 without asking again, and only then
// the new password takes effect.
func TestPasswordAssistantNeverAroundSecondFactor(t *testing.T) {
	const newPW = "aki-no-sora-2026"
	for _, tc := range []struct {
		name    string
		act     flow.Action
		methods []string
	}{
		{"sign_in_with_code", flow.Action{Name: flow.ActionSignInWithCode}, []string{"email", "otp"}},
		{"new_password", flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW}, []string{"pwd", "email", "otp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
				a, secret := enrolTOTP(t, e, sfEmail)
				before := effectsOf(t, e, a, otherSession(t, e, a))
				alerts := templates(t, e, sfEmail, message.TemplateSigninAlert)
				ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req(sfIP, ""), sfEmail)
				if err != nil {
					t.Fatal(err)
				}
				req := flowtest.Req(sfIP, ans.DeviceToken)
				act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
				got, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
				wantSecondFactor(t, got, err, "totp")
				// The choice is not open before the second factor.
				_, err = act(tc.act)
				flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
				wantUntouched(t, e, a, before)

				choose, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
				if err != nil || choose.Session != nil || choose.Next == nil || choose.Next.Step != flow.StepChoose ||
					strings.Join(choose.Next.Options, ",") != flow.ActionSignInWithCode+","+flow.ActionSetNewPassword {
					t.Fatalf("after the second factor: %+v next %+v, %v; want the choice", choose, choose.Next, err)
				}
				wantUntouched(t, e, a, before)

				done, err := act(tc.act)
				wantAAL2(t, e, done, err, tc.methods...)
				if tc.act.Name == flow.ActionSetNewPassword {
					wantPasswordChanged(t, e, a, before)
					return
				}
				wantUntouched(t, e, a, before)
				if got := templates(t, e, sfEmail, message.TemplateSigninAlert); got != alerts+1 {
					t.Errorf("%d sign-in alerts after signing in once on a new device, want %d", got, alerts+1)
				}
			})
		})
	}
}

// TestUnlockNeverAroundSecondFactor: for an account with 2SV, unlock asks
// the second factor right after the code: until it is passed the lock
// stays, the password is the old one and no session is revoked; then the
// password step (smart lock) or the new-password step (suspicious lock)
// lifts the lock with an AAL 2 session.
func TestUnlockNeverAroundSecondFactor(t *testing.T) {
	const newPW = "aki-no-sora-2026"
	for _, tc := range []struct {
		name string
		lock account.LockKind
		step flow.Step
		act  flow.Action
	}{
		{"smart_lock", account.LockUnfamiliar, flow.StepPassword, flow.Action{Name: flow.ActionSubmitPassword, Password: pw}},
		{"suspicious_lock", account.LockSuspicious, flow.StepNewPassword, flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
				a, secret := enrolTOTP(t, e, sfEmail)
				until, at := e.Clock.Now().Add(30*time.Minute), e.Clock.Now()
				lock := account.Lock{Kind: tc.lock, Until: &until, Level: 3, LockedAt: &at}
				if tc.lock == account.LockSuspicious {
					lock.Until = nil
				}
				if err := e.DB.SetLock(ctx, a.ID, lock); err != nil {
					t.Fatal(err)
				}
				if tc.lock == account.LockSuspicious {
					a.Status = account.StatusLocked
					if err := e.DB.UpdateAccount(ctx, a); err != nil {
						t.Fatal(err)
					}
				}
				before := effectsOf(t, e, a, otherSession(t, e, a))
				ans, err := e.Unlock.Start(ctx, e.JP, flowtest.Req(sfIP, ""), sfEmail)
				if err != nil {
					t.Fatal(err)
				}
				req := flowtest.Req(sfIP, ans.DeviceToken)
				act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
				got, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
				wantSecondFactor(t, got, err, "totp")
				_, err = act(tc.act)
				flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
				wantUntouched(t, e, a, before)

				next, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
				if err != nil || next.Session != nil || next.Next == nil || next.Next.Step != tc.step {
					t.Fatalf("after the second factor: %+v next %+v, %v; want step %s", next, next.Next, err, tc.step)
				}
				wantUntouched(t, e, a, before)

				done, err := act(tc.act)
				wantAAL2(t, e, done, err, "pwd", "email", "otp")
				if tc.lock == account.LockSuspicious {
					wantPasswordChanged(t, e, a, before)
					return
				}
				after := effectsOf(t, e, a, before.other)
				if after.lock != "" || after.hash != before.hash {
					t.Errorf("after the smart unlock: lock %q, hash changed %v; want lifted, unchanged", after.lock, after.hash != before.hash)
				}
			})
		})
	}
}

// TestSignupCompletionNeverAroundSecondFactor: an account cannot have 2SV
// before it exists through any endpoint, but the guard is in the one place
// every completion goes through: a pending sign-up whose account was given
// 2SV (directly through the two-step service) confirms its address and is
// then asked for the second factor, not given a session.
func TestSignupCompletionNeverAroundSecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req(sfIP, ""), signup.Input{Identifier: sfEmail, Name: "Hanako Yamada", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		code := e.LastCode(t, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		if a.Status != account.StatusPending {
			t.Fatalf("account status %s, want pending", a.Status)
		}
		req := flowtest.Req(sfIP, ans.DeviceToken)
		act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, a) }
		got, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: code})
		wantSecondFactor(t, got, err, "totp")
		done, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "email", "otp")
	})
}
