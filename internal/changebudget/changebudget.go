// Package changebudget is the per-account budget of the owner's settings
// changes (the name and language, the password, signing out one session or
// every other, forgetting a device): at most PerAccount changes within
// Window, counted on the shared throttle.Counter before the change writes
// anything. A stolen session can then neither write the account's
// sign-in history full (pushing its own sign-in out of the owner's view)
// nor write unbounded rows. A change that changes nothing spends nothing
// (it writes nothing either).
package changebudget

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/throttle"
)

// PerAccount changes within Window are allowed; the next answers
// ninsho.CodeRateLimited (kind "settings") until the oldest leaves the
// window.
const (
	PerAccount = 20
	Window     = time.Hour
)

// Kind is the rate_limited parameter "kind" of a refusal by the budget; its
// message is error.rate_limited.settings.
const Kind = "settings"

const family = "settings.account"

// Budget counts the changes of accounts. A nil *Budget allows everything
// (tests of other matters); the server always wires one.
type Budget struct {
	Counter *throttle.Counter
}

func key(realmID, accountID string) string { return throttle.Key(family, realmID, accountID) }

// Check refuses with ninsho.CodeRateLimited when the account has spent its
// budget; it writes nothing. Callers ask it before any costly work.
func (b *Budget) Check(ctx context.Context, realmID, accountID string) error {
	if b == nil || b.Counter == nil {
		return nil
	}
	n, err := b.Counter.Count(ctx, key(realmID, accountID), Window)
	if err != nil {
		return err
	}
	if n >= PerAccount {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", Kind).WithParam("retry_after_s", int(Window/time.Second))
	}
	return nil
}

// Spend checks the budget again and counts one change. Callers call it in
// the change's transaction before the change is written, so that a refusal
// leaves nothing written.
func (b *Budget) Spend(ctx context.Context, realmID, accountID string) error {
	if err := b.Check(ctx, realmID, accountID); err != nil {
		return err
	}
	if b == nil || b.Counter == nil {
		return nil
	}
	return b.Counter.Hit(ctx, key(realmID, accountID), 1, Window)
}
