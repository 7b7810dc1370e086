package web_test

import (
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// TestDeliveryPagesGolden: the code pages show where and when the code
// went and its status (ja: Japan time, en: UTC), and, when the code's
// message was undelivered, failed or is late, the "didn't get the code?"
// box with the reason in plain words and the alternatives, voice first.
func TestDeliveryPagesGolden(t *testing.T) {
	at := time.Date(2026, 11, 25, 3, 3, 0, 0, time.UTC) // 12:03 in Japan
	tests := []struct {
		name, target string
		kind         flow.Kind
		next         *flow.Next
	}{
		{"two_step_sms_sent", "/two-step?", flow.KindSignin, &flow.Next{Step: flow.StepSecondFactor, Method: "sms", Destination: "090-****-5678",
			Delivery: &flow.Delivery{Status: "sent", UpdatedAt: at}, Alternatives: []string{"voice", "totp"}, AttemptsLeft: 5}},
		{"two_step_sms_undelivered", "/two-step?", flow.KindSignin, &flow.Next{Step: flow.StepSecondFactor, Method: "sms", Destination: "090-****-5678",
			Delivery: &flow.Delivery{Status: "undelivered", UpdatedAt: at}, AlternativesReason: "undelivered",
			Alternatives: []string{"voice", "totp", "backup_code"}, AttemptsLeft: 5}},
		{"two_step_sms_failed", "/two-step?", flow.KindSignin, &flow.Next{Step: flow.StepSecondFactor, Method: "sms", Destination: "090-****-5678",
			Delivery: &flow.Delivery{Status: "failed", UpdatedAt: at}, AlternativesReason: "failed",
			Alternatives: []string{"voice"}, AttemptsLeft: 5}},
		{"verify_late", "/verify?", flow.KindSignin, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "090-****-5678",
			Delivery: &flow.Delivery{Status: "sent", UpdatedAt: at, Late: true}, AlternativesReason: "not_delivered_yet",
			Alternatives: []string{"voice", "email"}}},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newResetWeb(t)
				e.MustAddFlowAt(t, tt.kind, tt.next, nil)
				rec := get(h, tt.target+flowQuery, "Accept-Language", lang)
				if rec.Code != 200 {
					t.Fatalf("got status %d: %s", rec.Code, rec.Body)
				}
				webtest.Golden(t, lang+"/delivery_"+tt.name+".golden", page(rec))
			})
		}
	}
}
