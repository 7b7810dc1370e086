package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// enrolTOTP turns two-step verification on for the account of email with a
// proved authenticator app and backup codes, and returns the app's secret
// and the codes; the clock then moves past the step the proof used.
func enrolTOTP(t *testing.T, env *flowtest.Env, email string) (string, []string) {
	t.Helper()
	ctx := context.Background()
	a, err := env.DB.AccountByEmail(ctx, env.JP.ID, email)
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req("192.0.2.10", "")
	en, err := env.TwoStep.BeginTOTP(ctx, env.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.TwoStep.ProveTOTP(ctx, env.JP, req, a, en.CredentialID, totpNow(t, env, en.Secret)); err != nil {
		t.Fatalf("prove: %v", err)
	}
	codes, err := env.TwoStep.RegenerateBackupCodes(ctx, env.JP, req, a)
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	return en.Secret, codes
}

func totpNow(t *testing.T, env *flowtest.Env, secret string) string {
	t.Helper()
	c, err := totp.CodeAt(secret, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var codeInput = regexp.MustCompile(`<input id="code"[^>]*>`)

// TestBrowserSigninWithSecondFactor: the right password of an account with
// two-step verification leads to /two-step (no session yet), which asks for
// the authenticator app's code; a wrong code is refused with the clock hint
// and the attempts left; switching to a backup code changes the field; the
// right backup code signs in and lands on the account page.
func TestBrowserSigninWithSecondFactor(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	secret, codes := enrolTOTP(t, env, "taro@example.jp")
	b := jar{}

	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result())
	twoStep := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")
	if _, ok := b["ninsho_session"]; ok {
		t.Fatalf("a session cookie before the second factor")
	}
	rec = get(h, twoStep, b.header()...)
	body := rec.Body.String()
	in := codeInput.FindString(body)
	if rec.Code != 200 || !strings.Contains(body, "認証アプリに表示されている6桁のコード") ||
		!strings.Contains(in, `autocomplete="one-time-code"`) || !strings.Contains(in, `inputmode="numeric"`) ||
		!strings.Contains(body, `name="method" value="backup_code"`) || !strings.Contains(body, "あと5回入力できます。") {
		t.Fatalf("second-factor page: %d, want the app's code asked (one-time-code, numeric), the backup code offered, 5 attempts:\n%s", rec.Code, body)
	}
	// Another browser (no flow cookie) cannot see or act on it.
	if rec := get(h, twoStep, "Cookie", "ninsho_cookies=1"); rec.Code != 404 {
		t.Errorf("another browser: %d, want 404", rec.Code)
	}

	wrong := "000000"
	if totpNow(t, env, secret) == wrong {
		wrong = "111111"
	}
	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {wrong}}, b.header()...)
	body = html.UnescapeString(rec.Body.String())
	if rec.Code != 400 || !strings.Contains(body, "「自動設定」") || !strings.Contains(body, `<a href="#code">`) ||
		!strings.Contains(body, `aria-invalid="true"`) || !strings.Contains(body, "あと4回入力できます。") {
		t.Fatalf("wrong app code: %d, want 400 with the clock hint linked to the field and 4 attempts left:\n%s", rec.Code, body)
	}

	rec = post(h, twoStep, url.Values{"action": {"switch_method"}, "method": {"backup_code"}}, b.header()...)
	if loc := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow="); loc != twoStep {
		t.Fatalf("switch: to %s, want %s", loc, twoStep)
	}
	rec = get(h, twoStep+"&lang=en", b.header()...)
	body = rec.Body.String()
	in = codeInput.FindString(body)
	if !strings.Contains(body, "Backup code") || strings.Contains(in, "inputmode") || !strings.Contains(in, `autocomplete="one-time-code"`) ||
		!strings.Contains(body, `name="method" value="totp"`) {
		t.Fatalf("after the switch: want the backup code asked (not numeric) and the app offered:\n%s", body)
	}

	env.Clock.Advance(time.Minute)
	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {strings.ToLower(codes[0])}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	if rec := get(h, "/account", b.header()...); rec.Code != 200 {
		t.Fatalf("account page after the second factor: %d", rec.Code)
	}
	// The finished flow's page is gone from this browser.
	if rec := get(h, twoStep, b.header()...); rec.Code != 404 {
		t.Errorf("two-step page after completion: %d, want 404", rec.Code)
	}
}

// TestBrowserPasswordAssistantWithSecondFactor: the password assistant's
// code leads to /two-step, and the right app code to the choice page.
func TestBrowserPasswordAssistantWithSecondFactor(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	secret, _ := enrolTOTP(t, env, "taro@example.jp")
	b := jar{}

	rec := post(h, "/password-assistant", url.Values{"identifier": {"taro@example.jp"}}, b.header()...)
	b.take(t, rec.Result())
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	flowID := strings.TrimPrefix(verify, "/verify?flow=")
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	twoStep := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow="+flowID)
	// The choice page is not reachable before the factor.
	rec = get(h, "/password-assistant/choose?flow="+flowID, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), twoStep)

	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}}, b.header()...)
	choose := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/password-assistant/choose?flow="+flowID)
	if rec := get(h, choose, b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="action" value="set_new_password"`) {
		t.Fatalf("choice page after the second factor: %d:\n%s", rec.Code, rec.Body)
	}
}

func sfNext(method string, alts ...string) *flow.Next {
	return &flow.Next{Step: flow.StepSecondFactor, Method: method, Alternatives: alts, AttemptsLeft: 5}
}

func TestTwoStepPagesGolden(t *testing.T) {
	tests := []struct {
		name   string
		status int
		setup  func(e *webtest.Engine)
		form   url.Values // nil: GET
	}{
		{name: "two_step", status: 200, setup: func(e *webtest.Engine) {
			e.MustAddFlowAt(t, flow.KindSignin, sfNext("totp", "backup_code"), nil)
		}},
		{name: "two_step_backup_code", status: 200, setup: func(e *webtest.Engine) {
			e.MustAddFlowAt(t, flow.KindReset, sfNext("backup_code", "totp"), nil)
		}},
		{name: "two_step_totp_incorrect", status: 400,
			form: url.Values{"action": {"submit_second_factor"}, "code": {"123456"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, sfNext("totp", "backup_code"), nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					n := sfNext("totp", "backup_code")
					n.AttemptsLeft = 4
					return &flow.Answer{Flow: f, Next: n}, ninsho.FieldError(ninsho.CodeTOTPIncorrect, "code")
				}
			}},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newResetWeb(t)
				tt.setup(e)
				target := "/two-step?" + flowQuery
				rec := get(h, target, "Accept-Language", lang)
				if tt.form != nil {
					rec = post(h, target, tt.form, "Accept-Language", lang)
				}
				if rec.Code != tt.status {
					t.Fatalf("got status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				webtest.Golden(t, lang+"/"+tt.name+".golden", page(rec))
			})
		}
	}
}

// TestBrowserSecondFactorOutOfAttempts: the fifth wrong app code ends the
// flow: the page says why and offers only the way to start again.
func TestBrowserSecondFactorOutOfAttempts(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	secret, _ := enrolTOTP(t, env, "taro@example.jp")
	b := jar{}
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result())
	twoStep := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")
	wrong := "000000"
	if totpNow(t, env, secret) == wrong {
		wrong = "111111"
	}
	for i := range 5 {
		rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {wrong}}, b.header()...)
		if rec.Code != 400 && rec.Code != 423 {
			t.Fatalf("wrong code %d: %d, want a refusal", i+1, rec.Code)
		}
	}
	b.take(t, rec.Result())
	body := rec.Body.String()
	if strings.Contains(body, `name="code"`) || !strings.Contains(body, `<a href="/signin">最初からやり直す</a>`) {
		t.Fatalf("fifth wrong code: %d, want no form and only a start again:\n%s", rec.Code, body)
	}
	if rec := get(h, twoStep, b.header()...); rec.Code != 404 {
		t.Errorf("the ended flow's page: %d, want 404 (its cookie cleared)", rec.Code)
	}
}
