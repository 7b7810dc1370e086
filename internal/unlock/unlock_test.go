package unlock_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const pw = "kumo-no-ue-42"

// lockForUnfamiliar puts the account behind a smart lock as ten failures
// from unfamiliar devices would.
func lockForUnfamiliar(t *testing.T, e *flowtest.Env, id string) {
	t.Helper()
	until := e.Clock.Now().Add(30 * time.Minute)
	at := e.Clock.Now()
	if err := e.DB.SetLock(context.Background(), id, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 3, LockedAt: &at}); err != nil {
		t.Fatal(err)
	}
}

func TestUnlockByCodeThenPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		lockForUnfamiliar(t, e, a.ID)
		e.Clock.Advance(time.Minute)

		// A new phone is refused with the time the lock ends.
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.3", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if ninsho.ErrorOf(err).Params["until"] == nil {
			t.Errorf("account_locked carries no end time: %v", ninsho.ErrorOf(err).Params)
		}

		ans, err := e.Unlock.Start(ctx, e.JP, flowtest.Req("198.51.100.3", ""), "ＨＡＮＡＫＯ@example.jp")
		if err != nil || ans.Next.Step != flow.StepVerificationCode || ans.Next.Channel != "email" {
			t.Fatalf("Start = %+v, %v; want a code by e-mail", ans, err)
		}
		msgs := e.Messages(t, "hanako@example.jp")
		if msgs[0].Template != "unlock_code" {
			t.Fatalf("newest message %q, want unlock_code", msgs[0].Template)
		}
		req := flowtest.Req("198.51.100.3", ans.DeviceToken)
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		if err != nil || next.Next.Step != flow.StepPassword {
			t.Fatalf("submit_code = %+v, %v; want the password step", next.Next, err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: "not-it"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || done.Session == nil {
			t.Fatalf("submit_password: %v; want a session", err)
		}
		got, _ := e.DB.Account(ctx, a.ID)
		if got.Lock.Kind != account.LockNone {
			t.Errorf("lock after unlock = %+v, want none", got.Lock)
		}
		// The phone is familiar now: the next sign-in needs nothing more.
		again, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || again.Session == nil {
			t.Errorf("sign-in after unlock: %v", err)
		}
	})
}

// TestUnlockWithNewPasswordTellsTheOwner: an account locked as suspicious
// ("this wasn't me") is unlocked with a code and a new password; the owner is
// then told that the password changed on every verified channel, as after
// the password assistant, and an unlock that only checks the password (an
// unfamiliar-device lock) changes nothing and tells nothing of the kind.
func TestUnlockWithNewPasswordTellsTheOwner(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		now := e.Clock.Now()
		a.Phone, a.PhoneVerifiedAt = "+819012345678", &now
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		if err := e.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockSuspicious, LockedAt: &now}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		ans, err := e.Unlock.Start(ctx, e.JP, flowtest.Req("198.51.100.3", ""), "hanako@example.jp")
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("Start = %+v, %v; want a code", ans, err)
		}
		req := flowtest.Req("198.51.100.3", ans.DeviceToken)
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "hanako@example.jp")})
		if err != nil || next.Next.Step != flow.StepNewPassword {
			t.Fatalf("submit_code = %+v, %v; want new_password", next.Next, err)
		}
		sms := len(e.Messages(t, "+819012345678"))
		// A refused new password tells nothing.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: "aaaaaaaa", PasswordConfirmation: "aaaaaaaa"})
		flowtest.WantCode(t, err, ninsho.CodePasswordTooSimple)
		if m := e.Messages(t, "hanako@example.jp"); m[0].Template == "password_changed" {
			t.Fatalf("password_changed sent for a refused password")
		}
		const fresh = "aki-no-sora-2026"
		fin, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		if err != nil || fin.Session == nil {
			t.Fatalf("set_new_password: %v", err)
		}
		for _, to := range []string{"hanako@example.jp", "+819012345678"} {
			m := e.Messages(t, to)
			// E-mail carries the link, a text message its short form /n/.
			link := "/signin/not-me?token="
			if strings.HasPrefix(to, "+") {
				link = "/n/"
			}
			if m[0].Template != "password_changed" || !strings.Contains(m[0].Text, link) || strings.Contains(m[0].Text, fresh) {
				t.Errorf("newest message to %s: %q, want password_changed with the link and without the password:\n%s", to, m[0].Template, m[0].Text)
			}
		}
		if got := len(e.Messages(t, "+819012345678")); got != sms+1 {
			t.Errorf("%d messages to the phone after the unlock, want %d (one alert)", got, sms+1)
		}

		// An unfamiliar-device lock is unlocked with the same password:
		// nothing changed, so no password_changed.
		lockForUnfamiliar(t, e, a.ID)
		e.Clock.Advance(time.Minute)
		ans, err = e.Unlock.Start(ctx, e.JP, flowtest.Req("198.51.100.4", ""), "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		req = flowtest.Req("198.51.100.4", ans.DeviceToken)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, "hanako@example.jp")}); err != nil {
			t.Fatal(err)
		}
		if done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: fresh}); err != nil || done.Session == nil {
			t.Fatalf("submit_password: %v", err)
		}
		if m := e.Messages(t, "hanako@example.jp"); m[0].Template == "password_changed" {
			t.Errorf("password_changed after an unlock that kept the password")
		}
	})
}

func TestUnlockUnknownIdentifier(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		_, err := e.Unlock.Start(ctx, e.JP, flowtest.Req("198.51.100.3", ""), "nobody@example.jp")
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		ans, err := e.Unlock.Start(ctx, e.Safe, flowtest.Req("198.51.100.3", ""), "nobody@example.com")
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("safe realm: %+v, %v; want the same code step", ans, err)
		}
		if msgs := e.Messages(t, "nobody@example.com"); len(msgs) != 0 {
			t.Errorf("sent %d messages to an identifier without an account", len(msgs))
		}
		_, err = e.Engine.Act(ctx, "safe", ans.Flow.ID, flowtest.Req("198.51.100.3", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: "123456"})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
	})
}

// TestAlertLinkLocksAndRevokes: a sign-in from a new device sends an alert;
// its "this wasn't me" link signs out every session, locks the account as
// suspicious (even the familiar device is refused), works once, and leads to
// an unlock that needs a code and a new password.
func TestAlertLinkLocksAndRevokes(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		own, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || own.Session == nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		// Someone else signs in on a new device (they have the password and
		// the code, as after a phishing).
		thief, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		code := e.LastCode(t, "hanako@example.jp")
		e.Clock.Advance(time.Minute)
		done, err := e.Engine.Act(ctx, "jp", thief.Flow.ID, flowtest.Req("203.0.113.9", thief.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: code})
		if err != nil || done.Session == nil {
			t.Fatalf("thief's code: %v", err)
		}
		msgs := e.Messages(t, "hanako@example.jp")
		if msgs[0].Template != "signin_alert" || !strings.Contains(msgs[0].Text, "/signin/not-me?token=") || !strings.Contains(msgs[0].Text, "203.0.113.0/24") {
			t.Fatalf("newest message %q: %s; want a sign-in alert with the link and the network", msgs[0].Template, msgs[0].Text)
		}
		// The owner reads Japanese: the device is in Japanese words too.
		if !strings.Contains(msgs[0].Text, "デバイス：Linux の Chrome") || strings.Contains(msgs[0].Text, " on ") {
			t.Errorf("Japanese alert names the device %q; want デバイス：Linux の Chrome", msgs[0].Text)
		}
		link := msgs[0].Text[strings.Index(msgs[0].Text, "https://"):]
		link = strings.Fields(link)[0]
		u, _ := url.Parse(link)
		token := u.Query().Get("token")

		e.Clock.Advance(time.Hour)
		e.Messages(t, "") // deliver what is due before the unlock code
		ans, err := e.Unlock.NotMe(ctx, e.JP, flowtest.Req("192.0.2.10", dev), token)
		if err != nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("NotMe = %+v, %v; want the unlock code step", ans, err)
		}
		for name, tok := range map[string]string{"owner": own.Session.Token, "thief": done.Session.Token} {
			if _, err := e.Signin.Authenticate(ctx, e.JP, tok); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
				t.Errorf("%s's session after 'this wasn't me': %v, want unauthenticated", name, err)
			}
		}
		got, _ := e.DB.Account(ctx, a.ID)
		if got.Status != account.StatusLocked || got.Lock.Kind != account.LockSuspicious {
			t.Fatalf("account = %s / %+v, want locked suspicious", got.Status, got.Lock)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		_, err = e.Unlock.NotMe(ctx, e.JP, flowtest.Req("192.0.2.10", dev), token)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)

		// The unlock needs the code and a new password, not the old one.
		req := flowtest.Req("192.0.2.10", dev)
		c := e.LastCode(t, "hanako@example.jp")
		if m := e.Messages(t, "hanako@example.jp"); m[0].Template != "unlock_code" {
			t.Fatalf("newest message %q, want unlock_code", m[0].Template)
		}
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: c})
		if err != nil || next.Next.Step != flow.StepNewPassword {
			t.Fatalf("submit_code = %+v, %v; want new_password", next.Next, err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeActionUnknown)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: pw, PasswordConfirmation: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordReused)
		const fresh = "aki-no-sora-2026"
		fin, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: fresh, PasswordConfirmation: fresh})
		if err != nil || fin.Session == nil {
			t.Fatalf("set_new_password: %v", err)
		}
		got, _ = e.DB.Account(ctx, a.ID)
		if got.Status != account.StatusActive || got.Lock.Kind != account.LockNone {
			t.Errorf("account after unlock = %s / %+v", got.Status, got.Lock)
		}
		_, err = e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp", Password: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		ok, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp", Password: fresh})
		if err != nil || ok.Session == nil {
			t.Errorf("sign-in with the new password: %v", err)
		}
	})
}

func TestAlertLinkExpiresAfterSevenDays(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	var token string
	err := e.DB.InTx(ctx, func(ctx context.Context) error {
		var err error
		token, err = e.Kit.Codes.IssueLink(ctx, "jp", a.ID, "", "not_me", a.Email, signin.NotMeLifetime)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	e.Clock.Advance(signin.NotMeLifetime)
	_, err = e.Unlock.NotMe(ctx, e.JP, flowtest.Req("192.0.2.10", ""), token)
	flowtest.WantCode(t, err, ninsho.CodeNotFound)
	_, err = e.Unlock.NotMe(ctx, e.Safe, flowtest.Req("192.0.2.10", ""), token)
	flowtest.WantCode(t, err, ninsho.CodeNotFound)
}
