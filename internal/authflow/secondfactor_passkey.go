package authflow

import (
	"context"
	"encoding/json"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Flow-state keys of a passkey ceremony at the second-factor step: the
// server's half (the challenge; not a secret) and the request options the
// answer shows as next.public_key.
const (
	stateSFPasskey        = "2sv_passkey"
	stateSFPasskeyOptions = "2sv_passkey_options"
)

// MethodPasskey is the second-factor method name of a passkey.
const MethodPasskey = string(twostep.MethodPasskey)

// passkeyCurrent prepares the passkey ceremony of f when its current
// second-factor method is a passkey (request options allowing a's
// passkeys), and forgets any other. a may be nil (it is then loaded).
func (sf SecondFactor) passkeyCurrent(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account) error {
	if f.Get(stateSFCurrent) != MethodPasskey {
		f.Set(stateSFPasskey, "")
		f.Set(stateSFPasskeyOptions, "")
		return nil
	}
	if a == nil {
		var err error
		if a, err = sf.k.Accounts.Account(ctx, f.AccountID); err != nil {
			return err
		}
	}
	ch, err := sf.k.TwoStep.BeginPasskeyCheck(ctx, rl, a)
	if err != nil {
		return err
	}
	f.Set(stateSFPasskey, ch.Session)
	f.Set(stateSFPasskeyOptions, string(ch.Options))
	return nil
}

// publicKey is next.public_key of f's second-factor step: the request
// options when the current method is a passkey.
func publicKey(f *flow.Flow) json.RawMessage {
	if f.Get(stateSFCurrent) != MethodPasskey || f.Get(stateSFPasskeyOptions) == "" {
		return nil
	}
	return json.RawMessage(f.Get(stateSFPasskeyOptions))
}

// check checks the answer of act by f's current method: the passkey's
// assertion (act.Credential) for a passkey, else the code
// (twostep.Service.Check; an SMS or voice code of the flow: checkPhone). A passed passkey ceremony is forgotten.
func (sf SecondFactor) check(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, act flow.Action) (string, error) {
	k := sf.k
	if isPhoneStep(f) {
		return sf.checkPhone(ctx, rl, f, a, act.Code)
	}
	if f.Get(stateSFCurrent) != MethodPasskey {
		return k.TwoStep.Check(ctx, rl, a, f.Get(stateSFCurrent), act.Code, k.Clock.Now())
	}
	used, err := k.TwoStep.CheckPasskey(ctx, rl, a, f.Get(stateSFPasskey), act.Credential, k.Clock.Now())
	if err == nil {
		f.Set(stateSFPasskey, "")
		f.Set(stateSFPasskeyOptions, "")
	}
	return used, err
}

// CompleteWithPasskey completes f, a passwordless sign-in that a's passkey
// answered, with a session of AAL 2 whose method is the passkey's (hwk or
// swk): a passkey is something the person has, unlocked by something they
// know or are, so Complete's second-factor question is not asked again.
// The device becomes familiar like any completion (Complete). It runs in
// the transaction of ctx.
func (k *Kit) CompleteWithPasskey(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, req ninsho.Request, method, typ string, data map[string]any) (*flow.Grant, error) {
	return k.issue(ctx, f, rl, a, req, 2, []string{method}, typ, data)
}
