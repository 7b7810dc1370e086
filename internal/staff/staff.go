// Package staff is the staff side of Ninsho: staff accounts, apart from
// customer accounts, with a role, a password and a mandatory authenticator
// app (TOTP); their enrolment by a single-use link; console sessions; and
// the one table of what each role may do (Can).
//
// The package holds rules only: the console pages (internal/console) and
// the CLI call it, and internal/store keeps its rows.
package staff

import (
	"context"
	"time"
)

// Role is what a staff member may do (Can).
type Role string

// Roles.
const (
	RoleAgent    Role = "agent"    // finds accounts, reads timelines, acts on accounts
	RoleReviewer Role = "reviewer" // an agent who also decides document recovery cases
	RoleAdmin    Role = "admin"    // everything, and manages staff and OAuth clients
)

// Roles lists the roles, least first.
var Roles = []Role{RoleAgent, RoleReviewer, RoleAdmin}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r == RoleAgent || r == RoleReviewer || r == RoleAdmin }

// Permission is one thing the console lets staff do.
type Permission string

// Permissions.
const (
	PermFindAccounts      Permission = "find_accounts"
	PermTimeline          Permission = "timeline"
	PermAccountActions    Permission = "account_actions"
	PermRecoveryDocuments Permission = "recovery_documents"
	PermRecoveryDecisions Permission = "recovery_decisions"
	PermHelpRequests      Permission = "help_requests"
	PermManageStaff       Permission = "manage_staff"
	// PermManageClients: list, register and delete the realms' OAuth /
	// OpenID Connect clients (/console/clients).
	PermManageClients Permission = "manage_clients"
	// PermOrgApprovals: approve or reject business organisations waiting
	// for approval (org.Service.DecideByStaff).
	PermOrgApprovals Permission = "org_approvals"
	// PermManageRealms: see, create and change the realms' settings
	// (/console/realms; admins).
	PermManageRealms Permission = "manage_realms"
)

// permissions is the one table of who may do what.
var permissions = map[Role][]Permission{
	RoleAgent: {PermFindAccounts, PermTimeline, PermAccountActions, PermHelpRequests},
	RoleReviewer: {PermFindAccounts, PermTimeline, PermAccountActions, PermHelpRequests, PermRecoveryDocuments, PermRecoveryDecisions,
		PermOrgApprovals},
	RoleAdmin: {PermFindAccounts, PermTimeline, PermAccountActions, PermHelpRequests, PermRecoveryDocuments, PermRecoveryDecisions,
		PermManageStaff, PermManageClients, PermOrgApprovals, PermManageRealms},
}

// Can reports whether a staff member with the role may do p. An unknown
// role may do nothing.
func Can(r Role, p Permission) bool {
	for _, x := range permissions[r] {
		if x == p {
			return true
		}
	}
	return false
}

// Status is a staff account's state.
type Status string

// Staff account states.
const (
	StatusInvited  Status = "invited"  // created; the enrolment link not yet used
	StatusActive   Status = "active"   // enrolled: password and authenticator app
	StatusDisabled Status = "disabled" // may not sign in
)

// Staff is one staff account. Email is stored lower case. TOTPSealed is
// the authenticator app's secret sealed by secret.Box (bound to the id);
// TOTPLastStep the last step accepted, so a code is never accepted twice.
// EnrolHash is the keyed hash of the enrolment link's token while the
// account is invited (nil after).
type Staff struct {
	ID             string
	Email          string
	Name           string
	Role           Role
	Status         Status
	PasswordHash   string
	TOTPSealed     []byte
	TOTPLastStep   int64
	EnrolHash      []byte
	EnrolExpiresAt time.Time
	LockedUntil    time.Time // sign-in paused until then (zero: not)
	CreatedAt      time.Time
	LastSignInAt   time.Time // zero: never
}

// Actor is the name of the staff member in events: "staff:<id>".
func (s *Staff) Actor() string { return "staff:" + s.ID }

// Store keeps staff accounts. Methods take part in the transaction carried
// by ctx.
type Store interface {
	// CreateStaff inserts s; ninsho.CodeIdentifierTaken (field email) when
	// the e-mail address has a staff account.
	CreateStaff(ctx context.Context, s *Staff) error
	// Staff returns the staff account with the id, or ninsho.CodeNotFound.
	Staff(ctx context.Context, id string) (*Staff, error)
	// StaffByEmail returns the staff account with the lower-case address,
	// or ninsho.CodeNotFound.
	StaffByEmail(ctx context.Context, email string) (*Staff, error)
	// StaffByEnrolHash returns the invited staff account whose enrolment
	// link has the hash, or ninsho.CodeNotFound.
	StaffByEnrolHash(ctx context.Context, hash []byte) (*Staff, error)
	// UpdateStaff writes every mutable field of s (name, role, status,
	// password hash, TOTP, enrolment, lock, last sign-in);
	// ninsho.CodeNotFound when there is no such row.
	UpdateStaff(ctx context.Context, s *Staff) error
	// ListStaff returns every staff account, by e-mail address.
	ListStaff(ctx context.Context) ([]Staff, error)
	// AcceptTOTPStep stores step as the account's last accepted TOTP step
	// and at as its last sign-in, only if step is later than the stored
	// one, in one statement: of two sign-ins with the same code, one wins.
	// It reports whether it did.
	AcceptTOTPStep(ctx context.Context, id string, step int64, at time.Time) (bool, error)
}

// Session is a console session. AAL 1 is a password proved, waiting for the
// authenticator code (it opens nothing but the code page); AAL 2 is signed
// in. Only the keyed hash of the token is stored.
type Session struct {
	ID         string
	TokenHash  []byte
	StaffID    string
	AAL        int
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute end
}

// SessionStore keeps console sessions.
type SessionStore interface {
	// CreateStaffSession inserts s.
	CreateStaffSession(ctx context.Context, s *Session) error
	// StaffSessionByHash returns the session with the token hash, or
	// ninsho.CodeUnauthenticated.
	StaffSessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// TouchStaffSession sets the session's last_seen_at to at.
	TouchStaffSession(ctx context.Context, id string, at time.Time) error
	// DeleteStaffSession removes the session (no error when it is gone).
	DeleteStaffSession(ctx context.Context, id string) error
	// DeleteStaffSessions removes every session of the staff account and
	// returns how many.
	DeleteStaffSessions(ctx context.Context, staffID string) (int, error)
	// DeleteExpiredStaffSessions removes sessions whose absolute end is
	// before t and returns how many.
	DeleteExpiredStaffSessions(ctx context.Context, before time.Time) (int, error)
}
