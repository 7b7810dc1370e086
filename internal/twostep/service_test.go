package twostep_test

import (
	"bytes"
	"context"
	"github.com/ninsho/ninsho/internal/session"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/twostep"
)

var req = flowtest.Req("192.0.2.10", "")

func signUp(t *testing.T, e *flowtest.Env, email string) *account.Account {
	t.Helper()
	e.MustSignUp(t, e.JP, email, "correct horse battery staple", email)
	a, err := e.DB.AccountByEmail(context.Background(), e.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.CodeAt(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrol adds and proves an authenticator app for a at the clock's time and
// returns its secret and credential id.
func enrol(t *testing.T, e *flowtest.Env, a *account.Account) (string, string) {
	t.Helper()
	ctx := context.Background()
	en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, codeAt(t, en.Secret, e.Clock.Now())); err != nil {
		t.Fatalf("prove: %v", err)
	}
	return en.Secret, en.CredentialID
}

func eventTypes(t *testing.T, e *flowtest.Env, a *account.Account) []string {
	t.Helper()
	evs, err := e.DB.AccountEvents(context.Background(), a.ID, flowtest.Epoch.Add(-time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ev := range evs {
		if strings.HasPrefix(ev.Type, "two_step.") {
			out = append([]string{ev.Type}, out...) // oldest first
			if ev.IP != req.IP || ev.Actor != "account:"+a.ID {
				t.Errorf("event %s: ip %q actor %q", ev.Type, ev.IP, ev.Actor)
			}
		}
	}
	return out
}

// TestTOTPProvedBeforeItCounts: a new authenticator app is not a method
// until a code from it proves it; a wrong code proves nothing; the first
// proved method turns 2SV on, preferred, and says backup codes are missing.
func TestTOTPProvedBeforeItCounts(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(en.URL, "otpauth://totp/Ninsho:hanako@example.jp?secret="+en.Secret) ||
			!strings.Contains(en.URL, "issuer=Ninsho") || !bytes.HasPrefix(en.PNG, []byte("\x89PNG")) ||
			strings.ReplaceAll(en.Grouped, " ", "") != en.Secret {
			t.Fatalf("enrolment = %q %q png %d bytes", en.URL, en.Grouped, len(en.PNG))
		}
		ms, err := e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil || len(ms) != 0 {
			t.Fatalf("methods before proof = %v, %v; want none", ms, err)
		}
		now := e.Clock.Now()
		if _, err := e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, en.Secret, now), now); !ninsho.IsCode(err, ninsho.CodeTOTPIncorrect) {
			t.Fatalf("check with an unproved app = %v, want totp_incorrect", err)
		}
		wrong := codeAt(t, en.Secret, now.Add(time.Hour))
		_, err = e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, wrong)
		flowtest.WantCode(t, err, ninsho.CodeTOTPIncorrect)
		if st, _ := e.TwoStep.State(ctx, e.JP, a); st.Enabled {
			t.Fatal("2SV on after a wrong code")
		}
		p, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, codeAt(t, en.Secret, now))
		if err != nil || !p.TurnedOn || p.HasBackupCodes {
			t.Fatalf("prove = %+v, %v; want turned on, no backup codes", p, err)
		}
		_, err = e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, codeAt(t, en.Secret, now))
		flowtest.WantCode(t, err, ninsho.CodeNotFound) // proved already
		st, err := e.TwoStep.State(ctx, e.JP, a)
		if err != nil || !st.Enabled || st.Preferred != en.CredentialID {
			t.Fatalf("state = %+v, %v", st, err)
		}
		ms, err = e.TwoStep.Methods(ctx, e.JP, a)
		if err != nil || len(ms) != 1 || ms[0].ID != en.CredentialID || ms[0].Kind != twostep.MethodTOTP || !ms[0].Preferred || !ms[0].CreatedAt.Equal(now) {
			t.Fatalf("methods = %+v, %v", ms, err)
		}
		// A second app proved later does not turn anything on again, and
		// backup codes are reported once there are some.
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		en2, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		p, err = e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en2.CredentialID, codeAt(t, en2.Secret, e.Clock.Now()))
		if err != nil || p.TurnedOn || !p.HasBackupCodes {
			t.Fatalf("second prove = %+v, %v", p, err)
		}
		got := strings.Join(eventTypes(t, e, a), " ")
		want := "two_step.enrol_started two_step.method_added two_step.enabled two_step.backup_codes two_step.enrol_started two_step.method_added"
		if got != want {
			t.Errorf("events = %s\nwant %s", got, want)
		}
	})
}

// TestTOTPReplay: a code accepted once is refused again, in a later check
// (another sign-in flow) as well as the code of an earlier step; the code
// that proved the app cannot sign in either.
func TestTOTPReplay(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		sec, _ := enrol(t, e, a)
		now := e.Clock.Now()
		_, err := e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, sec, now), now)
		flowtest.WantCode(t, err, ninsho.CodeTOTPReused) // the proving code

		e.Clock.Advance(totp.Period * time.Second)
		now = e.Clock.Now()
		c := codeAt(t, sec, now)
		used, err := e.TwoStep.Check(ctx, e.JP, a, "totp", c, now)
		if err != nil || used != session.MethodOTP {
			t.Fatalf("check = %q, %v", used, err)
		}
		// The same code in another flow, at once and still within its
		// skew window a step later.
		_, err = e.TwoStep.Check(ctx, e.JP, a, "totp", c, now)
		flowtest.WantCode(t, err, ninsho.CodeTOTPReused)
		later := now.Add(totp.Period * time.Second)
		_, err = e.TwoStep.Check(ctx, e.JP, a, "totp", c, later)
		flowtest.WantCode(t, err, ninsho.CodeTOTPReused)
		// The code of the step before the accepted one.
		_, err = e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, sec, now.Add(-totp.Period*time.Second)), now)
		flowtest.WantCode(t, err, ninsho.CodeTOTPReused)
		ms, _ := e.TwoStep.Methods(ctx, e.JP, a)
		if len(ms) != 1 || ms[0].LastUsedAt == nil || !ms[0].LastUsedAt.Equal(now) {
			t.Fatalf("last used = %+v, want %v", ms, now)
		}
	})
}

// TestTOTPSkew: through the service, a code one step early or late is
// accepted and two steps either way is refused.
func TestTOTPSkew(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		sec, _ := enrol(t, e, a)
		step := totp.Period * time.Second
		for _, c := range []struct {
			off  time.Duration
			want ninsho.Code
		}{{-step, ""}, {step, ""}, {-2 * step, ninsho.CodeTOTPIncorrect}, {2 * step, ninsho.CodeTOTPIncorrect}} {
			e.Clock.Advance(10 * time.Minute)
			now := e.Clock.Now()
			_, err := e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, sec, now.Add(c.off)), now)
			if ninsho.CodeOf(err) != c.want {
				t.Errorf("offset %v: %v, want %q", c.off, err, c.want)
			}
		}
	})
}

// TestBackupCodes: ten codes shown once, each works once (typed in any
// case, with or without its hyphen), and regenerating makes the old ones
// worthless.
func TestBackupCodes(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		enrol(t, e, a)
		codes, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a)
		if err != nil || len(codes) != twostep.BackupCodeCount || len(codes[0]) != 11 || codes[0][5] != '-' {
			t.Fatalf("codes = %v, %v", codes, err)
		}
		now := e.Clock.Now()
		used, err := e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, codes[0], now)
		if err != nil || used != session.MethodBackup {
			t.Fatalf("check = %q, %v", used, err)
		}
		_, err = e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, codes[0], now)
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if _, err := e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, strings.ToUpper(strings.ReplaceAll(codes[1], "-", "")), now); err != nil {
			t.Fatalf("typed in capitals without hyphen: %v", err)
		}
		if n, err := e.TwoStep.BackupCodesLeft(ctx, e.JP, a); err != nil || n != 8 {
			t.Fatalf("left = %d, %v; want 8", n, err)
		}
		fresh, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, codes[2], now)
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if _, err := e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, fresh[9], now); err != nil {
			t.Fatalf("new code: %v", err)
		}
		if n, _ := e.TwoStep.BackupCodesLeft(ctx, e.JP, a); n != 9 {
			t.Fatalf("left after regenerate and one use = %d, want 9", n)
		}
		// A code of one account is nothing on another.
		b := signUp(t, e, "taro@example.jp")
		enrol(t, e, b)
		_, err = e.TwoStep.Check(ctx, e.JP, b, twostep.CheckBackupCode, fresh[8], now)
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		_, err = e.TwoStep.Check(ctx, e.JP, a, "sms_or_anything", "123456", now)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
	})
}

// TestGuardPausesSecondFactor: wrong authenticator and backup codes count
// against the account's wrong-code guard, whatever flow they come from; at
// the pause even the right code is refused, until the pause ends.
func TestGuardPausesSecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		sec, _ := enrol(t, e, a)
		codes, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		now := e.Clock.Now()
		after := e.Kit.Codes.Guard.Policy.PauseAfter
		for i := 0; i < after; i++ {
			method, typed := "totp", codeAt(t, sec, now.Add(time.Hour))
			if i%2 == 1 {
				method, typed = twostep.CheckBackupCode, "aaaaa-aaaaa"
			}
			_, err := e.TwoStep.Check(ctx, e.JP, a, method, typed, now)
			if ninsho.IsCode(err, ninsho.CodeAccountLocked) || err == nil {
				t.Fatalf("wrong answer %d: %v", i+1, err)
			}
		}
		_, err = e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, sec, now), now)
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		_, err = e.TwoStep.Check(ctx, e.JP, a, twostep.CheckBackupCode, codes[0], now)
		flowtest.WantCode(t, err, ninsho.CodeAccountLocked)
		if n, _ := e.TwoStep.BackupCodesLeft(ctx, e.JP, a); n != twostep.BackupCodeCount {
			t.Fatalf("a refused backup code was used up: %d left", n)
		}
		e.Clock.Advance(e.Kit.Codes.Guard.Policy.Ladder[0] + time.Second)
		now = e.Clock.Now()
		if _, err := e.TwoStep.Check(ctx, e.JP, a, "totp", codeAt(t, sec, now), now); err != nil {
			t.Fatalf("after the pause: %v", err)
		}
		st, err := e.DB.CodeGuard(ctx, e.JP.ID, "account:"+a.ID)
		if err != nil || st != (code.GuardState{}) {
			t.Fatalf("guard after a right code = %+v, %v; want reset", st, err)
		}
	})
}

// TestRemoveMethods: removing the preferred method hands preference to the
// next one; removing the last turns 2SV off and drops the backup codes;
// only proved methods can be preferred.
func TestRemoveMethods(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		_, first := enrol(t, e, a)
		e.Clock.Advance(time.Minute)
		_, second := enrol(t, e, a)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, req, a); err != nil {
			t.Fatal(err)
		}
		pending, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		flowtest.WantCode(t, e.TwoStep.SetPreferred(ctx, e.JP, req, a, pending.CredentialID), ninsho.CodeNotFound)
		flowtest.WantCode(t, e.TwoStep.Remove(ctx, e.JP, req, a, "no-such-id"), ninsho.CodeNotFound)

		if err := e.TwoStep.Remove(ctx, e.JP, req, a, first); err != nil {
			t.Fatal(err)
		}
		st, _ := e.TwoStep.State(ctx, e.JP, a)
		if !st.Enabled || st.Preferred != second {
			t.Fatalf("after removing the preferred one: %+v, want on, preferred %s", st, second)
		}
		// Removing the pending, unproved one changes nothing else.
		if err := e.TwoStep.Remove(ctx, e.JP, req, a, pending.CredentialID); err != nil {
			t.Fatal(err)
		}
		if st, _ := e.TwoStep.State(ctx, e.JP, a); !st.Enabled {
			t.Fatal("2SV off after removing an unproved credential")
		}
		if err := e.TwoStep.Remove(ctx, e.JP, req, a, second); err != nil {
			t.Fatal(err)
		}
		st, _ = e.TwoStep.State(ctx, e.JP, a)
		ms, _ := e.TwoStep.Methods(ctx, e.JP, a)
		left, _ := e.TwoStep.BackupCodesLeft(ctx, e.JP, a)
		if st.Enabled || st.Preferred != "" || len(ms) != 0 || left != 0 {
			t.Fatalf("after removing the last: state %+v, methods %v, backup codes %d", st, ms, left)
		}
		evs := eventTypes(t, e, a)
		if last := evs[len(evs)-2:]; last[0] != event.TypeTwoStepMethodRemoved || last[1] != event.TypeTwoStepDisabled {
			t.Errorf("last events = %v", last)
		}
	})
}

// TestSealedSecretBound: the TOTP secret is stored sealed, and the sealed
// blob opens only for its own credential of its own account.
func TestSealedSecretBound(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		b := signUp(t, e, "taro@example.jp")
		en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
		if err != nil {
			t.Fatal(err)
		}
		enB, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, b)
		if err != nil {
			t.Fatal(err)
		}
		creds, err := e.DB.Credentials(ctx, e.JP.ID, a.ID)
		if err != nil || len(creds) != 1 {
			t.Fatalf("credentials = %v, %v", creds, err)
		}
		sealed := creds[0].Sealed
		if bytes.Contains(sealed, []byte(en.Secret)) {
			t.Fatal("secret stored in the clear")
		}
		if got, err := twostep.OpenTOTPSecret(e.Box, e.JP.ID, a.ID, en.CredentialID, sealed); err != nil || got != en.Secret {
			t.Fatalf("open own = %q, %v", got, err)
		}
		if _, err := twostep.OpenTOTPSecret(e.Box, e.JP.ID, b.ID, enB.CredentialID, sealed); err == nil {
			t.Fatal("opened under another account's credential")
		}
		if _, err := twostep.OpenTOTPSecret(e.Box, e.JP.ID, b.ID, en.CredentialID, sealed); err == nil {
			t.Fatal("opened under another account")
		}
		if _, err := twostep.OpenTOTPSecret(e.Box, e.Safe.ID, a.ID, en.CredentialID, sealed); err == nil {
			t.Fatal("opened in another realm")
		}
	})
}
