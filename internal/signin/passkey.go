package signin

import (
	"context"
	"encoding/json"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/authflow"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/risk"
)

// Flow-state keys of a passwordless sign-in: the ceremony's server half
// (the challenge, not a secret) and the request options shown as
// next.public_key.
const (
	statePasskey        = "passkey"
	statePasskeyOptions = "passkey_options"
)

// PasskeyAttempts is how many refused passkey answers one passwordless
// sign-in takes before the flow fails.
const PasskeyAttempts = 5

// StartPasskey begins a passwordless sign-in with a passkey in rl, where
// the realm allows it (rl.TwoStep.PasskeySignIn; elsewhere
// ninsho.CodeNotFound). It is capped like an identifier-first start
// (startgate) before anything is written, and answers status challenge at
// step passkey with the request options of a discoverable ceremony (no
// allowCredentials) in next.public_key.
func (s *Service) StartPasskey(ctx context.Context, rl *realm.Realm, req ninsho.Request) (*flow.Answer, error) {
	k := s.Kit
	if !rl.TwoStep.PasskeySignIn || k.TwoStep == nil || k.TwoStep.Passkeys == nil {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	d, newToken, err := k.Devices.Resolve(ctx, rl.ID, req.DeviceToken, req.UserAgent)
	if err != nil {
		return nil, err
	}
	if _, err := s.Gate.Admit(ctx, flow.KindSignin, rl.ID, req, d.ID); err != nil {
		return nil, err
	}
	ch, err := k.TwoStep.BeginPasskeySignIn(rl)
	if err != nil {
		return nil, err
	}
	f := k.NewFlow(flow.KindSignin, rl, req, d)
	f.Status = flow.StatusChallenge
	f.Step = flow.StepPasskey
	f.Set(statePasskey, ch.Session)
	f.Set(statePasskeyOptions, string(ch.Options))
	if err := k.Save(ctx, f); err != nil {
		return nil, err
	}
	return &flow.Answer{Flow: f, Next: passkeyNext(f), DeviceToken: newToken}, nil
}

func passkeyNext(f *flow.Flow) *flow.Next {
	return &flow.Next{
		Step: flow.StepPasskey, PublicKey: json.RawMessage(f.Get(statePasskeyOptions)),
		AttemptsLeft: max(PasskeyAttempts-f.Attempts, 0),
	}
}

// submitPasskey checks a passwordless sign-in's assertion: a passkey of
// the realm, for this flow's challenge, whose account may sign in
// (suspended, closed, locked as suspicious and unconfirmed accounts are
// refused as after a right password; the smart lock, which stops password
// guessing from unfamiliar devices, does not stop a passkey; an account
// whose organisations do not allow passkeys is refused,
// ninsho.CodeOrgMethodNotAllowed). The right
// one completes with a session of AAL 2 (authflow.Kit.CompleteWithPasskey)
// and makes the device familiar. A passkey the realm does not know is
// ninsho.CodePasskeyUnknown, whoever asks. Every refusal counts one of
// PasskeyAttempts and is a signin.failed event.
func (s *Service) submitPasskey(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := s.Kit
	a, method, err := k.TwoStep.SignInWithPasskey(ctx, rl, k.Accounts.Account, f.Get(statePasskey), act.Credential, k.Clock.Now())
	switch {
	case ninsho.IsCode(err, ninsho.CodeFieldRequired):
		return s.answer(f), err
	case ninsho.IsCode(err, ninsho.CodePasskeyFailed), ninsho.IsCode(err, ninsho.CodePasskeyUnknown):
		return s.passkeyRefused(ctx, rl, f, nil, req, err)
	case err != nil:
		return nil, err
	}
	switch a.Status {
	case account.StatusSuspended:
		stepErr := s.suspendedError(ctx, a)
		if !ninsho.IsCode(stepErr, ninsho.CodeAccountSuspended) {
			return nil, stepErr
		}
		return s.passkeyRefused(ctx, rl, f, a, req, stepErr)
	case account.StatusClosed:
		return s.passkeyRefused(ctx, rl, f, a, req, ninsho.E(ninsho.CodeAccountClosed))
	case account.StatusLocked:
		return s.passkeyRefused(ctx, rl, f, a, req, lockedError(account.Lock{Kind: account.LockSuspicious}, k.Clock.Now()))
	case account.StatusActive:
	default:
		return s.passkeyRefused(ctx, rl, f, nil, req, ninsho.FieldError(ninsho.CodePasskeyUnknown, "credential"))
	}
	if ok, err := k.SecondFactor().Allows(ctx, rl, a, authflow.MethodPasskey); err != nil {
		return nil, err
	} else if !ok {
		// The account's organisations do not allow passkeys at sign-in.
		return s.passkeyRefused(ctx, rl, f, a, req, ninsho.FieldError(ninsho.CodeOrgMethodNotAllowed, "credential"))
	}
	f.Set(statePasskey, "")
	f.Set(statePasskeyOptions, "")
	var grant *flow.Grant
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		var err error
		grant, err = k.CompleteWithPasskey(ctx, f, rl, a, req, method, event.TypeSigninSucceeded,
			map[string]any{"passkey": true, "prefix": risk.Prefix(req.IP)})
		return err
	})
	if err != nil {
		return nil, err
	}
	return k.Completed(f, grant), nil
}

// passkeyRefused counts a refused passkey answer, fails the flow after
// PasskeyAttempts and records the failure.
func (s *Service) passkeyRefused(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, stepErr error) (*flow.Answer, error) {
	k := s.Kit
	f.Attempts++
	if f.Attempts >= PasskeyAttempts || !ninsho.IsCode(stepErr, ninsho.CodePasskeyFailed) && !ninsho.IsCode(stepErr, ninsho.CodePasskeyUnknown) {
		// An account that may not sign in ends the flow at once.
		f.Status = flow.StatusFailed
		if ninsho.IsCode(stepErr, ninsho.CodePasskeyFailed) || ninsho.IsCode(stepErr, ninsho.CodePasskeyUnknown) {
			stepErr = ninsho.FieldError(ninsho.CodeCodeAttemptsExceeded, "credential")
		}
	}
	accountID := ""
	if a != nil {
		accountID = a.ID
	}
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		if err := k.Save(ctx, f); err != nil {
			return err
		}
		return k.Record(ctx, rl, accountID, event.TypeSigninFailed, req, f.DeviceID, map[string]any{
			"flow": f.ID, "reason": string(ninsho.CodeOf(stepErr)), "passkey": true, "prefix": risk.Prefix(req.IP),
		})
	})
	if err != nil {
		return nil, err
	}
	return s.answer(f), stepErr
}
