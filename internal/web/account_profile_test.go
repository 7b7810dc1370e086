package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/profile"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

const pfEmail = "hanako@example.jp"

// newProfileWeb returns the pages with the settings and a browser signed
// in (just now) to pfEmail, whose pages are in lang.
func newProfileWeb(t *testing.T, lang string) (*web.Handler, *flowtest.Env, jar) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	h := mustWeb(t, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, Now: env.Clock.Now,
		Profile: &profile.Service{Kit: env.Kit, Signin: env.Signin, TwoStep: env.TwoStep, Guard: env.Kit.Codes.Guard, Held: env.DB, Budget: env.Budget, Changes: env.DB},
	})
	b := jar{}
	rec := post(h, "/signup?lang="+lang, url.Values{
		"identifier": {pfEmail}, "name": {"Hanako Yamada"},
		"password": {pw}, "password_confirmation": {pw},
	})
	if rec.Code != 303 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	rec = post(h, rec.Header().Get("Location"), url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, pfEmail)}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("submit code: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	if b["ninsho_session"] == "" {
		t.Fatal("no session")
	}
	return h, env, b
}

// TestProfilePages: /account offers the settings; the password page (the
// "sign out everywhere else" box ticked) refuses a wrong current password
// on the page and, with the box, signs the other session out at once and
// keeps this one; the name and language page refuses every wrong field at
// once and then shows the pages in the new language (the language choices
// each in its own language); removing the last verified identifier is not
// offered and is refused on its confirmation page, another one
// is removed after the confirmation. In both languages.
func TestProfilePages(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		t.Run(lang, func(t *testing.T) {
			h, env, b := newProfileWeb(t, lang)
			ctx := context.Background()
			rec := get(h, "/account", b.header()...)
			body := rec.Body.String()
			for _, want := range []string{`href="/account/password"`, `href="/account/profile"`} {
				if !strings.Contains(body, want) {
					t.Errorf("/account lacks %s", want)
				}
			}
			// The only verified identifier offers no remove button (its
			// removal would be refused).
			if strings.Contains(body, `action="/account/email/remove"`) {
				t.Errorf("/account offers to remove the only verified identifier")
			}
			rec = get(h, "/account/password", b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="sign_out_others" type="checkbox" value="yes" aria-describedby="sign_out_others-hint" checked`) {
				t.Fatalf("password page: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_password.golden", page(rec))

			rec = post(h, "/account/password", url.Values{"current_password": {"wrong-pass-1"}, "password": {"sora-no-shita-77"}, "password_confirmation": {"sora-no-shita-77"}, "sign_out_others": {"yes"}}, b.header()...)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="current_password-error"`) || !strings.Contains(rec.Body.String(), `href="#current_password"`) {
				t.Fatalf("wrong current password: %d %s", rec.Code, rec.Body)
			}
			ans, err := env.Signin.Start(ctx, env.JP, flowtest.Req("192.0.2.1", b["ninsho_device"]), signin.Input{Identifier: pfEmail, Password: pw})
			if err != nil || ans.Session == nil {
				t.Fatalf("other sign-in: %v", err)
			}
			rec = post(h, "/account/password", url.Values{"current_password": {pw}, "password": {"sora-no-shita-77"}, "password_confirmation": {"sora-no-shita-77"}, "sign_out_others": {"yes"}}, b.header()...)
			if rec.Code != 303 || rec.Header().Get("Location") != "/account?done=password_others" {
				t.Fatalf("change: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
			}
			if _, err := env.Signin.Authenticate(ctx, env.JP, ans.Session.Token); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
				t.Fatalf("the other session: %v; want unauthenticated at once", err)
			}
			rec = get(h, "/account?done=password_others", b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `class="notice"`) {
				t.Fatalf("this session after the change: %d %s", rec.Code, rec.Body)
			}

			rec = get(h, "/account/profile", b.header()...)
			webtest.Golden(t, lang+"/account_profile.golden", page(rec))
			rec = post(h, "/account/profile", url.Values{"name": {" "}, "locale": {"fr"}}, b.header()...)
			if rec.Code != 400 || !strings.Contains(rec.Body.String(), `href="#name"`) || !strings.Contains(rec.Body.String(), `href="#locale"`) {
				t.Fatalf("wrong fields: %d %s", rec.Code, rec.Body)
			}
			other := map[string]string{"ja": "en", "en": "ja"}[lang]
			rec = post(h, "/account/profile", url.Values{"name": {"Taro Yamada"}, "locale": {other}}, b.header()...)
			if rec.Code != 303 {
				t.Fatalf("save: %d %s", rec.Code, rec.Body)
			}
			b.take(t, rec.Result())
			rec = get(h, "/account", b.header()...)
			if !strings.Contains(rec.Body.String(), `<html lang="`+other+`"`) || !strings.Contains(rec.Body.String(), "Taro Yamada") {
				t.Fatalf("/account after the language change: %s", rec.Body)
			}
			b["ninsho_lang"] = lang

			// The last verified identifier: refused on the confirmation page.
			rec = post(h, "/account/email/remove", url.Values{}, b.header()...)
			if rec.Code != 409 || strings.Contains(rec.Body.String(), `name="confirm"`) {
				t.Fatalf("remove the last: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_remove_last.golden", page(rec))
			a, err := env.DB.AccountByEmail(ctx, env.JP.ID, pfEmail)
			if err != nil {
				t.Fatal(err)
			}
			now := env.Clock.Now()
			a.Phone, a.PhoneVerifiedAt = "+819012345678", &now
			if err := env.DB.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
			env.Clock.Advance(2 * time.Second) // past the session cache
			rec = post(h, "/account/phone/remove", url.Values{}, b.header()...)
			if rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="confirm" value="yes"`) || !strings.Contains(rec.Body.String(), "090-1234-5678") {
				t.Fatalf("confirmation page: %d %s", rec.Code, rec.Body)
			}
			webtest.Golden(t, lang+"/account_remove_phone.golden", page(rec))
			if a, _ := env.DB.Account(ctx, a.ID); a.Phone == "" {
				t.Fatal("removed before the confirmation")
			}
			rec = post(h, "/account/phone/remove", url.Values{"confirm": {"yes"}}, b.header()...)
			if rec.Code != 303 || rec.Header().Get("Location") != "/account?done=phone_removed" {
				t.Fatalf("confirm: %d %s", rec.Code, rec.Body)
			}
			if a, _ := env.DB.Account(ctx, a.ID); a.Phone != "" {
				t.Fatal("the phone is still there")
			}
			// Each change shows in the history, in words.
			rec = get(h, "/account?done=phone_removed", b.header()...)
			words := map[string][]string{
				"ja": {"携帯電話番号の削除", "氏名または言語の変更", "パスワードを変更", "携帯電話番号をアカウントから削除しました。"},
				"en": {"Mobile phone number removed", "Name or language changed", "Password changed", "The mobile phone number was removed from your account."},
			}[lang]
			for _, w := range words {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("/account lacks %q", w)
				}
			}

			// Past the re-authentication window every page goes to /reauth.
			env.Clock.Advance(env.JP.ReauthWindow())
			for _, c := range []struct{ method, path, back string }{
				{"GET", "/account/password", "/account/password"},
				{"POST", "/account/profile", "/account/profile"},
				{"POST", "/account/email/remove", "/account/email/remove"},
			} {
				if c.method == "GET" {
					rec = get(h, c.path, b.header()...)
				} else {
					rec = post(h, c.path, url.Values{"confirm": {"yes"}, "name": {"X"}, "locale": {"ja"}}, b.header()...)
				}
				if want := "/reauth?return_to=" + url.QueryEscape(c.back); rec.Code != 303 || rec.Header().Get("Location") != want {
					t.Errorf("%s %s: %d %q, want 303 %q", c.method, c.path, rec.Code, rec.Header().Get("Location"), want)
				}
			}
			if a, _ := env.DB.Account(ctx, a.ID); a.Email != pfEmail || a.Name != "Taro Yamada" {
				t.Fatalf("changed without a recent sign-in: %+v", a)
			}
		})
	}
}
