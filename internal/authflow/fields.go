package authflow

import (
	"strings"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/password"
	"github.com/ninsho/ninsho/internal/realm"
)

// The checks of what a person types, shared by the forms that ask for an
// identifier or a new password. Each returns every refusal it finds (as
// ninsho.Fields does) and costs no hash, so that a service can judge every
// field of a form before any slow or revealing work and answer them all at
// once.

// CheckNewPassword judges a new password of realm rl and, when confirm is
// set, its confirmation: an empty password is field_required, any other is
// held to the realm's policy (PasswordPolicy, with who's details); an empty
// confirmation is field_required, any other must match (password_mismatch,
// field password_confirmation). Both fields are judged, so a form names both
// at once.
func (k *Kit) CheckNewPassword(rl *realm.Realm, pw, confirmation string, confirm bool, who password.Personal) error {
	var pwErr, confirmErr error
	if pw == "" {
		pwErr = ninsho.FieldError(ninsho.CodeFieldRequired, "password")
	} else {
		pwErr = k.PasswordPolicy(rl).Check(pw, who)
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

// PasswordPolicy returns the policy of new passwords in rl: k.Policy with
// the realm's minimum length (realm.Realm.PasswordMin). The common
// passwords, the weakness rules, the personal details and the maximum length
// are the same in every realm.
func (k *Kit) PasswordPolicy(rl *realm.Realm) password.Policy {
	p := k.Policy
	p.MinLength = rl.PasswordMin()
	return p
}

// CheckLocale judges a language a person sets as their account's (field
// locale): a tag of no supported language is ninsho.CodeLocaleInvalid, a
// supported one that rl does not offer ninsho.CodeLocaleNotOffered (param
// offered: rl's languages, comma-separated). A tag such as "en-US" counts as
// its language.
func CheckLocale(rl *realm.Realm, tag string) error {
	l := i18n.Canonical(tag)
	switch {
	case l == "":
		return ninsho.FieldError(ninsho.CodeLocaleInvalid, "locale")
	case !rl.Offers(l):
		return ninsho.FieldError(ninsho.CodeLocaleNotOffered, "locale").WithParam("offered", strings.Join(rl.Offered(), ","))
	}
	return nil
}
