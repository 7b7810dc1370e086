// Package signin is the sign-in flow (identifier and password, then any
// challenge) and the session checks that follow it.
package signin

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/startgate"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Input is what a person types on the sign-in form. An empty Password starts an
// identifier-first flow that asks for the password next.
type Input struct {
	Identifier string
	Password   string
	// PasswordAsked says the form asked for the password too (the hosted
	// page): when the identifier is refused, an empty password is refused
	// with it, so that an empty form names both fields. With a valid
	// identifier an empty password still opens the password step.
	PasswordAsked bool
	// FormElapsed is how long the sign-in form was shown before it was sent
	// (pages measure it; 0 when unknown). Faster than a person types is a
	// sign of automation.
	FormElapsed time.Duration // AAL is the assurance level the sign-in asks for: 0 or 1 (any), or 2,
	// with which no trusted device skips the second factor
	// (authflow.RequireAAL).
	AAL int
}

// Principal is the signed-in account behind a session token.
type Principal struct {
	Session *session.Session
	Account *account.Account
}

// Service runs sign-in flows and checks sessions. It implements flow.Handler
// for KindSignin. Build it with NewService.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	// Protect enables risk decisions, counters, CAPTCHAs and smart lockout;
	// nil checks passwords only.
	Protect *Protection
	// Gate caps identifier-first starts (no password yet) per address,
	// network and device; nil caps none.
	Gate *startgate.Gate
	// Closure offers to reopen a closed account in its grace after the
	// right password and second factor (closure.go); nil answers
	// account_closed.
	Closure Closure
	// Holds tells a suspension's reference and reason and a new password
	// required by staff (holds.go); nil tells neither.
	Holds Holds
	// Invalidate tells the other instances that an account's sessions
	// were revoked (ForgetAccount, Signout), so that they drop its cached
	// principals (DropCached) at once instead of within SessionCacheTTL;
	// nil tells nobody.
	Invalidate invalidate.Publisher

	cache *principalCache
}

// SessionCacheTTL is how long a verified session token is trusted without
// another database read (see principalCache).
const SessionCacheTTL = time.Second

// NewService returns a sign-in service that caches verified sessions for
// SessionCacheTTL.
func NewService(kit *authflow.Kit, realms *realm.Registry) *Service {
	return &Service{Kit: kit, Realms: realms, cache: newPrincipalCache(SessionCacheTTL, 100_000)}
}

var _ flow.Handler = (*Service)(nil)

// Start begins a sign-in in realm rl. With a password it answers complete (with
// a session), challenge (a code is needed, e.g. to finish an unconfirmed
// sign-up) or open with the error; without one it answers open at step
// password. An unknown identifier costs the same hashing time as a known one.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, in Input) (*flow.Answer, error) {
	k := s.Kit
	id, err := authflow.ParseIdentifier(in.Identifier, rl)
	if err != nil {
		// Judged without reading any account: nothing is revealed, and
		// nothing is hashed.
		if in.PasswordAsked && in.Password == "" {
			err = ninsho.Fields(err, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
		}
		return nil, err
	}
	if in.Password != "" {
		// Under overload even an owner's hash would be refused: refuse
		// now, before anything is read (DESIGN §8: refusals are cheap).
		if err := k.Passwords.Saturated(); err != nil {
			return nil, err
		}
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindSignin, rl, req, d)
	f.Identifier = id.Value
	f.Step = flow.StepPassword
	if err := authflow.RequireAAL(f, in.AAL); err != nil {
		return nil, err
	}
	if in.Password == "" {
		// Identifier first: a flow row for anyone who types an identifier.
		// The start is capped before anything is looked up or written, so
		// that neither the rows nor an explicit realm's "no such account"
		// answers are unbounded.
		if _, err := s.Gate.Admit(ctx, flow.KindSignin, rl.ID, req, d.ID); err != nil {
			return nil, err
		}
	}
	a, err := k.AccountFor(ctx, rl, id)
	switch {
	case err == nil:
		f.AccountID = a.ID
	case ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		if in.Password == "" && rl.Disclosure != realm.DisclosureSafe {
			return nil, k.NotHere(ctx, rl, id)
		}
	default:
		return nil, err
	}
	if in.Password == "" {
		if err := k.Save(ctx, f); err != nil {
			return nil, err
		}
		return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepPassword}, DeviceToken: newToken}, nil
	}
	ans, err := s.submitPassword(ctx, rl, f, a, req, in.Password, in.FormElapsed)
	if ans != nil {
		ans.DeviceToken = newToken
	}
	return ans, err
}

// Act applies a sign-in action: submit_password, submit_code or resend_code.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case s.Kit.SecondFactor().Handles(f, act):
		ans, err := s.Kit.SecondFactor().Act(ctx, rl, f, req, act)
		if ans != nil && ans.Session == nil && ans.Next == nil && f.Step == flow.StepReopenAccount {
			ans.Next = s.answer(f).Next // passed: the offer to reopen
		}
		return ans, err
	case act.Name == flow.ActionSubmitPassword && f.Step == flow.StepPassword:
		var a *account.Account
		if f.AccountID != "" {
			var err error
			if a, err = s.Kit.Accounts.Account(ctx, f.AccountID); err != nil {
				return nil, err
			}
		}
		return s.submitPassword(ctx, rl, f, a, req, act.Password, time.Duration(act.FormElapsedMS)*time.Millisecond)
	case act.Name == flow.ActionSubmitPasskey && f.Step == flow.StepPasskey:
		return s.submitPasskey(ctx, rl, f, req, act)
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		return s.resend(ctx, rl, f)
	case act.Name == flow.ActionSwitchChannel && f.Step == flow.StepVerificationCode:
		return s.switchChannel(ctx, rl, f, act.Channel)
	case (act.Name == flow.ActionSubmitCaptcha || act.Name == flow.ActionNewCaptcha) && f.Step == flow.StepCaptcha:
		return s.submitCaptcha(ctx, f, act)
	case (act.Name == flow.ActionReopen || act.Name == flow.ActionCancel) && f.Step == flow.StepReopenAccount:
		return s.reopen(ctx, rl, f, req, act.Name)
	default:
		return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
}

// View describes f as it stands.
func (s *Service) View(_ context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f), nil
}

func (s *Service) answer(f *flow.Flow) *flow.Answer {
	ans := &flow.Answer{Flow: f}
	switch {
	case f.Status == flow.StatusComplete || f.Status == flow.StatusFailed:
	case f.Step == flow.StepSecondFactor || f.Step == flow.StepEnrolSecondFactor:
		ans.Next = s.Kit.SecondFactor().Next(f)
	case f.Step == flow.StepVerificationCode:
		ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), authflow.Alternatives(f))
	case f.Step == flow.StepCaptcha:
		ans.Next = captchaNext(f, f.Locale)
	case f.Step == flow.StepPasskey:
		ans.Next = passkeyNext(f)
	case f.Step == flow.StepReopenAccount:
		ans.Next = reopenNext(f)
	default:
		ans.Next = &flow.Next{Step: flow.StepPassword}
	}
	return ans
}

// submitPassword checks the password of a (nil when the identifier has no
// account) and moves f on. The flow is saved in every outcome. With
// protection, the risk decision comes first (a refusal or a CAPTCHA costs no
// hash), then the lock, then the password, then the decision after the
// password (a verification code for an unfamiliar device).
//
// The attempt's own writes after its hash (the counts a familiar device
// owes, a rehash) are made by the one transaction that ends it (attempt.pay):
// a complete sign-in from a familiar device is one write transaction.
func (s *Service) submitPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, pw string, formElapsed time.Duration) (*flow.Answer, error) {
	if pw == "" {
		return s.saved(ctx, f, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	if a != nil && isGone(a, s.Kit.Clock) {
		a = nil
	}
	at := &attempt{rl: rl, f: f, a: a, req: req, now: s.Kit.Clock.Now(), formSpeed: formElapsed}
	ans, err := s.tryPassword(ctx, at, pw)
	at.ticket.Release()
	at.endCheck() // after the attempt's failure, if any, was committed
	if len(at.owed) > 0 {
		// No transaction that ended the attempt committed (an error, or
		// an answer that writes nothing): its writes are made on their
		// own, also when the client has gone.
		at.paid = false
		if perr := s.Kit.Tx.InTx(context.WithoutCancel(ctx), at.pay); perr != nil {
			return nil, perr
		}
	}
	return ans, err
}

// tryPassword is submitPassword once there is a password to check.
func (s *Service) tryPassword(ctx context.Context, at *attempt, pw string) (*flow.Answer, error) {
	k := s.Kit
	rl, f, a, req := at.rl, at.f, at.a, at.req
	if s.Protect != nil {
		at.policy = s.Protect.policyFor(rl)
		if err := s.assess(ctx, at); err != nil {
			if !f.Fresh && (ninsho.IsCode(err, ninsho.CodeRateLimited) || ninsho.IsCode(err, ninsho.CodeOverloaded)) {
				// Refused before anything was written (another check
				// of the identifier runs, or the hash limiter is
				// full): the flow as it stands, unchanged.
				return s.answer(f), err
			}
			return nil, err
		}
		a = at.a // read again once its check began (assess)
		// The hashes below use the place assess reserved.
		ctx = password.WithTicket(ctx, at.ticket)
		// A solved CAPTCHA lets one password attempt through, not more.
		f.Set(stateCaptchaOK, "")
		if at.decision.Action == risk.Deny {
			secs := int((at.decision.RetryAfter + time.Second - 1) / time.Second)
			limited := ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", secs)
			if f.Fresh {
				// A start refused by the rate limits writes nothing: no
				// flow, no event (a flood must not grow the tables).
				return nil, limited
			}
			// Nor does a password sent again on an existing flow: the
			// flow as it stood, no event (one flow must not be a way to
			// write a row per refused request).
			return s.answer(f), limited
		}
		// In an explicit realm a lock is told before any CAPTCHA: the person
		// learns until when, and how to unlock, without solving a puzzle
		// first. A safe realm tells it only after the right password, so
		// that a locked account answers a wrong one like any other.
		if a != nil && rl.Disclosure != realm.DisclosureSafe && a.Lock.LockedFor(at.now, at.familiar) {
			return s.fail(ctx, rl, f, a, req, at, lockedError(a.Lock, at.now))
		}
		if at.decision.Action == risk.Captcha {
			return s.askCaptcha(ctx, rl, f, a, req, at)
		}
	}
	// Whether staff asked for a new password is read now, beside the
	// account's other reads, though it is told only after the right
	// password: on SQLite a read after the hash finds the readers' page
	// caches emptied by the sign-ins committed meanwhile, and cost several
	// times any other read but the request's first. It is read for an
	// unknown identifier too (under no account id), so that this step does
	// the same work whether the identifier has an account or not.
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	mustReset, err := s.resetRequiredFor(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if a == nil {
		if err := k.Passwords.VerifyDummy(ctx, pw); err != nil {
			return nil, err
		}
		return s.wrongPassword(ctx, rl, f, nil, req, at)
	}
	ok, rehash, typo, err := s.checkPassword(ctx, at, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.wrongPassword(ctx, rl, f, a, req, at)
	}
	if a.Status == account.StatusPending && rl.Disclosure == realm.DisclosureSafe {
		// An unconfirmed sign-up's password was chosen by whoever started
		// it, who may not own the identifier: signing in with it would
		// tell that stranger whether an account already existed (a taken
		// identifier's sign-up keeps the owner's password). A safe realm
		// answers it as an unknown identifier; the sign-up is finished
		// with its code, or started again.
		return s.wrongPassword(ctx, rl, f, nil, req, at)
	}
	// The password is right: only now may the account's state be told.
	if s.Protect != nil && a.Lock.LockedFor(at.now, at.familiar) {
		return s.fail(ctx, rl, f, a, req, at, lockedError(a.Lock, at.now))
	}
	switch a.Status {
	case account.StatusSuspended:
		stepErr := s.suspendedError(ctx, a)
		if !ninsho.IsCode(stepErr, ninsho.CodeAccountSuspended) {
			return nil, stepErr
		}
		return s.fail(ctx, rl, f, a, req, at, stepErr)
	case account.StatusClosed:
		// In its grace the sign-in goes on (a code for a new device, the
		// second factor) and ends at the offer to reopen (complete).
		if ok, err := s.reopenable(ctx, rl, f, a); err != nil || !ok {
			if err != nil {
				return nil, err
			}
			return s.fail(ctx, rl, f, a, req, at, ninsho.E(ninsho.CodeAccountClosed))
		}
	case account.StatusLocked:
		return s.fail(ctx, rl, f, a, req, at, lockedError(account.Lock{Kind: account.LockSuspicious}, at.now))
	}
	if mustReset && a.Status != account.StatusPending {
		// Staff asked for a new password: the password assistant sets it.
		return s.fail(ctx, rl, f, a, req, at, ninsho.E(ninsho.CodePasswordResetRequired))
	}
	if rehash && !typo {
		if newHash, err := k.Passwords.Hash(ctx, pw); err == nil {
			at.owe(func(ctx context.Context) error {
				if err := k.Accounts.SetPasswordHash(ctx, a.ID, newHash, k.Clock.Now()); err != nil {
					return err
				}
				return k.Record(ctx, rl, a.ID, event.TypePasswordRehashed, req, f.DeviceID, nil)
			})
		}
	}
	if a.Status == account.StatusPending {
		return s.finishSignup(ctx, rl, f, a, req, at)
	}
	data := map[string]any{"reasons": at.decision.Strings()}
	if typo {
		data["typo_corrected"] = true
	}
	// A device the owner trusts skips the second factor, unless sign-in
	// protection found anything to hold against this attempt.
	risky := false
	if s.Protect != nil {
		after := at.policy.AfterPassword(at.signals)
		risky = at.decision.Action != risk.Allow || after.Action != risk.Allow || f.Get(stateCaptcha) != ""
		// An account with two-step verification is asked for its second
		// factor instead (Complete): one challenge, not two.
		if after.Action == risk.Code {
			twoStep, err := k.SecondFactor().Required(ctx, rl, a)
			if err != nil {
				return nil, err
			}
			if !twoStep {
				return s.askCode(ctx, rl, f, a, req, at, after)
			}
			if !at.familiar {
				// The second factor stands in for the device code, and
				// the owner hears of the new device as after that code.
				authflow.AlertAfterSecondFactor(f)
			}
		}
	}
	if !risky {
		authflow.AllowTrustedDevice(f)
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := at.pay(ctx); err != nil {
			return err
		}
		if at.familiar {
			// The owner signed in on a familiar device: strangers' wrong
			// codes for the account no longer count.
			if err := k.Codes.Guard.Clear(ctx, rl.ID, a.ID); err != nil {
				return err
			}
		}
		var err error
		grant, err = s.complete(ctx, rl, f, a, req, at, []string{session.MethodPassword}, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.completed(f, grant), nil
}

// checkPassword verifies pw and, when the realm tolerates typos, the device is
// familiar and the risk decision allowed the attempt, its typo corrections.
// Every try goes through the hash limiter.
func (s *Service) checkPassword(ctx context.Context, at *attempt, pw string) (ok, rehash, typo bool, err error) {
	k := s.Kit
	hash, err := k.Accounts.PasswordHash(ctx, at.a.ID)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return false, false, false, err
	}
	if at.familiar {
		// The owner's own device: not queued behind strangers' attempts.
		ctx = password.WithPriority(ctx)
	}
	if hash == "" {
		return false, false, false, k.Passwords.VerifyDummy(ctx, pw)
	}
	ok, rehash, err = k.Passwords.Verify(ctx, pw, hash)
	if err != nil || ok {
		return ok, rehash, false, err
	}
	if !at.rl.TypoTolerance || !at.familiar || (s.Protect != nil && at.decision.Action != risk.Allow) {
		return false, false, false, nil
	}
	for _, v := range typoVariants(pw) {
		ok, rehash, err = k.Passwords.Verify(ctx, v, hash)
		if err != nil || ok {
			return ok, rehash, ok, err
		}
	}
	return false, false, false, nil
}

// finishSignup turns a sign-in to an unconfirmed account into the
// confirmation it never had: a code goes to the identifier and the right code
// completes both the sign-up and the sign-in.
func (s *Service) finishSignup(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt) (*flow.Answer, error) {
	k := s.Kit
	ch := code.ChannelEmail
	dest := a.Email
	if f.Identifier == a.Phone && a.Phone != "" {
		ch, dest = code.ChannelSMS, a.Phone
	}
	before := snapshot(f)
	f.Status = flow.StatusChallenge
	f.Step = flow.StepVerificationCode
	// No owner's lane: an unconfirmed sign-up's password was chosen by
	// whoever started it, which proves nothing about the address or number,
	// so these codes come from the strangers' share of the destination.
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := at.pay(ctx); err != nil {
			return err
		}
		if err := k.SendCode(ctx, f, rl, a, code.PurposeSignup, ch, dest, "signup_code"); err != nil {
			return err
		}
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.unsent(ctx, f, before, err)
	}
	k.Outbox.Wake()
	ans := s.answer(f)
	return ans, nil
}

func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var grant *flow.Grant
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, serr, err := k.CheckCode(ctx, f, codePurpose(f), input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		now := k.Clock.Now()
		if a.Status == account.StatusPending {
			a.Status = account.StatusActive
			authflow.Verify(a, string(c.Channel), now)
			a.UpdatedAt = now
			if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
				return err
			}
			if err := k.Record(ctx, rl, a.ID, event.TypeSignupCompleted, req, f.DeviceID, map[string]any{"flow": f.ID}); err != nil {
				return err
			}
		}
		if a.Status != account.StatusActive && !(a.Status == account.StatusClosed && s.Closure != nil) {
			return ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(account.LockSuspicious))
		}
		data := map[string]any{}
		if r := f.Get(stateReasons); r != "" {
			data["reasons"] = strings.Split(r, ",")
		}
		grant, err = s.complete(ctx, rl, f, a, req, nil, []string{session.MethodPassword, session.CodeMethod(string(c.Channel))}, data)
		if err != nil || grant == nil {
			return err // no sign-in yet while the second factor is asked
		}
		if f.Get(stateUnfamiliar) == "1" {
			return s.alert(ctx, rl, f, a, req)
		}
		return nil
	})
	if err != nil {
		return s.answer(f), err
	}
	if stepErr != nil {
		return s.answer(f), stepErr
	}
	k.Outbox.Wake()
	return s.completed(f, grant), nil
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Answer, error) {
	template := "signup_code"
	if codePurpose(f) == code.PurposeSignin {
		template = "signin_code"
	}
	err := s.Kit.Resend(ctx, rl, f, codePurpose(f), template)
	return s.answer(f), err
}

// codePurpose is the purpose of the code f waits for: a sign-in
// verification, or the confirmation of an unfinished sign-up.
func codePurpose(f *flow.Flow) code.Purpose {
	if p := f.Get(statePurpose); p != "" {
		return code.Purpose(p)
	}
	return code.PurposeSignup
}

// fail records a refused sign-in attempt and answers f (saved) with stepErr.
func (s *Service) fail(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt, stepErr error) (*flow.Answer, error) {
	k := s.Kit
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := at.pay(ctx); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, accountID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
			"flow": f.ID, "reason": string(ninsho.CodeOf(stepErr)), "risk": at.decision.Strings(),
			"familiar_device": at.familiar, "prefix": at.prefix,
		})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(f), stepErr
}

// wrongPassword counts a wrong password (towards CAPTCHAs and the smart lock)
// and answers it.
func (s *Service) wrongPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt) (*flow.Answer, error) {
	stepErr := s.wrongCredentials(rl, a == nil)
	if a == nil && rl.Disclosure != realm.DisclosureSafe && len(rl.HintRealms) > 0 {
		// The identifier may have its account on another regional site.
		kind := identifier.KindPhone
		if strings.Contains(f.Identifier, "@") {
			kind = identifier.KindEmail
		}
		if e := s.Kit.NotHere(ctx, rl, identifier.Identifier{Kind: kind, Value: f.Identifier}); ninsho.IsCode(e, ninsho.CodeAccountInOtherRealm) {
			stepErr = e
		}
	}
	var ans *flow.Answer
	err := s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
		if s.Protect != nil {
			lock, err := s.countFailure(ctx, at)
			if err != nil {
				return err
			}
			if lock != nil {
				if err := s.Kit.Record(ctx, rl, a.ID, event.TypeAccountLocked, req, f.DeviceID, map[string]any{
					"kind": string(lock.Kind), "level": lock.Level, "until": lock.Until.UTC().Format(time.RFC3339),
				}); err != nil {
					return err
				}
			}
		}
		var err error
		ans, err = s.fail(ctx, rl, f, a, req, at, stepErr)
		if ans == nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ans, stepErr
}

// askCaptcha holds the attempt back behind a new CAPTCHA challenge. The
// password is not checked (and not kept): the client sends it again once the
// challenge is solved.
func (s *Service) askCaptcha(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt) (*flow.Answer, error) {
	if err := s.newChallenge(ctx, f); err != nil {
		return nil, err
	}
	ans, err := s.fail(ctx, rl, f, a, req, at, ninsho.E(ninsho.CodeCaptchaRequired))
	if ans != nil {
		ans.Next = captchaNext(f, f.Locale)
	}
	return ans, err
}

// newChallenge gives f a new CAPTCHA challenge (unsaved).
func (s *Service) newChallenge(ctx context.Context, f *flow.Flow) error {
	if err := startgate.SpendChallenge(f); err != nil {
		return err
	}
	if f.Version == 0 {
		// The challenge names its flow: make sure the flow exists first.
		if err := s.Kit.Save(ctx, f); err != nil {
			return err
		}
	}
	c, err := s.Protect.Captcha.New(ctx, f.Realm, f.ID)
	if err != nil {
		return err
	}
	f.Set(stateCaptcha, c.ID)
	f.Set(stateCaptchaOK, "")
	f.Status = flow.StatusChallenge
	f.Step = flow.StepCaptcha
	return nil
}

// submitCaptcha checks the answer to the flow's challenge. A right answer
// lets the next password attempt through the CAPTCHA rule; a wrong one gets a
// new challenge.
func (s *Service) submitCaptcha(ctx context.Context, f *flow.Flow, act flow.Action) (*flow.Answer, error) {
	if s.Protect == nil || f.Get(stateCaptcha) == "" {
		return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	var stepErr error
	if act.Name != flow.ActionNewCaptcha {
		err := s.Protect.Captcha.Check(ctx, f.Get(stateCaptcha), f.ID, act.Answer)
		if err == nil {
			f.Set(stateCaptchaOK, "1")
			f.Status = flow.StatusOpen
			f.Step = flow.StepPassword
			return s.saved(ctx, f, nil)
		}
		if !ninsho.IsCode(err, ninsho.CodeCaptchaIncorrect) {
			return nil, err
		}
		stepErr = err
	}
	if err := s.newChallenge(ctx, f); err != nil {
		if ninsho.IsCode(err, ninsho.CodeRateLimited) {
			return s.saved(ctx, f, err) // out of challenges: the flow has ended
		}
		return nil, err
	}
	return s.saved(ctx, f, stepErr)
}

// askCode sends a verification code to the identifier the person typed and
// waits for it: the password was right, but the device or network is
// unfamiliar.
func (s *Service) askCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt, d risk.Decision) (*flow.Answer, error) {
	k := s.Kit
	before := snapshot(f)
	ch, dest := channelOf(a, f.Identifier)
	f.Status = flow.StatusChallenge
	f.Step = flow.StepVerificationCode
	f.Set(statePurpose, string(code.PurposeSignin))
	if !at.familiar {
		f.Set(stateUnfamiliar, "1")
	} else {
		// The owner's own device: strangers' wrong codes never block it.
		f.Set(code.StateGuardExempt, "1")
	}
	f.Set(stateReasons, strings.Join(d.Strings(), ","))
	authflow.OfferAlternatives(f, a, string(ch))
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := at.pay(ctx); err != nil {
			return err
		}
		if err := k.SendCode(ctx, f, rl, a, code.PurposeSignin, ch, dest, "signin_code"); err != nil {
			return err
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, a.ID, event.TypeSigninChallenged, req, f.DeviceID, map[string]any{
			"flow": f.ID, "reasons": d.Strings(), "channel": string(ch), "prefix": at.prefix,
		})
	})
	if err != nil {
		return s.unsent(ctx, f, before, err)
	}
	k.Outbox.Wake()
	return s.answer(f), nil
}

// snapshot copies f as it stands, its state included.
func snapshot(f *flow.Flow) flow.Flow {
	c := *f
	c.State = make(map[string]string, len(f.State))
	for k, v := range f.State {
		c.State[k] = v
	}
	return c
}

// unsent answers a code that could not be sent after the right password
// (the destination's hourly budget is spent, the channel has no provider):
// the flow is not moved to the code step, as no code went out. A flow this
// request started is not written (the answer is a problem document, as for
// a start refused by the rate limits); an existing one stays at its password
// step and is saved so.
func (s *Service) unsent(ctx context.Context, f *flow.Flow, before flow.Flow, err error) (*flow.Answer, error) {
	*f = before
	if f.Fresh || ninsho.CodeOf(err) == ninsho.CodeInternal {
		return nil, err
	}
	return s.saved(ctx, f, err)
}

// channelOf picks where a code for a goes: the identifier typed if it is one
// of the account's, else the verified e-mail, else the phone.
func channelOf(a *account.Account, typed string) (code.Channel, string) {
	switch {
	case typed != "" && typed == a.Phone:
		return code.ChannelSMS, a.Phone
	case typed != "" && typed == a.Email:
		return code.ChannelEmail, a.Email
	case a.Email != "":
		return code.ChannelEmail, a.Email
	}
	return code.ChannelSMS, a.Phone
}

// complete finishes a sign-in: session, familiar device, remembered network.
func (s *Service) complete(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, at *attempt, methods []string, data map[string]any) (*flow.Grant, error) {
	if data == nil {
		data = map[string]any{}
	}
	data["prefix"] = risk.Prefix(req.IP)
	if a.Status == account.StatusClosed && s.Closure != nil {
		return nil, s.holdForReopen(ctx, rl, f, a, methods, data) // closure.go
	}
	return s.Kit.Complete(ctx, f, rl, a, req, methods, event.TypeSigninSucceeded, data)
}

func (s *Service) saved(ctx context.Context, f *flow.Flow, stepErr error) (*flow.Answer, error) {
	if err := s.Kit.Save(ctx, f); err != nil {
		return nil, err
	}
	return s.answer(f), stepErr
}

// wrongCredentials is the refusal for a wrong password or, when unknown is
// set, for an identifier without an account.
func (s *Service) wrongCredentials(rl *realm.Realm, unknown bool) error {
	if rl.Disclosure == realm.DisclosureSafe {
		return ninsho.FieldError(ninsho.CodeCredentialsIncorrect, "password")
	}
	if unknown {
		return ninsho.FieldError(ninsho.CodeAccountNotFound, "identifier")
	}
	return ninsho.FieldError(ninsho.CodePasswordIncorrect, "password")
}

// isGone reports whether a is an unconfirmed sign-up past its lifetime: it is
// treated as if it did not exist until the purge removes it.
func isGone(a *account.Account, c ninsho.Clock) bool {
	return a.Status == account.StatusPending && !c.Now().Before(a.CreatedAt.Add(account.PendingLifetime))
}

// Authenticate returns the principal of a session token in realm rl, or
// ninsho.CodeUnauthenticated. It writes to the store at most once a minute per
// session (coalesced last-seen), and reads it at most once per
// SessionCacheTTL per token. The principal is shared: callers must not
// modify it.
func (s *Service) Authenticate(ctx context.Context, rl *realm.Realm, token string) (*Principal, error) {
	now := s.Kit.Clock.Now()
	if p := s.cache.get(token, now); p != nil && p.Session.Realm == rl.ID {
		return p, nil
	}
	sess, err := s.Kit.Sessions.Check(ctx, rl.ID, token)
	if err != nil {
		return nil, err
	}
	a, err := s.Kit.Accounts.Account(ctx, sess.AccountID)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
			return nil, ninsho.E(ninsho.CodeUnauthenticated)
		}
		return nil, err
	}
	if a.Status != account.StatusActive {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	p := &Principal{Session: sess, Account: a}
	s.cache.put(token, p, now)
	return p, nil
}

// Signout revokes the session of token and records the event.
func (s *Service) Signout(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) error {
	k := s.Kit
	s.cache.forget(token)
	sess, err := k.Sessions.Check(ctx, rl.ID, token)
	if err != nil {
		return err
	}
	if s.Protect != nil {
		// Repeated sign-out and sign-in is a risk signal (churn).
		if err := s.Protect.Counter.Hit(ctx, throttle.Key(famSignouts, rl.ID, sess.AccountID), 1, s.Protect.Policy.ChurnWindow); err != nil {
			return err
		}
	}
	if err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.Sessions.Revoke(ctx, sess); err != nil {
			return err
		}
		return k.Record(ctx, rl, sess.AccountID, event.TypeSignout, req, sess.DeviceID, map[string]any{"session": sess.ID})
	}); err != nil {
		return err
	}
	s.publish(sess.AccountID)
	return nil
}

// HistoryWindow is how far back the owner sees sign-in history.
const HistoryWindow = 90 * 24 * time.Hour

// History lists the principal's sign-in history of the last 90 days, newest
// first, at most limit entries: the events of HistoryTypes, each with when,
// from which address and device, and the risk reasons.
func (s *Service) History(ctx context.Context, p *Principal, limit int) ([]*event.Event, error) {
	evs, err := s.Kit.Events.AccountEvents(ctx, p.Account.ID, s.Kit.Clock.Now().Add(-HistoryWindow), limit*2)
	if err != nil {
		return nil, err
	}
	out := evs[:0]
	for _, e := range evs {
		if slices.Contains(HistoryTypes, e.Type) && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// HistoryTypes are the events the owner sees in the sign-in history:
// successful (by password, code, passkey, second factor or on a trusted
// device) and failed sign-ins, challenges, locks and unlocks, sign-outs,
// the account's creation, password changes, alerts sent, every change of
// two-step verification, trusted devices added and forgotten, and
// re-authentications, second factors failed after the right password
// (or code), sessions signed out and devices forgotten from the
// account's settings, contact changes and their undo, and document
// recovery cases opened, approved, rejected and cancelled. Codes sent and
// unproved methods are not shown.
var HistoryTypes = []string{
	event.TypeSigninSucceeded, event.TypeSigninFailed, event.TypeSigninChallenged,
	event.TypeAccountLocked, event.TypeSignout, event.TypeSignupCompleted,
	event.TypeAccountUnlocked, event.TypePasswordChanged, event.TypeUnlockStarted, event.TypeSigninAlertSent,
	event.TypeTwoStepEnabled, event.TypeTwoStepDisabled, event.TypeTwoStepMethodAdded,
	event.TypeTwoStepMethodRemoved, event.TypeTwoStepPreferred, event.TypeTwoStepBackupCodes,
	event.TypeTrustedDeviceAdded, event.TypeTrustedDeviceRevoked, event.TypeTrustedDeviceCleared,
	event.TypeSessionReauthenticated, event.TypeSigninSecondFactorFailed,
	event.TypeSessionRevoked, event.TypeSessionRevokedOthers, event.TypeDeviceForgotten,
	event.TypeAccountClosed, event.TypeAccountReopened,
	event.TypeContactChanged, event.TypeContactUndone,
	event.TypeRecoverySubmitted, event.TypeRecoveryApproved, event.TypeRecoveryRejected, event.TypeRecoveryCancelled,
}

// ForgetAccount drops the account's cached sessions on this instance (after a
// lock, a password change or sessions revoked elsewhere in the service, once
// the change is committed) and tells the other instances (Invalidate).
func (s *Service) ForgetAccount(accountID string) {
	s.cache.forgetAccount(accountID)
	s.publish(accountID)
}

// DropCached drops the account's cached sessions on this instance only: a
// notice from another instance (invalidate.Sessions). The empty id drops
// every cached session (notices may have been lost).
func (s *Service) DropCached(accountID string) {
	if accountID == "" {
		s.cache.clear()
		return
	}
	s.cache.forgetAccount(accountID)
}

// publishTimeout bounds the notice sent after a revocation; the change is
// committed already, and a notice not sent leaves the other instances with
// SessionCacheTTL.
const publishTimeout = 2 * time.Second

// publish tells the other instances that the account's sessions were
// revoked. A failure is the publisher's to log: the revocation stands and
// the cache's lifetime bounds its reach.
func (s *Service) publish(accountID string) {
	if s.Invalidate == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	_ = s.Invalidate.Publish(ctx, invalidate.Sessions, accountID)
}

// switchChannel sends the sign-in code to another verified channel of the
// account (see authflow.Kit.SwitchChannel).
func (s *Service) switchChannel(ctx context.Context, rl *realm.Realm, f *flow.Flow, ch string) (*flow.Answer, error) {
	if ch == "" {
		return s.answer(f), ninsho.FieldError(ninsho.CodeFieldRequired, "channel")
	}
	switch codePurpose(f) {
	case code.PurposeSignin:
		err := s.Kit.SwitchChannel(ctx, rl, f, ch, code.PurposeSignin, "signin_code")
		return s.answer(f), err
	case code.PurposeSignup:
		// A sign-in to an unconfirmed sign-up waits for its confirmation
		// code: the same switch (a voice call to the number typed, once
		// offered), from the strangers' share like the code itself.
		err := s.Kit.SwitchChannel(ctx, rl, f, ch, code.PurposeSignup, "signup_code")
		return s.answer(f), err
	}
	return s.answer(f), ninsho.FieldError(ninsho.CodeChannelUnavailable, "channel")
}
