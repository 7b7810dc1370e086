package ninsho

// Catalogue codes of the organisations' sign-in policy (issue 15: the
// second-factor methods an organisation allows), kept apart from errors.go
// so that parallel work does not write into one list.
const (
	// CodeOrgMethodNotAllowed: the member's organisations do not allow this
	// second-factor method at sign-in (switch_method to it, or a
	// passwordless passkey sign-in where passkeys are not allowed).
	CodeOrgMethodNotAllowed Code = "org_method_not_allowed"
	// CodeOrgMethodRequired: the member has none of the methods their
	// organisations allow and cannot add one at sign-in (the allowed
	// methods lack the authenticator app, the only one enrolled there);
	// param methods lists the allowed ones. No session is issued: the
	// member adds one from a session they still have, or an owner changes
	// the policy.
	CodeOrgMethodRequired Code = "org_method_required"
	// CodeOrgPolicyConflict: the organisations the member belongs to (other
	// than their own) allow second-factor methods that have none in
	// common, so no method may sign them in: an owner changes a policy or
	// removes them (org.Combined.Conflict).
	CodeOrgPolicyConflict Code = "org_policy_conflict"
)
