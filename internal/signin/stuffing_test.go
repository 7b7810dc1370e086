package signin_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/totp"
)

// stuffingList is what the attackers spray, most popular first: twenty
// passwords of the bundled common list (TestCredentialStuffing checks that
// each is on it).
var stuffingList = []string{
	"123456789", "12345678", "password", "password1", "qwerty123",
	"iloveyou", "1q2w3e4r", "sunshine", "princess", "football",
	"baseball", "abc12345", "superman", "trustno1", "whatever",
	"password123", "qwertyuiop", "11111111", "welcome1", "dragon123",
}

// stuffingSize is the scale of one simulation.
type stuffingSize struct {
	name       string
	accounts   int // accounts, each with its owner's familiar device
	listed     int // of them, accounts whose password is on stuffingList
	addresses  int // attacker client addresses
	prefixes   int // /24 prefixes the addresses are spread over
	passwords  int // passwords of stuffingList sprayed at every identifier
	ownerTries int // sign-ins of each owner during the attack
	// twoStepEvery: every twoStepEvery-th unlisted account, and every other
	// listed one, has two-step verification on (an authenticator app).
	twoStepEvery int
}

// The sizes of the simulation: the issue's, and a quarter of its accounts
// for PostgreSQL (where the full size takes about 25 s) and -short. The
// attack's pace is kept per identifier (one guess at each about every 15 s,
// see simulateStuffing), so the reduced size crosses the CAPTCHA and lock
// thresholds at the same moments.
var (
	stuffingFull    = stuffingSize{name: "full", accounts: 200, listed: 10, addresses: 50, prefixes: 5, passwords: 20, ownerTries: 2, twoStepEvery: 4}
	stuffingReduced = stuffingSize{name: "reduced", accounts: 50, listed: 5, addresses: 50, prefixes: 5, passwords: 20, ownerTries: 2, twoStepEvery: 4}
)

// stuffingOwner is an account and the person who owns it.
type stuffingOwner struct {
	ident, password, home, device string
	accountID                     string
	listed                        bool
	// totpSecret is the owner's authenticator app, "" without 2SV;
	// totpStep the last time step the owner's code was accepted in.
	totpSecret string
	totpStep   int64
}

// stuffingAttack is one attacker attempt: a guess at an identifier from an
// address, on a fresh device.
type stuffingAttack struct {
	owner, addr int
	guess       string
}

// stuffingFigures are the results of a simulation. Per-class arrays are
// indexed by 0 for accounts with a strong password and 1 for listed ones.
type stuffingFigures struct {
	attempts      int
	sessions      [2]int // the attacker got a session
	heldAtCode    [2]int // the password was right, a code went to the owner
	heldAtFactor  [2]int // the password was right, the second factor was asked
	factorGuesses int    // authenticator codes the attacker tried there
	twoStep       [2]int // accounts with 2SV on
	wrong         int    // password_incorrect
	captchas      int    // CAPTCHAs met (and solved)
	locked        int    // account_locked answers
	rateLimited   int    // rate_limited answers
	hashes        uint64 // hashing jobs spent on attacker attempts
	locksSet      int    // account.locked events
	lockedAccts   int    // accounts locked at least once
	highestLevel  int    // highest rung of the lock ladder reached
	ownerAttempts int
	ownerSessions int
	ownerFactors  int // owner sign-ins that passed the second factor
	ownerWaits    int // owner waited for the app's next code (the last one was used)
	ownerInLock   int // owner attempts while unfamiliar devices were locked out
	ownerHashes   uint64
	simulated     time.Duration
	listedFate    []string // what happened to each listed password's guess
}

// TestCredentialStuffing simulates a credential-stuffing attack with sign-in
// protection on: 200 accounts, attackers on 50 addresses over five /24
// prefixes spraying 20 common passwords at every identifier from fresh
// devices and solving every CAPTCHA they meet (the worst case), while each
// owner signs in from their familiar device, at home, with the right
// password, at random moments of the attack. One attacker attempt lands
// every 50–100 ms of simulated time (about 5 simulated minutes in all). The
// full size runs on SQLite (about 10 s); PostgreSQL and -short run the
// reduced one.
//
// Every owner signs up with a strong password that is not on the list,
// except 10 (5 at reduced size) "listed" accounts whose password is one of the sprayed ones (set
// as a legacy hash: sign-up refuses common passwords). Those show the limits:
// the attacker may guess them, and what stands between the guess and a
// session is the verification code that an unfamiliar device is asked, or a
// lock if the guess comes while the account is locked; they are counted
// apart.
//
// A quarter of the accounts (every fourth unlisted one, every other listed
// one) have two-step verification on with an authenticator app. Their
// owners answer the second factor with their app's code at every sign-in
// (familiar devices are not trusted devices); an attacker whose guess is
// right there has no app and tries random codes until the challenge ends.
//
// It asserts that attackers get no session on any account: none whose
// password is not listed, and none whose password is (the headline figure),
// even though every listed password is sprayed at its account and at least
// one such right guess reaches the verification code (so the zero is held by
// the code and the lock, not by the guesses never landing). It asserts that
// every owner attempt (two per owner) completes with a session (no CAPTCHA,
// lock, code or refusal; those with 2SV through it), that at least one right
// guess meets the second factor, and logs the figures in a stable format, including
// the hashing jobs spent (password.Limiter.Runs). Everything is sequential
// and driven by a seeded random source, so the figures are the same on every
// run, and at the same size on both databases.
func TestCredentialStuffing(t *testing.T) {
	for _, p := range stuffingList {
		if !password.IsCommon(p) {
			t.Fatalf("%q is not on the common-password list", p)
		}
	}
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		db := t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]
		size := stuffingFull
		if db != "sqlite" || testing.Short() {
			size = stuffingReduced
		}
		f := simulateStuffing(t, e, size)
		logStuffing(t, db, size, f)
		if got := f.sessions[0]; got != 0 {
			t.Errorf("attacker sessions on accounts with unlisted passwords: got %d, want 0", got)
		}
		if got := f.heldAtCode[0]; got != 0 {
			t.Errorf("attacker guesses of unlisted passwords: got %d, want 0", got)
		}
		if got := f.sessions[1]; got != 0 {
			t.Errorf("attacker sessions on accounts with listed passwords: got %d, want 0", got)
		}
		if got := len(f.listedFate); got != size.listed {
			t.Errorf("right guesses of listed passwords: got %d, want %d (one per listed account)", got, size.listed)
		}
		if f.heldAtCode[1] == 0 {
			t.Errorf("right guesses of listed passwords held at the code: got 0, want at least 1 (else nothing tests the code step)")
		}
		if want := size.accounts * size.ownerTries; f.ownerAttempts != want {
			t.Errorf("owner attempts: got %d, want %d", f.ownerAttempts, want)
		}
		if f.ownerSessions != f.ownerAttempts {
			t.Errorf("owner sessions: got %d of %d attempts, want all", f.ownerSessions, f.ownerAttempts)
		}
		if f.twoStep[0] == 0 || f.twoStep[1] == 0 {
			t.Errorf("accounts with 2SV: unlisted %d, listed %d; want some of each", f.twoStep[0], f.twoStep[1])
		}
		if f.heldAtFactor[1] == 0 || f.factorGuesses == 0 {
			t.Errorf("right guesses held at the second factor: %d, codes guessed there %d; want at least 1 each (else nothing tests the second factor)", f.heldAtFactor[1], f.factorGuesses)
		}
		if f.ownerFactors == 0 {
			t.Errorf("owner sign-ins through the second factor: got 0, want some")
		}
		if got := f.sessions[0] + f.sessions[1] + f.heldAtCode[0] + f.heldAtCode[1] + f.heldAtFactor[0] + f.heldAtFactor[1] + f.wrong + f.locked + f.rateLimited; got != f.attempts {
			t.Errorf("outcomes add up to %d, want %d attempts", got, f.attempts)
		}
	})
}

// simulateStuffing signs the owners up, then runs the attack with the
// owners' sign-ins interleaved, and returns the figures.
func simulateStuffing(t *testing.T, e *flowtest.Env, size stuffingSize) *stuffingFigures {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(20261125, 3))
	list := stuffingList[:size.passwords]

	// Owners: listed accounts are spread over the identifiers, and their
	// passwords over the list (early guesses, guesses around the first lock
	// and late ones).
	owners := make([]*stuffingOwner, size.accounts)
	every := size.accounts / max(size.listed, 1)
	for i := range owners {
		o := &stuffingOwner{
			ident:    fmt.Sprintf("user%03d@example.jp", i),
			password: fmt.Sprintf("kaze-%03d-no-oto-%04d-mizu", i, rng.IntN(10000)),
			home:     fmt.Sprintf("100.%d.%d.20", 64+i/256, i%256),
		}
		if password.IsCommon(o.password) {
			t.Fatalf("owner password %q is common", o.password)
		}
		o.device = mustSignUpFrom(t, e, o.home, o.ident, o.password)
		a, err := e.DB.AccountByEmail(ctx, "jp", o.ident)
		if err != nil {
			t.Fatal(err)
		}
		o.accountID = a.ID
		w := i / every
		if i%every == 0 && w < size.listed {
			o.listed = true
			o.password = list[(w*len(list)/size.listed+1)%len(list)]
			hash, err := e.Kit.Passwords.Hash(ctx, o.password)
			if err != nil {
				t.Fatal(err)
			}
			if err := e.DB.SetPasswordHash(ctx, a.ID, hash, e.Clock.Now()); err != nil {
				t.Fatal(err)
			}
		}
		if size.twoStepEvery > 0 && ((o.listed && w%2 == 1) || (!o.listed && i%size.twoStepEvery == 1)) {
			o.totpSecret, o.totpStep = enrolStuffingTOTP(t, e, a)
		}
		owners[i] = o
	}
	e.Clock.Advance(time.Hour)

	addrs := make([]string, size.addresses)
	prefixes := []string{"203.0.113", "198.51.100", "185.220.101", "45.155.205", "91.240.118", "5.188.62", "80.82.77", "141.98.10"}
	for j := range addrs {
		addrs[j] = fmt.Sprintf("%s.%d", prefixes[j%size.prefixes], 10+j/size.prefixes)
	}

	// The spray: every password in turn at every identifier (in a new order
	// each round), each attempt from one of the addresses; the owners' own
	// sign-ins fall at random moments of it. Attempts are 50–100 ms apart at
	// full size, and further apart in proportion for fewer accounts.
	var attacks []stuffingAttack
	for _, guess := range list {
		for _, k := range rng.Perm(size.accounts) {
			attacks = append(attacks, stuffingAttack{owner: k, addr: rng.IntN(size.addresses), guess: guess})
		}
	}
	ownersAt := make([][]int, len(attacks))
	for o := range owners {
		for range size.ownerTries {
			at := rng.IntN(len(attacks))
			ownersAt[at] = append(ownersAt[at], o)
		}
	}

	f := &stuffingFigures{}
	limiter := e.Kit.Passwords.Limiter
	start := e.Clock.Now()
	var ownerFailures []string
	for i, atk := range attacks {
		for _, k := range ownersAt[i] {
			o := owners[k]
			a, err := e.DB.Account(ctx, o.accountID)
			if err != nil {
				t.Fatal(err)
			}
			if a.Lock.LockedFor(e.Clock.Now(), false) {
				f.ownerInLock++
			}
			before := limiter.Runs()
			ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(o.home, o.device), signin.Input{Identifier: o.ident, Password: o.password})
			f.ownerHashes += limiter.Runs() - before
			f.ownerAttempts++
			if err == nil && o.totpSecret != "" && ans.Next != nil && ans.Next.Step == flow.StepSecondFactor {
				ans, err = ownerSecondFactor(t, e, o, ans, f)
			}
			if err == nil && ans.Session != nil {
				f.ownerSessions++
				continue
			}
			if len(ownerFailures) < 10 {
				next := ""
				if ans != nil && ans.Next != nil {
					next = string(ans.Next.Step)
				}
				ownerFailures = append(ownerFailures, fmt.Sprintf("%s at +%v: error %q, next %q", o.ident, e.Clock.Now().Sub(start), ninsho.CodeOf(err), next))
			}
		}

		o := owners[atk.owner]
		class := 0
		if o.listed {
			class = 1
		}
		before := limiter.Runs()
		outcome, captcha := stuffOnce(t, e, rng, addrs[atk.addr], o.ident, atk.guess, &f.factorGuesses)
		f.hashes += limiter.Runs() - before
		f.attempts++
		if captcha {
			f.captchas++
		}
		switch outcome {
		case "session":
			f.sessions[class]++
		case "code":
			f.heldAtCode[class]++
		case "second_factor":
			f.heldAtFactor[class]++
		case "wrong":
			f.wrong++
		case "locked":
			f.locked++
		case "rate_limited":
			f.rateLimited++
		}
		if o.listed && atk.guess == o.password {
			f.listedFate = append(f.listedFate, fmt.Sprintf("%s(guess %d)=%s", strings.TrimSuffix(o.ident, "@example.jp"), slices.Index(list, atk.guess)+1, outcome))
		}
		e.Clock.Advance(time.Duration(50+rng.IntN(51)) * time.Millisecond * time.Duration(stuffingFull.accounts) / time.Duration(size.accounts))
	}
	f.simulated = e.Clock.Now().Sub(start)
	for _, o := range owners {
		if o.totpSecret != "" {
			f.twoStep[btoi(o.listed)]++
		}
	}
	for _, s := range ownerFailures {
		t.Errorf("owner on a familiar device did not get a session: %s", s)
	}

	for _, o := range owners {
		evs, err := e.DB.AccountEvents(ctx, o.accountID, start, 1000)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, ev := range evs {
			if ev.Type == event.TypeAccountLocked {
				n++
			}
		}
		f.locksSet += n
		if n > 0 {
			f.lockedAccts++
		}
		a, err := e.DB.Account(ctx, o.accountID)
		if err != nil {
			t.Fatal(err)
		}
		f.highestLevel = max(f.highestLevel, a.Lock.Level)
	}
	return f
}

// stuffOnce is one attacker attempt from a fresh device at ip: the guess,
// and when a CAPTCHA is asked, the solved CAPTCHA and the guess again. It
// answers the outcome (session, code, wrong, locked, rate_limited) and
// whether a CAPTCHA was met.
//
// A right guess on an account with 2SV meets the second factor: the
// attacker, who has no authenticator, tries random 6-digit codes until the
// challenge ends (outcome second_factor unless one of them is right), and
// guesses counts them.
func stuffOnce(t *testing.T, e *flowtest.Env, rng *rand.Rand, ip, ident, guess string, guesses *int) (outcome string, captcha bool) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req(ip, ""), signin.Input{Identifier: ident, Password: guess})
	dev := ""
	if ans != nil {
		dev = ans.DeviceToken
	}
	if ninsho.CodeOf(err) == ninsho.CodeCaptchaRequired {
		captcha = true
		req := flowtest.Req(ip, ans.DeviceToken)
		fl, ferr := e.DB.Flow(ctx, ans.Flow.ID)
		if ferr != nil {
			t.Fatal(ferr)
		}
		answer, aerr := e.Captcha.Answer(ctx, fl.Get("captcha"))
		if aerr != nil {
			t.Fatal(aerr)
		}
		if _, aerr := e.Engine.Act(ctx, "jp", fl.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer}); aerr != nil {
			t.Fatalf("solve captcha for %s: %v", ident, aerr)
		}
		ans, err = e.Engine.Act(ctx, "jp", fl.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: guess})
	}
	if err == nil && ans.Next != nil && ans.Next.Step == flow.StepSecondFactor {
		req := flowtest.Req(ip, dev)
		id := ans.Flow.ID
		for range authflow.SecondFactorAttempts {
			*guesses++
			ans, err = e.Engine.Act(ctx, "jp", id, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: fmt.Sprintf("%06d", rng.IntN(1_000_000))})
			if err == nil && ans.Session != nil {
				return "session", captcha
			}
			if c := ninsho.CodeOf(err); c != ninsho.CodeTOTPIncorrect && c != ninsho.CodeTOTPReused && c != ninsho.CodeAccountLocked {
				if c != ninsho.CodeCodeAttemptsExceeded {
					t.Fatalf("attacker's code on %s: %v", ident, err)
				}
				break
			}
		}
		return "second_factor", captcha
	}
	switch {
	case err == nil && ans.Session != nil:
		return "session", captcha
	case err == nil && ans.Next != nil && ans.Next.Step == flow.StepVerificationCode:
		return "code", captcha
	case err == nil:
		t.Fatalf("attacker on %s from %s: answer %+v without an error, want a session, a code or an error", ident, ip, ans.Next)
	}
	switch c := ninsho.CodeOf(err); c {
	case ninsho.CodePasswordIncorrect:
		return "wrong", captcha
	case ninsho.CodeAccountLocked:
		return "locked", captcha
	case ninsho.CodeRateLimited:
		return "rate_limited", captcha
	default:
		t.Fatalf("attacker on %s from %s: %v", ident, ip, err)
	}
	return "", captcha
}

// logStuffing logs the figures in a stable format, one line per subject.
func logStuffing(t *testing.T, db string, size stuffingSize, f *stuffingFigures) {
	t.Helper()
	rate := 0.0
	if f.ownerAttempts > 0 {
		rate = 100 * float64(f.ownerSessions) / float64(f.ownerAttempts)
	}
	perAttempt := 0.0
	if f.attempts > 0 {
		perAttempt = float64(f.hashes) / float64(f.attempts)
	}
	t.Logf("stuffing %s: size=%s accounts=%d listed=%d addresses=%d prefixes=%d passwords=%d simulated=%v",
		db, size.name, size.accounts, size.listed, size.addresses, size.prefixes, size.passwords, f.simulated.Round(time.Second))
	t.Logf("stuffing %s: two-step accounts unlisted=%d listed=%d", db, f.twoStep[0], f.twoStep[1])
	t.Logf("stuffing %s: attacker attempts=%d sessions unlisted=%d listed=%d held_at_code unlisted=%d listed=%d held_at_second_factor unlisted=%d listed=%d factor_guesses=%d wrong=%d captchas=%d locked=%d rate_limited=%d",
		db, f.attempts, f.sessions[0], f.sessions[1], f.heldAtCode[0], f.heldAtCode[1], f.heldAtFactor[0], f.heldAtFactor[1], f.factorGuesses, f.wrong, f.captchas, f.locked, f.rateLimited)
	t.Logf("stuffing %s: locks set=%d accounts=%d highest_level=%d", db, f.locksSet, f.lockedAccts, f.highestLevel)
	t.Logf("stuffing %s: owners attempts=%d sessions=%d rate=%.1f%% during_lock=%d second_factor=%d waited_for_next_code=%d", db, f.ownerAttempts, f.ownerSessions, rate, f.ownerInLock, f.ownerFactors, f.ownerWaits)
	t.Logf("stuffing %s: hashes attacker=%d per_attempt=%.3f owners=%d", db, f.hashes, perAttempt, f.ownerHashes)
	t.Logf("stuffing %s: listed guesses %s", db, strings.Join(f.listedFate, " "))
}

// mustSignUpFrom signs up and confirms an account from a browser at ip (the
// owner's home) and returns the browser's device token.
func mustSignUpFrom(tb testing.TB, e *flowtest.Env, ip, ident, pwd string) string {
	tb.Helper()
	ctx := context.Background()
	ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req(ip, ""), signup.Input{Identifier: ident, Name: "Taro Suzuki", Password: pwd})
	if err != nil {
		tb.Fatalf("sign up %s: %v", ident, err)
	}
	c := e.LastCode(tb, ident)
	done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req(ip, ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
	if err != nil || done.Session == nil {
		tb.Fatalf("confirm sign-up of %s: %v", ident, err)
	}
	return ans.DeviceToken
}

// enrolStuffingTOTP turns 2SV on for a with a proved authenticator app and
// returns its secret and the step its proof used.
func enrolStuffingTOTP(tb testing.TB, e *flowtest.Env, a *account.Account) (string, int64) {
	tb.Helper()
	ctx := context.Background()
	req := flowtest.Req("192.0.2.10", "")
	en, err := e.TwoStep.BeginTOTP(ctx, e.JP, req, a)
	if err != nil {
		tb.Fatal(err)
	}
	now := e.Clock.Now()
	c, err := totp.CodeAt(en.Secret, now)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := e.TwoStep.ProveTOTP(ctx, e.JP, req, a, en.CredentialID, c); err != nil {
		tb.Fatalf("prove the authenticator app of %s: %v", a.Email, err)
	}
	return en.Secret, totp.Step(now)
}

// ownerSecondFactor answers the second factor of the owner's sign-in ans
// with the code the owner's app shows. When the app still shows the code
// the owner last used (two sign-ins within 30 s), the owner waits for the
// next one: the clock moves to the next time step.
func ownerSecondFactor(tb testing.TB, e *flowtest.Env, o *stuffingOwner, ans *flow.Answer, f *stuffingFigures) (*flow.Answer, error) {
	tb.Helper()
	if totp.Step(e.Clock.Now()) <= o.totpStep {
		f.ownerWaits++
		e.Clock.Set(time.Unix((o.totpStep+1)*totp.Period, 0))
	}
	now := e.Clock.Now()
	c, err := totp.CodeAt(o.totpSecret, now)
	if err != nil {
		tb.Fatal(err)
	}
	done, err := e.Engine.Act(context.Background(), "jp", ans.Flow.ID, flowtest.Req(o.home, o.device), flow.Action{Name: flow.ActionSubmitSecondFactor, Code: c})
	if err == nil && done.Session != nil {
		o.totpStep = totp.Step(now)
		f.ownerFactors++
	}
	return done, err
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
