package signin_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestUnfamiliarDeviceNeedsACode: the right password from a new device asks
// for a code to the identifier used; the right code completes and makes the
// device familiar, so the next sign-in needs none.
func TestUnfamiliarDeviceNeedsACode(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		e.Clock.Advance(time.Minute)
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.20", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if ans.Flow.Status != flow.StatusChallenge || ans.Next.Step != flow.StepVerificationCode || ans.Session != nil {
			t.Fatalf("got %+v, want a verification code challenge", ans.Next)
		}
		msgs := e.Messages(t, "hanako@example.jp")
		if msgs[0].Template != "signin_code" {
			t.Fatalf("newest message %q, want signin_code", msgs[0].Template)
		}
		req := flowtest.Req("198.51.100.20", ans.DeviceToken)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		if err != nil || done.Session == nil {
			t.Fatalf("submit_code: %v", err)
		}
		again, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || again.Session == nil {
			t.Errorf("second sign-in from the now familiar device: %+v, %v; want a session", again.Next, err)
		}
	})
}

// TestSmartLockoutStopsUnfamiliarSourcesOnly walks the whole lock ladder:
// each ten failures from unfamiliar devices (CAPTCHAs solved, the worst case)
// lock them out for 1 min, 5 min, 30 min, 2 h, 24 h, and 24 h again; the
// owner's familiar device signs in throughout; each lock ends on time.
func TestSmartLockoutStopsUnfamiliarSourcesOnly(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		attack := func(i int) error {
			// A fresh device each time; when a CAPTCHA is asked, the attacker
			// solves it (the worst case): the lock is what must stop them.
			guess := "guess-" + string(rune('a'+i))
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.1", ""), signin.Input{Identifier: "hanako@example.jp", Password: guess})
			if ninsho.CodeOf(err) != ninsho.CodeCaptchaRequired {
				return err
			}
			req := flowtest.Req("203.0.113.1", ans.DeviceToken)
			f, _ := e.DB.Flow(ctx, ans.Flow.ID)
			answer, aerr := e.Captcha.Answer(ctx, f.Get("captcha"))
			if aerr != nil {
				t.Fatal(aerr)
			}
			if _, aerr := e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer}); aerr != nil {
				t.Fatalf("solve captcha: %v", aerr)
			}
			_, err = e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: guess})
			return err
		}
		ladder := []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 24 * time.Hour, 24 * time.Hour}
		for rung, wantLock := range ladder {
			failures := 0
			for i := 0; failures < 10 && i < 40; i++ {
				err := attack(i)
				switch ninsho.CodeOf(err) {
				case ninsho.CodePasswordIncorrect:
					failures++
				case ninsho.CodeAccountLocked:
					t.Fatalf("rung %d: locked after %d failures, want 10", rung+1, failures)
				default:
					t.Fatalf("rung %d attempt %d: %v", rung+1, i, err)
				}
				e.Clock.Advance(time.Second)
			}
			got, _ := e.DB.Account(ctx, a.ID)
			if got.Lock.Kind != account.LockUnfamiliar || got.Lock.Level != rung+1 {
				t.Fatalf("rung %d: lock %+v, want unfamiliar level %d", rung+1, got.Lock, rung+1)
			}
			if d := got.Lock.Until.Sub(e.Clock.Now()); d > wantLock || d < wantLock-time.Minute {
				t.Errorf("rung %d: lock lasts %v, want about %v", rung+1, d, wantLock)
			}
			// Unfamiliar devices are refused without a hash, even with the
			// right password.
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.1", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
			if ninsho.CodeOf(err) != ninsho.CodeAccountLocked {
				t.Fatalf("rung %d: unfamiliar device with the right password: %v, want account_locked", rung+1, err)
			}
			// The owner's familiar device is not stopped.
			own, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
			if err != nil || own.Session == nil {
				t.Fatalf("rung %d: owner on a familiar device: %v", rung+1, err)
			}
			e.Clock.Advance(wantLock)
		}
		// After the last lock ends (the failures long aged out), the right
		// password from a new device is asked for a code, as usual.
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.20", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Errorf("after the lock: %+v, %v; want a verification code", ans, err)
		}
	})
}

// TestCaptchaAfterFailuresFromUnfamiliarDevices: three failures for an
// identifier from unfamiliar devices put a CAPTCHA in front of the next
// unfamiliar attempt (no hash spent); a familiar device sees none; a solved
// CAPTCHA lets the password through.
func TestCaptchaAfterFailuresFromUnfamiliarDevices(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		for i := 0; i < 3; i++ {
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		if ans.Next == nil || ans.Next.Step != flow.StepCaptcha || ans.Next.Captcha == nil || ans.Next.Captcha.ImageURL == "" {
			t.Fatalf("next = %+v, want a captcha step with an image", ans.Next)
		}
		own, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || own.Session == nil {
			t.Fatalf("familiar device after unfamiliar failures: %v, want a session", err)
		}
		req := flowtest.Req("203.0.113.5", ans.DeviceToken)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: "000000x"})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaIncorrect)
		f, _ := e.DB.Flow(ctx, ans.Flow.ID)
		answer, err := e.Captcha.Answer(ctx, f.Get("captcha"))
		if err != nil {
			t.Fatal(err)
		}
		solved, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		if err != nil || solved.Next.Step != flow.StepPassword {
			t.Fatalf("submit_captcha: %+v, %v; want the password step", solved.Next, err)
		}
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || next.Next == nil || next.Next.Step != flow.StepVerificationCode {
			t.Fatalf("password after the CAPTCHA: %v; want a verification code (unfamiliar device)", err)
		}
	})
}

// TestTypoToleranceOnFamiliarDevicesOnly accepts Caps Lock and a flipped
// first letter from a familiar device, and refuses them from a new one.
func TestTypoToleranceOnFamiliarDevicesOnly(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const pwd = "Sakura-no-hana-77"
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pwd, "hanako@example.jp")
		for _, typed := range []string{"sAKURA-NO-HANA-77", "sakura-no-hana-77"} {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: typed})
			if err != nil || ans.Session == nil {
				t.Errorf("familiar device typed %q: %v, want a typo-corrected sign-in", typed, err)
			}
			_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: "hanako@example.jp", Password: typed})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		}
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: "Sakura-no-hana-78"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
	})
}

// TestAddressRateLimit refuses a 101st attempt a minute from one address.
func TestAddressRateLimit(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		var err error
		for i := 0; i < 150; i++ {
			_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.77", ""), signin.Input{Identifier: "nobody@example.jp", Password: "x-wrong-pass"})
			if ninsho.CodeOf(err) == ninsho.CodeRateLimited {
				break
			}
		}
		// Three failures count double, then CAPTCHAs (which count once):
		// the 100 attempts a minute run out before 150.
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		e.Clock.Advance(time.Minute + time.Second)
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.77", ""), signin.Input{Identifier: "nobody@example.jp", Password: "x-wrong-pass"})
		if ninsho.CodeOf(err) == ninsho.CodeRateLimited {
			t.Errorf("still rate limited after the window: %v", err)
		}
	})
}

// TestDeviceRateLimit refuses a bot that keeps one device token while it
// hops addresses and accounts.
func TestDeviceRateLimit(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "someone@example.jp", pw, "someone@example.jp")
		ans, _ := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.1", ""), signin.Input{Identifier: "someone@example.jp", Password: "x-wrong-pass"})
		bot := ans.DeviceToken
		var i int
		var err error
		for i = 0; i < 40; i++ {
			ip := "198.18." + string(rune('0'+i/10)) + "." + string(rune('0'+i%10))
			_, err = e.Signin.Start(ctx, e.JP, flowtest.Req(ip, bot), signin.Input{Identifier: "someone@example.jp", Password: "x-wrong-pass"})
			if ninsho.CodeOf(err) == ninsho.CodeRateLimited {
				break
			}
		}
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		// 30 a minute, failures twice; after three failures the attempts
		// meet CAPTCHAs, which count once.
		if i >= 30 {
			t.Errorf("refused only at attempt %d, want within 30", i+1)
		}
	})
}

// TestRealmThresholdsOverrideTheDefaults: a realm that asks for a CAPTCHA
// after one failure gets it after one.
func TestRealmThresholdsOverrideTheDefaults(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	pol := risk.DefaultPolicy()
	pol.CaptchaAfterFailures = 1
	e.JP.Risk = &pol
	e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password"})
	flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
	_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password"})
	flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
}
