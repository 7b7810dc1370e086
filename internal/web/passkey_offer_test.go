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

	"github.com/ninsho/ninsho/internal/device"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/passkey/passkeytest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

const (
	offerEmail = "hanako@example.jp"
	shopURL    = "https://shop.example.jp/mypage/orders"
)

// newOfferWeb returns the pages of a realm that lets passkeys sign in (and
// may return to https://shop.example.jp/mypage/), with a browser that
// signed up offerEmail and signed out again: its device is stored and
// familiar to the account.
func newOfferWeb(t *testing.T) (*web.Handler, *flowtest.Env, jar) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	env.JP.TwoStep.PasskeySignIn = true
	env.JP.ReturnTo = []string{"https://shop.example.jp/mypage/"}
	h := mustWeb(t, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, Now: env.Clock.Now,
	})
	b := jar{web.PlatformAuthenticatorCookie: "1"}
	rec := post(h, "/signup", url.Values{
		"identifier": {offerEmail}, "name": {"山田 花子"}, "password": {pw}, "password_confirmation": {pw},
	}, "User-Agent", flowtest.BrowserUA)
	if rec.Code != 303 {
		t.Fatalf("signup: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	rec = post(h, rec.Header().Get("Location"), url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, offerEmail)}},
		append(b.header(), "User-Agent", flowtest.BrowserUA)...)
	// A sign-up is no password sign-in: no offer.
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	offerSignout(t, h, b)
	return h, env, b
}

// offerSignin signs the browser in with the password (a familiar device:
// no code) and returns where the answer sends it.
func offerSignin(t *testing.T, h *web.Handler, env *flowtest.Env, b jar, returnTo string) string {
	t.Helper()
	env.Clock.Advance(time.Minute)
	form := url.Values{"identifier": {offerEmail}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}
	if returnTo != "" {
		form.Set("return_to", returnTo)
	}
	rec := post(h, "/signin", form, append(b.header(), "User-Agent", flowtest.BrowserUA)...)
	return offerFollow(t, rec, b)
}

func offerFollow(t *testing.T, rec *httptest.ResponseRecorder, b jar) string {
	t.Helper()
	if rec.Code != 303 {
		t.Fatalf("signin: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	return rec.Header().Get("Location")
}

func offerSignout(t *testing.T, h *web.Handler, b jar) {
	t.Helper()
	rec := post(h, "/signout", url.Values{}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/signin")
	b.take(t, rec.Result())
}

// offerState is how far the passkey offer got on the browser's device.
func offerState(t *testing.T, env *flowtest.Env, b jar) device.PasskeyOffer {
	t.Helper()
	d, _, err := env.Kit.Devices.Resolve(context.Background(), env.JP.ID, b["ninsho_device"], "")
	if err != nil || !d.Stored {
		t.Fatalf("the browser's device: %v (stored %v)", err, d != nil && d.Stored)
	}
	return d.PasskeyOffer
}

var offerContinue = regexp.MustCompile(`data-continue="([^"]*)"`)

// TestPasskeyOfferShownOnce: the first password sign-in on a device goes
// to the offer, with where it was going (the shop) kept; the page (ja, en)
// hides its heading and offer until the script finds a platform
// authenticator and, without JavaScript, goes on at once; the offer counts
// as made when the browser is sent to it, so the next sign-in on the
// device, unanswered as it was, goes straight to the shop.
func TestPasskeyOfferShownOnce(t *testing.T) {
	h, env, b := newOfferWeb(t)
	if got := offerState(t, env, b); got != device.PasskeyNotOffered {
		t.Fatalf("before any password sign-in: offer %v, want none", got)
	}
	loc := offerSignin(t, h, env, b, shopURL)
	want := "/account/passkey-offer?return_to=" + url.QueryEscape(shopURL)
	if loc != want {
		t.Fatalf("first password sign-in goes to %q, want %q", loc, want)
	}
	if b["ninsho_session"] == "" {
		t.Fatal("no session cookie with the offer")
	}
	if got := offerState(t, env, b); got != device.PasskeyOffered {
		t.Errorf("after the offer: %v, want offered", got)
	}
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, loc+"&lang="+lang, append(b.header(), "User-Agent", flowtest.BrowserUA)...)
		body := rec.Body.String()
		if rec.Code != 200 {
			t.Fatalf("%s offer page: %d %s", lang, rec.Code, body)
		}
		webtest.Golden(t, lang+"/passkey_offer.golden", page(rec))
		for _, s := range []string{
			`<script src="/static/passkey.js" defer></script>`,
			`<noscript><meta http-equiv="refresh" content="0; url=https://shop.example.jp/mypage/orders"></noscript>`,
			`data-passkey-heading hidden>`,
			`data-passkey="offer" data-continue="https://shop.example.jp/mypage/orders"`,
			`<input type="hidden" name="return_to" value="https://shop.example.jp/mypage/orders">`,
		} {
			if !strings.Contains(body, s) {
				t.Errorf("%s offer page lacks %s", lang, s)
			}
		}
	}
	b.take(t, get(h, "/account?lang=ja", b.header()...).Result())

	offerSignout(t, h, b)
	if loc := offerSignin(t, h, env, b, shopURL); loc != shopURL {
		t.Errorf("second password sign-in on the device goes to %q, want %q (no second offer)", loc, shopURL)
	}
	offerSignout(t, h, b)
	if loc := offerSignin(t, h, env, b, ""); loc != "/account" {
		t.Errorf("third password sign-in goes to %q, want /account", loc)
	}
}

// TestPasskeyOfferDecline: "not now" records the decline on the device and
// goes on to the allowed return_to (a return_to that the realm does not
// allow, or none, goes to the account page); the device is not offered
// again. The page and "not now" need a session.
func TestPasskeyOfferDecline(t *testing.T) {
	h, env, b := newOfferWeb(t)
	anon := []string{"Cookie", "ninsho_cookies=1"}
	if rec := get(h, "/account/passkey-offer", anon...); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Errorf("offer page without a session: %d %q, want 303 /signin", rec.Code, rec.Header().Get("Location"))
	}
	if rec := post(h, "/account/passkey-offer", url.Values{}, anon...); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Errorf("not now without a session: %d %q, want 303 /signin", rec.Code, rec.Header().Get("Location"))
	}

	loc := offerSignin(t, h, env, b, shopURL)
	mustRedirect(t, 303, loc, "/account/passkey-offer?")
	rec := get(h, loc, b.header()...)
	m := offerContinue.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil || html.UnescapeString(m[1]) != shopURL {
		t.Fatalf("offer page: %d, continue %q, want %q", rec.Code, m, shopURL)
	}
	// A return_to the realm does not allow is never where the offer
	// goes on to.
	for _, bad := range []string{"https://evil.example/", "//evil.example/", "javascript:alert(1)"} {
		rec := get(h, "/account/passkey-offer?return_to="+url.QueryEscape(bad), b.header()...)
		if body := rec.Body.String(); rec.Code != 200 || strings.Contains(body, "evil") || strings.Contains(body, "javascript") ||
			!strings.Contains(body, `data-continue="/account"`) {
			t.Errorf("offer page with return_to %q: %d, want it dropped (continue to /account):\n%s", bad, rec.Code, body)
		}
	}

	rec = post(h, "/account/passkey-offer", url.Values{"return_to": {shopURL}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopURL {
		t.Fatalf("not now: %d %q, want 303 %s", rec.Code, rec.Header().Get("Location"), shopURL)
	}
	if got := offerState(t, env, b); got != device.PasskeyDeclined {
		t.Errorf("after not now: %v, want declined", got)
	}
	for _, tc := range []struct{ returnTo, want string }{
		{"https://evil.example/", "/account"},
		{"", "/account"},
	} {
		rec = post(h, "/account/passkey-offer", url.Values{"return_to": {tc.returnTo}}, b.header()...)
		if rec.Code != 303 || rec.Header().Get("Location") != tc.want {
			t.Errorf("not now with return_to %q: %d %q, want 303 %s", tc.returnTo, rec.Code, rec.Header().Get("Location"), tc.want)
		}
	}
	// A form from another site is refused before anything is recorded.
	if rec := post(h, "/account/passkey-offer", url.Values{}, append(b.header(), "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")...); rec.Code != 403 {
		t.Errorf("not now from another site: %d, want 403", rec.Code)
	}

	offerSignout(t, h, b)
	if loc := offerSignin(t, h, env, b, ""); loc != "/account" {
		t.Errorf("password sign-in after not now goes to %q, want /account", loc)
	}
}

// TestPasskeyOfferNotWithAPasskey: an account that has a passkey is not
// offered one — here it signs in with the password and its authenticator
// app — and the device stays unoffered; its offer page goes on at once.
func TestPasskeyOfferNotWithAPasskey(t *testing.T) {
	h, env, b := newOfferWeb(t)
	secret, _ := enrolTOTP(t, env, offerEmail)
	enrolOfferPasskey(t, env)

	loc := offerSignin(t, h, env, b, "")
	mustRedirect(t, 303, loc, "/two-step?flow=")
	rec := post(h, loc, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	if got := rec.Header().Get("Location"); got != "/account" {
		t.Fatalf("sign-in with the app goes to %q, want /account", got)
	}
	b.take(t, rec.Result())
	if got := offerState(t, env, b); got != device.PasskeyNotOffered {
		t.Errorf("device offer after the sign-in: %v, want none", got)
	}
	rec = get(h, "/account/passkey-offer?return_to="+url.QueryEscape(shopURL), b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != shopURL {
		t.Errorf("offer page of an account with a passkey: %d %q, want 303 %s", rec.Code, rec.Header().Get("Location"), shopURL)
	}
}

// TestPasskeyOfferNotAfterAPasskey: a sign-in whose second factor is a
// passkey (session methods pwd, hwk) is not offered one.
func TestPasskeyOfferNotAfterAPasskey(t *testing.T) {
	h, env, b := newOfferWeb(t)
	auth := enrolOfferPasskey(t, env)

	loc := offerSignin(t, h, env, b, "")
	mustRedirect(t, 303, loc, "/two-step?flow=")
	rec := get(h, loc, b.header()...)
	m := regexp.MustCompile(`data-public-key="([^"]+)"`).FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		t.Fatalf("second-factor page: %d, want the passkey asked:\n%s", rec.Code, rec.Body)
	}
	cred, err := auth.Get([]byte(html.UnescapeString(m[1])), nil)
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, loc, url.Values{"action": {"submit_second_factor"}, "credential": {string(cred)}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Fatalf("sign-in with the passkey: %d %q, want 303 /account: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	if got := offerState(t, env, b); got != device.PasskeyNotOffered {
		t.Errorf("device offer after a passkey: %v, want none", got)
	}
}

// TestPasskeyOfferOnlyWithAPlatformAuthenticator: a browser whose sign-in
// page found no platform authenticator (or ran no script) goes where it was
// going, and its device is not counted as offered: the offer comes once it
// has one.
func TestPasskeyOfferOnlyWithAPlatformAuthenticator(t *testing.T) {
	h, env, b := newOfferWeb(t)
	for _, hint := range []string{"0", ""} {
		if hint == "" {
			delete(b, web.PlatformAuthenticatorCookie)
		} else {
			b[web.PlatformAuthenticatorCookie] = hint
		}
		if loc := offerSignin(t, h, env, b, shopURL); loc != shopURL {
			t.Errorf("password sign-in with hint %q goes to %q, want %q", hint, loc, shopURL)
		}
		if got := offerState(t, env, b); got != device.PasskeyNotOffered {
			t.Errorf("device offer with hint %q: %v, want none", hint, got)
		}
		offerSignout(t, h, b)
	}
	b[web.PlatformAuthenticatorCookie] = "1"
	mustRedirect(t, 303, offerSignin(t, h, env, b, ""), "/account/passkey-offer")
}

// TestPasskeyOfferNotWherePasskeysAreOff: a realm that does not let
// passkeys sign in offers none.
func TestPasskeyOfferNotWherePasskeysAreOff(t *testing.T) {
	h, env, b := newOfferWeb(t)
	env.JP.TwoStep.PasskeySignIn = false
	if loc := offerSignin(t, h, env, b, ""); loc != "/account" {
		t.Errorf("password sign-in goes to %q, want /account", loc)
	}
	if got := offerState(t, env, b); got != device.PasskeyNotOffered {
		t.Errorf("device offer: %v, want none", got)
	}
	if rec := get(h, "/account/passkey-offer", b.header()...); rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Errorf("offer page where passkeys are off: %d %q, want 303 /account", rec.Code, rec.Header().Get("Location"))
	}
}

// enrolOfferPasskey gives offerEmail's account a proved passkey of a new
// software authenticator, which it returns.
func enrolOfferPasskey(t *testing.T, env *flowtest.Env) *passkeytest.Authenticator {
	t.Helper()
	ctx := context.Background()
	a, err := env.DB.AccountByEmail(ctx, env.JP.ID, offerEmail)
	if err != nil {
		t.Fatal(err)
	}
	auth := &passkeytest.Authenticator{Origin: env.JP.BaseURL}
	req := flowtest.Req("192.0.2.10", "")
	en, err := env.TwoStep.BeginPasskey(ctx, env.JP, req, a, "")
	if err != nil {
		t.Fatal(err)
	}
	resp, _, err := auth.Create(en.Options)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.TwoStep.FinishPasskey(ctx, env.JP, req, a, en.CredentialID, "My phone", resp); err != nil {
		t.Fatalf("finish passkey: %v", err)
	}
	return auth
}
