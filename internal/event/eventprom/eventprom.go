// Package eventprom turns the audit trail into Prometheus counters: it
// observes the events the database kept (event.Observer, told after commit)
// and the CAPTCHAs issued and solved (captcha.Observer). It is separate from
// package event so that the rules do not depend on the Prometheus client
// (and, through it, on net/http).
//
// Every label takes its value from a fixed set (anything else counts as
// "other"), so the number of series is bounded by the number of realms:
// never an identifier, address, account or device.
package eventprom

import (
	"errors"
	"slices"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/captcha"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/risk"
)

// Results of a sign-in attempt (the result label of
// ninsho_signin_outcomes_total).
const (
	ResultSucceeded       = "succeeded"        // reason: password, verification_code, password_assistant
	ResultCodeRequired    = "code_required"    // reason: the first risk reason (device_unfamiliar, …)
	ResultCaptchaRequired = "captcha_required" // reason: the first risk reason that asks for a CAPTCHA
	ResultRateLimited     = "rate_limited"     // reason: the first velocity reason
	ResultRefused         = "refused"          // reason: the error code answered (password_incorrect, …)
)

// other stands for a value outside a label's fixed set.
const other = "other"

var (
	// riskReasons are the reasons a sign-in decision gives; velocity the
	// ones that refuse (429).
	riskReasons = []risk.Reason{
		risk.ReasonDeviceUnfamiliar, risk.ReasonNetworkUnfamiliar, risk.ReasonIdentifierFailures,
		risk.ReasonAddressVelocity, risk.ReasonPrefixVelocity, risk.ReasonDeviceVelocity,
		risk.ReasonAddressManyAccounts, risk.ReasonAccountManyAddresses, risk.ReasonSignoutChurn,
		risk.ReasonNoUserAgent, risk.ReasonHeadlessUserAgent, risk.ReasonTooFast, risk.ReasonHeightened,
	}
	velocity = []risk.Reason{risk.ReasonAddressVelocity, risk.ReasonPrefixVelocity, risk.ReasonDeviceVelocity}
	// captchaReasons are the others: those that ask for a CAPTCHA first.
	captchaReasons = slices.DeleteFunc(slices.Clone(riskReasons), func(r risk.Reason) bool { return slices.Contains(velocity, r) })
	// refusals are the answers a refused sign-in gets. In a safe realm an
	// unknown identifier is credentials_incorrect like a wrong password, so
	// the metric tells no more than the answer did.
	refusals = []ninsho.Code{
		ninsho.CodePasswordIncorrect, ninsho.CodeCredentialsIncorrect, ninsho.CodeAccountNotFound,
		ninsho.CodeAccountLocked, ninsho.CodeAccountSuspended, ninsho.CodeAccountClosed,
	}
	lockKinds = []account.LockKind{account.LockUnfamiliar, account.LockSuspicious}
	purposes  = []code.Purpose{code.PurposeSignup, code.PurposeSignin, code.PurposeReset, code.PurposeUnlock}
	channels  = []code.Channel{code.ChannelEmail, code.ChannelSMS, code.ChannelVoice}
	lifters   = []string{"unlock", "password_assistant"}
)

// Metrics implements event.Observer and captcha.Observer with the counters
//
//	ninsho_signin_outcomes_total{realm,result,reason}
//	ninsho_captchas_shown_total{realm}
//	ninsho_captchas_solved_total{realm}
//	ninsho_locks_set_total{realm,kind}
//	ninsho_locks_lifted_total{realm,kind,via}
//	ninsho_codes_sent_total{realm,purpose,channel}
//
// It is safe for concurrent use.
type Metrics struct {
	outcomes, captchasShown, captchasSolved, locksSet, locksLifted, codesSent *prometheus.CounterVec
}

var (
	_ event.Observer   = (*Metrics)(nil)
	_ captcha.Observer = (*Metrics)(nil)
)

// New registers the counters on reg and returns them. When reg already holds
// them (a second instance on the same registry), the registered counters are
// shared.
func New(reg prometheus.Registerer) (*Metrics, error) {
	vec := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ninsho", Name: name, Help: help}, labels)
	}
	m := &Metrics{
		outcomes: vec("signin_outcomes_total",
			"Sign-in attempts by result (succeeded, code_required, captcha_required, rate_limited, refused) and reason.",
			"realm", "result", "reason"),
		captchasShown:  vec("captchas_shown_total", "CAPTCHA challenges issued (each new image counts).", "realm"),
		captchasSolved: vec("captchas_solved_total", "CAPTCHA challenges answered right.", "realm"),
		locksSet: vec("locks_set_total",
			"Accounts locked, by kind (unfamiliar: the smart lock; suspicious: the owner's \"this wasn't me\").", "realm", "kind"),
		locksLifted: vec("locks_lifted_total",
			"Locks in force lifted, by kind and how (unlock, password_assistant).", "realm", "kind", "via"),
		codesSent: vec("codes_sent_total",
			"Verification codes issued to an account's identifier, by purpose and channel (not the ones a safe realm suppresses).",
			"realm", "purpose", "channel"),
	}
	for _, p := range []**prometheus.CounterVec{&m.outcomes, &m.captchasShown, &m.captchasSolved, &m.locksSet, &m.locksLifted, &m.codesSent} {
		var err error
		if *p, err = register(reg, *p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func register(reg prometheus.Registerer, c *prometheus.CounterVec) (*prometheus.CounterVec, error) {
	if err := reg.Register(c); err != nil {
		if are, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); ok {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, errors.New("eventprom: " + err.Error())
	}
	return c, nil
}

// Shown implements captcha.Observer.
func (m *Metrics) Shown(realm string) { m.captchasShown.WithLabelValues(realm).Inc() }

// Solved implements captcha.Observer.
func (m *Metrics) Solved(realm string) { m.captchasSolved.WithLabelValues(realm).Inc() }

// Observe implements event.Observer.
func (m *Metrics) Observe(e *event.Event) {
	switch e.Type {
	case event.TypeSigninSucceeded:
		reason := "password"
		switch {
		case str(e.Data["via"]) == "password_assistant":
			reason = "password_assistant"
		case len(event.DataStrings(e.Data["methods"])) > 1:
			reason = "verification_code"
		}
		m.outcome(e, ResultSucceeded, reason)
	case event.TypeSigninChallenged:
		m.outcome(e, ResultCodeRequired, firstReason(e.Data["reasons"], riskReasons))
	case event.TypeSigninFailed:
		switch c := ninsho.Code(str(e.Data["reason"])); c {
		case ninsho.CodeCaptchaRequired:
			m.outcome(e, ResultCaptchaRequired, firstReason(e.Data["risk"], captchaReasons))
		case ninsho.CodeRateLimited:
			m.outcome(e, ResultRateLimited, firstReason(e.Data["risk"], velocity))
		default:
			m.outcome(e, ResultRefused, oneOf(c, refusals))
		}
	case event.TypeAccountLocked:
		m.locksSet.WithLabelValues(e.Realm, oneOf(account.LockKind(str(e.Data["kind"])), lockKinds)).Inc()
	case event.TypeAccountUnlocked:
		m.lifted(e, str(e.Data["lock"]), "unlock")
	case event.TypePasswordChanged:
		// An unlock flow that asks for a new password records
		// account.unlocked for the same lift: counted there.
		if via := str(e.Data["via"]); via != "unlock" && str(e.Data["lock_lifted"]) != "" {
			m.lifted(e, str(e.Data["lock_lifted"]), via)
		}
	case event.TypeCodeSent:
		if e.AccountID == "" {
			return // a safe realm's unknown identifier: suppressed, never sent
		}
		m.codesSent.WithLabelValues(e.Realm,
			oneOf(code.Purpose(str(e.Data["purpose"])), purposes),
			oneOf(code.Channel(str(e.Data["channel"])), channels)).Inc()
	}
}

func (m *Metrics) outcome(e *event.Event, result, reason string) {
	m.outcomes.WithLabelValues(e.Realm, result, reason).Inc()
}

func (m *Metrics) lifted(e *event.Event, kind, via string) {
	m.locksLifted.WithLabelValues(e.Realm, oneOf(account.LockKind(kind), lockKinds), oneOf(via, lifters)).Inc()
}

// oneOf returns v when it is in set, else "other".
func oneOf[T ~string](v T, set []T) string {
	if slices.Contains(set, v) {
		return string(v)
	}
	return other
}

// firstReason returns the first of the reasons v lists that is in set, else
// "other".
func firstReason(v any, set []risk.Reason) string {
	for _, r := range event.DataStrings(v) {
		if slices.Contains(set, risk.Reason(r)) {
			return r
		}
	}
	return other
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
