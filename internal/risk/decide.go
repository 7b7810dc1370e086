package risk

import (
	"strings"
	"time"
)

// RateWindow is the window of Signals.AddressAttempts and PrefixAttempts. It
// is also the RetryAfter of a rate-limited Deny: the engine has no clock, and
// after one window every attempt that was counted has left it.
const RateWindow = time.Minute

// BeforePassword decides an attempt before its password is checked, so that a
// refusal or a CAPTCHA costs no password hash.
//
// It denies when the address made AddressPerMinute attempts in the last
// minute or its prefix PrefixPerMinute; a solved CAPTCHA does not lift that.
// Otherwise it asks for a CAPTCHA, unless s.CaptchaSolved, when
//   - the attempt comes from an unfamiliar device and the identifier had
//     CaptchaAfterFailures failures from unfamiliar devices, or from a
//     familiar device and CaptchaAfterFailuresFam failures from familiar
//     devices. A familiar device never looks at failures from unfamiliar
//     ones: an attacker's failures do not put a CAPTCHA in front of the owner;
//   - an unfamiliar device uses an address that tried CaptchaAddressAccounts
//     identifiers, or tries an identifier that CaptchaAccountAddresses
//     addresses tried;
//   - the request looks automated: a headless or scripted user agent
//     (IsAutomationUserAgent) asks every device; no user agent at all asks
//     only unfamiliar devices, since a native app on the owner's own device
//     may send none;
//   - a form sent in less than MinFormTime from an unfamiliar device, but
//     only together with another signal: one of the above, or a weaker sign
//     below its threshold — a failed password for the identifier from an
//     unfamiliar device within FailureWindow, or the address having tried
//     another identifier within SprayWindow (AddressAccounts of 2 or more).
//     A password manager fills and sends a form 300–500 ms after the page
//     loads, on a new device too: speed alone asks nothing of it. A
//     familiar device's speed is never read.
//
// Heightened protection, sign-out churn and an unfamiliar network are not
// read here (see AfterPassword), nor is s.AccountKnown, so known and unknown
// identifiers are decided alike. A threshold of zero or less turns its check
// off. The decision lists every signal that fired, in the order of the Reason
// constants; an Allow lists none.
func (p Policy) BeforePassword(s Signals) Decision {
	d := Decision{Action: Allow}
	fam := s.DeviceFamiliar
	if fam {
		d.flag(reached(s.IdentifierFailuresFamiliar, p.CaptchaAfterFailuresFam), ReasonIdentifierFailures, Captcha)
	} else {
		d.flag(reached(s.IdentifierFailures, p.CaptchaAfterFailures), ReasonIdentifierFailures, Captcha)
	}
	if !fam {
		p.flagRates(&d, s)
	}
	d.flag(!fam && reached(s.AddressAccounts, p.CaptchaAddressAccounts), ReasonAddressManyAccounts, Captcha)
	d.flag(!fam && reached(s.AccountAddresses, p.CaptchaAccountAddresses), ReasonAccountManyAddresses, Captcha)
	d.flag(!fam && strings.TrimSpace(s.UserAgent) == "", ReasonNoUserAgent, Captcha)
	d.flag(IsAutomationUserAgent(s.UserAgent), ReasonHeadlessUserAgent, Captcha)
	// A password manager fills and sends a form in a blink, on the owner's
	// new device too: speed counts only on unfamiliar devices, and there
	// only together with another sign of an attack.
	fast := !fam && s.FormElapsed > 0 && s.FormElapsed < p.MinFormTime
	joined := len(d.Reasons) > 0 || s.IdentifierFailures >= 1 || s.AddressAccounts >= 2
	d.flag(fast && joined, ReasonTooFast, Captcha)

	switch {
	case d.Action == Deny:
		d.RetryAfter = RateWindow
	case d.Action == Captcha && s.CaptchaSolved:
		return Decision{Action: Allow}
	}
	return d
}

// OverRate is the part of BeforePassword that denies: for an attempt from a
// device unfamiliar to the account, a Deny (with RetryAfter RateWindow) when
// its address, prefix or device token is at its per-minute threshold, listing
// those reasons; otherwise an Allow. It reads only AddressAttempts,
// PrefixAttempts and DeviceAttempts, so a caller can decide it from those
// three counts before reading anything else; BeforePassword, given the same
// counts, denies alike. A familiar device is never over its rate.
func (p Policy) OverRate(s Signals) Decision {
	d := Decision{Action: Allow}
	if s.DeviceFamiliar {
		return d
	}
	p.flagRates(&d, s)
	if d.Action == Deny {
		d.RetryAfter = RateWindow
	}
	return d
}

// flagRates flags the per-minute rates of an unfamiliar device's attempt.
func (p Policy) flagRates(d *Decision, s Signals) {
	// Per address and network: a flood from one place. The owner's own
	// device shares the place (an office, a carrier's NAT) but not the
	// flood: it is not refused for strangers' attempts.
	d.flag(reached(s.AddressAttempts, p.AddressPerMinute), ReasonAddressVelocity, Deny)
	d.flag(reached(s.PrefixAttempts, p.PrefixPerMinute), ReasonPrefixVelocity, Deny)
	// Per device: a bot that keeps one cookie while hopping addresses and
	// accounts. A device familiar to the account is its owner's.
	d.flag(reached(s.DeviceAttempts, p.DevicePerMinute), ReasonDeviceVelocity, Deny)
}

// AfterPassword decides an attempt whose password was right: whether to ask
// for a verification code before the sign-in completes.
//
// An unfamiliar device always gets a Code. A familiar device on an unfamiliar
// network gets one only when another signal joins the network: a failed
// password for the identifier from an unfamiliar device in FailureWindow,
// CaptchaAccountAddresses addresses on the identifier, ChurnSignouts
// sign-outs in ChurnWindow, or heightened protection. So heightened
// protection asks a code of every unfamiliar device or network, and sign-out
// churn on its own (the owner signing in and out on their own device and
// network) is allowed. A familiar device on a familiar network is always
// allowed. Automation signs were judged by BeforePassword and are not read.
// A Code lists every signal that fired, in the order of the Reason constants;
// an Allow lists none.
func (p Policy) AfterPassword(s Signals) Decision {
	churn := reached(s.RecentSignouts, p.ChurnSignouts)
	spread := reached(s.AccountAddresses, p.CaptchaAccountAddresses)
	joined := s.IdentifierFailures >= 1 || spread || churn || s.Heightened
	if s.DeviceFamiliar && (s.NetworkFamiliar || !joined) {
		return Decision{Action: Allow}
	}
	d := Decision{Action: Code}
	d.flag(!s.DeviceFamiliar, ReasonDeviceUnfamiliar, Code)
	d.flag(!s.NetworkFamiliar, ReasonNetworkUnfamiliar, Code)
	d.flag(s.IdentifierFailures >= 1, ReasonIdentifierFailures, Code)
	d.flag(spread, ReasonAccountManyAddresses, Code)
	d.flag(churn, ReasonSignoutChurn, Code)
	d.flag(s.Heightened, ReasonHeightened, Code)
	return d
}

// LockFor returns how long the level-th lock of an account lasts: level 1 is
// LockLadder[0], and levels beyond the ladder stay on its last rung. It
// returns 0 (no lock) for a level below 1 or an empty ladder.
func (p Policy) LockFor(level int) time.Duration {
	if level < 1 || len(p.LockLadder) == 0 {
		return 0
	}
	return p.LockLadder[min(level, len(p.LockLadder))-1]
}

// Strings returns the reasons as strings, for events; an empty, non-nil
// slice when there are none.
func (d Decision) Strings() []string {
	out := make([]string, len(d.Reasons))
	for i, r := range d.Reasons {
		out[i] = string(r)
	}
	return out
}

// flag records reason r when the signal fired and raises the action to a if
// that is harder.
func (d *Decision) flag(fired bool, r Reason, a Action) {
	if !fired {
		return
	}
	d.Reasons = append(d.Reasons, r)
	if severity[a] > severity[d.Action] {
		d.Action = a
	}
}

// severity orders the actions from mildest to hardest.
var severity = map[Action]int{Allow: 0, Captcha: 1, Code: 2, Deny: 3}

// reached reports whether count is at a threshold; a threshold of zero or less
// is off.
func reached(count, threshold int) bool {
	return threshold > 0 && count >= threshold
}
