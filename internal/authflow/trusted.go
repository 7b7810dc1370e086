package authflow

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// stateAAL is the flow-state key of the assurance level a sign-in asked
// for ("2": a trusted device does not skip the second factor).
const stateAAL = "aal_required"

// RequireAAL records that f, a sign-in just started, asked for a session of
// assurance level aal: 0 (not said) and 1 change nothing; 2 means no
// trusted device skips the second factor (an account without two-step
// verification still gets AAL 1: the client reads the session's aal). Any
// other level is request_invalid, field aal.
func RequireAAL(f *flow.Flow, aal int) error {
	switch aal {
	case 0, 1:
		return nil
	case 2:
		f.Set(stateAAL, "2")
		return nil
	}
	return ninsho.FieldError(ninsho.CodeRequestInvalid, "aal")
}

// TrustedSignIn reports whether the sign-in f of a, whose password was just
// found right, may go without the second factor because its request comes
// from a device a trusts (trust.Service.Trusted, which notes the use):
// only for a sign-in flow, completed from the device f is bound to
// (CompletingDevice), that did not ask for AAL 2 (RequireAAL), and whose
// sign-in protection neither refused, held it behind a CAPTCHA nor asked
// for a verification (risky: the caller tells). Everything else — another
// account on the same device, an expired or revoked trust, the password
// assistant and unlock — is asked the second factor as before. It runs in
// the transaction of ctx.
func (k *Kit) TrustedSignIn(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, risky bool) (bool, error) {
	if k.Trust == nil || a == nil || risky || f.Kind != flow.KindSignin || f.Get(stateAAL) == "2" {
		return false, nil
	}
	d, bound := k.CompletingDevice(f, req)
	if !bound || d == nil {
		return false, nil
	}
	if on, err := k.SecondFactor().Required(ctx, rl, a); err != nil || !on {
		return false, err
	}
	return k.Trust.Trusted(ctx, rl, a.ID, d.ID)
}

// CompleteTrusted finishes the sign-in f of a, which TrustedSignIn let go
// without the second factor, with a session of AAL 1 and methods (the
// password's): the event of type typ says the device was trusted. It runs
// in the transaction of ctx; answer the result with Completed.
func (k *Kit) CompleteTrusted(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, req ninsho.Request, methods []string, typ string, data map[string]any) (*flow.Grant, error) {
	if data == nil {
		data = map[string]any{}
	}
	data["second_factor"] = "trusted_device"
	return k.issue(ctx, f, rl, a, req, 1, methods, typ, data)
}

// trustAfterFactor makes the device of req trusted by a after a right
// second factor whose action asked for it (trust_device), when req comes
// from the device f is bound to; otherwise it does nothing. It runs in the
// transaction of ctx.
func (k *Kit) trustAfterFactor(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, act flow.Action) error {
	if !act.TrustDevice || k.Trust == nil {
		return nil
	}
	d, bound := k.CompletingDevice(f, req)
	if !bound || d == nil {
		return nil
	}
	_, err := k.Trust.Trust(ctx, rl, req, a.ID, d.ID)
	return err
}

// ForgetTrusted forgets every device a trusts (trust.Service.ForgetAll) for
// reason (trust.Reason*), recording it when there were any. Nothing
// happens without a trust service. It runs in the transaction of ctx.
func (k *Kit) ForgetTrusted(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, reason string) error {
	if k.Trust == nil {
		return nil
	}
	_, err := k.Trust.ForgetAll(ctx, rl, req, accountID, reason)
	return err
}
