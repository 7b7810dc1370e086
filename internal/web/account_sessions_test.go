package web_test

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/signin"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

var sessionIDs = regexp.MustCompile(`name="id" value="[^"]*"`)

// newSessionsWeb is the pages over real services, with sessions, unlock
// and re-authentication.
func newSessionsWeb(tb testing.TB) (*web.Handler, *flowtest.Env) {
	tb.Helper()
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	return mustWeb(tb, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reauth: env.Reauth, Sessions: env.Sessions, Now: env.Clock.Now}), env
}

// strangerSignIn signs email in from an unknown browser elsewhere (with
// the code) and returns its session token.
func strangerSignIn(t *testing.T, env *flowtest.Env, email string) string {
	t.Helper()
	ctx := context.Background()
	ans, err := env.Signin.Start(ctx, env.JP, flowtest.Req("198.51.100.7", ""), signin.Input{Identifier: email, Password: pw})
	if err != nil || ans.Next == nil {
		t.Fatalf("stranger sign-in: %+v, %v", ans, err)
	}
	done, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, flowtest.Req("198.51.100.7", ans.DeviceToken), flow.Action{Name: flow.ActionSubmitCode, Code: env.LastCode(t, email)})
	if err != nil || done.Session == nil {
		t.Fatalf("stranger code: %+v, %v", done, err)
	}
	return done.Session.Token
}

// TestBrowserSessionsPage: /account links the sessions page; it lists the
// sessions (this one marked) and the devices (golden, ja and en); "sign
// out everywhere else" needs a recent sign-in (else /reauth with the way
// back) and then refuses the stranger's session at once; an unknown
// device is 404.
func TestBrowserSessionsPage(t *testing.T) {
	h, env := newSessionsWeb(t)
	const email = "taro@example.jp"
	dev := env.MustSignUp(t, env.JP, email, pw, email)
	b := jar{"ninsho_device": dev, "ninsho_cookies": "1"}
	rec := post(h, "/signin", url.Values{"identifier": {email}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	env.Clock.Advance(time.Minute)
	stranger := strangerSignIn(t, env, email)
	env.Clock.Advance(time.Minute)

	if body := get(h, "/account", b.header()...).Body.String(); !strings.Contains(body, `href="/account/sessions"`) {
		t.Errorf("account page does not link the sessions page")
	}
	for _, lang := range []string{"ja", "en"} {
		rec := get(h, "/account/sessions?lang="+lang, b.header()...)
		if rec.Code != 200 {
			t.Fatalf("sessions page: %d %s", rec.Code, rec.Body)
		}
		webtest.Golden(t, lang+"/account_sessions.golden", sessionIDs.ReplaceAll(page(rec), []byte(`name="id" value="ID"`)))
	}

	env.Clock.Advance(env.JP.ReauthWindow())
	rec = post(h, web.SessionsPath, url.Values{"action": {"sign_out_others"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/reauth?return_to=%2Faccount%2Fsessions")
	reauthBrowser(t, env, b["ninsho_session"], dev)

	rec = post(h, web.SessionsPath, url.Values{"action": {"forget_device"}, "id": {"01900000-0000-7000-8000-0000000000ff"}}, b.header()...)
	if rec.Code != 404 {
		t.Errorf("forget an unknown device: %d, want 404", rec.Code)
	}
	rec = post(h, web.SessionsPath, url.Values{"action": {"sign_out_others"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), web.SessionsPath+"?done=signed_out_others")
	if _, err := env.Signin.Authenticate(context.Background(), env.JP, stranger); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		t.Errorf("the stranger's session after sign out everywhere else: %v, want unauthenticated", err)
	}
	body := get(h, web.SessionsPath+"?done=signed_out_others&lang=en", b.header()...).Body.String()
	if !strings.Contains(body, "Every other session was signed out") || strings.Contains(body, "Sign out everywhere else") {
		t.Errorf("after: the notice, and no more button for others; got\n%s", body)
	}
}

// reauthBrowser proves the password again for the browser session token.
func reauthBrowser(t *testing.T, env *flowtest.Env, token, dev string) {
	t.Helper()
	ctx := context.Background()
	req := flowtest.Req("192.0.2.10", dev)
	req.SessionToken = token
	p, err := env.Signin.Authenticate(ctx, env.JP, token)
	if err != nil {
		t.Fatal(err)
	}
	ans, err := env.Reauth.Start(ctx, env.JP, req, p, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Engine.Act(ctx, "jp", ans.Flow.ID, req, flow.Action{Name: flow.ActionSubmitPassword, Password: pw}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(2 * time.Second) // past the session cache
}

// TestBrowserHistoryNotMe: the account page's history links a stranger's
// sign-in (not this session's own) to "this wasn't me"; its page confirms
// (golden, ja) and changes nothing; the button ends every session, locks
// the account and leads to the unlock code page that says what happened.
// Another account's entry is 404.
func TestBrowserHistoryNotMe(t *testing.T) {
	h, env := newSessionsWeb(t)
	ctx := context.Background()
	const email = "taro@example.jp"
	dev := env.MustSignUp(t, env.JP, email, pw, email)
	env.MustSignUp(t, env.JP, "hanako@example.jp", pw, "hanako@example.jp")
	stranger := strangerSignIn(t, env, email)
	env.Clock.Advance(time.Minute)
	b := jar{"ninsho_device": dev, "ninsho_cookies": "1"}
	rec := post(h, "/signin", url.Values{"identifier": {email}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	env.Clock.Advance(time.Hour)

	p, err := env.Signin.Authenticate(ctx, env.JP, b["ninsho_session"])
	if err != nil {
		t.Fatal(err)
	}
	evs, err := env.DB.AccountEvents(ctx, p.Account.ID, flowtest.Epoch, 100)
	if err != nil {
		t.Fatal(err)
	}
	var strangers, own string
	for _, e := range evs {
		if e.Type == event.TypeSigninSucceeded && e.IP == "198.51.100.7" {
			strangers = e.ID
		} else if e.Type == event.TypeSigninSucceeded && e.Data["session"] == p.Session.ID {
			own = e.ID
		}
	}
	body := get(h, "/account", b.header()...).Body.String()
	if n := strings.Count(body, "/not-me\""); n != 1 || !strings.Contains(body, `href="/account/history/`+strangers+`/not-me"`) {
		t.Fatalf("account page has %d not-me links, want 1 for the stranger's sign-in:\n%s", n, body)
	}
	if rec := get(h, "/account/history/"+own+"/not-me", b.header()...); rec.Code != 404 {
		t.Errorf("this session's own sign-in: %d, want 404", rec.Code)
	}
	hanako, err := env.DB.AccountByEmail(ctx, "jp", "hanako@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := env.DB.AccountEvents(ctx, hanako.ID, flowtest.Epoch, 1)
	if err != nil || len(theirs) == 0 {
		t.Fatal(err)
	}
	if rec := post(h, "/account/history/"+theirs[0].ID+"/not-me", url.Values{}, b.header()...); rec.Code != 404 {
		t.Errorf("another account's entry: %d, want 404", rec.Code)
	}

	rec = get(h, "/account/history/"+strangers+"/not-me", b.header()...)
	if rec.Code != 200 {
		t.Fatalf("confirmation: %d %s", rec.Code, rec.Body)
	}
	webtest.Golden(t, "ja/account_not_me.golden", []byte(strings.ReplaceAll(string(page(rec)), strangers, "ENTRY-ID")))
	if _, err := env.Signin.Authenticate(ctx, env.JP, stranger); err != nil {
		t.Fatalf("opening the confirmation changed something: %v", err)
	}

	rec = post(h, "/account/history/"+strangers+"/not-me", url.Values{}, b.header()...)
	to := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?")
	b.take(t, rec.Result())
	if _, ok := b["ninsho_session"]; ok {
		t.Error("the session cookie was kept")
	}
	if _, err := env.Signin.Authenticate(ctx, env.JP, stranger); !ninsho.IsCode(err, ninsho.CodeUnauthenticated) {
		t.Errorf("the stranger's session: %v, want unauthenticated", err)
	}
	a, err := env.DB.Account(ctx, p.Account.ID)
	if err != nil || a.Status != "locked" {
		t.Fatalf("account %+v, %v; want locked", a, err)
	}
	body = get(h, to+"&lang=en", b.header()...).Body.String()
	if !strings.Contains(body, "Your account is protected") {
		t.Errorf("the code page does not say what happened:\n%s", body)
	}
}
