package flowtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/trust"
)

// homeIP is the network the account was signed up from (flowtest.MustSignUp).
const homeIP = "192.0.2.10"

// trustedSetup signs up sfEmail, turns 2SV on with an authenticator app and
// signs in on the sign-up device (familiar, on a familiar network), passing
// the second factor with trust_device. It returns the account, the TOTP
// secret and the device token of the trusted device.
func trustedSetup(t *testing.T, e *flowtest.Env) (*account.Account, string, string) {
	t.Helper()
	dev := e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
	a, secret := enrolTOTP(t, e, sfEmail)
	trustOn(t, e, sfEmail, secret, dev)
	return a, secret, dev
}

// trustOn signs email in on device dev from homeIP and passes the second
// factor with trust_device: true.
func trustOn(t *testing.T, e *flowtest.Env, email, secret, dev string) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, dev), signin.Input{Identifier: email, Password: pw})
	wantSecondFactor(t, ans, err, "totp")
	done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(homeIP, dev),
		flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now()), TrustDevice: true})
	wantAAL2(t, e, done, err, "pwd", "otp")
	e.Clock.Advance(time.Minute) // past the TOTP step used
}

// signInFrom signs sfEmail in from ip on device dev with the right password.
func signInFrom(t *testing.T, e *flowtest.Env, ip, dev string, aal int) (*flow.Answer, error) {
	t.Helper()
	return e.Signin.Start(context.Background(), e.JP, flowtest.Req(ip, dev), signin.Input{Identifier: sfEmail, Password: pw, AAL: aal})
}

// wantSkipped fails unless ans is a session of AAL 1 with methods pwd only,
// whose sign-in event says the device was trusted.
func wantSkipped(t *testing.T, e *flowtest.Env, a *account.Account, ans *flow.Answer, err error) {
	t.Helper()
	if err != nil || ans.Session == nil {
		t.Fatalf("sign-in on the trusted device = %+v (next %+v), %v; want a session without the second factor", ans, ans.Next, err)
	}
	if ans.Flow.Status != flow.StatusComplete || ans.Session.AAL != 1 {
		t.Errorf("status %s aal %d; want complete, 1", ans.Flow.Status, ans.Session.AAL)
	}
	p, err := e.Signin.Authenticate(context.Background(), e.JP, ans.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	if p.Session.AAL != 1 || strings.Join(p.Session.Methods, ",") != "pwd" {
		t.Errorf("session aal %d methods %v; want 1 [pwd]", p.Session.AAL, p.Session.Methods)
	}
	ev := lastEvent(t, e, a, event.TypeSigninSucceeded)
	if ev == nil || ev.Data["second_factor"] != "trusted_device" || ev.Data["session"] != p.Session.ID {
		t.Errorf("sign-in event = %+v; want second_factor trusted_device for the session", ev)
	}
}

// lastEvent returns a's newest event of type typ, or nil.
func lastEvent(t *testing.T, e *flowtest.Env, a *account.Account, typ string) *event.Event {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), a.ID, time.Time{}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var last *event.Event
	for _, ev := range evs {
		if ev.Type == typ && (last == nil || !ev.At.Before(last.At)) {
			last = ev
		}
	}
	return last
}

// trustedCount returns how many devices a trusts now.
func trustedCount(t *testing.T, e *flowtest.Env, a *account.Account) int {
	t.Helper()
	ds, err := e.Trust.List(context.Background(), e.JP, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// TestTrustedDeviceSkipsSecondFactor: after a right second factor with
// trust_device on the flow's own device, the next sign-in of the same
// account from that device with the right password gets an AAL 1 session
// with methods [pwd] and no second factor, and the event says why; the
// device is listed with its browser and network. Another device, and the
// same device asking for AAL 2, are asked the second factor; a second
// factor without trust_device trusts nothing.
func TestTrustedDeviceSkipsSecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a, _, dev := trustedSetup(t, e)
		added := lastEvent(t, e, a, trust.EventTrusted)
		if added == nil || added.IP != homeIP {
			t.Fatalf("trusted_device.added event = %+v; want one from %s", added, homeIP)
		}
		ds, err := e.Trust.List(ctx, e.JP, a.ID)
		if err != nil || len(ds) != 1 {
			t.Fatalf("List = %+v, %v; want one device", ds, err)
		}
		if ds[0].Network != "192.0.2.0/24" || ds[0].UserAgent != flowtest.BrowserUA ||
			!ds[0].ExpiresAt.Equal(ds[0].CreatedAt.Add(60*24*time.Hour)) {
			t.Errorf("trusted device = %+v; want network 192.0.2.0/24, the browser, 60 days", ds[0])
		}

		ans, err := signInFrom(t, e, homeIP, dev, 0)
		wantSkipped(t, e, a, ans, err)

		// aal 2: the trusted device does not skip.
		ans, err = signInFrom(t, e, homeIP, dev, 2)
		wantSecondFactor(t, ans, err, "totp")
		// aal 1 is the default; anything else is refused.
		_, err = signInFrom(t, e, homeIP, dev, 3)
		flowtest.WantCode(t, err, ninsho.CodeRequestInvalid)

		// Another device of the owner is asked.
		ans, err = signInFrom(t, e, homeIP, "", 0)
		wantSecondFactor(t, ans, err, "totp")
	})
}

// TestTrustedDeviceOnlyForItsAccount: a second account signed in on the
// same (now familiar) device is asked for its own second factor: trust
// belongs to the account that asked for it.
func TestTrustedDeviceOnlyForItsAccount(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		_, _, dev := trustedSetup(t, e)
		const other = "taro@example.jp"
		e.MustSignUp(t, e.JP, other, pw, other)
		_, secret := enrolTOTP(t, e, other)
		// Taro signs in on Hanako's trusted device without trusting it:
		// the device becomes familiar to Taro too.
		start := func() (*flow.Answer, error) {
			return e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, dev), signin.Input{Identifier: other, Password: pw})
		}
		ans, err := start()
		wantSecondFactor(t, ans, err, "totp")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(homeIP, dev),
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, done, err, "pwd", "otp")
		e.Clock.Advance(time.Minute)

		ans, err = start()
		wantSecondFactor(t, ans, err, "totp")
	})
}

// TestTrustedDeviceExpiresAndIsRevocable: a trusted device skips the
// second factor until its 60 days are over (injected clock), and not after
// the owner forgot it, one or all.
func TestTrustedDeviceExpiresAndIsRevocable(t *testing.T) {
	t.Run("expiry", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			a, _, dev := trustedSetup(t, e)
			e.Clock.Advance(59 * 24 * time.Hour)
			ans, err := signInFrom(t, e, homeIP, dev, 0)
			wantSkipped(t, e, a, ans, err)
			e.Clock.Advance(24 * time.Hour)
			ans, err = signInFrom(t, e, homeIP, dev, 0)
			wantSecondFactor(t, ans, err, "totp")
			if n := trustedCount(t, e, a); n != 0 {
				t.Errorf("%d devices listed after expiry, want 0", n)
			}
			if n, err := e.Trust.Purge(context.Background()); err != nil || n != 1 {
				t.Errorf("Purge = %d, %v; want 1", n, err)
			}
		})
	})
	t.Run("forget one", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			ctx := context.Background()
			a, _, dev := trustedSetup(t, e)
			ds, _ := e.Trust.List(ctx, e.JP, a.ID)
			req := flowtest.Req(homeIP, dev)
			flowtest.WantCode(t, e.Trust.Forget(ctx, e.JP, req, a.ID, ninsho.NewID(e.Clock, ninsho.SecureRandom)), ninsho.CodeNotFound)
			flowtest.WantCode(t, e.Trust.Forget(ctx, e.JP, req, a.ID, "not-an-id"), ninsho.CodeNotFound)
			if err := e.Trust.Forget(ctx, e.JP, req, a.ID, ds[0].ID); err != nil {
				t.Fatal(err)
			}
			if ev := lastEvent(t, e, a, trust.EventRevoked); ev == nil || ev.Data["trusted_device"] != ds[0].ID {
				t.Errorf("revoked event = %+v", ev)
			}
			ans, err := signInFrom(t, e, homeIP, dev, 0)
			wantSecondFactor(t, ans, err, "totp")
		})
	})
	t.Run("forget all", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			a, _, dev := trustedSetup(t, e)
			n, err := e.Trust.ForgetAll(context.Background(), e.JP, flowtest.Req(homeIP, dev), a.ID, trust.ReasonOwner)
			if err != nil || n != 1 {
				t.Fatalf("ForgetAll = %d, %v; want 1", n, err)
			}
			ans, err := signInFrom(t, e, homeIP, dev, 0)
			wantSecondFactor(t, ans, err, "totp")
		})
	})
}

// TestTrustedDeviceNotAfterCaptcha: when sign-in protection holds the
// attempt behind a CAPTCHA (five wrong passwords from the familiar device),
// the right password after the solved CAPTCHA is asked the second factor
// even on the trusted device.
func TestTrustedDeviceNotAfterCaptcha(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		_, _, dev := trustedSetup(t, e)
		for range 5 {
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(homeIP, dev), signin.Input{Identifier: sfEmail, Password: "wrong-password-1"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		}
		ans, err := signInFrom(t, e, homeIP, dev, 0)
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		if ans == nil || ans.Next == nil || ans.Next.Step != flow.StepCaptcha {
			t.Fatalf("answer = %+v; want the CAPTCHA", ans)
		}
		answer, err := e.Captcha.Answer(ctx, ans.Next.Captcha.ID)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req(homeIP, dev)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer}); err != nil {
			t.Fatal(err)
		}
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		wantSecondFactor(t, got, err, "totp")
	})
}

// TestTrustedDevicesCleared: every trusted device of the account is
// forgotten, with an event, by a new password from the password
// assistant, by "this wasn't me", and by turning 2SV off.
func TestTrustedDevicesCleared(t *testing.T) {
	wantCleared := func(t *testing.T, e *flowtest.Env, a *account.Account, reason string) {
		t.Helper()
		if n := trustedCount(t, e, a); n != 0 {
			t.Errorf("%d trusted devices left, want 0", n)
		}
		ev := lastEvent(t, e, a, trust.EventCleared)
		if ev == nil || ev.Data["reason"] != reason {
			t.Errorf("cleared event = %+v; want reason %s", ev, reason)
		}
	}
	t.Run("password assistant", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			ctx := context.Background()
			a, secret, dev := trustedSetup(t, e)
			ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req(homeIP, dev), sfEmail)
			if err != nil {
				t.Fatal(err)
			}
			req := flowtest.Req(homeIP, dev)
			act := func(x flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", ans.Flow.ID, req, x) }
			// The password assistant is asked the factor on the trusted device too.
			got, err := act(flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
			wantSecondFactor(t, got, err, "totp")
			if _, err := act(flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())}); err != nil {
				t.Fatal(err)
			}
			const newPW = "aki-no-sora-2026"
			done, err := act(flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW})
			if err != nil || done.Session == nil {
				t.Fatalf("new password = %+v, %v", done, err)
			}
			wantCleared(t, e, a, trust.ReasonPasswordChanged)
		})
	})
	t.Run("not me", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			ctx := context.Background()
			a, secret, dev := trustedSetup(t, e)
			// Someone with the password and the code signs in on a new
			// device and trusts it; the owner is alerted.
			thief, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: sfEmail, Password: pw})
			wantSecondFactor(t, thief, err, "totp")
			done, err := e.Engine.Act(ctx, "jp", thief.Flow.ID, flowtest.Req("203.0.113.9", thief.DeviceToken),
				flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now()), TrustDevice: true})
			wantAAL2(t, e, done, err, "pwd", "otp")
			if n := trustedCount(t, e, a); n != 2 {
				t.Fatalf("%d trusted devices, want 2", n)
			}
			alert := wantMessage(t, e, sfEmail, "signin_alert", "ja")
			link := strings.Fields(alert.Text[strings.Index(alert.Text, "https://"):])[0]
			u, _ := url.Parse(link)
			if _, err := e.Unlock.NotMe(ctx, e.JP, flowtest.Req(homeIP, dev), u.Query().Get("token")); err != nil {
				t.Fatal(err)
			}
			wantCleared(t, e, a, trust.ReasonNotMe)
		})
	})
	t.Run("two-step off", func(t *testing.T) {
		flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
			ctx := context.Background()
			a, _, dev := trustedSetup(t, e)
			ms, err := e.TwoStep.Methods(ctx, e.JP, a)
			if err != nil || len(ms) != 1 {
				t.Fatalf("Methods = %+v, %v", ms, err)
			}
			if err := e.TwoStep.Remove(ctx, e.JP, flowtest.Req(homeIP, dev), a, ms[0].ID); err != nil {
				t.Fatal(err)
			}
			wantCleared(t, e, a, trust.ReasonTwoStepOff)
			// Turned on again, the device is asked: the old trust is gone.
			enrolTOTP(t, e, sfEmail)
			ans, err := signInFrom(t, e, homeIP, dev, 0)
			wantSecondFactor(t, ans, err, "totp")
		})
	})
}

// TestTrustDeviceOnlyWhereItCounts: trust_device trusts nothing when the
// right factor comes from another device than the flow's, nor at the
// password assistant's second factor (which is asked every time anyway).
func TestTrustDeviceOnlyWhereItCounts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, secret := enrolTOTP(t, e, sfEmail)
		other, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: sfEmail, Password: pw})
		wantSecondFactor(t, other, err, "totp")

		ans, err := signInFrom(t, e, homeIP, dev, 0)
		wantSecondFactor(t, ans, err, "totp")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(homeIP, other.DeviceToken),
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now()), TrustDevice: true})
		wantAAL2(t, e, done, err, "pwd", "otp")
		if n := trustedCount(t, e, a); n != 0 {
			t.Errorf("%d trusted devices after a factor from another device, want 0", n)
		}
		e.Clock.Advance(time.Minute)

		reset, err := e.Reset.Start(ctx, e.JP, flowtest.Req(homeIP, dev), sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req(homeIP, dev)
		got, err := e.Engine.Act(ctx, "jp", reset.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, sfEmail)})
		wantSecondFactor(t, got, err, "totp")
		if _, err := e.Engine.Act(ctx, "jp", reset.Flow.ID, req,
			flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now()), TrustDevice: true}); err != nil {
			t.Fatal(err)
		}
		if n := trustedCount(t, e, a); n != 0 {
			t.Errorf("%d trusted devices after the password assistant's factor, want 0", n)
		}
	})
}
