package ninsho

// Catalogue codes of the staff console and the account actions staff take
// (issue 13).
const (
	// CodePasswordResetRequired: staff asked the owner to set a new
	// password; a sign-in with the right password is refused until the
	// password assistant sets one (403).
	CodePasswordResetRequired Code = "password_reset_required"
	// CodeStaffLocked: a staff account's sign-in is paused after repeated
	// wrong passwords or codes (423).
	CodeStaffLocked Code = "staff_locked"
	// CodeStaffEnrolmentInvalid: a staff enrolment link that is unknown,
	// used or expired (410).
	CodeStaffEnrolmentInvalid Code = "staff_enrolment_invalid"
)
