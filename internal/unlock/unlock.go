// Package unlock is the self-service way out of a lock. A person whose
// account is locked for unfamiliar devices (smart lockout) proves a verified
// channel with a code and then signs in with the password; an account locked
// for suspicious activity (locked_suspicious: staff, the risk engine, or the
// owner's own "this wasn't me") needs the code and a new password. It also
// handles the "this wasn't me" link of sign-in alerts.
package unlock

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
	"github.com/ninsho/ninsho/internal/trust"
)

// Service runs unlock flows (flow.KindUnlock) and "this wasn't me" links. It
// implements flow.Handler.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Locks  account.LockStore
	// Forget drops cached sessions of an account (signin.Service's cache);
	// nil does nothing.
	Forget func(accountID string)
	// Gate caps starts and holds repeated or automated ones behind a
	// CAPTCHA; nil caps nothing beyond the code component's own limits.
	Gate *startgate.Gate
	// Rollback undoes the contact changes and the two-step methods made
	// on a at or after since, before "this wasn't me" locks it
	// (contact.Service.RollbackSince, which updates a in place and reports
	// whether every identifier came back); nil rolls back nothing.
	Rollback func(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, since time.Time) (bool, error)
}

// NoWayIn is authflow.NoWayIn: no verified channel is left for a code.
func NoWayIn() error { return authflow.NoWayIn() }

var _ flow.Handler = (*Service)(nil)

// Flow state keys.
const (
	stateCodeOK   = "code_ok"   // "1" once the code was right
	stateFromLink = "from_link" // "1": begun at a "this wasn't me" link
)

// FromLink reports whether f began at the owner's "this wasn't me" link
// rather than at an identifier typed: no address was typed that could be
// wrong, so there is nothing to correct by starting again.
func FromLink(f *flow.Flow) bool { return f.Get(stateFromLink) == "1" }

// Start begins an unlock for the identifier as typed. A code goes to a
// verified channel of the account (the identifier typed when it is
// verified), never to an unverified one (but for an unconfirmed sign-up).
// Explicit realms answer ninsho.CodeAccountNotFound for unknown
// identifiers, and NoWayIn for an account with no verified channel; safe
// realms answer both alike, with the same work, and send nothing. An account that is not locked gets the same flow (the code then
// simply leads to sign-in). Starts are capped and repeated or automated ones
// meet a CAPTCHA first (Gate), exactly as for the password assistant.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, typed string) (*flow.Answer, error) {
	f, newToken, err := s.Kit.StartWithCode(ctx, s.Gate, flow.KindUnlock, rl, req, typed, func(ctx context.Context, f *flow.Flow, a *account.Account) error {
		return s.sendCode(ctx, rl, f, a, req, f.Identifier)
	})
	if err != nil {
		return nil, err
	}
	if startgate.Held(f) {
		return s.answer(f, newToken), ninsho.E(ninsho.CodeCaptchaRequired)
	}
	return s.answer(f, newToken), nil
}

// sendCode starts f's code step: the code goes to typed when it is a
// verified identifier of a, else to a verified one (e-mail first). For a
// safe realm's unknown identifier (a nil) the same work is done towards the
// identifier typed, and nothing is sent; so too for an account with no
// verified channel, which an explicit realm answers NoWayIn.
func (s *Service) sendCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, typed string) error {
	k := s.Kit
	ch, dest := authflow.ChannelFor(identifier.Normalized(typed)), typed
	accountID, lock := "", ""
	if a != nil {
		var ok bool
		if ch, dest, ok = channelFor(a, typed); !ok {
			if rl.Disclosure != realm.DisclosureSafe {
				return NoWayIn()
			}
			// As for an unknown identifier: the code is never sent and
			// never right.
			ch, dest = authflow.ChannelFor(identifier.Normalized(typed)), typed
			a, f.AccountID = nil, ""
		}
	}
	if a != nil {
		accountID, lock = a.ID, string(a.Lock.Kind)
	}
	f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
	if err := k.SendCode(ctx, f, rl, a, code.PurposeUnlock, ch, dest, "unlock_code"); err != nil {
		return err
	}
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, accountID, event.TypeUnlockStarted, req, f.DeviceID, map[string]any{
		"flow": f.ID, "channel": string(ch), "lock": lock,
	})
}

// submitCaptcha checks the answer; a right one sends the code.
func (s *Service) submitCaptcha(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	stepErr, err := s.Kit.ReleaseHeld(ctx, s.Gate, f, act, func(ctx context.Context) error {
		a, err := s.Kit.FlowAccount(ctx, f)
		if err != nil {
			return err
		}
		return s.sendCode(ctx, rl, f, a, req, f.Identifier)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	return s.answer(f, ""), stepErr
}

// channelFor picks a verified channel of a, preferring the one typed
// (authflow.VerifiedChannel); false when a has none. Only an unconfirmed
// sign-up, which has no verified channel yet, gets its code at the
// identifier it was started with.
func channelFor(a *account.Account, typed string) (code.Channel, string, bool) {
	if ch, dest, ok := authflow.VerifiedChannel(a, typed); ok || a.Status != account.StatusPending {
		return ch, dest, ok
	}
	if a.Email != "" {
		return code.ChannelEmail, a.Email, true
	}
	return code.ChannelSMS, a.Phone, a.Phone != ""
}

// NotMe follows the "this wasn't me" link with token: it first rolls back
// the contact changes and two-step methods made since the link was sent
// (at the sign-in or change it is about; Rollback), then signs out every
// session of the account, locks it as suspicious and starts an unlock flow
// (code sent to a verified channel, then a new password). The link works
// once, for signin.NotMeLifetime. An account left with no verified channel
// is locked all the same and the answer is NoWayIn.
// An unknown, used or expired token is ninsho.CodeNotFound.
func (s *Service) NotMe(ctx context.Context, rl *realm.Realm, req ninsho.Request, token string) (*flow.Answer, error) {
	k := s.Kit
	var ans *flow.Answer
	var accountID string
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, err := k.Codes.ConsumeLink(ctx, rl.ID, code.PurposeNotMe, token)
		if err != nil {
			return err
		}
		accountID = c.AccountID
		ans, err = s.secure(ctx, rl, req, c.AccountID, c.CreatedAt, nil)
		return err
	})
	return s.secured(ans, accountID, err)
}

// SecureAccount applies what the "this wasn't me" link does to accountID
// for its signed-in owner (an entry of the sign-in history they did not
// make, at since): the contact changes and two-step methods made at or
// after since rolled back (Rollback), every session revoked, the account
// locked as suspicious, trusted devices forgotten and an unlock flow
// started with a code (NoWayIn when no verified channel is left). data is
// added to the account.locked event.
func (s *Service) SecureAccount(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string, since time.Time, data map[string]any) (*flow.Answer, error) {
	var ans *flow.Answer
	err := s.Kit.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		ans, err = s.secure(ctx, rl, req, accountID, since, data)
		return err
	})
	return s.secured(ans, accountID, err)
}

// secured finishes NotMe and SecureAccount after the commit.
func (s *Service) secured(ans *flow.Answer, accountID string, err error) (*flow.Answer, error) {
	if err != nil {
		return nil, err
	}
	if s.Forget != nil {
		s.Forget(accountID)
	}
	s.Kit.Outbox.Wake()
	if ans == nil {
		return nil, NoWayIn()
	}
	return s.answer(ans.Flow, ans.DeviceToken), nil
}

// secure loads accountID, rolls back what was done to it at or after since
// (Rollback) and applies lockNotMe to it with data, in the transaction of
// ctx.
func (s *Service) secure(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID string, since time.Time, data map[string]any) (*flow.Answer, error) {
	a, err := s.Kit.Accounts.Account(ctx, accountID)
	if err != nil {
		return nil, err
	}
	if s.Rollback != nil {
		restored, err := s.Rollback(ctx, rl, req, a, since)
		if err != nil {
			return nil, err
		}
		if data == nil {
			data = map[string]any{}
		}
		data["contact_restored"] = restored
	}
	return s.lockNotMe(ctx, rl, req, a, data)
}

// LockNotMe is the effect of the owner's "this wasn't me", in the
// transaction of ctx: every session of a is revoked, a is locked as
// suspicious (account.locked with reason), its trusted devices are
// forgotten, and an unlock flow begins for the device of req with a code
// to a verified channel of a (in the owner's lane: the link reached the
// owner's own mailbox or phone). When a has no verified channel left,
// nothing is sent and no flow begins: the answer is nil (the caller answers
// NoWayIn after commit, keeping the lock). The caller forgets a's cached
// sessions and wakes the outbox after commit. internal/contact's undo link uses it
// too, so that the same unlock flow follows.
func (s *Service) LockNotMe(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, reason string) (*flow.Answer, error) {
	return s.lockNotMe(ctx, rl, req, a, map[string]any{"reason": reason})
}

// lockNotMe is LockNotMe with data added to the account.locked event
// (its "reason" is "not_me" unless data gives one).
func (s *Service) lockNotMe(ctx context.Context, rl *realm.Realm, req ninsho.Request, a *account.Account, data map[string]any) (*flow.Answer, error) {
	k := s.Kit
	now := k.Clock.Now()
	n, err := k.Sessions.Store.RevokeAccountSessions(ctx, a.ID, "", now)
	if err != nil {
		return nil, err
	}
	lockedAt := now
	if err := s.Locks.SetLock(ctx, a.ID, account.Lock{Kind: account.LockSuspicious, Level: a.Lock.Level, LockedAt: &lockedAt}); err != nil {
		return nil, err
	}
	a.Status = account.StatusLocked
	a.UpdatedAt = now
	if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
		return nil, err
	}
	locked := map[string]any{"reason": "not_me"}
	for key, v := range data {
		locked[key] = v
	}
	locked["kind"], locked["sessions_revoked"] = string(account.LockSuspicious), n
	if err := k.Record(ctx, rl, a.ID, event.TypeAccountLocked, req, "", locked); err != nil {
		return nil, err
	}
	// Whoever signed in may have trusted their own device.
	if err := k.ForgetTrusted(ctx, rl, req, a.ID, trust.ReasonNotMe); err != nil {
		return nil, err
	}
	if _, _, ok := channelFor(a, ""); !ok {
		return nil, nil // locked; only support can help
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindUnlock, rl, req, d)
	f.Identifier = a.Email
	if f.Identifier == "" {
		f.Identifier = a.Phone
	}
	a.Lock.Kind = account.LockSuspicious
	f.AccountID = a.ID
	// The link reached the owner's own mailbox or phone (or the owner is
	// signed in): its code is the owner's, not a stranger's.
	code.SetOwnerLane(f)
	f.Set(stateFromLink, "1")
	if err := s.sendCode(ctx, rl, f, a, req, f.Identifier); err != nil {
		return nil, err
	}
	return s.answer(f, newToken), nil
}

// NotMeUsable reports whether the "this wasn't me" link with token can still
// be followed (it does not use it).
func (s *Service) NotMeUsable(ctx context.Context, rl *realm.Realm, token string) (bool, error) {
	return s.Kit.Codes.LinkUsable(ctx, rl.ID, code.PurposeNotMe, token)
}

// Act applies submit_code, resend_code, switch_channel
// (authflow.Kit.SwitchChannel), submit_password (unfamiliar lock)
// or set_new_password (suspicious lock: password and password_confirmation).
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case s.Kit.SecondFactor().Handles(f, act):
		ans, err := s.Kit.SecondFactor().Act(ctx, rl, f, req, act)
		if ans != nil && ans.Session == nil && ans.Next == nil {
			ans.Next = s.answer(f, "").Next // passed: the password step
		}
		return ans, err
	case startgate.IsCaptchaAction(act) && startgate.Held(f):
		return s.submitCaptcha(ctx, rl, f, req, act)
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		return s.resend(ctx, rl, f)
	case act.Name == flow.ActionSwitchChannel && f.Step == flow.StepVerificationCode:
		// Only a voice call to the number the SMS went to, once it is in
		// trouble (explicit realms); a safe realm refuses every switch alike.
		err := s.Kit.SwitchChannel(ctx, rl, f, act.Channel, code.PurposeUnlock, "unlock_code")
		return s.answer(f, ""), err
	case act.Name == flow.ActionSubmitPassword && f.Step == flow.StepPassword:
		return s.submitPassword(ctx, rl, f, req, act.Password)
	case act.Name == flow.ActionSetNewPassword && f.Step == flow.StepNewPassword:
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
	case startgate.Held(f):
		ans.Next = startgate.Next(f)
	case f.Step == flow.StepVerificationCode:
		ans.Next = s.Kit.CodeNext(f, s.Realms.ByID(f.Realm), authflow.Alternatives(f))
	default:
		ans.Next = &flow.Next{Step: f.Step}
	}
	return ans
}

// submitCode checks the code; the right one leads to the password step
// (password, or a new password for a suspicious lock) — for an account with
// two-step verification, through its second factor first, so that the lock
// stays until both are passed.
func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, input string) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		_, serr, err := k.CheckCode(ctx, f, code.PurposeUnlock, input)
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
		f.Set(stateCodeOK, "1")
		then := flow.StepPassword
		if a.Lock.Kind == account.LockSuspicious || a.Status == account.StatusLocked {
			then = flow.StepNewPassword
		}
		if asked, err := k.SecondFactor().Before(ctx, rl, f, a, then); err != nil || asked {
			return err
		}
		f.Status, f.Step = flow.StatusOpen, then
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	return s.answer(f, ""), stepErr
}

func (s *Service) resend(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Answer, error) {
	err := s.Kit.Resend(ctx, rl, f, code.PurposeUnlock, "unlock_code")
	return s.answer(f, ""), err
}

// submitPassword finishes the unlock of a smart-locked account: the code
// proved the channel, the password proves the person; the lock is lifted and
// the device signed in.
func (s *Service) submitPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, pw string) (*flow.Answer, error) {
	k := s.Kit
	if f.Get(stateCodeOK) != "1" {
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
	hash, err := k.Accounts.PasswordHash(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	ok, _, err := k.Passwords.Verify(ctx, pw, hash)
	if err != nil {
		return nil, err
	}
	if !ok {
		f.Attempts++
		if k.Codes.AttemptsLeft(f) == 0 {
			f.Status = flow.StatusFailed
		}
		if err := k.Save(ctx, f); err != nil {
			return nil, err
		}
		return s.answer(f, ""), ninsho.FieldError(ninsho.CodePasswordIncorrect, "password")
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if asked, err := k.SecondFactor().Before(ctx, rl, f, a, flow.StepPassword); err != nil || asked {
			return err // 2SV turned on since the code: asked first
		}
		if err := s.Locks.SetLock(ctx, a.ID, account.Lock{}); err != nil {
			return err
		}
		grant, err = k.Complete(ctx, f, rl, a, req, []string{session.MethodPassword, session.CodeMethod(f.Channel)}, event.TypeAccountUnlocked, map[string]any{"lock": string(a.Lock.Kind)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return k.Completed(f, grant), nil
}

// setNewPassword finishes the unlock of an account locked for suspicious
// activity: a new password (twice, by the policy, not the old one) replaces
// the old, every other session ends, the lock is lifted, the device signed
// in and the owner told on every verified channel that the password changed
// (password_changed with its "this wasn't me" link, as the password
// assistant does).
func (s *Service) setNewPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	if f.Get(stateCodeOK) != "1" {
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
		if held, err = k.SecondFactor().Before(ctx, rl, f, a, flow.StepNewPassword); err != nil || held {
			return err // 2SV turned on since the code: asked first
		}
		if err := k.ReplacePassword(ctx, rl, f, a, req, hash, s.Locks, "unlock"); err != nil {
			return err
		}
		grant, err = k.Complete(ctx, f, rl, a, req, []string{session.MethodPassword, session.CodeMethod(f.Channel)}, event.TypeAccountUnlocked, map[string]any{"lock": string(account.LockSuspicious)})
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
