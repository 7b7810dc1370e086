package flowtest_test

import (
	"context"
	"github.com/ninsho/ninsho/internal/signup"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/contact"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/twostep"
)

const (
	ctOld   = "hanako@example.jp"
	ctNew   = "hanako.new@example.jp"
	ctOther = "jiro@example.jp"
)

// contactService builds the contact-change service on e and registers it
// with e's flow engine.
func contactService(e *flowtest.Env) *contact.Service {
	s := &contact.Service{Kit: e.Kit, Realms: e.Realms, Signin: e.Signin, Store: e.DB, Unlock: e.Unlock,
		Starts: &throttle.Counter{Store: e.DB, Clock: e.Clock}}
	e.Engine.Handlers[flow.KindContact] = s
	return s
}

// ctSignIn signs ident in on rl from dev (the device it signed up on) and
// returns the principal and a request carrying its session.
func ctSignIn(t *testing.T, e *flowtest.Env, rl *realm.Realm, ident, dev string) (*signin.Principal, ninsho.Request) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, rl, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: ident, Password: pw})
	if err != nil || ans.Session == nil {
		t.Fatalf("sign in %s: %+v, %v", ident, ans, err)
	}
	p, err := e.Signin.Authenticate(ctx, rl, ans.Session.Token)
	if err != nil {
		t.Fatal(err)
	}
	return p, withSession(flowtest.Req("192.0.2.10", dev), ans.Session.Token)
}

func ctAccount(t *testing.T, e *flowtest.Env, id string) *account.Account {
	t.Helper()
	a, err := e.DB.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ctMessages returns the messages of template to to, newest first.
func ctMessages(t *testing.T, e *flowtest.Env, to, template string) []string {
	t.Helper()
	var out []string
	for _, m := range e.Messages(t, to) {
		if m.Template == template {
			out = append(out, m.Text)
		}
	}
	return out
}

var undoLinkRE = regexp.MustCompile(`https://\S+(/account/contact-undo\?token=|/c/)(\S+)`)

// undoToken is the token of the undo link in the newest alert to to.
func undoToken(t *testing.T, e *flowtest.Env, to string) string {
	t.Helper()
	alerts := ctMessages(t, e, to, message.TemplateContactChanged)
	if len(alerts) == 0 {
		t.Fatalf("no contact_changed alert went to %s", to)
	}
	m := undoLinkRE.FindStringSubmatch(alerts[0])
	if m == nil {
		t.Fatalf("no undo link in the alert:\n%s", alerts[0])
	}
	tok, err := url.QueryUnescape(m[2])
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func ctEvents(t *testing.T, e *flowtest.Env, accountID, typ string) []*event.Event {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, flowtest.Epoch.Add(-time.Hour), 500)
	if err != nil {
		t.Fatal(err)
	}
	var out []*event.Event
	for _, ev := range evs {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// changeEmail changes the e-mail address of p's account to to with the code
// from its inbox and returns the completed answer.
func changeEmail(t *testing.T, e *flowtest.Env, s *contact.Service, rl *realm.Realm, p *signin.Principal, req ninsho.Request, to string) *flow.Answer {
	t.Helper()
	ctx := context.Background()
	ans, err := s.Start(ctx, rl, req, p, contact.KindEmail, to)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	done, err := e.Engine.Act(ctx, rl.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, to)})
	if err != nil || done.Flow.Status != flow.StatusComplete {
		t.Fatalf("submit_code: %+v, %v", done, err)
	}
	return done
}

// TestContactEmailChangeCodeToNewAlertToOld: a recent session starts an
// e-mail change; the code goes to the new address only (the strangers'
// lane, without the account's name), the right code makes it the
// account's verified address, the answer carries the new values, the old
// address gets the alert with an undo link, contact.changed is recorded
// without identifiers, and sign-in works with the new address only.
func TestContactEmailChangeCodeToNewAlertToOld(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		before := len(e.Messages(t, ctOld))

		ans, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, "  Hanako.New@Example.JP ")
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		if ans.Flow.Kind != flow.KindContact || ans.Flow.Status != flow.StatusChallenge || ans.Next == nil ||
			ans.Next.Step != flow.StepVerificationCode || ans.Next.Channel != "email" || ans.Next.Destination == "" ||
			strings.Contains(ans.Next.Destination, "hanako.new") || ans.Next.MovesTwoStep {
			t.Fatalf("start answer = %+v / %+v", ans.Flow, ans.Next)
		}
		msgs := e.Messages(t, ctNew)
		if len(msgs) != 1 || msgs[0].Template != message.TemplateContactCode || msgs[0].Code == "" || strings.Contains(msgs[0].Text, "Hanako") {
			t.Fatalf("messages to the new address = %+v", msgs)
		}
		if got := len(e.Messages(t, ctOld)); got != before {
			t.Fatalf("the old address got %d new messages before the code, want none", got-before)
		}
		if c, err := e.DB.LatestCode(ctx, ans.Flow.ID); err != nil || c.Lane != code.LaneStranger || c.Purpose != code.PurposeContact {
			t.Errorf("code = %+v, %v; want purpose contact in the strangers' lane", c, err)
		}
		wrong := "000000"
		if msgs[0].Code == wrong {
			wrong = "111111"
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: wrong}); !ninsho.IsCode(err, ninsho.CodeCodeIncorrect) {
			t.Fatalf("wrong code: %v", err)
		}
		if a := ctAccount(t, e, p.Account.ID); a.Email != ctOld {
			t.Fatalf("a wrong code changed the address to %q", a.Email)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		if err != nil || done.Flow.Status != flow.StatusComplete || done.Contact == nil || done.Contact.Email != ctNew || done.Session != nil {
			t.Fatalf("submit_code: %+v, %v", done, err)
		}
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != ctNew || a.EmailVerifiedAt == nil || !a.EmailVerifiedAt.Equal(e.Clock.Now()) {
			t.Fatalf("account email %q verified %v", a.Email, a.EmailVerifiedAt)
		}
		alerts := ctMessages(t, e, ctOld, message.TemplateContactChanged)
		if len(alerts) != 1 || !strings.Contains(alerts[0], "/account/contact-undo?token=") {
			t.Fatalf("alerts to the old address = %q", alerts)
		}
		if len(ctMessages(t, e, ctNew, message.TemplateContactChanged)) != 0 {
			t.Error("the new address got the alert")
		}
		evs := ctEvents(t, e, a.ID, event.TypeContactChanged)
		if len(evs) != 1 || evs[0].Data["kind"] != "email" || evs[0].IP != "192.0.2.10" {
			t.Fatalf("contact.changed events = %+v", evs)
		}
		for _, ev := range append(evs, ctEvents(t, e, a.ID, event.TypeContactChangeStarted)...) {
			for k, v := range ev.Data {
				if str, ok := v.(string); ok && strings.Contains(str, "@") {
					t.Errorf("event %s keeps an identifier in %s", ev.Type, k)
				}
			}
		}
		hist, err := e.Signin.History(ctx, p, 50)
		if err != nil {
			t.Fatal(err)
		}
		inHistory := false
		for _, ev := range hist {
			inHistory = inHistory || ev.Type == event.TypeContactChanged
		}
		if !inHistory {
			t.Error("the change is not in the sign-in history")
		}
		// The session stays; sign-in now takes the new address only.
		if _, err := e.Signin.Authenticate(ctx, e.JP, req.SessionToken); err != nil {
			t.Fatalf("the changing session ended: %v", err)
		}
		if in, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: ctNew, Password: pw}); err != nil || in.Session == nil {
			t.Fatalf("sign in with the new address: %+v, %v", in, err)
		}
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: ctOld, Password: pw}); err == nil {
			t.Fatal("the old address still signs in")
		}
	})
}

// TestContactUndoRestoresRevokesLocks: the alert's undo link (GET-safe:
// UndoUsable writes nothing) restores the old address, verified, revokes
// every session, locks the account as suspicious and begins the unlock
// flow with a code to the restored address; it works once.
func TestContactUndoRestoresRevokesLocks(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		_, other := ctSignIn(t, e, e.JP, ctOld, dev) // a second session
		changeEmail(t, e, s, e.JP, p, req, ctNew)
		token := undoToken(t, e, ctOld)

		e.Clock.Advance(6 * 24 * time.Hour) // within the link's 7 days
		for range 2 {
			if ok, err := s.UndoUsable(ctx, e.JP, token); err != nil || !ok {
				t.Fatalf("UndoUsable = %v, %v; want true (and no use)", ok, err)
			}
		}
		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil || ans.Contact == nil || ans.Contact.Restored == nil || !*ans.Contact.Restored {
			t.Fatalf("undo: %+v, %v", ans, err)
		}
		if ans.Flow.Kind != flow.KindUnlock || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("undo answer = %+v / %+v, want the unlock flow at its code", ans.Flow, ans.Next)
		}
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Status != account.StatusLocked || a.Lock.Kind != account.LockSuspicious {
			t.Fatalf("account after undo: email %q verified %v status %s lock %s", a.Email, a.EmailVerifiedAt, a.Status, a.Lock.Kind)
		}
		e.Clock.Advance(2 * time.Second) // past the session cache
		for _, tok := range []string{req.SessionToken, other.SessionToken} {
			if _, err := e.Signin.Authenticate(ctx, e.JP, tok); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
				t.Errorf("a session survived the undo: %v", err)
			}
		}
		if msgs := e.Messages(t, ctOld); len(msgs) == 0 || msgs[0].Template != message.TemplateUnlockCode {
			t.Fatalf("no unlock code went to the restored address")
		}
		if len(ctEvents(t, e, a.ID, event.TypeContactUndone)) != 1 {
			t.Error("no contact.undone event")
		}
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("second undo: %v, want not_found", err)
		}
		if ok, _ := s.UndoUsable(ctx, e.JP, token); ok {
			t.Error("a used link is usable")
		}
	})
}

// TestContactUndoLinkExpires: after 7 days the link does nothing.
func TestContactUndoLinkExpires(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		changeEmail(t, e, s, e.JP, p, req, ctNew)
		token := undoToken(t, e, ctOld)
		e.Clock.Advance(contact.UndoLifetime)
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("expired undo: %v, want not_found", err)
		}
		if a := ctAccount(t, e, p.Account.ID); a.Email != ctNew || a.Status != account.StatusActive {
			t.Fatalf("an expired link changed the account: %q %s", a.Email, a.Status)
		}
		// Retention: the change's row goes once the link expired.
		e.Clock.Advance(time.Second)
		if n, err := s.Purge(ctx); err != nil || n != 1 {
			t.Fatalf("purge = %d, %v; want 1", n, err)
		}
		if _, err := e.DB.ContactChange(ctx, "jp", "x"); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatal(err)
		}
	})
}

// TestContactUndoOldAddressTakenMeanwhile: when another account holds the
// old address by now, undo still revokes and locks, no longer counts the
// new address as verified, and — no verified channel being left — sends
// no code and answers account_locked of kind support.
func TestContactUndoOldAddressTakenMeanwhile(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		changeEmail(t, e, s, e.JP, p, req, ctNew)
		token := undoToken(t, e, ctOld)
		e.MustSignUp(t, e.JP, ctOld, pw, ctOld) // the old address, free now, signs up anew
		_, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		wantNoWayIn(t, err, "undo")
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != ctNew || a.EmailVerifiedAt != nil || a.Status != account.StatusLocked {
			t.Fatalf("account: %q verified %v status %s", a.Email, a.EmailVerifiedAt, a.Status)
		}
		e.Clock.Advance(2 * time.Second)
		if _, err := e.Signin.Authenticate(ctx, e.JP, req.SessionToken); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Errorf("session survived: %v", err)
		}
	})
}

// TestContactUndoBeatsAPendingSignup: a stranger who starts (but cannot
// confirm) a sign-up with the owner's old address, to block the undo,
// loses it: the owner proved the address by following the link sent to
// it, so the old address comes back verified and the unlock code goes
// there, never to the address the change put on the account.
func TestContactUndoBeatsAPendingSignup(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		changeEmail(t, e, s, e.JP, p, req, ctNew)
		token := undoToken(t, e, ctOld)
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("203.0.113.66", ""),
			signup.Input{Identifier: ctOld, Name: "Blocker", Password: "kasumi-sou-77-tobira"}); err != nil {
			t.Fatalf("pending sign-up: %v", err)
		}
		newBefore := len(e.Messages(t, ctNew))
		ans, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token)
		if err != nil || ans.Contact == nil || ans.Contact.Restored == nil || !*ans.Contact.Restored {
			t.Fatalf("undo: %+v, %v; want restored", ans, err)
		}
		a := ctAccount(t, e, p.Account.ID)
		if a.Email != ctOld || a.EmailVerifiedAt == nil || a.Status != account.StatusLocked {
			t.Fatalf("account: %q verified %v status %s; want the old address back, verified, locked", a.Email, a.EmailVerifiedAt, a.Status)
		}
		if got := ctMessages(t, e, ctOld, "unlock_code"); len(got) == 0 {
			t.Error("no unlock code to the restored address")
		}
		if got := len(e.Messages(t, ctNew)); got != newBefore {
			t.Errorf("%d messages went to the address the change put on the account", got-newBefore)
		}
	})
}

// TestContactCollisionExplicitRealm: an address of another account is
// identifier_taken at start in an explicit realm; nothing is sent.
func TestContactCollisionExplicitRealm(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		e.MustSignUp(t, e.JP, ctOther, pw, ctOther)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		before := len(e.Messages(t, ctOther))
		_, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, ctOther)
		flowtest.WantRefusals(t, err, "identifier_taken/email")
		if got := len(e.Messages(t, ctOther)); got != before {
			t.Errorf("%d messages went to the other account's address", got-before)
		}
		_, err = s.Start(ctx, e.JP, req, p, contact.KindEmail, ctOld)
		flowtest.WantRefusals(t, err, "identifier_unchanged/email")
		_, err = s.Start(ctx, e.JP, req, p, contact.KindEmail, "not an address")
		flowtest.WantRefusals(t, err, "identifier_invalid/email")
		_, err = s.Start(ctx, e.JP, req, p, contact.KindPhone, "03-1234-5678")
		flowtest.WantRefusals(t, err, "phone_not_mobile/phone")
		_, err = s.Start(ctx, e.JP, req, p, contact.KindPhone, "0120-123-456")
		flowtest.WantRefusals(t, err, "phone_number_not_allowed/phone")
	})
}

// TestContactCollisionSafeRealm: in a safe realm an address of another
// account gets the same answer as a free one (code step, delivery "sent",
// a code written and suppressed), its owner gets a note and no code, and
// no code is ever right.
func TestContactCollisionSafeRealm(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		const me, other, free = "amy@example.com", "bob@example.com", "amy.new@example.com"
		dev := e.MustSignUp(t, e.Safe, me, pw, me)
		e.MustSignUp(t, e.Safe, other, pw, other)
		p, req := ctSignIn(t, e, e.Safe, me, dev)

		taken, err := s.Start(ctx, e.Safe, req, p, contact.KindEmail, other)
		if err != nil {
			t.Fatalf("taken start: %v", err)
		}
		e.Engine.Describe(ctx, taken)
		e.Clock.Advance(time.Minute) // another start, like a person trying another address
		freeAns, err := s.Start(ctx, e.Safe, req, p, contact.KindEmail, free)
		if err != nil {
			t.Fatalf("free start: %v", err)
		}
		e.Engine.Describe(ctx, freeAns)
		if taken.Flow.Status != freeAns.Flow.Status || taken.Next.Step != freeAns.Next.Step || taken.Next.Channel != freeAns.Next.Channel ||
			(taken.Next.Delivery == nil) != (freeAns.Next.Delivery == nil) || (taken.Next.Delivery != nil && taken.Next.Delivery.Status != freeAns.Next.Delivery.Status) {
			t.Fatalf("answers differ: taken %+v / %+v, free %+v / %+v", taken.Flow, taken.Next, freeAns.Flow, freeAns.Next)
		}
		msgs := e.Messages(t, other)
		notes := 0
		for _, m := range msgs {
			if m.Template == message.TemplateContactCode {
				t.Fatal("a code went to the other account's address")
			}
			if m.Template == message.TemplateContactTaken {
				notes++
			}
		}
		if notes != 1 {
			t.Fatalf("notes to the other owner = %d, want 1", notes)
		}
		if m, err := e.DB.Message(ctx, taken.Flow.Get(flow.StateCodeMessage)); err != nil || m.Status != message.StatusSuppressed || m.Template != message.TemplateContactCode || m.To != other {
			t.Errorf("the taken flow's code message = %+v, %v; want a suppressed contact_code row", m, err)
		}
		// No code is right: not even the free flow's code.
		_, err = e.Engine.Act(ctx, "safe", taken.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, free)})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if a := ctAccount(t, e, p.Account.ID); a.Email != me {
			t.Fatalf("email = %q", a.Email)
		}
	})
}

// TestContactReauthExpiry: a session older than the realm's
// re-authentication window gets reauth_required and nothing is written;
// after re-authenticating it may start.
func TestContactReauthExpiry(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		_, req := ctSignIn(t, e, e.JP, ctOld, dev)
		e.Clock.Advance(e.JP.ReauthWindow() + time.Second)
		p := principal(t, e, req.SessionToken)
		_, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, ctNew)
		flowtest.WantCode(t, err, ninsho.CodeReauthRequired)
		if got := len(e.Messages(t, ctNew)); got != 0 {
			t.Fatalf("%d messages went to the new address", got)
		}
		ra, err := e.Reauth.Start(ctx, e.JP, req, p, pw)
		if err != nil || ra.Flow.Status != flow.StatusComplete {
			t.Fatalf("reauth: %+v, %v", ra, err)
		}
		e.Clock.Advance(2 * time.Second)
		if _, err := s.Start(ctx, e.JP, req, principal(t, e, req.SessionToken), contact.KindEmail, ctNew); err != nil {
			t.Fatalf("start after re-authentication: %v", err)
		}
	})
}

// TestContactFlowBelongsToItsSession: another session of the same account,
// or none, cannot see or act on the flow (flow_not_found).
func TestContactFlowBelongsToItsSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		_, other := ctSignIn(t, e, e.JP, ctOld, dev)
		ans, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, ctNew)
		if err != nil {
			t.Fatal(err)
		}
		c := e.LastCode(t, ctNew)
		for _, r := range []ninsho.Request{other, flowtest.Req("192.0.2.10", dev)} {
			if _, err := e.Engine.View(ctx, "jp", ans.Flow.ID, r); !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
				t.Errorf("view: %v, want flow_not_found", err)
			}
			if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, r, flow.Action{Name: flow.ActionSubmitCode, Code: c}); !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
				t.Errorf("act: %v, want flow_not_found", err)
			}
		}
		if a := ctAccount(t, e, p.Account.ID); a.Email != ctOld {
			t.Fatalf("changed by another session: %q", a.Email)
		}
	})
}

// TestContactStartCaps: at most AddressesPerHour different new addresses
// per account and hour, refused before anything is sent.
func TestContactStartCaps(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		for i := range contact.AddressesPerHour {
			if _, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, "n"+string(rune('a'+i))+"@example.jp"); err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
		}
		_, err := s.Start(ctx, e.JP, req, p, contact.KindEmail, "nz@example.jp")
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		// Its own kind, hence its own message (the limit of address changes).
		if k := ninsho.ErrorOf(err).Params["kind"]; k != contact.LimitAddresses {
			t.Errorf("kind = %v, want %s", k, contact.LimitAddresses)
		}
		if m := i18n.FieldErrorMessage("en", ninsho.ErrorOf(err)); !strings.Contains(m, "limit of address changes for this hour") {
			t.Errorf("message = %q", m)
		}
		if got := len(e.Messages(t, "nz@example.jp")); got != 0 {
			t.Fatalf("a refused start sent %d messages", got)
		}
		e.Clock.Advance(time.Hour + time.Second)
		if _, err := s.Start(ctx, e.JP, req, principal(t, e, req.SessionToken), contact.KindEmail, "nz@example.jp"); !ninsho.IsCode(err, ninsho.CodeReauthRequired) {
			t.Fatalf("an hour later: %v (the session is no longer recent)", err)
		}
	})
}

// TestContactPhoneChangeMovesTwoStep: a phone number change where the old
// number is the account's SMS two-step number says so at start, sends the
// code by SMS to the new number, alerts the e-mail address and the old
// number, moves the two-step method to the new number only after the code,
// and the undo moves it back.
func TestContactPhoneChangeMovesTwoStep(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		s := contactService(e)
		const oldPhone, newPhone = "+819012345678", "+819087654321"
		dev := e.MustSignUp(t, e.JP, ctOld, pw, ctOld)
		p, req := ctSignIn(t, e, e.JP, ctOld, dev)
		// Add the phone number first (no phone yet: an addition).
		ans, err := s.Start(ctx, e.JP, req, p, contact.KindPhone, "090-1234-5678")
		if err != nil || ans.Next.Channel != "sms" || ans.Next.MovesTwoStep {
			t.Fatalf("add phone: %+v, %v", ans, err)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, oldPhone)}); err != nil {
			t.Fatal(err)
		}
		if alerts := ctMessages(t, e, ctOld, message.TemplateContactChanged); len(alerts) != 1 {
			t.Fatalf("an addition alerts the e-mail address: %d alerts", len(alerts))
		}
		a := ctAccount(t, e, p.Account.ID)
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, oldPhone, "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, oldPhone)); err != nil {
			t.Fatal(err)
		}
		// Two-step is on now: the session is aal 1, so prove it again.
		e.Clock.Advance(2 * time.Second)
		if err := e.Signin.Elevate(ctx, principal(t, e, req.SessionToken), "sms"); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(2 * time.Second)
		p = principal(t, e, req.SessionToken)

		e.Clock.Advance(time.Minute)
		ans, err = s.Start(ctx, e.JP, req, p, contact.KindPhone, "090-8765-4321")
		if err != nil || !ans.Next.MovesTwoStep {
			t.Fatalf("change phone: %+v, %v; want moves_two_step", ans, err)
		}
		if on, _ := e.TwoStep.UsesPhone(ctx, e.JP, a, newPhone); on {
			t.Fatal("two-step moved before the new number was proved")
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, newPhone)}); err != nil {
			t.Fatal(err)
		}
		a = ctAccount(t, e, p.Account.ID)
		if a.Phone != newPhone || a.PhoneVerifiedAt == nil {
			t.Fatalf("phone = %q", a.Phone)
		}
		if on, _ := e.TwoStep.UsesPhone(ctx, e.JP, a, newPhone); !on {
			t.Fatal("two-step did not move to the new number")
		}
		if on, _ := e.TwoStep.UsesPhone(ctx, e.JP, a, oldPhone); on {
			t.Fatal("two-step still uses the old number")
		}
		if got := ctMessages(t, e, ctOld, message.TemplateContactChanged); len(got) != 2 {
			t.Fatalf("e-mail alerts = %d, want 2", len(got))
		}
		token := undoToken(t, e, oldPhone) // the SMS's short link
		// What the link's page shows, read without using it.
		ch, err := s.UndoChange(ctx, e.JP, token)
		if err != nil || ch == nil || ch.Kind != contact.KindPhone || ch.OldValue != oldPhone || ch.NewValue != newPhone || !ch.CreatedAt.Equal(e.Clock.Now()) {
			t.Fatalf("UndoChange = %+v, %v", ch, err)
		}
		if _, err := s.Undo(ctx, e.JP, flowtest.Req("198.51.100.7", ""), token); err != nil {
			t.Fatal(err)
		}
		if ch, err := s.UndoChange(ctx, e.JP, token); ch != nil || err != nil {
			t.Fatalf("UndoChange of a used link = %+v, %v", ch, err)
		}
		a = ctAccount(t, e, p.Account.ID)
		if a.Phone != oldPhone {
			t.Fatalf("phone after undo = %q", a.Phone)
		}
		if on, _ := e.TwoStep.UsesPhone(ctx, e.JP, a, oldPhone); !on {
			t.Fatal("two-step did not move back")
		}
	})
}
