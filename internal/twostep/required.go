package twostep

import (
	"context"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
)

// Required reports whether a must keep two-step verification: the realm
// requires it of a's type (realms[].two_step.required_for), or an active
// organisation a belongs to requires it (MemberRequires).
func (s *Service) Required(ctx context.Context, rl *realm.Realm, a *account.Account) (bool, error) {
	if rl.TwoStepRequired(string(a.Type)) {
		return true, nil
	}
	return s.memberRequires(ctx, rl, a)
}

// memberRequires reports whether an organisation of a requires 2SV.
func (s *Service) memberRequires(ctx context.Context, rl *realm.Realm, a *account.Account) (bool, error) {
	if s.MemberRequires == nil {
		return false, nil
	}
	return s.MemberRequires(ctx, rl.ID, a.ID)
}

// mustKeep refuses, with ninsho.CodeTwoStepRequired, a change that would
// leave a without 2SV while a policy requires it: kind "turn_off" for
// turning it off ("organisation_turn_off" when an organisation requires
// it), "" for removing the last method (field credential; kind
// "organisation" when an organisation requires it). The realm's rule is
// named first: its message is about the account's type.
func (s *Service) mustKeep(ctx context.Context, rl *realm.Realm, a *account.Account, kind string) error {
	refuse := func(k string) error {
		if kind == "" {
			e := ninsho.FieldError(ninsho.CodeTwoStepRequired, "credential")
			if k != "" {
				e = e.WithParam("kind", k)
			}
			return e
		}
		return ninsho.E(ninsho.CodeTwoStepRequired).WithParam("kind", k)
	}
	if rl.TwoStepRequired(string(a.Type)) {
		return refuse(kind)
	}
	org, err := s.memberRequires(ctx, rl, a)
	if err != nil || !org {
		return err
	}
	if kind == "" {
		return refuse("organisation")
	}
	return refuse("organisation_" + kind)
}
