package ninsho

// Catalogue codes of the owner's own settings — removing an identifier,
// changing the password, name and language (issue 12) — kept apart from
// errors.go so that parallel work does not write into one list.
const (
	// CodeIdentifierLast: the e-mail address or phone number cannot be
	// removed, because it is the account's last verified identifier (an
	// account keeps at least one way to sign in and get its codes).
	CodeIdentifierLast Code = "identifier_last"
	// CodeTwoStepUsesPhone: the phone number cannot be removed, because the
	// account's only two-step methods (SMS, voice call) send their codes to
	// it; another two-step method must be added first.
	CodeTwoStepUsesPhone Code = "two_step_uses_phone"
)
