package twostep_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

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

// TestPhoneServiceNumbersRefused: premium-rate, shared-cost, toll-free and
// pager numbers are refused for SMS and voice alike (toll fraud), with
// phone_number_not_allowed about the field phone; nothing is written or
// sent. An ordinary mobile and a fixed line (voice) still pass.
func TestPhoneServiceNumbersRefused(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		for _, typed := range []string{"0990-12-3456", "0570-123-456", "0120-123-456", "0800-123-4567", "+1 900 555 0100", "+1 800 555 0100", "020-4123-4567"} {
			for _, m := range []twostep.Method{twostep.MethodSMS, twostep.MethodVoice} {
				_, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, m, typed, "")
				flowtest.WantRefusals(t, err, "phone_number_not_allowed/phone")
			}
		}
		if creds, _ := e.DB.Credentials(ctx, e.JP.ID, a.ID); len(creds) != 0 {
			t.Errorf("credentials after refusals: %+v", creds)
		}
		for _, to := range []string{"+81990123456", "+81570123456", "+81120123456", "+19005550100"} {
			if got := e.Messages(t, to); len(got) != 0 {
				t.Errorf("%s was sent %d messages", to, len(got))
			}
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodVoice, "03-1234-5678", ""); err != nil {
			t.Errorf("fixed line by voice: %v", err)
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-1234-5678", ""); err != nil {
			t.Errorf("mobile by SMS: %v", err)
		}
	})
}

// TestPhoneAllowed: the number types of PhoneAllowed.
func TestPhoneAllowed(t *testing.T) {
	for n, want := range map[string]bool{
		"+819012345678": true, "+81312345678": true, "+12015550123": true, "+447400123456": true,
		"+81990123456": false, "+81570123456": false, "+81120123456": false, "+19005550100": false,
		"+448001234567": false, "+447012345678": false, "+819": false, "": false,
		"+881612345678": false, "+870773123456": false, "+882347000000": false, // satellite and international networks
	} {
		if got := twostep.PhoneAllowed(n); got != want {
			t.Errorf("PhoneAllowed(%q) = %v, want %v", n, got, want)
		}
	}
}

// TestPhoneEnrolStartsShareTheCooldown: beginning an enrolment again to the
// same number, alternating SMS and voice, is refused with resend_too_soon
// (retry_after_s the rest of the 30 s) instead of sending a code each time;
// another number is not held back, and 30 s later (injected clock) the
// number gets its next code.
func TestPhoneEnrolStartsShareTheCooldown(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		a := signUp(t, e, "hanako@example.jp")
		const to = "+819012345678"
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-1234-5678", ""); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(10 * time.Second)
		for i, m := range []twostep.Method{twostep.MethodVoice, twostep.MethodSMS, twostep.MethodVoice, twostep.MethodSMS} {
			_, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, m, "090-1234-5678", "")
			flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
			if p := ninsho.ErrorOf(err).Params; p["retry_after_s"] != 20 || p["seconds"] != 20 {
				t.Errorf("start %d: params %v, want retry_after_s 20", i, p)
			}
		}
		if got := len(e.Messages(t, to)); got != 1 {
			t.Errorf("%d messages to the number, want 1", got)
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "080-9876-5432", ""); err != nil {
			t.Errorf("another number: %v", err)
		}
		// Another number's SMS enrolment replaced the first one (A, B, A):
		// the first number's cool-down still holds (found from outside).
		_, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-1234-5678", "")
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
		if got := len(e.Messages(t, to)); got != 1 {
			t.Errorf("A, B, A: %d messages to the first number, want 1", got)
		}
		e.Clock.Advance(20 * time.Second)
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodVoice, "090-1234-5678", ""); err != nil {
			t.Fatalf("30 s later: %v", err)
		}
		if got := len(e.Messages(t, to)); got != 2 {
			t.Errorf("%d messages to the number, want 2", got)
		}
		_, err = e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-1234-5678", "")
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
	})
}

// TestPhoneEnrolOwnNumberIsTheOwnersCode (found from outside): enrolling
// the number the account already proved (it signs in with it) draws the
// code from the owner's share of the number's budget; another number's
// enrolment stays a stranger's.
func TestPhoneEnrolOwnNumberIsTheOwnersCode(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const own = "+819073164829"
		e.MustSignUp(t, e.JP, "090-7316-4829", "correct horse battery staple", own)
		a, err := e.DB.AccountByPhone(ctx, e.JP.ID, own)
		if err != nil {
			t.Fatal(err)
		}
		lanes := func() []string {
			evs, err := e.DB.AccountEvents(ctx, a.ID, time.Time{}, 50)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, ev := range evs {
				if ev.Type == event.TypeCodeSent && ev.Data["purpose"] == string(twostep.PurposePhoneEnrol) {
					out = append(out, fmt.Sprint(ev.Data["lane"]))
				}
			}
			return out
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodSMS, "090-7316-4829", ""); err != nil {
			t.Fatal(err)
		}
		if got := lanes(); len(got) != 1 || got[0] != "owner" {
			t.Errorf("enrolling the account's own verified number: lanes %v, want [owner]", got)
		}
		if _, err := e.TwoStep.BeginPhone(ctx, e.JP, req, a, twostep.MethodVoice, "03-1234-5678", ""); err != nil {
			t.Fatal(err)
		}
		if got := lanes(); len(got) != 2 || got[0] != "stranger" {
			t.Errorf("enrolling another number: lanes %v (newest first), want stranger", got)
		}
	})
}
