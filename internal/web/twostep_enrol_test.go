package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/totp"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

var (
	enrolQRImage = regexp.MustCompile(`<img class="qr" src="data:image/png;base64,[A-Za-z0-9+/=&#;]+"`)
	secretRow    = regexp.MustCompile(`<code class="secret">([A-Z2-7 ]+)</code>`)
	otpauth      = regexp.MustCompile(`href="otpauth://totp/[^"]+"`)
	length       = regexp.MustCompile(`Content-Length: \d+`)
	flowIDs      = regexp.MustCompile(`flow=[0-9a-f-]{36}`)
)

// maskEnrolment hides the drawn secret, QR code and URL of an enrolment
// page for its golden file.
func maskEnrolment(b []byte) []byte {
	b = enrolQRImage.ReplaceAll(b, []byte(`<img class="qr" src="data:image/png;base64,…"`))
	b = secretRow.ReplaceAll(b, []byte(`<code class="secret">…</code>`))
	b = length.ReplaceAll(b, []byte(`Content-Length: …`))
	b = flowIDs.ReplaceAll(b, []byte(`flow=…`))
	return otpauth.ReplaceAll(b, []byte(`href="otpauth://totp/…"`))
}

// TestBrowserMandatoryEnrolment: a seller without 2SV in a realm that
// requires it signs in and is sent to /two-step/enrol (no session cookie);
// the button begins the app's enrolment and the page shows the QR code as
// an inline PNG (allowed by the page's CSP), the grouped secret and the
// otpauth URL, with a one-time-code field (golden, ja and en); a wrong code
// is refused on the same page; the code computed from the secret shown signs
// in at the account page.
func TestBrowserMandatoryEnrolment(t *testing.T) {
	h, env := newReauthWeb(t)
	ctx := context.Background()
	dev := env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	env.JP.TwoStep.RequiredFor = []string{"seller"}
	a, _ := env.DB.AccountByEmail(ctx, env.JP.ID, "hanako@example.jp")
	a.Type = account.TypeSeller
	if err := env.DB.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := jar{"ninsho_device": dev}
	rec := post(h, "/signin", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	if rec.Code != 303 || !strings.HasPrefix(rec.Header().Get("Location"), "/two-step/enrol?flow=") {
		t.Fatalf("signin: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if b["ninsho_session"] != "" {
		t.Fatal("a session before enrolment")
	}
	enrol := rec.Header().Get("Location")
	if rec = get(h, enrol, b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="begin_totp"`) {
		t.Fatalf("enrol page: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, enrol, url.Values{"action": {"begin_totp"}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != enrol {
		t.Fatalf("begin: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	for _, lang := range []string{"ja", "en"} {
		rec = get(h, enrol+"&lang="+lang, b.header()...)
		body := rec.Body.String()
		if rec.Code != 200 || !enrolQRImage.MatchString(body) || !otpauth.MatchString(body) ||
			!strings.Contains(body, `autocomplete="one-time-code"`) || !strings.Contains(body, `inputmode="numeric"`) {
			t.Fatalf("enrol page after begin: %d %s", rec.Code, body)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "img-src data: 'self'") && !strings.Contains(csp, "img-src 'self' data:") {
			t.Errorf("CSP %q does not allow the inline QR code", csp)
		}
		webtest.Golden(t, lang+"/two_step_enrol.golden", maskEnrolment(page(rec)))
	}
	secret := strings.ReplaceAll(secretRow.FindStringSubmatch(rec.Body.String())[1], " ", "")

	rec = post(h, enrol, url.Values{"action": {"submit_second_factor"}, "code": {"000000"}}, b.header()...)
	if rec.Code != 400 || !enrolQRImage.MatchString(rec.Body.String()) || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("wrong code: %d, want 400 with the QR code shown again: %s", rec.Code, rec.Body)
	}
	c, err := totp.CodeAt(secret, env.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, enrol, url.Values{"action": {"submit_second_factor"}, "code": {c}}, b.header()...)
	// The settings page comes next: it offers backup codes at once.
	if rec.Code != 303 || rec.Header().Get("Location") != "/account/two-step?done=on" {
		t.Fatalf("right code: %d %q: %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	p, err := env.Signin.Authenticate(ctx, env.JP, b["ninsho_session"])
	if err != nil || p.Session.AAL != 2 {
		t.Fatalf("session after enrolment: %+v, %v; want aal 2", p, err)
	}
	rec = get(h, "/account/two-step?done=on", b.header()...)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `action="/account/two-step/backup-codes"`) {
		t.Fatalf("after a required enrolment: %d, want the offer of backup codes:\n%s", rec.Code, rec.Body)
	}
	// Its only method cannot be removed, nor 2SV turned off: no such buttons.
	rec = get(h, "/account/two-step", b.header()...)
	if body := rec.Body.String(); rec.Code != 200 || strings.Contains(body, `action="/account/two-step/remove"`) || strings.Contains(body, `action="/account/two-step/off"`) {
		t.Errorf("settings of a required account with one method: %d, want no remove or turn-off form:\n%s", rec.Code, body)
	}
}
