package authflow

import (
	"context"
	"slices"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/twostep"
)

// MethodVoice is the alternative of a verification code sent by SMS that
// calls the same number and reads the code (switch_channel "voice").
const MethodVoice = string(code.ChannelVoice)

// Deliveries is the flow.Annotator that tells the person what became of
// the code the step waits for ("didn't get the code?"). On an answer at
// flow.StepVerificationCode, or at flow.StepSecondFactor with an SMS or
// voice code, it sets Next.Delivery from the message the code went in
// (flow.StateCodeMessage, read with message.ReportStore.Delivery). When
// that message failed, was undelivered, or is still queued or sent once
// the realm's CodeDeliveryTimeout has passed since it was written (Late),
// it sets Next.AlternativesReason and puts a voice call first among the
// alternatives where one can be made to the same number.
//
// At a verification-code step of a safe realm (identifier disclosure
// "safe"), where the code of an identifier without an account is written
// but never sent, every answer says "sent" at the time the message was
// written and nothing more, whatever happened to it: the answer must not
// tell whether the account exists.
type Deliveries struct {
	Kit     *Kit
	Reports message.ReportStore
	Realms  *realm.Registry
}

// Annotate implements flow.Annotator. A message it cannot read leaves the
// answer as it was.
func (d Deliveries) Annotate(ctx context.Context, ans *flow.Answer) {
	f, n := ans.Flow, ans.Next
	id := f.Get(flow.StateCodeMessage)
	if id == "" || n.Delivery != nil || f.Status == flow.StatusComplete || f.Status == flow.StatusFailed {
		return
	}
	switch {
	case n.Step == flow.StepVerificationCode:
	case n.Step == flow.StepSecondFactor && twostep.IsPhone(twostep.Method(n.Method)) && n.NotSent == "":
	default:
		return
	}
	rl := d.Realms.ByID(f.Realm)
	if rl == nil {
		return
	}
	dl, err := d.Reports.Delivery(ctx, id)
	if err != nil {
		return
	}
	if n.Step == flow.StepVerificationCode && rl.Disclosure == realm.DisclosureSafe {
		n.Delivery = &flow.Delivery{Status: string(message.DeliverySent), UpdatedAt: dl.CreatedAt.UTC()}
		return
	}
	n.Delivery = &flow.Delivery{Status: string(dl.Status), UpdatedAt: dl.UpdatedAt.UTC()}
	switch dl.Status {
	case message.DeliveryUndelivered:
		n.AlternativesReason = flow.DeliveryReasonUndelivered
	case message.DeliveryFailed:
		n.AlternativesReason = flow.DeliveryReasonFailed
	case message.DeliveryQueued, message.DeliverySent:
		if !d.Kit.Clock.Now().Before(dl.CreatedAt.Add(rl.DeliveryTimeout())) {
			n.Delivery.Late = true
			n.AlternativesReason = flow.DeliveryReasonLate
		}
	}
	if n.AlternativesReason == "" {
		return
	}
	if n.Step == flow.StepVerificationCode {
		a, err := d.Kit.Accounts.Account(ctx, f.AccountID)
		if err != nil {
			return
		}
		if d.Kit.voiceFallback(f, a) && !slices.Contains(n.Alternatives, MethodVoice) {
			n.Alternatives = append(n.Alternatives, MethodVoice)
		}
	}
	n.Alternatives = voiceFirst(n.Alternatives)
}

// voiceFirst moves "voice" to the front of alts (a call to the same number
// is the likeliest way for a text message that did not arrive).
func voiceFirst(alts []string) []string {
	i := slices.Index(alts, MethodVoice)
	if i <= 0 {
		return alts
	}
	out := append([]string{MethodVoice}, alts[:i]...)
	return append(out, alts[i+1:]...)
}

// voiceFallback reports whether f's current code, sent by SMS to a's
// verified number, may be sent again by a voice call to that number
// (switch_channel "voice" at the verification-code step).
func (k *Kit) voiceFallback(f *flow.Flow, a *account.Account) bool {
	return a != nil && f.Channel == string(code.ChannelSMS) && a.Phone != "" && a.PhoneVerifiedAt != nil &&
		f.Destination == a.Phone && k.CanSend(code.ChannelVoice)
}

// codeLost reports whether the provider reported f's current code's
// message undelivered or failed: such a code never arrived, so the next one
// by another way need not wait for the resend cool-down (the number's
// hourly budget still applies). A store without reports loses nothing.
func (k *Kit) codeLost(ctx context.Context, f *flow.Flow) bool {
	id := f.Get(flow.StateCodeMessage)
	if k.Reports == nil || id == "" {
		return false
	}
	dl, err := k.Reports.Delivery(ctx, id)
	return err == nil && (dl.Status == message.DeliveryUndelivered || dl.Status == message.DeliveryFailed)
}
