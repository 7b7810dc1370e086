package contact

import (
	"context"
	"github.com/ninsho/ninsho/internal/account"
	"time"
)

// Kind is which identifier a contact change is about.
type Kind string

// Kinds.
const (
	KindEmail Kind = "email"
	KindPhone Kind = "phone"
)

// UndoLifetime is how long the "undo — this wasn't me" link of a change's
// alert works, and how long the change's record is kept for it.
const UndoLifetime = 7 * 24 * time.Hour

// Change is one completed change of an account's e-mail address or phone
// number: what the undo link needs to put it back.
type Change struct {
	ID        string
	Realm     string
	AccountID string
	Kind      Kind
	// OldValue is the identifier before the change, normalised; "" when
	// the account had none of the kind (the identifier was added).
	OldValue string
	NewValue string
	// MovedTwoStep reports that the account's SMS or voice two-step
	// method moved from OldValue to NewValue with the change.
	MovedTwoStep bool
	CreatedAt    time.Time
	ExpiresAt    time.Time
	UndoneAt     *time.Time
}

// Added reports whether the change added an identifier the account did not
// have.
func (c *Change) Added() bool { return c.OldValue == "" }

// Removed reports whether the change removed the identifier
// (internal/profile's removal).
func (c *Change) Removed() bool { return c.NewValue == "" }

// Store keeps completed changes for their undo link. Methods take part in
// the transaction carried by ctx.
type Store interface {
	// AddContactChange inserts c.
	AddContactChange(ctx context.Context, c *Change) error
	// ContactChange returns the realm's change id, or ninsho.CodeNotFound.
	ContactChange(ctx context.Context, realm, id string) (*Change, error)
	// ContactChain returns the changes of from's account not undone yet
	// that are from itself or later (created_at, then id), oldest first:
	// what undoing from rolls back.
	ContactChain(ctx context.Context, from *Change) ([]*Change, error)
	// UndoContactChange marks the change undone at t; false when it was
	// undone already (of two concurrent calls exactly one gets true).
	UndoContactChange(ctx context.Context, id string, t time.Time) (bool, error)
	// PurgeContactChanges deletes at most limit changes whose link expired
	// before cutoff, in one statement.
	PurgeContactChanges(ctx context.Context, cutoff time.Time, limit int) (int, error)
	// The account a change or its undo writes is read held, so that a
	// removal or another change of the same account waits for it.
	account.Holder
}
