package flowtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/ninsho/ninsho/internal/changebudget"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
)

// wantBudgetSpent fails unless err is the settings budget's refusal:
// rate_limited of kind settings with an hour to wait.
func wantBudgetSpent(t *testing.T, err error, what string) {
	t.Helper()
	e := ninsho.ErrorOf(err)
	if err == nil || e.Code != ninsho.CodeRateLimited || e.Params["kind"] != changebudget.Kind || e.Params["retry_after_s"] != 3600 {
		t.Fatalf("%s: %v (%+v), want rate_limited kind settings, retry_after_s 3600", what, err, e)
	}
}

// TestSettingsChangeBudget: a change that changes nothing (the same name,
// "sign out everywhere else" with no other session) writes no event and
// spends nothing; the account's changes — name and language, password,
// signing out another session, every other one, forgetting a device —
// share 20 an hour, refused before anything is written (rate_limited,
// kind settings); signing out the current session is a sign-out and is
// never refused; an hour later changes pass again.
func TestSettingsChangeBudget(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		other, _ := signInWithCode(t, e, pfEmail, ssStranger, "")
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		p := principal(t, e, token)
		q := principal(t, e, other)
		str := func(s string) *string { return &s }

		// Nothing changes: no event, nothing spent.
		for range 30 {
			if _, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str("Hanako Yamada"), Locale: str("ja")}); err != nil {
				t.Fatal(err)
			}
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeProfileChanged); n != 0 {
			t.Fatalf("%d profile_changed events for no change", n)
		}
		if _, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, q.Session.ID); err != nil {
			t.Fatal(err) // spends 1
		}
		if n, err := e.Sessions.SignOutOthers(ctx, e.JP, req, p.Session); err != nil || n != 1 {
			t.Fatalf("sign out others = %d, %v; want the sign-up's session", n, err) // spends 1
		}
		for range 30 {
			if n, err := e.Sessions.SignOutOthers(ctx, e.JP, req, p.Session); err != nil || n != 0 {
				t.Fatalf("sign out others again = %d, %v", n, err)
			}
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeSessionRevokedOthers); n != 1 {
			t.Fatalf("%d session.revoked_others events, want 1 (none for revoked 0)", n)
		}

		// 18 more changes spend the rest.
		for i := range 18 {
			if _, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str(fmt.Sprintf("Z%d", i))}); err != nil {
				t.Fatalf("change %d: %v", i+3, err)
			}
		}
		third, _ := signInWithCode(t, e, pfEmail, ssStranger, "")
		r := principal(t, e, third)
		_, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str("Z-too-many")})
		wantBudgetSpent(t, err, "the 21st change")
		const pw2 = "sora-no-shita-77"
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: pw, Password: pw2, PasswordConfirmation: pw2, SignOutOthers: true})
		wantBudgetSpent(t, err, "password change")
		_, err = e.Sessions.SignOut(ctx, e.JP, req, p.Session, r.Session.ID)
		wantBudgetSpent(t, err, "sign out another session")
		_, err = e.Sessions.SignOutOthers(ctx, e.JP, req, p.Session)
		wantBudgetSpent(t, err, "sign out others")
		_, err = e.Sessions.ForgetDevice(ctx, e.JP, req, p.Session, r.Session.DeviceID)
		wantBudgetSpent(t, err, "forget a device")
		// Nothing of the refused changes was written.
		if a := accountOf(t, e, pfEmail); a.Name != "Z17" {
			t.Fatalf("name = %q after refusals, want Z17", a.Name)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, third); err != nil {
			t.Fatalf("the session a refused sign-out named was revoked: %v", err)
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeProfileChanged); n != 18 {
			t.Fatalf("%d profile_changed events, want 18", n)
		}
		for _, typ := range []string{event.TypePasswordChanged, event.TypeDeviceForgotten} {
			if n := countEvents(t, e, p.Account.ID, typ); n != 0 {
				t.Fatalf("%d %s events after refusals", n, typ)
			}
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeSessionRevokedOthers); n != 1 {
			t.Fatalf("%d session.revoked_others events, want 1", n)
		}

		// Signing out this session is a sign-out: never refused.
		if was, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, p.Session.ID); err != nil || !was {
			t.Fatalf("own sign-out with the budget spent = %v, %v", was, err)
		}
		// An hour later the budget is back.
		e.Clock.Advance(changebudget.Window)
		if _, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, r.Session.ID); err != nil {
			t.Fatalf("an hour later: %v", err)
		}
	})
}
