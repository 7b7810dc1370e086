package authflow

import (
	"context"
	"strings"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Flow-state keys of the SMS and voice-call methods at the second-factor
// step: the credential the current code went to and its number, masked.
const (
	stateSFPhoneCred = "2sv_phone_credential"
	stateSFPhoneDest = "2sv_phone_destination"
	// The catalogue code of why the code of the method asked for did not
	// go out when it was asked for (next.not_sent); "" once one did.
	stateSFPhoneUnsent = "2sv_phone_unsent"
	// The flow's own code channel and destination ("<channel> <dest>")
	// before the first code of the challenge took their place: a gate
	// (Before) puts them back when passed, so that the password
	// assistant's and unlock's steps after it, and the session methods
	// they name (session.CodeMethod(f.Channel)), are about their own
	// code, not the second factor's.
	stateSFFlowCode = "2sv_flow_code"
	// "1": on an account without a voice-call method, "voice" was offered
	// in this challenge once its SMS code was in trouble (Kit.voiceExtra)
	// and is kept among the alternatives from then on (voiceKept); a call
	// asked for goes to the SMS method's number.
	stateSFVoiceOnSMS = "2sv_voice_on_sms"
)

// keepFlowCode remembers f's own code channel and destination before the
// first code of its challenge replaces them (once per challenge).
func keepFlowCode(f *flow.Flow) {
	if f.Get(stateSFFlowCode) == "" {
		f.Set(stateSFFlowCode, f.Channel+" "+f.Destination)
	}
}

// restoreFlowCode puts back what keepFlowCode remembered, if anything, and
// forgets it.
func restoreFlowCode(f *flow.Flow) {
	if v := f.Get(stateSFFlowCode); v != "" {
		f.Channel, f.Destination, _ = strings.Cut(v, " ")
		f.Set(stateSFFlowCode, "")
	}
}

// methodUsable reports whether a proved method of kind m can be asked for
// at a sign-in: the authenticator app always, SMS and voice calls where the
// realm can send them.
func (sf SecondFactor) methodUsable(m twostep.Method) bool {
	switch {
	case m == twostep.MethodTOTP:
		return true
	case m == twostep.MethodPasskey:
		return sf.k.TwoStep.Passkeys != nil
	case twostep.IsPhone(m):
		return sf.k.CanSend(twostep.ChannelOf(m))
	}
	return false
}

// voiceKept reports whether "voice" on the SMS method's number stays
// offered at f's challenge: it was offered there once because the text was
// in trouble (stateSFVoiceOnSMS) and calls can still be made. Each call is
// still held to the cool-down, the number's budget and the cost guard.
func (sf SecondFactor) voiceKept(f *flow.Flow) bool {
	return f.Get(stateSFVoiceOnSMS) == "1" && sf.k.CanSend(code.ChannelVoice)
}

// isPhoneStep reports whether the method asked for at f's challenge is SMS
// or a voice call.
func isPhoneStep(f *flow.Flow) bool {
	return twostep.IsPhone(twostep.Method(f.Get(stateSFCurrent)))
}

// askPhone sends the code of the method now asked for at f's challenge, if
// it is SMS or a voice call, at the start of the challenge or after
// switch_method. At the start no cool-down applies (the flow's earlier
// code, if any, was of another step), and a code that cannot be sent now
// (the number's hourly budget spent, the channel gone) does not stop the
// challenge: the step is shown and says why (next.not_sent, phoneNext);
// after switch_method the refusal is also returned, for the answer's
// errors. It runs in the transaction of ctx; the caller saves f.
func (sf SecondFactor) askPhone(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, start bool) error {
	if !isPhoneStep(f) {
		return nil
	}
	if start {
		f.LastSentAt = time.Time{}
	}
	err := sf.sendPhone(ctx, rl, f, a)
	c := ninsho.CodeOf(err)
	if c == "" || c == ninsho.CodeInternal {
		return err
	}
	f.Set(stateSFPhoneUnsent, string(c))
	f.Set(flow.StateCodeMessage, "") // no code of this step is on its way
	if start {
		return nil
	}
	return err
}

// sendPhone sends a code of purpose second_factor for f to the number of
// a's credential of the current method (the preferred one, else the
// oldest; for a voice call offered on an account without a voice-call
// method, stateSFVoiceOnSMS, the SMS method's credential, by voice), in the owner's lane (a proven password or code came first), with
// the cool-down and the number's hourly budget of the code component. f is
// not saved.
func (sf SecondFactor) sendPhone(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account) error {
	k := sf.k
	m := twostep.Method(f.Get(stateSFCurrent))
	cm := m
	if m == twostep.MethodVoice && f.Get(stateSFVoiceOnSMS) == "1" {
		cm = twostep.MethodSMS // a call to the SMS method's number
	}
	c, ok, err := k.TwoStep.PhoneCredential(ctx, rl, a, cm)
	if err != nil {
		return err
	}
	if !ok {
		return ninsho.FieldError(ninsho.CodeChannelUnavailable, "method")
	}
	code.SetOwnerLane(f)
	keepFlowCode(f)
	f.Set(stateSFPhoneCred, c.ID)
	f.Set(stateSFPhoneDest, identifier.Mask(identifier.Normalized(c.Phone), rl.PhoneRegion))
	if err := k.SendCode(ctx, f, rl, a, twostep.PurposeSecondFactor, twostep.ChannelOf(m), c.Phone, message.TemplateTwoStepCode); err != nil {
		return err
	}
	f.Set(stateSFPhoneUnsent, "")
	// Every caller's transaction ends in a commit that should reach the
	// phone at once, whichever flow kind it is (sign-in, password
	// assistant, unlock, re-authentication).
	ninsho.AfterCommit(ctx, k.Outbox.Wake)
	return nil
}

// phoneNext adds to n, the second-factor step of f, the masked number the
// code went to, the wait before resend_code and, when the code of the
// method asked for could not be sent, why (next.not_sent).
func (sf SecondFactor) phoneNext(f *flow.Flow, n *flow.Next) {
	if !isPhoneStep(f) {
		return
	}
	n.Destination = f.Get(stateSFPhoneDest)
	n.ResendAfterS = int((sf.k.Codes.ResendAfter(f) + time.Second - 1) / time.Second)
	n.NotSent = f.Get(stateSFPhoneUnsent)
}

// checkPhone checks the code of the current SMS or voice-call challenge of
// f and returns the session method of the channel it went by ("sms",
// "tel"). A wrong code counts in the account's wrong-code guard, also on a
// familiar device (the second factor is never exempt); the challenge's
// attempts are counted by Act, so f.Attempts is left as it was, and the
// code component's last-attempt refusal comes back as code_incorrect for
// Act to count.
func (sf SecondFactor) checkPhone(ctx context.Context, rl *realm.Realm, f *flow.Flow, a *account.Account, typed string) (string, error) {
	k := sf.k
	before, exempt := f.Attempts, f.Get(code.StateGuardExempt)
	f.Set(code.StateGuardExempt, "")
	_, err := k.Codes.Check(ctx, f, twostep.PurposeSecondFactor, typed)
	f.Attempts = before
	f.Set(code.StateGuardExempt, exempt)
	switch ninsho.CodeOf(err) {
	case "":
	case ninsho.CodeCodeAttemptsExceeded:
		return "", ninsho.FieldError(ninsho.CodeCodeIncorrect, "code")
	default:
		return "", err
	}
	if id := f.Get(stateSFPhoneCred); id != "" {
		err := k.TwoStep.UsePhone(ctx, rl, a, id, k.Clock.Now())
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			// The number was removed (or replaced) since the code went:
			// its codes stop working with it. resend_code texts a number
			// the account still has.
			return "", ninsho.FieldError(ninsho.CodeCodeExpired, "code")
		}
		if err != nil {
			return "", err
		}
	}
	return twostep.SessionMethod(twostep.Method(f.Channel)), nil
}

// resendPhone is resend_code at the second-factor step: the code of the
// current SMS or voice-call method again (channel_unavailable, field
// method, for another method), with the cool-down (resend_too_soon) and
// the number's hourly budget (resend_limit_reached).
func (sf SecondFactor) resendPhone(ctx context.Context, rl *realm.Realm, f *flow.Flow) (*flow.Answer, error) {
	k := sf.k
	if !isPhoneStep(f) {
		return &flow.Answer{Flow: f, Next: sf.Next(f)}, ninsho.FieldError(ninsho.CodeChannelUnavailable, "method")
	}
	var stepErr error
	err := k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if err := sf.sendPhone(ctx, rl, f, a); err != nil {
			if c := ninsho.CodeOf(err); c != "" && c != ninsho.CodeInternal {
				stepErr = err // refused before anything was written
				return nil
			}
			return err
		}
		return k.Save(ctx, f)
	})
	if err != nil {
		return nil, err
	}
	k.Outbox.Wake()
	return &flow.Answer{Flow: f, Next: sf.Next(f)}, stepErr
}

// switchPhone sends the code after switch_method moved f's challenge to
// SMS or a voice call, and saves f. A code that cannot be sent now
// (resend_too_soon, resend_limit_reached) is the answer's error; the
// method is switched all the same, so resend_code can follow.
func (sf SecondFactor) switchPhone(ctx context.Context, rl *realm.Realm, f *flow.Flow) (stepErr, err error) {
	k := sf.k
	err = k.Tx.InTx(ctx, func(ctx context.Context) error {
		a, err := k.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return err
		}
		if k.codeLost(ctx, f, rl) {
			// The last code never arrived (delivery.go): the call or text
			// that replaces it need not wait for the cool-down.
			f.LastSentAt = time.Time{}
		}
		if err := sf.askPhone(ctx, rl, f, a, false); err != nil {
			if c := ninsho.CodeOf(err); c == "" || c == ninsho.CodeInternal {
				return err
			}
			stepErr = err
		}
		return k.Save(ctx, f)
	})
	if err == nil {
		k.Outbox.Wake()
	}
	return stepErr, err
}
