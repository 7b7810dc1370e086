// Package risk decides, for every sign-in attempt, whether to allow it, ask
// for a CAPTCHA, ask for a verification code, or refuse it, and says why.
// It is pure: the caller gathers the signals (device and network
// familiarity, counters, the request) and stores the decision's reasons
// with the sign-in event.
package risk

import "time"

// Action is what a decision asks for.
type Action string

// Actions, from mildest to hardest.
const (
	Allow   Action = "allow"
	Captcha Action = "captcha"
	Code    Action = "code" // a verification code to a channel of the account
	Deny    Action = "deny" // rate limited: 429 with Retry-After
)

// Reason names one signal that moved the decision. Reasons are stable strings,
// stored with events and shown to staff.
type Reason string

// Reasons.
const (
	ReasonDeviceUnfamiliar     Reason = "device_unfamiliar"
	ReasonNetworkUnfamiliar    Reason = "network_unfamiliar"
	ReasonIdentifierFailures   Reason = "identifier_failures"
	ReasonAddressVelocity      Reason = "address_velocity"
	ReasonPrefixVelocity       Reason = "prefix_velocity"
	ReasonDeviceVelocity       Reason = "device_velocity"
	ReasonAddressManyAccounts  Reason = "address_many_accounts"
	ReasonAccountManyAddresses Reason = "account_many_addresses"
	ReasonSignoutChurn         Reason = "signout_churn"
	ReasonNoUserAgent          Reason = "automation_no_user_agent"
	ReasonHeadlessUserAgent    Reason = "automation_headless"
	ReasonTooFast              Reason = "automation_too_fast"
	ReasonHeightened           Reason = "heightened_protection"
)

// Signals are what is known about one attempt. Counts are over the windows of
// the Policy; the caller reads them from the shared counters before the
// attempt is counted.
type Signals struct {
	DeviceFamiliar  bool // the account completed a sign-in or sign-up on this device
	NetworkFamiliar bool // a sign-in of the account succeeded from this /24 (IPv4) or /48 (IPv6) within 90 days
	AccountKnown    bool // the identifier has an account (false: counters only)

	// IdentifierFailures counts failed passwords for the identifier within
	// Policy.FailureWindow from devices unfamiliar to the account;
	// IdentifierFailuresFamiliar those from familiar devices.
	IdentifierFailures         int
	IdentifierFailuresFamiliar int
	// AddressAttempts and PrefixAttempts count sign-in attempts from the
	// client address and its prefix in the last minute, failures counted
	// twice.
	AddressAttempts int
	PrefixAttempts  int
	// DeviceAttempts counts sign-in attempts carrying the same device token
	// in the last minute, failures counted twice (a bot that keeps its
	// cookie while hopping addresses).
	DeviceAttempts int
	// AddressAccounts counts distinct identifiers tried from the address in
	// Policy.SprayWindow; AccountAddresses distinct addresses that tried the
	// identifier in the same window.
	AddressAccounts  int
	AccountAddresses int
	// RecentSignouts counts the account's sign-outs in Policy.ChurnWindow.
	RecentSignouts int

	UserAgent string
	// FormElapsed is how long the person took from showing the form to
	// submitting it; 0 when unknown (API clients, which send no form).
	// A page post that did not come from a form as the page rendered it
	// (its time missing, malformed or ahead of the clock) is
	// FormNotRendered: sent at once.
	FormElapsed time.Duration

	Heightened    bool // the realm's "heightened protection" switch is on
	CaptchaSolved bool // the flow already passed a CAPTCHA
}

// FormNotRendered is the Signals.FormElapsed of a page post that does not
// carry the time its form was rendered, or carries one that cannot be true:
// it is counted as sent at once, so that leaving the time out or forging a
// future one does not escape the "sent too fast" signal (which still counts
// only together with another one, see BeforePassword).
const FormNotRendered = time.Millisecond

// Decision is the outcome with the reasons that led to it, in the order of the
// Reason constants (none for Allow). RetryAfter is set for Deny.
type Decision struct {
	Action     Action
	Reasons    []Reason
	RetryAfter time.Duration
}

// Policy holds the thresholds; realms may override them.
type Policy struct {
	FailureWindow           time.Duration // window of IdentifierFailures (15 min)
	CaptchaAfterFailures    int           // from unfamiliar devices (3)
	CaptchaAfterFailuresFam int           // from familiar devices (5)
	AddressPerMinute        int           // attempts per address per minute, failures double (100)
	PrefixPerMinute         int           // attempts per prefix per minute (1,000)
	DevicePerMinute         int           // attempts per device token per minute, failures double (30)
	SprayWindow             time.Duration // window of AddressAccounts / AccountAddresses (1 h)
	CaptchaAddressAccounts  int           // distinct identifiers from one address before a CAPTCHA (10)
	CaptchaAccountAddresses int           // distinct addresses on one identifier before a CAPTCHA (10)
	ChurnWindow             time.Duration // window of RecentSignouts (1 h)
	ChurnSignouts           int           // sign-outs that count as churn (5)
	MinFormTime             time.Duration // faster than this is automation (800 ms)
	LockAfterFailures       int           // unfamiliar-source failures before a lock (10)
	LockLadder              []time.Duration
	NetworkMemory           time.Duration // how long a network stays familiar (90 days)
}

// DefaultPolicy returns the thresholds of the issue: CAPTCHA after 3 failed
// passwords in 15 minutes from unfamiliar devices (5 from familiar ones), 100
// attempts a minute per address (failures double), 1,000 per prefix, a lock
// for unfamiliar sources after 10 failures lasting 1 min, 5 min, 30 min, 2 h,
// then 24 h.
func DefaultPolicy() Policy {
	return Policy{
		FailureWindow:           15 * time.Minute,
		CaptchaAfterFailures:    3,
		CaptchaAfterFailuresFam: 5,
		AddressPerMinute:        100,
		PrefixPerMinute:         1000,
		DevicePerMinute:         30,
		SprayWindow:             time.Hour,
		CaptchaAddressAccounts:  10,
		CaptchaAccountAddresses: 10,
		ChurnWindow:             time.Hour,
		ChurnSignouts:           5,
		MinFormTime:             800 * time.Millisecond,
		LockAfterFailures:       10,
		LockLadder:              []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 24 * time.Hour},
		NetworkMemory:           90 * 24 * time.Hour,
	}
}
