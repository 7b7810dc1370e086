package signin

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/throttle"
)

// famCheck keys the password check in progress of an identifier (a lease
// of that name, see startCheck).
const famCheck = "signin.check"

// CheckLife bounds a recorded check: an instance that stops mid-check
// holds its identifier at most this long. A check ends far sooner: the
// hash limiter admits no wait longer than twice its max_wait.
const CheckLife = 30 * time.Second

// startCheck lets one password check per identifier run at a time, on every
// instance, for attempts from devices unfamiliar to the account (and for
// identifiers without one, which are treated alike so that nothing tells
// them apart). Sign-in protection counts a failure after its hash and
// decides on the count before it: without this, concurrent wrong guesses
// (flows each past a solved CAPTCHA, spread over instances) all pass the
// count before any is counted, and overshoot the CAPTCHA and the lock. A
// second check of the identifier while one runs answers rate_limited
// (Retry-After 1 s) before any hash; nobody types a password twice at
// once. It returns the function that ends the check, to call once the
// attempt's failure (if any) is committed (nil when none began: without
// Protection.Checks, or for a familiar device).
//
// The check is begun in the transaction of ctx; it is ended outside any,
// with base (the request's context without that transaction).
func (s *Service) startCheck(ctx, base context.Context, at *attempt) (end func(), err error) {
	store := s.Protect.Checks
	if store == nil || at.familiar {
		return nil, nil
	}
	key := throttle.Key(famCheck, at.rl.ID, at.f.Identifier)
	holder := ninsho.Token(s.Kit.Random, 12)
	now := s.Kit.Clock.Now()
	ok, err := store.TakeLease(ctx, key, holder, now, now.Add(CheckLife))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 1).WithParam("kind", "password_check")
	}
	return func() {
		// Also when the client has gone: the next check must not wait
		// for CheckLife.
		_ = store.ReleaseLease(context.WithoutCancel(base), key, holder)
	}, nil
}
