package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// These tests drive the real sign-up and sign-in services on SQLite through
// the pages, as a browser without JavaScript would.

const pw = "kumo-no-ue-42"

func newRealWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return mustWeb(tb, web.Deps{
		Realms: env.Realms,
		Flows:  env.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Unlock: env.Unlock,
		Reset:  env.Reset,
		Now:    env.Clock.Now,
	}), env
}

// shownAgo is the rendered_at a browser posts back with a form that the
// server rendered d ago: a person typing takes seconds, and a post without
// it counts as sent at once.
func shownAgo(env *flowtest.Env, d time.Duration) string {
	return strconv.FormatInt(env.Clock.Now().Add(-d).UnixMilli(), 10)
}

// jar is the cookies of one browser.
type jar map[string]string

func (j jar) header() []string {
	var parts []string
	for k, v := range j {
		parts = append(parts, k+"="+v)
	}
	if len(parts) == 0 {
		return nil
	}
	return []string{"Cookie", strings.Join(parts, "; ")}
}

func (j jar) take(tb testing.TB, resp *http.Response) {
	tb.Helper()
	for _, c := range resp.Cookies() {
		if c.MaxAge < 0 {
			delete(j, c.Name)
		} else {
			j[c.Name] = c.Value
		}
	}
}

func TestBrowserSignupToSignout(t *testing.T) {
	h, env := newRealWeb(t)
	b := jar{}

	rec := post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw + "x"},
	})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="password_confirmation"`) || !strings.Contains(rec.Body.String(), `value="hanako@example.jp"`) {
		t.Fatalf("mismatched passwords: %d, want 400 with the form kept", rec.Code)
	}
	if strings.Contains(rec.Body.String(), pw) {
		t.Errorf("the password was echoed back")
	}

	rec = post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw},
	})
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/verify?flow=") {
		t.Fatalf("signup: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if b["ninsho_device"] == "" {
		t.Errorf("signup set no device cookie")
	}
	verify := rec.Header().Get("Location")

	rec = get(h, verify, b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `class="destination"`) || !strings.Contains(rec.Body.String(), `href="/signup"`) {
		t.Fatalf("verify page: %d %s", rec.Code, rec.Body)
	}
	if strings.Contains(rec.Body.String(), "hanako@example.jp") {
		t.Errorf("verify page shows the destination unmasked")
	}

	code := env.LastCode(t, "hanako@example.jp")
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {code}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Fatalf("submit code: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if b["ninsho_session"] == "" {
		t.Fatalf("no session cookie after sign-up")
	}

	for _, lang := range []string{"ja", "en"} {
		rec = get(h, "/account?lang="+lang, b.header()...)
		if rec.Code != 200 {
			t.Fatalf("account: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/account.golden", page(rec))
	}

	rec = post(h, "/signout", url.Values{}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Fatalf("signout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	old := b["ninsho_session"]
	b.take(t, rec.Result())
	if b["ninsho_session"] != "" {
		t.Errorf("signout left the session cookie")
	}
	rec = get(h, "/account", "Cookie", "ninsho_session="+old)
	if rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Errorf("account with the old session: %d %q", rec.Code, rec.Header().Get("Location"))
	}

	// Sign in again from the same browser.
	rec = post(h, "/signin", url.Values{"identifier": {"HANAKO@example.jp"}, "password": {pw}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Fatalf("signin: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if rec = get(h, "/account", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), "山田 花子") {
		t.Errorf("account after signin: %d", rec.Code)
	}
}

func TestBrowserSigninErrors(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	tests := []struct {
		name       string
		form       url.Values
		status     int
		wantInBody string
	}{
		{"wrong password", url.Values{"identifier": {"taro@example.jp"}, "password": {"nope-" + pw}}, 400, `id="password" name="password" type="password" autocomplete="current-password" autocapitalize="none" maxlength="1024" required aria-invalid="true" aria-describedby="password-error"`},
		{"unknown account", url.Values{"identifier": {"jiro@example.jp"}, "password": {pw}}, 400, `value="jiro@example.jp"`},
		{"invalid identifier", url.Values{"identifier": {"taro@@example"}, "password": {pw}}, 400, `aria-invalid="true"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, "/signin", tt.form)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
			}
			body := rec.Body.String()
			if !strings.Contains(body, tt.wantInBody) || !strings.Contains(body, `role="alert"`) {
				t.Errorf("page lacks %s or the alert:\n%s", tt.wantInBody, body)
			}
			// A mistyped password or address is put right by the person:
			// no reference number to quote.
			if strings.Contains(body, "01900000-0000-7000-8000-00000000beef") {
				t.Errorf("a refused sign-in shows the reference number:\n%s", body)
			}
		})
	}
}

// TestOutOfAttemptsOffersOnlyAStartAgain: the fifth wrong code ends the flow;
// the page says so and offers the way to start again, and no code field or
// resend button that could only answer "not found".
func TestOutOfAttemptsOffersOnlyAStartAgain(t *testing.T) {
	h, env := newRealWeb(t)
	b := jar{}
	rec := post(h, "/signup", url.Values{
		"identifier": {"five@example.jp"}, "name": {"Five"}, "password": {pw}, "password_confirmation": {pw},
	})
	b.take(t, rec.Result())
	verify := rec.Header().Get("Location")
	wrong := "000000"
	if env.LastCode(t, "five@example.jp") == wrong {
		wrong = "111111"
	}
	for i := 1; i <= 5; i++ {
		rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {wrong}}, b.header()...)
		b.take(t, rec.Result())
	}
	body := rec.Body.String()
	if rec.Code != 400 || !strings.Contains(body, "code_attempts_exceeded") && !strings.Contains(body, `role="alert"`) {
		t.Fatalf("fifth wrong code: %d\n%s", rec.Code, body)
	}
	if strings.Contains(body, `name="code"`) || strings.Contains(body, `value="resend_code"`) {
		t.Errorf("a failed flow's page still offers the code form or a resend:\n%s", body)
	}
	if !strings.Contains(body, `href="/signup"`) {
		t.Errorf("a failed flow's page offers no way to start again:\n%s", body)
	}
}

// TestAccountPageFollowsTheAccountsLanguage signs up in English on a
// Japanese realm's page, then opens the account page with nothing but the
// session: it is in the account's language, English; a language the
// request expresses still comes first.
func TestAccountPageFollowsTheAccountsLanguage(t *testing.T) {
	h, env := newRealWeb(t)
	b := jar{}
	rec := post(h, "/signup?lang=en", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"Hanako Yamada"},
		"password": {pw}, "password_confirmation": {pw},
	})
	if rec.Code != 303 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	verify := rec.Header().Get("Location")
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "hanako@example.jp")}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("submit code: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	delete(b, "ninsho_lang")
	for _, tt := range []struct {
		name string
		hdr  []string
		want string
	}{
		{"no language in the request", nil, `<html lang="en">`},
		{"Accept-Language ja", []string{"Accept-Language", "ja"}, `<html lang="ja">`},
	} {
		rec = get(h, "/account", append(b.header(), tt.hdr...)...)
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), tt.want) {
			t.Errorf("%s: /account answers %d, want 200 with %s", tt.name, rec.Code, tt.want)
		}
	}
}
