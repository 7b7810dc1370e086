// Package event is the audit trail: every state change that matters is an
// event with who, when and from where. Events never carry secrets.
package event

import (
	"context"
	"strings"
	"time"
)

// Event types.
const (
	TypeSignupStarted    = "signup.started"
	TypeSignupCompleted  = "signup.completed"
	TypeSigninSucceeded  = "signin.succeeded"
	TypeSigninFailed     = "signin.failed"
	TypeSigninChallenged = "signin.challenged"
	TypeAccountLocked    = "account.locked"
	TypeAccountUnlocked  = "account.unlocked"
	TypeUnlockStarted    = "unlock.started"
	TypeResetStarted     = "password_assistant.started"
	TypePasswordChanged  = "password.changed"
	TypeSigninAlertSent  = "signin.alert_sent"
	TypeSignout          = "signout"
	TypeCodeSent         = "code.sent"
	TypePasswordRehashed = "password.rehashed"
	TypeAccountPurged    = "account.purged"
	TypeAccountClosed    = "account.closed"   // the owner closed the account (closure)
	TypeAccountReopened  = "account.reopened" // a closed account was reopened by signing in

	// Two-step verification (twostep.Service).
	TypeTwoStepEnrolStarted  = "two_step.enrol_started"  // an unproved method was added
	TypeTwoStepMethodAdded   = "two_step.method_added"   // a method was proved
	TypeTwoStepMethodRemoved = "two_step.method_removed" // a method was removed
	TypeTwoStepPreferred     = "two_step.preferred"      // the preferred method changed
	TypeTwoStepEnabled       = "two_step.enabled"        // 2SV turned on
	TypeTwoStepDisabled      = "two_step.disabled"       // 2SV turned off
	TypeTwoStepBackupCodes   = "two_step.backup_codes"   // backup codes (re)generated

	// TypeSessionReauthenticated: a signed-in person proved who they are
	// again (internal/reauth).
	TypeSessionReauthenticated = "session.reauthenticated"

	// TypeSigninSecondFactorFailed: someone who got past the first step of
	// a flow (the right password, or a code sent to the account) failed its
	// second-factor challenge: reason attempts_exceeded (the flow failed) or
	// codes_paused (the account's wrong-code guard paused its codes); kind
	// is the flow's kind, alerted whether the owner was told
	// (authflow.FactorFailedAlertEvery).
	TypeSigninSecondFactorFailed = "signin.second_factor_failed"

	// Trusted devices (trust.Service; trust.EventTrusted, EventRevoked and
	// EventCleared name these).
	TypeTrustedDeviceAdded   = "trusted_device.added"   // a device became trusted (or its trust was extended)
	TypeTrustedDeviceRevoked = "trusted_device.revoked" // the owner forgot one trusted device
	TypeTrustedDeviceCleared = "trusted_device.cleared" // every trusted device of the account was forgotten

	// Sessions and devices of the account's settings (internal/sessions):
	// data "session" is the session that did it.
	TypeSessionRevoked       = "session.revoked"        // the owner signed out one session ("revoked": its id)
	TypeSessionRevokedOthers = "session.revoked_others" // the owner signed out every other session ("count")
	TypeDeviceForgotten      = "device.forgotten"       // the owner forgot a familiar device ("device", "sessions_revoked", "trusted")
	// Contact changes (internal/contact): data kind (email, phone), flow,
	// change; never the identifiers themselves.
	TypeContactChangeStarted = "contact.change_started" // a code went to a new address (or, safe realm, would have)
	TypeContactChanged       = "contact.changed"        // the new address was proved and is the account's now
	TypeContactUndone        = "contact.undone"         // the owner undid a change with the alert's link
	// Document recovery cases (internal/recovery): data case (the
	// reference); a decision also its written reason, which only staff see.
	TypeRecoverySubmitted = "recovery.submitted" // the owner sent a case for review
	TypeRecoveryApproved  = "recovery.approved"  // staff approved it: two-step verification is off
	TypeRecoveryRejected  = "recovery.rejected"  // staff rejected it
	TypeRecoveryCancelled = "recovery.cancelled" // the owner cancelled it
)

// Event is one audit record.
type Event struct {
	ID        string
	Realm     string
	AccountID string // "" when no account is known (e.g. unknown identifier)
	Type      string
	Actor     string // "account:<id>", "staff:<id>", "system", "anonymous"
	IP        string
	UserAgent string
	DeviceID  string
	RequestID string
	Data      map[string]any // reasons, results; never secrets
	At        time.Time
}

// Store appends and lists events. Methods take part in the transaction carried
// by ctx.
type Store interface {
	// AppendEvent stores e.
	AppendEvent(ctx context.Context, e *Event) error
	// AccountEvents lists the account's events since t, newest first, at most
	// limit.
	AccountEvents(ctx context.Context, accountID string, since time.Time, limit int) ([]*Event, error)
}

// DataStrings reads a list of strings from event data: []string as the
// services write it, or []any once read back from the store as JSON. Other
// values give nil.
func DataStrings(v any) []string {
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// ByStaff reports whether e was recorded by a staff member in the console
// (actor "staff:<id>").
func ByStaff(e *Event) bool { return strings.HasPrefix(e.Actor, "staff:") }
