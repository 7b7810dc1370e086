// Package org keeps organisations (issue 15): a seller or business that
// people of one realm belong to with a role, the invitations that bring new
// members in, a business organisation's staff approval, and the sign-in
// policy an organisation sets for its members.
//
// The rules, in one place (docs/api.md "Organisations" tells them to
// clients):
//
//   - A signed-in person creates an organisation and becomes its owner. A
//     business organisation in a realm whose
//     realms[].organisations.business_approval is on starts
//     pending_approval, and a single-use approval link (7 days) goes to
//     every address of realms[].organisations.approvers; an approver (by
//     the link) or staff (in the console) approves or rejects it.
//   - A pending organisation can be read, and its policy and roles set, but
//     invites nobody (org_pending_approval) and sets no policy on sign-in
//     (PolicyFor counts active organisations only). A rejected organisation
//     can only be read and left (org_rejected); when its last member
//     leaves, it is deleted.
//   - Roles: owners do everything; admins invite, revoke invitations,
//     remove members and admins and change their roles, but do not touch
//     owners and make nobody owner; only an owner makes an owner (a role
//     change) or transfers ownership (the target becomes owner, the owner
//     admin, in one transaction). Members read the organisation and leave.
//     An organisation always has an owner: its last owner cannot leave, be
//     removed or be demoted (org_last_owner).
//   - Invitations go by e-mail to an address (normalised by identifier),
//     with a single-use link valid 7 days; they are accepted by a
//     signed-in person of the realm whose verified e-mail address is that
//     address (invitation_other_account otherwise). Inviting an address
//     again replaces its pending invitation.
//   - Bounds, so that nobody writes unbounded rows or sends unbounded
//     mail: MaxPendingInvitations and InvitationsPerDay per organisation,
//     MaxMembers per organisation, CreatesPerDay organisations created per
//     person and MaxMemberships organisations per person.
//
// Non-members are told not_found for an organisation, whether or not it
// exists.
package org

import (
	"context"
	"slices"
	"time"
)

// Kind is what an organisation is.
type Kind string

// Kinds.
const (
	KindSeller   Kind = "seller"
	KindBusiness Kind = "business"
)

// Valid reports whether k is a kind.
func (k Kind) Valid() bool { return k == KindSeller || k == KindBusiness }

// Status is an organisation's standing.
type Status string

// Statuses.
const (
	StatusActive   Status = "active"
	StatusPending  Status = "pending_approval"
	StatusRejected Status = "rejected"
)

// Role is a member's role in an organisation.
type Role string

// Roles, the strongest first.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

// Valid reports whether r is a role.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleAdmin || r == RoleMember }

// Manages reports whether the role invites, removes and changes roles of
// other members (owners and admins).
func (r Role) Manages() bool { return r == RoleOwner || r == RoleAdmin }

// MethodBackupCode is the Policy method that lets backup codes answer the
// second factor; the other methods are twostep's method names.
const MethodBackupCode = "backup_code"

// Methods are the values of Policy.Methods: twostep's methods (totp, sms,
// voice, passkey) and backup codes.
var Methods = []string{"totp", "sms", "voice", "passkey", MethodBackupCode}

// Policy is what an organisation asks of its members' sign-in.
type Policy struct {
	// RequireTwoStep: members without two-step verification are led
	// through enrolment at their next sign-in, before any session.
	RequireTwoStep bool
	// Methods are the second-factor methods members may use (values of
	// Methods, sorted, no repeats); empty means any. A list without
	// MethodBackupCode refuses backup codes too.
	Methods []string
}

// Equal reports whether p and q ask the same.
func (p Policy) Equal(q Policy) bool {
	return p.RequireTwoStep == q.RequireTwoStep && slices.Equal(p.Methods, q.Methods)
}

// Organisation is one organisation of a realm.
type Organisation struct {
	ID     string
	Realm  string
	Kind   Kind
	Name   string
	Status Status
	Policy Policy
	// CreatedBy is the account that created it (its first owner).
	CreatedBy string
	CreatedAt time.Time
	// DecidedAt is when a business organisation's approval was decided
	// (nil while pending, and for organisations that needed none).
	DecidedAt *time.Time
	// ApprovalHash is the keyed hash of the approval link's token while
	// the organisation is pending (nil otherwise); ApprovalExpiresAt is
	// when the link stops working.
	ApprovalHash      []byte
	ApprovalExpiresAt time.Time
}

// Membership is one person's place in an organisation.
type Membership struct {
	Realm    string
	Org      string
	Account  string
	Role     Role
	JoinedAt time.Time
	// Name and Email are the account's, read with the membership by
	// Members ("" elsewhere).
	Name, Email string
}

// Affiliation is an organisation a person belongs to, with their role.
type Affiliation struct {
	Org  *Organisation
	Role Role
}

// Invitation asks the holder of an e-mail address to join an
// organisation with a role.
type Invitation struct {
	ID    string
	Realm string
	Org   string
	// Email is the invited address, normalised (identifier.Parse).
	Email     string
	Role      Role
	InvitedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	// TokenHash is the keyed hash of the link's token; the token itself
	// is only in the e-mail.
	TokenHash []byte
	// AcceptedAt and AcceptedBy: when and by which account it was
	// accepted; RevokedAt: when it was revoked or replaced.
	AcceptedAt *time.Time
	AcceptedBy string
	RevokedAt  *time.Time
}

// Pending reports whether inv can still be accepted at now.
func (inv *Invitation) Pending(now time.Time) bool {
	return inv.AcceptedAt == nil && inv.RevokedAt == nil && now.Before(inv.ExpiresAt)
}

// Bounds.
const (
	// InvitationLifetime is how long an invitation link works.
	InvitationLifetime = 7 * 24 * time.Hour
	// ApprovalLifetime is how long an approval link works; after it only
	// staff decide (DecideByStaff).
	ApprovalLifetime = 7 * 24 * time.Hour
	// MaxPendingInvitations is how many invitations an organisation has
	// pending at most (org_limit, kind invitations).
	MaxPendingInvitations = 100
	// InvitationsPerDay is how many invitations (each one e-mail) an
	// organisation sends in 24 hours (rate_limited, kind org_invitations).
	InvitationsPerDay = 50
	// InvitationsPerAddressDay is how many invitations one address gets
	// in 24 hours from all the realm's organisations together, and
	// InvitationsPerInviterDay how many one person sends from all of
	// theirs (both rate_limited, kind org_invitations): nobody fills a
	// stranger's mailbox by inviting it again and again, or from many
	// organisations.
	InvitationsPerAddressDay = 3
	InvitationsPerInviterDay = 100
	// MaxMembers is how many members an organisation has at most
	// (org_limit, kind members).
	MaxMembers = 1000
	// CreatesPerDay is how many organisations a person creates in 24
	// hours (rate_limited, kind org_create).
	CreatesPerDay = 10
	// MaxMemberships is how many organisations a person belongs to at
	// most (org_limit, kind organisations).
	MaxMemberships = 100
	// MaxNameLength bounds an organisation's name, in characters.
	MaxNameLength = 100
	// FinishedKept is how long finished and expired invitations are kept
	// before Purge deletes them.
	FinishedKept = 30 * 24 * time.Hour
	// TokenBytes is the size of link tokens.
	TokenBytes = 32
)

// OrgStore keeps organisations. Methods take part in the transaction
// carried by ctx; an unknown organisation is ninsho.CodeNotFound.
type OrgStore interface {
	// CreateOrg inserts o.
	CreateOrg(ctx context.Context, o *Organisation) error
	// Org returns the realm's organisation id.
	Org(ctx context.Context, realm, id string) (*Organisation, error)
	// OrgByApprovalHash returns the realm's organisation whose approval
	// link has the hash.
	OrgByApprovalHash(ctx context.Context, realm string, hash []byte) (*Organisation, error)
	// UpdateOrg saves o's name, status, policy, decision time and
	// approval link.
	UpdateOrg(ctx context.Context, o *Organisation) error
	// DeleteOrg deletes the organisation with its memberships and
	// invitations.
	DeleteOrg(ctx context.Context, realm, id string) error
	// OrgsCreatedSince counts the organisations the account created in
	// the realm at or after t.
	OrgsCreatedSince(ctx context.Context, realm, accountID string, t time.Time) (int, error)
	// PendingOrgs lists the realm's organisations pending approval, the
	// oldest first, at most limit.
	PendingOrgs(ctx context.Context, realm string, limit int) ([]*Organisation, error)
}

// MemberStore keeps memberships. Methods take part in the transaction
// carried by ctx.
type MemberStore interface {
	// AddMember inserts m; an account already a member is
	// ninsho.CodeConflict.
	AddMember(ctx context.Context, m *Membership) error
	// Member returns the account's membership, or ninsho.CodeNotFound.
	Member(ctx context.Context, realm, orgID, accountID string) (*Membership, error)
	// Members lists the organisation's members with their account's name
	// and e-mail address, by joining time then account id.
	Members(ctx context.Context, realm, orgID string) ([]*Membership, error)
	// CountMembers counts the organisation's members with the role, or
	// all of them for role "".
	CountMembers(ctx context.Context, realm, orgID string, role Role) (int, error)
	// SetRole changes a member's role (ninsho.CodeNotFound for a
	// non-member).
	SetRole(ctx context.Context, realm, orgID, accountID string, role Role) error
	// RemoveMember deletes a membership and reports whether there was one.
	RemoveMember(ctx context.Context, realm, orgID, accountID string) (bool, error)
	// Affiliations lists the organisations the account belongs to with
	// its role, by joining time then organisation id.
	Affiliations(ctx context.Context, realm, accountID string) ([]Affiliation, error)
}

// InvitationStore keeps invitations. Methods take part in the transaction
// carried by ctx.
type InvitationStore interface {
	// CreateInvitation inserts inv.
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// Invitation returns the organisation's invitation id, or
	// ninsho.CodeNotFound.
	Invitation(ctx context.Context, realm, orgID, id string) (*Invitation, error)
	// InvitationByHash returns the realm's invitation whose token has the
	// hash, or ninsho.CodeNotFound.
	InvitationByHash(ctx context.Context, realm string, hash []byte) (*Invitation, error)
	// PendingInvitations lists the organisation's invitations neither
	// accepted, revoked nor expired at now, the newest first.
	PendingInvitations(ctx context.Context, realm, orgID string, now time.Time) ([]*Invitation, error)
	// InvitationsSince counts the realm's invitations of the scope
	// created at or after t, whatever became of them.
	InvitationsSince(ctx context.Context, realm string, of InvitationScope, t time.Time) (int, error)
	// FinishInvitation marks a pending invitation accepted by accountID
	// at t (accountID "": revoked at t) and reports whether it was still
	// pending (neither accepted nor revoked).
	FinishInvitation(ctx context.Context, realm, id, accountID string, t time.Time) (bool, error)
	// RevokeInvitationsTo revokes at t the organisation's pending
	// invitations to the address and returns how many.
	RevokeInvitationsTo(ctx context.Context, realm, orgID, email string, t time.Time) (int, error)
	// DeleteInvitationsOf deletes the realm's invitations sent by the
	// account or to the address (the account's purge).
	DeleteInvitationsOf(ctx context.Context, realm, accountID, email string) (int, error)
	// PurgeInvitations deletes up to limit invitations accepted, revoked
	// or expired before t.
	PurgeInvitations(ctx context.Context, t time.Time, limit int) (int, error)
}

// InvitationScope says which invitations InvitationsSince counts: those
// matching every field set (at least one is).
type InvitationScope struct {
	Org       string // of this organisation
	Email     string // to this address (normalised)
	InvitedBy string // sent by this account
}

// Store is every store the service uses, as store.DB implements them.
type Store interface {
	OrgStore
	MemberStore
	InvitationStore
}
