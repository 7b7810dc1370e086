package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/closure"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

func newClosureWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	svc := &closure.Service{Kit: env.Kit, Realms: env.Realms, Store: env.DB, Signin: env.Signin}
	env.Signin.Closure = svc
	return mustWeb(tb, web.Deps{
		Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, Reauth: env.Reauth, Closure: svc,
		Now: env.Clock.Now,
	}), env
}

// TestBrowserCloseAndReopen: /account links to /account/close, which (ja
// and en, golden) names what will be lost and the purge date; an old
// session is sent to re-authenticate first; without the tick the page
// refuses (field confirm); with it the account is closed and the browser
// signed out. Signing in again leads to /signin/reopen (golden), whose
// "keep it closed" goes back to the sign-in page and whose "reopen" signs
// in to /account.
func TestBrowserCloseAndReopen(t *testing.T) {
	h, env := newClosureWeb(t)
	const email = "hanako@example.jp"
	b := signedInBrowser(t, h, env, email)
	if rec := get(h, "/account", b.header()...); !strings.Contains(rec.Body.String(), `href="/account/close"`) {
		t.Fatalf("account page without the closing link: %s", rec.Body)
	}
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, "/account/close?lang="+lang, b.header()...)
		if rec.Code != 200 {
			t.Fatalf("close page: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/account_close.golden", page(rec))
	}
	env.Clock.Advance(env.JP.ReauthWindow() + time.Second)
	if rec := post(h, "/account/close", url.Values{"confirm": {"1"}}, b.header()...); rec.Code != 303 ||
		!strings.HasPrefix(rec.Header().Get("Location"), "/reauth?return_to=%2Faccount%2Fclose") {
		t.Fatalf("old session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	b = signedInBrowser2(t, h, env, b, email)
	rec := post(h, "/account/close?lang=en", url.Values{}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="confirm-error"`) ||
		!strings.Contains(rec.Body.String(), "Please tick the box to confirm that you want to close your account.") {
		t.Fatalf("without the tick: %d %s", rec.Code, rec.Body)
	}
	rec = post(h, "/account/close?lang=en", url.Values{"confirm": {"1"}}, b.header()...)
	// An account without a phone number is told only of its e-mail address.
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), "We sent a notice to your email address.") ||
		strings.Contains(strings.ToLower(rec.Body.String()), "phone") {
		t.Fatalf("close: %d %s", rec.Code, rec.Body)
	}
	a, err := env.DB.AccountByEmail(context.Background(), env.JP.ID, email)
	if err != nil || a.Status != account.StatusClosed {
		t.Fatalf("account %+v, %v", a, err)
	}

	signin := func() string {
		env.Clock.Advance(2 * time.Second)
		rec := post(h, "/signin", url.Values{"identifier": {email}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
		loc := rec.Header().Get("Location")
		if rec.Code != 303 || !strings.HasPrefix(loc, "/signin/reopen?flow=") {
			t.Fatalf("sign in to a closed account: %d %q %s", rec.Code, loc, rec.Body)
		}
		b.take(t, rec.Result())
		return loc
	}
	loc := signin()
	rec = get(h, loc, b.header()...)
	if rec.Code != 200 {
		t.Fatalf("reopen page: %d %s", rec.Code, rec.Body)
	}
	webtest.Golden(t, "ja/reopen.golden", maskFlow(page(rec)))
	if rec := post(h, loc, url.Values{"action": {"cancel"}}, b.header()...); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Fatalf("cancel: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	loc = signin()
	rec = post(h, loc, url.Values{"action": {"reopen"}}, b.header()...)
	if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
		t.Fatalf("reopen: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body)
	}
	b.take(t, rec.Result())
	if a, _ := env.DB.Account(context.Background(), a.ID); a.Status != account.StatusActive {
		t.Fatalf("after reopen: %s", a.Status)
	}
	if rec := get(h, "/account", b.header()...); rec.Code != 200 {
		t.Fatalf("account after reopen: %d", rec.Code)
	}
}

// signedInBrowser2 signs the browser b in again (a fresh, recent session).
func signedInBrowser2(t *testing.T, h *web.Handler, env *flowtest.Env, b jar, email string) jar {
	t.Helper()
	rec := post(h, "/signin", url.Values{"identifier": {email}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	if rec.Code != 303 {
		t.Fatalf("signin: %d %s", rec.Code, rec.Body)
	}
	b.take(t, rec.Result())
	return b
}

// maskFlow replaces flow ids in a page with a placeholder.
func maskFlow(b []byte) []byte {
	return []byte(reopenFlowIDs.ReplaceAllString(string(b), "flow=FLOW"))
}

var reopenFlowIDs = regexp.MustCompile(`flow=[0-9a-f-]{36}`)
