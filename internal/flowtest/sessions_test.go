package flowtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
)

const (
	ssEmail    = "sessions@example.jp"
	ssOther    = "other@example.jp"
	ssStranger = "198.51.100.7"
)

// signInWithCode signs email in from dev at ip where a verification code
// is asked (an unfamiliar device), answers it, and returns the session
// token and the device token used.
func signInWithCode(t *testing.T, e *flowtest.Env, email, ip, dev string) (token, devToken string) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, dev), signin.Input{Identifier: email, Password: pw})
	if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
		t.Fatalf("sign in %s from %q: %+v, %v; want a verification code", email, dev, ans, err)
	}
	if dev == "" {
		dev = ans.DeviceToken
	}
	done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(ip, dev), flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, email)})
	if err != nil || done.Session == nil {
		t.Fatalf("code of %s: %+v, %v", email, done, err)
	}
	return done.Session.Token, dev
}

// wantSignedOut fails unless token is refused now, without the clock moving
// (the session cache of this instance must not answer for it).
func wantSignedOut(t *testing.T, e *flowtest.Env, svc *signin.Service, token, what string) {
	t.Helper()
	_, err := svc.Authenticate(context.Background(), e.JP, token)
	if !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		t.Fatalf("%s: authenticate = %v, want unauthenticated", what, err)
	}
}

// TestSignOutEverywhereElse: "sign out everywhere else" revokes every other
// session of the account and keeps the current one; the other tokens are
// refused at once on this instance although they were in its session
// cache a moment before, and on another instance (its own cache) within
// signin.SessionCacheTTL. The event names the session that did it and how
// many.
func TestSignOutEverywhereElse(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, ssEmail, pw, ssEmail)
		current := signInSession(t, e, ssEmail, dev)
		other, _ := signInWithCode(t, e, ssEmail, ssStranger, "")
		third := signInSession(t, e, ssEmail, dev)
		// Another instance on the same database, with its own cache.
		elsewhere := signin.NewService(e.Kit, e.Realms)
		for _, tok := range []string{current, other, third} {
			principal(t, e, tok) // cached here now
			if _, err := elsewhere.Authenticate(ctx, e.JP, tok); err != nil {
				t.Fatal(err)
			}
		}
		p := principal(t, e, current)
		ss, err := e.Sessions.List(ctx, e.JP, p.Session)
		if err != nil || len(ss) != 4 { // the sign-up's session, and three sign-ins
			t.Fatalf("list = %d sessions, %v; want 4", len(ss), err)
		}
		n, err := e.Sessions.SignOutOthers(ctx, e.JP, withSession(flowtest.Req("192.0.2.10", dev), current), p.Session)
		if err != nil || n != 3 {
			t.Fatalf("sign out others = %d, %v; want 3", n, err)
		}
		wantSignedOut(t, e, e.Signin, other, "other device")
		wantSignedOut(t, e, e.Signin, third, "same device, other session")
		if _, err := e.Signin.Authenticate(ctx, e.JP, current); err != nil {
			t.Fatalf("the current session was refused: %v", err)
		}
		// The other instance forgets within the cache's second.
		e.Clock.Advance(signin.SessionCacheTTL)
		wantSignedOut(t, e, elsewhere, other, "other instance after the cache's second")
		ss, err = e.Sessions.List(ctx, e.JP, p.Session)
		if err != nil || len(ss) != 1 || ss[0].ID != p.Session.ID {
			t.Fatalf("list after = %+v, %v; want only the current session", ss, err)
		}
		evs := eventsOf(t, e, p.Account.ID, event.TypeSessionRevokedOthers)
		if len(evs) != 1 || evs[0].Data["session"] != p.Session.ID || evs[0].Data["count"] != float64(3) || evs[0].IP != "192.0.2.10" {
			t.Errorf("events = %+v; want one naming the current session, count 3, from its address", evs)
		}
	})
}

// TestSignOutOneSession: one session of the account is signed out by its
// id and refused at once; the others stay. Signing out the current session
// is a sign-out; an id that is no longer live is not_found.
func TestSignOutOneSession(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, ssEmail, pw, ssEmail)
		current := signInSession(t, e, ssEmail, dev)
		other, _ := signInWithCode(t, e, ssEmail, ssStranger, "")
		p, q := principal(t, e, current), principal(t, e, other)
		req := withSession(flowtest.Req("192.0.2.10", dev), current)
		was, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, q.Session.ID)
		if err != nil || was {
			t.Fatalf("sign out = %v, %v; want the other session signed out", was, err)
		}
		wantSignedOut(t, e, e.Signin, other, "the signed-out session")
		if _, err := e.Signin.Authenticate(ctx, e.JP, current); err != nil {
			t.Fatalf("the current session was refused: %v", err)
		}
		_, err = e.Sessions.SignOut(ctx, e.JP, req, p.Session, q.Session.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		evs := eventsOf(t, e, p.Account.ID, event.TypeSessionRevoked)
		if len(evs) != 1 || evs[0].Data["revoked"] != q.Session.ID || evs[0].Data["session"] != p.Session.ID {
			t.Errorf("events = %+v; want one naming the revoked and the acting session", evs)
		}
		was, err = e.Sessions.SignOut(ctx, e.JP, req, p.Session, p.Session.ID)
		if err != nil || !was {
			t.Fatalf("sign out current = %v, %v; want the current one signed out", was, err)
		}
		wantSignedOut(t, e, e.Signin, current, "the current session, signed out")
	})
}

// TestForgetDevice: forgetting a familiar device makes its next sign-in ask
// for a verification code, takes its trust away, and revokes the account's
// sessions on it; another account familiar with the same browser keeps its
// link and its session. Devices show first and last sign-in, the network
// and trust.
func TestForgetDevice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		shared := e.MustSignUp(t, e.JP, ssEmail, pw, ssEmail)
		onShared := signInSession(t, e, ssEmail, shared)
		e.MustSignUp(t, e.JP, ssOther, pw, ssOther)
		otherOnShared, _ := signInWithCode(t, e, ssOther, "192.0.2.10", shared)
		current, _ := signInWithCode(t, e, ssEmail, ssStranger, "")
		p := principal(t, e, current)
		sharedID := principal(t, e, onShared).Session.DeviceID
		if _, err := e.Trust.Trust(ctx, e.JP, flowtest.Req("192.0.2.10", shared), p.Account.ID, sharedID); err != nil {
			t.Fatal(err)
		}

		ds, err := e.Sessions.Devices(ctx, e.JP, p.Session)
		if err != nil || len(ds) != 2 {
			t.Fatalf("devices = %+v, %v; want 2", ds, err)
		}
		byID := map[string]int{}
		for i, d := range ds {
			byID[d.ID] = i
		}
		d, ok := byID[sharedID]
		if !ok || ds[d].TrustedUntil == nil || ds[d].LastIP != "192.0.2.10" || ds[d].FirstAt.IsZero() {
			t.Fatalf("devices = %+v; want the shared browser, trusted, last at 192.0.2.10", ds)
		}

		n, err := e.Sessions.ForgetDevice(ctx, e.JP, withSession(flowtest.Req(ssStranger, ""), current), p.Session, sharedID)
		if err != nil || n != 2 { // the sign-up's session and the sign-in on it
			t.Fatalf("forget = %d, %v; want 2 sessions revoked", n, err)
		}
		wantSignedOut(t, e, e.Signin, onShared, "the forgotten device's session")
		if _, err := e.Signin.Authenticate(ctx, e.JP, otherOnShared); err != nil {
			t.Fatalf("the other account's session on the shared browser was refused: %v", err)
		}
		if ok, _ := e.DB.IsFamiliar(ctx, principal(t, e, otherOnShared).Account.ID, sharedID); !ok {
			t.Error("the other account's link to the shared browser was deleted")
		}
		if ok, _ := e.Trust.Trusted(ctx, e.JP, p.Account.ID, sharedID); ok {
			t.Error("the forgotten device is still trusted")
		}
		ds, err = e.Sessions.Devices(ctx, e.JP, p.Session)
		if err != nil || len(ds) != 1 || ds[0].ID == sharedID {
			t.Fatalf("devices after = %+v, %v; want only the other one", ds, err)
		}
		evs := eventsOf(t, e, p.Account.ID, event.TypeDeviceForgotten)
		if len(evs) != 1 || evs[0].Data["device"] != sharedID || evs[0].Data["trusted"] != true || evs[0].Data["sessions_revoked"] != float64(2) {
			t.Errorf("events = %+v", evs)
		}
		// The next sign-in from the forgotten browser is asked for a code.
		signInWithCode(t, e, ssEmail, "192.0.2.10", shared)
		// Forgetting it again: it is familiar again now, so that works;
		// a device never seen is not_found.
		_, err = e.Sessions.ForgetDevice(ctx, e.JP, flowtest.Req(ssStranger, ""), p.Session, "01900000-0000-7000-8000-0000000000ff")
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
	})
}

// TestOtherAccountsAreNotFound: a session, a device and a history entry of
// another account are not_found, and nothing of theirs changes.
func TestOtherAccountsAreNotFound(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, ssEmail, pw, ssEmail)
		mine := principal(t, e, signInSession(t, e, ssEmail, dev))
		otherDev := e.MustSignUp(t, e.JP, ssOther, pw, ssOther)
		theirToken := signInSession(t, e, ssOther, otherDev)
		theirs := principal(t, e, theirToken)
		req := flowtest.Req("192.0.2.10", dev)

		_, err := e.Sessions.SignOut(ctx, e.JP, req, mine.Session, theirs.Session.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = e.Sessions.ForgetDevice(ctx, e.JP, req, mine.Session, theirs.Session.DeviceID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		entry := eventsOf(t, e, theirs.Account.ID, event.TypeSigninSucceeded)[0]
		_, err = e.Sessions.NotMe(ctx, e.JP, req, mine.Session, entry.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = e.Sessions.NotMe(ctx, e.JP, req, mine.Session, "not-an-id")
		flowtest.WantCode(t, err, ninsho.CodeNotFound)

		if _, err := e.Signin.Authenticate(ctx, e.JP, theirToken); err != nil {
			t.Fatalf("their session was touched: %v", err)
		}
		a, err := e.DB.Account(ctx, theirs.Account.ID)
		if err != nil || a.Status != account.StatusActive {
			t.Fatalf("their account = %+v, %v; want active", a, err)
		}
	})
}

// TestHistoryNotMe: "this wasn't me" on a stranger's sign-in in the
// history revokes every session (the reporting one too), locks the account
// as suspicious, forgets trusted devices and starts an unlock flow whose
// code goes to the owner; the current session's own sign-in carries no
// link. No recent sign-in is needed.
func TestHistoryNotMe(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, ssEmail, pw, ssEmail)
		stranger, strangerDev := signInWithCode(t, e, ssEmail, ssStranger, "")
		sp := principal(t, e, stranger)
		if _, err := e.Trust.Trust(ctx, e.JP, flowtest.Req(ssStranger, strangerDev), sp.Account.ID, sp.Session.DeviceID); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Hour) // long past the re-authentication window
		owner := signInSession(t, e, ssEmail, dev)
		e.Clock.Advance(time.Hour)
		p := principal(t, e, owner)

		var strangers, own *event.Event
		for _, ev := range eventsOf(t, e, p.Account.ID, event.TypeSigninSucceeded) {
			switch ev.Data["session"] {
			case sp.Session.ID:
				strangers = ev
			case p.Session.ID:
				own = ev
			}
		}
		if strangers == nil || own == nil {
			t.Fatal("sign-in events not found")
		}
		if _, err := e.Sessions.NotMe(ctx, e.JP, flowtest.Req("192.0.2.10", dev), p.Session, own.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Fatalf("not-me on the current session's own sign-in = %v, want not_found", err)
		}
		before := len(e.Messages(t, ssEmail))
		ans, err := e.Sessions.NotMe(ctx, e.JP, withSession(flowtest.Req("192.0.2.10", dev), owner), p.Session, strangers.ID)
		if err != nil || ans.Flow.Kind != flow.KindUnlock || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("not-me = %+v, %v; want an unlock flow at its code", ans, err)
		}
		wantSignedOut(t, e, e.Signin, stranger, "the stranger's session")
		wantSignedOut(t, e, e.Signin, owner, "the reporting session")
		a, err := e.DB.Account(ctx, p.Account.ID)
		if err != nil || a.Status != account.StatusLocked || a.Lock.Kind != account.LockSuspicious {
			t.Fatalf("account = %+v, %v; want locked as suspicious", a, err)
		}
		if ok, _ := e.Trust.Trusted(ctx, e.JP, a.ID, sp.Session.DeviceID); ok {
			t.Error("the stranger's device is still trusted")
		}
		if got := len(e.Messages(t, ssEmail)); got != before+1 {
			t.Errorf("%d messages to the owner, want %d (the unlock code)", got, before+1)
		}
		locks := eventsOf(t, e, a.ID, event.TypeAccountLocked)
		if len(locks) != 1 || locks[0].Data["reason"] != "not_me" || locks[0].Data["via"] != "history" || locks[0].Data["entry"] != strangers.ID {
			t.Errorf("lock events = %+v; want one not_me via history naming the entry", locks)
		}
		// The unlock flow applies: its code, then a new password.
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", dev), flow.Action{Name: flow.ActionSubmitCode, Code: e.LastCode(t, ssEmail)})
		if err != nil || done.Next == nil || done.Next.Step != flow.StepNewPassword {
			t.Fatalf("unlock code = %+v, %v; want the new password step", done, err)
		}
	})
}

// eventsOf returns the account's events of type typ, newest first.
func eventsOf(t *testing.T, e *flowtest.Env, accountID, typ string) []*event.Event {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), accountID, flowtest.Epoch.Add(-time.Hour), 1000)
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
