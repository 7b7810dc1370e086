package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestTwoStepTOTPLanguageLinksKeepTheApp: while an authenticator app is
// being added, the other language's link (on the page and on the refusal
// of a wrong code) shows the same app, its secret and QR code, not the
// start form again — a person switching language half-way keeps the QR
// code they may already have scanned.
func TestTwoStepTOTPLanguageLinksKeepTheApp(t *testing.T) {
	langLink := regexp.MustCompile(`<a href="([^"]+)" lang="en" hreflang="en">`)
	h, _, b := newTwoStepWeb(t, "ja")
	rec := post(h, "/account/two-step/totp", url.Values{"label": {"iPhone"}}, b.header()...)
	loc := rec.Header().Get("Location")
	if rec.Code != 303 || !strings.HasPrefix(loc, "/account/two-step/totp?credential=") {
		t.Fatalf("begin: %d %q %s", rec.Code, loc, rec.Body)
	}
	credential := strings.TrimPrefix(loc, "/account/two-step/totp?credential=")
	rec = get(h, loc, b.header()...)
	m := groupedSecret.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		t.Fatalf("enrolment page: %d %s", rec.Code, rec.Body)
	}
	secret := m[1]
	wrong := post(h, "/account/two-step/totp/verify", url.Values{"credential": {credential}, "code": {"12"}}, b.header()...)
	if wrong.Code != 400 {
		t.Fatalf("wrong code: %d, want 400", wrong.Code)
	}
	for what, body := range map[string]string{"the enrolment page": rec.Body.String(), "the refused code": wrong.Body.String()} {
		l := langLink.FindStringSubmatch(body)
		if l == nil {
			t.Fatalf("%s has no link to English:\n%s", what, body)
		}
		href := html.UnescapeString(l[1])
		u, err := url.Parse(href)
		if err != nil || u.Path != "/account/two-step/totp" || u.Query().Get("credential") != credential || u.Query().Get("lang") != "en" {
			t.Fatalf("%s links English to %q, want /account/two-step/totp with the credential and lang=en", what, href)
		}
		en := get(h, href, b.header()...)
		if m := groupedSecret.FindStringSubmatch(en.Body.String()); en.Code != 200 || m == nil || m[1] != secret || !qrImage.MatchString(en.Body.String()) ||
			!strings.Contains(en.Body.String(), `<html lang="en">`) {
			t.Errorf("%s: the English link answers %d without the same secret and QR code in English:\n%s", what, en.Code, en.Body)
		}
	}
}
