// Package reset is the password assistant: the identifier, a code to it, then
// "how do you want to sign in?" — once with the code, or with a new password
// typed twice. A reset signs out every other session, keeps the account's
// familiar devices, makes the device that did it familiar and alerts every
// verified channel. A person who never finished sign-up gets the sign-up code
// instead and is signed up by it.
package reset

import (
	"context"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
	"github.com/ninsho/ninsho/internal/throttle"
)

// Caps on starting the assistant, per hour.
const (
	StartsPerAddress = 20 // from one client address
	StartsPerDevice  = 10 // from one device
	// CaptchaAfterStarts: from the third start of a device (or the sixth of
	// an address) within an hour, a CAPTCHA comes before any code is sent.
	CaptchaAfterStarts        = 3
	CaptchaAfterAddressStarts = 6
)

// Flow state keys.
const (
	statePurpose = "purpose" // "reset" or "signup" (an unfinished sign-up)
	stateCaptcha = "captcha" // id of the CAPTCHA that holds the code back
)

// Service runs password-assistant flows (flow.KindReset). It implements
// flow.Handler.
type Service struct {
	Kit    *authflow.Kit
	Realms *realm.Registry
	Locks  account.LockStore
	// Counter caps starts per address and device; nil caps nothing beyond
	// the code component's own limits.
	Counter *throttle.Counter
	// Captcha holds back starts that look automated or repeated (see
	// CaptchaAfterStarts) until a CAPTCHA is solved; nil asks none.
	Captcha *captcha.Service
	// Forget drops cached sessions of an account (signin.Service's cache);
	// nil does nothing.
	Forget func(accountID string)
}

var _ flow.Handler = (*Service)(nil)

// Start begins the assistant for the identifier as typed. E-mail identifiers
// get the code by e-mail, phone identifiers by SMS. Explicit realms answer
// ninsho.CodeAccountNotFound for unknown identifiers; safe realms answer
// exactly as for a known one (same flow, same next step) and send nothing.
func (s *Service) Start(ctx context.Context, rl *realm.Realm, req ninsho.Request, typed string) (*flow.Answer, error) {
	k := s.Kit
	id, err := identifier.Parse(typed, rl.PhoneRegion)
	if err != nil {
		return nil, err
	}
	a, err := k.AccountFor(ctx, rl, id)
	if err != nil && !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		return nil, err
	}
	if a != nil && a.Status == account.StatusPending && !k.Clock.Now().Before(a.CreatedAt.Add(account.PendingLifetime)) {
		a = nil // an unconfirmed sign-up past its life does not exist
	}
	if a == nil && rl.Disclosure != realm.DisclosureSafe {
		return nil, ninsho.FieldError(ninsho.CodeAccountNotFound, "identifier")
	}
	var ans *flow.Answer
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
		if err != nil {
			return err
		}
		addrStarts, devStarts, err := s.countStart(ctx, rl, req.IP, d.ID)
		if err != nil {
			return err
		}
		f := k.NewFlow(flow.KindReset, rl, req, d, authflow.Locale("", req, rl))
		f.Identifier = id.Value
		f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
		if a != nil {
			f.AccountID = a.ID
		}
		ans = &flow.Answer{Flow: f, DeviceToken: newToken}
		if s.Captcha != nil && (devStarts+1 >= CaptchaAfterStarts || addrStarts+1 >= CaptchaAfterAddressStarts ||
			strings.TrimSpace(req.UserAgent) == "" || risk.IsAutomationUserAgent(req.UserAgent)) {
			// Hold the code back behind a CAPTCHA: nothing is sent yet.
			if err := k.Save(ctx, f); err != nil {
				return err
			}
			return s.newChallenge(ctx, f)
		}
		return s.sendFirstCode(ctx, rl, f, a, req)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	if ans.Flow.Step == flow.StepCaptcha {
		return s.answer(ans.Flow, ans.DeviceToken), ninsho.E(ninsho.CodeCaptchaRequired)
	}
	return s.answer(ans.Flow, ans.DeviceToken), nil
}

// sendFirstCode sends the flow's first code (nothing for a safe realm's
// unknown identifier, whose flow behaves alike) and saves f.
func (s *Service) sendFirstCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request) error {
	k := s.Kit
	id := identifierOf(f.Identifier)
	ch := authflow.ChannelFor(id)
	f.Status, f.Step = flow.StatusChallenge, flow.StepVerificationCode
	if a == nil {
		// Safe realm, unknown identifier: the same steps, nothing sent.
		f.Set(statePurpose, string(code.PurposeReset))
		if _, err := k.Codes.Issue(ctx, f, "", code.PurposeReset, ch, id.Value); err != nil {
			return err
		}
		return k.Save(ctx, f)
	}
	purpose, template := code.PurposeReset, message.TemplateResetCode
	if a.Status == account.StatusPending {
		purpose, template = code.PurposeSignup, message.TemplateSignupCode
	} else {
		authflow.OfferAlternatives(f, a, string(ch))
	}
	f.Set(statePurpose, string(purpose))
	if err := k.SendCode(ctx, f, rl, a.ID, purpose, ch, id.Value, template, a.Name); err != nil {
		return err
	}
	if err := k.Save(ctx, f); err != nil {
		return err
	}
	return k.Record(ctx, rl, a.ID, event.TypeResetStarted, req, f.DeviceID, map[string]any{"flow": f.ID, "channel": string(ch)})
}

// identifierOf rebuilds the parsed identifier of a normalised value.
func identifierOf(v string) identifier.Identifier {
	if strings.Contains(v, "@") {
		return identifier.Identifier{Kind: identifier.KindEmail, Value: v}
	}
	return identifier.Identifier{Kind: identifier.KindPhone, Value: v}
}

// newChallenge puts f at the CAPTCHA step with a new challenge and saves it.
func (s *Service) newChallenge(ctx context.Context, f *flow.Flow) error {
	c, err := s.Captcha.New(ctx, f.Realm, f.ID)
	if err != nil {
		return err
	}
	f.Set(stateCaptcha, c.ID)
	f.Status, f.Step = flow.StatusChallenge, flow.StepCaptcha
	return s.Kit.Save(ctx, f)
}

// submitCaptcha checks the answer; a right one sends the first code.
func (s *Service) submitCaptcha(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if act.Name == flow.ActionNewCaptcha {
			return s.newChallenge(ctx, f)
		}
		if err := s.Captcha.Check(ctx, f.Get(stateCaptcha), f.ID, act.Answer); err != nil {
			if !ninsho.IsCode(err, ninsho.CodeCaptchaIncorrect) {
				return err
			}
			stepErr = err
			return s.newChallenge(ctx, f)
		}
		f.Set(stateCaptcha, "")
		var a *account.Account
		if f.AccountID != "" {
			var err error
			if a, err = k.Accounts.Account(ctx, f.AccountID); err != nil {
				return err
			}
		}
		return s.sendFirstCode(ctx, rl, f, a, req)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	k.Outbox.Wake()
	return s.answer(f, ""), stepErr
}

// countStart caps starts per address and per device in the last hour and
// returns how many there were before this one.
func (s *Service) countStart(ctx context.Context, rl *realm.Realm, ip, deviceID string) (addr, dev int, err error) {
	if s.Counter == nil {
		return 0, 0, nil
	}
	counts := make([]int, 2)
	for i, c := range []struct {
		key   string
		limit int
	}{
		{throttle.Key("reset.addr", rl.ID, ip), StartsPerAddress},
		{throttle.Key("reset.device", rl.ID, deviceID), StartsPerDevice},
	} {
		n, err := s.Counter.Count(ctx, c.key, time.Hour)
		if err != nil {
			return 0, 0, err
		}
		if n >= c.limit {
			return 0, 0, ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 3600)
		}
		if err := s.Counter.Hit(ctx, c.key, 1, time.Hour); err != nil {
			return 0, 0, err
		}
		counts[i] = n
	}
	return counts[0], counts[1], nil
}

// Act applies submit_code, resend_code, switch_channel, then
// choose_sign_in_with_code or set_new_password.
func (s *Service) Act(ctx context.Context, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	rl := s.Realms.ByID(f.Realm)
	if rl == nil {
		return nil, ninsho.E(ninsho.CodeFlowNotFound)
	}
	switch {
	case act.Name == flow.ActionSubmitCode && f.Step == flow.StepVerificationCode:
		return s.submitCode(ctx, rl, f, req, act.Code)
	case act.Name == flow.ActionResendCode && f.Step == flow.StepVerificationCode:
		template := message.TemplateResetCode
		if purposeOf(f) == code.PurposeSignup {
			template = message.TemplateSignupCode
		}
		err := s.Kit.Resend(ctx, rl, f, purposeOf(f), template)
		return s.answer(f, ""), err
	case act.Name == flow.ActionSwitchChannel && f.Step == flow.StepVerificationCode:
		return s.switchChannel(ctx, rl, f, act.Channel)
	case (act.Name == flow.ActionSubmitCaptcha || act.Name == flow.ActionNewCaptcha) && f.Step == flow.StepCaptcha && s.Captcha != nil:
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
	case f.Step == flow.StepVerificationCode:
		ans.Next = s.Kit.CodeNext(f, authflow.Alternatives(f))
	case f.Step == flow.StepCaptcha:
		id := f.Get(stateCaptcha)
		ans.Next = &flow.Next{Step: flow.StepCaptcha, Captcha: &flow.Captcha{
			ID: id, ImageURL: captcha.ImagePath(id), AudioURL: captcha.AudioPath(id, f.Locale),
		}}
	case f.Step == flow.StepChoose:
		opts := []string{flow.ActionSetNewPassword}
		if rl := s.Realms.ByID(f.Realm); rl != nil && rl.SignInWithCode {
			opts = append([]string{flow.ActionSignInWithCode}, opts...)
		}
		ans.Next = &flow.Next{Step: flow.StepChoose, Options: opts}
	}
	return ans
}

func purposeOf(f *flow.Flow) code.Purpose {
	if p := f.Get(statePurpose); p != "" {
		return code.Purpose(p)
	}
	return code.PurposeReset
}

func (s *Service) submitCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, input string) (*flow.Answer, error) {
	k := s.Kit
	var stepErr error
	var grant *flow.Grant
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		c, serr, err := k.CheckCode(ctx, f, purposeOf(f), input)
		if err != nil || serr != nil {
			stepErr = serr
			return err
		}
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if a.Status == account.StatusPending {
			// The sign-up never finished: the code confirms it now.
			now := k.Clock.Now()
			a.Status = account.StatusActive
			authflow.Verify(a, string(c.Channel), now)
			a.UpdatedAt = now
			if err := k.Accounts.UpdateAccount(ctx, a); err != nil {
				return err
			}
			grant, err = k.Complete(ctx, f, rl, a, req, []string{string(c.Channel) + "_code"}, event.TypeSignupCompleted, map[string]any{"via": "password_assistant"})
			return err
		}
		f.Status, f.Step = flow.StatusOpen, flow.StepChoose
		return k.Save(ctx, f)
	})
	if err != nil {
		return s.answer(f, ""), err
	}
	if grant != nil {
		return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID}, nil
	}
	return s.answer(f, ""), stepErr
}

func (s *Service) switchChannel(ctx context.Context, rl *realm.Realm, f *flow.Flow, ch string) (*flow.Answer, error) {
	err := s.Kit.SwitchChannel(ctx, rl, f, ch, code.PurposeReset, message.TemplateResetCode)
	return s.answer(f, ""), err
}

// signInWithCode signs the person in once with the code they proved, when the
// realm allows it. The password stays as it was. It must never be offered to
// an account with two-step verification (none exists yet): a code to the
// identifier is one factor, and a reset never bypasses the second.
func (s *Service) signInWithCode(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	if !rl.SignInWithCode {
		return s.answer(f, ""), ninsho.FieldError(ninsho.CodeActionUnknown, "action")
	}
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	if a.Status != account.StatusActive {
		return s.answer(f, ""), ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(account.LockSuspicious))
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		grant, err = k.Complete(ctx, f, rl, a, req, []string{f.Channel + "_code"}, event.TypeSigninSucceeded, map[string]any{"via": "password_assistant"})
		return err
	})
	if err != nil {
		return nil, err
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: a.ID}, nil
}

// setNewPassword replaces the password (twice the same, by the policy, not
// the old one), signs out every other session, lifts a lock the code and the
// new password answer for, signs this device in and alerts every verified
// channel.
func (s *Service) setNewPassword(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	hash, err := k.NewPasswordHash(ctx, a, act.Password, act.PasswordConfirmation)
	if err != nil {
		if ninsho.IsCode(err, ninsho.CodeInternal) || ninsho.IsCode(err, ninsho.CodeOverloaded) {
			return nil, err
		}
		return s.answer(f, ""), err
	}
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.ReplacePassword(ctx, rl, f, a, req, hash, s.Locks, "password_assistant"); err != nil {
			return err
		}
		var err error
		grant, err = k.Complete(ctx, f, rl, a, req, []string{"password", f.Channel + "_code"}, event.TypeSigninSucceeded, map[string]any{"via": "password_assistant"})
		if err != nil {
			return err
		}
		return k.Alert(ctx, rl, f, a, req, message.TemplatePasswordChanged, true)
	})
	if err != nil {
		return nil, err
	}
	if s.Forget != nil {
		s.Forget(a.ID)
	}
	k.Outbox.Wake()
	return &flow.Answer{Flow: f, Session: grant, AccountID: a.ID}, nil
}
