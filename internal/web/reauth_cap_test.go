package web_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/reauth"
)

// TestBrowserReauthStartCap: each password sent to /reauth without a flow
// starts one; past reauth.StartsPerSession within reauth.StartWindow the
// page answers 429 with the password form again and the wait, and no
// flow is started.
func TestBrowserReauthStartCap(t *testing.T) {
	h, env := newReauthWeb(t)
	b := signedInBrowser(t, h, env, "taro@example.jp")
	for range reauth.StartsPerSession {
		env.Clock.Advance(time.Second)
		rec := post(h, "/reauth", url.Values{"password": {pw}, "return_to": {"/account"}}, b.header()...)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	}
	rec := post(h, "/reauth", url.Values{"password": {pw}, "return_to": {"/account"}}, b.header()...)
	body := rec.Body.String()
	if rec.Code != 429 || !strings.Contains(body, `type="password"`) || !strings.Contains(body, `id="form-error"`) || !strings.Contains(body, "15分") || strings.Contains(body, `name="flow"`) {
		t.Errorf("start %d: %d, want 429 with the password form and the error, no flow:\n%s", reauth.StartsPerSession+1, rec.Code, body)
	}
}
