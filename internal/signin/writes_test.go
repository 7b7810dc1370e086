package signin_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/throttle"
)

// attemptCounts reads the per-minute counters that a sign-in attempt from
// ip with device token dev adds to: the address, its network and the device.
func attemptCounts(t *testing.T, e *flowtest.Env, ip, dev string) [3]int {
	t.Helper()
	ctx := context.Background()
	d, _, err := e.Kit.Devices.Resolve(ctx, "jp", dev, flowtest.BrowserUA)
	if err != nil {
		t.Fatal(err)
	}
	var out [3]int
	for i, key := range []string{
		throttle.Key("signin.addr", "jp", ip),
		throttle.Key("signin.prefix", "jp", risk.Prefix(ip)),
		throttle.Key("signin.device", "jp", d.ID),
	} {
		if out[i], err = e.Signin.Protect.Counter.Count(ctx, key, risk.RateWindow); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// writeTransactions runs fn and returns how many write transactions it made
// on SQLite's one writer connection.
func writeTransactions(e *flowtest.Env, fn func()) int64 {
	before := e.DB.WriteTransactions()
	fn()
	return e.DB.WriteTransactions() - before
}

// TestOwnerSigninIsOneWriteTransaction: a complete password sign-in from a
// familiar device (sign-in protection on, no second step) makes all its
// writes — the attempt's counts, the session, the device, the network, the
// flow, the events and a rehash of old parameters — in one write
// transaction, and still counts the attempt on the address, its network and
// the device. A wrong password from that device is one transaction too.
func TestOwnerSigninIsOneWriteTransaction(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	const ip = "192.0.2.7"
	dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	signIn := func(password string) error {
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, dev), signin.Input{Identifier: "hanako@example.jp", Password: password})
		return err
	}

	e.Clock.Advance(time.Second)
	n := writeTransactions(e, func() {
		if err := signIn(pw); err != nil {
			t.Fatalf("sign in: %v", err)
		}
	})
	if n != 1 {
		t.Errorf("a familiar device's sign-in made %d write transactions, want 1", n)
	}
	if got := attemptCounts(t, e, ip, dev); got != [3]int{1, 1, 1} {
		t.Errorf("address, network, device counts after the sign-in = %v, want [1 1 1]", got)
	}

	// Old parameters: the rehash joins the same transaction.
	before, _ := e.DB.PasswordHash(ctx, a.ID)
	e.Kit.Passwords = &password.Hasher{Params: password.Params{Memory: 16, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, Limiter: password.NewLimiter(2, 8, time.Minute)}
	e.Clock.Advance(time.Second)
	n = writeTransactions(e, func() {
		if err := signIn(pw); err != nil {
			t.Fatalf("sign in with a rehash: %v", err)
		}
	})
	if n != 1 {
		t.Errorf("a sign-in with a rehash made %d write transactions, want 1", n)
	}
	if after, _ := e.DB.PasswordHash(ctx, a.ID); after == before {
		t.Error("the hash was not upgraded")
	}
	evs, err := e.DB.AccountEvents(ctx, a.ID, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	rehashed := 0
	for _, ev := range evs {
		if ev.Type == event.TypePasswordRehashed {
			rehashed++
		}
	}
	if rehashed != 1 {
		t.Errorf("%d password.rehashed events, want 1", rehashed)
	}

	// A wrong password: counted once as an attempt and once more as a
	// failure, in one transaction.
	n = writeTransactions(e, func() {
		err := signIn("not-" + pw)
		flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)
	})
	if n != 1 {
		t.Errorf("a familiar device's wrong password made %d write transactions, want 1", n)
	}
	if got := attemptCounts(t, e, ip, dev); got != [3]int{4, 3, 4} {
		t.Errorf("counts after a wrong password = %v, want [4 3 4] (failures count twice on the address and device)", got)
	}
}

// TestStrangersAreCountedBeforeTheirHash: an attempt from an unfamiliar
// device is counted before it waits for the hash, so that concurrent
// attempts from the same place see it; a familiar device's attempt, which
// no rate refuses, is counted when it ends, also when it ends without an
// answer (the hash limiter refused it).
func TestStrangersAreCountedBeforeTheirHash(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	dev := e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	// hold takes n lanes of lim (the shared slot, then the owners'
	// reserved one) until release is closed.
	release := make(chan struct{})
	defer close(release)
	hold := func(lim *password.Limiter, ctxs ...context.Context) {
		held := make(chan struct{})
		for _, c := range ctxs {
			go func() {
				_ = lim.Do(c, func() { held <- struct{}{}; <-release })
			}()
			<-held
		}
	}

	// A stranger waits for the hash (no longest wait): already counted.
	waitForever := password.NewLimiter(1, 4, 0)
	e.Kit.Passwords = &password.Hasher{Params: flowtest.FastParams, Limiter: waitForever}
	hold(waitForever, ctx)
	const strangerIP = "203.0.113.9"
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := e.Signin.Start(sctx, e.JP, flowtest.Req(strangerIP, ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-1234"})
		done <- err
	}()
	for deadline := time.Now().Add(10 * time.Second); waitForever.Waiting() == 0; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatal("the stranger's attempt never reached the hash limiter")
		}
	}
	addr, err := e.Signin.Protect.Counter.Count(ctx, throttle.Key("signin.addr", "jp", strangerIP), risk.RateWindow)
	if err != nil || addr != 1 {
		t.Errorf("the waiting stranger's address count = %d, %v; want 1", addr, err)
	}
	cancel()
	<-done

	// The owner is refused by the limiter (both lanes busy past the
	// longest wait): no answer, but the attempt is counted.
	busy := password.NewLimiter(1, 4, time.Millisecond)
	e.Kit.Passwords = &password.Hasher{Params: flowtest.FastParams, Limiter: busy}
	hold(busy, ctx, password.WithPriority(ctx))
	const ownerIP = "192.0.2.7"
	_, err = e.Signin.Start(ctx, e.JP, flowtest.Req(ownerIP, dev), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	flowtest.WantCode(t, err, ninsho.CodeOverloaded)
	if got := attemptCounts(t, e, ownerIP, dev); got != [3]int{1, 1, 1} {
		t.Errorf("counts of the owner's refused attempt = %v, want [1 1 1]", got)
	}
}

// TestOverloadRefusalWritesNothing: a sign-in the hash limiter refuses on
// arrival (issue 16: refusals before any write) writes nothing — no flow,
// event or counter: nothing was guessed — and answers overloaded.
func TestOverloadRefusalWritesNothing(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	fillLimiter(t, e)

	const strangerIP = "203.0.113.9"
	n := writeTransactions(e, func() {
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(strangerIP, ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-1234"})
		flowtest.WantCode(t, err, ninsho.CodeOverloaded)
	})
	if n != 0 {
		t.Errorf("a refused sign-in made %d write transactions, want 0", n)
	}
	if got := attemptCounts(t, e, strangerIP, ""); got != [3]int{0, 0, 0} {
		t.Errorf("counts after the refusal = %v, want none", got)
	}
}

// fillLimiter gives e a hash limiter of one slot and no queue, and holds
// the slot until the test ends: every stranger's sign-in is then refused
// overloaded when it asks for a place.
func fillLimiter(t *testing.T, e *flowtest.Env) *password.Limiter {
	t.Helper()
	full := password.NewLimiter(1, 0, time.Minute)
	e.Kit.Passwords = &password.Hasher{Params: flowtest.FastParams, Limiter: full}
	release, held := make(chan struct{}), make(chan struct{})
	go func() { _ = full.Do(context.Background(), func() { close(held); <-release }) }()
	<-held
	t.Cleanup(func() { close(release) })
	return full
}

// TestAddressOverItsRateTakesNoPlaceAtTheLimiter: an address over its rate is
// refused 429 on reads alone, before the hash limiter — a flood from one
// address must not fill the limiter with places that never hash (found from
// outside: while one address, itself over its rate, flooded, 13 of 16 right
// passwords from other addresses were refused 503). With the limiter full,
// that address still hears 429, writing nothing; another address hears 503.
func TestAddressOverItsRateTakesNoPlaceAtTheLimiter(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
	e.Signin.Protect.Policy.AddressPerMinute = 2
	const flooder, other = "203.0.113.9", "198.51.100.20"
	// One wrong password counts the address twice: it is at its rate.
	_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(flooder, ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-1234"})
	flowtest.WantCode(t, err, ninsho.CodePasswordIncorrect)

	full := fillLimiter(t, e)

	n := writeTransactions(e, func() {
		_, err := e.Signin.Start(ctx, e.JP, flowtest.Req(flooder, ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-5678"})
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
	})
	if n != 0 {
		t.Errorf("the refusal of an address over its rate made %d write transactions, want 0", n)
	}
	if got := full.Rejected(); got != 0 {
		t.Errorf("the limiter refused %d calls, want 0: the address over its rate asked it for a place", got)
	}
	_, err = e.Signin.Start(ctx, e.JP, flowtest.Req(other, ""), signin.Input{Identifier: "hanako@example.jp", Password: "a-guess-9012"})
	flowtest.WantCode(t, err, ninsho.CodeOverloaded)
}
