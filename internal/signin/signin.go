// Package signin is the sign-in flow (identifier and password, then any
// challenge) and the session checks that follow it.
package signin

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
)

// Input is what a person types on the sign-in form. An empty Password starts an
// identifier-first flow that asks for the password next.
type Input struct {
	Identifier string
	Password   string
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
	id, err := identifier.Parse(in.Identifier, rl.PhoneRegion)
	if err != nil {
		return nil, err
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindSignin, rl, d, authflow.Locale("", req, rl))
	f.Identifier = id.Value
	f.Step = flow.StepPassword
	a, err := k.AccountFor(ctx, rl, id)
	switch {
	case err == nil:
		f.AccountID = a.ID
	case ninsho.IsCode(err, ninsho.CodeAccountNotFound):
		if in.Password == "" && rl.Disclosure != realm.DisclosureSafe {
			return nil, ninsho.FieldError(ninsho.CodeAccountNotFound, "identifier")
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
	ans, err := s.submitPassword(ctx, rl, f, a, req, in.Password)
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
	case act.Name == flow.ActionSubmitPassword && f.Step == flow.StepPassword:
		var a *account.Account
		if f.AccountID != "" {
			var err error
			if a, err = s.Kit.Accounts.Account(ctx, f.AccountID); err != nil {
				return nil, err
			}
		}
		return s.submitPassword(ctx, rl, f, a, req, act.Password)
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		return s.resend(ctx, rl, f)
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
	case f.Step == flow.StepVerificationCode:
		ans.Next = s.Kit.CodeNext(f, nil)
	default:
		ans.Next = &flow.Next{Step: flow.StepPassword}
	}
	return ans
}

// submitPassword checks the password of a (nil when the identifier has no
// account) and moves f on. The flow is saved in every outcome.
func (s *Service) submitPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, pw string) (*flow.Answer, error) {
	k := s.Kit
	if pw == "" {
		return s.saved(ctx, f, ninsho.FieldError(ninsho.CodeFieldRequired, "password"))
	}
	if a == nil || isGone(a, k.Clock) {
		if err := k.Passwords.VerifyDummy(ctx, pw); err != nil {
			return nil, err
		}
		return s.fail(ctx, rl, f, nil, req, s.wrongCredentials(rl, true))
	}
	hash, err := k.Accounts.PasswordHash(ctx, a.ID)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, err
	}
	ok, rehash := false, false
	if hash == "" {
		err = k.Passwords.VerifyDummy(ctx, pw)
	} else {
		ok, rehash, err = k.Passwords.Verify(ctx, pw, hash)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.fail(ctx, rl, f, a, req, s.wrongCredentials(rl, false))
	}
	// The password is right: only now may the account's state be told.
	switch a.Status {
	case account.StatusSuspended:
		return s.fail(ctx, rl, f, a, req, ninsho.E(ninsho.CodeAccountSuspended).WithParam("reference", a.ID))
	case account.StatusClosed:
		return s.fail(ctx, rl, f, a, req, ninsho.E(ninsho.CodeAccountClosed))
	case account.StatusLocked:
		return s.fail(ctx, rl, f, a, req, ninsho.E(ninsho.CodeAccountLocked))
	}
	if rehash {
		if newHash, err := k.Passwords.Hash(ctx, pw); err == nil {
			if err := k.Accounts.SetPasswordHash(ctx, a.ID, newHash, k.Clock.Now()); err != nil {
				return nil, err
			}
			_ = k.Record(ctx, rl, a.ID, event.TypePasswordRehashed, req, f.DeviceID, nil)
		}
	}
	if a.Status == account.StatusPending {
		return s.finishSignup(ctx, rl, f, a, req)
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		grant, err = k.Complete(ctx, f, rl, a, req, []string{"password"}, event.TypeSigninSucceeded, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: a.ID}, nil
}

// finishSignup turns a sign-in to an unconfirmed account into the
// confirmation it never had: a code goes to the identifier and the right code
// completes both the sign-up and the sign-in.
func (s *Service) finishSignup(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	ch := code.ChannelEmail
	dest := a.Email
	if f.Identifier == a.Phone && a.Phone != "" {
		ch, dest = code.ChannelSMS, a.Phone
	}
	f.Status = flow.StatusChallenge
	f.Step = flow.StepVerificationCode
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.SendCode(ctx, f, rl, a.ID, code.PurposeSignup, ch, dest, "signup_code", a.Name); err != nil {
			return err
		}
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.answer(f), err
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
		c, err := k.Codes.Check(ctx, f, code.PurposeSignup, input)
		if err != nil {
			switch ninsho.CodeOf(err) {
			case ninsho.CodeCodeIncorrect, ninsho.CodeCodeExpired, ninsho.CodeCodeAttemptsExceeded:
				stepErr = err
				if ninsho.IsCode(err, ninsho.CodeCodeAttemptsExceeded) {
					f.Status = flow.StatusFailed
				}
				return k.Save(ctx, f)
			}
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
		grant, err = k.Complete(ctx, f, rl, a, req, []string{"password", string(c.Channel) + "_code"}, event.TypeSigninSucceeded, nil)
		return err
	})
	if err != nil {
		return s.answer(f), err
	}
	if stepErr != nil {
		return s.answer(f), stepErr
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID}, nil
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Answer, error) {
	k := s.Kit
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if err := k.SendCode(ctx, f, rl, a.ID, code.PurposeSignup, code.Channel(f.Channel), f.Destination, "signup_code", a.Name); err != nil {
			return err
		}
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.answer(f), err
	}
	k.Outbox.Wake()
	return s.answer(f), nil
}

// fail records a failed sign-in and answers f (saved) with err.
func (s *Service) fail(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, stepErr error) (*flow.Answer, error) {
	k := s.Kit
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, accountID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
			"flow": f.ID, "reason": string(ninsho.CodeOf(stepErr)),
		})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(f), stepErr
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
	return k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.Sessions.Revoke(ctx, sess); err != nil {
			return err
		}
		return k.Record(ctx, rl, sess.AccountID, event.TypeSignout, req, sess.DeviceID, map[string]any{"session": sess.ID})
	})
}
