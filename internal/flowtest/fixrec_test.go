package flowtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Addresses of the second outside round's repros: the owner's, and the
// thief's, which a stolen session puts on the account.
const (
	frOwner = "sachiko@example.jp"
	frThief = "thief@example.net"
	frPhone = "+819011112222"
)

// frService is contactService with "this wasn't me" wired to roll back, as
// internal/cli does.
func frService(e *flowtest.Env) *contact.Service {
	s := contactService(e)
	e.Unlock.Rollback = s.RollbackSince
	return s
}

// wantNoWayIn fails unless err is 423 account_locked of kind support.
func wantNoWayIn(t *testing.T, err error, what string) {
	t.Helper()
	var ne *ninsho.Error
	if !ninsho.IsCode(err, ninsho.CodeAccountLocked) || !asError(err, &ne) || ne.Params["kind"] != authflow.KindSupport {
		t.Fatalf("%s: %v; want account_locked of kind support", what, err)
	}
}

func asError(err error, out **ninsho.Error) bool {
	e, ok := err.(*ninsho.Error)
	*out = e
	return ok
}

// codesTo counts the messages of the code templates (unlock, reset) to to.
func codesTo(t *testing.T, e *flowtest.Env, to string) int {
	t.Helper()
	n := 0
	for _, m := range e.Messages(t, to) {
		if m.Template == message.TemplateUnlockCode || m.Template == message.TemplateResetCode {
			n++
		}
	}
	return n
}

// TestFixrecUndoSendsNothingToTheThiefsAddress (F1): a stolen session
// changes the e-mail address; meanwhile the owner signed the old address up
// again. The undo cannot put it back: the account is locked and the answer
// is account_locked (kind support) — no unlock code goes to the thief's
// address, which the account keeps unverified. The thief's own unlock and
// password assistant by that address send nothing either: explicit realms
// answer account_locked (support), a safe realm answers as for any start and
// sends nothing.
func TestFixrecUndoSendsNothingToTheThiefsAddress(t *testing.T) {
	flowtest.EachRealmAndDB(t, func(t *testing.T, e *flowtest.Env, rl *realm.Realm) {
		ctx := context.Background()
		safe := rl.Disclosure == realm.DisclosureSafe
		s := frService(e)
		dev := e.MustSignUp(t, rl, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, rl, frOwner, dev)
		changeEmail(t, e, s, rl, p, req, frThief)
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		e.MustSignUp(t, rl, frOwner, pw, frOwner) // the owner's new account
		thiefCodes := codesTo(t, e, frThief)

		_, err := s.Undo(ctx, rl, flowtest.Req("198.51.100.7", ""), token)
		wantNoWayIn(t, err, "undo")
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != frThief || a.EmailVerifiedAt != nil || a.Status != account.StatusLocked || a.Lock.Kind != account.LockSuspicious {
			t.Fatalf("account: %q verified %v status %s lock %s", a.Email, a.EmailVerifiedAt, a.Status, a.Lock.Kind)
		}
		if n := codesTo(t, e, frThief); n != thiefCodes {
			t.Fatalf("the undo sent %d code(s) to the thief's address", n-thiefCodes)
		}
		if len(ctEvents(t, e, a.ID, event.TypeContactUndone)) != 1 {
			t.Error("no contact.undone event")
		}

		e.Clock.Advance(time.Minute)
		thief := flowtest.Req("203.0.113.9", "")
		ans, err := e.Unlock.Start(ctx, rl, thief, frThief)
		if safe {
			if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
				t.Fatalf("safe unlock start = %+v, %v; want the code step as for any start", ans, err)
			}
		} else {
			wantNoWayIn(t, err, "unlock start")
		}
		ans, err = e.Reset.Start(ctx, rl, thief, frThief)
		if safe {
			if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode || len(ans.Next.Alternatives) != 0 {
				t.Fatalf("safe reset start = %+v, %v; want the code step as for any start", ans, err)
			}
		} else {
			wantNoWayIn(t, err, "password assistant start")
		}
		if n := codesTo(t, e, frThief); n != thiefCodes {
			t.Fatalf("%d code(s) went to the thief's unverified address", n-thiefCodes)
		}
	})
}

// TestFixrecUnlockPrefersAVerifiedChannel (F1): an unverified identifier
// typed at unlock or the password assistant gets nothing; the code goes to
// the account's verified one.
func TestFixrecUnlockPrefersAVerifiedChannel(t *testing.T) {
	a := &account.Account{Email: frThief, Phone: frPhone, Status: account.StatusLocked}
	now := flowtest.Epoch
	if _, _, ok := authflow.VerifiedChannel(a, frThief); ok {
		t.Fatal("an account without a verified identifier has a channel")
	}
	a.PhoneVerifiedAt = &now
	if ch, dest, ok := authflow.VerifiedChannel(a, frThief); !ok || ch != "sms" || dest != frPhone {
		t.Fatalf("channel = %s %s %v; want the verified phone", ch, dest, ok)
	}
}

// frTOTP enrols and proves an authenticator app on a.
func frTOTP(t *testing.T, e *flowtest.Env, rl *realm.Realm, req ninsho.Request, a *account.Account) {
	t.Helper()
	ctx := context.Background()
	en, err := e.TwoStep.BeginTOTP(ctx, rl, req, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.TwoStep.ProveTOTP(ctx, rl, req, a, en.CredentialID, totpAt(t, en.Secret, e.Clock.Now())); err != nil {
		t.Fatal(err)
	}
}

// frUnlock follows ans (an unlock flow at its code) with the code sent to
// to and wants the new-password step next: no second factor is asked.
func frUnlock(t *testing.T, e *flowtest.Env, rl *realm.Realm, ans *flow.Answer, to string) {
	t.Helper()
	if ans == nil || ans.Flow.Kind != flow.KindUnlock || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
		t.Fatalf("answer = %+v; want an unlock flow at its code", ans)
	}
	msgs := e.Messages(t, to)
	if len(msgs) == 0 || msgs[0].Template != message.TemplateUnlockCode {
		t.Fatalf("the unlock code did not go to %s", to)
	}
	req := flowtest.Req("198.51.100.7", ans.DeviceToken)
	next, err := e.Engine.Act(context.Background(), rl.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
	if err != nil || next.Next == nil || next.Next.Step != flow.StepNewPassword {
		t.Fatalf("submit_code = %+v, %v; want new_password (no second factor)", next, err)
	}
	const newPW = "haru-no-umi-2026"
	done, err := e.Engine.Act(context.Background(), rl.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW})
	if err != nil || done.Session == nil {
		t.Fatalf("set_new_password = %+v, %v", done, err)
	}
}

// TestFixrecUndoRemovesTheThiefsTwoStep (F2): a stolen session changes the
// e-mail address and turns two-step verification on with its own
// authenticator app; the owner's undo removes the app (two_step.disabled
// and method_removed with reason rollback) and the unlock asks for no
// second factor. Even where the realm requires 2SV the rollback is not
// refused.
func TestFixrecUndoRemovesTheThiefsTwoStep(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, e.JP, frOwner, dev)
		changeEmail(t, e, s, e.JP, p, req, frThief)
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		a := ctAccount(t, e, p.Account.ID)
		frTOTP(t, e, e.JP, req, a)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		e.JP.TwoStep.RequiredFor = []string{string(a.Type)}
		defer func() { e.JP.TwoStep.RequiredFor = nil }()
		e.Clock.Advance(time.Minute)

		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil {
			t.Fatalf("undo: %v", err)
		}
		a = ctAccount(t, e, p.Account.ID)
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, a); err != nil || sum.Enabled || len(sum.Methods) != 0 || sum.BackupCodesLeft != 0 {
			t.Fatalf("two-step after undo = %+v, %v; want off, no method, no backup codes", sum, err)
		}
		removed := ctEvents(t, e, a.ID, event.TypeTwoStepMethodRemoved)
		if len(removed) != 1 || removed[0].Data["reason"] != "rollback" {
			t.Errorf("method_removed events = %+v", removed)
		}
		if off := ctEvents(t, e, a.ID, event.TypeTwoStepDisabled); len(off) != 1 || off[0].Data["reason"] != "rollback" {
			t.Errorf("two_step.disabled events = %+v", off)
		}
		e.JP.TwoStep.RequiredFor = nil
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// TestFixrecUndoPhoneAddRemovesItsSMSMethod (F2): a stolen session adds a
// phone number and an SMS two-step method on it; undoing the addition
// removes the number and the method with it.
func TestFixrecUndoPhoneAddRemovesItsSMSMethod(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, e.JP, frOwner, dev)
		e.Clock.Advance(time.Minute)
		ans, err := s.Start(ctx, e.JP, req, p, contact.KindPhone, frPhone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, frPhone)}); err != nil {
			t.Fatal(err)
		}
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		a := ctAccount(t, e, p.Account.ID)
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, frPhone, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, frPhone)); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)

		ans, err = s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil {
			t.Fatalf("undo: %v", err)
		}
		a = ctAccount(t, e, p.Account.ID)
		if a.Phone != "" {
			t.Fatalf("phone after undo = %q", a.Phone)
		}
		if on, err := e.TwoStep.UsesPhone(ctx, e.JP, a, frPhone); err != nil || on {
			t.Fatalf("an SMS method stays on the removed number: %v, %v", on, err)
		}
		if sum, err := e.TwoStep.Summarize(ctx, e.JP, a); err != nil || sum.Enabled || len(sum.Methods) != 0 {
			t.Fatalf("two-step after undo = %+v, %v", sum, err)
		}
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// frStolen: a thief signs in from a new device (with the code: the
// owner's mailbox was read), changes the e-mail address and turns two-step
// on; the owner is signed in on their own device. It returns the thief's
// sign-in event, the owner's principal and its request.
func frStolen(t *testing.T, e *flowtest.Env, s *contact.Service) (*event.Event, *signin.Principal, ninsho.Request) {
	t.Helper()
	dev := e.MustSignUp(t, e.JP, frOwner, pw, frOwner)
	owner := signInSession(t, e, frOwner, dev)
	e.Clock.Advance(time.Hour)
	stolen, strangerDev := signInWithCode(t, e, frOwner, "203.0.113.9", "")
	sp := principal(t, e, stolen)
	var entry *event.Event
	for _, ev := range eventsOf(t, e, sp.Account.ID, event.TypeSigninSucceeded) {
		if ev.Data["session"] == sp.Session.ID {
			entry = ev
		}
	}
	if entry == nil {
		t.Fatal("the thief's sign-in is not in the history")
	}
	e.Clock.Advance(time.Minute)
	changeEmail(t, e, s, e.JP, sp, withSession(flowtest.Req("203.0.113.9", strangerDev), stolen), frThief)
	e.Clock.Advance(time.Minute)
	frTOTP(t, e, e.JP, flowtest.Req("203.0.113.9", strangerDev), ctAccount(t, e, sp.Account.ID))
	e.Clock.Advance(time.Minute)
	return entry, principal(t, e, owner), withSession(flowtest.Req("192.0.2.10", dev), owner)
}

// frRestored fails unless a's e-mail address is the owner's again,
// verified, the change undone (contact.undone via not_me), the thief's app
// gone, and no code went to the thief's address after the change.
func frRestored(t *testing.T, e *flowtest.Env, id string, thiefCodes int) {
	t.Helper()
	a := ctAccount(t, e, id)
	if a.Email != frOwner || a.EmailVerifiedAt == nil || a.Status != account.StatusLocked {
		t.Fatalf("account: %q verified %v status %s", a.Email, a.EmailVerifiedAt, a.Status)
	}
	undone := ctEvents(t, e, id, event.TypeContactUndone)
	if len(undone) != 1 || undone[0].Data["via"] != "not_me" || undone[0].Data["restored"] != true {
		t.Errorf("contact.undone events = %+v", undone)
	}
	if sum, err := e.TwoStep.Summarize(context.Background(), e.JP, a); err != nil || sum.Enabled || len(sum.Methods) != 0 {
		t.Fatalf("two-step = %+v, %v; want the thief's app gone", sum, err)
	}
	if n := codesTo(t, e, frThief); n != thiefCodes {
		t.Fatalf("%d code(s) went to the thief's address", n-thiefCodes)
	}
}

// TestFixrecHistoryNotMeRollsBack (F3): "this wasn't me" on the thief's
// sign-in in the history puts the e-mail address back, removes the
// thief's app, and the unlock code goes to the owner's address.
func TestFixrecHistoryNotMeRollsBack(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		entry, owner, req := frStolen(t, e, s)
		thiefCodes := codesTo(t, e, frThief)
		ans, err := e.Sessions.NotMe(ctx, e.JP, req, owner.Session, entry.ID)
		if err != nil {
			t.Fatalf("not-me: %v", err)
		}
		frRestored(t, e, owner.Account.ID, thiefCodes)
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// TestFixrecAlertNotMeRollsBack (F3): the sign-in alert's "this wasn't me"
// link does the same, from the time the alert was sent.
func TestFixrecAlertNotMeRollsBack(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := frService(e)
		_, owner, _ := frStolen(t, e, s)
		var link string
		for _, m := range e.Messages(t, frOwner) {
			if m.Template == "signin_alert" {
				link = strings.Fields(m.Text[strings.Index(m.Text, "https://"):])[0]
				break
			}
		}
		u, err := url.Parse(link)
		if link == "" || err != nil {
			t.Fatalf("no sign-in alert link: %q", link)
		}
		thiefCodes := codesTo(t, e, frThief)
		ans, err := e.Unlock.NotMe(ctx, e.JP, flowtest.Req("192.0.2.10", ""), u.Query().Get("token"))
		if err != nil {
			t.Fatalf("not-me: %v", err)
		}
		frRestored(t, e, owner.Account.ID, thiefCodes)
		frUnlock(t, e, e.JP, ans, frOwner)
	})
}

// TestFixrecUndoCodeGoesToTheVerifiedPhone (F1): with a verified phone
// left, the undo that cannot put the old address back sends its unlock
// code by SMS, never to the thief's address; the password assistant by the
// thief's address sends to the phone in an explicit realm and nothing at
// all in a safe one.
func TestFixrecUndoCodeGoesToTheVerifiedPhone(t *testing.T) {
	flowtest.EachRealmAndDB(t, func(t *testing.T, e *flowtest.Env, rl *realm.Realm) {
		ctx := context.Background()
		safe := rl.Disclosure == realm.DisclosureSafe
		s := frService(e)
		dev := e.MustSignUp(t, rl, frOwner, pw, frOwner)
		p, req := ctSignIn(t, e, rl, frOwner, dev)
		ans, err := s.Start(ctx, rl, req, p, contact.KindPhone, frPhone)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.Act(ctx, rl.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, frPhone)}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		changeEmail(t, e, s, rl, p, req, frThief)
		token := undoToken(t, e, frOwner)
		e.Clock.Advance(time.Minute)
		e.MustSignUp(t, rl, frOwner, pw, frOwner)
		thiefCodes := codesTo(t, e, frThief)

		ans, err = s.Undo(ctx, rl, flowtest.Req("198.51.100.7", ""), token)
		if err != nil || ans.Next == nil || ans.Next.Channel != "sms" {
			t.Fatalf("undo = %+v, %v; want the unlock code by SMS", ans, err)
		}
		if m := e.Messages(t, frPhone); len(m) == 0 || m[0].Template != message.TemplateUnlockCode {
			t.Fatal("no unlock code went to the verified phone")
		}
		e.Clock.Advance(time.Minute)
		phoneMsgs := len(e.Messages(t, frPhone))
		ans, err = e.Reset.Start(ctx, rl, flowtest.Req("203.0.113.9", ""), frThief)
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("reset start = %+v, %v", ans, err)
		}
		want := phoneMsgs + 1
		if safe {
			want = phoneMsgs
		}
		if n := len(e.Messages(t, frPhone)); n != want {
			t.Fatalf("messages to the phone after the reset start: %d, want %d", n, want)
		}
		if n := codesTo(t, e, frThief); n != thiefCodes {
			t.Fatalf("%d code(s) went to the thief's unverified address", n-thiefCodes)
		}
	})
}
