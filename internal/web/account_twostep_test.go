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
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// newTwoStepWeb returns the pages with the two-step settings and a browser
// signed in (just now) to hanako@example.jp, whose language is lang.
func newTwoStepWeb(t *testing.T, lang string) (*web.Handler, *flowtest.Env, jar) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := mustWeb(t, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, Now: env.Clock.Now,
	})
	b := jar{}
	rec := post(h, "/signup?lang="+lang, url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"Hanako Yamada"},
		"password": {pw}, "password_confirmation": {pw},
	})
	if rec.Code != 303 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	rec = post(h, rec.Header().Get("Location"), url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "hanako@example.jp")}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("submit code: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	if b["ninsho_session"] == "" {
		t.Fatal("no session")
	}
	delete(b, "ninsho_lang")
	return h, env, b
}

var (
	groupedSecret = regexp.MustCompile(`<p class="secret"><code>([A-Z2-7 ]+)</code></p>`)
	qrImage       = regexp.MustCompile(`<img src="data:image/png;base64,(?:[A-Za-z0-9/=]|&#43;)+" width="256" height="256" alt="[^"]+">`)
)

// TestTwoStepSettingsPages: off at first; adding an authenticator app
// shows the QR code (allowed by the page's policy), the secret in groups of
// four and the otpauth URL, with a one-time-code field; a wrong code is
// refused on the same page; the right one turns 2SV on and the page then
// strongly offers backup codes, which are shown once; the settings page
// lists the app, and the account page sums it up. In both languages.
func TestTwoStepSettingsPages(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			h, env, b := newTwoStepWeb(t, lang)
			rec := get(h, "/account/two-step", b.header()...)
			if rec.Code != 200 {
				t.Fatalf("settings: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_two_step_off.golden", page(rec))
			rec = get(h, "/account/two-step/totp", b.header()...)
			webtest.Golden(t, lang+"/account_two_step_totp.golden", page(rec))

			rec = post(h, "/account/two-step/totp", url.Values{"label": {"iPhone"}}, b.header()...)
			loc := rec.Header().Get("Location")
			if rec.Code != 303 || !strings.HasPrefix(loc, "/account/two-step/totp?credential=") {
				t.Fatalf("begin: %d %q %s", rec.Code, loc, rec.Body)
			}
			rec = get(h, loc, b.header()...)
			body := rec.Body.String()
			m := groupedSecret.FindStringSubmatch(body)
			in := codeInput.FindString(body)
			if rec.Code != 200 || m == nil || !qrImage.MatchString(body) || !strings.Contains(body, "otpauth://totp/") ||
				!strings.Contains(in, `autocomplete="one-time-code"`) || !strings.Contains(in, `inputmode="numeric"`) {
				t.Fatalf("enrolment page: %d, want the QR code, the grouped secret, the URL and the code field:\n%s", rec.Code, body)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data:") {
				t.Errorf("CSP %q does not allow the QR code", csp)
			}
			secret := strings.ReplaceAll(m[1], " ", "")
			credential := strings.TrimPrefix(loc, "/account/two-step/totp?credential=")

			rec = post(h, "/account/two-step/totp/verify", url.Values{"credential": {credential}, "code": {"12"}}, b.header()...)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) || !qrImage.MatchString(rec.Body.String()) {
				t.Fatalf("wrong code: %d, want 400 with the error and the QR code again:\n%s", rec.Code, rec.Body)
			}
			rec = post(h, "/account/two-step/totp/verify", url.Values{"credential": {credential}, "code": {totpNow(t, env, secret)}}, b.header()...)
			if rec.Code != 303 || rec.Header().Get("Location") != "/account/two-step?done=on" {
				t.Fatalf("right code: %d %q", rec.Code, rec.Header().Get("Location"))
			}
			rec = get(h, "/account/two-step?done=on", b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/account/two-step/backup-codes"`) {
				t.Fatalf("after the first method: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_two_step_offer.golden", page(rec))
			// No backup codes yet: the account page says so, not "running low".
			none := map[string]string{"ja": "バックアップコードはありません", "en": "You have no backup codes"}[lang]
			if rec = get(h, "/account", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), none) || strings.Contains(rec.Body.String(), `<p class="warn" role="status">`) {
				t.Fatalf("account page without backup codes: %d, want %q and no low warning:\n%s", rec.Code, none, rec.Body)
			}

			rec = post(h, "/account/two-step/backup-codes", url.Values{}, b.header()...)
			codes := regexp.MustCompile(`<li><code>([a-z0-9]{5}-[a-z0-9]{5})</code></li>`).FindAllStringSubmatch(rec.Body.String(), -1)
			if rec.Code != 200 || len(codes) != 10 {
				t.Fatalf("backup codes: %d, %d codes:\n%s", rec.Code, len(codes), rec.Body)
			}
			webtest.Golden(t, lang+"/account_two_step_codes.golden", page(rec))

			rec = get(h, "/account/two-step?done=added", b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), "iPhone") || !strings.Contains(rec.Body.String(), `action="/account/two-step/remove"`) {
				t.Fatalf("settings with a method: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_two_step_on.golden", maskCredentials(page(rec)))

			// Sign-ins with backup codes until 2 are left: the account
			// page warns.
			for i, c := range codes[:8] {
				signInWithBackupCode(t, env, "198.51.100."+string(rune('1'+i)), html.UnescapeString(c[1]))
			}
			rec = get(h, "/account", b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `<p class="warn" role="status">`) || !strings.Contains(rec.Body.String(), `href="/account/two-step"`) {
				t.Fatalf("account page with 2 backup codes left: %d, want the warning and the link:\n%s", rec.Code, rec.Body)
			}
		})
	}
}

func signInWithBackupCode(t *testing.T, env *flowtest.Env, ip, c string) {
	t.Helper()
	ctx := context.Background()
	ans, err := env.Signin.Start(ctx, env.JP, flowtest.Req(ip, ""), signin.Input{Identifier: "hanako@example.jp", Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	req := flowtest.Req(ip, ans.DeviceToken)
	if _, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSwitchMethod, Method: "backup_code"}); err != nil {
		t.Fatal(err)
	}
	if done, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitSecondFactor, Code: c}); err != nil || done.Session == nil {
		t.Fatalf("backup-code sign-in: %v", err)
	}
}

// TestTwoStepSettingsPagesNeedRecentSignin: after the re-authentication
// window every settings page and change goes to /reauth and back; a
// cross-site post is refused.
func TestTwoStepSettingsPagesNeedRecentSignin(t *testing.T) {
	h, env, b := newTwoStepWeb(t, "ja")
	rec := post(h, "/account/two-step/off", url.Values{}, append(b.header(), "Sec-Fetch-Site", "cross-site")...)
	if rec.Code != 403 {
		t.Errorf("cross-site post: %d, want 403", rec.Code)
	}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	// A page comes back to itself; a form's POST to its page (a path that
	// answers only POST would be a dead end after the re-authentication).
	for _, tt := range []struct{ method, target, back string }{
		{"GET", "/account/two-step", "/account/two-step"},
		{"GET", "/account/two-step/totp", "/account/two-step/totp"},
		{"POST", "/account/two-step/totp", "/account/two-step/totp"},
		{"POST", "/account/two-step/backup-codes", "/account/two-step"},
		{"POST", "/account/two-step/off", "/account/two-step"},
		{"POST", "/account/two-step/remove", "/account/two-step"},
	} {
		var recd = get(h, tt.target, b.header()...)
		if tt.method == "POST" {
			recd = post(h, tt.target, url.Values{}, b.header()...)
		}
		want := "/reauth?return_to=" + url.QueryEscape(tt.back)
		if recd.Code != 303 || recd.Header().Get("Location") != want {
			t.Errorf("%s %s: %d %q, want 303 %q", tt.method, tt.target, recd.Code, recd.Header().Get("Location"), want)
		}
	}
	// The number being replaced comes back with its page.
	id := "01900000-0000-7000-8000-000000000001"
	rec = post(h, "/account/two-step/phone", url.Values{"phone": {"090-1234-5678"}, "method": {"sms"}, "replaces": {id}}, b.header()...)
	if want := "/reauth?return_to=" + url.QueryEscape("/account/two-step/phone?replaces="+id); rec.Code != 303 || rec.Header().Get("Location") != want {
		t.Errorf("phone change with an old session: %d %q, want 303 %q", rec.Code, rec.Header().Get("Location"), want)
	}
	// The account page itself needs no recent sign-in.
	if rec := get(h, "/account", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="/account/two-step"`) {
		t.Errorf("account page: %d", rec.Code)
	}
}

// credentialValue is a credential id in a form; its value depends on how
// many random draws came before, which other services change.
var credentialValue = regexp.MustCompile(`name="credential" value="[0-9a-f-]{36}"`)

// maskCredentials replaces the credential ids of a page with a placeholder.
func maskCredentials(b []byte) []byte {
	return credentialValue.ReplaceAll(b, []byte(`name="credential" value="…"`))
}
