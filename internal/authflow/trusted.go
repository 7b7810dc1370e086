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

// stateTrustOK is the flow-state key that lets the next Complete of a
// sign-in skip the second factor for a device the account trusts
// (AllowTrustedDevice); Complete reads and clears it at once.
const stateTrustOK = "2sv_trust_ok"

// AllowTrustedDevice lets the Complete that follows, in this request, skip
// the second factor when f is a sign-in, completed from the device it is
// bound to (CompletingDevice), of an account with 2SV that trusts that
// device now (trust.Service.Trusted), and f did not ask for AAL 2
// (RequireAAL). Sign-in calls it after the right password only when
// sign-in protection held nothing against the attempt (no refusal, no
// CAPTCHA in the flow, no verification it would ask). The check costs
// nothing until Complete finds 2SV on, so a sign-in without 2SV reads no
// more than before.
func AllowTrustedDevice(f *flow.Flow) { f.Set(stateTrustOK, "1") }

// takeTrust reports whether AllowTrustedDevice was called for f, and
// forgets it: it counts for one Complete.
func takeTrust(f *flow.Flow) bool {
	ok := f.Get(stateTrustOK) == "1"
	f.Set(stateTrustOK, "")
	return ok
}

// completeTrusted issues the session of Complete for a, whose 2SV is on,
// without the second factor when the rules of AllowTrustedDevice hold: AAL
// 1 with methods (the password's), and the event of type typ says
// "second_factor": "trusted_device". ok is false (nothing done) when they
// do not. It runs in the transaction of ctx.
func (k *Kit) completeTrusted(ctx context.Context, f *flow.Flow, rl *realm.Realm, a *account.Account, req ninsho.Request, methods []string, typ string, data map[string]any) (grant *flow.Grant, ok bool, err error) {
	if k.Trust == nil || f.Kind != flow.KindSignin || f.Get(stateAAL) == "2" {
		return nil, false, nil
	}
	d, bound := k.CompletingDevice(f, req)
	if !bound || d == nil {
		return nil, false, nil
	}
	trusted, err := k.Trust.Trusted(ctx, rl, a.ID, d.ID)
	if err != nil || !trusted {
		return nil, false, err
	}
	if data == nil {
		data = map[string]any{}
	}
	data["second_factor"] = "trusted_device"
	grant, err = k.issue(ctx, f, rl, a, req, 1, methods, typ, data)
	return grant, err == nil, err
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
