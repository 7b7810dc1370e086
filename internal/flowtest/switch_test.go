package flowtest_test

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/twostep"
)

// Tests of the switches of a code step (issue 11, the testers' findings):
// a switch goes only to one of next.alternatives.

const (
	swUSPhone      = "(201) 555-0123" // the safe realm's region is US
	swUSPhoneE164  = "+12015550123"
	swUSNobody     = "(201) 555-0188"
	swUSNobodyE164 = "+12015550188"
)

// swWithPhone gives the account of email the verified number e164.
func swWithPhone(t *testing.T, e *flowtest.Env, realmID, email, e164 string) {
	t.Helper()
	ctx := context.Background()
	a, err := e.DB.AccountByEmail(ctx, realmID, email)
	if err != nil {
		t.Fatal(err)
	}
	now := e.Clock.Now()
	a.Phone, a.PhoneVerifiedAt = e164, &now
	if err := e.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
}

// report records a provider's delivery report of the flow's code message.
func report(t *testing.T, e *flowtest.Env, f *flow.Flow, st message.DeliveryStatus) {
	t.Helper()
	reports := &message.Reports{Store: e.DB, Clock: e.Clock}
	if _, err := reports.Record(context.Background(), message.DeliveryReport{Provider: "devinbox", MessageID: f.Get(flow.StateCodeMessage), Status: st}); err != nil {
		t.Fatal(err)
	}
}

// shape is what an answer shows a caller of a step, values that tell
// nothing left out: the keys of next, its step, channel, alternatives and
// reason, and the delivery's status.
func shape(t *testing.T, ans *flow.Answer, err error) string {
	t.Helper()
	if ans == nil || ans.Next == nil {
		t.Fatalf("answer without next: %+v, %v", ans, err)
	}
	raw, _ := json.Marshal(ans.Next)
	var m map[string]any
	json.Unmarshal(raw, &m)
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	d := ""
	if ans.Next.Delivery != nil {
		d = ans.Next.Delivery.Status
	}
	e := ninsho.ErrorOf(err)
	got := struct {
		Keys                  []string
		Step, Channel, Reason string
		Alts                  []string
		Delivery, Code, Field string
		Status                flow.Status
	}{keys, string(ans.Next.Step), ans.Next.Channel, ans.Next.AlternativesReason, ans.Next.Alternatives, d, "", "", ans.Flow.Status}
	if e != nil {
		got.Code, got.Field = string(e.Code), e.Field
	}
	b, _ := json.Marshal(got)
	return string(b)
}

// TestSwitchChannelSafeRealmAlike (finding 1): in a safe realm the
// password assistant's switch_channel answers 400 channel_unavailable
// (field channel; field_required without a channel) alike for a known and an unknown identifier, by e-mail
// and by phone, whatever the channel asked for — also after the known
// number's SMS was reported undelivered, when an explicit realm would
// offer the voice call — and nothing is sent. Sign-up's and unlock's code
// steps refuse alike too.
func TestSwitchChannelSafeRealmAlike(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "known@example.com", pw, "known@example.com")
		swWithPhone(t, e, "safe", "known@example.com", swUSPhoneE164)
		calls := func() int {
			n := 0
			for _, m := range e.Messages(t, swUSPhoneE164) {
				if m.Channel == "voice" {
					n++
				}
			}
			return n
		}
		before := calls()
		for i, pair := range [][2]string{{"known@example.com", "nobody@example.com"}, {swUSPhone, swUSNobody}} {
			var shapes [2]string
			var flows [2]*flow.Flow
			var reqs [2]ninsho.Request
			for j, ident := range pair {
				ip := "198.51.100." + string(rune('1'+i*2+j))
				ans, err := e.Reset.Start(ctx, e.Safe, flowtest.Req(ip, ""), ident)
				if err != nil {
					t.Fatalf("start %s: %v", ident, err)
				}
				flows[j], reqs[j] = ans.Flow, flowtest.Req(ip, ans.DeviceToken)
			}
			e.Messages(t, swUSPhoneE164) // dispatch
			report(t, e, flows[0], message.DeliveryUndelivered)
			report(t, e, flows[1], message.DeliveryUndelivered)
			e.Clock.Advance(61 * time.Second)
			for _, ch := range []string{"voice", "sms", "email", ""} {
				want := ninsho.CodeChannelUnavailable
				if ch == "" {
					want = ninsho.CodeFieldRequired // no channel at all
				}
				for j := range pair {
					ans, err := e.Engine.Act(ctx, "safe", flows[j].ID, reqs[j], flow.Action{Name: flow.ActionSwitchChannel, Channel: ch})
					if ninsho.CodeOf(err) != want || ninsho.ErrorOf(err).Field != "channel" {
						t.Fatalf("%s: switch_channel %q = %v; want %s/channel", pair[j], ch, err, want)
					}
					shapes[j] = shape(t, ans, err)
				}
				if shapes[0] != shapes[1] {
					t.Errorf("switch_channel %q: known %s\nunknown %s", ch, shapes[0], shapes[1])
				}
			}
		}
		if got := calls(); got != before {
			t.Errorf("%d voice calls to the known number, want %d", got, before)
		}

		// Sign-up's code step: a new number and one that has an account.
		var shapes [2]string
		for j, ident := range []string{swUSNobody, swUSPhone} {
			ip := "203.0.113." + string(rune('1'+j))
			ans, err := e.Signup.Start(ctx, e.Safe, flowtest.Req(ip, ""), signup.Input{Identifier: ident, Name: "Pat", Password: pw})
			if err != nil {
				t.Fatalf("sign-up %s: %v", ident, err)
			}
			sw, err := e.Engine.Act(ctx, "safe", ans.Flow.ID, flowtest.Req(ip, ans.DeviceToken), flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
			flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
			shapes[j] = shape(t, sw, err)
		}
		if shapes[0] != shapes[1] {
			t.Errorf("sign-up switch_channel: new %s\ntaken %s", shapes[0], shapes[1])
		}
		// Unlock's code step.
		for j, ident := range []string{"known@example.com", "nobody@example.com"} {
			ip := "203.0.113." + string(rune('5'+j))
			ans, err := e.Unlock.Start(ctx, e.Safe, flowtest.Req(ip, ""), ident)
			if err != nil {
				t.Fatalf("unlock %s: %v", ident, err)
			}
			sw, err := e.Engine.Act(ctx, "safe", ans.Flow.ID, flowtest.Req(ip, ans.DeviceToken), flow.Action{Name: flow.ActionSwitchChannel, Channel: "sms"})
			flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
			shapes[j] = shape(t, sw, err)
		}
		if shapes[0] != shapes[1] {
			t.Errorf("unlock switch_channel: known %s\nunknown %s", shapes[0], shapes[1])
		}
	})
}

// TestSignupSafeTakenShowsDelivery (finding 2): a safe realm's sign-up
// with an identifier that has an account answers next as a new
// identifier's: the same keys, delivery "sent" at the time the message
// was written; after resend_code too. The owner gets the notice.
func TestSignupSafeTakenShowsDelivery(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "taken@example.com", pw, "taken@example.com")
		e.Clock.Advance(time.Minute)
		var shapes [2]string
		var flows [2]*flow.Flow
		var reqs [2]ninsho.Request
		for j, ident := range []string{"new@example.com", "taken@example.com"} {
			ip := "203.0.113." + string(rune('1'+j))
			ans, err := e.Signup.Start(ctx, e.Safe, flowtest.Req(ip, ""), signup.Input{Identifier: ident, Name: "Pat", Password: pw})
			if err != nil {
				t.Fatalf("sign-up %s: %v", ident, err)
			}
			e.Engine.Describe(ctx, ans)
			if d := ans.Next.Delivery; d == nil || d.Status != "sent" || !d.UpdatedAt.Equal(e.Clock.Now()) {
				t.Fatalf("%s: delivery %+v; want sent at %v", ident, d, e.Clock.Now())
			}
			shapes[j] = shape(t, ans, nil)
			flows[j], reqs[j] = ans.Flow, flowtest.Req(ip, ans.DeviceToken)
		}
		if shapes[0] != shapes[1] {
			t.Fatalf("start: new %s\ntaken %s", shapes[0], shapes[1])
		}
		if ms := e.Messages(t, "taken@example.com"); len(ms) == 0 || ms[0].Template != "account_exists" {
			t.Fatalf("the owner was not told")
		}
		e.Clock.Advance(31 * time.Second)
		for j := range flows {
			ans, err := e.Engine.Act(ctx, "safe", flows[j].ID, reqs[j], flow.Action{Name: flow.ActionResendCode})
			if err != nil {
				t.Fatal(err)
			}
			if d := ans.Next.Delivery; d == nil || d.Status != "sent" || !d.UpdatedAt.Equal(e.Clock.Now()) {
				t.Fatalf("resend %d: delivery %+v; want sent at %v", j, d, e.Clock.Now())
			}
			shapes[j] = shape(t, ans, nil)
		}
		if shapes[0] != shapes[1] {
			t.Errorf("resend: new %s\ntaken %s", shapes[0], shapes[1])
		}
	})
}

// TestSwitchChannelVoiceOnlyWhenOffered (finding 3): at the password
// assistant on a phone number (explicit realm), switch_channel voice is
// refused while the SMS is fine (no alternatives_reason) and calls no one;
// switch_channel to the current channel is refused; once the SMS is
// reported undelivered, voice is offered and the switch calls.
func TestSwitchChannelVoiceOnlyWhenOffered(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		swWithPhone(t, e, "jp", "hanako@example.jp", phMobileE164)
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), phMobile)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		n := len(e.Messages(t, phMobileE164))
		e.Clock.Advance(40 * time.Second) // past the cool-down, not late
		for _, ch := range []string{"voice", "sms"} {
			sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: ch})
			flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
			if sw.Next.Channel != "sms" || sw.Next.AlternativesReason != "" || slices.Contains(sw.Next.Alternatives, "voice") {
				t.Fatalf("switch_channel %s refused: next %+v", ch, sw.Next)
			}
		}
		if got := len(e.Messages(t, phMobileE164)); got != n {
			t.Fatalf("%d messages to the number, want %d: a refused switch sent one", got, n)
		}
		report(t, e, ans.Flow, message.DeliveryUndelivered)
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		if err != nil || sw.Next.Channel != "voice" {
			t.Fatalf("switch_channel voice after the report: %+v, %v", sw.Next, err)
		}
		if call := lastTo(t, e, phMobileE164); call.Channel != "voice" {
			t.Fatalf("newest message %s, want the call", call.Channel)
		}
		// The call is current: voice again is not an alternative.
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
	})
}

// TestSwitchMethodCurrentRefused (finding 4): switch_method to the method
// asked for now answers 400 channel_unavailable and changes nothing —
// without a report (no not_sent, the delivery still shown) and after an
// undelivered report (no new text skipping the cool-down); a different
// method is still switched to.
func TestSwitchMethodCurrentRefused(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		enrolPhone(t, e, sfEmail, twostep.MethodVoice, phFixed, phFixedE164)
		start, req := signInToChallenge(t, e)
		texts := len(e.Messages(t, phMobileE164))
		sw, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		if sw.Next.Method != "sms" || sw.Next.NotSent != "" || sw.Next.Delivery == nil || sw.Next.Delivery.Status != "sent" {
			t.Fatalf("refused switch: next %+v delivery %+v", sw.Next, sw.Next.Delivery)
		}
		report(t, e, sw.Flow, message.DeliveryUndelivered)
		for i := 0; i < 3; i++ {
			_, err = e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "sms"})
			flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		}
		if got := len(e.Messages(t, phMobileE164)); got != texts {
			t.Fatalf("%d texts, want %d: switch_method to the current method sent", got, texts)
		}
		sw, err = e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		wantSecondFactor(t, sw, err, "voice", "sms")
	})
}

// TestVoiceForSMSOnlySecondFactor (finding 5): an account whose only
// second factor is SMS is offered no voice call while its text is fine,
// and switch_method voice is refused; once the text is reported
// undelivered, voice comes first in next.alternatives, switch_method voice
// calls the SMS method's number and the code read out signs in with
// pwd+tel. Back to sms is offered.
func TestVoiceForSMSOnlySecondFactor(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, sfEmail, pw, sfEmail)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile, phMobileE164)
		start, req := signInToChallenge(t, e)
		view, _ := e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if slices.Contains(view.Next.Alternatives, "voice") {
			t.Fatalf("voice offered before any trouble: %v", view.Next.Alternatives)
		}
		_, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		sms := lastTo(t, e, phMobileE164)
		report(t, e, view.Flow, message.DeliveryUndelivered)
		view, _ = e.Engine.View(ctx, "jp", start.Flow.ID, req)
		if view.Next.AlternativesReason != "undelivered" || len(view.Next.Alternatives) == 0 || view.Next.Alternatives[0] != "voice" {
			t.Fatalf("after the report: alternatives %v (%q); want voice first", view.Next.Alternatives, view.Next.AlternativesReason)
		}
		sw, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"})
		if err != nil || sw.Next.Method != "voice" || !slices.Contains(sw.Next.Alternatives, "sms") {
			t.Fatalf("switch_method voice: %+v, %v", sw.Next, err)
		}
		call := lastTo(t, e, phMobileE164)
		if call.Channel != "voice" || call.Code == "" || call.Code == sms.Code {
			t.Fatalf("call = %s code %q", call.Channel, call.Code)
		}
		done, err := e.Engine.Act(ctx, "jp", start.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: call.Code})
		wantAAL2(t, e, done, err, "pwd", "tel")
	})
}

// TestSignupVoiceToTypedNumber (finding 5): a sign-up by phone number in
// an explicit realm whose SMS is reported failed offers a voice call to
// the number typed; its code confirms the sign-up.
func TestSignupVoiceToTypedNumber(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signup.Input{Identifier: phMobile, Name: "Hanako", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("203.0.113.9", ans.DeviceToken)
		_, err = e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		lastTo(t, e, phMobileE164)
		report(t, e, ans.Flow, message.DeliveryFailed)
		view, _ := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if view.Next.AlternativesReason != "failed" || !slices.Equal(view.Next.Alternatives, []string{"voice"}) {
			t.Fatalf("alternatives %v (%q); want [voice], failed", view.Next.Alternatives, view.Next.AlternativesReason)
		}
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		if err != nil || sw.Next.Channel != "voice" {
			t.Fatalf("switch_channel voice: %+v, %v", sw.Next, err)
		}
		call := lastTo(t, e, phMobileE164)
		if call.Channel != "voice" || call.Template != message.TemplateSignupCode {
			t.Fatalf("call = %s %s", call.Channel, call.Template)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: call.Code})
		if err != nil || done.Session == nil {
			t.Fatalf("the voice code: %+v, %v", done, err)
		}
	})
}

// TestVoiceCodeLate (finding 7): a voice code still "sent" past the
// realm's code delivery timeout is late (not_delivered_yet), at the
// verification-code step after switch_channel voice and at the second
// factor after switch_method voice; one second before it is not.
func TestVoiceCodeLate(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", pw, "hanako@example.jp")
		swWithPhone(t, e, "jp", "hanako@example.jp", phMobileE164)
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.Req("198.51.100.8", ""), phMobile)
		if err != nil {
			t.Fatal(err)
		}
		req := flowtest.Req("198.51.100.8", ans.DeviceToken)
		lastTo(t, e, phMobileE164)
		report(t, e, ans.Flow, message.DeliveryUndelivered)
		e.Clock.Advance(5 * time.Second)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"}); err != nil {
			t.Fatal(err)
		}
		lastTo(t, e, phMobileE164) // the call: sent
		e.Clock.Advance(59 * time.Second)
		view, _ := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if d := view.Next.Delivery; d == nil || d.Status != "sent" || d.Late {
			t.Fatalf("voice at 59 s: %+v", d)
		}
		e.Clock.Advance(61 * time.Second) // 2 minutes
		view, _ = e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if d := view.Next.Delivery; view.Next.Channel != "voice" || d == nil || d.Status != "sent" || !d.Late || view.Next.AlternativesReason != "not_delivered_yet" {
			t.Fatalf("voice at 2 min: channel %s delivery %+v reason %q", view.Next.Channel, d, view.Next.AlternativesReason)
		}

		// The second factor: the voice call on the SMS number.
		e.Clock.Advance(time.Hour)
		enrolPhone(t, e, sfEmail, twostep.MethodSMS, phMobile2, phMobile2E164) // sfEmail is hanako's
		start, sreq := signInToChallenge(t, e)
		lastTo(t, e, phMobile2E164)
		report(t, e, start.Flow, message.DeliveryUndelivered)
		if _, err := e.Engine.Act(ctx, "jp", start.Flow.ID, sreq, flow.Action{Name: flow.ActionSwitchMethod, Method: "voice"}); err != nil {
			t.Fatal(err)
		}
		lastTo(t, e, phMobile2E164)
		e.Clock.Advance(2 * time.Minute)
		view, _ = e.Engine.View(ctx, "jp", start.Flow.ID, sreq)
		if d := view.Next.Delivery; view.Next.Method != "voice" || d == nil || !d.Late || view.Next.AlternativesReason != "not_delivered_yet" {
			t.Fatalf("2SV voice at 2 min: method %s delivery %+v reason %q", view.Next.Method, d, view.Next.AlternativesReason)
		}
	})
}
