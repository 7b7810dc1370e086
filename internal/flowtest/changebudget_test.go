package flowtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/changebudget"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
)

// wantBudgetSpent fails unless err is a budget's refusal: rate_limited of
// kind kind with an hour to wait.
func wantBudgetSpent(t *testing.T, err error, kind, what string) {
	t.Helper()
	e := ninsho.ErrorOf(err)
	if err == nil || e.Code != ninsho.CodeRateLimited || e.Params["kind"] != kind || e.Params["retry_after_s"] != 3600 {
		t.Fatalf("%s: %v (%+v), want rate_limited kind %s, retry_after_s 3600", what, err, e, kind)
	}
}

// TestSettingsChangeBudget: a change that changes nothing (the same name,
// "sign out everywhere else" with no other session) writes no event and
// spends nothing; the name and language share 20 changes an hour with the
// removals, refused before anything is written (rate_limited, kind
// settings); the password change has its own 5 an hour (kind
// password_change), which the 20 profile changes do not touch; the owner's
// remedies — signing out another session, every other one, this one,
// forgetting a device — are never refused, whatever was spent; an hour
// later changes pass again.
func TestSettingsChangeBudget(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		p := principal(t, e, token)
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

		// A thief's 20 changes of the name spend the profile budget.
		for i := range changebudget.PerAccount {
			if _, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str(fmt.Sprintf("Z%d", i))}); err != nil {
				t.Fatalf("change %d: %v", i+1, err)
			}
		}
		_, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str("Z-too-many")})
		wantBudgetSpent(t, err, changebudget.Kind, "the 21st change")
		if a := accountOf(t, e, pfEmail); a.Name != "Z19" {
			t.Fatalf("name = %q after a refusal, want Z19", a.Name)
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeProfileChanged); n != changebudget.PerAccount {
			t.Fatalf("%d profile_changed events, want %d", n, changebudget.PerAccount)
		}

		// The owner's remedies still work, again and again.
		for round := range 3 {
			other, _ := signInWithCode(t, e, pfEmail, ssStranger, "")
			q := principal(t, e, other)
			if _, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, q.Session.ID); err != nil {
				t.Fatalf("round %d: sign out another session: %v", round, err)
			}
			if _, err := e.Signin.Authenticate(ctx, e.JP, other); err == nil {
				t.Fatalf("round %d: the signed-out session still works", round)
			}
			signInWithCode(t, e, pfEmail, ssStranger, "") // another one, for everywhere else
			if n, err := e.Sessions.SignOutOthers(ctx, e.JP, req, p.Session); err != nil || n < 1 {
				t.Fatalf("round %d: sign out others = %d, %v", round, n, err)
			}
			third, _ := signInWithCode(t, e, pfEmail, ssStranger, "")
			r := principal(t, e, third)
			if _, err := e.Sessions.ForgetDevice(ctx, e.JP, req, p.Session, r.Session.DeviceID); err != nil {
				t.Fatalf("round %d: forget a device: %v", round, err)
			}
		}
		for typ, want := range map[string]int{event.TypeSessionRevoked: 3, event.TypeSessionRevokedOthers: 3, event.TypeDeviceForgotten: 3} {
			if n := countEvents(t, e, p.Account.ID, typ); n != want {
				t.Fatalf("%d %s events, want %d", n, typ, want)
			}
		}
		// With nothing to revoke, nothing is written.
		for range 30 {
			if n, err := e.Sessions.SignOutOthers(ctx, e.JP, req, p.Session); err != nil || n != 0 {
				t.Fatalf("sign out others again = %d, %v", n, err)
			}
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeSessionRevokedOthers); n != 3 {
			t.Fatalf("%d session.revoked_others events, want 3 (none for revoked 0)", n)
		}

		// The password change has its own budget: 5 an hour.
		cur := pw
		for i := range changebudget.PasswordPerAccount {
			next := fmt.Sprintf("sora-no-shita-%d7", i)
			if _, err := ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: cur, Password: next, PasswordConfirmation: next}); err != nil {
				t.Fatalf("password change %d with the profile budget spent: %v", i+1, err)
			}
			cur = next
		}
		const last = "umi-no-soko-99"
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: cur, Password: last, PasswordConfirmation: last})
		wantBudgetSpent(t, err, changebudget.PasswordKind, "the 6th password change")
		// Its text says which budget, and points only to remedies no
		// budget limits: signing out, "this wasn't me" (not a reset).
		for _, lang := range []string{"en", "ja"} {
			pwText := i18n.ErrorMessage(lang, ninsho.CodeRateLimited, ninsho.ErrorOf(err).Params)
			setText := i18n.ErrorMessage(lang, ninsho.CodeRateLimited, map[string]any{"kind": changebudget.Kind})
			if pwText == setText || !strings.Contains(pwText, map[string]string{"en": "password", "ja": "パスワード"}[lang]) {
				t.Errorf("%s: password budget text %q, want its own, naming the password", lang, pwText)
			}
			for _, text := range []string{pwText, setText} {
				if strings.Contains(text, map[string]string{"en": "reset", "ja": "再設定"}[lang]) ||
					!strings.Contains(text, map[string]string{"en": "sign out", "ja": "ログアウト"}[lang]) {
					t.Errorf("%s: %q; want signing out pointed to and no reset", lang, text)
				}
			}
		}
		if n := countEvents(t, e, p.Account.ID, event.TypePasswordChanged); n != changebudget.PasswordPerAccount {
			t.Fatalf("%d password.changed events, want %d", n, changebudget.PasswordPerAccount)
		}

		// Signing out this session is a sign-out: never refused.
		if was, err := e.Sessions.SignOut(ctx, e.JP, req, p.Session, p.Session.ID); err != nil || !was {
			t.Fatalf("own sign-out with the budgets spent = %v, %v", was, err)
		}
		// An hour later both budgets are back.
		e.Clock.Advance(changebudget.Window)
		if err := e.Budget.Check(ctx, e.JP.ID, p.Account.ID); err != nil {
			t.Fatalf("profile budget an hour later: %v", err)
		}
		if err := e.Budget.CheckPassword(ctx, e.JP.ID, p.Account.ID); err != nil {
			t.Fatalf("password budget an hour later: %v", err)
		}
	})
}
