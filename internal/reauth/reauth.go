// Package reauth is re-authentication: a signed-in person proves who they
// are again — the password, and the second factor when the account has
// two-step verification on — before a sensitive change (session.Recent,
// ninsho.CodeReauthRequired). The flow belongs to the session that started
// it and completes without a new session: it moves that session's
// authenticated_at forward (session.Service.Reauthenticate).
package reauth

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/throttle"
)

// FlowLifetime is how long a re-authentication flow stays usable.
const FlowLifetime = 15 * time.Minute

// PasswordAttempts is how many wrong passwords one flow takes before it
// fails. The account's re-authentication guard (Guard) counts them across
// flows too, and so does sign-in protection (smart lock from unfamiliar
// devices).
const PasswordAttempts = 5

// Flow-state key: the id of the session the flow belongs to.
const stateSession = "session"

// Service runs re-authentication flows (flow.KindReauth). It implements
// flow.Handler. All fields but Guard are required.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	// Signin checks the session each request carries, counts wrong
	// passwords like failed sign-ins, tells locks as sign-in does, and
	// forgets the account's cached sessions once one is re-authenticated.
	Signin *signin.Service
	// Guard counts wrong passwords per account across re-authentication
	// flows under the key GuardKey, on the wrong-code ladder (pauses after
	// every 10, stop at 100), so that a stolen session does not get
	// unlimited guesses by starting new flows; nil counts none.
	Guard *code.Guard
	// Starts counts the session's starts (StartsPerSession over
	// StartWindow), so that one session cannot write flow rows without
	// end; nil caps none.
	Starts *throttle.Counter
}

// StartsPerSession is how many re-authentication flows one session may
// start within StartWindow; the next start answers ninsho.CodeRateLimited
// (retry_after_s) and writes nothing. A person needs one flow per change
// (a failed flow is replaced by a new one), so the cap is far above use.
const StartsPerSession = 10

// StartWindow is the period StartsPerSession counts over: a flow's
// lifetime, so a session never holds more than StartsPerSession live
// re-authentication flows.
const StartWindow = FlowLifetime

var _ flow.Handler = (*Service)(nil)

// GuardKey is the key an account's wrong re-authentication passwords count
// under in the wrong-code guard's store.
func GuardKey(accountID string) string { return "reauth:" + accountID }

// Start begins a re-authentication for the session of p (a signed-in
// person), at the password step. With pw it also submits the password at
// once (the hosted page sends it with the start). The flow keeps the
// session's id: only requests that carry that session may act on it. Past
// StartsPerSession starts of the session within StartWindow it answers
// ninsho.CodeRateLimited and writes nothing.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, p *signin.Principal, pw string) (*flow.Answer, error) {
	k := s.Kit
	if p == nil || p.Session == nil || p.Account == nil {
		return nil, ninsho.E(ninsho.CodeUnauthenticated)
	}
	if err := s.admit(ctx, rl, p); err != nil {
		return nil, err
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindReauth, rl, req, d)
	f.ExpiresAt = f.CreatedAt.Add(FlowLifetime)
	f.AccountID = p.Account.ID
	f.Identifier = p.Account.Email
	if f.Identifier == "" {
		f.Identifier = p.Account.Phone
	}
	f.Step = flow.StepPassword
	f.Set(stateSession, p.Session.ID)
	if err := k.Save(ctx, f); err != nil {
		return nil, err
	}
	ans := s.answer(f)
	if pw != "" {
		ans, err = s.submitPassword(ctx, rl, f, p, req, pw)
	}
	if ans != nil {
		ans.DeviceToken = newToken
	}
	return ans, err
}

// admit counts a start of p's session, or refuses it with
// ninsho.CodeRateLimited when the session started StartsPerSession flows
// within StartWindow.
func (s *Service) admit(ctx context.Context, rl *realm.Realm, p *signin.Principal) error {
	if s.Starts == nil {
		return nil
	}
	key := throttle.Key("start.reauth.session", rl.ID, p.Session.ID)
	n, err := s.Starts.Count(ctx, key, StartWindow)
	if err != nil {
		return err
	}
	if n >= StartsPerSession {
		return ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", int(StartWindow/time.Second))
	}
	return s.Starts.Hit(ctx, key, 1, StartWindow)
}

// Act applies submit_password (password) or, at the second-factor step,
// submit_second_factor and switch_method. A request that does not carry
// the session the flow belongs to is ninsho.CodeFlowNotFound, like an
// unknown flow.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	p, err := s.principal(ctx, rl, f, req)
	if err != nil {
		return nil, err
	}
	sf := s.Kit.SecondFactor()
	switch {
	case sf.Handles(f, act):
		ans, err := sf.Act(ctx, rl, f, req, act)
		if err != nil || ans == nil || ans.Session != nil || f.Status != flow.StatusOpen || f.Step != flow.StepDone {
			return s.wrap(ans), err
		}
		// The gate passed: the password and the factor are both proved.
		m := authflow.TakePassedSecondFactor(f)
		return s.finish(ctx, rl, f, p, req, 2, []string{session.MethodPassword, m})
	case act.Name == flow.ActionSubmitPassword && f.Step == flow.StepPassword:
		return s.submitPassword(ctx, rl, f, p, req, act.Password)
	}
	return s.answer(f), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
}

// View describes f as it stands.
func (s *Service) View(_ context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f), nil
}

// Visible lets only the session that started f see it (flow.Guarded).
func (s *Service) Visible(ctx context.Context, f *flow.Flow, req ninsho.Request) error {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return ninsho.E(ninsho.CodeFlowNotFound)
	}
	_, err := s.principal(ctx, rl, f, req)
	return err
}

// principal returns the signed-in person of req when its session is the
// one f belongs to; anything else is flow_not_found.
func (s *Service) principal(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*signin.Principal, error) {
	if req.SessionToken == "" {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	p, err := s.Signin.Authenticate(ctx, rl, req.SessionToken)
	if ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	if err != nil {
		return nil, err
	}
	if p.Session.ID != f.Get(stateSession) || p.Account.ID != f.AccountID {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	return p, nil
}

func (s *Service) answer(f *flow.Flow) *flow.Answer {
	ans := &flow.Answer{Flow: f}
	switch {
	case f.Status == flow.StatusComplete || f.Status == flow.StatusFailed:
	case f.Step == flow.StepSecondFactor:
		ans.Next = s.Kit.SecondFactor().Next(f)
	default:
		ans.Next = &flow.Next{Step: f.Step, AttemptsLeft: max(PasswordAttempts-f.Attempts, 0)}
	}
	return ans
}

// wrap completes a second-factor answer with the flow's next step.
func (s *Service) wrap(ans *flow.Answer) *flow.Answer {
	if ans == nil || ans.Flow == nil {
		return ans
	}
	if ans.Next == nil {
		ans.Next = s.answer(ans.Flow).Next
	}
	return ans
}

// submitPassword checks the password of the flow's account. A lock that
// would stop a sign-in from this device stops it first, and so does the
// account's re-authentication guard; neither spends a hash. A wrong
// password uses one of PasswordAttempts (the last fails the flow) and
// counts like a failed sign-in. The right one leads to the second factor
// when the account has two-step verification on, else completes.
func (s *Service) submitPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, p *signin.Principal, req ninsho.Request, pw string) (*flow.Answer, error) {
	k := s.Kit
	if pw == "" {
		return s.answer(f), ninsho.FieldError(ninsho.CodeFieldRequired, "password")
	}
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	if err := s.Signin.CheckLock(ctx, f, a); err != nil {
		if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
			return s.answer(f), err
		}
		return nil, err
	}
	st, err := s.Guard.AllowKey(ctx, rl.ID, GuardKey(a.ID))
	if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
		e := ninsho.ErrorOf(err)
		e.Field = "password"
		if e.Params["kind"] == "codes_stopped" {
			e.WithParam("kind", "reauth_stopped")
		} else {
			e.WithParam("kind", "reauth")
		}
		return s.answer(f), e
	}
	if err != nil {
		return nil, err
	}
	ok, err := k.CurrentPassword(ctx, a.ID, pw)
	if err != nil {
		return nil, err
	}
	if !ok {
		return s.wrongPassword(ctx, rl, f, a, req)
	}
	asked := false
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := s.Guard.SucceedKey(ctx, rl.ID, GuardKey(a.ID), st); err != nil {
			return err
		}
		var err error
		asked, err = k.SecondFactor().Before(ctx, rl, f, a, flow.StepDone)
		return err
	})
	if err != nil {
		return nil, err
	}
	if asked {
		return s.answer(f), nil
	}
	return s.finish(ctx, rl, f, p, req, 1, []string{session.MethodPassword})
}

// wrongPassword counts a wrong password: one of the flow's attempts, the
// account's re-authentication guard, and sign-in protection's failure
// counters and smart lock; it records signin.failed (via reauth).
func (s *Service) wrongPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		f.Attempts++
		if f.Attempts >= PasswordAttempts {
			f.Status = flow.StatusFailed
		}
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		if err := s.Guard.FailKey(ctx, rl.ID, GuardKey(a.ID)); err != nil {
			return err
		}
		if err := s.Signin.CountWrongPassword(ctx, rl, f, a, req); err != nil {
			return err
		}
		return k.Record(ctx, rl, a.ID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
			"flow": f.ID, "reason": string(ninsho.CodePasswordIncorrect), "via": "reauth",
		})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(f), ninsho.FieldError(ninsho.CodePasswordIncorrect, "password")
}

// finish records that the person of p's session proved who they are again
// now, with methods at level aal, completes f and records
// session.reauthenticated. No new session is issued.
func (s *Service) finish(ctx context.Context, rl *realm.Realm, f *flow.Flow, p *signin.Principal, req ninsho.Request, aal int, methods []string) (*flow.Answer, error) {
	k := s.Kit
	sess := *p.Session // the principal is shared: change a copy
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.Sessions.Reauthenticate(ctx, &sess, aal, methods); err != nil {
			return err
		}
		f.Status, f.Step = flow.StatusComplete, flow.StepDone
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, f.AccountID, event.TypeSessionReauthenticated, req, f.DeviceID, map[string]any{
			"flow": f.ID, "session": sess.ID, "aal": aal, "methods": methods,
		})
	})
	if err != nil {
		return nil, err
	}
	s.Signin.ForgetAccount(f.AccountID)
	return s.answer(f), nil
}
