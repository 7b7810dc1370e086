package web_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/httperr"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

func newWeb(tb testing.TB, secure bool) (*web.Handler, *webtest.Engine) {
	tb.Helper()
	e := webtest.NewEngine(tb)
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	h := mustWeb(tb, web.Deps{
		Realms:        webtest.Realms(),
		Flows:         e.Engine,
		Signup:        env.Signup,
		Signin:        env.Signin,
		SecureCookies: secure,
		Now:           e.Clock.Now,
	})
	return h, e
}

func get(h http.Handler, target string, hdr ...string) *httptest.ResponseRecorder {
	return send(h, "GET", target, nil, hdr...)
}

func post(h http.Handler, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	return send(h, "POST", target, form, append([]string{"Content-Type", "application/x-www-form-urlencoded"}, hdr...)...)
}

func send(h http.Handler, method, target string, form url.Values, hdr ...string) *httptest.ResponseRecorder {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	if r.Header.Get("User-Agent") == "" {
		r.Header.Set("User-Agent", flowtest.BrowserUA) // a person's browser, not automation
	}
	// The browser that started webtest's flow holds its binding cookie.
	r.Header.Add("Cookie", webtest.FlowCookie)
	r = r.WithContext(httperr.WithRequestID(r.Context(), "01900000-0000-7000-8000-00000000beef"))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// page renders a response for a golden file: status, sorted headers and
// body.
func page(rec *httptest.ResponseRecorder) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\n", rec.Code)
	keys := make([]string, 0, len(rec.Header()))
	for k := range rec.Header() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(rec.Header()[k], " | "))
	}
	b.WriteString("\n")
	b.WriteString(rec.Body.String())
	return []byte(b.String())
}

func TestPagesGolden(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	for _, lang := range []string{"ja", "en"} {
		tests := []struct{ name, target string }{
			{"signup", "/signup"},
			{"signin", "/signin"},
			{"verify", "/verify?flow=" + webtest.FlowID},
			{"verify_resent", "/verify?flow=" + webtest.FlowID + "&sent=1"},
			{"not_found", "/nope"},
			{"flow_not_found", "/verify?flow=01900000-0000-7000-8000-000000000999"},
		}
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				rec := get(h, tt.target, "Accept-Language", lang)
				webtest.Golden(t, lang+"/"+tt.name+".golden", page(rec))
			})
		}
	}
}

func TestFormErrorGolden(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignin)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f, Next: e.Script.NextStep}, ninsho.FieldError(ninsho.CodeCodeIncorrect, "code").WithParam("attempts_left", 4)
	}
	for _, lang := range []string{"ja", "en"} {
		rec := post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"submit_code"}, "code": {"000000"}}, "Accept-Language", lang)
		if rec.Code != 400 {
			t.Errorf("%s: status %d, want 400", lang, rec.Code)
		}
		webtest.Golden(t, lang+"/verify_code_incorrect.golden", page(rec))
	}
}

func TestSecurityHeaders(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	for _, target := range []string{"/signup", "/signin", "/verify?flow=" + webtest.FlowID, "/nope", "/static/app.js", "/account"} {
		rec := get(h, target)
		want := map[string]string{
			"Content-Security-Policy": web.ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"X-Frame-Options":         "DENY",
			"Referrer-Policy":         "same-origin",
		}
		for k, v := range want {
			if got := rec.Header().Get(k); got != v {
				t.Errorf("GET %s: %s = %q, want %q", target, k, got, v)
			}
		}
	}
	for _, frag := range []string{"default-src 'self'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"} {
		if !strings.Contains(web.ContentSecurityPolicy, frag) {
			t.Errorf("CSP lacks %s", frag)
		}
	}
}

func TestNoInlineScriptOrStyle(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style="| on[a-z]+="`)
	for _, target := range []string{"/signup", "/signin", "/verify?flow=" + webtest.FlowID, "/nope"} {
		if m := inline.FindString(get(h, target).Body.String()); m != "" {
			t.Errorf("GET %s has inline code %q, which the CSP blocks", target, m)
		}
	}
}

func TestStatic(t *testing.T) {
	h, _ := newWeb(t, false)
	for _, tt := range []struct{ target, ctype string }{{"/static/app.js", "text/javascript"}, {"/static/style.css", "text/css"}} {
		rec := get(h, tt.target)
		if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), tt.ctype) {
			t.Errorf("GET %s: %d %q", tt.target, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	// A missing file gets the HTML error page like every unknown address,
	// not the file server's plain text.
	unknown := get(h, "/nope", "Accept-Language", "en").Body.String()
	for _, target := range []string{"/static/nope.js", "/static/img/nope.png", "/static/app.js/x"} {
		rec := get(h, target, "Accept-Language", "en")
		if rec.Code != 404 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Body.String() != strings.Replace(unknown, `href="/nope?`, `href="`+target+`?`, 1) || strings.Contains(rec.Body.String(), "404 page not found") {
			t.Errorf("GET %s: %d %q, want 404 with the error page of an unknown address:\n%s", target, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		if cc := rec.Header().Get("Cache-Control"); strings.Contains(cc, "public") {
			t.Errorf("GET %s: Cache-Control %q on an error page", target, cc)
		}
	}
	if rec := get(h, "/static/"); rec.Code != 404 || strings.Contains(rec.Body.String(), `<a href="app.js">`) {
		t.Errorf("GET /static/: %d, want 404 without a directory listing", rec.Code)
	}
}

func TestFormAttributes(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	tests := []struct {
		target string
		want   []string
	}{
		{"/signup", []string{`autocomplete="username"`, `autocomplete="name"`, `autocomplete="new-password"`, `name="password_confirmation"`, `method="post" action="/signup"`}},
		{"/signin", []string{`autocomplete="username"`, `autocomplete="current-password"`, `method="post" action="/signin"`}},
		{"/verify?flow=" + webtest.FlowID, []string{`autocomplete="one-time-code"`, `inputmode="numeric"`, `value="resend_code"`, `+81 ** **** **78`, `href="/signup"`}},
	}
	for _, tt := range tests {
		body := html.UnescapeString(get(h, tt.target).Body.String())
		for _, w := range tt.want {
			if !strings.Contains(body, w) {
				t.Errorf("GET %s lacks %s", tt.target, w)
			}
		}
		if !strings.Contains(body, `hreflang="en"`) {
			t.Errorf("GET %s has no language switch", tt.target)
		}
	}
}

func TestLanguageSwitch(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	rec := get(h, "/verify?flow="+webtest.FlowID+"&lang=en")
	if got := rec.Header().Get("Content-Language"); got != "en" {
		t.Errorf("?lang=en: Content-Language %q", got)
	}
	var lang *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "ninsho_lang" {
			lang = c
		}
	}
	if lang == nil || lang.Value != "en" {
		t.Fatalf("?lang=en set no language cookie: %v", rec.Result().Cookies())
	}
	// The switch links keep the flow and change only the language.
	if !strings.Contains(rec.Body.String(), `href="/verify?flow=`+webtest.FlowID+`&amp;lang=ja"`) {
		t.Errorf("switch link lost the flow: %s", rec.Body)
	}
	rec = get(h, "/signin", "Cookie", "ninsho_lang=en", "Accept-Language", "ja")
	if got := rec.Header().Get("Content-Language"); got != "en" {
		t.Errorf("cookie en: Content-Language %q", got)
	}
	rec = get(h, "http://us.example/signin")
	if got := rec.Header().Get("Content-Language"); got != "en" {
		t.Errorf("us realm default: Content-Language %q", got)
	}
}

func TestCrossOriginPostRefused(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignup)
	rec := post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"submit_code"}, "code": {"1"}}, "Sec-Fetch-Site", "cross-site")
	if rec.Code != 403 || !strings.Contains(rec.Body.String(), `role="alert"`) || strings.Contains(rec.Body.String(), "01900000-0000-7000-8000-00000000beef") {
		t.Errorf("cross-site post: %d %s; want a 403 page without a reference (reloading the page puts it right)", rec.Code, rec.Body)
	}
	if a, _ := e.Script.Last(); a.Name != "" {
		t.Errorf("cross-site post reached the flow: %+v", a)
	}
	rec = post(h, "/signout", nil, "Origin", "https://evil.example")
	if rec.Code != 403 {
		t.Errorf("cross-origin sign-out: %d, want 403", rec.Code)
	}
	rec = post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"submit_code"}, "code": {"1"}}, "Sec-Fetch-Site", "same-origin")
	if rec.Code == 403 {
		t.Errorf("same-origin post refused")
	}
}

func TestVerifyCompletes(t *testing.T) {
	for _, secure := range []bool{false, true} {
		h, e := newWeb(t, secure)
		e.MustAddFlow(t, flow.KindSignup)
		e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
			f.Status = flow.StatusComplete
			return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepDone},
				Session:     &flow.Grant{Token: "sess-tok", ExpiresAt: webtest.Epoch.Add(time.Hour), AAL: 1},
				DeviceToken: "dev-new", AccountID: "acc"}, nil
		}
		rec := post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"submit_code"}, "code": {"123456"}}, "Cookie", "ninsho_device=dev-old")
		if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
			t.Fatalf("status %d location %q, want 303 /account", rec.Code, rec.Header().Get("Location"))
		}
		a, req := e.Script.Last()
		if a.Name != "submit_code" || a.Code != "123456" || req.DeviceToken != "dev-old" || req.Locale != "ja" {
			t.Errorf("flow saw %+v %+v", a, req)
		}
		got := map[string]*http.Cookie{}
		for _, c := range rec.Result().Cookies() {
			got[c.Name] = c
		}
		s, d := got["ninsho_session"], got["ninsho_device"]
		if s == nil || s.Value != "sess-tok" || !s.HttpOnly || s.SameSite != http.SameSiteLaxMode || s.Path != "/" || s.Secure != secure || s.MaxAge != 3600 {
			t.Errorf("secure=%v: session cookie %+v", secure, s)
		}
		if d == nil || d.Value != "dev-new" || !d.HttpOnly || d.Secure != secure || d.MaxAge < 300*86400 {
			t.Errorf("secure=%v: device cookie %+v", secure, d)
		}
	}
}

func TestVerifyResend(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignin)
	rec := post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"resend_code"}})
	if rec.Code != 303 || !strings.Contains(rec.Header().Get("Location"), "sent=1") {
		t.Errorf("resend: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f}, ninsho.E(ninsho.CodeResendTooSoon).WithParam("seconds", 25)
	}
	rec = post(h, "/verify?flow="+webtest.FlowID, url.Values{"action": {"resend_code"}})
	if rec.Code != 429 || rec.Header().Get("Retry-After") != "25" {
		t.Errorf("resend too soon: %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := html.UnescapeString(rec.Body.String()); !strings.Contains(body, `+81 ** **** **78`) || !strings.Contains(body, `href="/signin"`) {
		t.Errorf("redisplayed page lost the destination or the restart link: %s", body)
	}
}

func TestVerifyExpired(t *testing.T) {
	h, e := newWeb(t, false)
	e.MustAddFlow(t, flow.KindSignin)
	e.Clock.Advance(2 * time.Hour)
	rec := get(h, "/verify?flow="+webtest.FlowID)
	if rec.Code != 410 || strings.Contains(rec.Body.String(), "01900000-0000-7000-8000-00000000beef") {
		t.Errorf("expired: %d %s", rec.Code, rec.Body)
	}
}

func TestAccountRedirectsWhenSignedOut(t *testing.T) {
	h, _ := newWeb(t, false)
	for _, hdr := range [][]string{nil, {"Cookie", "ninsho_session=stale"}} {
		rec := get(h, "/account", hdr...)
		if rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
			t.Errorf("GET /account %v: %d %q, want 303 /signin", hdr, rec.Code, rec.Header().Get("Location"))
		}
	}
	rec := get(h, "/")
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Errorf("GET /: %d %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestSignoutClearsCookie(t *testing.T) {
	h, _ := newWeb(t, false)
	rec := post(h, "/signout", url.Values{}, "Cookie", "ninsho_session=whatever")
	if rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Errorf("signout: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	var cleared bool
	for _, c := range rec.Result().Cookies() {
		cleared = cleared || c.Name == "ninsho_session" && c.MaxAge < 0
	}
	if !cleared {
		t.Errorf("signout did not clear the cookie: %v", rec.Result().Cookies())
	}
}

func TestMethodNotAllowed(t *testing.T) {
	h, _ := newWeb(t, false)
	rec := send(h, "PUT", "/signin", nil)
	if rec.Code != 405 || !strings.Contains(rec.Header().Get("Allow"), "POST") || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Errorf("PUT /signin: %d Allow %q type %q", rec.Code, rec.Header().Get("Allow"), rec.Header().Get("Content-Type"))
	}
}

func TestFieldTooLong(t *testing.T) {
	h, _ := newWeb(t, false)
	rec := post(h, "/signin", url.Values{"identifier": {strings.Repeat("a", 400)}, "password": {"x"}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Errorf("long identifier: %d", rec.Code)
	}
	if strings.Contains(rec.Body.String(), strings.Repeat("a", 400)) {
		t.Errorf("the over-long value was echoed back")
	}
}

func TestFaviconIsNotAnError(t *testing.T) {
	h := mustWeb(t, web.Deps{Realms: realm.NewRegistry([]*realm.Realm{{ID: "jp", DefaultLocale: "ja", PhoneRegion: "JP"}})})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/favicon.ico", nil))
	if rec.Code != http.StatusNoContent {
		t.Errorf("GET /favicon.ico = %d, want 204", rec.Code)
	}
}

// mustWeb is web.New for tests whose realms load without fail.
func mustWeb(tb testing.TB, d web.Deps) *web.Handler {
	tb.Helper()
	h, err := web.New(d)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}
