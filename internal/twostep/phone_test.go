package twostep_test

import (
	"context"
	"slices"
	"testing"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/twostep"
)

// TestPhoneMethodNames: the channels and session methods of the phone
// methods.
func TestPhoneMethodNames(t *testing.T) {
	for _, tt := range []struct {
		m       twostep.Method
		phone   bool
		channel code.Channel
		amr     string
	}{
		{twostep.MethodSMS, true, code.ChannelSMS, session.MethodSMS},
		{twostep.MethodVoice, true, code.ChannelVoice, session.MethodVoice},
		{twostep.MethodTOTP, false, code.ChannelSMS, session.MethodSMS},
	} {
		if got := twostep.IsPhone(tt.m); got != tt.phone {
			t.Errorf("IsPhone(%s) = %v", tt.m, got)
		}
		if tt.phone && (twostep.ChannelOf(tt.m) != tt.channel || twostep.SessionMethod(tt.m) != tt.amr) {
			t.Errorf("%s: channel %s amr %s", tt.m, twostep.ChannelOf(tt.m), twostep.SessionMethod(tt.m))
		}
	}
}

// TestPhoneRefusals: a realm with e-mail addresses only, or without a
// provider for the channel, has no phone methods; nothing is written then.
func TestPhoneRefusals(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		emailOnly := *e.JP
		emailOnly.EmailOnly = true
		_, err := e.TwoStep.BeginPhone(ctx, &emailOnly, req, a, twostep.MethodSMS, "090-1234-5678", "")
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)

		e.TwoStep.Phone.Channels = map[code.Channel]bool{code.ChannelEmail: true, code.ChannelSMS: true}
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodVoice, "090-1234-5678", "")
		flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, " ", "")
		flowtest.WantRefusals(t, err, "field_required/phone")
		if creds, _ := e.DB.Credentials(ctx, e.JP.ID, a.ID); len(creds) != 0 {
			t.Errorf("credentials after refusals: %+v", creds)
		}

		// The enrolment records who and where.
		en, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-1234-5678", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.TwoStep.ProvePhone(ctx, e.JP, req, a, en.CredentialID, e.LastCode(t, "+819012345678")); err != nil {
			t.Fatal(err)
		}
		got := eventTypes(t, e, a)
		for _, want := range []string{event.TypeTwoStepEnrolStarted, event.TypeTwoStepMethodAdded, event.TypeTwoStepEnabled} {
			if !slices.Contains(got, want) {
				t.Errorf("events %v lack %s", got, want)
			}
		}
	})
}
