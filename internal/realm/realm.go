// Package realm describes realms: separate account spaces with their own host
// names, languages, phone region and policies.
package realm

import (
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ninsho/ninsho/internal/risk"
)

// Disclosure says whether a realm tells people that an identifier has no
// account (explicit, like the marketplace) or answers alike (safe).
type Disclosure string

// Disclosure modes.
const (
	DisclosureExplicit Disclosure = "explicit"
	DisclosureSafe     Disclosure = "safe"
)

// Realm is one account space. Realms are seeded from the configuration and
// kept in the database (package realmset); a Realm value is never changed
// once a Registry holds it.
type Realm struct {
	ID            string     // short stable id, e.g. "jp"
	Name          string     // display name
	Hosts         []string   // host names that select this realm (lowercase, no port)
	DefaultLocale string     // "ja" or "en"
	PhoneRegion   string     // ISO 3166 region for national phone numbers, e.g. "JP"
	Disclosure    Disclosure // explicit or safe
	// HintRealms are the realms an identifier without an account here is
	// looked up in (config realms[].cross_realm_hint): a sign-in or
	// password assistant start with one that has an account there answers
	// ninsho.CodeAccountInOtherRealm. Explicit realms only.
	HintRealms []*Realm
	// PublicHost is the host name people see in messages (and in the
	// origin-bound SMS code line "@host #123456").
	PublicHost string
	// BaseURL is where links in messages point, e.g. "https://id.example.jp".
	BaseURL string
	// Heightened asks for a verification code on every sign-in from an
	// unfamiliar device or network (set during attacks).
	Heightened bool
	// TypoTolerance accepts a password typed with Caps Lock on or with the
	// first letter's case flipped, from familiar devices only.
	TypoTolerance bool
	// EmailOnly says that people identify themselves with an e-mail
	// address only: the realm has no way to send text messages (no SMS
	// provider), so a phone number could never get its codes. Pages ask
	// for an e-mail address, and a phone number typed anyway is refused
	// with ninsho.CodeIdentifierEmailOnly.
	EmailOnly bool
	// SignInWithCode lets the password assistant sign a person in with the
	// code alone, once, instead of setting a new password (accounts without
	// two-step verification only).
	SignInWithCode bool
	// Risk holds the realm's sign-in protection thresholds; nil uses the
	// server's defaults (risk.DefaultPolicy).
	Risk *risk.Policy
	// Brand is how the realm's pages and messages present the shop.
	Brand Brand
	// ThemeDir is the operator's theme directory ("" for the built-in
	// theme alone).
	ThemeDir string
	// ReturnTo is the allow-list of where a finished page flow may send the
	// browser: exact origins and origin + path prefixes.
	ReturnTo []string
	// TwoStep holds the realm's two-step verification settings.
	TwoStep TwoStep
	// CodeDeliveryTimeout is how long after it was written a code's
	// message may stay undelivered (queued or sent) before the person is
	// offered the other ways ("didn't get the code?"); 0 means
	// DefaultCodeDeliveryTimeout (see DeliveryTimeout).
	CodeDeliveryTimeout time.Duration
	// ClosureGraceFor is how long a closed account can be reopened by
	// signing in; 0 means DefaultClosureGrace (see ClosureGrace).
	ClosureGraceFor time.Duration
	// HelpDueFor is how long after a "help me sign in" request support
	// means to have answered it; 0 means DefaultHelpDue (see HelpDue).
	HelpDueFor time.Duration
	// RecoveryDueFor is how long after submission a document recovery
	// case is due for its decision; 0 means DefaultRecoveryDue (see
	// RecoveryDue).
	RecoveryDueFor time.Duration
	// SMSLimits caps the realm's text messages and voice calls (the SMS
	// pumping and cost guard, package smsguard); a zero field keeps its
	// default.
	SMSLimits SMSLimits
	// Organisations holds the realm's settings of organisations.
	Organisations Organisations
	// Locales are the languages the realm offers (see Offers, Language);
	// nil offers every supported one.
	Locales []string
	// PasswordMinLength is the fewest characters of a new password; 0
	// means DefaultPasswordMinLength (see PasswordMin).
	PasswordMinLength int
	// CodeLifetimeFor is how long a verification code can be used; 0 means
	// DefaultCodeLifetime (see CodeLifetime).
	CodeLifetimeFor time.Duration
}

// SMSLimits are a realm's caps on SMS and voice messages, counted together.
// A zero field means the default (smsguard.DefaultLimits).
type SMSLimits struct {
	PerNumberHour int // codes to one number per hour, in each lane (owner, stranger); alerts and notices not counted
	PerNumberDay  int // every message to one number per day, in each lane
	// PerCountryHour caps an hour's messages to numbers of the realm's own
	// country (the number's region is PhoneRegion); PerForeignCountryHour
	// to the numbers of each other region.
	PerCountryHour        int
	PerForeignCountryHour int
	RealmHour             int // every SMS and voice message of the realm per hour
}

// DefaultCodeDeliveryTimeout is the realm's code delivery timeout when it
// does not set one.
const DefaultCodeDeliveryTimeout = 60 * time.Second

// DeliveryTimeout returns r.CodeDeliveryTimeout, or
// DefaultCodeDeliveryTimeout when it is not set.
func (r *Realm) DeliveryTimeout() time.Duration {
	if r.CodeDeliveryTimeout > 0 {
		return r.CodeDeliveryTimeout
	}
	return DefaultCodeDeliveryTimeout
}

// DefaultReauthWindow is how long a sign-in or re-authentication counts as
// recent when the realm does not say.
const DefaultReauthWindow = 10 * time.Minute

// TwoStep is a realm's two-step verification settings.
type TwoStep struct {
	// ReauthWindow is how long after proving who they are a person may
	// make sensitive changes without proving it again; 0 means
	// DefaultReauthWindow (see Realm.ReauthWindow).
	ReauthWindow time.Duration
	// RequiredFor lists the account types ("customer", "seller",
	// "business") that must have 2SV: such an account without it is led
	// through enrolment before any session, and cannot remove its last
	// method. Empty: 2SV is optional for everyone.
	RequiredFor []string
	// TrustedDeviceFor is how long a device the person trusted ("don't ask
	// for a code on this device") skips the second factor; 0 means
	// DefaultTrustedDeviceFor (see Realm.TrustedDeviceFor).
	TrustedDeviceFor time.Duration
	// PasskeySignIn lets a passkey sign a person in on its own, without a
	// password (it counts as two factors).
	PasskeySignIn bool
}

// DefaultTrustedDeviceFor is how long a trusted device skips the second
// factor when the realm does not say.
const DefaultTrustedDeviceFor = 60 * 24 * time.Hour

// TrustedDeviceFor returns how long a trusted device skips the second
// factor in r.
func (r *Realm) TrustedDeviceFor() time.Duration {
	if r.TwoStep.TrustedDeviceFor > 0 {
		return r.TwoStep.TrustedDeviceFor
	}
	return DefaultTrustedDeviceFor
}

// TwoStepRequired reports whether accounts of type accountType (an
// account.Type as a string) must have two-step verification in r.
func (r *Realm) TwoStepRequired(accountType string) bool {
	for _, t := range r.TwoStep.RequiredFor {
		if t == accountType {
			return true
		}
	}
	return false
}

// ReauthWindow returns how long a sign-in or re-authentication counts as
// recent in r (session.Recent).
func (r *Realm) ReauthWindow() time.Duration {
	if r.TwoStep.ReauthWindow > 0 {
		return r.TwoStep.ReauthWindow
	}
	return DefaultReauthWindow
}

// DefaultHelpDue is how long after a help request support means to have
// answered it, unless the realm says otherwise (realms[].help.due).
const DefaultHelpDue = 48 * time.Hour

// HelpDue returns how long after a help request of r its answer is due.
func (r *Realm) HelpDue() time.Duration {
	if r.HelpDueFor > 0 {
		return r.HelpDueFor
	}
	return DefaultHelpDue
}

// DefaultClosureGrace is how long a closed account can be reopened by
// signing in when the realm does not say (realms[].closure_grace).
const DefaultClosureGrace = 30 * 24 * time.Hour

// ClosureGrace returns how long after its closing an account of r can be
// reopened by signing in; after it the account's personal data is purged.
func (r *Realm) ClosureGrace() time.Duration {
	if r.ClosureGraceFor > 0 {
		return r.ClosureGraceFor
	}
	return DefaultClosureGrace
}

// Brand is a realm's look and contact details. The display name is the
// realm's Name.
type Brand struct {
	// LogoFile is a logo file served by Ninsho; LogoURL an external https
	// logo. At most one is set.
	LogoFile string
	LogoURL  string
	// PrimaryColor is the configured brand colour "#rrggbb", or "" for the
	// theme's own.
	PrimaryColor string
	// SupportURL, SupportContact, TermsURL and PrivacyURL are shown in
	// page and e-mail footers when set.
	SupportURL     string
	SupportContact string
	TermsURL       string
	PrivacyURL     string
	// PoweredBy adds a small "powered by Ninsho" line to page footers.
	PoweredBy bool
}

// Registry finds realms by id and by request host. It reads an immutable
// snapshot that Replace swaps at once (realms changed at run time, package
// realmset), so it is safe for concurrent use; a *Realm it returned is never
// changed afterwards: a change is a new *Realm in a new snapshot.
type Registry struct {
	snap atomic.Pointer[snapshot]
}

// snapshot is one generation of the realms.
type snapshot struct {
	byID     map[string]*Realm
	byHost   map[string]*Realm
	fallback *Realm
	order    []*Realm
}

// NewRegistry builds a registry. The first realm is the fallback for hosts that
// no realm names.
func NewRegistry(realms []*Realm) *Registry {
	r := &Registry{}
	r.Replace(realms)
	return r
}

// Replace makes realms the registry's realms, in that order, the first being
// the fallback; readers see either the old set or the new one, never a mix.
// The realms' HintRealms must point at realms of the same list.
func (r *Registry) Replace(realms []*Realm) {
	s := &snapshot{byID: map[string]*Realm{}, byHost: map[string]*Realm{}, order: slices.Clone(realms)}
	for i, rl := range realms {
		if i == 0 {
			s.fallback = rl
		}
		s.byID[rl.ID] = rl
		for _, h := range rl.Hosts {
			s.byHost[strings.ToLower(h)] = rl
		}
	}
	r.snap.Store(s)
}

// ByID returns the realm with the id, or nil.
func (r *Registry) ByID(id string) *Realm { return r.snap.Load().byID[id] }

// ForHost returns the realm serving host (a Host header, port allowed), or the
// fallback realm.
func (r *Registry) ForHost(host string) *Realm {
	s := r.snap.Load()
	if rl, ok := s.byHost[requestHost(host)]; ok {
		return rl
	}
	return s.fallback
}

// Known reports whether a realm names host (a Host header, port allowed)
// among its host names: ForHost would not have to fall back.
func (r *Registry) Known(host string) bool {
	_, ok := r.snap.Load().byHost[requestHost(host)]
	return ok
}

// requestHost is a Host header without its port, in lower case.
func requestHost(host string) string {
	h := strings.ToLower(host)
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		h = h[:i]
	}
	return h
}

// All returns every realm in the registry's order, fallback first. The
// slice is the caller's.
func (r *Registry) All() []*Realm {
	s := r.snap.Load()
	if len(s.order) == 0 {
		return []*Realm{nil} // as before: the fallback, which is nil
	}
	return slices.Clone(s.order)
}
