package web_test

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// setCookies counts the response's Set-Cookie headers by cookie name.
func setCookies(rec *httptest.ResponseRecorder) map[string]int {
	n := map[string]int{}
	for _, v := range rec.Result().Header.Values("Set-Cookie") {
		name, _, _ := strings.Cut(v, "=")
		n[name]++
	}
	return n
}

// TestFinishedFlowClearsItsCookieOnce: completing a sign-up with its code
// and a sign-in with its code each send the clearing Set-Cookie of the
// flow's binding cookie once, and every other cookie once too.
func TestFinishedFlowClearsItsCookieOnce(t *testing.T) {
	h, env := newRealWeb(t)
	b := jar{}
	rec := post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {pw}, "password_confirmation": {pw},
	})
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	b.take(t, rec.Result())
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "hanako@example.jp")}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	checkOnce(t, "sign-up", rec)
	b.take(t, rec.Result())

	// A new browser signs in: a code for the new device, then done.
	nb := jar{}
	rec = post(h, "/signin", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, nb.header()...)
	verify = mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	nb.take(t, rec.Result())
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "hanako@example.jp")}}, nb.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	checkOnce(t, "sign-in", rec)
}

func checkOnce(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	flowCleared := false
	for name, n := range setCookies(rec) {
		if n != 1 {
			t.Errorf("%s: cookie %s set %d times in one response: %q", what, name, n, rec.Result().Header.Values("Set-Cookie"))
		}
		if strings.HasPrefix(name, "ninsho_flow_") {
			flowCleared = true
		}
	}
	if !flowCleared {
		t.Errorf("%s: the flow cookie was not cleared: %q", what, rec.Result().Header.Values("Set-Cookie"))
	}
}
