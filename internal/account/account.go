// Package account holds the account record, its states and the store contract
// for accounts and their password credential.
package account

import (
	"context"
	"time"
)

// Status is an account's lifecycle state.
type Status string

// Account states (DESIGN §2.1).
const (
	StatusPending   Status = "pending"   // signed up, identifier not yet confirmed
	StatusActive    Status = "active"    // normal
	StatusLocked    Status = "locked"    // locked after unusual activity
	StatusSuspended Status = "suspended" // suspended by staff
	StatusClosed    Status = "closed"    // closed by the owner or staff
)

// Type is the kind of account; policies (e.g. mandatory 2SV) depend on it.
type Type string

// Account types.
const (
	TypeCustomer Type = "customer"
	TypeSeller   Type = "seller"
	TypeBusiness Type = "business"
)

// PendingLifetime is how long an unconfirmed sign-up is kept.
const PendingLifetime = 7 * 24 * time.Hour

// Account is one person's account in one realm. Email and Phone are stored
// normalised (lowercase e-mail, E.164 phone); at least one is set.
type Account struct {
	ID              string
	Realm           string
	Type            Type
	Status          Status
	Name            string
	Email           string // "" when the account has no e-mail address
	EmailVerifiedAt *time.Time
	Phone           string // "" when the account has no phone number
	PhoneVerifiedAt *time.Time
	Locale          string // "ja" or "en"
	CreatedAt       time.Time
	UpdatedAt       time.Time

	// Lock is the smart-lockout state. It is written only through
	// LockStore, never by UpdateAccount, so that concurrent failures are
	// counted exactly.
	Lock Lock
	// FailedUnfamiliar counts failed passwords from unfamiliar sources since
	// the last lock.
	FailedUnfamiliar int
}

// LockKind says whom a lock stops.
type LockKind string

// Lock kinds.
const (
	// LockNone: not locked.
	LockNone LockKind = ""
	// LockUnfamiliar stops sign-ins from unfamiliar devices until Until; the
	// owner on a familiar device still gets in.
	LockUnfamiliar LockKind = "unfamiliar"
	// LockSuspicious stops every sign-in until the owner proves a verified
	// channel with a code and sets a new password (status locked).
	LockSuspicious LockKind = "suspicious"
)

// Lock is an account's lock state.
type Lock struct {
	Kind     LockKind
	Until    *time.Time // end of an unfamiliar lock
	Level    int        // rungs climbed on the lock ladder
	LockedAt *time.Time // when the current (or last) lock began
}

// LockedFor reports whether the lock stops a sign-in at now from a device
// that is (familiar) or is not familiar to the account.
func (l Lock) LockedFor(now time.Time, familiar bool) bool {
	switch l.Kind {
	case LockSuspicious:
		return true
	case LockUnfamiliar:
		return !familiar && l.Until != nil && now.Before(*l.Until)
	}
	return false
}

// LockStore changes lock state atomically. Methods take part in the
// transaction carried by ctx.
type LockStore interface {
	// AddUnfamiliarFailure adds one failed password from an unfamiliar source
	// and returns the new count.
	AddUnfamiliarFailure(ctx context.Context, accountID string) (int, error)
	// SetLock writes l and resets the failure count to zero.
	SetLock(ctx context.Context, accountID string, l Lock) error
}

// Holder reads an account for a change that depends on what it reads
// (which identifiers remain, whether one is verified).
type Holder interface {
	// HeldAccount returns the account with the id, like Store.Account,
	// and holds it until the transaction of ctx ends: another transaction
	// that holds the same account waits, then reads what this one wrote.
	// Two changes that each check the other's state (remove the e-mail
	// address, remove the phone number) cannot both pass. Outside a
	// transaction it is Store.Account.
	HeldAccount(ctx context.Context, id string) (*Account, error)
}

// Store keeps accounts and their password hashes. Methods take part in the
// transaction carried by ctx, if any (ninsho.TxRunner).
type Store interface {
	// CreateAccount inserts a. It fails with ninsho.CodeIdentifierTaken when
	// the e-mail or phone is already used in the realm.
	CreateAccount(ctx context.Context, a *Account) error
	// Account returns the account with the id, or ninsho.CodeAccountNotFound.
	Account(ctx context.Context, id string) (*Account, error)
	// AccountByEmail returns the realm's account with the normalised e-mail
	// address, or ninsho.CodeAccountNotFound.
	AccountByEmail(ctx context.Context, realm, email string) (*Account, error)
	// AccountByPhone returns the realm's account with the E.164 phone number,
	// or ninsho.CodeAccountNotFound.
	AccountByPhone(ctx context.Context, realm, phone string) (*Account, error)
	// UpdateAccount writes every mutable field of a (status, name, identifiers,
	// verification times, locale, type, updated_at). ninsho.CodeIdentifierTaken
	// when a changed identifier is used by another account.
	UpdateAccount(ctx context.Context, a *Account) error
	// DeletePendingAccount removes an account that is still pending, with its
	// credentials, device links and sessions; its codes are kept so that the
	// hourly cap per destination still counts them. It returns false (and no
	// error) when the account is not pending or does not exist.
	DeletePendingAccount(ctx context.Context, id string) (bool, error)
	// PurgePendingAccounts removes pending accounts created before t and
	// returns how many.
	PurgePendingAccounts(ctx context.Context, createdBefore time.Time) (int, error)
	// PasswordHash returns the account's encoded password hash, or
	// ninsho.CodeNotFound when it has none.
	PasswordHash(ctx context.Context, accountID string) (string, error)
	// SetPasswordHash stores (inserts or replaces) the account's password hash.
	SetPasswordHash(ctx context.Context, accountID, hash string, at time.Time) error
}
