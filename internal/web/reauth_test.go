package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/session"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

func newReauthWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return mustWeb(tb, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, Reauth: env.Reauth,
		Now: env.Clock.Now,
	}), env
}

// signedInBrowser signs up email and signs in through the sign-in page
// from the same browser, and returns its cookies.
func signedInBrowser(t *testing.T, h *web.Handler, env *flowtest.Env, email string) jar {
	t.Helper()
	dev := env.MustSignUp(t, env.JP, email, pw, email)
	b := jar{"ninsho_device": dev}
	rec := post(h, "/signin", url.Values{"identifier": {email}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Fatalf("signin: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	return b
}

// recentSession reports whether the browser's session is recent now.
func recentSession(t *testing.T, env *flowtest.Env, b jar) bool {
	t.Helper()
	env.Clock.Advance(2 * time.Second) // past the session cache
	p, err := env.Signin.Authenticate(context.Background(), env.JP, b["ninsho_session"])
	if err != nil {
		t.Fatal(err)
	}
	return session.Recent(p.Session, env.Clock.Now(), env.JP.ReauthWindow())
}

var hiddenFlow = regexp.MustCompile(`name="flow" value="([^"]+)"`)

// TestBrowserReauth: /reauth shows the password form (golden, ja and en)
// with a return_to kept only when it is a path under /account; a wrong
// password is refused on the same flow; the right one makes the session
// recent and returns to return_to. Without a session it leads to /signin.
func TestBrowserReauth(t *testing.T) {
	h, env := newReauthWeb(t)
	if rec := get(h, "/reauth?return_to=/account/two-step"); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Fatalf("without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	b := signedInBrowser(t, h, env, "hanako@example.jp")
	env.Clock.Advance(env.JP.ReauthWindow())
	if recentSession(t, env, b) {
		t.Fatal("recent after the window")
	}
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, "/reauth?return_to=/account/two-step&lang="+lang, b.header()...)
		if rec.Code != 200 {
			t.Fatalf("reauth page: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/reauth.golden", maskRendered(page(rec)))
	}
	for _, bad := range []string{"https://evil.example/account", "//evil.example/account", "/account/../admin", "/signin", "/account\\x"} {
		rec := get(h, "/reauth?return_to="+url.QueryEscape(bad), b.header()...)
		if !strings.Contains(rec.Body.String(), `name="return_to" value="/account"`) {
			t.Errorf("return_to %q was not replaced by /account", bad)
		}
	}
	// The ids a page works on come back with it; nothing else does.
	id := "01900000-0000-7000-8000-000000000001"
	for raw, want := range map[string]string{
		"/account/two-step/phone?replaces=" + id:                      "/account/two-step/phone?replaces=" + id,
		"/account/two-step/totp?credential=" + id + "&next=//evil":    "/account/two-step/totp?credential=" + id,
		"/account/two-step/phone?replaces=//evil.example&x=1":         "/account/two-step/phone",
		"/account/two-step/phone?replaces=" + id + "#https://evil.ex": "/account",
	} {
		rec := get(h, "/reauth?return_to="+url.QueryEscape(raw), b.header()...)
		if !strings.Contains(rec.Body.String(), `name="return_to" value="`+html.EscapeString(want)+`"`) {
			t.Errorf("return_to %q: want %q kept", raw, want)
		}
	}

	rec := post(h, "/reauth", url.Values{"password": {"not-the-password"}, "return_to": {"/account/two-step"}}, b.header()...)
	m := hiddenFlow.FindStringSubmatch(rec.Body.String())
	if rec.Code != 400 || m == nil || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("wrong password: %d, want 400 with the flow kept and the field marked: %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	rec = post(h, "/reauth", url.Values{"password": {pw}, "flow": {m[1]}, "return_to": {"/account/two-step"}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account/two-step" {
		t.Fatalf("right password: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if !recentSession(t, env, b) {
		t.Error("the session is not recent after re-authentication")
	}
}

// TestBrowserReauthWithSecondFactor: with 2SV on, the password leads to
// /two-step, and the right code back to return_to, with the session recent
// at AAL 2.
func TestBrowserReauthWithSecondFactor(t *testing.T) {
	h, env := newReauthWeb(t)
	b := signedInBrowser(t, h, env, "hanako@example.jp")
	secret, _ := enrolTOTP(t, env, "hanako@example.jp")
	env.Clock.Advance(env.JP.ReauthWindow())

	rec := post(h, "/reauth", url.Values{"password": {pw}, "return_to": {"/account/two-step"}}, b.header()...)
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/two-step?flow=") {
		t.Fatalf("password: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if recentSession(t, env, b) {
		t.Fatal("recent after the password alone")
	}
	twoStep := rec.Header().Get("Location")
	if rec = get(h, twoStep, b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `href="/reauth?return_to=%2Faccount%2Ftwo-step"`) {
		t.Fatalf("two-step page: %d, want the start-again link to /reauth: %s", rec.Code, rec.Body)
	}
	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account/two-step" {
		t.Fatalf("second factor: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if !recentSession(t, env, b) {
		t.Error("the session is not recent after re-authentication")
	}
	p, _ := env.Signin.Authenticate(context.Background(), env.JP, b["ninsho_session"])
	if p.Session.AAL != 2 {
		t.Errorf("aal %d, want 2", p.Session.AAL)
	}
}

var renderedAt = regexp.MustCompile(`name="rendered_at" value="\d+"`)

func maskRendered(b []byte) []byte {
	return renderedAt.ReplaceAll(b, []byte(`name="rendered_at" value="…"`))
}
