package flowtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/message/providers/devinbox"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/signup"
)

const langPW = "kumo-no-ue-42"

// wantMessage fails t unless the newest message to to is template in locale.
func wantMessage(t *testing.T, e *flowtest.Env, to, template, locale string) *devinbox.Message {
	t.Helper()
	ms := e.Messages(t, to)
	if len(ms) == 0 {
		t.Fatalf("no message to %s, want %s (%s)", to, template, locale)
	}
	if ms[0].Template != template || ms[0].Locale != locale {
		t.Fatalf("newest message to %s = %s (%s), want %s (%s)", to, ms[0].Template, ms[0].Locale, template, locale)
	}
	return ms[0]
}

// signUpInEnglish signs up hanako@example.jp in the Japanese realm through
// the API with "locale":"en" and no other language signal, and confirms it.
func signUpInEnglish(t *testing.T, e *flowtest.Env) {
	t.Helper()
	ctx := context.Background()
	ans, err := e.Signup.Start(ctx, e.JP, flowtest.Req("192.0.2.10", ""), signup.Input{Identifier: "hanako@example.jp", Name: "Hanako Yamada", Password: langPW, Locale: "en"})
	if err != nil {
		t.Fatal(err)
	}
	c := wantMessage(t, e, "hanako@example.jp", "signup_code", "en").Code
	if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("192.0.2.10", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c}); err != nil {
		t.Fatal(err)
	}
	a, _ := e.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	if a.Locale != "en" {
		t.Fatalf("account locale = %q, want en", a.Locale)
	}
}

// TestOneSignInOneLanguage (issue 9, finding 1): an account saved in English
// signs in on a new device in a Japanese realm with a request that expresses
// no language: the code and the alert are both in English (the account's
// language outranks the realm's default). A request that chooses Japanese
// gets both in Japanese.
func TestOneSignInOneLanguage(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		signUpInEnglish(t, e)
		for _, tc := range []struct {
			name, ip, lang, want string
		}{
			{"no language signal", "203.0.113.9", "", "en"},
			{"explicit ja", "198.51.100.7", "ja", "ja"},
		} {
			e.Clock.Advance(time.Hour)
			req := func(dev string) ninsho.Request {
				if tc.lang == "" {
					return flowtest.Req(tc.ip, dev)
				}
				return flowtest.ReqIn(tc.ip, dev, tc.lang)
			}
			ans, err := e.Signin.Start(ctx, e.JP, req(""), signin.Input{Identifier: "hanako@example.jp", Password: langPW})
			if err != nil || ans.Next == nil || ans.Next.Step != flow.StepVerificationCode {
				t.Fatalf("%s: sign-in on a new device = %+v, %v; want the code step", tc.name, ans, err)
			}
			c := wantMessage(t, e, "hanako@example.jp", "signin_code", tc.want).Code
			done, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, req(ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c})
			if err != nil || done.Session == nil {
				t.Fatalf("%s: submit_code: %v", tc.name, err)
			}
			wantMessage(t, e, "hanako@example.jp", "signin_alert", tc.want)
		}
	})
}

// TestCodeFollowsALanguageChosenMidFlow (issue 9, finding 2): the password
// assistant started in English sends its code in English; a later request
// of the same flow that chooses Japanese (?lang=ja) gets the next code in
// Japanese, and so does a still later request that expresses nothing (the
// flow keeps the choice).
func TestCodeFollowsALanguageChosenMidFlow(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "hanako@example.jp", langPW, "hanako@example.jp")
		ans, err := e.Reset.Start(ctx, e.JP, flowtest.ReqIn("198.51.100.8", "", "en"), "hanako@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		wantMessage(t, e, "hanako@example.jp", "reset_code", "en")
		e.Clock.Advance(time.Minute)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.ReqIn("198.51.100.8", ans.DeviceToken, "ja"), flow.Action{Name: flow.ActionResendCode}); err != nil {
			t.Fatalf("resend with ?lang=ja: %v", err)
		}
		wantMessage(t, e, "hanako@example.jp", "reset_code", "ja")
		e.Clock.Advance(time.Minute)
		if _, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.8", ans.DeviceToken), flow.Action{Name: flow.ActionResendCode}); err != nil {
			t.Fatalf("resend: %v", err)
		}
		wantMessage(t, e, "hanako@example.jp", "reset_code", "ja")
	})
}

// TestCodeAfterCaptchaFollowsTheLanguageChosen: a password assistant held
// behind a CAPTCHA, started in English and solved with ?lang=ja, sends its
// code in Japanese.
func TestCodeAfterCaptchaFollowsTheLanguageChosen(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		signUpInEnglish(t, e)
		dev := ""
		var ans *flow.Answer
		var err error
		for i := 0; i < 3; i++ {
			e.Clock.Advance(time.Minute)
			ans, err = e.Reset.Start(ctx, e.JP, flowtest.ReqIn("198.51.100.8", dev, "en"), "hanako@example.jp")
			if ans != nil && ans.DeviceToken != "" {
				dev = ans.DeviceToken
			}
		}
		if err == nil || ans.Next == nil || ans.Next.Step != flow.StepCaptcha {
			t.Fatalf("third start = %+v, %v; want the CAPTCHA", ans, err)
		}
		answer, err := e.Captcha.Answer(ctx, ans.Next.Captcha.ID)
		if err != nil {
			t.Fatal(err)
		}
		next, err := e.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.ReqIn("198.51.100.8", dev, "ja"), flow.Action{Name: flow.ActionSubmitCaptcha, Answer: answer})
		if err != nil || next.Next.Step != flow.StepVerificationCode {
			t.Fatalf("submit_captcha = %+v, %v; want the code step", next, err)
		}
		wantMessage(t, e, "hanako@example.jp", "reset_code", "ja")
	})
}

// TestNotMeUnlockCodeFollowsTheLanguageChosen (issue 9, finding 2): the
// owner of a Japanese account presses "this wasn't me" on an English page
// (?lang=en): the unlock code is in English. Without a language signal it is
// in the account's Japanese.
func TestNotMeUnlockCodeFollowsTheLanguageChosen(t *testing.T) {
	for _, tc := range []struct {
		name string
		lang string
		want string
	}{
		{"chosen en", "en", "en"},
		{"no language signal", "", "ja"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
				ctx := context.Background()
				dev := e.MustSignUp(t, e.JP, "hanako@example.jp", langPW, "hanako@example.jp")
				e.Clock.Advance(time.Minute)
				thief, err := e.Signin.Start(ctx, e.JP, flowtest.Req("203.0.113.9", ""), signin.Input{Identifier: "hanako@example.jp", Password: langPW})
				if err != nil {
					t.Fatal(err)
				}
				c := wantMessage(t, e, "hanako@example.jp", "signin_code", "ja").Code
				if _, err := e.Engine.Act(ctx, "jp", thief.Flow.ID, flowtest.Req("203.0.113.9", thief.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: c}); err != nil {
					t.Fatal(err)
				}
				alert := wantMessage(t, e, "hanako@example.jp", "signin_alert", "ja")
				link := strings.Fields(alert.Text[strings.Index(alert.Text, "https://"):])[0]
				u, _ := url.Parse(link)
				req := flowtest.Req("192.0.2.10", dev)
				if tc.lang != "" {
					req = flowtest.ReqIn("192.0.2.10", dev, tc.lang)
				}
				e.Clock.Advance(time.Minute)
				if _, err := e.Unlock.NotMe(ctx, e.JP, req, u.Query().Get("token")); err != nil {
					t.Fatal(err)
				}
				wantMessage(t, e, "hanako@example.jp", "unlock_code", tc.want)
			})
		})
	}
}
