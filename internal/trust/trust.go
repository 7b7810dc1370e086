// Package trust holds trusted devices: a device on which an account's
// owner, after a right second factor, asked not to be asked for it again
// ("don't ask for a code on this device"). For the realm's
// two_step.trusted_device_days, a sign-in of that account from that device
// with the right password needs no second factor (authflow decides when).
//
// A trusted device is only ever the owner's: it is written by a right
// second factor on the flow's own device, counts for that account only,
// and every one of the account's is forgotten on a password change, a
// "this wasn't me" and a two-step verification reset.
package trust

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/event"
)

// Event types of trusted devices: the event package's, named here for
// the service's readers.
const (
	// EventTrusted: a device became trusted (or its trust was extended).
	EventTrusted = event.TypeTrustedDeviceAdded
	// EventRevoked: the owner forgot one trusted device.
	EventRevoked = event.TypeTrustedDeviceRevoked
	// EventCleared: every trusted device of the account was forgotten
	// (Data["reason"]: one of the Reason* values, Data["count"]).
	EventCleared = event.TypeTrustedDeviceCleared
)

// Reasons every trusted device of an account is forgotten (ForgetAll).
const (
	ReasonOwner           = "owner"            // the owner forgot them all
	ReasonPasswordChanged = "password_changed" // a new password (assistant, unlock)
	ReasonNotMe           = "not_me"           // "this wasn't me"
	ReasonTwoStepOff      = "two_step_off"     // two-step verification turned off
)

// UseInterval is how often, at most, a trusted device's last use is
// written: a sign-in within it of the last written use writes nothing.
const UseInterval = time.Minute

// Device is one trusted device of an account.
type Device struct {
	ID        string // UUIDv7 of the row, what the owner's list shows
	Realm     string
	AccountID string
	// DeviceID is the device (device.Device.ID) that is trusted.
	DeviceID string
	// UserAgent is the browser as it introduced itself when trusted (at
	// most 512 bytes); device.Describe puts it into words.
	UserAgent string
	// Network is the /24 or /48 prefix it was trusted from (risk.Prefix),
	// "" when unknown.
	Network    string
	CreatedAt  time.Time
	LastUsedAt time.Time
	ExpiresAt  time.Time
}

// Store keeps trusted devices. Every method but PurgeTrustedDevices sees
// only the rows of one account of one realm: another account's or realm's
// rows are not found. Methods take part in the transaction carried by ctx,
// if any (ninsho.TxRunner).
type Store interface {
	// TrustDevice stores d, or, when the account already trusts d.DeviceID,
	// extends that row: ExpiresAt, LastUsedAt, UserAgent and Network are
	// written, ID and CreatedAt stay (d gets the stored ones back). An
	// account that is not in d.Realm is ninsho.CodeAccountNotFound.
	TrustDevice(ctx context.Context, d *Device) error
	// UseTrustedDevice reports whether the account trusts deviceID at now
	// (a row whose ExpiresAt is after now) and, when it does, moves its
	// LastUsedAt to now if that is at least UseInterval later.
	UseTrustedDevice(ctx context.Context, realm, accountID, deviceID string, now time.Time) (bool, error)
	// TrustedDevices returns the account's devices trusted at now, the
	// most recently used first.
	TrustedDevices(ctx context.Context, realm, accountID string, now time.Time) ([]Device, error)
	// RevokeTrustedDevice deletes the account's row id and returns it; an
	// unknown id is ninsho.CodeNotFound.
	RevokeTrustedDevice(ctx context.Context, realm, accountID, id string) (*Device, error)
	// RevokeTrustedDevices deletes every row of the account, expired or
	// not, and returns how many.
	RevokeTrustedDevices(ctx context.Context, realm, accountID string) (int, error)
	// PurgeTrustedDevices deletes at most limit rows, of any account, that
	// expired before cutoff, and returns how many.
	PurgeTrustedDevices(ctx context.Context, cutoff time.Time, limit int) (int, error)
}
