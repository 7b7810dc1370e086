package authflow

import (
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
)

// The checks of what a person types, shared by the forms that ask for an
// identifier or a new password. Each returns every refusal it finds (as
// ninsho.Fields does) and costs no hash, so that a service can judge every
// field of a form before any slow or revealing work and answer them all at
// once.

// CheckNewPassword judges a new password and, when confirm is set, its
// confirmation: an empty password is field_required, any other is held to
// the policy (with who's details); an empty confirmation is field_required,
// any other must match (password_mismatch, field password_confirmation).
// Both fields are judged, so a form names both at once.
func (k *Kit) CheckNewPassword(pw, confirmation string, confirm bool, who password.Personal) error {
	var pwErr, confirmErr error
	if pw == "" {
		pwErr = ninsho.FieldError(ninsho.CodeFieldRequired, "password")
	} else {
		pwErr = k.Policy.Check(pw, who)
	}
	switch {
	case !confirm:
	case confirmation == "":
		confirmErr = ninsho.FieldError(ninsho.CodeFieldRequired, "password_confirmation")
	case !password.Same(pw, confirmation):
		confirmErr = ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation")
	}
	return ninsho.Fields(pwErr, confirmErr)
}
