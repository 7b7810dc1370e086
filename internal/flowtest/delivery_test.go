package flowtest_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestDeliveryUndeliveredSMSOffersVoice (issue 11, must show): a 2SV code
// by SMS is queued, then sent; a provider's report marks it undelivered;
// the answer offers the voice call first with alternatives_reason
// undelivered; switch_method voice calls at once (no cool-down: the text
// never arrived) and the code read out signs the person in.
func TestDeliveryUndeliveredSMSOffersVoice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)

		start, req := signInToChallenge(t, e)
		ans, err := e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		if d := ans.Next.Delivery; d == nil || d.Status != "queued" || d.Late || !d.UpdatedAt.Equal(e.Clock.Now()) {
			t.Fatalf("delivery before dispatch = %+v; want queued at %v", d, e.Clock.Now())
		}
		if ans.Next.AlternativesReason != "" {
			t.Errorf("alternatives_reason = %q before anything went wrong", ans.Next.AlternativesReason)
		}
		sms := lastTo(t, e, phMobileE164) // dispatches it
		e.Clock.Advance(5 * time.Second)
		ans, _ = e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if d := ans.Next.Delivery; d == nil || d.Status != "sent" {
			t.Fatalf("delivery after dispatch = %+v; want sent", d)
		}

		reports := &message.Reports{Store: e.DB, Clock: e.Clock}
		changed, err := reports.Record(ctx, message.DeliveryReport{Provider: "devinbox", MessageID: ans.Flow.Get(flow.StateCodeMessage), Status: message.DeliveryUndelivered})
		if err != nil || !changed {
			t.Fatalf("report: changed %v, %v", changed, err)
		}
		ans, _ = e.Engine.View(ctx, "jp", start.Flow.ID, req)
		n := ans.Next
		if n.Delivery == nil || n.Delivery.Status != "undelivered" || n.Delivery.Late || !n.Delivery.UpdatedAt.Equal(e.Clock.Now()) {
			t.Fatalf("delivery after the report = %+v", n.Delivery)
		}
		if n.AlternativesReason != flow.DeliveryReasonUndelivered || !slices.Equal(n.Alternatives, []string{"voice"}) {
			t.Fatalf("alternatives %v (%q); want [voice] for undelivered", n.Alternatives, n.AlternativesReason)
		}

		calls := len(e.Messages(t, phFixedE164))
		sw, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		wantSecondFactor(t, sw, err, "voice", "sms")
		if sw.Next.Delivery == nil || sw.Next.Delivery.Status != "queued" || sw.Next.AlternativesReason != "" {
			t.Errorf("after the switch: delivery %+v reason %q; want the call queued", sw.Next.Delivery, sw.Next.AlternativesReason)
		}
		if got := len(e.Messages(t, phFixedE164)); got != calls+1 {
			t.Fatalf("%d calls, want %d", got, calls+1)
		}
		call := lastTo(t, e, phFixedE164)
		if call.Channel != "voice" || call.Code == "" || call.Code == sms.Code {
			t.Fatalf("call = %s code %q (sms code %q)", call.Channel, call.Code, sms.Code)
		}
		done, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")
	})
}

// TestDeliveryLateSMS: a code still only sent when the realm's code
// delivery timeout (default 60 s, counted from when it was written) has
// passed is late: not_delivered_yet, with the other methods; one second
// earlier it is not. A delivered one is never late.
func TestDeliveryLateSMS(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)

		start, req := signInToChallenge(t, e)
		lastTo(t, e, phMobileE164) // sent
		e.Clock.Advance(59 * time.Second)
		ans, _ := e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if d := ans.Next.Delivery; d == nil || d.Status != "sent" || d.Late || ans.Next.AlternativesReason != "" {
			t.Fatalf("at 59 s: delivery %+v reason %q; want sent, not late", d, ans.Next.AlternativesReason)
		}
		e.Clock.Advance(2 * time.Second) // 61 s
		ans, _ = e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if d := ans.Next.Delivery; d == nil || d.Status != "sent" || !d.Late {
			t.Fatalf("at 61 s: delivery %+v; want sent and late", d)
		}
		if ans.Next.AlternativesReason != flow.DeliveryReasonLate || ans.Next.Alternatives[0] != "voice" {
			t.Fatalf("at 61 s: alternatives %v (%q); want voice first, not_delivered_yet", ans.Next.Alternatives, ans.Next.AlternativesReason)
		}

		// Delivered after all: nothing is late any more.
		reports := &message.Reports{Store: e.DB, Clock: e.Clock}
		if _, err := reports.Record(ctx, message.DeliveryReport{Provider: "devinbox", MessageID: ans.Flow.Get(flow.StateCodeMessage), Status: message.DeliveryDelivered}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(time.Minute)
		ans, _ = e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if d := ans.Next.Delivery; d == nil || d.Status != "delivered" || d.Late || ans.Next.AlternativesReason != "" {
			t.Fatalf("delivered: %+v reason %q", d, ans.Next.AlternativesReason)
		}
	})
}

// TestDeliveryVerificationCodeVoice: at the verification-code step (the
// password assistant, by the phone number), an SMS reported undelivered
// offers the voice call to the same verified number first, before the
// e-mail; switch_channel voice calls at once (the text never arrived, so no
// cool-down), and the code read out is accepted. A code that went by e-mail
// is never offered by voice.
func TestDeliveryVerificationCodeVoice(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		now := e.Clock.Now()
		a.Phone, a.PhoneVerifiedAt = phMobileE164, &now
		if err := e.DB.UpdateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), phMobile)
		if err != nil || ans.Next.Channel != "sms" {
			t.Fatalf("Start = %+v, %v; want a code by SMS", ans.Next, err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		sms := lastTo(t, e, phMobileE164)
		view, _ := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if view.Next.Delivery == nil || view.Next.Delivery.Status != "sent" || !slices.Equal(view.Next.Alternatives, []string{"email"}) {
			t.Fatalf("before the report: delivery %+v, alternatives %v; want sent, [email]", view.Next.Delivery, view.Next.Alternatives)
		}
		reports := &message.Reports{Store: e.DB, Clock: e.Clock}
		if ok, err := reports.Record(ctx, message.DeliveryReport{Provider: "devinbox", MessageID: sms.ID, Status: message.DeliveryUndelivered}); !ok || err != nil {
			t.Fatalf("report: %v %v", ok, err)
		}
		view, _ = e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if view.Next.AlternativesReason != "undelivered" || !slices.Equal(view.Next.Alternatives, []string{"voice", "email"}) {
			t.Fatalf("after the report: alternatives %v (%q); want [voice email] for undelivered", view.Next.Alternatives, view.Next.AlternativesReason)
		}
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		if err != nil || sw.Next.Channel != "voice" || sw.Next.Delivery == nil || sw.Next.Delivery.Status != "queued" {
			t.Fatalf("switch_channel voice: %+v, %v", sw.Next, err)
		}
		call := lastTo(t, e, phMobileE164)
		if call.Channel != "voice" || call.Template != message.TemplateResetCode || call.Code == "" {
			t.Fatalf("call = %s %s", call.Channel, call.Template)
		}
		// The call is the code now; a voice call is not offered for itself.
		if slices.Contains(sw.Next.Alternatives, "voice") {
			t.Errorf("alternatives after the call: %v", sw.Next.Alternatives)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: call.Code})
		if err != nil || done.Next == nil || done.Next.Step == flow.StepVerificationCode {
			t.Fatalf("the voice code: %+v, %v", done.Next, err)
		}

		// By e-mail: late, but no voice call is offered for an e-mail code.
		e.Clock.Advance(time.Hour)
		ans, err = e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.9", ""), "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(61 * time.Second)
		view, _ = e.Engine.View(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.9", ans.DeviceToken))
		if view.Next.AlternativesReason != "not_delivered_yet" || !slices.Equal(view.Next.Alternatives, []string{"sms"}) {
			t.Errorf("late e-mail: alternatives %v (%q); want [sms], not_delivered_yet", view.Next.Alternatives, view.Next.AlternativesReason)
		}
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.9", ans.DeviceToken), flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"}); err == nil {
			t.Errorf("switch_channel voice from an e-mail code was accepted")
		}
	})
}

// TestDeliveryOutageOffersAnotherWayAtOnce (issue 11): when every SMS
// provider's breaker is open, a second-factor code by SMS waits in the
// outbox (queued, never dropped), and the answer offers the voice call at
// once with alternatives_reason failed — not after the delivery timeout.
// The dispatcher is a real one whose only SMS provider is a webhook gateway
// that refuses connections; one failed round opens its breaker.
func TestDeliveryOutageOffersAnotherWayAtOnce(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)

		down := e.DownDispatcher(t, message.ChannelSMS)
		e.Kit.ChannelDown = down.ChannelDown
		t.Cleanup(func() { e.Kit.ChannelDown = nil })

		start, req := signInToChallenge(t, e)
		if _, err := down.RunOnce(ctx); err != nil { // the gateway refuses: its breaker opens
			t.Fatal(err)
		}
		if !down.ChannelDown("jp", message.ChannelSMS) {
			t.Fatal("the SMS channel is not down after the gateway refused")
		}
		ans, err := e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		n := ans.Next
		if n.Delivery == nil || n.Delivery.Status != "queued" || n.Delivery.Late {
			t.Fatalf("delivery during the outage = %+v; want queued, not late", n.Delivery)
		}
		if n.AlternativesReason != flow.DeliveryReasonFailed || len(n.Alternatives) == 0 || n.Alternatives[0] != "voice" {
			t.Fatalf("during the outage: alternatives %v (%q); want voice first at once, reason failed", n.Alternatives, n.AlternativesReason)
		}
		sw, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		wantSecondFactor(t, sw, err, "voice", "sms")
		call := lastTo(t, e, phFixedE164)
		done, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")
	})
}
