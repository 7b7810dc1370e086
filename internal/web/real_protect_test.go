package web_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/web/webtest"
)

// These tests drive sign-in protection and unlock through the pages with the
// real services on SQLite, as a browser without JavaScript would.

// mustFollow GETs the page a 303 leads to and returns it.
func mustRedirect(tb testing.TB, code int, location, wantPrefix string) string {
	tb.Helper()
	if code != 303 || !strings.HasPrefix(location, wantPrefix) {
		tb.Fatalf("status %d location %q, want 303 to %s", code, location, wantPrefix)
	}
	return location
}

var captchaImage = regexp.MustCompile(`<img src="/api/v1/captcha/([0-9a-f-]+)\.png"`)

// TestBrowserCaptchaCodeHistory: a fresh browser fails the password three
// times, meets the CAPTCHA, solves it, types the password again, is asked for
// a code because the device is new, and finds it all in the history.
func TestBrowserCaptchaCodeHistory(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}
	for range 3 {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {"nope-" + pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
		if rec.Code != 400 || strings.Contains(rec.Body.String(), `name="answer"`) {
			t.Fatalf("wrong password: %d, want 400 without a CAPTCHA yet", rec.Code)
		}
		b.take(t, rec.Result())
	}

	env.Clock.Advance(time.Minute)
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result()) // the browser keeps the flow's binding cookie
	m := captchaImage.FindStringSubmatch(rec.Body.String())
	if rec.Code != 400 || m == nil || strings.Contains(rec.Body.String(), `type="password"`) {
		t.Fatalf("fourth attempt: %d, want 400 with the CAPTCHA and no password field:\n%s", rec.Code, rec.Body)
	}
	flowID := regexp.MustCompile(`name="flow" value="([0-9a-f-]+)"`).FindStringSubmatch(rec.Body.String())[1]
	// Reloading shows the same challenge.
	if again := get(h, "/signin?flow="+flowID, b.header()...); !strings.Contains(again.Body.String(), m[0]) {
		t.Errorf("GET of the flow's page shows another challenge")
	}
	answer, err := env.Captcha.Answer(context.Background(), m[1])
	if err != nil {
		t.Fatal(err)
	}

	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}}, b.header()...)
	next := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/signin?")
	if body := get(h, next, b.header()...).Body.String(); !strings.Contains(body, `autocomplete="current-password"`) {
		t.Fatalf("after the CAPTCHA: no password field:\n%s", body)
	}

	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"flow": {flowID}, "password": {pw}}, b.header()...)
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	body := get(h, verify+"&lang=en", b.header()...).Body.String()
	if !strings.Contains(body, `<p class="why">We don&#39;t recognize this device`) {
		t.Errorf("verify page does not say why:\n%s", body)
	}
	env.Clock.Advance(time.Minute) // history entries of one instant have no fixed order
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())

	for _, lang := range []string{"ja", "en"} {
		rec = get(h, "/account?lang="+lang, b.header()...)
		if rec.Code != 200 {
			t.Fatalf("account: %d", rec.Code)
		}
		webtest.Golden(t, lang+"/account_history.golden", page(rec))
	}
}

// TestBrowserLockThenUnlock: the account is locked for unfamiliar devices;
// the owner's device still signs in, a new one is told until when and
// unlocks with a code and the password.
func TestBrowserLockThenUnlock(t *testing.T) {
	h, env := newRealWeb(t)
	ctx := context.Background()
	owner := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	a, err := env.DB.AccountByEmail(ctx, "jp", "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	now := env.Clock.Now()
	until := now.Add(30 * time.Minute)
	if err := env.DB.SetLock(ctx, a.ID, account.Lock{Kind: account.LockUnfamiliar, Until: &until, Level: 2, LockedAt: &now}); err != nil {
		t.Fatal(err)
	}

	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Cookie", "ninsho_device="+owner)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")

	b := jar{}
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Accept-Language", "en")
	body := rec.Body.String()
	if rec.Code != 423 || !strings.Contains(body, "locked until 18:30 JST. Your usual device still works.") || !strings.Contains(body, `<form method="post" action="/unlock">`) {
		t.Fatalf("new device: %d, want 423 with until when and the unlock button:\n%s", rec.Code, body)
	}
	b.take(t, rec.Result())

	env.Clock.Advance(time.Minute)
	rec = post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}}, b.header()...)
	b.take(t, rec.Result()) // the browser keeps the flow's binding cookie
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	if body := get(h, verify, b.header()...).Body.String(); !strings.Contains(body, `class="why"`) || !strings.Contains(body, `href="/unlock"`) {
		t.Errorf("unlock code page lacks why or the restart link:\n%s", body)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, b.header()...)
	pwPage := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/unlock/password?flow=")
	if body := get(h, pwPage, b.header()...).Body.String(); !strings.Contains(body, `autocomplete="current-password"`) || strings.Contains(body, `name="password_confirmation"`) {
		t.Fatalf("unfamiliar lock: want the current password only:\n%s", body)
	}
	rec = post(h, pwPage, url.Values{"action": {"submit_password"}, "password": {"nope-" + pw}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Errorf("wrong password: %d, want 400 on the same page", rec.Code)
	}
	rec = post(h, pwPage, url.Values{"action": {"submit_password"}, "password": {pw}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	if rec := get(h, "/account", b.header()...); rec.Code != 200 {
		t.Errorf("account after unlock: %d", rec.Code)
	}
	// The lock is gone: another new device signs in with a code.
	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}})
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
}

var notMeLink = regexp.MustCompile(`/signin/not-me\?token=([A-Za-z0-9_%.~-]+)`)

// TestBrowserNotMe: a sign-in from a new device sends an alert; its link
// asks for confirmation on GET, and the POST signs out everyone, then a code
// and a new password let the owner back in.
func TestBrowserNotMe(t *testing.T) {
	h, env := newRealWeb(t)
	owner := env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, "Cookie", "ninsho_device="+owner)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	ob := jar{"ninsho_device": owner}
	ob.take(t, rec.Result())

	// Someone else, with the password, on a new device. (The clock moves
	// between messages so that the newest code is the one looked for.)
	env.Clock.Advance(time.Minute)
	intruder := jar{}
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}})
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	intruder.take(t, rec.Result())
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, intruder.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	intruder.take(t, rec.Result())

	var link string
	for _, m := range env.Messages(t, "taro@example.jp") {
		if l := notMeLink.FindString(m.Text); l != "" && link == "" {
			link = strings.ReplaceAll(l, "&amp;", "&")
		}
	}
	if link == "" {
		t.Fatalf("no alert with a not-me link was sent")
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	token := u.Query().Get("token")

	// GET (as a mail scanner would) changes nothing.
	if rec := get(h, u.String()); rec.Code != 200 || !strings.Contains(rec.Body.String(), `value="`+token+`"`) {
		t.Fatalf("GET not-me: %d", rec.Code)
	}
	if rec := get(h, "/account", intruder.header()...); rec.Code != 200 {
		t.Fatalf("GET of the link signed the intruder out: %d", rec.Code)
	}

	env.Clock.Advance(time.Minute)
	rec = post(h, "/signin/not-me", url.Values{"token": {token}}, ob.header()...)
	verify = mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	ob.take(t, rec.Result())
	// Nobody typed an address: the code page offers no "wrong address?
	// start again".
	for _, lang := range []string{"ja", "en"} {
		body := get(h, verify+"&lang="+lang, ob.header()...).Body.String()
		if !strings.Contains(body, `name="code"`) || strings.Contains(body, `href="/unlock"`) ||
			strings.Contains(body, "宛先が違う場合") || strings.Contains(body, "Wrong address or number") {
			t.Errorf("%s: the not-me flow's code page offers to correct an address never typed:\n%s", lang, body)
		}
	}
	for name, j := range map[string]jar{"intruder": intruder, "owner": {"ninsho_session": intruder["ninsho_session"]}} {
		if rec := get(h, "/account", j.header()...); rec.Code != 303 {
			t.Errorf("%s still signed in after not-me: %d", name, rec.Code)
		}
	}
	if rec := post(h, "/signin/not-me", url.Values{"token": {token}}); rec.Code != 404 {
		t.Errorf("link used twice: %d, want 404", rec.Code)
	} else if !strings.Contains(rec.Body.String(), "すでに使用されたか") || strings.Contains(rec.Body.String(), `name="token"`) {
		t.Errorf("a used link's answer does not say it was used, or still offers the button:\n%s", rec.Body)
	}
	// Opening the used link again says so at once, with no button.
	if rec := get(h, "/signin/not-me?token="+url.QueryEscape(token)); rec.Code != 404 || strings.Contains(rec.Body.String(), `name="token"`) || !strings.Contains(rec.Body.String(), "すでに使用されたか") {
		t.Errorf("GET of a used link: %d, want 404 saying it was used, without the button:\n%s", rec.Code, rec.Body)
	}
	// The intruder's password no longer works, even from the owner's device.
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}}, ob.header()...)
	if rec.Code != 423 || !strings.Contains(rec.Body.String(), `action="/unlock"`) {
		t.Errorf("sign-in while locked as suspicious: %d, want 423 with the unlock button", rec.Code)
	}

	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, "taro@example.jp")}}, ob.header()...)
	pwPage := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/unlock/password?flow=")
	if body := get(h, pwPage, ob.header()...).Body.String(); !strings.Contains(body, `name="password_confirmation"`) || !strings.Contains(body, `autocomplete="new-password"`) {
		t.Fatalf("suspicious lock: want a new password twice:\n%s", body)
	}
	const newPW = "sora-no-shita-77"
	for _, tt := range []struct{ pw, confirm, code string }{
		{newPW, newPW + "x", "password_mismatch"},
		{pw, pw, "password_reused"},
	} {
		rec = post(h, pwPage, url.Values{"action": {"set_new_password"}, "password": {tt.pw}, "password_confirmation": {tt.confirm}}, ob.header()...)
		if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="password_confirmation"`) {
			t.Errorf("%s: %d, want 400 on the same page", tt.code, rec.Code)
		}
	}
	rec = post(h, pwPage, url.Values{"action": {"set_new_password"}, "password": {newPW}, "password_confirmation": {newPW}}, ob.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	ob.take(t, rec.Result())
	if rec := get(h, "/account", ob.header()...); rec.Code != 200 {
		t.Errorf("account after the new password: %d", rec.Code)
	}
	// An unlock begun by typing the address still offers to correct it.
	env.Clock.Advance(time.Minute)
	rec = post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}}, ob.header()...)
	verify = mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	ob.take(t, rec.Result())
	if body := get(h, verify, ob.header()...).Body.String(); !strings.Contains(body, `href="/unlock"`) || !strings.Contains(body, "宛先が違う場合") {
		t.Errorf("a typed unlock's code page lacks the start-again link:\n%s", body)
	}
}

// TestBrowserPasswordAssistantCaptcha: the third start of the password
// assistant from one browser within an hour shows a CAPTCHA instead of
// sending a code; solving it sends the code and leads to /verify.
func TestBrowserPasswordAssistantCaptcha(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	b := jar{}
	for i := 0; i < 2; i++ {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/password-assistant", url.Values{"identifier": {"taro@example.jp"}}, b.header()...)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
		b.take(t, rec.Result())
	}
	env.Clock.Advance(time.Minute)
	rec := post(h, "/password-assistant", url.Values{"identifier": {"taro@example.jp"}}, b.header()...)
	b.take(t, rec.Result()) // the browser keeps the flow's binding cookie
	m := captchaImage.FindStringSubmatch(rec.Body.String())
	if rec.Code != 200 || m == nil {
		t.Fatalf("third start: %d, want the CAPTCHA:\n%s", rec.Code, rec.Body)
	}
	flowID := regexp.MustCompile(`name="flow" value="([0-9a-f-]+)"`).FindStringSubmatch(rec.Body.String())[1]
	answer, err := env.Captcha.Answer(context.Background(), m[1])
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, "/password-assistant", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}, "identifier": {"taro@example.jp"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	if msgs := env.Messages(t, "taro@example.jp"); msgs[0].Template != "reset_code" {
		t.Errorf("newest message %q, want reset_code after the CAPTCHA", msgs[0].Template)
	}
}

var flowField = regexp.MustCompile(`name="flow" value="([0-9a-f-]+)"`)

// mustCaptcha checks that rec is a start page showing a CAPTCHA (and no
// password field) and returns the flow's id and the challenge's id.
func mustCaptcha(tb testing.TB, rec *httptest.ResponseRecorder, wantStatus int) (flowID, challenge string) {
	tb.Helper()
	body := rec.Body.String()
	m, f := captchaImage.FindStringSubmatch(body), flowField.FindStringSubmatch(body)
	if rec.Code != wantStatus || m == nil || f == nil || strings.Contains(body, `type="password"`) {
		tb.Fatalf("got %d, want %d with a CAPTCHA and no password field:\n%s", rec.Code, wantStatus, body)
	}
	return f[1], m[1]
}

// TestBrowserSignupCaptcha: the third sign-up from one browser within an
// hour shows a CAPTCHA instead of sending a code, without asking for the
// password again; a wrong answer sends nothing, the right one sends the
// code, and the code creates the account with the name and password typed
// before the CAPTCHA.
func TestBrowserSignupCaptcha(t *testing.T) {
	h, env := newRealWeb(t)
	ctx := context.Background()
	b := jar{}
	signup := func(ident string) *httptest.ResponseRecorder {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/signup", url.Values{
			"identifier": {ident}, "name": {"山田 花子"}, "password": {pw}, "password_confirmation": {pw},
		}, b.header()...)
		b.take(t, rec.Result()) // the device cookie, the flow's binding cookie
		return rec
	}
	for _, ident := range []string{"first@example.jp", "second@example.jp"} {
		rec := signup(ident)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
	}

	rec := signup("Hanako@Example.jp")
	flowID, challenge := mustCaptcha(t, rec, 200)
	if body := rec.Body.String(); !strings.Contains(body, `value="hanako@example.jp" autocomplete="username" readonly`) {
		t.Errorf("CAPTCHA page does not show the identifier again:\n%s", body)
	}
	if msgs := env.Messages(t, "hanako@example.jp"); len(msgs) != 0 {
		t.Fatalf("a held sign-up sent %d messages, want none", len(msgs))
	}
	// The language switch keeps the flow; the audio follows the page.
	if rec := get(h, "/signup?flow="+flowID+"&lang=en", b.header()...); !strings.Contains(rec.Body.String(), challenge+".wav?lang=en") {
		t.Errorf("GET of the flow's page in English: %d, want its CAPTCHA with English audio:\n%s", rec.Code, rec.Body)
	}

	wrong, err := env.Captcha.Answer(ctx, challenge)
	if err != nil {
		t.Fatal(err)
	}
	wrong = strings.Map(func(r rune) rune { return '0' + (r-'0'+1)%10 }, wrong) // every digit off by one
	rec = post(h, "/signup", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {wrong}, "identifier": {"hanako@example.jp"}}, b.header()...)
	again, renewed := mustCaptcha(t, rec, 400)
	if again != flowID || renewed == challenge || !strings.Contains(rec.Body.String(), `aria-invalid="true"`) {
		t.Fatalf("wrong answer: flow %s challenge %s, want the same flow with a new challenge and the answer marked", again, renewed)
	}
	if msgs := env.Messages(t, "hanako@example.jp"); len(msgs) != 0 {
		t.Fatalf("a wrong answer sent %d messages, want none", len(msgs))
	}

	answer, err := env.Captcha.Answer(ctx, renewed)
	if err != nil {
		t.Fatal(err)
	}
	rec = post(h, "/signup", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}, "identifier": {"hanako@example.jp"}}, b.header()...)
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	msgs := env.Messages(t, "hanako@example.jp")
	if len(msgs) != 1 || msgs[0].Template != "signup_code" || msgs[0].Code == "" {
		t.Fatalf("after the CAPTCHA: %d messages, want one signup_code", len(msgs))
	}
	if rec := get(h, verify, b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), `name="code"`) {
		t.Fatalf("verify page: %d", rec.Code)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {msgs[0].Code}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	if rec := get(h, "/account", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), "山田 花子") {
		t.Errorf("account after the sign-up: %d, want the name typed before the CAPTCHA", rec.Code)
	}
	// The password typed before the CAPTCHA is the account's.
	rec = post(h, "/signin", url.Values{"identifier": {"hanako@example.jp"}, "password": {pw}}, "Cookie", "ninsho_device="+b["ninsho_device"])
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
}

// TestBrowserUnlockCaptcha: the third unlock from one browser within an
// hour, and the first from a client without a browser's User-Agent, show a
// CAPTCHA instead of sending a code; solving it sends the unlock code and
// leads to /verify, whose code leads on to the password.
func TestBrowserUnlockCaptcha(t *testing.T) {
	h, env := newRealWeb(t)
	ctx := context.Background()
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	sent := len(env.Messages(t, "taro@example.jp"))

	// An HTTP library meets the CAPTCHA at once.
	rec := post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}}, "User-Agent", "curl/8.5.0")
	mustCaptcha(t, rec, 200)

	b := jar{}
	for range 2 {
		env.Clock.Advance(time.Minute)
		rec := post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}}, b.header()...)
		mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
		b.take(t, rec.Result())
	}
	if got := len(env.Messages(t, "taro@example.jp")); got != sent+2 {
		t.Fatalf("%d messages after two unlocks, want %d", got, sent+2)
	}

	env.Clock.Advance(time.Minute)
	rec = post(h, "/unlock", url.Values{"identifier": {"taro@example.jp"}}, append(b.header(), "Accept-Language", "en")...)
	b.take(t, rec.Result()) // the browser keeps the flow's binding cookie
	flowID, challenge := mustCaptcha(t, rec, 200)
	if body := rec.Body.String(); !strings.Contains(body, `value="taro@example.jp" autocomplete="username" readonly`) || !strings.Contains(body, challenge+".wav?lang=en") {
		t.Errorf("CAPTCHA page lacks the identifier or the audio in the page's language:\n%s", body)
	}
	if got := len(env.Messages(t, "taro@example.jp")); got != sent+2 {
		t.Fatalf("a held unlock sent a message: %d, want %d", got, sent+2)
	}

	// Another image, then the answer.
	rec = post(h, "/unlock", url.Values{"flow": {flowID}, "action": {"new_captcha"}}, b.header()...)
	again, renewed := mustCaptcha(t, rec, 200)
	if again != flowID || renewed == challenge {
		t.Fatalf("new_captcha: flow %s challenge %s, want the same flow with a new challenge", again, renewed)
	}
	answer, err := env.Captcha.Answer(ctx, renewed)
	if err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	rec = post(h, "/unlock", url.Values{"flow": {flowID}, "action": {"submit_captcha"}, "answer": {answer}, "identifier": {"taro@example.jp"}}, b.header()...)
	verify := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow="+flowID)
	msgs := env.Messages(t, "taro@example.jp")
	if len(msgs) != sent+3 || msgs[0].Template != "unlock_code" || msgs[0].Code == "" {
		t.Fatalf("after the CAPTCHA: newest of %d messages is %q, want a new unlock_code", len(msgs), msgs[0].Template)
	}
	rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {msgs[0].Code}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/unlock/password?flow="+flowID)
}

// TestSprayWithoutFormTimeMeetsTheCaptchaAsSoon: one address tries one
// password on several identifiers from fresh browsers, each post sent 100 ms
// after the form was shown. With the form's own rendered_at the second
// identifier meets the CAPTCHA (sent too fast, joined by the spray); leaving
// the field out, setting it to garbage or to the future changes nothing. A
// time far in the past is believed (a slow person): the spray goes on until
// its own threshold.
func TestSprayWithoutFormTimeMeetsTheCaptchaAsSoon(t *testing.T) {
	renderedAt := regexp.MustCompile(`name="rendered_at" value="(\d+)"`)
	firstCaptcha := func(t *testing.T, field func(env *flowtest.Env, shown string) (string, bool)) int {
		h, env := newRealWeb(t)
		for i := 1; i <= 6; i++ {
			m := renderedAt.FindStringSubmatch(get(h, "/signin").Body.String())
			if m == nil {
				t.Fatal("no rendered_at on the sign-in form")
			}
			env.Clock.Advance(100 * time.Millisecond)
			form := url.Values{"identifier": {fmt.Sprintf("user%d@example.jp", i)}, "password": {"Spring2026!x"}}
			if v, ok := field(env, m[1]); ok {
				form.Set("rendered_at", v)
			}
			rec := post(h, "/signin", form)
			if strings.Contains(rec.Body.String(), `name="answer"`) {
				return i
			}
			if rec.Code != 400 {
				t.Fatalf("attempt %d: %d, want 400", i, rec.Code)
			}
		}
		return 0
	}
	real := firstCaptcha(t, func(_ *flowtest.Env, shown string) (string, bool) { return shown, true })
	if real != 2 {
		t.Fatalf("with the form's rendered_at the CAPTCHA came at attempt %d, want 2", real)
	}
	for name, field := range map[string]func(*flowtest.Env, string) (string, bool){
		"left out": func(*flowtest.Env, string) (string, bool) { return "", false },
		"empty":    func(*flowtest.Env, string) (string, bool) { return "", true },
		"garbage":  func(*flowtest.Env, string) (string, bool) { return "abc", true },
		"future": func(env *flowtest.Env, _ string) (string, bool) {
			return strconv.FormatInt(env.Clock.Now().Add(time.Hour).UnixMilli(), 10), true
		},
		"a little ahead": func(env *flowtest.Env, _ string) (string, bool) {
			return strconv.FormatInt(env.Clock.Now().Add(2*time.Second).UnixMilli(), 10), true
		},
	} {
		t.Run(name, func(t *testing.T) {
			if got := firstCaptcha(t, field); got != real {
				t.Errorf("CAPTCHA at attempt %d, want %d as with the form's own time", got, real)
			}
		})
	}
	t.Run("a minute ago", func(t *testing.T) {
		got := firstCaptcha(t, func(env *flowtest.Env, _ string) (string, bool) { return shownAgo(env, time.Minute), true })
		if got != 0 {
			t.Errorf("a slow form met the CAPTCHA at attempt %d, want none within 6 identifiers", got)
		}
	})
}
