package authflow

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// SecondFactorAttempts is how many wrong answers one second-factor
// challenge takes before the flow fails. The account's wrong-code guard
// (twostep.Service.Check) counts them too, across flows.
const SecondFactorAttempts = 5

// MethodBackupCode is the second-factor method name of a backup code.
const MethodBackupCode = twostep.CheckBackupCode

// Flow-state keys of the second-factor step: the completion it holds back
// (methods so far, event type and data) and the methods the person may use.
const (
	stateSFMethods = "2sv_pending_methods"
	stateSFEvent   = "2sv_pending_event"
	stateSFData    = "2sv_pending_data"
	stateSFCurrent = "2sv_method"
	stateSFUsable  = "2sv_usable"
	// A gate (Before): the step the passed factor leads to, the flow's
	// attempts before it, and the method that passed, which Complete adds.
	stateSFThen     = "2sv_then"
	stateSFAttempts = "2sv_attempts_before"
	stateSFPassed   = "2sv_passed"
	// "1": the completion held back tells the owner of a new device
	// (AlertAfterSecondFactor).
	stateSFAlert = "2sv_alert"
)

// AlertAfterSecondFactor marks f so that, when Complete holds its session
// back for the second factor, the session issued once the factor is right
// is followed by the new-device sign-in alert (message.TemplateSigninAlert)
// that the unfamiliar-device code would have led to. Call it before
// Complete.
func AlertAfterSecondFactor(f *flow.Flow) { f.Set(stateSFAlert, "1") }

// Before asks the second factor of a before the step then of f, when a has
// two-step verification on and f has not passed it yet: f moves to
// flow.StepSecondFactor (status challenge) and is saved, and asked is true.
// The right factor (Act) moves f on to then (status open) and remembers the
// method, so that the step's effects — a new password, a lifted lock — wait
// for it and Complete later issues an AAL 2 session without asking again.
// The password assistant and unlock call it right after their code is
// proved, and again before their effects, in case 2SV was turned on in
// between. Except for a re-authentication, the organisations' allowed
// methods restrict the offer as at Complete (ninsho.CodeOrgMethodRequired
// when none can be met). It runs in the transaction of ctx.
func (sf SecondFactor) Before(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, then flow.Step) (asked bool, err error) {
	if f.Get(stateSFPassed) != "" {
		return false, nil
	}
	usable, on, err := sf.usable(ctx, rl, a)
	if err != nil || !on {
		return false, err
	}
	if f.Kind != flow.KindReauth {
		// The organisations' policy is about signing in: a
		// re-authentication proves the signed-in person again with any of
		// their methods (so that one who must add an allowed method can).
		pol, err := sf.k.memberPolicy(ctx, rl, a)
		if err != nil {
			return false, err
		}
		if usable, err = askUnder(f, usable, pol, true); err != nil { // orgpolicy.go
			return false, err
		}
	}
	f.Set(stateSFThen, string(then))
	f.Set(stateSFAttempts, strconv.Itoa(f.Attempts))
	f.Status = flow.StatusChallenge
	f.Step = flow.StepSecondFactor
	f.Attempts = 0 // attempts per challenge
	sf.ask(f, usable)
	if err := sf.passkeyCurrent(ctx, rl, f, a); err != nil {
		return false, err
	}
	if err := sf.askPhone(ctx, rl, f, a, true); err != nil {
		return false, err
	}
	return true, sf.k.Save(ctx, f)
}

// ask records the methods usable at f's challenge, the first one current.
func (sf SecondFactor) ask(f *flow.Flow, usable []string) {
	f.Set(stateSFUsable, strings.Join(usable, ","))
	current := ""
	if len(usable) > 0 {
		current = usable[0]
	}
	f.Set(stateSFCurrent, current)
	f.Set(stateSFVoiceOnSMS, "")
}

// passed returns the session method of the second factor f passed at a
// gate (Before) and the method's kind (a value of org.Methods), and
// forgets them: they count for one completion.
func passed(f *flow.Flow) (m, kind string) {
	m, kind = f.Get(stateSFPassed), f.Get(stateSFPassedKind)
	f.Set(stateSFPassed, "")
	f.Set(stateSFPassedKind, "")
	return m, kind
}

// SecondFactor is the second-factor step that every flow kind goes through
// before a session for an account with two-step verification on: Kit.Complete
// holds the session back and asks for it (challenge), and each kind hands
// the step's actions to Act and its view to Next. It is a view of the Kit;
// get it with Kit.SecondFactor.
type SecondFactor struct{ k *Kit }

// SecondFactor returns the kit's second-factor step.
func (k *Kit) SecondFactor() SecondFactor { return SecondFactor{k} }

// usable lists the methods a can answer with now, the preferred one first:
// "totp" when a has a proved authenticator app, "sms" and "voice" when it
// has a proved number for them and the realm can send them (one entry per
// kind), "backup_code" when backup codes are left. on reports whether a has 2SV on with a proved method (of
// any kind, usable now or not: an account that has 2SV is never let through
// without it).
func (sf SecondFactor) usable(ctx context.Context, rl *realm.Realm, a *account.Account) (methods []string, on bool, err error) {
	ts := sf.k.TwoStep
	if ts == nil {
		return nil, false, ninsho.Internal("authflow: no two-step service")
	}
	st, err := ts.State(ctx, rl, a)
	if err != nil || !st.Enabled {
		return nil, false, err
	}
	infos, err := ts.Methods(ctx, rl, a)
	if err != nil || len(infos) == 0 {
		return nil, false, err
	}
	for _, m := range infos {
		if !sf.methodUsable(m.Kind) {
			continue
		}
		kind := string(m.Kind)
		if m.Preferred { // one entry per kind; the preferred one's kind first
			methods = slices.DeleteFunc(methods, func(x string) bool { return x == kind })
			methods = append([]string{kind}, methods...)
		} else if !slices.Contains(methods, kind) {
			methods = append(methods, kind)
		}
	}
	left, err := ts.BackupCodesLeft(ctx, rl, a)
	if err != nil {
		return nil, false, err
	}
	if left > 0 {
		methods = append(methods, MethodBackupCode)
	}
	return methods, true, nil
}

// Required reports whether a has two-step verification on, so that no
// session may be issued to it without the second factor. Sign-in asks it
// after the right password, to ask for the second factor instead of the
// unfamiliar-device code.
func (sf SecondFactor) Required(ctx context.Context, rl *realm.Realm, a *account.Account) (bool, error) {
	_, on, err := sf.usable(ctx, rl, a)
	return on, err
}

// challenge moves f to the second-factor step, remembering the completion
// held back, and saves it. It runs in the transaction of ctx.
func (sf SecondFactor) challenge(ctx context.Context, f *flow.Flow, rl *realm.Realm, usable []string, a *account.Account, methods []string, typ string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return ninsho.Internal("authflow: pending completion").Wrap(err)
	}
	f.AccountID = a.ID
	f.Status = flow.StatusChallenge
	f.Step = flow.StepSecondFactor
	f.Attempts = 0 // attempts per challenge
	f.Set(stateSFMethods, strings.Join(methods, ","))
	f.Set(stateSFEvent, typ)
	f.Set(stateSFData, string(raw))
	sf.ask(f, usable)
	if err := sf.passkeyCurrent(ctx, rl, f, a); err != nil {
		return err
	}
	if err := sf.askPhone(ctx, rl, f, a, true); err != nil {
		return err
	}
	return sf.k.Save(ctx, f)
}

// Next describes the second-factor step of f: the method asked for, the
// other usable ones (and "voice", a call to the SMS method's number, once it
// was offered in this challenge because the text was in trouble: voiceKept),
// and the attempts left in this challenge. The method asked for before
// stays among the alternatives, so an answer whose code was not sent
// (next.not_sent) always lists the way back to the code that was.
func (sf SecondFactor) Next(f *flow.Flow) *flow.Next {
	if f.Step == flow.StepEnrolSecondFactor {
		return sf.enrolNext(f) // enrol.go
	}
	current := f.Get(stateSFCurrent)
	var alts []string
	for _, m := range strings.Split(f.Get(stateSFUsable), ",") {
		if m != "" && m != current {
			alts = append(alts, m)
		}
	}
	if sf.voiceKept(f) && current != MethodVoice && !slices.Contains(alts, MethodVoice) {
		// Offered once because the text was in trouble: kept for the rest
		// of the challenge (stateSFVoiceOnSMS), so that the way back to a
		// call whose code may still be the valid one is never lost.
		alts = append(alts, MethodVoice)
	}
	n := &flow.Next{
		Step: flow.StepSecondFactor, Method: current, Alternatives: alts,
		AttemptsLeft: max(SecondFactorAttempts-f.Attempts, 0),
		PublicKey:    publicKey(f),
	}
	sf.phoneNext(f, n)
	return n
}

// Handles reports whether act is an action of the second-factor step and f
// is at that step.
func (sf SecondFactor) Handles(f *flow.Flow, act flow.Action) bool {
	return enrolHandles(f, act) || f.Step == flow.StepSecondFactor &&
		(act.Name == flow.ActionSubmitSecondFactor || act.Name == flow.ActionSwitchMethod || act.Name == flow.ActionResendCode)
}

// Act applies a second-factor action to f (at flow.StepSecondFactor) in
// realm rl. switch_method asks for another method of next.alternatives:
// another usable method, or — the SMS code reported undelivered or failed,
// or late, on an account without a voice-call method — "voice", a call to
// the SMS method's number (ninsho.CodeChannelUnavailable, field method, for
// any other, the current method included: nothing changes).
// submit_second_factor checks the code by the current method
// (twostep.Service.Check: totp_incorrect, totp_reused, code_incorrect for
// a backup code, account_locked while the account's guard pauses codes);
// every refusal but a blank code and account_locked (nothing was checked)
// counts one of SecondFactorAttempts, and
// the last one fails the flow (code_attempts_exceeded). The right code
// completes the held-back completion with a session of AAL 2 whose methods
// add the factor's. At a gate (Before) the right code instead moves f on
// to the step the gate leads to, and the answer has no Next: the flow kind
// describes that step.
func (sf SecondFactor) Act(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := sf.k
	if f.Step == flow.StepEnrolSecondFactor {
		return sf.enrolAct(ctx, rl, f, req, act) // enrol.go
	}
	if act.Name == flow.ActionSwitchMethod {
		if act.Method == "" {
			return &flow.Answer{Flow: f, Next: sf.Next(f)}, ninsho.FieldError(ninsho.CodeFieldRequired, "method")
		}
		// Only a method of next.alternatives: never the one asked for now
		// (that is resend_code, with its cool-down), and a voice call to the
		// SMS method's number only once its text is in trouble (voiceExtra).
		offered := k.offered(ctx, f, rl, sf.Next(f).Alternatives)
		if !slices.Contains(offered, act.Method) {
			if refusedByPolicy(f, act.Method) { // orgpolicy.go
				return &flow.Answer{Flow: f, Next: sf.Next(f)}, ninsho.FieldError(ninsho.CodeOrgMethodNotAllowed, "method")
			}
			return &flow.Answer{Flow: f, Next: sf.Next(f)}, ninsho.FieldError(ninsho.CodeChannelUnavailable, "method")
		}
		if slices.Contains(offered, MethodVoice) && !slices.Contains(strings.Split(f.Get(stateSFUsable), ","), MethodVoice) {
			// Voice on the SMS number is offered (the text was in trouble):
			// it stays offered for the rest of the challenge, and a call
			// goes to the SMS method's number.
			f.Set(stateSFVoiceOnSMS, "1")
		}
		f.Set(stateSFCurrent, act.Method)
		if err := sf.passkeyCurrent(ctx, rl, f, nil); err != nil {
			return nil, err
		}
		if isPhoneStep(f) {
			stepErr, err := sf.switchPhone(ctx, rl, f)
			if err != nil {
				return nil, err
			}
			return &flow.Answer{Flow: f, Next: sf.Next(f)}, stepErr
		}
		if err := k.Save(ctx, f); err != nil {
			return nil, err
		}
		return &flow.Answer{Flow: f, Next: sf.Next(f)}, nil
	}
	if act.Name == flow.ActionResendCode {
		return sf.resendPhone(ctx, rl, f)
	}
	var grant *flow.Grant
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		gate := f.Get(stateSFThen) != ""
		// A gate may stand before the lifting of a suspicious lock, or
		// before reopening a closed account (signin's reopen_account).
		if a.Status != account.StatusActive && !(gate && (a.Status == account.StatusLocked || a.Status == account.StatusClosed)) {
			stepErr = ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(account.LockSuspicious))
			return nil
		}
		if f.Get(stateSFCurrent) != MethodPasskey && strings.TrimSpace(act.Code) == "" {
			stepErr = ninsho.FieldError(ninsho.CodeFieldRequired, "code")
			return nil
		}
		used, err := sf.check(ctx, rl, f, a, act)
		switch ninsho.CodeOf(err) {
		case "":
		case ninsho.CodeFieldRequired, ninsho.CodeAccountLocked:
			// Nothing was checked: a blank answer, or the account's guard
			// pausing its codes (whoever caused it), which must not use up
			// this challenge's attempts too.
			stepErr = err
			return nil
		case ninsho.CodeCodeExpired, ninsho.CodeNoCodeRequested: // an SMS or voice code: ask for another
			stepErr = err
			return k.Save(ctx, f)
		case ninsho.CodeTOTPIncorrect, ninsho.CodeTOTPReused, ninsho.CodeCodeIncorrect, ninsho.CodeNotFound,
			ninsho.CodePasskeyFailed, ninsho.CodePasskeyUnknown:
			f.Attempts++
			stepErr = err
			reason := ""
			if f.Attempts >= SecondFactorAttempts {
				f.Status = flow.StatusFailed
				stepErr = ninsho.FieldError(ninsho.CodeCodeAttemptsExceeded, "code")
				reason = FactorFailedAttempts
			} else if f.Get(stateSFCurrent) != MethodPasskey { // a passkey's answer is not counted by the guard
				paused, err := sf.pausedNow(ctx, rl, a)
				if err != nil {
					return err
				}
				if paused {
					reason = FactorFailedPaused
				}
			}
			if reason != "" { // factor_failed.go: event, and the owner's alert
				if err := sf.factorFailed(ctx, rl, f, a, req, reason); err != nil {
					return err
				}
			}
			return k.Save(ctx, f)
		default:
			return err
		}
		if err := sf.noteBackupCodesLeft(ctx, rl, f, a, used); err != nil {
			return err
		}
		if gate {
			f.Status, f.Step = flow.StatusOpen, flow.Step(f.Get(stateSFThen))
			f.Attempts, _ = strconv.Atoi(f.Get(stateSFAttempts))
			f.Set(stateSFPassed, used)
			f.Set(stateSFPassedKind, f.Get(stateSFCurrent))
			restoreFlowCode(f) // secondfactor_phone.go
			for _, key := range []string{stateSFThen, stateSFAttempts, stateSFCurrent, stateSFUsable, stateSFPhoneCred, stateSFPhoneDest, stateSFPhoneUnsent, stateSFVoiceOnSMS, stateSFAllowed, stateSFEnrolAfter} {
				f.Set(key, "")
			}
			return k.Save(ctx, f)
		}
		var data map[string]any
		if raw := f.Get(stateSFData); raw != "" {
			if err := json.Unmarshal([]byte(raw), &data); err != nil {
				return ninsho.Internal("authflow: pending completion").Wrap(err)
			}
		}
		methods := append(strings.Split(f.Get(stateSFMethods), ","), used)
		typ := f.Get(stateSFEvent)
		alert := f.Get(stateSFAlert) == "1"
		enrolAfter := f.Get(stateSFEnrolAfter) == "1"
		restoreFlowCode(f) // secondfactor_phone.go
		for _, key := range []string{stateSFMethods, stateSFEvent, stateSFData, stateSFCurrent, stateSFUsable, stateSFAlert, stateSFPhoneCred, stateSFPhoneDest, stateSFPhoneUnsent, stateSFVoiceOnSMS, stateSFAllowed, stateSFEnrolAfter} {
			f.Set(key, "")
		}
		if enrolAfter {
			// None of the account's methods is allowed by its
			// organisations: the factor proved the person, and an allowed
			// method is enrolled before the session (orgpolicy.go).
			if alert {
				AlertAfterSecondFactor(f)
			}
			return sf.enrol(ctx, f, a, methods, typ, data)
		}
		grant, err = k.issue(ctx, f, rl, a, req, 2, methods, typ, data)
		if err != nil {
			return err
		}
		if err := k.trustAfterFactor(ctx, rl, f, a, req, act); err != nil {
			return err
		}
		if !alert {
			return nil
		}
		return k.Alert(ctx, rl, f, a, req, message.TemplateSigninAlert, false)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	if stepErr != nil {
		ans := &flow.Answer{Flow: f}
		if f.Status != flow.StatusFailed {
			ans.Next = sf.Next(f)
		}
		return ans, stepErr
	}
	if grant == nil && f.Step == flow.StepEnrolSecondFactor {
		return &flow.Answer{Flow: f, Next: sf.Next(f)}, nil // enrolment next (orgpolicy.go)
	}
	if grant == nil {
		return &flow.Answer{Flow: f}, nil // a gate passed
	}
	return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID, BackupCodesLeft: BackupCodesLeft(f)}, nil
}
