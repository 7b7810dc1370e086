package event

// Event types of organisations (issue 15, internal/org). Data names the
// organisation ("org") and the members by account id, roles by name;
// never a token, an invitation's address or a link.
const (
	// TypeOrgCreated: a person created an organisation and became its
	// owner (data org, kind, status; approvers: how many approval e-mails
	// went, for one pending approval).
	TypeOrgCreated = "org.created"
	// TypeOrgApproved / TypeOrgRejected: a pending business organisation
	// was decided by an approval link (actor approval_link) or by staff
	// (actor staff:<id>, data reason); the event's account is the
	// creator (data org, kind).
	TypeOrgApproved = "org.approved"
	TypeOrgRejected = "org.rejected"
	// TypeOrgInvited: an owner or admin invited an address (data org,
	// invitation, role, replaced: pending invitations to the address it
	// replaced, by_role).
	TypeOrgInvited = "org.invited"
	// TypeOrgInvitationRevoked: a pending invitation was withdrawn (data
	// org, invitation).
	TypeOrgInvitationRevoked = "org.invitation_revoked"
	// TypeOrgJoined: a person accepted an invitation (data org,
	// invitation, role).
	TypeOrgJoined = "org.joined"
	// TypeOrgRoleChanged: a member's role changed (data org, member,
	// from, to; reason owner_purged when the system made an heir owner).
	TypeOrgRoleChanged = "org.role_changed"
	// TypeOrgMemberRemoved: an owner or admin removed a member (data org,
	// member, role), or the member's account was purged (actor system,
	// data org, role, reason purged).
	TypeOrgMemberRemoved = "org.member_removed"
	// TypeOrgLeft: a member left (data org, role).
	TypeOrgLeft = "org.left"
	// TypeOrgOwnershipTransferred: an owner made another member owner and
	// became admin (data org, to, to_was).
	TypeOrgOwnershipTransferred = "org.ownership_transferred"
	// TypeOrgPolicyChanged: an owner changed the sign-in policy (data org,
	// require_two_step, methods and their was_ values).
	TypeOrgPolicyChanged = "org.policy_changed"
	// TypeOrgDeleted: an organisation was deleted — its last member left
	// it after its rejection, or its last owner was purged with nobody
	// left (data org, reason).
	TypeOrgDeleted = "org.deleted"
)
