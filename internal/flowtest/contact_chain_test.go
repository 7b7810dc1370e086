package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
)

const (
	chEvil1 = "evil1@example.net"
	chEvil2 = "evil2@example.net"
)

// stolenChain: a stolen recent session changes the e-mail address
// ctOld→evil1 (link U1 to ctOld), then evil1→evil2 (link U2 to evil1, the
// thief's). It returns the account id, U1 and U2.
func stolenChain(t *testing.T, e *flowtest.Env, s *contact.Service) (string, string, string) {
	t.Helper()
	dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
	p, req := ctSignIn(t, e, e.JP, ctOld, dev)
	changeEmail(t, e, s, e.JP, p, req, chEvil1)
	u1 := undoToken(t, e, ctOld)
	e.Clock.Advance(time.Minute)
	changeEmail(t, e, s, e.JP, principal(t, e, req.SessionToken), req, chEvil2)
	u2 := undoToken(t, e, chEvil1)
	return p.Account.ID, u1, u2
}

// TestContactUndoOldestLinkWins: the owner's U1 rolls back both changes
// and kills U2; the thief's U2 afterwards is not_found and changes
// nothing (the owner keeps the account and the new password).
func TestContactUndoOldestLinkWins(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		id, u1, u2 := stolenChain(t, e, s)

		owner := flowtest.Req("198.51.100.7", "")
		ans, err := s.Undo(ctx, e.JP, owner, u1)
		if err != nil || !*ans.Contact.Restored {
			t.Fatalf("owner's undo: %+v, %v", ans, err)
		}
		a := ctAccount(t, e, id)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Status != account.StatusLocked {
			t.Fatalf("after U1: %q verified %v %s", a.Email, a.EmailVerifiedAt, a.Status)
		}
		if evs := ctEvents(t, e, id, event.TypeContactUndone); len(evs) != 1 || evs[0].Data["changes"] != float64(2) && evs[0].Data["changes"] != 2 {
			t.Fatalf("contact.undone events: %+v", evs)
		}
		// The owner unlocks with the code sent to ctOld and sets a new password.
		req := owner
		req.DeviceToken = ans.DeviceToken
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, ctOld)}); err != nil {
			t.Fatalf("unlock code: %v", err)
		}
		const newPW = "sakura-namiki-4821-tobira"
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSetNewPassword, Password: newPW, PasswordConfirmation: newPW}); err != nil {
			t.Fatalf("new password: %v", err)
		}
		if a := ctAccount(t, e, id); a.Status != account.StatusActive {
			t.Fatalf("status after unlock = %s", a.Status)
		}

		// The thief's link is dead.
		evilBefore := len(e.Messages(t, chEvil1))
		e.Clock.Advance(time.Minute)
		if ok, err := s.UndoUsable(ctx, e.JP, u2); err != nil {
			t.Fatal(err)
		} else if _, err := s.Undo(ctx, e.JP, flowtest.Req("203.0.113.66", ""), u2); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("thief's U2 after U1: %v (usable %v), want not_found", err, ok)
		}
		a = ctAccount(t, e, id)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Status != account.StatusActive {
			t.Fatalf("after U2: %q verified %v %s", a.Email, a.EmailVerifiedAt, a.Status)
		}
		if got := len(e.Messages(t, chEvil1)); got != evilBefore {
			t.Errorf("%d messages went to the thief's address", got-evilBefore)
		}
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: ctOld, Password: newPW}); err != nil {
			t.Fatalf("owner's sign-in with the new password: %v", err)
		}
	})
}

// TestContactUndoOldestLinkAfterThiefsUndo: the thief uses U2 first
// (evil1 back, unlock code to evil1); the owner's U1 still rolls
// everything back: ctOld back and verified, evil1 gone, the unlock code to
// ctOld and nothing more to evil1.
func TestContactUndoOldestLinkAfterThiefsUndo(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		id, u1, u2 := stolenChain(t, e, s)

		if _, err := s.Undo(ctx, e.JP, flowtest.Req("203.0.113.66", ""), u2); err != nil {
			t.Fatalf("thief's undo: %v", err)
		}
		if a := ctAccount(t, e, id); a.Email != chEvil1 {
			t.Fatalf("after U2: %q", a.Email)
		}
		if got := ctMessages(t, e, chEvil1, message.TemplateUnlockCode); len(got) != 1 {
			t.Fatalf("unlock codes to evil1 = %d, want 1", len(got))
		}
		evilBefore := len(e.Messages(t, chEvil1))
		oldBefore := len(ctMessages(t, e, ctOld, message.TemplateUnlockCode))

		e.Clock.Advance(time.Minute)
		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), u1)
		if err != nil || !*ans.Contact.Restored {
			t.Fatalf("owner's undo: %+v, %v", ans, err)
		}
		a := ctAccount(t, e, id)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Status != account.StatusLocked {
			t.Fatalf("after U1: %q verified %v %s", a.Email, a.EmailVerifiedAt, a.Status)
		}
		if got := len(ctMessages(t, e, ctOld, message.TemplateUnlockCode)); got != oldBefore+1 {
			t.Fatalf("unlock codes to the owner = %d, want %d", got, oldBefore+1)
		}
		if got := len(e.Messages(t, chEvil1)); got != evilBefore {
			t.Errorf("%d messages went to evil1 after the owner's undo", got-evilBefore)
		}
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signin.Input{Identifier: chEvil1, Password: pw}); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			t.Fatalf("evil1 still signs in: %v", err)
		}
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("203.0.113.66", ""), u2); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("U2 again: %v", err)
		}
	})
}

// TestContactUndoRollsBackARemoval: a stolen session adds its phone
// number (undo link to the e-mail address), then removes the e-mail
// address (the removal's undo link goes to the removed address, "this
// wasn't me" to the phone). The owner's link of the addition puts the
// e-mail address back, verified, and removes the thief's phone; the
// unlock code goes to the e-mail address, nothing to the phone.
func TestContactUndoRollsBackARemoval(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		ps := profileService(e)
		const thiefPhone = "+819087654321"
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		ans, err := s.Start(ctx, e.JP, req, p, contact.KindPhone, "090-8765-4321")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, thiefPhone)}); err != nil {
			t.Fatal(err)
		}
		addLink := undoToken(t, e, ctOld)
		e.Clock.Advance(time.Minute)
		if _, err := ps.Remove(ctx, e.JP, req, principal(t, e, req.SessionToken), profile.KindEmail); err != nil {
			t.Fatalf("remove e-mail: %v", err)
		}
		removed := ctMessages(t, e, ctOld, message.TemplateIdentifierRemoved)
		if len(removed) != 1 || !strings.Contains(removed[0], "/account/contact-undo?token=") {
			t.Fatalf("removal alert to the removed address: %q", removed)
		}
		removalLink := undoLinkRE.FindStringSubmatch(removed[0])
		if sms := ctMessages(t, e, thiefPhone, message.TemplateIdentifierRemoved); len(sms) != 1 || !strings.Contains(sms[0], "/n/") {
			t.Fatalf("removal alert to the phone: %q", sms)
		}
		phoneBefore := len(e.Messages(t, thiefPhone))

		e.Clock.Advance(time.Minute)
		undone, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), addLink)
		if err != nil || !*undone.Contact.Restored {
			t.Fatalf("owner's undo: %+v, %v", undone, err)
		}
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Phone != "" || a.PhoneVerifiedAt != nil || a.Status != account.StatusLocked {
			t.Fatalf("after undo: email %q (%v) phone %q (%v) %s", a.Email, a.EmailVerifiedAt, a.Phone, a.PhoneVerifiedAt, a.Status)
		}
		if undone.Next == nil || undone.Next.Channel != "email" || len(ctMessages(t, e, ctOld, message.TemplateUnlockCode)) != 1 {
			t.Fatalf("unlock code not to the e-mail address: %+v", undone.Next)
		}
		if got := len(e.Messages(t, thiefPhone)); got != phoneBefore {
			t.Errorf("%d messages went to the thief's phone after the undo", got-phoneBefore)
		}
		// The removal's own link died with it.
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), removalLink[2]); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("removal link after the undo: %v", err)
		}
	})
}

// TestContactPendingSignupDoesNotBlock: someone else's unconfirmed sign-up
// with an address does not make it identifier_taken; the right code
// deletes the pending account and the address is the owner's.
func TestContactPendingSignupDoesNotBlock(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("203.0.113.66", ""),
			signup.Input{Identifier: ctNew, Name: "Blocker", Password: "kasumi-sou-77-tobira"}); err != nil {
			t.Fatalf("pending sign-up: %v", err)
		}
		pending, err := e.DB.AccountByEmail(ctx, "jp", ctNew)
		if err != nil || pending.Status != account.StatusPending {
			t.Fatalf("pending account: %+v, %v", pending, err)
		}
		done := changeEmail(t, e, s, e.JP, p, req, ctNew)
		if done.Contact.Email != ctNew {
			t.Fatalf("contact = %+v", done.Contact)
		}
		if a := ctAccount(t, e, p.Account.ID); a.Email != ctNew || a.EmailVerifiedAt == nil {
			t.Fatalf("account: %q %v", a.Email, a.EmailVerifiedAt)
		}
		if _, err := e.DB.Account(ctx, pending.ID); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			t.Fatalf("the pending account survived: %v", err)
		}
	})
}
