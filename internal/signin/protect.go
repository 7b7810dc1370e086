package signin

import (
	"context"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/lease"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Protection is what sign-in needs to stop attackers without stopping owners:
// the risk policy, the shared counters, lock state, network memory and
// CAPTCHAs. A Service without Protection checks passwords only (tests of
// other features).
type Protection struct {
	Policy  risk.Policy
	Counter *throttle.Counter
	// Checks, when set, lets one password check per identifier run at a
	// time across the instances (startCheck): a lease per identifier,
	// released when the check is counted.
	Checks   lease.Store
	Locks    account.LockStore
	Networks device.NetworkStore // the same store as Kit.Networks
	Captcha  *captcha.Service
}

// Counter families. Every key also carries the realm.
const (
	famAddr          = "signin.addr"        // attempts per client address (failures twice), 1 min
	famPrefix        = "signin.prefix"      // attempts per /24 or /48, 1 min
	famDevice        = "signin.device"      // attempts per device token (failures twice), 1 min
	famFailUnfamilar = "signin.fail.unfam"  // failed passwords per identifier from unfamiliar devices
	famFailFamiliar  = "signin.fail.fam"    // failed passwords per identifier from familiar devices
	famAddrIdents    = "signin.addr.idents" // distinct identifiers tried from an address
	famIdentAddrs    = "signin.ident.addrs" // distinct addresses that tried an identifier
	famSignouts      = "signout.account"    // sign-outs per account
	stateCaptcha     = "captcha"            // id of the current challenge
	stateCaptchaOK   = "captcha_passed"     // "1" once a challenge was solved
	statePurpose     = "purpose"            // purpose of the current code
	stateUnfamiliar  = "unfamiliar_device"  // "1": the device was unfamiliar at the password step
	stateReasons     = "reasons"            // reasons of the risk decision that asked for a code
)

// attempt is what is known about one password attempt before it is checked.
type attempt struct {
	rl        *realm.Realm
	f         *flow.Flow
	a         *account.Account // nil: the identifier has no account
	req       ninsho.Request
	now       time.Time
	prefix    string
	familiar  bool // device familiar to the account
	network   bool // network familiar to the account
	signals   risk.Signals
	decision  risk.Decision
	formSpeed time.Duration
	policy    risk.Policy // the realm's thresholds (Protection.Policy unless the realm overrides it)
	// owed are writes the attempt makes in the transaction that ends it
	// (pay), so that an owner's sign-in is one write transaction; paid
	// says that a transaction not yet committed made them.
	owed []func(ctx context.Context) error
	paid bool
	// ticket is the hash limiter's place reserved by assess (nil without
	// a limiter); whoever made the attempt releases it when done.
	ticket *password.Ticket
	// check is the end of the password check assess began (startCheck);
	// whoever made the attempt calls endCheck once its failure, if any, is
	// committed.
	check func()
}

// endCheck ends the attempt's password check, if one began.
func (at *attempt) endCheck() {
	if at.check != nil {
		at.check()
		at.check = nil
	}
}

// owe adds a write that the transaction ending the attempt makes.
func (at *attempt) owe(w func(ctx context.Context) error) {
	at.owed = append(at.owed, w)
}

// pay makes the attempt's owed writes in the transaction of ctx, once:
// every transaction that may end the attempt calls it first (nested ones
// find them made). They are forgotten when that transaction commits; when
// it rolls back, or none ends the attempt, submitPassword makes them on
// their own. A nil attempt owes nothing.
func (at *attempt) pay(ctx context.Context) error {
	if at == nil || at.paid || len(at.owed) == 0 {
		return nil
	}
	for _, w := range at.owed {
		if err := w(ctx); err != nil {
			return err
		}
	}
	at.paid = true
	ninsho.AfterCommit(ctx, func() { at.owed = nil })
	return nil
}

// policyFor returns the risk policy of realm rl: its own when it has one.
func (p *Protection) policyFor(rl *realm.Realm) risk.Policy {
	if rl.Risk != nil {
		return *rl.Risk
	}
	return p.Policy
}

// assess gathers the signals of an attempt and counts it. It answers the
// decision to take before the password is checked.
//
// An attempt from a device unfamiliar to the account (or for an identifier
// without one) is counted in one transaction of its own, before its hash:
// concurrent attempts see it at once, and on SQLite a flood does not turn
// one attempt into many waits for the one writer connection. An attempt
// from a familiar device is decided on reads only. Its own counts (address,
// network, device) are read only by unfamiliar devices' attempts
// (risk.Policy.BeforePassword reads none of them for a familiar device), so
// they are owed to the transaction that ends the attempt (attempt.pay): an
// owner's sign-in is one write transaction.
func (s *Service) assess(ctx context.Context, at *attempt) error {
	at.prefix = risk.Prefix(at.req.IP)
	if at.a != nil {
		var err error
		if at.familiar, err = s.Kit.Devices.Store.IsFamiliar(ctx, at.a.ID, at.f.DeviceID); err != nil {
			return err
		}
	}
	if !at.familiar {
		// An address, network or device token over its rate is refused
		// on reads alone, before it takes a place at the hash limiter: a
		// flood from one address, refused 429 anyway, would otherwise
		// hold places that never hash while it waits for the one
		// writer, and every other new device would be refused 503 (found
		// from outside: 13 of 16 right passwords from other addresses
		// while one address, itself over its rate, flooded with 20
		// connections). Nothing is written: the attempt is not counted.
		if d, err := s.overRate(ctx, at); err != nil || d.Action == risk.Deny {
			at.decision = d
			return err
		}
	}
	// The hash limiter decides now, before the attempt writes anything:
	// under overload the refusal is immediate and costs no write (nothing
	// was guessed, so there is nothing to count).
	lane := ctx
	if at.familiar {
		lane = password.WithPriority(ctx)
	}
	t, err := s.Kit.Passwords.Admit(lane)
	if err != nil {
		return err
	}
	at.ticket = t
	if at.familiar {
		return s.gauge(ctx, at)
	}
	base := ctx
	return s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
		// One check of the identifier at a time (startCheck), begun in
		// the transaction that counts the attempt and before its counts
		// are read, so that they include every earlier check's failure;
		// the account is read again for the same reason (a lock set
		// since). A refusal rolls back: nothing is written.
		var err error
		if at.check, err = s.startCheck(ctx, base, at); err != nil {
			return err
		}
		if at.a != nil {
			if at.a, err = s.Kit.Accounts.Account(ctx, at.a.ID); err != nil {
				return err
			}
		}
		return s.gauge(ctx, at)
	})
}

// rateKeys are the counters of at's per-minute rates: its address, its
// network (prefix) and its device token.
func rateKeys(at *attempt) (addr, prefix, device string) {
	id := at.rl.ID
	return throttle.Key(famAddr, id, at.req.IP), throttle.Key(famPrefix, id, at.prefix), throttle.Key(famDevice, id, at.f.DeviceID)
}

// overRate decides, from the per-minute counts alone, whether the attempt
// of an unfamiliar device is over its rate (risk.Policy.OverRate); gauge
// reads them again, in the attempt's transaction, for the full decision.
func (s *Service) overRate(ctx context.Context, at *attempt) (risk.Decision, error) {
	addr, prefix, device := rateKeys(at)
	minute, err := s.Protect.Counter.Counts(ctx, []string{addr, prefix, device}, risk.RateWindow)
	if err != nil {
		return risk.Decision{}, err
	}
	return at.policy.OverRate(risk.Signals{
		AddressAttempts: minute[addr], PrefixAttempts: minute[prefix], DeviceAttempts: minute[device],
	}), nil
}

// gauge reads the signals of at (its familiarity known), counts the attempt
// (or owes the counts, from a familiar device) and decides.
func (s *Service) gauge(ctx context.Context, at *attempt) error {
	p := s.Protect
	rl, req := at.rl, at.req
	if at.a != nil {
		var err error
		if at.prefix != "" {
			if at.network, err = p.Networks.NetworkSeenSince(ctx, at.a.ID, at.prefix, at.now.Add(-at.policy.NetworkMemory)); err != nil {
				return err
			}
		}
	}
	ident := at.f.Identifier
	addrKey, prefixKey, deviceKey := rateKeys(at)
	minute := map[string]int{}
	if !at.familiar {
		// A familiar device's rates are never read (BeforePassword).
		var err error
		if minute, err = p.Counter.Counts(ctx, []string{addrKey, prefixKey, deviceKey}, risk.RateWindow); err != nil {
			return err
		}
	}
	failUnfam, failFam := throttle.Key(famFailUnfamilar, rl.ID, ident), throttle.Key(famFailFamiliar, rl.ID, ident)
	fails, err := p.Counter.Counts(ctx, []string{failUnfam, failFam}, at.policy.FailureWindow)
	if err != nil {
		return err
	}
	// Spraying is read only for unfamiliar devices (the risk policy ignores
	// it for familiar ones), so only they are counted: an owner's sign-in
	// spends no writes on it.
	addrIdents, identAddrs := 0, 0
	if !at.familiar {
		if addrIdents, err = p.Counter.HitDistinct(ctx, throttle.Key(famAddrIdents, rl.ID, req.IP), ident, at.policy.SprayWindow); err != nil {
			return err
		}
		if identAddrs, err = p.Counter.HitDistinct(ctx, throttle.Key(famIdentAddrs, rl.ID, ident), req.IP, at.policy.SprayWindow); err != nil {
			return err
		}
	}
	// Sign-outs are read after the right password only, and never for a
	// familiar device on a familiar network, which AfterPassword allows
	// whatever else it sees: an owner at home spends no read on them.
	signouts := 0
	if at.a != nil && !(at.familiar && at.network) {
		if signouts, err = p.Counter.Count(ctx, throttle.Key(famSignouts, rl.ID, at.a.ID), at.policy.ChurnWindow); err != nil {
			return err
		}
	}
	at.signals = risk.Signals{
		DeviceFamiliar:             at.familiar,
		NetworkFamiliar:            at.network,
		AccountKnown:               at.a != nil,
		IdentifierFailures:         fails[failUnfam],
		IdentifierFailuresFamiliar: fails[failFam],
		AddressAttempts:            minute[addrKey],
		PrefixAttempts:             minute[prefixKey],
		DeviceAttempts:             minute[deviceKey],
		AddressAccounts:            addrIdents,
		AccountAddresses:           identAddrs,
		RecentSignouts:             signouts,
		UserAgent:                  req.UserAgent,
		FormElapsed:                at.formSpeed,
		Heightened:                 rl.Heightened,
		CaptchaSolved:              at.f.Get(stateCaptchaOK) == "1",
	}
	hits := []string{addrKey, deviceKey}
	if at.prefix != "" {
		hits = append(hits, prefixKey)
	}
	count := func(ctx context.Context) error {
		for _, key := range hits {
			if err := p.Counter.Hit(ctx, key, 1, risk.RateWindow); err != nil {
				return err
			}
		}
		return nil
	}
	if at.familiar {
		at.owe(count)
	} else if err := count(ctx); err != nil {
		return err
	}
	at.decision = at.policy.BeforePassword(at.signals)
	return nil
}

// countFailure records a wrong password: the identifier's failure counter of
// the device's kind, the address counted twice, and for an unfamiliar source
// a step towards the smart lock. It returns the lock it set, if any.
func (s *Service) countFailure(ctx context.Context, at *attempt) (*account.Lock, error) {
	p := s.Protect
	fam := famFailUnfamilar
	if at.familiar {
		fam = famFailFamiliar
	}
	if err := p.Counter.Hit(ctx, throttle.Key(fam, at.rl.ID, at.f.Identifier), 1, at.policy.FailureWindow); err != nil {
		return nil, err
	}
	if err := p.Counter.Hit(ctx, throttle.Key(famAddr, at.rl.ID, at.req.IP), 1, risk.RateWindow); err != nil {
		return nil, err
	}
	if err := p.Counter.Hit(ctx, throttle.Key(famDevice, at.rl.ID, at.f.DeviceID), 1, risk.RateWindow); err != nil {
		return nil, err
	}
	if at.a == nil || at.familiar {
		return nil, nil
	}
	n, err := p.Locks.AddUnfamiliarFailure(ctx, at.a.ID)
	if err != nil {
		return nil, err
	}
	if n < at.policy.LockAfterFailures {
		return nil, nil
	}
	// A lock that began more than a day before this one no longer counts:
	// the ladder starts again.
	level := at.a.Lock.Level + 1
	if at.a.Lock.LockedAt == nil || at.now.Sub(*at.a.Lock.LockedAt) > 24*time.Hour+at.policy.LockFor(at.a.Lock.Level) {
		level = 1
	}
	until := at.now.Add(at.policy.LockFor(level))
	lockedAt := at.now
	l := account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: level, LockedAt: &lockedAt}
	if at.a.Lock.Kind == account.LockSuspicious {
		return nil, nil // a stronger lock stands
	}
	if err := p.Locks.SetLock(ctx, at.a.ID, l); err != nil {
		return nil, err
	}
	return &l, nil
}

// lockedError is the answer at now to an attempt that a lock stops.
func lockedError(l account.Lock, now time.Time) error {
	e := ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(l.Kind))
	if l.Kind == account.LockUnfamiliar && l.Until != nil {
		e.WithParam("until", *l.Until)
		secs := int(l.Until.Sub(now).Seconds()) + 1
		if secs > 0 {
			e.WithParam("retry_after_s", secs)
		}
	}
	return e
}

// captchaNext returns the CAPTCHA step of f.
func captchaNext(f *flow.Flow, locale string) *flow.Next {
	id := f.Get(stateCaptcha)
	return &flow.Next{Step: flow.StepCaptcha, Captcha: &flow.Captcha{
		ID: id, ImageURL: captcha.ImagePath(id), AudioURL: captcha.AudioPath(id, locale),
	}}
}

// typoVariants returns the corrections of a wrong password that are tried
// from familiar devices (Chatterjee et al., IEEE S&P 2016): the whole password
// with Caps Lock inverted, and the first letter's case flipped (phones
// capitalise it). Variants equal to the input are left out.
func typoVariants(pw string) []string {
	var out []string
	caps := []rune(pw)
	changed := false
	for i, r := range caps {
		switch {
		case unicode.IsUpper(r):
			caps[i], changed = unicode.ToLower(r), true
		case unicode.IsLower(r):
			caps[i], changed = unicode.ToUpper(r), true
		}
	}
	if changed {
		out = append(out, string(caps))
	}
	r, size := utf8.DecodeRuneInString(pw)
	var flipped rune
	switch {
	case unicode.IsUpper(r):
		flipped = unicode.ToLower(r)
	case unicode.IsLower(r):
		flipped = unicode.ToUpper(r)
	}
	if flipped != 0 {
		v := string(flipped) + pw[size:]
		if len(out) == 0 || out[0] != v {
			out = append(out, v)
		}
	}
	return out
}
