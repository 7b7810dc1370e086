package signin_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// TestOnePasswordCheckPerIdentifierAtATime (issue 16, found from outside):
// while a check of an identifier runs (here: recorded by another instance),
// a second attempt from an unfamiliar device answers rate_limited with
// Retry-After 1 before any hash; once it ended, attempts are checked again,
// and no record outlives its check. Familiar devices are not held.
func TestOnePasswordCheckPerIdentifierAtATime(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		db := open(t)
		e := flowtest.New(t, db)
		ctx := context.Background()
		dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		key := throttle.Key("signin.check", "jp", "hanako@example.jp")
		now := e.Clock.Now()
		if ok, err := db.TakeLease(ctx, key, "other-instance", now, now.Add(signin.CheckLife)); err != nil || !ok {
			t.Fatalf("TakeLease: %v, %v", ok, err)
		}
		runs := e.Kit.Passwords.Limiter.Runs()
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-1234"})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		if got := ninsho.ErrorOf(err).Params["retry_after_s"]; got != 1 {
			t.Errorf("retry_after_s = %v, want 1", got)
		}
		if got := e.Kit.Passwords.Limiter.Runs() - runs; got != 0 {
			t.Errorf("a held identifier's attempt ran %d hashes, want 0", got)
		}
		// The owner's familiar device is not held.
		if _, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.7", dev), signin.Input{Identifier: "hanako@example.jp", Password: pw}); err != nil {
			t.Fatalf("the owner's sign-in while a check runs: %v", err)
		}
		if err := db.ReleaseLease(ctx, key, "other-instance"); err != nil {
			t.Fatal(err)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-1234"})
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
		// An unknown identifier is held alike.
		unknown := throttle.Key("signin.check", "jp", "nobody@example.jp")
		if ok, err := db.TakeLease(ctx, unknown, "other-instance", now, now.Add(signin.CheckLife)); err != nil || !ok {
			t.Fatalf("TakeLease: %v, %v", ok, err)
		}
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.10", ""), signin.Input{Identifier: "nobody@example.jp", Password: "a-guess-1234"})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		// On a flow that exists (identifier first), the answer is the
		// flow as it stands, with the refusal.
		known, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.11", ""), signin.Input{Identifier: "hanako@example.jp"})
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := db.TakeLease(ctx, key, "other-instance", e.Clock.Now(), e.Clock.Now().Add(signin.CheckLife)); err != nil || !ok {
			t.Fatalf("TakeLease: %v, %v", ok, err)
		}
		ans, err := e.Engine.Act(ctx, "jp", known.Flow.ID, flowtest.Req("203.0.113.11", ""), flow.Action{Name: flow.ActionSubmitPassword, Password: "a-guess-5678"})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		if ans == nil || ans.Flow == nil || ans.Next == nil || ans.Next.Step != flow.StepPassword {
			t.Errorf("the held flow's answer = %+v, want the flow at step password", ans)
		}
		if msg := i18n.FieldErrorMessage("en", ninsho.ErrorOf(err)); !strings.Contains(msg, "being checked right now") {
			t.Errorf("the refusal's message %q does not say a check is running", msg)
		}
		if err := db.ReleaseLease(ctx, key, "other-instance"); err != nil {
			t.Fatal(err)
		}
		// A record whose time ended (its instance died) holds nothing.
		e.Clock.Advance(signin.CheckLife)
		_, err = e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.10", ""), signin.Input{Identifier: "nobody@example.jp", Password: "a-guess-1234"})
		flowtest.WantCode(t, err, ninsho.CodeAccountNotFound)
		if n, err := db.DeleteEndedLeases(ctx, e.Clock.Now().Add(24*time.Hour)); err != nil || n != 0 {
			t.Errorf("records left after the checks ended: %d (%v), want 0", n, err)
		}
	})
}

// TestConcurrentGuessesDoNotOvershootTheLock: thirty clients on thirty
// unfamiliar devices and addresses guess at once, each again when told to
// retry, until the account is locked; after three earlier failures, exactly
// seven more wrong passwords are checked — the lock after 10 — however the
// guesses interleave (found from outside: 14–16 were checked across two
// instances).
func TestConcurrentGuessesDoNotOvershootTheLock(t *testing.T) {
	storetest.EachDatabase(t, func(t *testing.T, open func(tb testing.TB) *store.DB) {
		e := flowtest.New(t, open(t))
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		// Hashes that take a few milliseconds on four slots, so that
		// checks overlap; CAPTCHAs and spraying out of the way, so that
		// every attempt reaches its hash.
		e.Kit.Passwords = &password.Hasher{Params: password.Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Limiter: password.NewLimiter(4, 64, time.Minute)}
		p := &e.Signin.Protect.Policy
		p.CaptchaAfterFailures, p.CaptchaAccountAddresses, p.CaptchaAddressAccounts, p.MinFormTime = 1000, 1000, 1000, 0
		p.AddressPerMinute, p.DevicePerMinute = 100000, 100000
		guess := func(client, n int) error {
			_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(fmt.Sprintf("203.0.113.%d", client), ""), signin.Input{Identifier: "hanako@example.jp", Password: fmt.Sprintf("guess-%d-%d", client, n)})
			return err
		}
		for i := range 3 {
			flowtest.WantCode(t, guess(200+i, 0), ninsho.CodePasswordIncorrect)
		}
		var (
			mu      sync.Mutex
			answers = map[ninsho.Code]int{}
			wg      sync.WaitGroup
		)
		start := make(chan struct{})
		for client := range 30 {
			wg.Go(func() {
				<-start
				for n := range 500 {
					code := ninsho.CodeOf(guess(client, n))
					mu.Lock()
					answers[code]++
					mu.Unlock()
					if code != ninsho.CodeRateLimited && code != ninsho.CodePasswordIncorrect {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		t.Logf("answers: %v", answers)
		if got := answers[ninsho.CodePasswordIncorrect]; 3+got != 10 {
			t.Errorf("%d wrong passwords were checked after 3 earlier failures, want 7: the lock comes after 10", got)
		}
		for code := range answers {
			switch code {
			case ninsho.CodePasswordIncorrect, ninsho.CodeRateLimited, ninsho.CodeAccountLocked:
			default:
				t.Errorf("answer %q to a concurrent guess", code)
			}
		}
		if answers[ninsho.CodeAccountLocked] != 30 {
			t.Errorf("%d clients ended on account_locked, want 30", answers[ninsho.CodeAccountLocked])
		}
	})
}
