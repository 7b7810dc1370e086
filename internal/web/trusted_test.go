package web_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

var trustedIDs = regexp.MustCompile(`name="id" value="[^"]*"`)

// TestBrowserTrustedDevice: ticking "don't ask for a code on this device"
// on the second-factor page makes the browser trusted: after signing out,
// the right password alone signs in. /account/trusted-devices lists it as
// this device (golden, ja and en), needs a recent sign-in (else /reauth
// with the way back), and forgets it: the next sign-in asks the factor.
func TestBrowserTrustedDevice(t *testing.T) {
	h, env := newRealWeb(t)
	dev := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	secret, _ := enrolTOTP(t, env, "taro@example.jp")
	b := jar{"ninsho_device": dev, "ninsho_cookies": "1"}
	withUA := func() []string { return append(b.header(), "User-Agent", flowtest.BrowserUA) }
	signIn := func() string {
		t.Helper()
		rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, withUA()...)
		b.take(t, rec.Result())
		if rec.Code != 303 {
			t.Fatalf("signin: %d %s", rec.Code, rec.Body)
		}
		return rec.Header().Get("Location")
	}

	twoStep := signIn()
	if !strings.HasPrefix(twoStep, "/two-step?flow=") {
		t.Fatalf("signin led to %s, want the second factor", twoStep)
	}
	if body := get(h, twoStep, withUA()...).Body.String(); !strings.Contains(body, `name="trust_device" type="checkbox" value="1"`) {
		t.Fatalf("second-factor page has no trust_device checkbox:\n%s", body)
	}
	rec := post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}, "trust_device": {"1"}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	env.Clock.Advance(time.Minute)

	if rec := get(h, "/account", withUA()...); !strings.Contains(rec.Body.String(), `href="/account/trusted-devices"`) {
		t.Errorf("account page does not link the trusted devices")
	}
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, "/account/trusted-devices?lang="+lang, withUA()...)
		if rec.Code != 200 {
			t.Fatalf("trusted devices: %d %s", rec.Code, rec.Body)
		}
		// The row's id (UUIDv7) depends on what ran before: masked.
		webtest.Golden(t, lang+"/trusted_devices.golden", trustedIDs.ReplaceAll(page(rec), []byte(`name="id" value="TRUSTED-DEVICE-ID"`)))
	}

	post(h, "/signout", url.Values{}, withUA()...)
	delete(b, "ninsho_session")
	if to := signIn(); to != "/account" {
		t.Fatalf("signin on the trusted browser led to %s, want /account without the second factor", to)
	}

	env.Clock.Advance(11 * time.Minute)
	rec = get(h, "/account/trusted-devices", withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/reauth?return_to=%2Faccount%2Ftrusted-devices")

	// Forgetting needs no recent sign-in; an unknown id is not found.
	rec = post(h, "/account/trusted-devices", url.Values{"action": {"forget"}, "id": {"01900000-0000-7000-8000-000000000001"}}, withUA()...)
	if rec.Code != 404 {
		t.Errorf("forget an unknown id: %d, want 404", rec.Code)
	}
	rec = post(h, "/account/trusted-devices", url.Values{"action": {"forget_all"}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/trusted-devices?done=forgot_all")
	post(h, "/signout", url.Values{}, withUA()...)
	delete(b, "ninsho_session")
	if to := signIn(); !strings.HasPrefix(to, "/two-step?flow=") {
		t.Errorf("signin after forgetting led to %s, want the second factor", to)
	}
}
