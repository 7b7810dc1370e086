package ninsho

// Catalogue codes of organisations (issue 15, internal/org), kept apart
// from errors.go so that parallel work does not write into one list.
const (
	// CodeOrgPendingApproval: the business organisation awaits staff
	// approval and cannot invite anyone yet.
	CodeOrgPendingApproval Code = "org_pending_approval"
	// CodeOrgRejected: the organisation's approval was refused; it can
	// only be read and left.
	CodeOrgRejected Code = "org_rejected"
	// CodeOrgLastOwner: the change would leave the organisation without an
	// owner (the last owner leaving, removed or demoted); another owner
	// must be made first (a role change or a transfer).
	CodeOrgLastOwner Code = "org_last_owner"
	// CodeOrgAlreadyMember: the person (or the invited address) is already
	// a member of the organisation.
	CodeOrgAlreadyMember Code = "org_already_member"
	// CodeOrgLimit: a bound of organisations is reached; param kind says
	// which — members (of one organisation), invitations (pending in one
	// organisation) or organisations (one person belongs to) — and max
	// its size.
	CodeOrgLimit Code = "org_limit"
	// CodeInvitationInvalid: the invitation link is unknown, already used,
	// withdrawn or expired (or its organisation no longer takes members).
	CodeInvitationInvalid Code = "invitation_invalid"
	// CodeInvitationOtherAccount: the invitation was sent to another
	// e-mail address than the signed-in account's verified one.
	CodeInvitationOtherAccount Code = "invitation_other_account"
	// CodeOrgApprovalInvalid: the approval link is unknown or expired, or
	// the organisation was already decided.
	CodeOrgApprovalInvalid Code = "org_approval_invalid"
)
