package flowtest_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/reauth"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/throttle"
	"github.com/ninsho/ninsho/internal/twostep"
)

const pfEmail = "hanako.profile@example.jp"

// profileService is the settings service on e, wired as cli wires it.
func profileService(e *flowtest.Env) *profile.Service {
	return &profile.Service{Kit: e.Kit, Signin: e.Signin, TwoStep: e.TwoStep, Guard: e.Kit.Codes.Guard, Held: e.DB, Budget: e.Budget, Changes: e.DB}
}

// pfSignedIn signs pfEmail up and in, and returns the device token and the
// session token (a new sign-in: recent).
func pfSignedIn(t *testing.T, e *flowtest.Env) (dev, token string) {
	t.Helper()
	dev = e.MustSignUp(t, e.JP, pfEmail, pw, pfEmail)
	return dev, signInSession(t, e, pfEmail, dev)
}

// fresh authenticates token past the session cache.
func fresh(t *testing.T, e *flowtest.Env, token string) *signin.Principal {
	t.Helper()
	e.Clock.Advance(2 * time.Second)
	return principal(t, e, token)
}

// templatesTo delivers due messages and lists the templates sent to to,
// newest first.
func templatesTo(t *testing.T, e *flowtest.Env, to string) []string {
	t.Helper()
	var out []string
	for _, m := range e.Messages(t, to) {
		out = append(out, m.Template)
	}
	return out
}

// TestProfileLastVerifiedIdentifierKept: an account keeps at least one
// verified identifier. With only its e-mail address, removing it is
// identifier_last and removing a phone it does not have is not_found; with a
// verified phone too, the e-mail address goes (event, alert to the removed
// address and to the phone, with the "this wasn't me" link), the address no
// longer signs in, and then the phone is the last one.
func TestProfileLastVerifiedIdentifierKept(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		_, err := ps.Remove(ctx, e.JP, req, principal(t, e, token), profile.KindEmail)
		flowtest.WantCode(t, err, ninsho.CodeIdentifierLast)
		_, err = ps.Remove(ctx, e.JP, req, principal(t, e, token), profile.KindPhone)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)

		// An unverified phone does not count as a way in.
		a := accountOf(t, e, pfEmail)
		a.Phone = sfPhone
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		_, err = ps.Remove(ctx, e.JP, req, fresh(t, e, token), profile.KindEmail)
		flowtest.WantCode(t, err, ninsho.CodeIdentifierLast)

		withPhone(t, e, a)
		e.Messages(t, "") // deliver what is due so that the alerts below stand out
		got, err := ps.Remove(ctx, e.JP, req, fresh(t, e, token), profile.KindEmail)
		if err != nil {
			t.Fatalf("remove email: %v", err)
		}
		if got.Email != "" || got.EmailVerifiedAt != nil || got.Phone != sfPhone {
			t.Fatalf("after removal: email %q verified %v phone %q", got.Email, got.EmailVerifiedAt, got.Phone)
		}
		if stored, _ := e.DB.Account(ctx, a.ID); stored.Email != "" {
			t.Fatalf("stored email %q after removal", stored.Email)
		}
		if n := countEvents(t, e, a.ID, event.TypeIdentifierRemoved); n != 1 {
			t.Errorf("%d identifier_removed events, want 1", n)
		}
		// The remaining phone gets "this wasn't me"; the removed address
		// the removal's undo link.
		if ms := e.Messages(t, sfPhone); len(ms) == 0 || ms[0].Template != message.TemplateIdentifierRemoved || !strings.Contains(ms[0].Text, "/n/") {
			t.Fatalf("alert to %s: %+v", sfPhone, ms)
		}
		if ms := e.Messages(t, pfEmail); len(ms) == 0 || ms[0].Template != message.TemplateIdentifierRemoved ||
			!strings.Contains(ms[0].Text, "/account/contact-undo?token=") || strings.Contains(ms[0].Text, "/signin/not-me?token=") {
			t.Fatalf("alert to %s: %+v", pfEmail, ms)
		}
		// The removed address signs in no more.
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: pfEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		// The phone is now the last verified identifier.
		_, err = ps.Remove(ctx, e.JP, req, fresh(t, e, token), profile.KindPhone)
		flowtest.WantCode(t, err, ninsho.CodeIdentifierLast)
		if n := countEvents(t, e, a.ID, event.TypeIdentifierRemoved); n != 1 {
			t.Errorf("%d identifier_removed events after refusals, want 1", n)
		}
	})
}

// TestProfilePhoneRemovalTwoStep: a phone number that the account's only
// two-step method uses is refused (two_step_uses_phone) and nothing
// changes; once another method exists, the phone goes and its SMS method
// with it through twostep.Service.Remove (its event and alert), 2SV stays
// on with the other method.
func TestProfilePhoneRemovalTwoStep(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		a := accountOf(t, e, pfEmail)
		withPhone(t, e, a)
		_, smsID := enrolPhone(t, e, pfEmail, twostep.MethodSMS, phMobile, sfPhone)
		// Proving a method in the settings raises the session to aal 2.
		if err := e.Signin.Elevate(ctx, fresh(t, e, token), session.MethodOTP); err != nil {
			t.Fatal(err)
		}
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		_, err := ps.Remove(ctx, e.JP, req, fresh(t, e, token), profile.KindPhone)
		flowtest.WantCode(t, err, ninsho.CodeTwoStepUsesPhone)
		if got := accountOf(t, e, pfEmail); got.Phone != sfPhone {
			t.Fatalf("phone %q after a refusal", got.Phone)
		}

		a, _ = enrolTOTP(t, e, pfEmail)
		e.Messages(t, "")
		got, err := ps.Remove(ctx, e.JP, req, fresh(t, e, token), profile.KindPhone)
		if err != nil || got.Phone != "" || got.Email != pfEmail {
			t.Fatalf("remove phone with an app as well: %+v, %v", got, err)
		}
		ms, err := e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 1 || ms[0].Kind != twostep.MethodTOTP {
			t.Fatalf("methods after removal: %+v; want the app only", ms)
		}
		for _, m := range ms {
			if m.ID == smsID {
				t.Fatal("the SMS method on the removed number is still there")
			}
		}
		if st, _ := e.TwoStep.State(ctx, e.JP, a); !st.Enabled {
			t.Fatal("2SV turned off")
		}
		if n := countEvents(t, e, a.ID, event.TypeTwoStepMethodRemoved); n != 1 {
			t.Errorf("%d two_step.method_removed events, want 1", n)
		}
		if n := countEvents(t, e, a.ID, event.TypeIdentifierRemoved); n != 1 {
			t.Errorf("%d identifier_removed events, want 1", n)
		}
		mail := templatesTo(t, e, pfEmail)
		if !contains(mail, message.TemplateTwoStepChanged) || !contains(mail, message.TemplateIdentifierRemoved) {
			t.Errorf("messages to the address: %v; want the 2SV change and the removal", mail)
		}
		if sms := templatesTo(t, e, sfPhone); !contains(sms, message.TemplateIdentifierRemoved) {
			t.Errorf("messages to the removed number: %v; want the removal alert", sms)
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// TestProfilePasswordSignOutOthers: a password change with "sign out
// everywhere else" refuses the other sessions' tokens at once and keeps
// the current one; the new password signs in, the old does not; the event
// and the password_changed alert (with its link) follow. Without the
// option the other sessions stay, and the alert says so.
func TestProfilePasswordSignOutOthers(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		other := signInSession(t, e, pfEmail, dev)
		principal(t, e, other) // cached: the revocation must reach the cache too
		a := accountOf(t, e, pfEmail)
		e.Messages(t, "")
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		const pw2 = "sora-no-shita-77"
		res, err := ps.ChangePassword(ctx, e.JP, req, principal(t, e, token), profile.PasswordInput{
			Current: pw, Password: pw2, PasswordConfirmation: pw2, SignOutOthers: true,
		})
		if err != nil || res.SignedOutOthers < 1 {
			t.Fatalf("change: %+v, %v; want other sessions signed out", res, err)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, other); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
			t.Fatalf("the other session right after the change: %v; want unauthenticated", err)
		}
		if _, err := e.Signin.Authenticate(ctx, e.JP, token); err != nil {
			t.Fatalf("the current session: %v", err)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: pfEmail, Password: pw})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		e.Clock.Advance(time.Minute)
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.10", dev), signin.Input{Identifier: pfEmail, Password: pw2})
		if err != nil || ans.Session == nil {
			t.Fatalf("sign in with the new password: %v", err)
		}
		if n := countEvents(t, e, a.ID, event.TypePasswordChanged); n != 1 {
			t.Errorf("%d password.changed events, want 1", n)
		}
		ms := e.Messages(t, pfEmail)
		if len(ms) == 0 || ms[0].Template != message.TemplatePasswordChanged || !strings.Contains(ms[0].Text, "/signin/not-me?token=") ||
			!strings.Contains(ms[0].Text, "ほかのデバイスはすべてログアウトされています") {
			t.Fatalf("alert: %+v", ms)
		}

		// Without "sign out everywhere else" the other session stays.
		other = ans.Session.Token // signed in with the new password
		e.Clock.Advance(time.Minute)
		const pw3 = "umi-no-soko-93"
		res, err = ps.ChangePassword(ctx, e.JP, req, fresh(t, e, token), profile.PasswordInput{
			Current: pw2, Password: pw3, PasswordConfirmation: pw3, SignOutOthers: false,
		})
		if err != nil || res.SignedOutOthers != 0 {
			t.Fatalf("change keeping others: %+v, %v", res, err)
		}
		fresh(t, e, other) // still signed in
		ms = e.Messages(t, pfEmail)
		if len(ms) == 0 || ms[0].Template != message.TemplatePasswordChanged || !strings.Contains(ms[0].Text, "ほかのデバイスはログインしたままです") {
			t.Fatalf("alert keeping others: %+v", ms)
		}
	})
}

// TestProfilePasswordRefusals: every field is judged at once before any
// hash (current required, the sign-up policy, the confirmation); a new
// password equal to the current one is password_reused; nothing changes.
func TestProfilePasswordRefusals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		p := principal(t, e, token)
		_, err := ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Password: "short", PasswordConfirmation: "other"})
		flowtest.WantRefusals(t, err, "field_required/current_password", "password_too_short/password", "password_mismatch/password_confirmation")
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: pw, Password: "password", PasswordConfirmation: "password"})
		flowtest.WantCode(t, err, ninsho.CodePasswordTooCommon)
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: pw, Password: pfEmail, PasswordConfirmation: pfEmail})
		flowtest.WantCode(t, err, ninsho.CodePasswordContainsPersonal)
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: pw, Password: pw, PasswordConfirmation: pw, SignOutOthers: true})
		flowtest.WantCode(t, err, ninsho.CodePasswordReused)
		if n := countEvents(t, e, p.Account.ID, event.TypePasswordChanged); n != 0 {
			t.Errorf("%d password.changed events after refusals", n)
		}
	})
}

// TestProfileWrongCurrentPasswordCounted: a wrong current password is
// password_incorrect on current_password, a signin.failed event, and
// counts on the account's re-authentication guard: after ten, even the
// right one waits (account_locked), so a stolen session gets no unlimited
// guesses here either.
func TestProfileWrongCurrentPasswordCounted(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		p := principal(t, e, token)
		const pw2 = "sora-no-shita-77"
		in := profile.PasswordInput{Current: "not-my-password", Password: pw2, PasswordConfirmation: pw2, SignOutOthers: true}
		for i := 1; i <= 10; i++ {
			_, err := ps.ChangePassword(ctx, e.JP, req, p, in)
			flowtest.WantRefusals(t, err, "password_incorrect/current_password")
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeSigninFailed); n != 10 {
			t.Errorf("%d signin.failed events, want 10", n)
		}
		// Counted like a failed sign-in too: the identifier's failures from
		// familiar devices (sign-in protection's risk signal).
		if n, err := e.Signin.Protect.Counter.Count(ctx, throttle.Key("signin.fail.fam", e.JP.ID, pfEmail), time.Hour); err != nil || n != 10 {
			t.Errorf("sign-in protection counted %d failures (%v), want 10", n, err)
		}
		_, err := e.Kit.Codes.Guard.AllowKey(ctx, e.JP.ID, reauth.GuardKey(p.Account.ID))
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		in.Current = pw
		_, err = ps.ChangePassword(ctx, e.JP, req, p, in)
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if n := countEvents(t, e, p.Account.ID, event.TypePasswordChanged); n != 0 {
			t.Errorf("%d password.changed events", n)
		}
	})
}

// TestProfileReauthExpiry: past the realm's re-authentication window
// (injected clock) every change is reauth_required and changes nothing.
func TestProfileReauthExpiry(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		a := accountOf(t, e, pfEmail)
		withPhone(t, e, a)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		e.Clock.Advance(e.JP.ReauthWindow())
		p := fresh(t, e, token)
		name, locale := "Taro", "en"
		_, err := ps.Remove(ctx, e.JP, req, p, profile.KindPhone)
		flowtest.WantCode(t, err, ninsho.CodeReauthRequired)
		_, err = ps.ChangePassword(ctx, e.JP, req, p, profile.PasswordInput{Current: pw, Password: "sora-no-shita-77", PasswordConfirmation: "sora-no-shita-77"})
		flowtest.WantCode(t, err, ninsho.CodeReauthRequired)
		_, err = ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: &name, Locale: &locale})
		flowtest.WantCode(t, err, ninsho.CodeReauthRequired)
		if got := accountOf(t, e, pfEmail); got.Phone != sfPhone || got.Name == name || got.Locale == locale {
			t.Fatalf("changed without a recent sign-in: %+v", got)
		}
	})
}

// TestProfileNameAndLanguage: the name follows sign-up's rules and the
// language is ja or en, every refused field at once; a change is an event
// naming the fields (not the name), and messages then follow the new
// language: the next alert is in English.
func TestProfileNameAndLanguage(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		p := principal(t, e, token)
		str := func(s string) *string { return &s }
		_, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str("  "), Locale: str("fr")})
		flowtest.WantRefusals(t, err, "field_required/name", "locale_invalid/locale")
		_, err = ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str(strings.Repeat("あ", 101))})
		flowtest.WantRefusals(t, err, "field_too_long/name")
		_, err = ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str("see https://spam.example")})
		flowtest.WantRefusals(t, err, "name_invalid/name")
		if n := countEvents(t, e, p.Account.ID, event.TypeProfileChanged); n != 0 {
			t.Fatalf("%d profile_changed events after refusals", n)
		}

		got, err := ps.UpdateProfile(ctx, e.JP, req, p, profile.Update{Name: str(" Ｔａｒｏ  Yamada "), Locale: str("en")})
		if err != nil || got.Name != "Taro  Yamada" || got.Locale != "en" {
			t.Fatalf("update: %+v, %v", got, err)
		}
		evs, err := e.DB.AccountEvents(ctx, p.Account.ID, flowtest.Epoch.Add(-time.Hour), 100)
		if err != nil {
			t.Fatal(err)
		}
		var ev *event.Event
		for _, x := range evs {
			if x.Type == event.TypeProfileChanged {
				ev = x
			}
		}
		if ev == nil || ev.IP != "192.0.2.10" || ev.Data["locale"] != "en" || strings.Contains(strings.ToLower(ev.Actor+stringOf(ev.Data)), "taro") {
			t.Fatalf("profile_changed event: %+v", ev)
		}
		// Nothing new: no event.
		if _, err := ps.UpdateProfile(ctx, e.JP, req, fresh(t, e, token), profile.Update{Locale: str("en")}); err != nil {
			t.Fatal(err)
		}
		if n := countEvents(t, e, p.Account.ID, event.TypeProfileChanged); n != 1 {
			t.Fatalf("%d profile_changed events, want 1", n)
		}
		// The next alert (a request that chooses no language) is in English.
		e.Messages(t, "")
		const pw2 = "sora-no-shita-77"
		if _, err := ps.ChangePassword(ctx, e.JP, req, fresh(t, e, token), profile.PasswordInput{Current: pw, Password: pw2, PasswordConfirmation: pw2, SignOutOthers: true}); err != nil {
			t.Fatal(err)
		}
		ms := e.Messages(t, pfEmail)
		if len(ms) == 0 || ms[0].Template != message.TemplatePasswordChanged || ms[0].Locale != "en" || !strings.Contains(ms[0].Subject, "your password was changed") || !strings.Contains(ms[0].Text, "Taro  Yamada") {
			t.Fatalf("alert after the language change: %+v", ms[0])
		}
	})
}

func stringOf(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k)
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}

// TestProfileConcurrentRemovals removes the e-mail address and the phone
// number of one account at the same moment, many times over: each removal
// reads the account held (account.Holder), so the second waits for the
// first and then finds its identifier the last one. Exactly one of each
// pair passes, and the account keeps exactly the other, verified — never
// both (a removal silently undone) and never none.
func TestProfileConcurrentRemovals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		a := accountOf(t, e, pfEmail)
		for round := range 8 {
			now := e.Clock.Now()
			a.Email, a.EmailVerifiedAt = pfEmail, &now
			withPhone(t, e, a) // both verified again
			stored, err := e.DB.Account(ctx, a.ID)
			if err != nil || stored.Email != pfEmail || stored.EmailVerifiedAt == nil || stored.PhoneVerifiedAt == nil {
				t.Fatalf("round %d set-up: %+v, %v", round, stored, err)
			}
			errs := make([]error, 2)
			p := fresh(t, e, token)
			var wg sync.WaitGroup
			for i, kind := range []profile.Kind{profile.KindEmail, profile.KindPhone} {
				wg.Go(func() {
					_, errs[i] = ps.Remove(ctx, e.JP, req, p, kind)
				})
			}
			wg.Wait()
			passed := 0
			for _, err := range errs {
				switch {
				case err == nil:
					passed++
				case !ninsho.IsCode(err, ninsho.CodeIdentifierLast):
					t.Fatalf("round %d: %v; want identifier_last for the loser", round, err)
				}
			}
			after, err := e.DB.Account(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			left := 0
			if after.Email != "" && after.EmailVerifiedAt != nil {
				left++
			}
			if after.Phone != "" && after.PhoneVerifiedAt != nil {
				left++
			}
			if passed != 1 || left != 1 {
				t.Fatalf("round %d: %d removals passed and %d verified identifiers left (email %q, phone %q); want 1 and 1",
					round, passed, left, after.Email, after.Phone)
			}
			*a = *after
		}
	})
}

// TestProfileRemovalSpendsTheBudget: a removal counts in the account's
// settings budget like the other changes; once it is spent the removal is
// refused with rate_limited and nothing changes.
func TestProfileRemovalSpendsTheBudget(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ps := profileService(e)
		dev, token := pfSignedIn(t, e)
		req := withSession(flowtest.Req("192.0.2.10", dev), token)
		a := accountOf(t, e, pfEmail)
		withPhone(t, e, a)
		p := fresh(t, e, token)
		for i := range 20 {
			if err := e.Budget.Spend(ctx, e.JP.ID, a.ID); err != nil {
				t.Fatalf("spend %d: %v", i, err)
			}
		}
		_, err := ps.Remove(ctx, e.JP, req, p, profile.KindPhone)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		if got, _ := e.DB.Account(ctx, a.ID); got.Phone != sfPhone || got.PhoneVerifiedAt == nil {
			t.Fatalf("phone %q verified %v after a refused removal", got.Phone, got.PhoneVerifiedAt)
		}
	})
}
