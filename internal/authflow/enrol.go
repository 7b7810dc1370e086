package authflow

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Mandatory enrolment (realms[].two_step.required_for): an account whose
// type must have two-step verification and has none gets no session from
// any flow until it has enrolled a method. Complete holds the session back
// as for the second factor and moves the flow to flow.StepEnrolSecondFactor
// (status challenge); begin_totp adds an authenticator app (the answer's
// Next.Enrolment), submit_second_factor proves it with a code from the app,
// which turns 2SV on, and the held-back completion then issues the session
// at AAL 2 with "otp" added. Other methods (SMS, voice, passkey) join
// EnrolMethods as they come. An organisation's policy leads here too: a
// member without 2SV whose organisation requires it, and a member whose
// methods are none of those allowed, once one of them proved the person
// (orgpolicy.go).

// EnrolMethods lists the methods an account can enrol at
// flow.StepEnrolSecondFactor (Next.Methods).
var EnrolMethods = []string{string(twostep.MethodTOTP)}

// stateEnrolCredential is the flow-state key of the authenticator app being
// added (its credential id; the secret stays sealed in the store).
const stateEnrolCredential = "2sv_enrol_credential"

// mustEnrol reports whether a must have 2SV in rl (and, Complete asks it
// only then, has none).
func mustEnrol(rl *realm.Realm, a *account.Account) bool {
	return rl != nil && a != nil && rl.TwoStepRequired(string(a.Type))
}

// enrol moves f to the enrolment step, remembering the completion held
// back, and saves it. It runs in the transaction of ctx.
func (sf SecondFactor) enrol(ctx context.Context, f *flow.Flow, a *account.Account, methods []string, typ string, data map[string]any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return ninsho.Internal("authflow: pending completion").Wrap(err)
	}
	f.AccountID = a.ID
	f.Status = flow.StatusChallenge
	f.Step = flow.StepEnrolSecondFactor
	f.Attempts = 0
	f.Set(stateSFMethods, strings.Join(methods, ","))
	f.Set(stateSFEvent, typ)
	f.Set(stateSFData, string(raw))
	f.Set(stateEnrolCredential, "")
	return sf.k.Save(ctx, f)
}

// enrolNext describes the enrolment step of f (without the secret: that is
// in the begin_totp answer, and EnrolmentOf shows it again).
func (sf SecondFactor) enrolNext(f *flow.Flow) *flow.Next {
	return &flow.Next{
		Step: flow.StepEnrolSecondFactor, Methods: EnrolMethods,
		AttemptsLeft: max(SecondFactorAttempts-f.Attempts, 0),
	}
}

// EnrolmentOf returns the authenticator app that f (at the enrolment step)
// is adding, as begin_totp showed it, or nil when none was begun: the
// hosted page shows it again while the code is typed.
func (sf SecondFactor) EnrolmentOf(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Enrolment, error) {
	id := f.Get(stateEnrolCredential)
	if f.Step != flow.StepEnrolSecondFactor || id == "" || f.AccountID == "" {
		return nil, nil
	}
	a, err := sf.k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	en, err := sf.k.TwoStep.PendingTOTP(ctx, rl, a, id)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return enrolmentJSON(en), nil
}

func enrolmentJSON(en *twostep.Enrolment) *flow.Enrolment {
	return &flow.Enrolment{CredentialID: en.CredentialID, Secret: en.Secret, SecretGrouped: en.Grouped, OTPAuthURL: en.URL, QRPNG: en.PNG}
}

// enrolHandles reports whether act is an action of the enrolment step and f
// is at it.
func enrolHandles(f *flow.Flow, act flow.Action) bool {
	return f.Step == flow.StepEnrolSecondFactor &&
		(act.Name == flow.ActionBeginTOTP || act.Name == flow.ActionSubmitSecondFactor)
}

// enrolAct applies begin_totp or submit_second_factor at the enrolment
// step. begin_totp adds an unproved authenticator app (replacing one begun
// before) and answers its secret, otpauth URL and QR code in
// Next.Enrolment. submit_second_factor proves it with a code from the app
// (twostep.Service.ProveTOTP): a wrong or reused code uses one of
// SecondFactorAttempts (the last fails the flow); before begin_totp it is
// code_not_requested of kind totp_enrol ("add the app first"). The right code turns 2SV on and completes the held-back
// completion with a session of AAL 2 whose methods add "otp".
func (sf SecondFactor) enrolAct(ctx context.Context, rl *realm.Realm, f *flow.Flow, req ninsho.Request, act flow.Action) (*flow.Answer, error) {
	k := sf.k
	a, err := k.Accounts.Account(ctx, f.AccountID)
	if err != nil {
		return nil, err
	}
	if a.Status != account.StatusActive {
		return &flow.Answer{Flow: f, Next: sf.enrolNext(f)}, ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", string(account.LockSuspicious))
	}
	if act.Name == flow.ActionBeginTOTP {
		en, err := k.TwoStep.BeginTOTP(ctx, rl, req, a)
		if err != nil {
			return nil, err
		}
		f.Set(stateEnrolCredential, en.CredentialID)
		if err := k.Save(ctx, f); err != nil {
			return nil, err
		}
		next := sf.enrolNext(f)
		next.Enrolment = enrolmentJSON(en)
		return &flow.Answer{Flow: f, Next: next}, nil
	}
	id := f.Get(stateEnrolCredential)
	if id == "" {
		// Nothing is sent here: the code comes from the app, which must be
		// added first (its own message, kind totp_enrol).
		return &flow.Answer{Flow: f, Next: sf.enrolNext(f)}, ninsho.FieldError(ninsho.CodeNoCodeRequested, "code").WithParam("kind", "totp_enrol")
	}
	var grant *flow.Grant
	var stepErr error
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		_, err := k.TwoStep.ProveTOTP(ctx, rl, req, a, id, act.Code)
		switch ninsho.CodeOf(err) {
		case "":
		case ninsho.CodeFieldRequired:
			stepErr = err
			return nil
		case ninsho.CodeTOTPIncorrect, ninsho.CodeTOTPReused, ninsho.CodeNotFound:
			f.Attempts++
			stepErr = err
			if f.Attempts >= SecondFactorAttempts {
				f.Status = flow.StatusFailed
				stepErr = ninsho.FieldError(ninsho.CodeCodeAttemptsExceeded, "code")
			}
			return k.Save(ctx, f)
		default:
			return err
		}
		var data map[string]any
		if raw := f.Get(stateSFData); raw != "" {
			if err := json.Unmarshal([]byte(raw), &data); err != nil {
				return ninsho.Internal("authflow: pending completion").Wrap(err)
			}
		}
		methods := append(strings.Split(f.Get(stateSFMethods), ","), session.MethodOTP)
		typ := f.Get(stateSFEvent)
		alert := f.Get(stateSFAlert) == "1" // after a factor that proved the person first (orgpolicy.go)
		for _, key := range []string{stateSFMethods, stateSFEvent, stateSFData, stateEnrolCredential, stateSFAlert} {
			f.Set(key, "")
		}
		if data == nil {
			data = map[string]any{}
		}
		data["two_step_enrolled"] = string(twostep.MethodTOTP)
		grant, err = k.issue(ctx, f, rl, a, req, 2, methods, typ, data)
		if err != nil || !alert {
			return err
		}
		return k.Alert(ctx, rl, f, a, req, message.TemplateSigninAlert, false)
	})
	if err != nil {
		return nil, err
	}
	if stepErr != nil {
		ans := &flow.Answer{Flow: f}
		if f.Status != flow.StatusFailed {
			ans.Next = sf.enrolNext(f)
		}
		return ans, stepErr
	}
	k.Outbox.Wake()
	return &flow.Answer{Flow: f, Session: grant, AccountID: f.AccountID}, nil
}
