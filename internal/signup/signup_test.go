package signup_test

import (
	"cmp"
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const goodPassword = "kumo-no-ue-42"

func TestSignupByEmailConfirmsWithCode(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{
			Identifier: " Hanako@Example.JP ", Name: "山田 花子", Password: goodPassword,
		})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		f := ans.Flow
		if f.Status != flow.StatusChallenge || ans.Next.Step != flow.StepVerificationCode {
			t.Fatalf("got status %q step %+v, want challenge/verification_code", f.Status, ans.Next)
		}
		if ans.Next.Channel != "email" || ans.Next.Destination != "h*****@e******.jp" || ans.Next.ResendAfterS != 30 {
			t.Errorf("next = %+v, want email to h*****@e******.jp, resend after 30 s", ans.Next)
		}
		if ans.DeviceToken == "" {
			t.Error("no device token for a new device")
		}
		a, err := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
		if err != nil || a.Status != account.StatusPending {
			t.Fatalf("account = %+v, %v; want pending", a, err)
		}
		msgs := e.Messages(t, "hanako@example.jp")
		if len(msgs) != 1 || msgs[0].Template != "signup_code" || len(msgs[0].Code) != 6 {
			t.Fatalf("messages = %+v, want one signup_code with a 6-digit code", msgs)
		}
		req := flowtest.Req("192.0.2.1", ans.DeviceToken)

		// A wrong code counts; full-width digits of the right code work.
		wrong := "000000"
		if msgs[0].Code == wrong {
			wrong = "111111"
		}
		bad, err := e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: wrong})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
		if got := ninsho.ErrorOf(err).Params["attempts_left"]; got != 4 || bad.Next.AttemptsLeft != 4 {
			t.Errorf("attempts_left = %v / %d, want 4", got, bad.Next.AttemptsLeft)
		}
		fullWidth := strings.Map(func(r rune) rune { return r - '0' + '０' }, msgs[0].Code)
		done, err := e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: fullWidth})
		if err != nil {
			t.Fatalf("submit right code: %v", err)
		}
		if done.Flow.Status != flow.StatusComplete || done.Session == nil || done.Session.Token == "" {
			t.Fatalf("got %+v, want complete with a session", done.Flow)
		}
		a, _ = e.DB.Account(ctx, a.ID)
		if a.Status != account.StatusActive || a.EmailVerifiedAt == nil {
			t.Errorf("account after confirm = %+v, want active and e-mail verified", a)
		}
		p, err := e.Signin.Authenticate(ctx, e.JP, done.Session.Token)
		if err != nil || p.Account.ID != a.ID {
			t.Errorf("Authenticate(new session) = %v, %v", p, err)
		}
		d, _, err := e.Kit.Devices.Resolve(ctx, "jp", ans.DeviceToken, "")
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := e.DB.IsFamiliar(ctx, a.ID, d.ID); !ok {
			t.Error("the device that confirmed the sign-up is not familiar")
		}
		// The code cannot be used again.
		_, err = e.Engine.Act(ctx, "jp", f.ID, req, flow.Action{Name: flow.ActionSubmitCode, Code: msgs[0].Code})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
		evs, _ := e.DB.AccountEvents(ctx, a.ID, flowtest.Epoch.Add(-time.Hour), 10)
		var types []string
		for _, ev := range evs {
			types = append(types, ev.Type)
			if ev.IP != "192.0.2.1" && ev.Type != "code.sent" {
				t.Errorf("event %s has ip %q, want 192.0.2.1", ev.Type, ev.IP)
			}
		}
		sort.Strings(types)
		if got := strings.Join(types, ","); got != "code.sent,signup.completed,signup.started" {
			t.Errorf("events = %s", got)
		}
	})
}

func TestSignupByPhoneTypedInFullWidth(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{
			Identifier: "０９０－１２３４－５６７８", Name: "Taro", Password: goodPassword,
		})
		if err != nil {
			t.Fatalf("Start: %v", err)
		}
		if ans.Next.Channel != "sms" || ans.Next.Destination != "090-****-5678" {
			t.Errorf("next = %+v, want sms to 090-****-5678", ans.Next)
		}
		c := e.LastCode(t, "+819012345678")
		done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.1", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
		if err != nil || done.Session == nil {
			t.Fatalf("confirm: %v", err)
		}
		a, err := e.DB.AccountByPhone(ctx, "jp", "+819012345678")
		if err != nil || a.PhoneVerifiedAt == nil || a.Status != account.StatusActive {
			t.Errorf("account = %+v, %v; want active with verified phone", a, err)
		}
	})
}

func TestSignupRejectsInput(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		tests := []struct {
			name string
			in   signup.Input
			want ninsho.Code
		}{
			{"bad identifier", signup.Input{Identifier: "hanako@", Name: "H", Password: goodPassword}, ninsho.CodeIdentifierInvalid},
			{"landline", signup.Input{Identifier: "03-1234-5678", Name: "H", Password: goodPassword}, ninsho.CodePhoneNotMobile},
			{"link in name", signup.Input{Identifier: "a@example.jp", Name: "Win a prize at https://spam.example", Password: goodPassword}, ninsho.CodeNameInvalid},
			{"no name", signup.Input{Identifier: "a@example.jp", Name: "  ", Password: goodPassword}, ninsho.CodeFieldRequired},
			{"short", signup.Input{Identifier: "a@example.jp", Name: "H", Password: "abc12"}, ninsho.CodePasswordTooShort},
			{"common", signup.Input{Identifier: "a@example.jp", Name: "H", Password: "password123"}, ninsho.CodePasswordTooCommon},
			{"personal", signup.Input{Identifier: "kumiko@example.jp", Name: "H", Password: "kumiko-1999!"}, ninsho.CodePasswordContainsPersonal},
			{"NUL bytes", signup.Input{Identifier: "a@example.jp", Name: "H", Password: strings.Repeat("\x00", 8)}, ninsho.CodePasswordCharsInvalid},
			{"invalid UTF-8", signup.Input{Identifier: "a@example.jp", Name: "H", Password: strings.Repeat("\xff", 8)}, ninsho.CodePasswordCharsInvalid},
			{"spaces only", signup.Input{Identifier: "a@example.jp", Name: "H", Password: strings.Repeat(" ", 8)}, ninsho.CodePasswordTooSimple},
			{"zero-width spaces", signup.Input{Identifier: "a@example.jp", Name: "H", Password: strings.Repeat("\u200b", 8)}, ninsho.CodePasswordTooSimple},
			{"one character repeated", signup.Input{Identifier: "a@example.jp", Name: "H", Password: "aaaaaaaa"}, ninsho.CodePasswordTooSimple},
			{"mismatch", signup.Input{Identifier: "a@example.jp", Name: "H", Password: goodPassword, PasswordConfirmation: goodPassword + "x", ConfirmPassword: true}, ninsho.CodePasswordMismatch},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := e.Signup.Start(context.Background(), e.JP, flowtest.Req("192.0.2.1", ""), tt.in)
				flowtest.WantCode(t, err, tt.want)
			})
		}
	})
}

func TestSignupWithTakenIdentifier(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "owner@example.jp", goodPassword, "owner@example.jp")
		e.MustSignUp(t, e.Safe, "owner@example.com", goodPassword, "owner@example.com")

		_, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.9", ""), signup.Input{Identifier: "OWNER@example.jp", Name: "X", Password: goodPassword})
		flowtest.WantCode(t, err, ninsho.CodeIdentifierTaken)

		// A safe realm answers alike for taken and new identifiers, and
		// tells the owner instead of sending a code.
		e.Clock.Advance(time.Minute)
		taken, err := e.Signup.Start(ctx, e.Safe, flowtest.Req("192.0.2.9", ""), signup.Input{Identifier: "owner@example.com", Name: "X", Password: goodPassword})
		if err != nil {
			t.Fatalf("safe realm, taken: %v", err)
		}
		fresh, err := e.Signup.Start(ctx, e.Safe, flowtest.Req("192.0.2.9", ""), signup.Input{Identifier: "newbie@example.com", Name: "X", Password: goodPassword})
		if err != nil {
			t.Fatalf("safe realm, new: %v", err)
		}
		if taken.Flow.Status != fresh.Flow.Status || !reflect.DeepEqual(taken.Next, withDest(fresh.Next, taken.Next.Destination)) {
			t.Errorf("taken answer %+v differs from new answer %+v", taken.Next, fresh.Next)
		}
		msgs := e.Messages(t, "owner@example.com")
		if len(msgs) < 2 || msgs[0].Template != "account_exists" || msgs[0].Code != "" {
			t.Fatalf("owner messages = %+v, want newest account_exists without a code", msgs)
		}
		_, err = e.Engine.Act(ctx, "safe", taken.Flow.ID, flowtest.Req("192.0.2.9", taken.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: "123456"})
		flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
	})
}

func withDest(n *flow.Next, dest string) *flow.Next {
	c := *n
	c.Destination = dest
	return &c
}

// TestSecondSignupKeepsTheFirst: a second sign-up for an address whose first
// sign-up is unconfirmed does not displace it (issue 8, point 6): both codes
// work, the first code confirmed decides the name and password, and the other
// flow then answers identifier_taken.
func TestSecondSignupKeepsTheFirst(t *testing.T) {
	for _, winner := range []string{"first", "second"} {
		t.Run(winner+" confirms first", func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				const firstPW, secondPW = "first-password-77", "second-password-88"
				first, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "late@example.jp", Name: "A", Password: firstPW})
				if err != nil {
					t.Fatal(err)
				}
				firstCode := e.LastCode(t, "late@example.jp")
				e.Clock.Advance(time.Minute)
				second, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.2", ""), signup.Input{Identifier: "late@example.jp", Name: "B", Password: secondPW})
				if err != nil {
					t.Fatalf("second sign-up of an unconfirmed identifier: %v", err)
				}
				secondCode := e.LastCode(t, "late@example.jp")
				if first.Flow.AccountID != second.Flow.AccountID {
					t.Fatalf("the second sign-up replaced the first's pending account (%s → %s)", first.Flow.AccountID, second.Flow.AccountID)
				}
				a, err := e.DB.AccountByEmail(ctx, "jp", "late@example.jp")
				if err != nil || a.Name != "A" || a.Status != account.StatusPending {
					t.Fatalf("before any code: account = %+v, %v; want the first sign-up, pending", a, err)
				}
				win, lose := first, second
				winCode, loseCode, wantName, wantPW := firstCode, secondCode, "A", firstPW
				if winner == "second" {
					win, lose = second, first
					winCode, loseCode, wantName, wantPW = secondCode, firstCode, "B", secondPW
				}
				done, err := e.Engine.Act(ctx, "jp", win.Flow.ID, flowtest.Req("192.0.2.1", win.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: winCode})
				if err != nil || done.Session == nil {
					t.Fatalf("the %s sign-up's own code: %v", winner, err)
				}
				a, _ = e.DB.AccountByEmail(ctx, "jp", "late@example.jp")
				if a.Name != wantName || a.Status != account.StatusActive {
					t.Errorf("after the %s code: account = %+v; want name %q, active", winner, a, wantName)
				}
				e.Clock.Advance(time.Minute)
				if ans, err := e.Signin.Start(ctx, e.JP, flowtest.Req("192.0.2.1", win.DeviceToken), signin.Input{Identifier: "late@example.jp", Password: wantPW}); err != nil || ans.Session == nil {
					t.Errorf("sign-in with the %s sign-up's password: %v", winner, err)
				}
				_, err = e.Engine.Act(ctx, "jp", lose.Flow.ID, flowtest.Req("192.0.2.2", lose.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: loseCode})
				flowtest.WantCode(t, err, ninsho.CodeIdentifierTaken)
			})
		})
	}
}

func TestSignupCodeLimits(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "limits@example.jp", Name: "L", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		id, req := ans.Flow.ID, flowtest.Req("192.0.2.1", ans.DeviceToken)
		act := func(a flow.Action) (*flow.Answer, error) { return e.Engine.Act(ctx, "jp", id, req, a) }

		_, err = act(flow.Action{Name: flow.ActionResendCode})
		flowtest.WantCode(t, err, ninsho.CodeResendTooSoon)
		if got := ninsho.ErrorOf(err).Params["seconds"]; got != 30 {
			t.Errorf("seconds = %v, want 30", got)
		}
		first := e.LastCode(t, "limits@example.jp")

		// The code lives ten minutes.
		e.Clock.Advance(10 * time.Minute)
		_, err = act(flow.Action{Name: flow.ActionSubmitCode, Code: first})
		flowtest.WantCode(t, err, ninsho.CodeCodeExpired)
		resent, err := act(flow.Action{Name: flow.ActionResendCode})
		if err != nil {
			t.Fatalf("resend after the cool-down: %v", err)
		}
		if resent.Next.ResendAfterS != 30 {
			t.Errorf("after a resend, resend_after_s = %d, want 30 (the answer must describe the flow after the send)", resent.Next.ResendAfterS)
		}
		second := e.LastCode(t, "limits@example.jp")
		if second == first {
			t.Log("the new code equals the old one by chance")
		}
		// Four wrong answers, one resend: the count goes on; the fifth ends the flow.
		wrong := otherThan(second)
		for i := 1; i <= 4; i++ {
			_, err = act(flow.Action{Name: flow.ActionSubmitCode, Code: wrong})
			flowtest.WantCode(t, err, ninsho.CodeCodeIncorrect)
			if i == 2 {
				e.Clock.Advance(31 * time.Second)
				if _, err := act(flow.Action{Name: flow.ActionResendCode}); err != nil {
					t.Fatalf("resend: %v", err)
				}
				second = e.LastCode(t, "limits@example.jp")
				wrong = otherThan(second) // wrong whatever the new code is
			}
		}
		_, err = act(flow.Action{Name: flow.ActionSubmitCode, Code: wrong})
		flowtest.WantCode(t, err, ninsho.CodeCodeAttemptsExceeded)
		_, err = act(flow.Action{Name: flow.ActionSubmitCode, Code: second})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)

		// The flow itself ends after an hour.
		e.Clock.Advance(time.Hour)
		_, err = e.Engine.View(ctx, "jp", id, ninsho.Request{})
		flowtest.WantCode(t, err, ninsho.CodeFlowExpired)
	})
}

func TestSignupHourlyCapPerDestination(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		var err error
		// A sign-up code is in the strangers' lane of its destination: 5
		// an hour (the owner's lane keeps its own 10).
		for i := 0; i < 6; i++ {
			_, err = e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "cap@example.jp", Name: "C", Password: goodPassword})
			if i < 5 && err != nil {
				t.Fatalf("sign-up %d: %v", i+1, err)
			}
		}
		flowtest.WantCode(t, err, ninsho.CodeResendLimitReached)
		e.Clock.Advance(time.Hour + time.Second)
		if _, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "cap@example.jp", Name: "C", Password: goodPassword}); err != nil {
			t.Errorf("after an hour: %v", err)
		}
	})
}

func TestSignupRefusesAChannelWithoutProvider(t *testing.T) {
	e := flowtest.New(t, storetest.MustOpenSQLite(t))
	e.Kit.Channels = map[code.Channel]bool{code.ChannelEmail: true}
	_, err := e.Signup.Start(context.Background(), e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "090-1234-5678", Name: "T", Password: goodPassword})
	flowtest.WantCode(t, err, ninsho.CodeChannelUnavailable)
	if _, err := e.DB.AccountByPhone(context.Background(), "jp", "+819012345678"); !ninsho.IsCode(err, ninsho.CodeAccountNotFound) {
		t.Errorf("an account was stored for a number no code can reach: %v", err)
	}
}

// otherThan returns a six-digit guess that is not code.
func otherThan(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// TestHeldSignupForATakenAddressEnds: in an explicit realm, a sign-up held
// at the CAPTCHA for an address that has an account answers identifier_taken
// once the CAPTCHA is solved, and the flow ends there: the solved CAPTCHA
// cannot be replayed for another answer.
func TestHeldSignupForATakenAddressEnds(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "taken@example.jp", goodPassword, "taken@example.jp")
		req := flowtest.Req("192.0.2.77", "")
		var ans *flow.Answer
		var err error
		for i := 0; i < 3; i++ { // the third start of a device is held
			ans, err = e.Signup.Start(ctx, e.JP, req, signup.Input{Identifier: fmt.Sprintf("new%d@example.jp", i), Name: "N", Password: goodPassword})
			req.DeviceToken = cmp.Or(req.DeviceToken, ans.DeviceToken)
		}
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		// The held flow is for new2@; hold one for the taken address instead.
		held, err := e.Signup.Start(ctx, e.JP, req, signup.Input{Identifier: "taken@example.jp", Name: "N", Password: goodPassword})
		flowtest.WantCode(t, err, ninsho.CodeCaptchaRequired)
		answer, aerr := e.Captcha.Answer(ctx, held.Next.Captcha.ID)
		if aerr != nil {
			t.Fatal(aerr)
		}
		got, err := e.Engine.Act(ctx, "jp", held.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		flowtest.WantCode(t, err, ninsho.CodeIdentifierTaken)
		if got.Flow.Status != flow.StatusFailed {
			t.Errorf("status %s, want failed", got.Flow.Status)
		}
		_, err = e.Engine.Act(ctx, "jp", held.Flow.ID, req, flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		flowtest.WantCode(t, err, ninsho.CodeFlowCompleted)
	})
}

// TestEmptyCodeIsNotAGuess: submitting nothing asks for the code and uses
// no attempt.
func TestEmptyCodeIsNotAGuess(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.1", ""), signup.Input{Identifier: "empty@example.jp", Name: "E", Password: goodPassword})
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range []string{"", "  ", "-"} {
			got, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.1", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: in})
			flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
			if got.Next == nil || got.Next.AttemptsLeft != 5 {
				t.Errorf("code %q: next %+v, want 5 attempts left", in, got.Next)
			}
		}
	})
}
