package code

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
)

// GuardState is the wrong-code record of one account (or of one identifier
// without an account): the failures since the last pause, all consecutive
// failures since the last right code, and the pause ladder.
type GuardState struct {
	Failures    int        // wrong codes since the last pause began
	Total       int        // consecutive wrong codes since the last right one
	Level       int        // rungs climbed on the ladder
	LockedUntil *time.Time // codes are refused until then
	LockedAt    *time.Time // when the current (or last) pause began
}

// GuardStore keeps guard states. Methods take part in the transaction
// carried by ctx.
type GuardStore interface {
	// CodeGuard returns the state of key in realm (the zero state when
	// there is none).
	CodeGuard(ctx context.Context, realm, key string) (GuardState, error)
	// AddCodeFailure adds one failure (Failures and Total) to key at t,
	// atomically, and returns the new state.
	AddCodeFailure(ctx context.Context, realm, key string, t time.Time) (GuardState, error)
	// SetCodeGuard writes the state of key at t.
	SetCodeGuard(ctx context.Context, realm, key string, st GuardState, t time.Time) error
	// ResetCodeGuard forgets key (a right code).
	ResetCodeGuard(ctx context.Context, realm, key string) error
}

// GuardPolicy is the ladder of pauses of the wrong-code guard.
type GuardPolicy struct {
	// PauseAfter wrong codes (across every flow and purpose of the account)
	// pause codes for the next rung of Ladder.
	PauseAfter int
	Ladder     []time.Duration
	// MaxConsecutive wrong codes in all refuse every further code until a
	// right one is given elsewhere (the owner's familiar-device sign-in
	// clears it): NIST SP 800-63B 5.2.2 allows at most 100.
	MaxConsecutive int
}

// DefaultGuardPolicy pauses codes after every 10 wrong ones for 1 min, 5 min,
// 30 min, 2 h, then 24 h, and stops at 100 consecutive wrong codes.
func DefaultGuardPolicy() GuardPolicy {
	return GuardPolicy{
		PauseAfter:     10,
		Ladder:         []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 24 * time.Hour},
		MaxConsecutive: 100,
	}
}

func (p GuardPolicy) pause(level int) time.Duration {
	if level < 1 {
		level = 1
	}
	if level > len(p.Ladder) {
		level = len(p.Ladder)
	}
	return p.Ladder[level-1]
}

// Guard counts wrong codes per account across flows and purposes, so that a
// new flow (which brings a fresh 5 attempts) cannot be used to keep guessing
// (issue 8, point 3). Flows without an account are counted per identifier,
// so that a safe realm's answers for unknown identifiers behave alike. It is
// safe for concurrent use.
type Guard struct {
	Store  GuardStore
	Clock  ninsho.Clock
	Policy GuardPolicy
}

// StateGuardExempt is the flow-state key ("1") of a flow whose codes the
// guard neither refuses nor counts: a sign-in whose password was proven on a
// device familiar to the account (the owner's own sign-in is never blocked by
// strangers' guesses).
const StateGuardExempt = "code_guard_exempt"

// StateGuardAccount is the flow-state key of the account whose guard a
// flow without an account of its own counts under: a safe realm's sign-up
// for an identifier that already has an account. Its wrong codes must pause
// together with the owner's other flows, exactly as an unknown identifier's
// sign-up and password assistant pause together on its pending account;
// counted apart, the pause would come later and tell that the account
// exists. The key never leaves the server.
const StateGuardAccount = "code_guard_account"

// StateGuardFamiliar is the flow-state key ("1") of a flow started on a
// device familiar to its account (a password assistant or unlock the owner
// began on their own phone or computer): its wrong codes count apart from
// every other flow's, under the account's familiar-device key. A stranger,
// who has no such device, can pause the account's other codes but never
// these: the owner can always recover from their own device (found from
// outside: ten wrong codes from strangers' flows made the owner's right code
// on their own device answer 423 account_locked). The owner's own typos
// there pause only that key, on the same ladder.
const StateGuardFamiliar = "code_guard_familiar"

// GuardKey is the key f's wrong codes count under: its account's
// familiar-device key (StateGuardFamiliar), its account (or the account of
// StateGuardAccount), or the identifier typed when the flow has none.
func GuardKey(f *flow.Flow) string {
	if f.AccountID != "" && f.Get(StateGuardFamiliar) == "1" {
		return "account-familiar:" + f.AccountID
	}
	if f.AccountID != "" {
		return "account:" + f.AccountID
	}
	if a := f.Get(StateGuardAccount); a != "" {
		return "account:" + a
	}
	return "identifier:" + f.Identifier
}

// Allow refuses a code check for f while its key is paused or past the
// consecutive maximum, with ninsho.CodeAccountLocked (kind "codes" with until
// and retry_after_s while paused, kind "codes_stopped" past the maximum). It
// returns the state it read, for Succeed.
func (g *Guard) Allow(ctx context.Context, f *flow.Flow) (GuardState, error) {
	if g == nil || f.Get(StateGuardExempt) == "1" {
		return GuardState{}, nil
	}
	return g.allow(ctx, f.Realm, GuardKey(f))
}

// AllowAccount is Allow for a code that belongs to the account itself
// rather than to a flow (an authenticator-app or backup code): it is never
// exempt, and it counts under the same key as the account's flows, so that
// the pause stops both.
func (g *Guard) AllowAccount(ctx context.Context, realm, accountID string) (GuardState, error) {
	if g == nil {
		return GuardState{}, nil
	}
	return g.allow(ctx, realm, "account:"+accountID)
}

func (g *Guard) allow(ctx context.Context, realm, key string) (GuardState, error) {
	st, err := g.Store.CodeGuard(ctx, realm, key)
	if err != nil {
		return st, err
	}
	now := g.Clock.Now()
	if st.Total >= g.Policy.MaxConsecutive {
		return st, ninsho.FieldError(ninsho.CodeAccountLocked, "code").WithParam("kind", "codes_stopped")
	}
	if st.LockedUntil != nil && now.Before(*st.LockedUntil) {
		secs := int(st.LockedUntil.Sub(now).Seconds()) + 1
		return st, ninsho.FieldError(ninsho.CodeAccountLocked, "code").WithParam("kind", "codes").
			WithParam("until", *st.LockedUntil).WithParam("retry_after_s", secs)
	}
	return st, nil
}

// Fail counts a wrong code for f and pauses its key on the ladder after every
// PauseAfter failures.
func (g *Guard) Fail(ctx context.Context, f *flow.Flow) error {
	if g == nil || f.Get(StateGuardExempt) == "1" {
		return nil
	}
	return g.fail(ctx, f.Realm, GuardKey(f))
}

// FailAccount is Fail for a wrong code of the account itself (AllowAccount).
func (g *Guard) FailAccount(ctx context.Context, realm, accountID string) error {
	if g == nil {
		return nil
	}
	return g.fail(ctx, realm, "account:"+accountID)
}

func (g *Guard) fail(ctx context.Context, realm, key string) error {
	now := g.Clock.Now()
	st, err := g.Store.AddCodeFailure(ctx, realm, key, now)
	if err != nil {
		return err
	}
	if st.Failures < g.Policy.PauseAfter {
		return nil
	}
	// A pause that began more than a day (plus its length) before this one
	// no longer counts: the ladder starts again.
	level := st.Level + 1
	if st.LockedAt == nil || now.Sub(*st.LockedAt) > 24*time.Hour+g.Policy.pause(st.Level) {
		level = 1
	}
	until, at := now.Add(g.Policy.pause(level)), now
	return g.Store.SetCodeGuard(ctx, realm, key, GuardState{Total: st.Total, Level: level, LockedUntil: &until, LockedAt: &at}, now)
}

// Succeed forgets the wrong codes of f's key, whose state Allow read: a
// right code was given. Nothing is written when there was nothing to forget,
// so a right code costs no write.
func (g *Guard) Succeed(ctx context.Context, f *flow.Flow, st GuardState) error {
	if g == nil || st == (GuardState{}) {
		return nil
	}
	return g.Store.ResetCodeGuard(ctx, f.Realm, GuardKey(f))
}

// Clear forgets the wrong codes of the account: its owner signed in with
// the password on a familiar device. Like Succeed, it writes only when there
// is something to forget, so an ordinary sign-in costs no write.
func (g *Guard) Clear(ctx context.Context, realm, accountID string) error {
	if g == nil {
		return nil
	}
	key := "account:" + accountID
	st, err := g.Store.CodeGuard(ctx, realm, key)
	if err != nil || st == (GuardState{}) {
		return err
	}
	return g.Store.ResetCodeGuard(ctx, realm, key)
}

// SucceedAccount is Succeed for a right code of the account itself
// (AllowAccount read st).
func (g *Guard) SucceedAccount(ctx context.Context, realm, accountID string, st GuardState) error {
	if g == nil || st == (GuardState{}) {
		return nil
	}
	return g.Store.ResetCodeGuard(ctx, realm, "account:"+accountID)
}
