package web_test

import (
	"context"
	"html"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/code"
	"github.com/ninsho/ninsho/internal/flow"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/unlock"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// These tests drive the sign-in protection pages (CAPTCHA, lock, throttling,
// unlock, "this wasn't me") against scripted flows.

// newProtectWeb returns pages whose flows are scripted and that have an
// unlock service (its Start and NotMe are not called through the script).
func newProtectWeb(tb testing.TB) (*web.Handler, *webtest.Engine) {
	tb.Helper()
	e := webtest.NewEngine(tb)
	env := flowtest.New(tb, storetest.MustOpenSQLite(tb))
	h := mustWeb(tb, web.Deps{
		Realms: webtest.Realms(),
		Flows:  e.Engine,
		Signup: env.Signup,
		Signin: env.Signin,
		Unlock: &unlock.Service{Kit: env.Kit, Realms: env.Realms, Locks: env.DB},
		Now:    e.Clock.Now,
	})
	// The "this wasn't me" links these tests open: usable tokens, as an
	// alert e-mail would carry (the page checks a link before offering its
	// button).
	for _, token := range []string{"tok-123", "t"} {
		c := &code.Code{
			ID: storetest.NewID(), Realm: "jp", FlowID: storetest.NewID(), AccountID: storetest.NewID(),
			Purpose: code.PurposeNotMe, Channel: code.ChannelEmail, Destination: "taro@example.jp", Lane: code.LaneOwner,
			Hash: env.Kit.Codes.Hasher.Hash("link", string(code.PurposeNotMe), token), CreatedAt: env.Clock.Now(),
			ExpiresAt: env.Clock.Now().Add(7 * 24 * time.Hour),
		}
		if err := env.DB.InsertCode(context.Background(), c); err != nil {
			tb.Fatal(err)
		}
	}
	return h, e
}

var flowQuery = url.Values{"flow": {webtest.FlowID}}.Encode()

func TestProtectPagesGolden(t *testing.T) {
	until := webtest.Epoch.Add(30 * time.Minute) // 01:32 UTC, 10:32 JST
	tests := []struct {
		name   string
		status int
		setup  func(e *webtest.Engine)
		// do sends the request; nil GETs target.
		target string
		form   url.Values
	}{
		{name: "signin_captcha", status: 200, target: "/signin?" + flowQuery,
			setup: func(e *webtest.Engine) { e.MustAddFlowAt(t, flow.KindSignin, webtest.CaptchaNext(), nil) }},
		{name: "signin_captcha_incorrect", status: 400, target: "/signin",
			form: url.Values{"flow": {webtest.FlowID}, "action": {"submit_captcha"}, "answer": {"000000"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, webtest.CaptchaNext(), nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: webtest.CaptchaNext()}, ninsho.FieldError(ninsho.CodeCaptchaIncorrect, "answer")
				}
			}},
		{name: "signin_captcha_passed", status: 200, target: "/signin?" + flowQuery + "&captcha=passed",
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
			}},
		{name: "signin_locked_unfamiliar", status: 423, target: "/signin",
			form: url.Values{"flow": {webtest.FlowID}, "identifier": {"+819012345678"}, "password": {"x"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepPassword}},
						ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "unfamiliar").WithParam("until", until).WithParam("retry_after_s", 1800)
				}
			}},
		{name: "signin_locked_suspicious", status: 423, target: "/signin",
			form: url.Values{"flow": {webtest.FlowID}, "identifier": {"+819012345678"}, "password": {"x"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepPassword}},
						ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "suspicious")
				}
			}},
		{name: "signin_rate_limited", status: 429, target: "/signin",
			form: url.Values{"flow": {webtest.FlowID}, "identifier": {"+819012345678"}, "password": {"x"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepPassword}},
						ninsho.E(ninsho.CodeRateLimited).WithParam("retry_after_s", 150)
				}
			}},
		{name: "verify_signin_device", status: 200, target: "/verify?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "+81 ** **** **78", ResendAfterS: 30},
					map[string]string{"purpose": "signin", "reasons": "device_unfamiliar,network_unfamiliar"})
			}},
		{name: "verify_unlock", status: 200, target: "/verify?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: flow.StepVerificationCode, Channel: "sms", Destination: "+81 ** **** **78", ResendAfterS: 30}, nil)
			}},
		{name: "unlock", status: 200, target: "/unlock"},
		{name: "unlock_password", status: 200, target: "/unlock/password?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: flow.StepPassword}, nil)
			}},
		{name: "unlock_new_password", status: 200, target: "/unlock/password?" + flowQuery,
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: flow.StepNewPassword}, nil)
			}},
		{name: "unlock_password_mismatch", status: 400, target: "/unlock/password?" + flowQuery,
			form: url.Values{"action": {"set_new_password"}, "password": {"a-new-password-1"}, "password_confirmation": {"a-new-password-2"}},
			setup: func(e *webtest.Engine) {
				e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: flow.StepNewPassword}, nil)
				e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
					return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepNewPassword}}, ninsho.FieldError(ninsho.CodePasswordMismatch, "password_confirmation")
				}
			}},
		{name: "not_me", status: 200, target: "/signin/not-me?token=tok-123"},
	}
	for _, lang := range []string{"ja", "en"} {
		for _, tt := range tests {
			t.Run(lang+"/"+tt.name, func(t *testing.T) {
				h, e := newProtectWeb(t)
				if tt.setup != nil {
					tt.setup(e)
				}
				rec := get(h, tt.target, "Accept-Language", lang)
				if tt.form != nil {
					rec = post(h, tt.target, tt.form, "Accept-Language", lang)
				}
				if rec.Code != tt.status {
					t.Fatalf("status %d, want %d: %s", rec.Code, tt.status, rec.Body)
				}
				webtest.Golden(t, lang+"/"+tt.name+".golden", page(rec))
			})
		}
	}
}

func TestCaptchaPage(t *testing.T) {
	h, e := newProtectWeb(t)
	e.MustAddFlowAt(t, flow.KindSignin, webtest.CaptchaNext(), nil)
	body := html.UnescapeString(get(h, "/signin?"+flowQuery+"&lang=en").Body.String())
	for _, want := range []string{
		`<img src="/api/v1/captcha/` + webtest.CaptchaID + `.png" width="240" height="80" alt="`,
		// The audio follows the page's language, not the flow's.
		`<audio controls preload="none" src="/api/v1/captcha/` + webtest.CaptchaID + `.wav?lang=en">`,
		`<a href="/api/v1/captcha/` + webtest.CaptchaID + `.wav?lang=en">`,
		`name="answer" type="text" inputmode="numeric" autocomplete="off"`,
		`name="action" value="new_captcha"`,
		`name="flow" value="` + webtest.FlowID + `"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("CAPTCHA page lacks %s", want)
		}
	}
	if strings.Contains(body, `type="password"`) {
		t.Errorf("CAPTCHA page asks for the password: it must wait until the CAPTCHA is solved")
	}
}

func TestCaptchaActions(t *testing.T) {
	h, e := newProtectWeb(t)
	e.MustAddFlowAt(t, flow.KindSignin, webtest.CaptchaNext(), nil)
	var next *flow.Next
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) { return &flow.Answer{Flow: f, Next: next}, nil }

	// Another image: the page shows the flow's CAPTCHA again.
	next = webtest.CaptchaNext()
	rec := post(h, "/signin", url.Values{"flow": {webtest.FlowID}, "action": {"new_captcha"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/signin?"+flowQuery {
		t.Errorf("new_captcha: %d %q, want 303 to the flow's page", rec.Code, rec.Header().Get("Location"))
	}
	if a, _ := e.Script.Last(); a.Name != "new_captcha" {
		t.Errorf("flow saw %+v", a)
	}

	// Solved: the password is asked for again.
	next = &flow.Next{Step: flow.StepPassword}
	rec = post(h, "/signin", url.Values{"flow": {webtest.FlowID}, "action": {"submit_captcha"}, "answer": {"123456"}})
	if rec.Code != 303 || rec.Header().Get("Location") != "/signin?captcha=passed&"+flowQuery {
		t.Fatalf("submit_captcha: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	if a, _ := e.Script.Last(); a.Name != "submit_captcha" || a.Answer != "123456" || a.Password != "" {
		t.Errorf("flow saw %+v", a)
	}
	e.Script.NextStep = next
	body := get(h, rec.Header().Get("Location")).Body.String()
	if !strings.Contains(body, `autocomplete="current-password"`) || !strings.Contains(body, `role="status"`) {
		t.Errorf("after the CAPTCHA the page lacks the password field or the notice:\n%s", body)
	}

	// An unknown action is refused without reaching the flow.
	e.Script.LastAct = flow.Action{}
	e.Script.NextStep = webtest.CaptchaNext()
	rec = post(h, "/signin", url.Values{"flow": {webtest.FlowID}, "action": {"resend_code"}})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="answer"`) {
		t.Errorf("unknown action: %d, want 400 with the CAPTCHA shown again", rec.Code)
	}
	if a, _ := e.Script.Last(); a.Name != "" {
		t.Errorf("unknown action reached the flow: %+v", a)
	}
}

func TestFormElapsedReachesTheFlow(t *testing.T) {
	h, e := newProtectWeb(t)
	e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
	body := get(h, "/signin?"+flowQuery).Body.String()
	m := regexp.MustCompile(`name="rendered_at" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("sign-in form has no rendered_at field:\n%s", body)
	}
	if want := strconv.FormatInt(webtest.Epoch.UnixMilli(), 10); m[1] != want {
		t.Errorf("rendered_at = %s, want the server's time %s", m[1], want)
	}
	tests := []struct {
		name       string
		renderedAt string
		advance    time.Duration
		want       int64
	}{
		{"a person", m[1], 4200 * time.Millisecond, 4200},
		{"sent in the instant it was shown", m[1], 0, 1},
		// Not from our form: counted as sent at once.
		{"no field", "", time.Second, 1},
		{"garbage", "soon", time.Second, 1},
		{"negative", "-5", time.Second, 1},
		{"zero", "0", time.Second, 1},
		{"too long", strings.Repeat("1", 21), time.Second, 1},
		{"from the future", strconv.FormatInt(webtest.Epoch.Add(time.Hour).UnixMilli(), 10), 0, 1},
		{"a second ahead (another instance's clock)", strconv.FormatInt(webtest.Epoch.Add(time.Second).UnixMilli(), 10), 0, 1},
		{"a minute ago (a slow person)", strconv.FormatInt(webtest.Epoch.Add(-time.Minute).UnixMilli(), 10), 0, 60 * 1000},
		{"a day ago (capped)", strconv.FormatInt(webtest.Epoch.Add(-48*time.Hour).UnixMilli(), 10), 0, 24 * 3600 * 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Clock.Set(webtest.Epoch.Add(tt.advance))
			form := url.Values{"flow": {webtest.FlowID}, "password": {"kumo-no-ue-42"}}
			if tt.renderedAt != "" {
				form.Set("rendered_at", tt.renderedAt)
			}
			post(h, "/signin", form)
			if a, _ := e.Script.Last(); a.Name != "submit_password" || a.FormElapsedMS != tt.want {
				t.Errorf("flow saw %s with FormElapsedMS %d, want %d", a.Name, a.FormElapsedMS, tt.want)
			}
		})
	}
}

func TestLockedOffersUnlockByPost(t *testing.T) {
	h, e := newProtectWeb(t)
	e.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
	e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
		return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepPassword}},
			ninsho.E(ninsho.CodeAccountLocked).WithParam("kind", "unfamiliar").WithParam("until", webtest.Epoch.Add(26*time.Hour)).WithParam("retry_after_s", 26*3600)
	}
	rec := post(h, "/signin", url.Values{"flow": {webtest.FlowID}, "identifier": {"+819012345678"}, "password": {"x"}}, "Accept-Language", "en")
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != 423 || rec.Header().Get("Retry-After") != "86400" { // httperr caps it at a day
		t.Errorf("status %d Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	// The lock ends tomorrow at 12:02:03 JST: the date is told, in the realm's
	// zone, with the minute rounded up (the lock is over at the time shown).
	if !strings.Contains(body, "locked until Nov 26, 12:03 JST. Your usual device still works.") {
		t.Errorf("page does not tell until when, in JST:\n%s", body)
	}
	// The unlock button posts the identifier: it never travels in a URL.
	if !strings.Contains(body, `<form method="post" action="/unlock">`+"\n"+`<input type="hidden" name="identifier" value="+819012345678">`) || strings.Contains(body, "/unlock?") {
		t.Errorf("page lacks the unlock form, or puts the identifier in a link:\n%s", body)
	}

	// Without an unlock service, no button, and the unlock pages are 404.
	h2, e2 := newWeb(t, false)
	e2.MustAddFlowAt(t, flow.KindSignin, &flow.Next{Step: flow.StepPassword}, nil)
	e2.Script.ActFunc = e.Script.ActFunc
	rec = post(h2, "/signin", url.Values{"flow": {webtest.FlowID}, "identifier": {"+819012345678"}, "password": {"x"}})
	if rec.Code != 423 || strings.Contains(rec.Body.String(), `action="/unlock"`) {
		t.Errorf("no unlock service: %d, and the page must offer no unlock", rec.Code)
	}
	for _, target := range []string{"/unlock", "/unlock/password?" + flowQuery, "/signin/not-me?token=x"} {
		if rec := get(h2, target); rec.Code != 404 {
			t.Errorf("no unlock service: GET %s = %d, want 404", target, rec.Code)
		}
	}
}

func TestUnlockPasswordCompletes(t *testing.T) {
	for _, step := range []flow.Step{flow.StepPassword, flow.StepNewPassword} {
		t.Run(string(step), func(t *testing.T) {
			h, e := newProtectWeb(t)
			e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: step}, nil)
			e.Script.ActFunc = func(f *flow.Flow, a flow.Action) (*flow.Answer, error) {
				f.Status = flow.StatusComplete
				return &flow.Answer{Flow: f, Next: &flow.Next{Step: flow.StepDone},
					Session: &flow.Grant{Token: "sess-tok", ExpiresAt: webtest.Epoch.Add(time.Hour), AAL: 1}, AccountID: "acc"}, nil
			}
			form := url.Values{"action": {"submit_password"}, "password": {"kumo-no-ue-42"}}
			if step == flow.StepNewPassword {
				form = url.Values{"action": {"set_new_password"}, "password": {"sora-no-shita-7"}, "password_confirmation": {"sora-no-shita-7"}}
			}
			rec := post(h, "/unlock/password?"+flowQuery, form)
			if rec.Code != 303 || rec.Header().Get("Location") != "/account" {
				t.Fatalf("%d %q, want 303 /account", rec.Code, rec.Header().Get("Location"))
			}
			a, _ := e.Script.Last()
			if a.Name != form.Get("action") || a.Password != form.Get("password") || a.PasswordConfirmation != form.Get("password_confirmation") {
				t.Errorf("flow saw %+v", a)
			}
			if !strings.Contains(strings.Join(rec.Result().Header["Set-Cookie"], "\n"), "ninsho_session=sess-tok") {
				t.Errorf("no session cookie: %v", rec.Result().Header["Set-Cookie"])
			}
		})
	}
}

func TestFlowsLeadToTheirPages(t *testing.T) {
	tests := []struct {
		kind   flow.Kind
		next   *flow.Next
		target string // GET
		want   string // Location
	}{
		{flow.KindUnlock, &flow.Next{Step: flow.StepVerificationCode}, "/unlock/password?" + flowQuery, "/verify?" + flowQuery},
		{flow.KindUnlock, &flow.Next{Step: flow.StepPassword}, "/verify?" + flowQuery, "/unlock/password?" + flowQuery},
		{flow.KindUnlock, &flow.Next{Step: flow.StepNewPassword}, "/signin?" + flowQuery, "/unlock/password?" + flowQuery},
		{flow.KindSignin, webtest.CaptchaNext(), "/verify?" + flowQuery, "/signin?" + flowQuery},
		{flow.KindSignin, &flow.Next{Step: flow.StepPassword}, "/unlock/password?" + flowQuery, "/signin?" + flowQuery},
	}
	for _, tt := range tests {
		h, e := newProtectWeb(t)
		e.MustAddFlowAt(t, tt.kind, tt.next, nil)
		rec := get(h, tt.target)
		if rec.Code != 303 || rec.Header().Get("Location") != tt.want {
			t.Errorf("%s flow at %s, GET %s: %d %q, want 303 %s", tt.kind, tt.next.Step, tt.target, rec.Code, rec.Header().Get("Location"), tt.want)
		}
	}
}

func TestNotMeNeverActsOnGet(t *testing.T) {
	h, _ := newProtectWeb(t)
	rec := get(h, "/signin/not-me?token=tok-123")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<form method="post" action="/signin/not-me">`) || !strings.Contains(body, `name="token" value="tok-123"`) {
		t.Fatalf("GET: %d, want the confirmation form:\n%s", rec.Code, body)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Errorf("GET changed cookies: %v", rec.Result().Cookies())
	}
	// A link without its token, or mangled, cannot work: the page says so
	// and what to do instead, as for a used one.
	for _, target := range []string{"/signin/not-me", "/signin/not-me?token=" + strings.Repeat("x", 300)} {
		if rec := get(h, target); rec.Code != 404 || !strings.Contains(rec.Body.String(), "すでに使用されたか") || strings.Contains(rec.Body.String(), `name="token"`) {
			t.Errorf("GET %s = %d, want 404 saying the link cannot be used:\n%s", target, rec.Code, rec.Body)
		}
	}
	if rec := post(h, "/signin/not-me", url.Values{"token": {"tok"}}, "Sec-Fetch-Site", "cross-site"); rec.Code != 403 {
		t.Errorf("cross-site POST = %d, want 403", rec.Code)
	}
}

func TestProtectPagesAreSafe(t *testing.T) {
	inline := regexp.MustCompile(`<script>|<script [^>]*>[^<]|<style|style="| on[a-z]+="`)
	pages := []struct {
		next   *flow.Next
		kind   flow.Kind
		target string
	}{
		{webtest.CaptchaNext(), flow.KindSignin, "/signin?" + flowQuery},
		{webtest.CaptchaNext(), flow.KindSignup, "/signup?" + flowQuery},
		{webtest.CaptchaNext(), flow.KindUnlock, "/unlock?" + flowQuery},
		{&flow.Next{Step: flow.StepPassword}, flow.KindUnlock, "/unlock/password?" + flowQuery},
		{&flow.Next{Step: flow.StepNewPassword}, flow.KindUnlock, "/unlock/password?" + flowQuery},
		{nil, "", "/unlock"},
		{nil, "", "/signin/not-me?token=t"},
	}
	for _, pg := range pages {
		h, e := newProtectWeb(t)
		if pg.next != nil {
			e.MustAddFlowAt(t, pg.kind, pg.next, nil)
		}
		rec := get(h, pg.target)
		if rec.Code != 200 {
			t.Errorf("GET %s = %d", pg.target, rec.Code)
		}
		if got := rec.Header().Get("Content-Security-Policy"); got != web.ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", pg.target, got)
		}
		if m := inline.FindString(rec.Body.String()); m != "" {
			t.Errorf("GET %s has inline code %q, which the CSP blocks", pg.target, m)
		}
		if !strings.Contains(rec.Body.String(), `hreflang="en"`) {
			t.Errorf("GET %s has no language switch", pg.target)
		}
	}
}

func TestFailedFlowSaysStartAgain(t *testing.T) {
	h, e := newProtectWeb(t)
	f := e.MustAddFlowAt(t, flow.KindUnlock, &flow.Next{Step: flow.StepVerificationCode}, nil)
	f.Status = flow.StatusFailed
	if err := e.Store.UpdateFlow(t.Context(), f); err != nil {
		t.Fatal(err)
	}
	e.Script.NextStep = nil
	for _, target := range []string{"/verify?" + flowQuery, "/unlock/password?" + flowQuery, "/signin?" + flowQuery} {
		if rec := get(h, target); rec.Code != 409 || !strings.Contains(rec.Body.String(), `href="/signin"`) {
			t.Errorf("GET %s of a failed flow: %d, want 409 with a way back", target, rec.Code)
		}
	}
}
