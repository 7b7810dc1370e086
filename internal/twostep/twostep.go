// Package twostep holds the records of two-step verification (2SV) and the
// store contracts for them: an account's second-factor methods
// (authenticator app, SMS, voice call, passkey), its 2SV state (on or off,
// the preferred method, the TOTP replay guard) and its backup codes.
//
// The store never sees a plain secret: TOTP secrets and WebAuthn credential
// data arrive sealed by the caller (secret.Box), and backup codes as keyed
// hashes. The rules that use these records (proving a method, checking a
// code, enrolment and sign-in) live in the services, not here.
package twostep

import (
	"context"
	"time"
)

// Method is the kind of a second-factor credential. Backup codes are not a
// credential: they are kept apart (BackupStore).
type Method string

// Methods.
const (
	MethodTOTP    Method = "totp"    // authenticator app, RFC 6238
	MethodSMS     Method = "sms"     // a code by text message to Phone
	MethodVoice   Method = "voice"   // a code read out by a voice call to Phone
	MethodPasskey Method = "passkey" // a WebAuthn credential
)

// Valid reports whether m is one of the methods above.
func (m Method) Valid() bool {
	switch m {
	case MethodTOTP, MethodSMS, MethodVoice, MethodPasskey:
		return true
	}
	return false
}

// BackupCodeCount is how many backup codes an account has after they were
// (re)generated, and the most a BackupStore keeps for one account.
const BackupCodeCount = 10

// Credential is one second-factor method of an account. It counts only once
// proved (ProvedAt set): a TOTP code from the app, a code sent by SMS or
// voice, a WebAuthn registration.
type Credential struct {
	ID        string // UUIDv7 (ninsho.NewID)
	Realm     string
	AccountID string
	Method    Method
	Label     string // what the person calls it ("iPhone", "YubiKey"), may be ""
	// Sealed is the TOTP secret or the WebAuthn credential data, sealed by
	// the caller with secret.Box; nil for SMS and voice.
	Sealed []byte
	// Phone is the E.164 number of an SMS or voice method, "" otherwise.
	Phone string
	// PasskeyID is the WebAuthn credential id of a passkey (unique in the
	// realm, for discoverable sign-in), nil otherwise.
	PasskeyID []byte
	// SignCount is the authenticator's last signature counter (passkeys).
	SignCount  uint32
	CreatedAt  time.Time
	LastUsedAt *time.Time
	ProvedAt   *time.Time
}

// Proved reports whether the credential counts as a method.
func (c Credential) Proved() bool { return c.ProvedAt != nil }

// State is an account's 2SV state. An account without a stored state has
// the zero State (off, no preferred method, no TOTP step accepted yet).
type State struct {
	Realm     string
	AccountID string
	Enabled   bool
	// Preferred is the id of the credential asked for first, "" for none.
	Preferred string
	// TOTPLastStep is the last TOTP time step accepted for the account (the
	// replay guard: a code is accepted only for a later step). It is written
	// only by Store.AdvanceTOTPStep, never by SetState.
	TOTPLastStep int64
	// UpdatedAt is when Enabled or Preferred were last written.
	UpdatedAt time.Time
}

// Store keeps an account's second-factor credentials and its 2SV state.
// Every method takes the account's realm and id and sees only that account's
// rows of that realm: a credential id of another account, or an account of
// another realm, is not found. Methods take part in the transaction carried
// by ctx, if any (ninsho.TxRunner).
type Store interface {
	// AddCredential inserts c. Unproved credentials of the same method that
	// the account left behind (an enrolment never finished) are removed
	// first, so there is at most one per method. A passkey id already used
	// in the realm is ninsho.CodeConflict; an account that is not in c's
	// realm is ninsho.CodeAccountNotFound. The transaction in ctx stays
	// usable after either.
	AddCredential(ctx context.Context, c *Credential) error
	// ProveCredential marks the credential proved at t (a credential proved
	// already keeps its first time). An unknown id is ninsho.CodeNotFound.
	ProveCredential(ctx context.Context, realm, accountID, id string, t time.Time) error
	// Credentials returns the account's credentials, proved or not, oldest
	// first.
	Credentials(ctx context.Context, realm, accountID string) ([]Credential, error)
	// CredentialByPasskeyID returns the realm's proved passkey with the
	// WebAuthn credential id, of whichever account, or ninsho.CodeNotFound.
	CredentialByPasskeyID(ctx context.Context, realm string, passkeyID []byte) (*Credential, error)
	// UseCredential records a use of a proved credential at t, with the
	// authenticator's signature counter (passkeys; 0 for the others). An
	// unknown or unproved id is ninsho.CodeNotFound.
	UseCredential(ctx context.Context, realm, accountID, id string, signCount uint32, t time.Time) error
	// RemoveCredential deletes the credential (its sealed secret goes with
	// it) and clears the preferred method when it was this one. An unknown
	// id is ninsho.CodeNotFound.
	RemoveCredential(ctx context.Context, realm, accountID, id string) error
	// State returns the account's 2SV state, the zero State (with Realm and
	// AccountID set) when none was stored.
	State(ctx context.Context, realm, accountID string) (State, error)
	// SetState writes st.Enabled, st.Preferred and st.UpdatedAt (not
	// TOTPLastStep). An account that is not in st.Realm is
	// ninsho.CodeAccountNotFound.
	SetState(ctx context.Context, st State) error
	// AdvanceTOTPStep records step as the account's last accepted TOTP step
	// if, and only if, it is later than the stored one, atomically: of two
	// concurrent calls with the same step exactly one returns true. A step
	// that is not positive, or an account not in realm, is never accepted.
	// t is the state's UpdatedAt only when this call creates it.
	AdvanceTOTPStep(ctx context.Context, realm, accountID string, step int64, t time.Time) (bool, error)
}

// BackupStore keeps an account's backup codes as keyed hashes, at most
// BackupCodeCount. Methods take part in the transaction carried by ctx.
type BackupStore interface {
	// ReplaceBackupCodes replaces every backup code of the account, used or
	// not, with hashes (none: the account has no backup codes any more), in
	// one step. More than BackupCodeCount hashes, or the same hash twice, is
	// an error and changes nothing.
	ReplaceBackupCodes(ctx context.Context, realm, accountID string, hashes [][]byte, t time.Time) error
	// UseBackupCode marks the unused code with the hash used at t and
	// reports whether this call did: a used, replaced or unknown code is
	// false, and of two concurrent calls with the same code exactly one is
	// true.
	UseBackupCode(ctx context.Context, realm, accountID string, hash []byte, t time.Time) (bool, error)
	// BackupCodesLeft counts the account's unused backup codes.
	BackupCodesLeft(ctx context.Context, realm, accountID string) (int, error)
	// BackupCodesSince reports whether the account has backup codes (used
	// or not) created at or after since.
	BackupCodesSince(ctx context.Context, realm, accountID string, since time.Time) (bool, error)
}
