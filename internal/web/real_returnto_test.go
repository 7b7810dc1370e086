package web_test

import (
	"context"
	"html"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/web"
)

// These tests drive return_to through the pages with the real services on
// SQLite, as a browser without JavaScript would: the realm "jp" allows its
// shop's "/mypage/" and nothing else.

const shopReturn = "https://shop.example.jp/mypage/orders?id=7&tab=new"

func newReturnWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	h, env := newRealWeb(tb)
	env.JP.ReturnTo = []string{"https://shop.example.jp/mypage/"}
	return h, env
}

var (
	hiddenReturnTo = regexp.MustCompile(`<input type="hidden" name="return_to" value="([^"]*)">`)
	otherLangHref  = regexp.MustCompile(`<a href="([^"]*)" lang="(?:ja|en)" hreflang=`)
)

// carried returns the return_to of a page's hidden field, or "".
func carried(body string) string {
	m := hiddenReturnTo.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// langLink returns the page's link to the other language.
func langLink(tb testing.TB, rec *httptest.ResponseRecorder) string {
	tb.Helper()
	m := otherLangHref.FindStringSubmatch(rec.Body.String())
	if m == nil {
		tb.Fatalf("no language link:\n%s", rec.Body)
	}
	return html.UnescapeString(m[1])
}

// noReturnInMessages checks that no message sent to to carries the shop's
// address: return_to never travels by e-mail or SMS.
func noReturnInMessages(tb testing.TB, env *flowtest.Env, to string) {
	tb.Helper()
	msgs := env.Messages(tb, to)
	if len(msgs) == 0 {
		tb.Fatalf("no messages to %s", to)
	}
	for _, m := range msgs {
		if strings.Contains(m.Text, "shop.example.jp") || strings.Contains(m.HTML, "shop.example.jp") {
			tb.Errorf("message %s carries the return_to:\n%s", m.Template, m.Text)
		}
	}
}

// TestReturnToSigninThroughCaptchaAndCode: a shop sends a customer to
// /signin?return_to=…; the language switch keeps it, wrong passwords
// re-render the form with it, the sign-in meets a CAPTCHA and a
// verification code on this new device (with a language switch and a wrong
// code on the way), and the right code lands on the shop's page. Signed in,
// the sign-in page sends the browser straight back.
func TestReturnToSigninThroughCaptchaAndCode(t *testing.T) {
	h, env := newReturnWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}

	rec := get(h, "/signin?"+url.Values{"return_to": {shopReturn}}.Encode())
	if rec.Code != 200 || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("sign-in page: %d, want the return_to carried in the form:\n%s", rec.Code, rec.Body)
	}
	// The language switch keeps it.
	en := langLink(t, rec) // the page is Japanese: the link is to English
	if u, err := url.Parse(en); err != nil || u.Query().Get("return_to") != shopReturn {
		t.Fatalf("English link %q does not keep the return_to", en)
	}
	rec = get(h, en)
	if rec.Code != 200 || rec.Header().Get("Content-Language") != "en" || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("sign-in page after the language switch: %d %s, want the return_to carried:\n%s", rec.Code, rec.Header().Get("Content-Language"), rec.Body)
	}
	b.take(t, rec.Result())

	// Wrong passwords: the form comes back with the return_to.
	for range 3 {
		env.Clock.Advance(time.Minute)
		rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {"nope-" + pw}, "return_to": {shopReturn}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
		if rec.Code != 400 || carried(rec.Body.String()) != shopReturn {
			t.Fatalf("wrong password: %d, want 400 with the return_to carried:\n%s", rec.Code, rec.Body)
		}
		if u, _ := url.Parse(langLink(t, rec)); u == nil || u.Query().Get("return_to") != shopReturn {
			t.Fatalf("re-rendered form: the language link drops the return_to")
		}
		b.take(t, rec.Result())
	}

	// The right password meets a CAPTCHA: the flow keeps the return_to.
	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "return_to": {shopReturn}}, b.header()...)
	b.take(t, rec.Result())
	flowID, challenge := mustCaptcha(t, rec, 400)
	// The language switch of the CAPTCHA step keeps the flow.
	if rec := get(h, "/signin?flow="+flowID+"&lang=ja", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), challenge) {
		t.Fatalf("CAPTCHA step in Japanese: %d", rec.Code)
	}
	answer, err := env.Captcha.Answer(context.Background(), challenge)
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}}, b.header()...)
	next := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/signin?")
	if rec := get(h, next, b.header()...); !strings.Contains(rec.Body.String(), `autocomplete="current-password"`) {
		t.Fatalf("after the CAPTCHA: no password field:\n%s", rec.Body)
	}

	// The password again (no return_to posted: the flow has it), then a
	// code because the device is new.
	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"flow": {flowID}, "password": {pw}}, b.header()...)
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	if rec := get(h, verify+"&lang=en", b.header()...); rec.Code != 200 || rec.Header().Get("Content-Language") != "en" {
		t.Fatalf("code page in English: %d", rec.Code)
	}
	code := env.LastCode(t, "taro@example.jp")
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if rec := post(h, verify, url.Values{"action": {"submit_code"}, "code": {wrong}}, b.header()...); rec.Code != 400 {
		t.Fatalf("wrong code: %d, want 400", rec.Code)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {code}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopReturn {
		t.Fatalf("right code: %d %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), shopReturn)
	}
	b.take(t, rec.Result())
	if b["ninsho_session"] == "" {
		t.Fatalf("no session cookie after the sign-in")
	}
	noReturnInMessages(t, env, "taro@example.jp")

	// Signed in: the sign-in page with an allowed return_to goes straight
	// there; with a foreign one it shows the form as before.
	rec = get(h, "/signin?"+url.Values{"return_to": {"https://shop.example.jp/mypage/"}}.Encode(), b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "https://shop.example.jp/mypage/" {
		t.Errorf("signed in, allowed return_to: %d %q, want 303 to the shop", rec.Code, rec.Header().Get("Location"))
	}
	rec = get(h, "/signin?"+url.Values{"return_to": {"https://evil.example/"}}.Encode(), b.header()...)
	if rec.Code != 200 || carried(rec.Body.String()) != "" {
		t.Errorf("signed in, foreign return_to: %d, want the sign-in form without it", rec.Code)
	}
}

// TestReturnToForeignFallsBackToAccount: a return_to the realm does not
// allow is dropped without a word and the sign-in lands on /account.
func TestReturnToForeignFallsBackToAccount(t *testing.T) {
	h, env := newReturnWeb(t)
	owner := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	for _, foreign := range []string{
		"https://evil.example/",
		"https://shop.example.jp.evil/mypage/",
		"https://shop.example.jp@evil.example/mypage/",
		"//evil.example/mypage/",
		"/\\evil.example",
		"javascript:alert(1)",
		"https://shop.example.jp/mypageevil",
		"https://shop.example.jp/other",
		"http://shop.example.jp/mypage/",
	} {
		rec := get(h, "/signin?"+url.Values{"return_to": {foreign}}.Encode())
		if rec.Code != 200 || carried(rec.Body.String()) != "" || strings.Contains(rec.Body.String(), `role="alert"`) {
			t.Errorf("%s: sign-in page %d, want it silently dropped", foreign, rec.Code)
		}
		rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "return_to": {foreign}}, "Cookie", "ninsho_device="+owner)
		if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
			t.Errorf("%s: sign-in %d %q, want 303 to /account", foreign, rec.Code, rec.Header().Get("Location"))
		}
	}
	// The same sign-in with an allowed one returns to the shop.
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "return_to": {shopReturn}}, "Cookie", "ninsho_device="+owner)
	if rec.Code != 303 || rec.Header().Get("Location") != shopReturn {
		t.Errorf("allowed: %d %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), shopReturn)
	}
}

// TestReturnToSignup: /signup?return_to=… keeps it through a refused form
// and the code, and the new account lands on the shop's page.
func TestReturnToSignup(t *testing.T) {
	h, env := newReturnWeb(t)
	b := jar{}
	rec := get(h, "/signin?"+url.Values{"return_to": {shopReturn}}.Encode())
	signup := regexp.MustCompile(`<a href="(/signup\?[^"]*)"`).FindStringSubmatch(rec.Body.String())
	if signup == nil {
		t.Fatalf("the sign-in page's sign-up link does not carry the return_to:\n%s", rec.Body)
	}
	rec = get(h, html.UnescapeString(signup[1]))
	if rec.Code != 200 || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("sign-up page: %d, want the return_to carried:\n%s", rec.Code, rec.Body)
	}
	rec = post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw + "x"}, "return_to": {shopReturn},
	})
	if rec.Code != 400 || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("refused sign-up: %d, want 400 with the return_to carried", rec.Code)
	}
	rec = post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw}, "return_to": {shopReturn},
	})
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	b.take(t, rec.Result())
	// "Start again" from the code page keeps it too.
	if body := get(h, verify, b.header()...).Body.String(); !strings.Contains(body, `href="/signup?return_to=`+url.QueryEscape(shopReturn)+`"`) {
		t.Errorf("code page: the start-again link drops the return_to:\n%s", body)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "hanako@example.jp")}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopReturn {
		t.Fatalf("sign-up code: %d %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), shopReturn)
	}
	b.take(t, rec.Result())
	if rec := get(h, "/account", b.header()...); rec.Code != 200 {
		t.Errorf("account after the sign-up: %d", rec.Code)
	}
	noReturnInMessages(t, env, "hanako@example.jp")
}

// TestReturnToPasswordAssistant: the password assistant, reached from the
// sign-in page's link, held at its CAPTCHA by repeated starts, then code,
// a refused new password and the new password: the person lands on the
// shop's page.
func TestReturnToPasswordAssistant(t *testing.T) {
	h, env := newReturnWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}
	rec := get(h, "/signin?"+url.Values{"return_to": {shopReturn}}.Encode())
	link := regexp.MustCompile(`<a href="(/password-assistant\?[^"]*)"`).FindStringSubmatch(rec.Body.String())
	if link == nil {
		t.Fatalf("the sign-in page's password assistant link does not carry the return_to:\n%s", rec.Body)
	}
	rec = get(h, html.UnescapeString(link[1]))
	if rec.Code != 200 || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("password assistant page: %d, want the return_to carried:\n%s", rec.Code, rec.Body)
	}
	start := url.Values{"identifier": {"taro@example.jp"}, "return_to": {shopReturn}}
	for range 2 {
		env.Clock.Advance(time.Minute)
		rec = post(h, "/password-assistant", start, b.header()...)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
		b.take(t, rec.Result())
	}
	env.Clock.Advance(time.Minute)
	rec = post(h, "/password-assistant", start, b.header()...)
	b.take(t, rec.Result())
	flowID, challenge := mustCaptcha(t, rec, 200)
	answer, err := env.Captcha.Answer(context.Background(), challenge)
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, "/password-assistant", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}, "identifier": {"taro@example.jp"}}, b.header()...)
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	choose := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/password-assistant/choose?flow="+flowID)
	const newPW = "sora-no-shita-77"
	rec = post(h, choose, url.Values{"action": {"set_new_password"}, "password": {newPW}, "password_confirmation": {newPW + "x"}}, b.header()...)
	if rec.Code != 400 {
		t.Fatalf("mismatched new passwords: %d, want 400", rec.Code)
	}
	rec = post(h, choose, url.Values{"action": {"set_new_password"}, "password": {newPW}, "password_confirmation": {newPW}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopReturn {
		t.Fatalf("new password: %d %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), shopReturn)
	}
	noReturnInMessages(t, env, "taro@example.jp")
}

// TestReturnToUnlock: a sign-in refused by a lock offers the unlock with
// the return_to; the unlock's code and password land on the shop's page.
func TestReturnToUnlock(t *testing.T) {
	h, env := newReturnWeb(t)
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	a, err := env.DB.AccountByEmail(ctx, "jp", "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	until := now.Add(30 * time.Minute)
	if err := env.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 2, LockedAt: &now}); err != nil {
		t.Fatal(err)
	}
	b := jar{}
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "return_to": {shopReturn}})
	if rec.Code != 423 || carried(rec.Body.String()) != shopReturn {
		t.Fatalf("locked: %d, want 423 with the unlock form carrying the return_to:\n%s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	env.Clock.Advance(time.Minute)
	rec = post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}, "return_to": {shopReturn}}, b.header()...)
	b.take(t, rec.Result())
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	pwPage := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/unlock/password?flow=")
	rec = post(h, pwPage, url.Values{"action": {"submit_password"}, "password": {pw}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopReturn {
		t.Fatalf("unlock: %d %q, want 303 to %s", rec.Code, rec.Header().Get("Location"), shopReturn)
	}
}

// TestRefusedReturnToIsNotReflected: a return_to the realm refuses — a
// foreign origin or a path that a back end reads as leaving the allowed
// prefix — appears in no link or field of the start pages (language links
// included) nor of a flow's page, and the signed-in shortcut does not follow
// it; an allowed one is carried in its normalised form only.
func TestRefusedReturnToIsNotReflected(t *testing.T) {
	h, env := newReturnWeb(t)
	refused := []string{
		"https://evil.com",
		"https://shop.example.jp/mypage/..;/admin",
		"https://shop.example.jp/mypage/%252e%252e/admin",
		"https://shop.example.jp/mypage//evil.com",
	}
	starts := []string{"/signin", "/signup", "/unlock", "/password-assistant"}
	for _, bad := range refused {
		for _, path := range starts {
			rec := get(h, path+"?"+url.Values{"return_to": {bad}}.Encode())
			body := rec.Body.String()
			if rec.Code != 200 || strings.Contains(body, "return_to=") || carried(body) != "" {
				t.Errorf("GET %s with return_to %s: %d, and the page reflects it:\n%s", path, bad, rec.Code, body)
			}
		}
	}

	// A flow's page: its language link keeps the flow, never a return_to
	// from the address bar.
	b := jar{}
	rec := post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw},
	})
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	b.take(t, rec.Result())
	rec = get(h, verify+"&lang=ja&return_to="+url.QueryEscape("https://evil.com")+"&x=y", b.header()...)
	if link := langLink(t, rec); strings.Contains(link, "return_to") || strings.Contains(link, "x=y") || !strings.Contains(link, "flow=") {
		t.Errorf("code page language link %q: want the flow and lang only", link)
	}

	// The signed-in shortcut follows none of the refused ones.
	owner := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Cookie", "ninsho_device="+owner)
	signedIn := jar{"ninsho_device": owner}
	signedIn.take(t, rec.Result())
	for _, bad := range refused {
		rec := get(h, "/signin?"+url.Values{"return_to": {bad}}.Encode(), signedIn.header()...)
		if rec.Code != 200 {
			t.Errorf("signed in, return_to %s: %d %q, want the sign-in page", bad, rec.Code, rec.Header().Get("Location"))
		}
	}
	rec = get(h, "/signin?"+url.Values{"return_to": {"HTTPS://SHOP.example.jp:443/mypage/x"}}.Encode(), signedIn.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "https://shop.example.jp/mypage/x" {
		t.Errorf("signed in, allowed return_to: %d %q, want 303 to its normalised form", rec.Code, rec.Header().Get("Location"))
	}

	// An allowed one written loosely is carried normalised, in links too.
	rec = get(h, "/signin?"+url.Values{"return_to": {"HTTPS://SHOP.example.jp:443/mypage/x"}}.Encode())
	if got := carried(rec.Body.String()); got != "https://shop.example.jp/mypage/x" {
		t.Errorf("carried %q, want the normalised URL", got)
	}
	if link := langLink(t, rec); !strings.Contains(link, "return_to="+url.QueryEscape("https://shop.example.jp/mypage/x")) || strings.Contains(link, "SHOP") {
		t.Errorf("language link %q: want the normalised return_to", link)
	}
}
