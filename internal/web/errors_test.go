package web_test

import (
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// These tests hold the pages' error answers to what a person can act on:
// every refused field at once, in a summary that takes the focus and links
// to each field; the reference number only where support may be needed;
// plural forms; and a plain word about cookies.

const testRequestID = "01900000-0000-7000-8000-00000000beef"

var summaryLink = regexp.MustCompile(`<li><a href="#([a-z_]+)">`)

// mustSummarise fails tb unless body's error summary takes the focus and
// links to exactly fields, in order, and each field is marked invalid and
// described by its own message shown next to it.
func mustSummarise(tb testing.TB, body string, fields ...string) {
	tb.Helper()
	if !strings.Contains(body, `<div class="alert" role="alert" id="form-error" tabindex="-1" autofocus>`) {
		tb.Errorf("no focusable error summary:\n%s", body)
	}
	var got []string
	for _, m := range summaryLink.FindAllStringSubmatch(body, -1) {
		got = append(got, m[1])
	}
	if strings.Join(got, " ") != strings.Join(fields, " ") {
		tb.Errorf("summary links to %v, want %v:\n%s", got, fields, body)
	}
	for _, f := range fields {
		input := regexp.MustCompile(`<input id="` + f + `" [^>]*aria-invalid="true" aria-describedby="` + f + `-error">`)
		if !input.MatchString(body) {
			tb.Errorf("field %s is not marked invalid and described by %s-error", f, f)
		}
		if !strings.Contains(body, `<p class="field-error" id="`+f+`-error">`) {
			tb.Errorf("field %s shows no message of its own", f)
		}
	}
}

func TestEmptySignupFormNamesEveryField(t *testing.T) {
	h, _ := newRealWeb(t)
	for _, lang := range []string{"ja", "en"} {
		rec := post(h, "/signup?lang="+lang, url.Values{"identifier": {""}, "name": {""}, "password": {""}, "password_confirmation": {""}})
		if rec.Code != 400 {
			t.Fatalf("%s: status %d, want 400", lang, rec.Code)
		}
		body := rec.Body.String()
		mustSummarise(t, body, "identifier", "name", "password", "password_confirmation")
		if strings.Contains(body, testRequestID) {
			t.Errorf("%s: an empty form shows a reference number", lang)
		}
		webtest.Golden(t, lang+"/signup_refused.golden", page(rec))
	}
	// Refused fields and a field over its length limit: the length is
	// told for every field over it.
	rec := post(h, "/signup", url.Values{"identifier": {strings.Repeat("a", 400)}, "name": {strings.Repeat("名", 201)}, "password": {"x"}, "password_confirmation": {"y"}})
	mustSummarise(t, rec.Body.String(), "identifier", "name")
}

func TestEmptySigninFormNamesBothFields(t *testing.T) {
	h, _ := newRealWeb(t)
	rec := post(h, "/signin", url.Values{"identifier": {""}, "password": {""}})
	if rec.Code != 400 {
		t.Fatalf("status %d, want 400", rec.Code)
	}
	mustSummarise(t, rec.Body.String(), "identifier", "password")
	if !strings.Contains(rec.Body.String(), "メールアドレスまたは携帯電話番号を入力してください。") || !strings.Contains(rec.Body.String(), "パスワードを入力してください。") {
		t.Errorf("the refusals do not name their fields:\n%s", rec.Body)
	}
}

// TestNewPasswordFormNamesBothFields walks the password assistant to its
// choice and sends the new-password form empty, then with a weak password
// and a different confirmation.
func TestNewPasswordFormNamesBothFields(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}
	rec := post(h, "/password-assistant", url.Values{"identifier": {"taro@example.jp"}})
	b.take(t, rec.Result())
	verify := rec.Header().Get("Location")
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	choose := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(choose, "/password-assistant/choose?flow=") {
		t.Fatalf("code: %d %q", rec.Code, choose)
	}
	rec = post(h, choose, url.Values{"action": {"set_new_password"}, "password": {""}, "password_confirmation": {""}}, b.header()...)
	if rec.Code != 400 {
		t.Fatalf("empty new password: %d", rec.Code)
	}
	mustSummarise(t, rec.Body.String(), "password", "password_confirmation")
	rec = post(h, choose, url.Values{"action": {"set_new_password"}, "password": {"short"}, "password_confirmation": {"other"}}, b.header()...)
	mustSummarise(t, rec.Body.String(), "password", "password_confirmation")
	if !strings.Contains(rec.Body.String(), "8文字以上") || !strings.Contains(rec.Body.String(), `id="password_confirmation-error"`) {
		t.Errorf("weak and mismatched: both refusals not shown:\n%s", rec.Body)
	}
}

// TestReferenceOnlyWhereSupportHelps: the code page shows the reference
// number for a lock or a failure on our side, not for a wrong code or a
// wait.
func TestReferenceOnlyWhereSupportHelps(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignin)
	tests := []struct {
		err  error
		want bool
	}{
		{ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", 3), false},
		{ninsho.FieldError(ninsho.CodeResendTooSoon, "code").WithParam("seconds", 9), false},
		{ninsho.FieldError(ninsho.CodeFieldRequired, "code"), false},
		{ninsho.FieldError(ninsho.CodeAccountLocked, "code").WithParam("kind", "codes"), true},
		{ninsho.E(ninsho.CodeAccountSuspended), true},
		{ninsho.E(ninsho.CodeDeliveryFailed), true},
		{ninsho.Internal("store: disk full"), true},
	}
	for _, tt := range tests {
		e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
			return &flow.Answer{Flow: f, Next: e.Script.NextStep}, tt.err
		}
		rec := post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"submit_code"}, "code": {"000000"}})
		body := rec.Body.String()
		if got := strings.Contains(body, testRequestID); got != tt.want {
			t.Errorf("%v: reference shown = %v, want %v (status %d)", tt.err, got, tt.want, rec.Code)
		}
		if !strings.Contains(body, `id="form-error"`) {
			t.Errorf("%v: no error summary", tt.err)
		}
	}
}

// TestPluralOnPages: an English page with a count of one reads "1 second".
func TestPluralOnPages(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlowAt(t, flow.KindSignup, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "+81 ** **** **78", ResendAfterS: 1}, nil)
	body := get(h, "/verify?flow="+webtest.FlowID+"&lang=en").Body.String()
	if !strings.Contains(body, "You can ask for a new code in 1 second.") {
		t.Errorf("resend hint for 1 s does not read \"1 second\":\n%s", body)
	}
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f, Next: e.Script.NextStep}, ninsho.FieldError(ninsho.CodeResendTooSoon, "code").WithParam("seconds", 1)
	}
	body = post(h, "/verify?flow="+webtest.FlowID+"&lang=en", url.Values{"action": {"resend_code"}}).Body.String()
	if !strings.Contains(body, "Please wait 1 second before asking for a new code.") {
		t.Errorf("resend_too_soon for 1 s does not read \"1 second\":\n%s", body)
	}
}

// bare sends a request that brings no cookie at all, as a browser that
// refuses cookies does.
func bare(h http.Handler, method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if form != nil {
		r = httptest.NewRequest(method, target, strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	r = r.WithContext(httperr.WithRequestID(r.Context(), testRequestID))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestCookielessBrowserIsTold: a browser that refuses cookies is told so,
// in words, before anything starts or any flow is looked up — the same for
// a real, a foreign and an unknown flow — and nothing is spent; a browser
// with cookies but without a flow's still meets flow_not_found.
func TestCookielessBrowserIsTold(t *testing.T) {
	h, env := newRealWeb(t)
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")

	// The form page hands out the test cookie.
	rec := bare(h, "GET", "/signup", nil)
	if ck := rec.Result().Cookies(); rec.Code != 200 || len(ck) != 1 || ck[0].Name != "ninsho_cookies" || ck[0].Value != "1" || !ck[0].HttpOnly {
		t.Errorf("GET /signup without cookies: %d, cookies %v; want the test cookie", rec.Code, ck)
	}
	if ck := get(h, "/signup").Result().Cookies(); len(ck) != 0 {
		t.Errorf("GET /signup with cookies set %v, want nothing", ck)
	}

	// A start without cookies starts nothing and sends nothing.
	rows, _ := env.DB.RowCounts(ctx)
	for _, lang := range []string{"ja", "en"} {
		rec = bare(h, "POST", "/signup", url.Values{"identifier": {"hanako@example.jp"}, "name": {"花子"}, "password": {pw}, "password_confirmation": {pw}}, "Accept-Language", lang)
		if rec.Code != 400 || rec.Header().Get("Location") != "" {
			t.Fatalf("%s: cookieless sign-up: %d %q, want 400", lang, rec.Code, rec.Header().Get("Location"))
		}
		webtest.Golden(t, lang+"/cookies_required.golden", page(rec))
	}
	if after, _ := env.DB.RowCounts(ctx); !maps.Equal(rows, after) {
		t.Errorf("a cookieless start wrote rows: %v → %v", rows, after)
	}
	if body := rec.Body.String(); !strings.Contains(body, "cookies") || strings.Contains(body, testRequestID) {
		t.Errorf("the answer does not speak of cookies, or shows a reference:\n%s", body)
	}

	// A real flow (started by another browser), a foreign one and an
	// unknown id answer alike without cookies; the real one is untouched.
	owner := jar{}
	rec = post(h, "/password-assistant", url.Values{"identifier": {"taro@example.jp"}})
	owner.take(t, rec.Result())
	verify := rec.Header().Get("Location")
	realID := strings.TrimPrefix(verify, "/verify?flow=")
	code := env.LastCode(t, "taro@example.jp")
	unknown := "01900000-0000-7000-8000-000000000999"
	var bodies []string
	for _, target := range []string{"/verify?flow=" + realID, "/verify?flow=" + unknown, "/unlock/password?flow=" + realID, "/password-assistant/choose?flow=" + unknown, "/signin?flow=" + realID} {
		rec := bare(h, "POST", target, url.Values{"action": {"submit_code"}, "code": {code}})
		if rec.Code != 400 {
			t.Errorf("POST %s without cookies: %d, want 400", target, rec.Code)
		}
		bodies = append(bodies, rec.Body.String())
		// A link opened without cookies may be a first visit: it is
		// asked again with the test cookie, and told on the second
		// request that still brings none.
		rec = bare(h, "GET", target, nil)
		again := rec.Header().Get("Location")
		u, _ := url.Parse(again)
		if rec.Code != 303 || u == nil || u.Path != strings.Split(target, "?")[0] || u.Query().Get("cookie_check") != "1" || u.Query().Get("flow") == "" || len(rec.Result().Cookies()) != 1 {
			t.Errorf("GET %s without cookies: %d %q %v, want 303 to the same page with cookie_check=1 and the test cookie", target, rec.Code, again, rec.Result().Cookies())
			continue
		}
		rec = bare(h, "GET", again, nil)
		if rec.Code != 400 {
			t.Errorf("GET %s, still without cookies: %d, want 400", again, rec.Code)
		}
		bodies = append(bodies, rec.Body.String())
		// A browser that kept the test cookie is shown the page at its
		// own address, where binding decides as before.
		if rec := get(h, again); rec.Code != 303 || rec.Header().Get("Location") != target {
			t.Errorf("GET %s with cookies: %d %q, want 303 to %s", again, rec.Code, rec.Header().Get("Location"), target)
		}
	}
	for _, b := range bodies[1:] {
		if stripLang(b) != stripLang(bodies[0]) {
			t.Errorf("cookieless answers differ between flows:\n%s\n---\n%s", bodies[0], b)
			break
		}
	}
	// Binding unchanged: a browser with cookies, but not this flow's.
	if rec := post(h, verify, url.Values{"action": {"submit_code"}, "code": {code}}, "Cookie", "ninsho_cookies=1"); rec.Code != 404 {
		t.Errorf("another browser's code on the flow: %d, want 404 flow_not_found", rec.Code)
	}
	// The owner's flow lost nothing: its code still works.
	if rec := post(h, verify, url.Values{"action": {"submit_code"}, "code": {code}}, owner.header()...); rec.Code != 303 || !strings.Contains(rec.Header().Get("Location"), "/password-assistant/choose") {
		t.Errorf("the owner's code after the cookieless tries: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	// GET pages without a flow still show, and /account still leads to
	// the sign-in page.
	if rec := bare(h, "GET", "/signin", nil); rec.Code != 200 {
		t.Errorf("cookieless GET /signin: %d", rec.Code)
	}
	if rec := bare(h, "GET", "/account", nil); rec.Code != 303 {
		t.Errorf("cookieless GET /account: %d, want 303", rec.Code)
	}
}

// stripLang drops the language switch, whose links repeat the request's
// path.
func stripLang(body string) string {
	return regexp.MustCompile(`<nav class="lang".*</nav>`).ReplaceAllString(body, "")
}

// TestNotMeLinkThatCannotWork: a used, expired, unknown or mangled "this
// wasn't me" link says at once that it can no longer be used and what to do
// now, with no button; a cookieless press of the button spends nothing.
func TestNotMeLinkThatCannotWork(t *testing.T) {
	h, _ := newProtectWeb(t)
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, "/signin/not-me?token=spent-or-unknown&lang="+lang)
		if rec.Code != 404 {
			t.Errorf("%s: status %d, want 404", lang, rec.Code)
		}
		body := rec.Body.String()
		for _, want := range []string{`href="/signin"`, `id="form-error"`} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: the page lacks %s:\n%s", lang, want, body)
			}
		}
		if strings.Contains(body, `name="token"`) || strings.Contains(body, testRequestID) {
			t.Errorf("%s: the page offers the button or a reference:\n%s", lang, body)
		}
		// Only advice that works: the account page shows the history but
		// cannot change a password; the password assistant sets a new one.
		for _, wrong := range []string{"change your password", "パスワードを変更"} {
			if strings.Contains(body, wrong) {
				t.Errorf("%s: the page offers %q, which the account page cannot do:\n%s", lang, wrong, body)
			}
		}
		webtest.Golden(t, lang+"/not_me_spent.golden", page(rec))
	}
	// Mangled links read alike.
	a := stripLang(get(h, "/signin/not-me?token=spent-or-unknown").Body.String())
	for _, target := range []string{"/signin/not-me", "/signin/not-me?token=" + strings.Repeat("x", 300)} {
		if b := stripLang(get(h, target).Body.String()); b != a {
			t.Errorf("GET %s reads differently from an unknown link:\n%s", target, b)
		}
	}
	// Pressing the button without cookies is refused before the link is
	// used: the link still shows its button afterwards.
	if rec := bare(h, "POST", "/signin/not-me", url.Values{"token": {"tok-123"}}); rec.Code != 400 {
		t.Errorf("cookieless not-me: %d, want 400 cookies_required", rec.Code)
	}
	if rec := get(h, "/signin/not-me?token=tok-123"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="token" value="tok-123"`) {
		t.Errorf("the link after a cookieless press: %d, want still usable", rec.Code)
	} // The short form a text message carries opens the same page.
	if rec := get(h, "/n/tok-123"); rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="token" value="tok-123"`) {
		t.Errorf("/n/tok-123: %d, want the not-me page for the token", rec.Code)
	}
	if rec := get(h, "/n/spent-or-unknown"); rec.Code != 404 {
		t.Errorf("/n/ with an unknown token: %d, want 404 like /signin/not-me", rec.Code)
	}
}

// TestNotMeSpentOffersTheShopsSupport: where the realm names its customer
// service, the page links to it and shows its contact line.
func TestNotMeSpentOffersTheShopsSupport(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	rl := *env.JP
	rl.Brand.SupportURL, rl.Brand.SupportContact = "https://shop.example.jp/help", "0120-000-000（平日9時〜18時）"
	realms := realm.NewRegistry([]*realm.Realm{&rl})
	h := mustWeb(t, web.Deps{Realms: realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin, Unlock: env.Unlock, Reset: env.Reset, Now: env.Clock.Now})
	body := get(h, "/signin/not-me?token=unknown").Body.String()
	for _, want := range []string{`<li><a href="https://shop.example.jp/help">`, "0120-000-000（平日9時〜18時）</li>", `<li><a href="/password-assistant">`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s:\n%s", want, body)
		}
	}
}
