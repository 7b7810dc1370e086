package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// TestBrowserTwoStepHistory: what a person does with two-step verification
// shows in the account page's history in plain words (golden, ja and en):
// turning it on with the authenticator app, new backup codes, a sign-in
// with the app that trusts the browser, a sign-in on that trusted browser,
// a re-authentication with the app, and forgetting every trusted device.
func TestBrowserTwoStepHistory(t *testing.T) {
	h, env := newReauthWeb(t)
	dev := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	env.Clock.Advance(time.Minute) // history entries of one instant have no fixed order
	secret, _ := enrolTOTP(t, env, "taro@example.jp")
	b := jar{"ninsho_device": dev, "ninsho_cookies": "1"}
	withUA := func() []string { return append(b.header(), "User-Agent", flowtest.BrowserUA) }
	signIn := func() string {
		t.Helper()
		env.Clock.Advance(time.Minute)
		rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, withUA()...)
		b.take(t, rec.Result())
		if rec.Code != 303 {
			t.Fatalf("signin: %d %s", rec.Code, rec.Body)
		}
		return rec.Header().Get("Location")
	}
	signOut := func() {
		env.Clock.Advance(time.Minute)
		post(h, "/signout", url.Values{}, withUA()...)
		delete(b, "ninsho_session")
	}

	twoStep := signIn()
	env.Clock.Advance(time.Minute)
	rec := post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}, "trust_device": {"1"}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	signOut()
	if to := signIn(); to != "/account" {
		t.Fatalf("signin on the trusted browser led to %s, want /account", to)
	}

	env.Clock.Advance(11 * time.Minute)
	rec = post(h, "/reauth", url.Values{"password": {pw}, "return_to": {"/account/trusted-devices"}}, withUA()...)
	b.take(t, rec.Result())
	reauthFactor := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")
	env.Clock.Advance(time.Minute)
	rec = post(h, reauthFactor, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/trusted-devices")
	b.take(t, rec.Result())

	env.Clock.Advance(time.Minute)
	rec = post(h, "/account/trusted-devices", url.Values{"action": {"forget_all"}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/trusted-devices?done=forgot_all")

	want := map[string][]string{
		"ja": {"コードを求めないデバイスをすべて解除", "パスワードと2段階認証でご本人確認（認証アプリ）", "コードを求めないデバイスでログイン",
			"ログアウト", "デバイスをコードを求めないデバイスに登録", "2段階認証でログイン（認証アプリ）",
			"新しいバックアップコードを発行", "2段階認証をオンに設定（認証アプリ）", "2段階認証の確認方法を追加: 認証アプリ"},
		"en": {"All devices removed from the devices that skip the code", "Identity confirmed again with the password and two-step verification (authenticator app)",
			"Signed in on a device that skips the code", "Signed in with two-step verification (authenticator app)", "Two-step verification turned on (authenticator app)"},
	}
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, "/account?lang="+lang, withUA()...)
		if rec.Code != 200 {
			t.Fatalf("account: %d %s", rec.Code, rec.Body)
		}
		body := rec.Body.String()
		last := 0
		for _, w := range want[lang] {
			i := strings.Index(body, w)
			if i < 0 {
				t.Errorf("%s: history lacks %q", lang, w)
				continue
			}
			if lang == "ja" && i < last {
				t.Errorf("%s: %q out of order (newest first)", lang, w)
			}
			last = i
		}
		webtest.Golden(t, lang+"/account_history_two_step.golden", page(rec))
	}
}
