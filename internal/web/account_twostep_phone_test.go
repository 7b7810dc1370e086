package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/twostep"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newPhoneWeb is the real web handler with the two-step service.
func newPhoneWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return mustWeb(tb, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, Now: env.Clock.Now, TwoStep: env.TwoStep}), env
}

// signedInPhoneBrowser signs up taro and signs in on a new browser, and returns
// its cookies (a fresh session).
func signedInPhoneBrowser(t *testing.T, h *web.Handler, env *flowtest.Env) jar {
	t.Helper()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result())
	if loc := rec.Header().Get("Location"); strings.HasPrefix(loc, "/verify") {
		rec = post(h, loc, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
		b.take(t, rec.Result())
	}
	if _, ok := b["ninsho_session"]; !ok {
		t.Fatalf("no session: %d %s", rec.Code, rec.Header().Get("Location"))
	}
	return b
}

// TestBrowserEnrolPhone: /account/two-step/phone takes a number and the
// way to get the code, leads to the code page (one-time-code, numeric,
// resend), refuses a wrong code there, and the right one goes back to the
// two-step settings with 2SV on. A stale session is sent to re-authenticate.
func TestBrowserEnrolPhone(t *testing.T) {
	h, env := newPhoneWeb(t)
	b := signedInPhoneBrowser(t, h, env)

	rec := get(h, "/account/two-step/phone", b.header()...)
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `type="tel"`) || !strings.Contains(body, `value="voice"`) || !strings.Contains(body, "SMS で受け取る") {
		t.Fatalf("number page: %d\n%s", rec.Code, body)
	}
	rec = post(h, "/account/two-step/phone", url.Values{"phone": {"03-1234-5678"}, "method": {"sms"}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), "音声通話で受け取る方法") || !strings.Contains(rec.Body.String(), `value="03-1234-5678"`) {
		t.Fatalf("a fixed line by text: %d\n%s", rec.Code, rec.Body)
	}
	rec = post(h, "/account/two-step/phone", url.Values{"phone": {"090-1234-5678"}, "method": {"sms"}}, b.header()...)
	codePage := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/two-step/phone/")
	rec = get(h, codePage, b.header()...)
	body = rec.Body.String()
	in := codeInput.FindString(body)
	if rec.Code != 200 || !strings.Contains(body, "090-****-5678") || !strings.Contains(in, `autocomplete="one-time-code"`) ||
		!strings.Contains(in, `inputmode="numeric"`) || !strings.Contains(body, `value="resend"`) {
		t.Fatalf("code page: %d\n%s", rec.Code, body)
	}
	code := env.LastCode(t, "+819012345678")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	rec = post(h, codePage, url.Values{"action": {"verify"}, "code": {wrong}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("wrong code: %d\n%s", rec.Code, rec.Body)
	}
	rec = post(h, codePage, url.Values{"action": {"resend"}}, b.header()...)
	if rec.Code != 429 && rec.Code != 400 {
		t.Errorf("resend at once: %d, want the cool-down refusal", rec.Code)
	}
	rec = post(h, codePage, url.Values{"action": {"verify"}, "code": {code}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/two-step")
	a, _ := env.DB.AccountByEmail(context.Background(), env.JP.ID, "taro@example.jp")
	if st, err := env.TwoStep.State(context.Background(), env.JP, a); err != nil || !st.Enabled {
		t.Errorf("2SV after the code page: %+v, %v; want on", st, err)
	}
	// The account page says where codes go, and by which way.
	rec = get(h, "/account", b.header()...)
	if !strings.Contains(rec.Body.String(), "SMS の確認コードの送信先：090-1234-5678") {
		t.Errorf("account page does not say where text-message codes go:\n%s", rec.Body)
	}

	env.Clock.Advance(env.JP.ReauthWindow() + time.Minute)
	rec = get(h, "/account/two-step/phone", b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/reauth?return_to=%2Faccount%2Ftwo-step%2Fphone")
}

// TestBrowserSigninWithSMS: the hosted second-factor page shows the masked
// number and a resend button for a text message, and the code from it signs
// in.
func TestBrowserSigninWithSMS(t *testing.T) {
	h, env := newPhoneWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	ctx := context.Background()
	a, _ := env.DB.AccountByEmail(ctx, env.JP.ID, "taro@example.jp")
	req := flowtest.Req("192.0.2.10", "")
	en, err := env.TwoStep.BeginPhone(ctx, env.JP, req, a, twostep.MethodSMS, "090-1234-5678", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.TwoStep.ProvePhone(ctx, env.JP, req, a, en.CredentialID, env.LastCode(t, "+819012345678")); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	b := jar{}
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result())
	twoStep := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")
	rec = get(h, twoStep, b.header()...)
	body := rec.Body.String()
	in := codeInput.FindString(body)
	if rec.Code != 200 || !strings.Contains(body, "090-****-5678 に確認コードをお送りします。") || !strings.Contains(body, `value="resend_code"`) ||
		!strings.Contains(in, `inputmode="numeric"`) {
		t.Fatalf("second-factor page for sms: %d\n%s", rec.Code, body)
	}
	env.Clock.Advance(30 * time.Second)
	rec = post(h, twoStep, url.Values{"action": {"resend_code"}}, b.header()...)
	if loc := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow="); loc != twoStep {
		t.Fatalf("resend: to %s", loc)
	}
	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {env.LastCode(t, "+819012345678")}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
}

// TestTwoStepPhonePagesGolden: the hosted second-factor page asking for a
// text-message code, in both languages.
func TestTwoStepPhonePagesGolden(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			h, e := newResetWeb(t)
			n := sfNext("sms", "voice", "backup_code")
			n.Destination, n.ResendAfterS = "090-****-5678", 30
			e.MustAddFlowAt(t, flow.KindSignin, n, nil)
			rec := get(h, "/two-step?"+flowQuery, "Accept-Language", lang)
			if rec.Code != 200 {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/two_step_sms.golden", page(rec))
		})
	}
}
