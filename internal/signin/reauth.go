package signin

import (
	"context"
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/session"
)

// CheckLock answers ninsho.CodeAccountLocked when a lock stops a password
// attempt for a on f's device now, as it would stop a sign-in's; nil when
// none does (or without Protection); any other error is the store's.
// Re-authentication asks it before it spends a hash.
func (s *Service) CheckLock(ctx context.Context, f *flow.Flow, a *account.Account) error {
	now := s.Kit.Clock.Now()
	if a.Status == account.StatusLocked {
		return lockedError(account.Lock{Kind: account.LockSuspicious}, now)
	}
	if s.Protect == nil {
		return nil
	}
	familiar, err := s.Kit.Devices.Store.IsFamiliar(ctx, a.ID, f.DeviceID)
	if err != nil {
		return err
	}
	if a.Lock.LockedFor(now, familiar) {
		return lockedError(a.Lock, now)
	}
	return nil
}

// CountWrongPassword counts a wrong password typed for a in flow f of
// another kind (re-authentication of a signed-in session) exactly like a
// failed sign-in: the identifier's failures of the device's kind, the
// address and device counters, and from an unfamiliar device a step towards
// the smart lock (with its account.locked event). f.Identifier must be the
// identifier typed; a nil a (document recovery's identifier without an
// account) is counted by it alike, without the lock. It runs in the
// transaction of ctx; without Protection it counts nothing.
func (s *Service) CountWrongPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	if s.Protect == nil {
		return nil
	}
	at := &attempt{rl: rl, f: f, a: a, req: req, now: s.Kit.Clock.Now(), policy: s.Protect.policyFor(rl)}
	var err error
	if a != nil {
		if at.familiar, err = s.Kit.Devices.Store.IsFamiliar(ctx, a.ID, f.DeviceID); err != nil {
			return err
		}
	}
	// An identifier without an account is counted like one with (its
	// failures, the address's, the device's), so that what the risk policy
	// demands next — a CAPTCHA — tells nothing about which exists.
	lock, err := s.countFailure(ctx, at)
	if err != nil || lock == nil {
		return err
	}
	s.ForgetAccount(a.ID)
	return s.Kit.Record(ctx, rl, a.ID, event.TypeAccountLocked, req, f.DeviceID, map[string]any{
		"kind": string(lock.Kind), "level": lock.Level, "until": lock.Until.UTC().Format(time.RFC3339), "via": "reauth",
	})
}

// RecentEnough answers ninsho.CodeReauthRequired unless the session of p
// may make a sensitive change now (enrol or remove a 2SV method, turn 2SV
// off, new backup codes, the list of trusted devices): it proved who the
// person is within the realm's re-authentication window (session.Recent)
// and, where the account has two-step verification on, with two factors
// (aal 2). A session that skipped the second factor on a trusted device
// is aal 1: re-authentication asks for the factor before such changes.
func (s *Service) RecentEnough(ctx context.Context, rl *realm.Realm, p *Principal) error {
	if !session.Recent(p.Session, s.Kit.Clock.Now(), rl.ReauthWindow()) {
		return ninsho.E(ninsho.CodeReauthRequired)
	}
	if p.Session.AAL >= 2 || s.Kit.TwoStep == nil {
		return nil
	}
	on, err := s.Kit.SecondFactor().Required(ctx, rl, p.Account)
	if err != nil {
		return err
	}
	if on {
		return ninsho.E(ninsho.CodeReauthRequired)
	}
	return nil
}

// Elevate records that the session of p has just shown a second factor
// (method, a session method such as "otp") by proving a new 2SV method
// with it: the session becomes aal 2 with method added to its methods.
// Its authenticated_at stays as it was. A session at aal 2 already, or an
// empty method, is left alone.
func (s *Service) Elevate(ctx context.Context, p *Principal, method string) error {
	if p.Session.AAL >= 2 || method == "" {
		return nil
	}
	methods := append(slices.Clone(p.Session.Methods), method)
	if err := s.Kit.Sessions.Store.ReauthenticateSession(ctx, p.Session.ID, p.Session.AuthenticatedAt, 2, methods); err != nil {
		return err
	}
	s.ForgetAccount(p.Account.ID)
	p.Session.AAL, p.Session.Methods = 2, methods
	return nil
}

// BeforePassword decides an attempt at a's password (a nil: an identifier
// without an account) made through f, a flow of another kind (document
// recovery), exactly as the risk policy decides a sign-in's before its
// password is checked, and counts it as one: rate_limited (retry_after_s)
// when the policy denies it, account_locked when a lock stops it and the
// realm may say so before the password (explicit disclosure), and
// captcha_required when the policy asks for a CAPTCHA that f has not
// solved (captchaSolved lets one attempt through). nil lets the password be
// checked. f.Identifier must be the identifier typed. Without Protection it
// decides nothing.
func (s *Service) BeforePassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, captchaSolved bool) error {
	if s.Protect == nil {
		return nil
	}
	at := &attempt{rl: rl, f: f, a: a, req: req, now: s.Kit.Clock.Now(), policy: s.Protect.policyFor(rl)}
	solved := f.Get(stateCaptchaOK)
	if captchaSolved {
		f.Set(stateCaptchaOK, "1")
	} else {
		f.Set(stateCaptchaOK, "")
	}
	err := s.assess(ctx, at)
	at.ticket.Release() // the caller's hash asks the limiter itself
	at.endCheck()
	f.Set(stateCaptchaOK, solved)
	if err != nil {
		return err
	}
	if len(at.owed) > 0 {
		if err := s.Kit.Tx.InTx(context.WithoutCancel(ctx), at.pay); err != nil {
			return err
		}
	}
	switch {
	case at.decision.Action == risk.Deny:
		secs := int((at.decision.RetryAfter + time.Second - 1) / time.Second)
		return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", secs)
	case a != nil && rl.Disclosure != realm.DisclosureSafe && a.Lock.LockedFor(at.now, at.familiar):
		return lockedError(a.Lock, at.now)
	case at.decision.Action == risk.Captcha:
		return ninsho.E(ninsho.CodeCaptchaRequired)
	}
	return nil
}
