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
