package message

// Template ids of organisations (internal/org), by e-mail only. The
// invitation and approval requests go to an address that may have no
// account and carry no account's name; the decisions go to accounts.
const (
	// TemplateOrgInvitation invites an address into an organisation.
	// Variables: name (empty), org (its name), inviter (the inviting
	// member's name), role (admin or member), link (the single-use
	// invitation link), until (when it expires), host.
	TemplateOrgInvitation = "org_invitation"
	// TemplateOrgApproval asks a realm's approver to approve or reject a
	// new business organisation. Variables: name (empty), org, link (the
	// single-use approval link), until, host.
	TemplateOrgApproval = "org_approval"
	// TemplateOrgApproved tells an organisation's creator and owners that
	// it was approved; TemplateOrgRejected that it was not. Variables:
	// name (the recipient's), org, link (the organisation's page), host.
	TemplateOrgApproved = "org_approved"
	TemplateOrgRejected = "org_rejected"
)

func init() {
	templateVars[TemplateOrgInvitation] = []string{"name", "org", "inviter", "role", "link", "until", "host", "base_url"}
	templateVars[TemplateOrgApproval] = []string{"name", "org", "link", "until", "host", "base_url"}
	templateVars[TemplateOrgApproved] = []string{"name", "org", "link", "host", "base_url"}
	templateVars[TemplateOrgRejected] = []string{"name", "org", "link", "host", "base_url"}
	checkValues["org"], checkValues["inviter"], checkValues["role"] = "O", "I", "member"
}
