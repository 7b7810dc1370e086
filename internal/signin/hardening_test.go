package signin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// solveCaptcha answers the CAPTCHA that ans holds, as the worst-case
// attacker (a solving service) would.
func solveCaptcha(t *testing.T, e *flowtest.Env, ans *flow.Answer, req ninsho.Request) {
	t.Helper()
	answer, err := e.Captcha.Answer(context.Background(), ans.Next.Captcha.ID)
	if err != nil {
		t.Fatal(err)
	}
	solved, err := e.Engine.Act(context.Background(), ans.Flow.Realm, ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
	if err != nil || solved.Next.Step != flow.StepPassword {
		t.Fatalf("submit_captcha: %v", err)
	}
}

// TestOneCaptchaOnePassword (issue 8, point 6): a solved CAPTCHA lets one
// password attempt through; the next attempt on the same flow meets a new
// CAPTCHA (before the fix, 19 further wrong passwords went through).
func TestOneCaptchaOnePassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		for i := 0; i < 3; i++ {
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-password"})
			flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		}
		ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.5", ""), signin.Input{Identifier: "hanako@example.jp", Password: "wrong-4"})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		req := flowtest.Req("203.0.113.5", ans.DeviceToken)
		solveCaptcha(t, e, ans, req)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: "wrong-5"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		for i := 6; i < 10; i++ {
			again, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: fmt.Sprintf("wrong-%d", i)})
			if ninsho.CodeOf(err) != ninsho.CodeCaptchaRequired && ninsho.CodeOf(err) != ninsho.CodeActionUnknown {
				t.Fatalf("password attempt %d after one solved CAPTCHA: %v; want a new CAPTCHA", i, err)
			}
			if again.Next == nil || again.Next.Step != flow.StepCaptcha {
				t.Fatalf("attempt %d: next %+v, want the CAPTCHA step", i, again.Next)
			}
		}
	})
}

// TestSafeRealmTellsALockOnlyAfterTheRightPassword (issue 8, point 6): in a
// safe realm a locked account answers a wrong password exactly as any wrong
// password (credentials_incorrect), and 423 account_locked only to the right
// one; an explicit realm tells the lock at once.
func TestSafeRealmTellsALockOnlyAfterTheRightPassword(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		for _, rl := range []string{"safe", "jp"} {
			realm, ident := e.Safe, "owner@example.com"
			if rl == "jp" {
				realm, ident = e.JP, "owner@example.jp"
			}
			e.MustSignUp(t, realm, ident, pw, ident)
			a, err := e.DB.AccountByEmail(ctx, rl, ident)
			if err != nil {
				t.Fatal(err)
			}
			// "This wasn't me" locks the account as suspicious.
			if err := e.DB.SetLock(ctx, a.ID, lockSuspicious(e.Clock.Now())); err != nil {
				t.Fatal(err)
			}
			e.Clock.Advance(time.Minute)
			_, wrongErr := e.Signin.Start(ctx, realm, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: ident, Password: "not-the-password"})
			_, rightErr := e.Signin.Start(ctx, realm, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: ident, Password: pw})
			wantWrong := ninsho.CodeCredentialsIncorrect
			if rl == "jp" {
				wantWrong = ninsho.CodeAccountLocked
			}
			if got := ninsho.CodeOf(wrongErr); got != wantWrong {
				t.Errorf("%s realm, locked account, wrong password: %q, want %q", rl, got, wantWrong)
			}
			if got := ninsho.CodeOf(rightErr); got != ninsho.CodeAccountLocked {
				t.Errorf("%s realm, locked account, right password: %q, want account_locked", rl, got)
			}
			// An unknown identifier answers the wrong password alike.
			if rl == "safe" {
				_, err := e.Signin.Start(ctx, realm, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: "nobody@example.com", Password: "not-the-password"})
				if ninsho.CodeOf(err) != ninsho.CodeOf(wrongErr) {
					t.Errorf("safe realm: unknown identifier %q, locked account %q; want the same", ninsho.CodeOf(err), ninsho.CodeOf(wrongErr))
				}
			}
		}
	})
}

// TestStartsWriteBoundedRows (issue 8, point 7): a flood of starts from one
// address — identifier-first sign-ins, sign-ups, unlocks and password
// assistants, without device tokens — writes no device row at all and a
// bounded number of flows: the caps refuse the rest before any write.
func TestStartsWriteBoundedRows(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		before, err := e.DB.RowCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		const n = 300
		refused := 0
		count := func(err error) {
			switch ninsho.CodeOf(err) {
			case "", ninsho.CodeCaptchaRequired:
			case ninsho.CodeRateLimited, ninsho.CodeResendLimitReached:
				refused++
			default:
				t.Fatalf("start: %v", err)
			}
		}
		req := flowtest.Req("203.0.113.77", "")
		for i := 0; i < n; i++ {
			_, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp"})
			count(err)
			_, err = e.Reset.Start(ctx, e.JP, req, "hanako@example.jp")
			count(err)
			_, err = e.Unlock.Start(ctx, e.JP, req, "hanako@example.jp")
			count(err)
			_, err = e.Signup.Start(ctx, e.JP, req, signup.Input{Identifier: fmt.Sprintf("new%d@example.jp", i), Name: "N", Password: pw})
			count(err)
		}
		after, _ := e.DB.RowCounts(ctx)
		if d := after["device"] - before["device"]; d != 0 {
			t.Errorf("%d device rows written by %d starts that completed nothing; want 0", d, 4*n)
		}
		// Per address and hour: identifier-first sign-in 60, sign-up 30,
		// assistant 20, unlock 20 (fewer when the destination's code cap
		// refuses first: then nothing is written either).
		if d := after["flow"] - before["flow"]; d > 130 {
			t.Errorf("%d flows written by %d starts from one address; want at most 130", d, 4*n)
		}
		if refused < 4*n-130 {
			t.Errorf("only %d of %d starts refused", refused, 4*n)
		}
		t.Logf("%d starts: %d refused, %d flows and %d devices written", 4*n, refused, after["flow"]-before["flow"], after["device"]-before["device"])
	})
}

// lockSuspicious is the lock "this wasn't me" sets.
func lockSuspicious(now time.Time) account.Lock {
	return account.Lock{Kind: account.LockSuspicious, LockedAt: &now}
}

// TestRateLimitedAddressLetsOwnersIn (issue 8, points 7 and 2): once an
// address is over its per-minute limit, refused sign-ins write no flow (a
// flood must not grow the tables), and the owner's familiar device behind
// the same address (an office, a carrier's NAT) still signs in.
func TestRateLimitedAddressLetsOwnersIn(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const nat = "203.0.113.200"
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		limited := 0
		var flowsAtFirstRefusal int
		for i := 0; i < 150; i++ {
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(nat, ""), signin.Input{Identifier: fmt.Sprintf("stranger%d@example.jp", i), Password: "not-a-password"})
			if ninsho.IsCode(err, ninsho.CodeRateLimited) {
				if ans != nil {
					t.Fatalf("a rate-limited start answered a flow %s: it was written", ans.Flow.ID)
				}
				if limited == 0 {
					c, _ := e.DB.RowCounts(ctx)
					flowsAtFirstRefusal = c["flow"]
				}
				limited++
			}
		}
		if limited == 0 {
			t.Fatal("150 attempts a minute from one address were never refused")
		}
		if c, _ := e.DB.RowCounts(ctx); c["flow"] != flowsAtFirstRefusal {
			t.Errorf("flows grew from %d to %d during %d refused attempts", flowsAtFirstRefusal, c["flow"], limited)
		}
		own, err := e.Signin.Start(ctx, e.JP, flowtest.Req(nat, dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
		if err != nil || own.Session == nil {
			t.Errorf("the owner's familiar device behind the limited address: %v, want a session", err)
		}
	})
}

// TestCaptchaChallengesPerFlowAreBounded: a flow gets at most
// startgate.MaxChallenges CAPTCHA challenges (wrong answers and "another
// image" each make one); then it ends, so it cannot be used to guess a
// CAPTCHA blind or to write challenges without end.
func TestCaptchaChallengesPerFlowAreBounded(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		req := flowtest.Req("203.0.113.5", "")
		req.UserAgent = "curl/8.5.0" // automation: a CAPTCHA at once
		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp", Password: "guess"})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		req.DeviceToken = ans.DeviceToken
		var last error
		given := 1
		for i := 0; i < 3*startgate.MaxChallenges && !ninsho.IsCode(last, ninsho.CodeRateLimited); i++ {
			name := flow.ActionSubmitCaptcha
			if i%2 == 1 {
				name = flow.ActionNewCaptcha
			}
			_, last = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: name, Answer: "000000x"})
			if last == nil || ninsho.IsCode(last, ninsho.CodeCaptchaIncorrect) {
				given++
			}
		}
		flowtest.WantCode(t, last, ninsho.CodeRateLimited)
		if given != startgate.MaxChallenges {
			t.Errorf("challenges given: %d, want %d", given, startgate.MaxChallenges)
		}
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionNewCaptcha})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
	})
}

// TestRateLimitedPasswordOnAFlowWritesNothing: a password sent again on an
// existing flow from an address over its rate is refused rate_limited with
// the flow as it stood, and writes nothing — no event, no flow change — so
// that one flow is no way to write a row per refused request.
func TestRateLimitedPasswordOnAFlowWritesNothing(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	e.Signin.Protect.Policy.AddressPerMinute = 4
	req := flowtest.Req("203.0.113.201", "")
	ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: "hanako@example.jp"})
	if err != nil {
		t.Fatal(err)
	}
	var refused int
	for i := 0; i < 6; i++ {
		before := e.DB.WriteTransactions()
		got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: fmt.Sprintf("guess-%d-abcdef", i)})
		if !ninsho.IsCode(err, ninsho.CodeRateLimited) {
			continue
		}
		refused++
		if n := e.DB.WriteTransactions() - before; n != 0 {
			t.Errorf("a rate-limited password on the flow made %d write transactions, want 0", n)
		}
		if got == nil || got.Flow.ID != ans.Flow.ID || got.Next == nil || got.Next.Step != flow.StepPassword {
			t.Errorf("the refusal answered %+v, want the flow at its password step", got)
		}
	}
	if refused == 0 {
		t.Fatal("six wrong passwords a minute from one address were never refused (rate 4, failures count twice)")
	}
}

// countingHolds is the real store's Holds, counting the reads of whether
// staff require a new password.
type countingHolds struct {
	signin.Holds
	resetReads *int
}

func (h countingHolds) PasswordResetRequired(ctx context.Context, accountID string) (bool, error) {
	*h.resetReads++
	return h.Holds.PasswordResetRequired(ctx, accountID)
}

// TestStaffHoldReadAlikeForKnownAndUnknown: in a safe realm a wrong
// password does the same reads whether the identifier has an account or
// not: the staff hold, read before the hash for a known account, is read
// for an unknown identifier too.
func TestStaffHoldReadAlikeForKnownAndUnknown(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "known@example.com", pw, "known@example.com")
		reads := 0
		e.Signin.Holds = countingHolds{Holds: e.DB, resetReads: &reads}
		for i, ident := range []string{"known@example.com", "unknown@example.com"} {
			reads = 0
			_, err := e.Signin.Start(ctx, e.Safe, flowtest.Req(fmt.Sprintf("192.0.2.%d", 50+i), ""), signin.Input{Identifier: ident, Password: "not-the-password-9"})
			flowtest.WantCode(t, err, ninsho.CodeCredentialsIncorrect)
			if reads != 1 {
				t.Errorf("%s: %d reads of the staff hold, want 1", ident, reads)
			}
		}
	})
}
