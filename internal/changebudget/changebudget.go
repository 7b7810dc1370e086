// Package changebudget is the per-account budget of the owner's settings
// changes, counted on the shared throttle.Counter before a change writes
// anything, in two pools: the profile's (the name and language, removing
// an e-mail address or phone number: at most PerAccount within Window) and
// the password change's (PasswordPerAccount within Window), so that a
// stolen session spending the first cannot block the second. A stolen
// session can then neither write the account's sign-in history full
// (pushing its own sign-in out of the owner's view) nor write unbounded
// rows. A change that changes nothing spends nothing (it writes nothing
// either).
//
// The owner's remedies are never budgeted: signing out one session or
// every other one and forgetting a device (internal/sessions) write an
// event only when a session was revoked or a device forgotten, which is
// bounded by the sessions and devices there are.
package changebudget

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/throttle"
)

// PerAccount profile changes and PasswordPerAccount password changes
// within Window are allowed; the next answers ninsho.CodeRateLimited (kind
// Kind or PasswordKind) until the oldest leaves the window.
const (
	PerAccount         = 20
	PasswordPerAccount = 5
	Window             = time.Hour
)

// Kind and PasswordKind are the rate_limited parameter "kind" of a refusal
// by each pool; their messages are error.rate_limited.settings and
// error.rate_limited.password_change.
const (
	Kind         = "settings"
	PasswordKind = "password_change"
)

// pool is one budget of an account's changes.
type pool struct {
	kind   string
	family string
	per    int
}

var (
	settingsPool = pool{kind: Kind, family: "settings.account", per: PerAccount}
	passwordPool = pool{kind: PasswordKind, family: "settings.password", per: PasswordPerAccount}
)

// Budget counts the changes of accounts. A nil *Budget allows everything
// (tests of other matters); the server always wires one.
type Budget struct {
	Counter *throttle.Counter
}

// Check refuses with ninsho.CodeRateLimited when the account has spent its
// profile budget; it writes nothing. Callers ask it before any costly work.
func (b *Budget) Check(ctx context.Context, realmID, accountID string) error {
	return b.check(ctx, settingsPool, realmID, accountID)
}

// Spend checks the profile budget again and counts one change. Callers
// call it in the change's transaction before the change is written, so
// that a refusal leaves nothing written.
func (b *Budget) Spend(ctx context.Context, realmID, accountID string) error {
	return b.spend(ctx, settingsPool, realmID, accountID)
}

// CheckPassword is Check for the password change's own budget.
func (b *Budget) CheckPassword(ctx context.Context, realmID, accountID string) error {
	return b.check(ctx, passwordPool, realmID, accountID)
}

// SpendPassword is Spend for the password change's own budget.
func (b *Budget) SpendPassword(ctx context.Context, realmID, accountID string) error {
	return b.spend(ctx, passwordPool, realmID, accountID)
}

func (p pool) key(realmID, accountID string) string {
	return throttle.Key(p.family, realmID, accountID)
}

func (b *Budget) check(ctx context.Context, p pool, realmID, accountID string) error {
	if b == nil || b.Counter == nil {
		return nil
	}
	n, err := b.Counter.Count(ctx, p.key(realmID, accountID), Window)
	if err != nil {
		return err
	}
	if n >= p.per {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", p.kind).WithParam("retry_after_s", int(Window/time.Second))
	}
	return nil
}

func (b *Budget) spend(ctx context.Context, p pool, realmID, accountID string) error {
	if err := b.check(ctx, p, realmID, accountID); err != nil {
		return err
	}
	if b == nil || b.Counter == nil {
		return nil
	}
	return b.Counter.Hit(ctx, p.key(realmID, accountID), 1, Window)
}
