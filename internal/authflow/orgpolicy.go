package authflow

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
)

// The sign-in policy of organisations (issue 15). A member of an active
// organisation that requires two-step verification and has none is led
// through enrolment like an account the realm requires it of (enrol.go).
// When the organisations allow only some methods (org.Combined.Methods),
// the second-factor step offers only those (next.method,
// next.alternatives; switch_method to another is
// ninsho.CodeOrgMethodNotAllowed), backup codes only when
// org.MethodBackupCode is among them, and a passwordless passkey sign-in
// only when "passkey" is. A member with 2SV but none of the allowed
// methods usable first proves one of the methods they have (so that a
// password alone never adds a method), then enrols an authenticator app
// at flow.StepEnrolSecondFactor, when the policy allows one; when it does
// not (e.g. passkeys only), no session is issued:
// ninsho.CodeOrgMethodRequired, before anything is sent. A device the
// account trusts skips the second factor only while no organisation
// restricts the methods (a trusted device does not say which method made
// it trusted).

// MemberPolicy is the sign-in policy of the organisations a person belongs
// to (org.Service.PolicyFor: pending and rejected organisations ask
// nothing). It runs in the transaction of ctx.
type MemberPolicy interface {
	PolicyFor(ctx context.Context, realm, accountID string) (org.Combined, error)
}

// Flow-state keys of the policy at a second-factor challenge.
const (
	// The allowed methods, comma-separated, when they restrict what the
	// challenge offers; "" offers every usable method.
	stateSFAllowed = "2sv_allowed"
	// "1": none of the account's usable methods is allowed; the right
	// factor leads on to the enrolment of an allowed method.
	stateSFEnrolAfter = "2sv_enrol_after"
	// The method (not the session method) that passed a gate (Before).
	stateSFPassedKind = "2sv_passed_kind"
)

// memberPolicy returns the policy of a's organisations; none without
// Members.
func (k *Kit) memberPolicy(ctx context.Context, rl *realm.Realm, a *account.Account) (org.Combined, error) {
	if k.Members == nil || a == nil || rl == nil {
		return org.Combined{}, nil
	}
	return k.Members.PolicyFor(ctx, rl.ID, a.ID)
}

// enrolAllowed reports whether pol allows a method of EnrolMethods.
func enrolAllowed(pol org.Combined) bool {
	return slices.ContainsFunc(EnrolMethods, pol.Allows)
}

// methodRequired is the refusal of a member who has none of the allowed
// methods and cannot enrol one at sign-in.
func methodRequired(pol org.Combined) error {
	if pol.Conflict {
		return ninsho.E(ninsho.CodeOrgPolicyConflict)
	}
	return ninsho.E(ninsho.CodeOrgMethodRequired).WithParam("methods", slices.Clone(pol.Methods))
}

// policyOffer returns what a challenge offers under pol from the usable
// methods: the allowed ones (restricted), or, when none is usable, all of
// them with enrolAfter set (the factor only proves the person; an allowed
// method is enrolled next), or methodRequired when no allowed method can
// be enrolled at sign-in either. An account with no usable method at all
// is offered nothing, as without a policy.
func policyOffer(usable []string, pol org.Combined) (offer []string, restricted, enrolAfter bool, err error) {
	if !pol.Restricts() {
		return usable, false, false, nil
	}
	offer = slices.DeleteFunc(slices.Clone(usable), func(m string) bool { return !pol.Allows(m) })
	switch {
	case len(offer) > 0:
		return offer, true, false, nil
	case len(usable) == 0:
		return usable, false, false, nil
	case enrolAllowed(pol):
		return usable, false, true, nil
	}
	return nil, false, false, methodRequired(pol)
}

// askUnder records pol's part of f's challenge (policyOffer's
// restriction) and returns the methods to offer.
func askUnder(f *flow.Flow, usable []string, pol org.Combined, gate bool) ([]string, error) {
	offer, restricted, enrolAfter, err := policyOffer(usable, pol)
	if err != nil {
		return nil, err
	}
	f.Set(stateSFAllowed, "")
	if restricted {
		f.Set(stateSFAllowed, strings.Join(pol.Methods, ","))
	}
	f.Set(stateSFEnrolAfter, "")
	if enrolAfter && !gate { // a gate's passed factor is judged by Complete
		f.Set(stateSFEnrolAfter, "1")
	}
	return offer, nil
}

// allowedAt reports whether f's challenge may offer m (stateSFAllowed).
func allowedAt(f *flow.Flow, m string) bool {
	v := f.Get(stateSFAllowed)
	return v == "" || slices.Contains(strings.Split(v, ","), m)
}

// refusedByPolicy reports whether a switch to m is refused because the
// organisations do not allow it (rather than because the account cannot
// use it now).
func refusedByPolicy(f *flow.Flow, m string) bool {
	return slices.Contains(org.Methods, m) && !allowedAt(f, m)
}

// withOrgs returns data with the organisations whose policy applied
// (event data "organisations"), a copy when it adds them.
func withOrgs(data map[string]any, pol org.Combined) map[string]any {
	if len(pol.Orgs) == 0 {
		return data
	}
	out := maps.Clone(data)
	if out == nil {
		out = map[string]any{}
	}
	out["organisations"] = slices.Clone(pol.Orgs)
	return out
}

// Allows reports whether a's organisations allow method (a value of
// org.Methods) at sign-in. A passwordless passkey sign-in asks it for
// MethodPasskey and is refused with ninsho.CodeOrgMethodNotAllowed when
// not.
func (sf SecondFactor) Allows(ctx context.Context, rl *realm.Realm, a *account.Account, method string) (bool, error) {
	pol, err := sf.k.memberPolicy(ctx, rl, a)
	if err != nil {
		return false, err
	}
	return pol.Allows(method), nil
}
