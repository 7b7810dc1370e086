package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

const clEmail = "closer@example.jp"

// withClosure wires closing accounts into e (sign-in offers to reopen,
// the password assistant tells so).
func withClosure(e *flowtest.Env) *closure.Service {
	svc := &closure.Service{Kit: e.Kit, Realms: e.Realms, Store: e.DB, Signin: e.Signin}
	e.Signin.Closure = svc
	e.Reset.Closure = svc
	return svc
}

// closureMails are the closure alerts delivered to to, newest first, as
// "change: body".
func closureMails(t *testing.T, e *flowtest.Env, to string) []string {
	t.Helper()
	var out []string
	for _, m := range e.Messages(t, to) {
		if m.Template == closure.Template {
			out = append(out, m.Text)
		}
	}
	return out
}

// closeAccount signs up clEmail, signs in and closes the account; it returns
// the device token, the closed session's token and the outcome.
func closeAccount(t *testing.T, e *flowtest.Env, svc *closure.Service) (string, string, *closure.Closed) {
	t.Helper()
	ctx := context.Background()
	dev := e.MustSignUp(t, e.JP, clEmail, pw, clEmail)
	token := signInSession(t, e, clEmail, dev)
	p := principal(t, e, token)
	req := withSession(flowtest.Req("192.0.2.10", dev), token)
	if _, err := svc.Close(ctx, e.JP, req, p, false); ninsho.CodeOf(err) != ninsho.CodeFieldRequired || ninsho.ErrorOf(err).Field != "confirm" {
		t.Fatalf("close without confirm: %v, want field_required confirm", err)
	}
	out, err := svc.Close(ctx, e.JP, req, p, true)
	if err != nil {
		t.Fatalf("close: %v", err)
	}
	if !out.PurgeAt.Equal(out.ClosedAt.Add(30 * 24 * time.Hour)) {
		t.Errorf("purge_at %v, want closed_at %v + 30 days", out.PurgeAt, out.ClosedAt)
	}
	return dev, token, out
}

// TestClosureClosesAndReopensBySigningIn: closing needs confirm, revokes
// every session at once, records account.closed and alerts with the
// reopening date and a "this wasn't me" link; the right password then
// answers reopen_account (a wrong one answers as before); cancel leaves the
// account closed without a session; reopen makes it active again, issues a
// session through the normal completion, records account.reopened and
// alerts.
func TestClosureClosesAndReopensBySigningIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := withClosure(e)
		dev, token, out := closeAccount(t, e, svc)
		if _, err := e.Signin.Authenticate(ctx, e.JP, token); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("closed account's session: %v, want unauthenticated", err)
		}
		a, err := e.DB.AccountByEmail(ctx, e.JP.ID, clEmail)
		if err != nil || a.Status != account.StatusClosed {
			t.Fatalf("account %+v, %v; want closed", a, err)
		}
		mails := closureMails(t, e, clEmail)
		if len(mails) != 1 || !strings.Contains(mails[0], "閉鎖") || !strings.Contains(mails[0], "/signin/not-me?token=") ||
			!strings.Contains(mails[0], out.PurgeAt.In(time.FixedZone("JST", 9*3600)).Format("2006-01-02 15:04")) {
			t.Fatalf("closing alert: %q", mails)
		}
		wantEvent(t, e, a.ID, closure.EventClosed)

		req := flowtest.Req("192.0.2.10", dev)
		_, err = e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: clEmail, Password: "wrong-password-1"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)

		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: clEmail, Password: pw})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepReopenAccount ||
			ans.Next.ClosedAt == nil || !ans.Next.ClosedAt.Equal(out.ClosedAt) || ans.Next.PurgeAt == nil || !ans.Next.PurgeAt.Equal(out.PurgeAt) {
			t.Fatalf("right password: %+v (next %+v), %v; want reopen_account with the dates", ans, ans.Next, err)
		}
		done, err := e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionCancel})
		if err != nil || done.Session != nil || done.Flow.Status != flow.StatusComplete {
			t.Fatalf("cancel: %+v, %v", done, err)
		}
		if a, _ := e.DB.Account(ctx, a.ID); a.Status != account.StatusClosed {
			t.Fatalf("after cancel: status %s, want closed", a.Status)
		}

		ans, err = e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: clEmail, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepReopenAccount {
			t.Fatalf("second sign-in: %+v, %v", ans, err)
		}
		done, err = e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionReopen})
		if err != nil || done.Session == nil || done.Session.AAL != 1 {
			t.Fatalf("reopen: %+v, %v; want a session", done, err)
		}
		if a, _ := e.DB.Account(ctx, a.ID); a.Status != account.StatusActive {
			t.Fatalf("after reopen: status %s, want active", a.Status)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, done.Session.Token); err != nil {
			t.Fatalf("new session: %v", err)
		}
		wantEvent(t, e, a.ID, closure.EventReopened)
		if mails := closureMails(t, e, clEmail); len(mails) != 2 || !strings.Contains(mails[0], "再開") {
			t.Fatalf("reopening alert: %q", mails)
		}
		// The owner's history shows both, in words on the account page.
		evs, err := e.Signin.History(ctx, principal(t, e, done.Session.Token), 50)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			seen[ev.Type] = true
		}
		if !seen[closure.EventClosed] || !seen[closure.EventReopened] {
			t.Errorf("history lacks closing or reopening: %v", seen)
		}
		// Reopened, it is an account like any other: no reopen step.
		e.Clock.Advance(2 * time.Second)
		signInSession(t, e, clEmail, dev)
	})
}

// wantEvent fails unless the account has an event of type typ.
func wantEvent(t *testing.T, e *flowtest.Env, accountID, typ string) {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, e.Clock.Now().Add(-24*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs {
		if ev.Type == typ {
			return
		}
	}
	t.Errorf("no %s event among %d", typ, len(evs))
}

// TestClosureReopenAsksSecondFactor: with two-step verification on, the
// right password alone does not offer reopening: the second factor comes
// first (a wrong one refuses), and the session after reopen is AAL 2.
func TestClosureReopenAsksSecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := withClosure(e)
		dev := e.MustSignUp(t, e.JP, clEmail, pw, clEmail)
		a, secret := enrolTOTP(t, e, clEmail)
		// A two-factor session, recent.
		req := flowtest.Req("192.0.2.10", dev)
		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: clEmail, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor {
			t.Fatalf("sign in: %+v, %v", ans, err)
		}
		done, err := e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		if err != nil || done.Session == nil {
			t.Fatalf("second factor: %+v, %v", done, err)
		}
		p := principal(t, e, done.Session.Token)
		if _, err := svc.Close(ctx, e.JP, withSession(req, done.Session.Token), p, true); err != nil {
			t.Fatalf("close: %v", err)
		}
		e.Clock.Advance(time.Minute) // a new TOTP step

		ans, err = e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: clEmail, Password: pw})
		if err != nil || ans.Session != nil || ans.Next == nil || ans.Next.Step != flow.StepSecondFactor {
			t.Fatalf("right password of a closed 2SV account: %+v, %v; want second_factor first", ans, err)
		}
		// The offer cannot be taken before the factor.
		if _, err := e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionReopen}); !ninsho.IsCode(err, ninsho.CodeActionUnknown) {
			t.Fatalf("reopen before the second factor: %v, want action_unknown", err)
		}
		_, err = e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: wrongTOTP(t, e, secret)})
		flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		step, err := e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		if err != nil || step.Session != nil || step.Next == nil || step.Next.Step != flow.StepReopenAccount || step.Next.PurgeAt == nil {
			t.Fatalf("right factor: %+v, %v; want reopen_account", step, err)
		}
		if a, _ := e.DB.Account(ctx, a.ID); a.Status != account.StatusClosed {
			t.Fatalf("status %s before reopen, want closed", a.Status)
		}
		done, err = e.Engine.Act(ctx, e.JP.ID, ans.Flow.ID, req, flow.Action{Name: flow.ActionReopen})
		if err != nil || done.Session == nil || done.Session.AAL != 2 {
			t.Fatalf("reopen: %+v, %v; want an AAL 2 session", done, err)
		}
		if a, _ := e.DB.Account(ctx, a.ID); a.Status != account.StatusActive {
			t.Fatalf("status %s after reopen, want active", a.Status)
		}
	})
}

// TestClosureNeedsRecentSignIn: closing with a session older than the
// realm's re-authentication window answers reauth_required and changes
// nothing; the session stays valid.
func TestClosureNeedsRecentSignIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := withClosure(e)
		dev := e.MustSignUp(t, e.JP, clEmail, pw, clEmail)
		token := signInSession(t, e, clEmail, dev)
		e.Clock.Advance(e.JP.ReauthWindow() + time.Second)
		p := principal(t, e, token)
		_, err := svc.Close(ctx, e.JP, withSession(flowtest.Req("192.0.2.10", dev), token), p, true)
		flowtest.WantCode(t, err, ninsho.CodeReauthRequired)
		if a, _ := e.DB.Account(ctx, p.Account.ID); a.Status != account.StatusActive {
			t.Fatalf("status %s, want active", a.Status)
		}
		if len(closureMails(t, e, clEmail)) != 0 {
			t.Error("a refused closing sent an alert")
		}
		principal(t, e, token)
	})
}

// TestClosureSafeRealmTellsNothingBeforeThePassword: in a safe realm a
// wrong password to a closed account answers exactly as for an unknown
// identifier; after the grace the right password answers account_closed
// until the purge.
func TestClosureSafeRealmTellsNothingBeforeThePassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		svc := withClosure(e)
		const email = "closer@example.com"
		dev := e.MustSignUp(t, e.Safe, email, pw, email)
		ans, err := e.Signin.Start(ctx, e.Safe, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: email, Password: pw})
		if err != nil || ans.Session == nil {
			t.Fatalf("sign in: %v", err)
		}
		p, err := e.Signin.Authenticate(ctx, e.Safe, ans.Session.Token)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Close(ctx, e.Safe, flowtest.Req("192.0.2.10", dev), p, true); err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("192.0.2.10", dev)
		_, errClosed := e.Signin.Start(ctx, e.Safe, req, signin.Input{Identifier: email, Password: "wrong-password-1"})
		_, errUnknown := e.Signin.Start(ctx, e.Safe, req, signin.Input{Identifier: "nobody@example.com", Password: "wrong-password-1"})
		flowtest.WantCode(t, errClosed, ninsho.CodeCredentialsIncorrect)
		flowtest.WantCode(t, errUnknown, ninsho.CodeCredentialsIncorrect)

		e.Clock.Advance(e.Safe.ClosureGrace() + time.Minute)
		_, err = e.Signin.Start(ctx, e.Safe, req, signin.Input{Identifier: email, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountClosed)
	})
}
