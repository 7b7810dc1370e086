package flowtest_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
)

// TestPendingSignInSpendsTheStrangersShare (issue 11, found from outside):
// a stranger who starts a sign-up for someone else's number chose its
// password, so signing in with it proves nothing about the number. Each
// such sign-in sends the confirmation code from the strangers' share of the
// number's hourly budget (5), never from the owner's (10): after the
// strangers' share is spent, further sign-ins send nothing.
func TestPendingSignInSpendsTheStrangersShare(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const victim, victimE164, chosen = "090-1111-2222", "+819011112222", "Tr0ub4dor-xyz-2026"
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("198.51.100.7", ""), signup.Input{Identifier: victim, Name: "Stranger", Password: chosen}); err != nil {
			t.Fatalf("sign-up: %v", err)
		}
		refused := 0
		for i := range 8 { // fewer than the CAPTCHA threshold of the identifier
			req := flowtest.Req(fmt.Sprintf("198.51.100.%d", 20+i), "")
			_, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: victim, Password: chosen})
			if err != nil {
				if !ninsho.IsCode(err, ninsho.CodeResendLimitReached) {
					t.Fatalf("sign-in %d: %v, want a challenge or resend_limit_reached", i, err)
				}
				refused++
			}
		}
		codes := 0
		for _, m := range e.Messages(t, victimE164) {
			if m.Template == "signup_code" {
				codes++
			}
		}
		if codes != 5 || refused != 4 {
			t.Errorf("sign-up codes to the number: %d, sign-ins refused: %d; want 5 (the strangers' share) and 4", codes, refused)
		}
	})
}

// TestSafeRealmPendingSignInAnswersAsUnknown: in a safe realm, signing in
// with the password of an unconfirmed sign-up answers credentials_incorrect,
// exactly as for an existing account whose password the stranger does not
// know — otherwise "sign up, then sign in with my password" would tell
// whether the identifier already had an account.
func TestSafeRealmPendingSignInAnswersAsUnknown(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "owner@example.com", pw, "owner@example.com")
		const chosen = "Xq9-mLp2vR7-zz-2026"
		try := func(ident string) ninsho.Code {
			t.Helper()
			if _, err := e.Signup.Start(ctx, e.Safe, flowtest.Req("198.51.100.40", ""), signup.Input{Identifier: ident, Name: "Stranger", Password: chosen}); err != nil {
				t.Fatalf("sign-up %s: %v", ident, err)
			}
			_, err := e.Signin.Start(ctx, e.Safe, flowtest.Req("198.51.100.41", ""), signin.Input{Identifier: ident, Password: chosen})
			return ninsho.CodeOf(err)
		}
		known, fresh := try("owner@example.com"), try("nobody-yet@example.com")
		if known != ninsho.CodeCredentialsIncorrect || fresh != known {
			t.Errorf("sign-in after sign-up: existing account %q, new identifier %q; want both credentials_incorrect", known, fresh)
		}
	})
}

// TestPendingSignInVoiceWhenOffered: a sign-in to an unconfirmed sign-up by
// phone whose confirmation text is reported undelivered offers the voice
// call, and switch_channel voice then calls (what is offered works).
func TestPendingSignInVoiceWhenOffered(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		const number, e164, chosen = "090-6666-1212", "+819066661212", "kumo-no-ue-2026x"
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.50", ""), signup.Input{Identifier: number, Name: "Hanako", Password: chosen}); err != nil {
			t.Fatalf("sign-up: %v", err)
		}
		req := flowtest.Req("192.0.2.50", "")
		ans, err := e.Signin.Start(ctx, e.JP, req, signin.Input{Identifier: number, Password: chosen})
		if err != nil {
			t.Fatalf("sign-in: %v", err)
		}
		req.DeviceToken = ans.DeviceToken
		lastTo(t, e, e164) // dispatch
		reports := &message.Reports{Store: e.DB, Clock: e.Clock}
		if _, err := reports.Record(ctx, message.DeliveryReport{Provider: "devinbox", MessageID: ans.Flow.Get(flow.StateCodeMessage), Status: message.DeliveryUndelivered}); err != nil {
			t.Fatal(err)
		}
		view, err := e.Engine.View(ctx, "jp", ans.Flow.ID, req)
		if err != nil {
			t.Fatal(err)
		}
		offered := slices.Contains(view.Next.Alternatives, "voice")
		sw, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchChannel, Channel: "voice"})
		if offered && err != nil {
			t.Fatalf("voice offered (%v) but switch_channel voice: %v", view.Next.Alternatives, err)
		}
		if !offered && !ninsho.IsCode(err, ninsho.CodeChannelUnavailable) {
			t.Fatalf("voice not offered (%v) but switch_channel voice: %v", view.Next.Alternatives, err)
		}
		if !offered {
			t.Fatalf("an undelivered confirmation text offers no voice call: alternatives %v (%q)", view.Next.Alternatives, view.Next.AlternativesReason)
		}
		call := lastTo(t, e, e164)
		if call.Channel != "voice" || sw.Flow.Channel != "voice" {
			t.Fatalf("after switch_channel voice: last message %s, flow channel %s", call.Channel, sw.Flow.Channel)
		}
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: call.Code})
		if err != nil || done.Session == nil {
			t.Fatalf("the called code: %v, session %v; want the sign-up confirmed and signed in", err, done != nil && done.Session != nil)
		}
	})
}

// TestSafeRealmWrongCodesPauseAlike (found from outside): in a safe realm,
// five wrong codes in a sign-up and five in the password assistant pause
// the next check at the same moment whether the identifier has an account
// or not. The taken identifier's sign-up counts under the owner's account,
// as a new identifier's counts under its pending account.
func TestSafeRealmWrongCodesPauseAlike(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.Safe, "owner@example.com", pw, "owner@example.com")
		probe := func(ident string) []ninsho.Code {
			t.Helper()
			var got []ninsho.Code
			wrong := func(id string, n int) {
				for range n {
					_, err := e.Engine.Act(ctx, "safe", id, flowtest.Req("198.51.100.60", ""), flow.Action{Name: flow.ActionSubmitCode, Code: "000000"})
					got = append(got, ninsho.CodeOf(err))
				}
			}
			su, err := e.Signup.Start(ctx, e.Safe, flowtest.Req("198.51.100.60", ""), signup.Input{Identifier: ident, Name: "Q", Password: "Xy7-kLm9pQ2w-2026"})
			if err != nil {
				t.Fatalf("sign-up %s: %v", ident, err)
			}
			wrong(su.Flow.ID, 5)
			for _, n := range []int{5, 1} {
				pa, err := e.Reset.Start(ctx, e.Safe, flowtest.Req("198.51.100.60", ""), ident)
				if err != nil {
					t.Fatalf("password assistant %s: %v", ident, err)
				}
				wrong(pa.Flow.ID, n)
			}
			return got
		}
		known, unknown := probe("owner@example.com"), probe("nobody-yet@example.com")
		if !slices.Equal(known, unknown) {
			t.Errorf("wrong-code answers differ:\nexisting account %v\nnew identifier   %v", known, unknown)
		}
		if last := unknown[len(unknown)-1]; last != ninsho.CodeAccountLocked {
			t.Errorf("the 11th wrong code answered %q, want the guard's pause (account_locked)", last)
		}
	})
}
