package authflow

import (
	"context"
	"slices"
	"strings"

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
// alternatives where one can be made to the same number (voiceExtra adds
// it where the step does not offer it already). Kit.SwitchChannel and
// SecondFactor.Act accept a switch only to what it offers (Kit.offered).
//
// At a verification-code step of a safe realm (identifier disclosure
// "safe") reached without any proof (hidesDelivery: sign-up, password
// assistant, unlock), where the code of an identifier without an account is
// written but never sent, every answer says "sent" at the time the message
// was written and nothing more, whatever happened to it: the answer must
// not tell whether the account exists. A sign-in reaches that step only
// after the right password, which already told whoever typed it that the
// account exists: it is told the real delivery, reason and alternatives.
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
	if hidesDelivery(f, rl) {
		n.Delivery = &flow.Delivery{Status: string(message.DeliverySent), UpdatedAt: dl.CreatedAt.UTC()}
		return
	}
	n.Delivery = &flow.Delivery{Status: string(dl.Status), UpdatedAt: dl.UpdatedAt.UTC()}
	n.AlternativesReason = d.Kit.troubleOf(dl, rl)
	n.Delivery.Late = n.AlternativesReason == flow.DeliveryReasonLate
	if n.AlternativesReason == "" {
		return
	}
	if d.Kit.voiceExtra(ctx, f, n.Step) && !slices.Contains(n.Alternatives, MethodVoice) {
		n.Alternatives = append(n.Alternatives, MethodVoice)
	}
	n.Alternatives = voiceFirst(n.Alternatives)
}

// hidesDelivery reports whether f's answers must not tell what became of
// its code (Deliveries): at the verification-code step of a safe realm, in
// the flow kinds that reach it without proving anything (sign-up, password
// assistant, unlock), whose codes to an identifier without an account are
// written but never sent, and a contact change, whose code to an address
// another account holds is written but never sent. A sign-in gets there only after the right
// password, so it is not hidden.
func hidesDelivery(f *flow.Flow, rl *realm.Realm) bool {
	if f.Step != flow.StepVerificationCode || rl.Disclosure != realm.DisclosureSafe {
		return false
	}
	switch f.Kind {
	case flow.KindSignup, flow.KindReset, flow.KindUnlock, flow.KindContact:
		return true
	}
	return false
}

// troubleOf returns the alternatives reason of a code's message dl in rl:
// undelivered or failed as reported, failed too while it is queued behind an
// outage of its channel (Kit.ChannelDown), late when it is still queued or sent
// once the realm's code delivery timeout has passed since it was written,
// else "".
func (k *Kit) troubleOf(dl message.Delivery, rl *realm.Realm) string {
	switch dl.Status {
	case message.DeliveryUndelivered:
		return flow.DeliveryReasonUndelivered
	case message.DeliveryFailed:
		return flow.DeliveryReasonFailed
	case message.DeliveryQueued, message.DeliverySent:
		if dl.Status == message.DeliveryQueued && k.ChannelDown != nil && k.ChannelDown(rl.ID, dl.Channel) {
			return flow.DeliveryReasonFailed // an outage: it cannot leave now
		}
		if !k.Clock.Now().Before(dl.CreatedAt.Add(rl.DeliveryTimeout())) {
			return flow.DeliveryReasonLate
		}
	}
	return ""
}

// codeTrouble returns the alternatives reason of f's current code in rl
// (troubleOf its message, flow.StateCodeMessage); "" when nothing is known
// to have gone wrong, or where the answers never tell (hidesDelivery).
func (k *Kit) codeTrouble(ctx context.Context, f *flow.Flow, rl *realm.Realm) string {
	id := f.Get(flow.StateCodeMessage)
	if k.Reports == nil || id == "" || hidesDelivery(f, rl) {
		return ""
	}
	dl, err := k.Reports.Delivery(ctx, id)
	if err != nil {
		return ""
	}
	return k.troubleOf(dl, rl)
}

// voiceExtra reports whether, once f's current code is in trouble
// (codeTrouble), a voice call to the number its SMS went to is offered at
// step (next.alternatives "voice") beyond the step's own alternatives: at
// the verification-code step when voiceFallback allows it, and at the
// second-factor step when the method asked for is SMS and the account has
// no voice-call method of its own (its number takes the call:
// switch_method "voice").
func (k *Kit) voiceExtra(ctx context.Context, f *flow.Flow, step flow.Step) bool {
	switch step {
	case flow.StepVerificationCode:
		a, err := k.FlowAccount(ctx, f)
		return err == nil && k.voiceFallback(f, a)
	case flow.StepSecondFactor:
		return f.Get(stateSFCurrent) == string(twostep.MethodSMS) && f.Get(stateSFPhoneCred) != "" && allowedAt(f, MethodVoice) &&
			!slices.Contains(strings.Split(f.Get(stateSFUsable), ","), MethodVoice) && k.CanSend(code.ChannelVoice)
	}
	return false
}

// offered returns next.alternatives of f at step as Deliveries makes
// them: base (the step's own alternatives) and, when the current code is in
// trouble, the voice call of voiceExtra. Every switch (switch_channel,
// switch_method) is to one of them, or refused.
func (k *Kit) offered(ctx context.Context, f *flow.Flow, rl *realm.Realm, base []string) []string {
	if k.codeTrouble(ctx, f, rl) != "" && k.voiceExtra(ctx, f, f.Step) && !slices.Contains(base, MethodVoice) {
		return append(slices.Clone(base), MethodVoice)
	}
	return base
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
// number, may be sent again by a voice call to that same number
// (switch_channel "voice" at the verification-code step): the number is
// a's verified one, or the one typed at a sign-up not confirmed yet (a
// pending account), and voice calls can be made.
func (k *Kit) voiceFallback(f *flow.Flow, a *account.Account) bool {
	return a != nil && f.Channel == string(code.ChannelSMS) && a.Phone != "" && f.Destination == a.Phone &&
		(a.PhoneVerifiedAt != nil || a.Status == account.StatusPending) && k.CanSend(code.ChannelVoice)
}

// codeLost reports whether f's current code never arrived: its provider
// reported it undelivered or failed, or it is queued behind an outage
// (codeTrouble says undelivered or failed, not late). The next code by
// another way then need not wait for the resend cool-down (the number's
// hourly budget still applies).
func (k *Kit) codeLost(ctx context.Context, f *flow.Flow, rl *realm.Realm) bool {
	switch k.codeTrouble(ctx, f, rl) {
	case flow.DeliveryReasonUndelivered, flow.DeliveryReasonFailed:
		return true
	}
	return false
}
