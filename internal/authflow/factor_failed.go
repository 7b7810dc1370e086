package authflow

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/throttle"
)

// FactorFailedAlertEvery bounds the alert of a failed second factor
// (message.TemplateSecondFactorFailed): at most one per account in this
// window, however many flows fail in it, so that someone who knows the
// password cannot turn the alert into a stream of messages to the owner.
// The event is recorded every time.
const FactorFailedAlertEvery = time.Hour

// familyFactorFailedAlert is the counter family (throttle.Key; the subject
// is the account id) of the alerts of a failed second factor.
const familyFactorFailedAlert = "alert.second_factor_failed"

// Reasons of event.TypeSigninSecondFactorFailed.
const (
	// FactorFailedAttempts: the challenge's last wrong answer failed the
	// flow (code_attempts_exceeded).
	FactorFailedAttempts = "attempts_exceeded"
	// FactorFailedPaused: a wrong answer made the account's wrong-code guard
	// pause its codes (the next answer is account_locked).
	FactorFailedPaused = "codes_paused"
)

// factorFailedAfter says what the person had already proved before the
// second factor was asked, for the alert's words: "password" for a sign-in
// or a re-authentication, "code" for the password assistant, unlock or
// sign-up completion (a code sent to the account's address or phone).
func factorFailedAfter(k flow.Kind) string {
	switch k {
	case flow.KindSignin, flow.KindReauth:
		return "password"
	}
	return "code"
}

// factorFailed tells the owner of a that someone who got past the first
// step of f (the right password, or a code sent to the account) failed its
// second-factor challenge (reason: FactorFailedAttempts or
// FactorFailedPaused). It records event.TypeSigninSecondFactorFailed (kind,
// reason, flow, whether the owner was alerted) and, at most once per
// account per FactorFailedAlertEvery (Kit.Counter; none without one),
// sends message.TemplateSecondFactorFailed to every verified channel of a
// (e-mail and text message) with the time, device and network of req and a
// "this wasn't me" link, in the flow's language. It runs in the transaction
// of ctx.
func (sf SecondFactor) factorFailed(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, req ninsho.Request, reason string) error {
	k := sf.k
	alert := false
	if k.Counter != nil {
		key := throttle.Key(familyFactorFailedAlert, rl.ID, a.ID)
		n, err := k.Counter.Count(ctx, key, FactorFailedAlertEvery)
		if err != nil {
			return err
		}
		if n == 0 {
			if err := k.Counter.Hit(ctx, key, 1, FactorFailedAlertEvery); err != nil {
				return err
			}
			alert = true
		}
	}
	if err := k.Record(ctx, rl, a.ID, event.TypeSigninSecondFactorFailed, req, f.DeviceID, map[string]any{
		"kind": string(f.Kind), "reason": reason, "flow": f.ID, "method": f.Get(stateSFCurrent), "alerted": alert,
	}); err != nil {
		return err
	}
	if !alert {
		return nil
	}
	return k.SendAlerts(ctx, rl, a, req, Alerts{Template: message.TemplateSecondFactorFailed, Locale: Locale(f, a, rl),
		FlowID: f.ID, DeviceID: f.DeviceID, Dests: VerifiedDests(a),
		Extra: map[string]string{"after": factorFailedAfter(f.Kind)}})
}

// pausedNow reports whether the account's wrong-code guard pauses a's codes
// now: asked right after a counted wrong answer, which was checked because
// the guard did not pause them, it tells that this answer began the pause.
func (sf SecondFactor) pausedNow(ctx context.Context, rl *realm.Realm, a *account.Account) (bool, error) {
	if sf.k.Codes == nil || sf.k.Codes.Guard == nil {
		return false, nil
	}
	_, err := sf.k.Codes.Guard.AllowAccount(ctx, rl.ID, a.ID)
	if ninsho.IsCode(err, ninsho.CodeAccountLocked) {
		return true, nil
	}
	return false, err
}
