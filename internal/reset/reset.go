// Package reset is the password assistant: the identifier, a code to it, then
// "how do you want to sign in?" — once with the code, or with a new password
// typed twice. A reset signs out every other session, keeps the account's
// familiar devices, makes the device that did it familiar and alerts every
// verified channel. A person who never finished sign-up gets the sign-up code
// instead and is signed up by it.
package reset

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/startgate"
)

// Flow state keys.
const (
	statePurpose = "purpose" // "reset" or "signup" (an unfinished sign-up)
)

// Service runs password-assistant flows (flow.KindReset). It implements
// flow.Handler.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Locks  account.LockStore
	// Gate caps starts per address, network and device and holds repeated
	// or automated starts behind a CAPTCHA before any code is sent; nil
	// caps nothing beyond the code component's own limits.
	Gate *startgate.Gate
	// Forget drops cached sessions of an account (signin.Service's cache);
	// nil does nothing.
	Forget func(accountID string)
	// Closure tells whether a closed account can still be reopened
	// (closure.Service), so that choose_sign_in_with_code on one answers
	// what the sign-in would: reopen with the password; nil: never.
	Closure Reopener
}

// Reopener tells whether the closed account a can still be reopened by
// signing in (closure.Service.Reopenable).
type Reopener interface {
	Reopenable(ctx context.Context, rl *realm.Realm, a *account.Account) (closedAt, purgeAt time.Time, ok bool, err error)
}

var _ flow.Handler = (*Service)(nil)

// Start begins the assistant for the identifier as typed. E-mail identifiers
// get the code by e-mail, phone identifiers by SMS — only when verified: an
// unverified identifier of an account gets nothing, the code goes to the
// account's verified e-mail address (else phone) instead in explicit
// realms, and an account with none answers authflow.NoWayIn there; a safe
// realm answers both as for an unknown identifier and sends nothing. Explicit realms answer
// ninsho.CodeAccountNotFound for unknown identifiers; safe realms answer
// exactly as for a known one (same flow, same next step, no alternatives
// offered, the same database and outbox work) and send nothing.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, typed string) (*flow.Answer, error) {
	f, newToken, err := s.Kit.StartWithCode(ctx, s.Gate, flow.KindReset, rl, req, typed, func(ctx context.Context, f *flow.Flow, a *account.Account) error {
		return s.sendFirstCode(ctx, rl, f, a, req)
	})
	if err != nil {
		return nil, err
	}
	if startgate.Held(f) {
		return s.answer(f, newToken), ninsho.E(ninsho.CodeCaptchaRequired)
	}
	return s.answer(f, newToken), nil
}

// sendFirstCode sends the flow's first code and saves f. A safe realm's
// unknown identifier (a nil) gets the same steps and the same work, and
// nothing is sent.
func (s *Service) sendFirstCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	k := s.Kit
	id := identifier.Normalized(f.Identifier)
	ch, dest := authflow.ChannelFor(id), id.Value
	f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
	purpose, template := code.PurposeReset, message.TemplateResetCode
	if a != nil && a.Status != account.StatusPending {
		// Only to a verified identifier: the one typed, else another.
		var ok bool
		ch, dest, ok = authflow.VerifiedChannel(a, id.Value)
		if ok && dest != id.Value && rl.Disclosure == realm.DisclosureSafe {
			// A safe realm does not tell that the typed identifier has an
			// account by sending to (and masking) another one.
			ok = false
		}
		if !ok {
			if rl.Disclosure != realm.DisclosureSafe {
				return authflow.NoWayIn()
			}
			// As for an unknown identifier: never sent, never right.
			ch, dest = authflow.ChannelFor(id), id.Value
			a, f.AccountID = nil, ""
		}
	}
	accountID := ""
	if a != nil {
		accountID = a.ID
		if a.Status == account.StatusPending {
			purpose, template = code.PurposeSignup, message.TemplateSignupCode
		} else if rl.Disclosure != realm.DisclosureSafe {
			// Other channels are offered only where the realm tells that
			// the account exists: their presence would tell it.
			authflow.OfferAlternatives(f, a, string(ch))
		}
	}
	f.Set(statePurpose, string(purpose))
	if err := k.SendCode(ctx, f, rl, a, purpose, ch, dest, template); err != nil {
		return err
	}
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, accountID, event.TypeResetStarted, req, f.DeviceID, map[string]any{"flow": f.ID, "channel": string(ch)})
}

// submitCaptcha checks the answer; a right one sends the code.
func (s *Service) submitCaptcha(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	stepErr, err := s.Kit.ReleaseHeld(ctx, s.Gate, f, act, func(ctx context.Context) error {
		a, err := s.Kit.FlowAccount(ctx, f)
		if err != nil {
			return err
		}
		return s.sendFirstCode(ctx, rl, f, a, req)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	return s.answer(f, ""), stepErr
}

// Act applies submit_code, resend_code, switch_channel, then
// choose_sign_in_with_code or set_new_password.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case s.Kit.SecondFactor().Handles(f, act):
		ans, err := s.Kit.SecondFactor().Act(ctx, rl, f, req, act)
		if ans != nil && ans.Session == nil && ans.Next == nil {
			ans.Next = s.answer(f, "").Next // passed: the choice
		}
		return ans, err
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		template := message.TemplateResetCode
		if purposeOf(f) == code.PurposeSignup {
			template = message.TemplateSignupCode
		}
		err := s.Kit.Resend(ctx, rl, f, purposeOf(f), template)
		return s.answer(f, ""), err
	case act.Name == flow.ActionSwitchChannel && f.Step == flow.StepVerificationCode:
		return s.switchChannel(ctx, rl, f, act.Channel)
	case startgate.IsCaptchaAction(act) && startgate.Held(f):
		return s.submitCaptcha(ctx, rl, f, req, act)
	case act.Name == flow.ActionSignInWithCode && f.Step == flow.StepChoose:
		return s.signInWithCode(ctx, rl, f, req)
	case act.Name == flow.ActionSetNewPassword && f.Step == flow.StepChoose:
		return s.setNewPassword(ctx, rl, f, req, act)
	}
	return s.answer(f, ""), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
}

// View describes f as it stands.
func (s *Service) View(ctx context.Context, f *flow.Flow) (*flow.Answer, error) {
	return s.answer(f, ""), nil
}

func (s *Service) answer(f *flow.Flow, deviceToken string) *flow.Answer {
	ans := &flow.Answer{Flow: f, DeviceToken: deviceToken}
	switch {
	case f.Status == flow.StatusComplete || f.Status == flow.StatusFailed:
	case f.Step == flow.StepSecondFactor || f.Step == flow.StepEnrolSecondFactor:
		ans.Next = s.Kit.SecondFactor().Next(f)
	case f.Step == flow.StepVerificationCode:
		ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), authflow.Alternatives(f))
	case startgate.Held(f):
		ans.Next = startgate.Next(f)
	case f.Step == flow.StepChoose:
		opts := []string{flow.ActionSetNewPassword}
		if rl := s.Realms.ByID(f.Realm); rl != nil && rl.SignInWithCode && !confirmsSignup(f) {
			opts = append([]string{flow.ActionSignInWithCode}, opts...)
		}
		ans.Next = &flow.Next{Step: flow.StepChoose, Options: opts}
	}
	return ans
}

// confirmsSignup reports whether f's code went to an account whose sign-up
// never finished. Its password may not be this person's (whoever started the
// sign-up typed it): the code proves the address, and only a new password
// (set_new_password) confirms the account — there is no sign-in with the
// code — so a stranger's sign-up never becomes an account with the
// stranger's password.
func confirmsSignup(f *flow.Flow) bool { return purposeOf(f) == code.PurposeSignup }

func purposeOf(f *flow.Flow) code.Purpose {
	if p := f.Get(statePurpose); p != "" {
		return code.Purpose(p)
	}
	return code.PurposeReset
}

// submitCode checks the code; the right one leads to the choice (a sign-up
// that never finished: to a new password only, confirmsSignup) — for an
// account with two-step verification, through its second factor first, so
// that nothing the choice does happens on the code alone.
func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, input string) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		_, serr, err := k.CheckCode(ctx, f, purposeOf(f), input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if stepErr, err = k.StopIfChannelLost(ctx, f, a); stepErr != nil || err != nil {
			return err
		}
		if asked, err := k.SecondFactor().Before(ctx, rl, f, a, flow.StepChoose); err != nil || asked {
			return err
		}
		f.Status, f.Step = flow.StatusOpen, flow.StepChoose
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	return s.answer(f, ""), stepErr
}

func (s *Service) switchChannel(ctx context.Context, rl *realm.Realm, f *flow.Flow, ch string) (*flow.Answer, error) {
	template := message.TemplateResetCode
	if purposeOf(f) == code.PurposeSignup {
		template = message.TemplateSignupCode
	}
	err := s.Kit.SwitchChannel(ctx, rl, f, ch, purposeOf(f), template)
	return s.answer(f, ""), err
}

// signInWithCode signs the person in once with the code they proved, when the
// realm allows it. The password stays as it was. An account with two-step
// verification passed its second factor before the choice (submitCode): a
// code to the identifier is one factor, and a reset never bypasses the
// second.
func (s *Service) signInWithCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	if !rl.SignInWithCode || confirmsSignup(f) {
		return s.answer(f, ""), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	if lost, err := k.StopIfChannelLost(ctx, f, a); err != nil {
		return nil, err
	} else if lost != nil {
		return s.answer(f, ""), lost
	}
	if a.Status == account.StatusClosed {
		return s.answer(f, ""), s.closedError(ctx, rl, a)
	}
	if a.Status != account.StatusActive {
		return s.answer(f, ""), ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(account.LockSuspicious))
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		// A sign-in on a device the account does not know tells the owner,
		// as any sign-in from a new device does.
		familiar := false
		if d, bound := k.CompletingDevice(f, req); bound {
			var err error
			if familiar, err = k.Devices.Store.IsFamiliar(ctx, a.ID, d.ID); err != nil {
				return err
			}
		}
		if asked, err := k.SecondFactor().Before(ctx, rl, f, a, flow.StepChoose); err != nil || asked {
			return err // 2SV turned on since the code: asked first
		}
		var err error
		grant, err = k.Complete(ctx, f, rl, a, req, []string{session.CodeMethod(f.Channel)}, event.TypeSigninSucceeded, map[string]any{"via": "password_assistant"})
		if err != nil || familiar || grant == nil {
			return err // no sign-in yet while the second factor is asked
		}
		return k.Alert(ctx, rl, f, a, req, message.TemplateSigninAlert, false)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return k.Completed(f, grant), nil
}

// closedError is the answer to choose_sign_in_with_code on the closed
// account a, as the sign-in's: ninsho.CodeAccountClosed — in its grace
// with kind "reopen" (its message: sign in with the password to reopen
// it, after choosing a new one here if need be), for a sign-in with the
// code never reopens an account. The flow stays at the choice:
// set_new_password still works.
func (s *Service) closedError(ctx context.Context, rl *realm.Realm, a *account.Account) error {
	if s.Closure != nil {
		_, _, ok, err := s.Closure.Reopenable(ctx, rl, a)
		if err != nil {
			return err
		}
		if ok {
			return ninsho.E(ninsho.CodeAccountClosed).WithParam("kind", "reopen")
		}
	}
	return ninsho.E(ninsho.CodeAccountClosed)
}

// setNewPassword replaces the password (twice the same, by the policy, not
// the old one), signs out every other session, lifts a lock the code and the
// new password answer for, signs this device in and alerts every verified
// channel. For an account with two-step verification none of it happens
// before the second factor is passed (submitCode asks it first; asked here
// again if 2SV was turned on since).
func (s *Service) setNewPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	if lost, err := k.StopIfChannelLost(ctx, f, a); err != nil {
		return nil, err
	} else if lost != nil {
		return s.answer(f, ""), lost
	}
	hash, err := k.NewPasswordHash(ctx, rl, a, act.Password, act.PasswordConfirmation)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeInternal) || ninsho.IsCode(err, ninsho.CodeOverloaded) {
			return nil, err
		}
		return s.answer(f, ""), err
	}
	var grant *flow.Grant
	held := false
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		if held, err = k.SecondFactor().Before(ctx, rl, f, a, flow.StepChoose); err != nil || held {
			return err
		}
		if confirmsSignup(f) && a.Status == account.StatusPending {
			// The proven address and the new password confirm the
			// unfinished sign-up; the password it was started with is gone.
			now := k.Clock.Now()
			a.Status, a.UpdatedAt = account.StatusActive, now
			authflow.Verify(a, f.Channel, now)
			if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
				return err
			}
			if err := k.Record(ctx, rl, a.ID, event.TypeSignupCompleted, req, f.DeviceID, map[string]any{"flow": f.ID, "via": "password_assistant"}); err != nil {
				return err
			}
		}
		if err := k.ReplacePassword(ctx, rl, f, a, req, hash, s.Locks, "password_assistant"); err != nil {
			return err
		}
		grant, err = k.Complete(ctx, f, rl, a, req, []string{session.MethodPassword, session.CodeMethod(f.Channel)}, event.TypeSigninSucceeded, map[string]any{"via": "password_assistant"})
		if err != nil {
			return err
		}
		return k.Alert(ctx, rl, f, a, req, message.TemplatePasswordChanged, true)
	})
	if err != nil {
		return nil, err
	}
	if !held && s.Forget != nil {
		s.Forget(a.ID)
	}
	k.Outbox.Wake()
	return k.Completed(f, grant), nil
}
