package account

import (
	"context"
	"time"
)

// SuspensionReason is the public reason of a suspension: what the owner is
// told at sign-in, from a fixed list with Japanese and English texts
// ("error.account_suspended.<reason>" in the catalogue).
type SuspensionReason string

// The public reasons staff choose from.
const (
	ReasonUnusualActivity SuspensionReason = "unusual_activity"
	ReasonPaymentProblem  SuspensionReason = "payment_problem"
	ReasonTermsOfUse      SuspensionReason = "terms_of_use"
	ReasonOwnerRequest    SuspensionReason = "owner_request"
)

// SuspensionReasons lists the public reasons in the order staff see them.
var SuspensionReasons = []SuspensionReason{ReasonUnusualActivity, ReasonPaymentProblem, ReasonTermsOfUse, ReasonOwnerRequest}

// Valid reports whether r is one of SuspensionReasons.
func (r SuspensionReason) Valid() bool {
	for _, x := range SuspensionReasons {
		if r == x {
			return true
		}
	}
	return false
}

// Suspension is one suspension of an account by staff. Reference (caseref
// kind S) and Reason are shown to the owner at sign-in; Note, the staff's
// written reason, never is. LiftedAt is nil while it is in force.
type Suspension struct {
	Reference string
	Realm     string
	AccountID string
	Reason    SuspensionReason
	Note      string
	By        string // the actor who suspended: "staff:<id>"
	At        time.Time
	LiftedAt  *time.Time
	LiftedBy  string // "staff:<id>" once lifted
	LiftNote  string // the written reason of the reinstatement
}

// SuspensionStore keeps suspensions. Methods take part in the transaction
// carried by ctx.
type SuspensionStore interface {
	// AddSuspension inserts s. At most one suspension of an account is in
	// force: ninsho.CodeConflict when one is; ninsho.CodeConflict too when
	// the reference is taken (the caller draws another).
	AddSuspension(ctx context.Context, s *Suspension) error
	// ActiveSuspension returns the account's suspension in force, or
	// ninsho.CodeNotFound.
	ActiveSuspension(ctx context.Context, accountID string) (*Suspension, error)
	// SuspensionByReference returns the suspension with the reference (in
	// force or lifted), or ninsho.CodeNotFound.
	SuspensionByReference(ctx context.Context, reference string) (*Suspension, error)
	// LiftSuspension marks the account's suspension in force lifted at at
	// by by with note and returns it; ninsho.CodeNotFound when none is in
	// force.
	LiftSuspension(ctx context.Context, accountID, by, note string, at time.Time) (*Suspension, error)
	// Suspensions lists the account's suspensions, newest first, at most
	// limit.
	Suspensions(ctx context.Context, accountID string, limit int) ([]Suspension, error)
}

// ResetRequirementStore keeps the accounts whose owner staff asked to set a
// new password: a sign-in with the right password is refused
// (ninsho.CodePasswordResetRequired) until a new password is set.
type ResetRequirementStore interface {
	// RequirePasswordReset marks the account (again: the newest by and at
	// stay).
	RequirePasswordReset(ctx context.Context, accountID, by string, at time.Time) error
	// PasswordResetRequired reports whether the account is marked.
	PasswordResetRequired(ctx context.Context, accountID string) (bool, error)
	// ClearPasswordReset removes the mark and reports whether there was one.
	ClearPasswordReset(ctx context.Context, accountID string) (bool, error)
}
