package flowtest_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
)

const raEmail = "taro@example.jp"

// signInSession signs the account of email in from the device dev (the one
// it signed up on, so no code is asked) and returns the session token.
func signInSession(t *testing.T, e *flowtest.Env, email, dev string) string {
	t.Helper()
	ans, err := e.Signin.Start(context.Background(), e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: email, Password: pw})
	if err != nil || ans.Session == nil {
		t.Fatalf("sign in %s: %+v, %v", email, ans, err)
	}
	return ans.Session.Token
}

// principal authenticates token and fails the test on error.
func principal(t *testing.T, e *flowtest.Env, token string) *signin.Principal {
	t.Helper()
	p, err := e.Signin.Authenticate(context.Background(), e.JP, token)
	if err != nil {
		t.Fatalf("authenticate: %v", err)
	}
	return p
}

// recent reports whether the session of token is recent now (what the
// recentlySignedIn guards of the API and the pages ask).
func recent(t *testing.T, e *flowtest.Env, token string) bool {
	t.Helper()
	e.Clock.Advance(2 * time.Second) // past the session cache
	return session.Recent(principal(t, e, token).Session, e.Clock.Now(), e.JP.ReauthWindow())
}

// withSession is req carrying the session token.
func withSession(req ninsho.Request, token string) ninsho.Request {
	req.SessionToken = token
	return req
}

// TestReauthPasswordMakesTheSessionRecent: a session past the window is not
// recent; re-authentication with the password makes it recent again
// (aal 1, pwd) without a new session, records session.reauthenticated, and
// after the window (injected clock) it is not recent again.
func TestReauthPasswordMakesTheSessionRecent(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, raEmail, pw, raEmail)
		token := signInSession(t, e, raEmail, dev)
		if !recent(t, e, token) {
			t.Fatal("a new sign-in is not recent")
		}
		e.Clock.Advance(e.JP.ReauthWindow())
		if recent(t, e, token) {
			t.Fatal("recent after the window")
		}
		created := principal(t, e, token).Session.CreatedAt

		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), "")
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepPassword || ans.Flow.Kind != flow.KindReauth {
			t.Fatalf("start: %+v, %v; want a reauth flow at password", ans, err)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || done.Flow.Status != flow.StatusComplete || done.Session != nil {
			t.Fatalf("submit_password: %+v, %v; want complete without a session", done, err)
		}
		if !recent(t, e, token) {
			t.Fatal("not recent after re-authentication")
		}
		p := principal(t, e, token)
		if p.Session.AAL != 1 || strings.Join(p.Session.Methods, ",") != "pwd" || !p.Session.CreatedAt.Equal(created) {
			t.Errorf("session aal %d methods %v created %v; want 1 [pwd], created unchanged", p.Session.AAL, p.Session.Methods, p.Session.CreatedAt)
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeSessionReauthenticated); n != 1 {
			t.Errorf("%d session.reauthenticated events, want 1", n)
		}
		// A finished flow takes nothing more.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)

		e.Clock.Advance(e.JP.ReauthWindow())
		if recent(t, e, token) {
			t.Error("still recent after the window following re-authentication")
		}
	})
}

// TestReauthBelongsToItsSession: acting on or reading the flow with no
// session, or with another session of the same account, is
// flow_not_found and spends nothing.
func TestReauthBelongsToItsSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, raEmail, pw, raEmail)
		token := signInSession(t, e, raEmail, dev)
		other := signInSession(t, e, raEmail, dev)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), "")
		if err != nil {
			t.Fatal(err)
		}
		for name, tok := range map[string]string{"no session": "", "another session": other, "garbage": "x"} {
			_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, withSession(flowtest.Req("192.0.2.10", dev), tok), flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
			if !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
				t.Errorf("%s: %v, want flow_not_found", name, err)
			}
			// Nor may it be read.
			if _, err := e.Engine.View(ctx, "jp", ans.Flow.ID, withSession(flowtest.Req("192.0.2.10", dev), tok)); !ninsho.IsCode(err, ninsho.CodeFlowNotFound) {
				t.Errorf("%s: view %v, want flow_not_found", name, err)
			}
		}
		if v, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req); err != nil || v.Next == nil {
			t.Errorf("its own session's view: %+v, %v", v, err)
		}
		// A revoked session cannot finish it either.
		if err := e.Signin.Signout(ctx, e.JP, req, token); err != nil {
			t.Fatal(err)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeFlowNotFound)
	})
}

// TestReauthWrongPasswords: each wrong password uses one of 5 attempts and
// the fifth fails the flow; the wrong passwords count across flows on the
// account's guard, which pauses re-authentication after 10 (a stolen
// session gets no unlimited guesses), and each is a signin.failed event.
func TestReauthWrongPasswords(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, raEmail, pw, raEmail)
		token := signInSession(t, e, raEmail, dev)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		start := func() *flow.Answer {
			t.Helper()
			ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), "")
			if err != nil {
				t.Fatal(err)
			}
			return ans
		}
		ans := start()
		for i := 1; i <= 5; i++ {
			got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: "wrong-password-1"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
			if i < 5 && (got.Next == nil || got.Next.AttemptsLeft != 5-i) {
				t.Fatalf("after %d wrong: next %+v, want %d attempts left", i, got.Next, 5-i)
			}
			if i == 5 && got.Flow.Status != flow.StatusFailed {
				t.Fatalf("after 5 wrong: status %s, want failed", got.Flow.Status)
			}
		}
		_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)

		ans = start()
		for i := 0; i < 5; i++ {
			_, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: "wrong-password-2"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		}
		// Ten wrong passwords: a new flow gets no new guesses, even the right
		// password waits for the pause.
		ans = start()
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "reauth" {
			t.Errorf("lock kind %v, want reauth", k)
		}
		if n := countEvents(t, e, principal(t, e, token).Account.ID, event.TypeSigninFailed); n != 10 {
			t.Errorf("%d signin.failed events, want 10", n)
		}
		e.Clock.Advance(time.Minute + time.Second)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw})
		if err != nil || done.Flow.Status != flow.StatusComplete {
			t.Fatalf("right password after the pause: %+v, %v", done, err)
		}
	})
}

// TestReauthAsksTheSecondFactor: with 2SV on, the right password leads to
// the second factor (no session change yet); the right TOTP completes with
// aal 2 and methods pwd+otp on the same session, without a new one.
func TestReauthAsksTheSecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, raEmail, pw, raEmail)
		_, secret := enrolTOTP(t, e, raEmail)
		in, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: raEmail, Password: pw})
		wantSecondFactor(t, in, err, "totp")
		signed, err := e.Engine.Act(ctx, "jp", in.Flow.ID, flowtest.Req("192.0.2.10", dev), flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		wantAAL2(t, e, signed, err, "pwd", "otp")
		token := signed.Session.Token
		e.Clock.Advance(e.JP.ReauthWindow() + time.Minute)
		if recent(t, e, token) {
			t.Fatal("recent after the window")
		}

		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		ans, err := e.Reauth.Start(ctx, e.JP, req, principal(t, e, token), pw)
		wantSecondFactor(t, ans, err, "totp")
		if recent(t, e, token) {
			t.Fatal("recent after the password alone")
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: "000000"})
		flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: totpAt(t, secret, e.Clock.Now())})
		if err != nil || done.Flow.Status != flow.StatusComplete || done.Session != nil {
			t.Fatalf("second factor: %+v, %v; want complete without a session", done, err)
		}
		if !recent(t, e, token) {
			t.Fatal("not recent after password and second factor")
		}
		p := principal(t, e, token)
		if p.Session.AAL != 2 || strings.Join(p.Session.Methods, ",") != "pwd,otp" {
			t.Errorf("session aal %d methods %v; want 2 [pwd otp]", p.Session.AAL, p.Session.Methods)
		}
	})
}

// countEvents counts the account's events of type typ.
func countEvents(t *testing.T, e *flowtest.Env, accountID, typ string) int {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, flowtest.Epoch.Add(-time.Hour), 1000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}
