package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// deliveryAt is when the code's message last changed in the delivery page
// tests: a minute before the pages are shown (webtest.Epoch), 01:01 UTC,
// 10:01 in Japan.
var deliveryAt = webtest.Epoch.Add(-time.Minute)

func smsNext(status string, alts ...string) *flow.Next {
	n := &flow.Next{Step: flow.StepSecondFactor, Method: "sms", Destination: "090-****-5678",
		Delivery: &flow.Delivery{Status: status, UpdatedAt: deliveryAt}, Alternatives: alts, AttemptsLeft: 5}
	switch status {
	case "undelivered", "failed":
		n.AlternativesReason = status
	}
	return n
}

func verifyNext(channel, status string, alts ...string) *flow.Next {
	n := &flow.Next{Step: flow.StepVerificationCode, Channel: channel, Destination: "090-****-5678", Alternatives: alts}
	if status != "" {
		n.Delivery = &flow.Delivery{Status: status, UpdatedAt: deliveryAt}
	}
	switch status {
	case "undelivered", "failed":
		n.AlternativesReason = status
	}
	return n
}

func late(n *flow.Next) *flow.Next {
	n.Delivery.Late, n.AlternativesReason = true, flow.DeliveryReasonLate
	return n
}

func notSent(n *flow.Next, why string) *flow.Next {
	n.NotSent, n.Delivery, n.AlternativesReason = why, nil, ""
	return n
}

// TestDeliveryPagesGolden: the code pages say where the code goes and, in
// one line that agrees with it, what is known of its message (times in the
// realm's zone, Japan time here, in both languages); a voice call is
// spoken of as a call; when the message was undelivered, failed or is
// late, the "didn't get the code?" box says what probably happened and what
// to do, with only the real other ways as buttons; and where the number's
// codes are refused for an hour (the code budget, the SMS cost guard) the
// page offers no "resend" or call that would be refused, and says when.
func TestDeliveryPagesGolden(t *testing.T) {
	limit := ninsho.E(ninsho.CodeResendLimitReached).WithParam("retry_after_s", 3600)
	guard := ninsho.E(ninsho.CodeRateLimited).WithParam("kind", "messages").WithParam("retry_after_s", 3600)
	tests := []struct {
		name, target string
		status       int
		next         *flow.Next
		form         url.Values // nil: GET
		refuse       error      // the refusal of the POST
	}{
		{name: "two_step_sms_queued", target: "/two-step?", next: smsNext("queued", "totp")},
		{name: "two_step_sms_sent", target: "/two-step?", next: smsNext("sent", "voice", "totp")},
		{name: "two_step_sms_delivered", target: "/two-step?", next: smsNext("delivered", "voice", "totp")},
		{name: "two_step_sms_undelivered", target: "/two-step?", next: smsNext("undelivered", "voice", "totp", "backup_code")},
		{name: "two_step_sms_failed", target: "/two-step?", next: smsNext("failed", "voice")},
		{name: "two_step_sms_undelivered_no_alternatives", target: "/two-step?", next: smsNext("undelivered")},
		{name: "two_step_voice_sent", target: "/two-step?", next: func() *flow.Next { n := smsNext("sent", "sms"); n.Method = "voice"; return n }()},
		{name: "two_step_voice_failed", target: "/two-step?", next: func() *flow.Next { n := smsNext("failed", "sms", "totp"); n.Method = "voice"; return n }()},
		{name: "two_step_guard_with_app", target: "/two-step?", next: notSent(smsNext("sent", "voice", "totp", "backup_code"), "rate_limited")},
		{name: "two_step_guard_phone_only", target: "/two-step?", next: notSent(smsNext("sent", "voice"), "rate_limited")},
		{name: "two_step_not_sent_limit", target: "/two-step?", next: notSent(smsNext("sent", "voice", "totp"), "resend_limit_reached")},
		{name: "two_step_resend_refused_limit", target: "/two-step?", status: 429, next: smsNext("sent", "voice", "totp"),
			form: url.Values{"action": {"resend_code"}}, refuse: limit},
		{name: "two_step_resend_refused_limit_failed", target: "/two-step?", status: 429, next: smsNext("failed", "voice", "totp", "backup_code"),
			form: url.Values{"action": {"resend_code"}}, refuse: limit},
		{name: "two_step_voice_resend_refused_limit_undelivered", target: "/two-step?", status: 429, next: func() *flow.Next { n := smsNext("undelivered", "sms", "totp"); n.Method = "voice"; return n }(),
			form: url.Values{"action": {"resend_code"}}, refuse: limit},
		{name: "two_step_resend_refused_guard", target: "/two-step?", status: 429, next: notSent(smsNext("sent", "voice", "backup_code"), "rate_limited"),
			form: url.Values{"action": {"resend_code"}}, refuse: guard},
		{name: "verify_sms_queued", target: "/verify?", next: verifyNext("sms", "queued", "email")},
		{name: "verify_sms_delivered", target: "/verify?", next: verifyNext("sms", "delivered", "email")},
		{name: "verify_sms_failed", target: "/verify?", next: verifyNext("sms", "failed", "voice", "email")},
		{name: "verify_sms_failed_one_alternative", target: "/verify?", next: verifyNext("sms", "failed", "email")},
		{name: "verify_voice_delivered", target: "/verify?", next: verifyNext("voice", "delivered", "email")},
		{name: "verify_voice_sent", target: "/verify?", next: verifyNext("voice", "sent", "email")},
		{name: "verify_voice_no_report", target: "/verify?", next: verifyNext("voice", "", "email")},
		{name: "verify_late", target: "/verify?", next: late(verifyNext("sms", "sent", "voice", "email"))},
		{name: "verify_late_no_alternatives", target: "/verify?", next: late(verifyNext("sms", "sent"))},
		{name: "verify_resend_refused_limit", target: "/verify?", status: 429, next: verifyNext("sms", "sent", "voice", "email"),
			form: url.Values{"action": {"resend_code"}}, refuse: limit},
		{name: "verify_switch_refused_limit", target: "/verify?", status: 429, next: func() *flow.Next {
			n := verifyNext("email", "sent", "sms")
			n.Destination = "t***@e******.jp"
			return n
		}(),
			form: url.Values{"action": {"switch_channel"}, "channel": {"sms"}}, refuse: limit},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newResetWeb(t)
				e.MustAddFlowAt(t, flow.KindSignin, tt.next, nil)
				rec := get(h, tt.target+flowQuery, "Accept-Language", lang)
				if tt.form != nil {
					e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
						return &flow.Answer{Flow: f, Next: tt.next}, tt.refuse
					}
					rec = post(h, tt.target+flowQuery, tt.form, "Accept-Language", lang)
				}
				want := tt.status
				if want == 0 {
					want = 200
				}
				if rec.Code != want {
					t.Fatalf("got status %d, want %d: %s", rec.Code, want, rec.Body)
				}
				webtest.Golden(t, lang+"/delivery_"+tt.name+".golden", page(rec))
			})
		}
	}
}

// TestDeliveryPagesSayNothingUntrue checks, over every state of
// TestDeliveryPagesGolden's goldens, what the tester found: no "sent" next
// to a message that was not, no generic refusal with an unfilled
// placeholder, no "another way" without one, no UTC time in a Japanese
// realm.
func TestDeliveryPagesSayNothingUntrue(t *testing.T) {
	check := func(name string, next *flow.Next, lang string, bad ...string) string {
		t.Helper()
		h, e := newResetWeb(t)
		e.MustAddFlowAt(t, flow.KindSignin, next, nil)
		target := "/two-step?"
		if next.Step == flow.StepVerificationCode {
			target = "/verify?"
		}
		rec := get(h, target+flowQuery, "Accept-Language", lang)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("%s %s: %d", lang, name, rec.Code)
		}
		for _, b := range bad {
			if strings.Contains(body, b) {
				t.Errorf("%s %s says %q:\n%s", lang, name, b, body)
			}
		}
		return body
	}
	for _, st := range []string{"queued", "undelivered", "failed"} {
		check("verify "+st, verifyNext("sms", st), "ja", "送信しました", "お送りしました")
		check("verify "+st, verifyNext("sms", st), "en", "We&#39;ve sent", "Sent to", "We sent")
		check("two-step "+st, smsNext(st), "ja", "送信しました", "お送りしました")
		check("two-step "+st, smsNext(st), "en", "We&#39;ve sent", "Sent to", "We sent")
	}
	body := check("verify voice", verifyNext("voice", "sent"), "ja", "確認コードを送信しました", "お伝えします", "再送")
	if !strings.Contains(body, "090-****-5678 にお電話しました") || !strings.Contains(body, "もう一度電話する") {
		t.Errorf("the voice code page does not say, in the past, that we called, or offer to call again:\n%s", body)
	}
	if body := check("verify voice not yet", verifyNext("voice", "", "email"), "ja", "再送"); !strings.Contains(body, "090-****-5678 にお電話して、確認コードをお伝えします") {
		t.Errorf("the voice code page without a report does not say a call is coming:\n%s", body)
	}
	for _, st := range []string{"sent", "delivered", "failed"} {
		n := smsNext(st, "sms")
		n.Method = "voice"
		check("two-step voice "+st, n, "en", "Resend code", "send it again", "We&#39;re calling", "We&#39;re going to call")
		check("two-step voice "+st, n, "ja", "確認コードを再送する", "再送してください", "お伝えします。")
	}
	for _, lang := range []string{"ja", "en"} {
		// A failed message: either cause, and check the number.
		body := check("failed", verifyNext("sms", "failed", "email"), lang, "障害", "outage", "次のほかの", "one of these ways", "いずれか")
		for _, want := range []string{map[string]string{"ja": "番号が無効", "en": "number is not valid"}[lang], map[string]string{"ja": "正しいかご確認ください", "en": "Please check that"}[lang]} {
			if !strings.Contains(body, want) {
				t.Errorf("%s failed page lacks %q:\n%s", lang, want, body)
			}
		}
		// No other way: the code hint does not speak of one.
		check("no other way", smsNext("sent"), lang, "ほかの方法", "another way")
		check("no other way undelivered", smsNext("undelivered"), lang, "ほかの方法", "another way")
		// Several other ways: plural wording.
		check("other ways", smsNext("undelivered", "voice", "totp"), lang, "this way:", "次の方法でも", "次のほかの")
	}
	for _, lang := range []string{"ja", "en"} {
		check("late", late(verifyNext("sms", "sent")), lang, "ほかの方法", "another way", "email", "メール", "認証アプリ", "authenticator", "1分ほどかかる", "can take a minute")
		check("guard", notSent(smsNext("sent", "voice"), "rate_limited"), lang, "{", "試行回数", "Too many attempts", `value="resend_code"`, `value="voice"`)
		check("guard with app", notSent(smsNext("sent", "voice", "totp"), "rate_limited"), lang, "{", "試行回数", "Too many attempts", `value="resend_code"`, `value="voice"`)
	}
	if body := check("en in a Japanese realm", smsNext("sent"), "en", "UTC"); !strings.Contains(body, "Sent at 10:01 JST.") {
		t.Errorf("the English page of a Japanese realm does not give the time in Japan time:\n%s", body)
	}
}

// TestDeliveryLimitAfterFailedCode: when the number's code budget refuses
// a resend and the last code's message failed or was undelivered, the
// page does not ask to use that code: it says when codes can go to the
// number again and offers only the ways that do not use the phone; when
// the last message may have arrived, it still asks to use it.
func TestDeliveryLimitAfterFailedCode(t *testing.T) {
	limit := ninsho.E(ninsho.CodeResendLimitReached).WithParam("retry_after_s", 3600)
	useLast := map[string]string{"ja": "最後にお届けした", "en": "use the last code"}
	from := map[string]string{"ja": "11:02 ごろから、この電話番号に", "en": "again from about 11:02 JST"}
	for _, lang := range []string{"ja", "en"} {
		for _, st := range []string{"failed", "undelivered", "sent"} {
			h, e := newResetWeb(t)
			next := smsNext(st, "voice", "totp")
			e.MustAddFlowAt(t, flow.KindSignin, next, nil)
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
				return &flow.Answer{Flow: f, Next: next}, limit
			}
			rec := post(h, "/two-step?"+flowQuery, url.Values{"action": {"resend_code"}}, "Accept-Language", lang)
			body := rec.Body.String()
			if rec.Code != 429 {
				t.Fatalf("%s %s: status %d", lang, st, rec.Code)
			}
			if got, want := strings.Contains(body, useLast[lang]), st == "sent"; got != want {
				t.Errorf("%s %s: asks to use the last code: %v, want %v:\n%s", lang, st, got, want, body)
			}
			if !strings.Contains(body, from[lang]) || !strings.Contains(body, `value="totp"`) ||
				strings.Contains(body, `value="voice"`) || strings.Contains(body, `value="resend_code"`) {
				t.Errorf("%s %s: no time, no app, or a phone way offered:\n%s", lang, st, body)
			}
		}
	}
}
