package flowtest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Tests of the second customer walk-through of issue 11's flows.

// TestVoiceOnSMSStaysOffered (walk-through 2, finding 1): on an account
// whose only phone method is SMS, once voice was offered because the text
// was undelivered and the call was made, (a) switch_method sms within the
// cool-down answers resend_too_soon with next.not_sent, and voice is still
// among the alternatives — the way back to the call whose code is still
// valid; that code signs in. (b) After switch_method backup_code, voice is
// still offered, and switch_method voice calls the SMS method's number
// again (once the cool-down has passed) and its code signs in.
func TestVoiceOnSMSStaysOffered(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		a, _ := enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		if _, err := e.TwoStep.RegenerateBackupCodes(ctx, e.JP, flowtest.Req("192.0.2.10", ""), a); err != nil {
			t.Fatal(err)
		}
		calls := func() int {
			n := 0
			for _, m := range e.Messages(t, phMobileE164) {
				if m.Channel == "voice" {
					n++
				}
			}
			return n
		}
		toCall := func(t *testing.T) (*flow.Answer, ninsho.Request) {
			t.Helper()
			start, req := signInToChallenge(t, e)
			wantSecondFactor(t, start, nil, "sms", "backup_code")
			lastTo(t, e, phMobileE164) // dispatched
			report(t, e, start.Flow, message.DeliveryUndelivered)
			before := calls()
			sw, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
			wantSecondFactor(t, sw, err, "voice", "sms", "backup_code")
			if got := calls(); got != before+1 {
				t.Fatalf("%d calls, want %d", got, before+1)
			}
			return sw, req
		}

		// (a) Back to sms within the cool-down.
		sw, req := toCall(t)
		call := lastTo(t, e, phMobileE164)
		e.Clock.Advance(10 * time.Second)
		back, err := e.Engine.Act(ctx, "jp", sw.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
		if back.Next.Method != "sms" || back.Next.NotSent == "" {
			t.Fatalf("switch_method sms in the cool-down: method %q not_sent %q; want sms, not sent", back.Next.Method, back.Next.NotSent)
		}
		if !slices.Contains(back.Next.Alternatives, "voice") {
			t.Fatalf("alternatives %v after a text not sent: the way back to the call is gone", back.Next.Alternatives)
		}
		view, _ := e.Engine.View(ctx, "jp", sw.Flow.ID, req)
		if !slices.Contains(view.Next.Alternatives, "voice") {
			t.Fatalf("view: alternatives %v; want voice kept", view.Next.Alternatives)
		}
		done, err := e.Engine.Act(ctx, "jp", sw.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")

		// (b) Voice, backup_code, voice again.
		e.Clock.Advance(time.Hour)
		sw, req = toCall(t)
		bc, err := e.Engine.Act(ctx, "jp", sw.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"})
		wantSecondFactor(t, bc, err, "backup_code", "sms", "voice")
		e.Clock.Advance(31 * time.Second)
		before := calls()
		again, err := e.Engine.Act(ctx, "jp", sw.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		wantSecondFactor(t, again, err, "voice", "sms", "backup_code")
		if got := calls(); got != before+1 {
			t.Fatalf("%d calls after switching back to voice, want %d", got, before+1)
		}
		call = lastTo(t, e, phMobileE164)
		if call.Channel != "voice" {
			t.Fatalf("newest message to the SMS number is %s, want voice", call.Channel)
		}
		done, err = e.Engine.Act(ctx, "jp", sw.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")

		// Without trouble, voice is never offered on an SMS-only account.
		e.Clock.Advance(time.Hour)
		start, _ := signInToChallenge(t, e)
		wantSecondFactor(t, start, nil, "sms", "backup_code")
	})
}

// TestSafeRealmSignInShowsTrouble (walk-through 2, finding 2): in a safe
// realm a sign-in at verification_code (right password, new device, code
// by SMS) shows the real delivery: undelivered, alternatives_reason
// undelivered, voice first; switch_channel voice calls the number and its
// code signs in. The password assistant of the same realm still says
// "sent" and offers nothing (TestSwitchChannelSafeRealmAlike covers the
// alike answers).
func TestSafeRealmSignInShowsTrouble(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "known@example.com", pw, "known@example.com")
		swWithPhone(t, e, "safe", "known@example.com", swUSPhoneE164)
		ans, err := e.Signin.Start(ctx, e.Safe, flowtest.Req("198.51.100.77", "new-device"), signin.Input{Identifier: swUSPhone, Password: pw})
		if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode || ans.Next.Channel != "sms" {
			t.Fatalf("sign-in: %+v, %v; want a code by SMS", ans, err)
		}
		req := flowtest.Req("198.51.100.77", ans.DeviceToken)
		lastTo(t, e, swUSPhoneE164)
		report(t, e, ans.Flow, message.DeliveryUndelivered)
		view, _ := e.Engine.View(ctx, "safe", ans.Flow.ID, req)
		n := view.Next
		if n.Delivery == nil || n.Delivery.Status != "undelivered" || n.AlternativesReason != "undelivered" || !slices.Equal(n.Alternatives, []string{"voice", "email"}) {
			t.Fatalf("safe sign-in after the report: delivery %+v reason %q alternatives %v; want undelivered, [voice email]", n.Delivery, n.AlternativesReason, n.Alternatives)
		}
		sw, err := e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		if err != nil || sw.Next.Channel != "voice" {
			t.Fatalf("switch_channel voice: %+v, %v", sw.Next, err)
		}
		call := lastTo(t, e, swUSPhoneE164)
		if call.Channel != "voice" || call.Code == "" {
			t.Fatalf("call = %s %q", call.Channel, call.Code)
		}
		done, err := e.Engine.Act(ctx, "safe", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: call.Code})
		if err != nil || done.Flow.Status != flow.StatusComplete {
			t.Fatalf("the voice code: %+v, %v", done.Next, err)
		}

		// The password assistant of the same realm still hides it.
		e.Clock.Advance(time.Hour)
		pa, err := e.Reset.Start(ctx, e.Safe, flowtest.Req("198.51.100.78", ""), swUSPhone)
		if err != nil {
			t.Fatal(err)
		}
		preq := flowtest.Req("198.51.100.78", pa.DeviceToken)
		lastTo(t, e, swUSPhoneE164)
		report(t, e, pa.Flow, message.DeliveryUndelivered)
		view, _ = e.Engine.View(ctx, "safe", pa.Flow.ID, preq)
		if d := view.Next.Delivery; d == nil || d.Status != "sent" || view.Next.AlternativesReason != "" || len(view.Next.Alternatives) != 0 {
			t.Fatalf("safe password assistant: delivery %+v reason %q alternatives %v; want sent and nothing more", d, view.Next.AlternativesReason, view.Next.Alternatives)
		}
	})
}

// TestSwitchChannelWithoutChannel (walk-through 2, finding 3):
// switch_channel without channel answers 400 field_required, field
// channel, as switch_method without method does — at a sign-in's and a
// password assistant's code step — and sends nothing.
func TestSwitchChannelWithoutChannel(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		si, err := e.Signin.Start(ctx, e.JP, flowtest.Req("198.51.100.50", "other"), signin.Input{Identifier: sfEmail, Password: pw})
		if err != nil || si.Next.Step != flow.StepVerificationCode {
			t.Fatalf("sign-in: %+v, %v", si, err)
		}
		pa, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.51", ""), sfEmail)
		if err != nil {
			t.Fatal(err)
		}
		sent := len(e.Messages(t, sfEmail))
		for _, f := range []*flow.Answer{si, pa} {
			ans, err := e.Engine.Act(ctx, "jp", f.Flow.ID, flowtest.Req("", f.DeviceToken), flow.Action{Name: flow.ActionSwitchChannel})
			if ninsho.CodeOf(err) != ninsho.CodeFieldRequired || ninsho.ErrorOf(err).Field != "channel" {
				t.Fatalf("%s: switch_channel without channel = %v; want field_required/channel", f.Flow.Kind, err)
			}
			if ans == nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
				t.Fatalf("%s: answer %+v; want the code step again", f.Flow.Kind, ans)
			}
		}
		if got := len(e.Messages(t, sfEmail)); got != sent {
			t.Errorf("%d messages, want %d", got, sent)
		}
	})
}
