package cli_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/web/webreq"
)

// TestBrowserPasswordAssistantTakeoverRefused is the password-assistant
// takeover of issue 8 (point 1) in two real browsers, each with a profile of
// its own (its own cookie jar): the attacker's Chromium starts the password
// assistant for the victim's address and sends the victim the genuine
// /verify?flow=X link. The victim's Chromium opening that link sees the
// Japanese "not found, start again" page — the same as for an unknown flow,
// with no code form — and even the real code posted from it is refused, so
// the attacker's flow never gets past the code and yields no session, in the
// attacker's browser or through the API.
//
// As the control, the starting browser can still use its flow: with the code
// (which in the attack only the victim's mailbox has) it reaches "how do you
// want to sign in?" and a session, and the flow's cookie is cleared.
func TestBrowserPasswordAssistantTakeoverRefused(t *testing.T) {
	const (
		address  = "hanako@example.jp" // the victim's
		name     = "山田花子"
		password = "kumo-no-ue-42"
		// unknownFlow is a well-formed flow id that no flow has.
		unknownFlow = "01900000-0000-7000-8000-000000000999"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, address, name, password)
	attacker := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	victim := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")

	// The attacker's browser starts the password assistant for the victim's
	// address; the code goes to the victim's mailbox.
	mustDo(t, attacker, "open /password-assistant", chromedp.Navigate(base+"/password-assistant"))
	mustPage(t, attacker, "/password-assistant", "パスワードアシスタント")
	mustDo(t, attacker, "type the victim's address", chromedp.SendKeys(chromedp.ID("identifier"), address))
	mustSubmit(t, attacker, `form[action="/password-assistant"] button[type="submit"]`, "確認コードを送信")
	flowID := mustPage(t, attacker, "/verify", "確認コードを入力").Query().Get("flow")
	if flowID == "" {
		t.Fatal("the password assistant's code page has no flow parameter")
	}
	link := base + "/verify?" + url.Values{"flow": {flowID}}.Encode()
	flowCookie := webreq.FlowCookie(flowID)
	ck := browserCookies(t, attacker, base)[flowCookie]
	if ck == nil {
		t.Fatalf("the starting browser holds no %s cookie", flowCookie)
	}
	if !ck.HTTPOnly || ck.SameSite != network.CookieSameSiteLax || ck.Path != "/" {
		t.Errorf("%s: HttpOnly %v, SameSite %q, Path %q; want HttpOnly, Lax, /", flowCookie, ck.HTTPOnly, ck.SameSite, ck.Path)
	}
	msg := mustInboxTemplate(t, ctx, base, address, "reset_code")

	// The victim opens the genuine link: the page an unknown flow gets, in
	// Japanese, and nothing to type a code into.
	unknown := mustNotFoundPage(t, victim, base+"/verify?flow="+unknownFlow)
	if got := mustNotFoundPage(t, victim, link); got != unknown {
		t.Errorf("the victim's page of the attacker's flow says %q, the page of an unknown flow %q; want the same", got, unknown)
	}
	if want := "この手続きが見つかりませんでした。"; !strings.HasPrefix(unknown, want) {
		t.Errorf("not-found page says %q, want it to start %q", unknown, want)
	}

	// Even the real code, posted from the victim's browser to the flow as
	// the code form would, is refused the same way.
	res, err := chromedp.RunResponse(victim, chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post";
		f.action = "/verify?flow=`+flowID+`";
		for (const [name, value] of [["action", "submit_code"], ["code", "`+msg.Code+`"]]) {
			const i = document.createElement("input");
			i.type = "hidden"; i.name = name; i.value = value;
			f.append(i);
		}
		document.body.append(f);
		f.submit();
	})()`))
	if err != nil {
		t.Fatalf("post the code from the victim's browser: %v", err)
	}
	if res.Status != http.StatusNotFound {
		t.Errorf("the victim's code on the attacker's flow: got %d from %s, want 404", res.Status, res.URL)
	}
	if got := mustAlertText(t, victim); got != unknown {
		t.Errorf("after the victim's code the page says %q, want %q", got, unknown)
	}
	for name := range browserCookies(t, victim, base) {
		if name == webreq.SessionCookie || strings.HasPrefix(name, webreq.FlowCookiePrefix) {
			t.Errorf("the victim's browser got cookie %s from the attacker's flow", name)
		}
	}

	// The attacker's flow is still waiting for its code: the choice page
	// sends the attacker's browser back to it, and no session cookie came.
	mustDo(t, attacker, "open the choice page", chromedp.Navigate(base+"/password-assistant/choose?"+url.Values{"flow": {flowID}}.Encode()))
	mustPage(t, attacker, "/verify", "確認コードを入力")
	if _, ok := browserCookies(t, attacker, base)[webreq.SessionCookie]; ok {
		t.Errorf("the attacker's browser has a session cookie")
	}
	// Nor does the API act on a page's flow: the same 404 as an unknown id.
	api := &client{tb: t, base: base, http: http.DefaultClient}
	var problem struct {
		Code    string `json:"code"`
		Session any    `json:"session"`
	}
	status, raw := api.call("POST", "/api/v1/flows/"+flowID, "", map[string]string{"action": "choose_sign_in_with_code"}, &problem)
	if status != http.StatusNotFound || problem.Code != "flow_not_found" || problem.Session != nil {
		t.Errorf("choose_sign_in_with_code on the page flow through the API: got %d %s, want 404 flow_not_found", status, raw)
	}

	// The control: the browser that started the flow still uses it.
	mustDo(t, attacker, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, attacker, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, attacker, "/password-assistant/choose", "ログイン方法の選択")
	mustSubmit(t, attacker, `form:has(input[value="choose_sign_in_with_code"]) button[type="submit"]`, "今回だけこのコードでログイン")
	mustPage(t, attacker, "/account", "ログインとセキュリティ")
	mustAccount(t, attacker, name, address)
	jar := browserCookies(t, attacker, base)
	if _, ok := jar[flowCookie]; ok {
		t.Errorf("the finished flow's cookie %s is still in the starting browser", flowCookie)
	}
	if _, ok := jar[webreq.SessionCookie]; !ok {
		t.Errorf("the starting browser has no session cookie after completing its flow")
	}
	// Finished, its link is a flow no browser holds.
	if got := mustNotFoundPage(t, attacker, link); got != unknown {
		t.Errorf("the finished flow's page says %q, want %q", got, unknown)
	}
}

// mustNotFoundPage opens target in the tab, checks that it answers the
// Japanese error page with 404, a way back to the sign-in page and no form,
// and returns the error box's message without its reference number.
func mustNotFoundPage(tb testing.TB, ctx context.Context, target string) string {
	tb.Helper()
	res := mustRun(tb, ctx, "open "+target, chromedp.NavigateResponse(target))
	mustDo(tb, ctx, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
	// Read at once, without waiting for elements that a wrong page lacks.
	got := mustRun(tb, ctx, "read the page", chromedp.Evaluate[struct {
		Lang, H1, Back string
		Forms          int
	}](`({
		Lang: document.documentElement.lang,
		H1: document.querySelector("main h1").textContent.trim(),
		Back: (document.querySelector('main a[href="/signin"]') || {textContent: ""}).textContent.trim(),
		Forms: document.querySelectorAll("form, #code").length,
	})`))
	want := struct {
		Lang, H1, Back string
		Forms          int
	}{"ja", "エラーが発生しました", "ログインページへ", 0}
	if res.Status != http.StatusNotFound || got != want {
		tb.Errorf("GET %s: got %d %+v, want 404 %+v (lang, heading, link to /signin, forms)", target, res.Status, got, want)
	}
	return mustAlertText(tb, ctx)
}

// mustAlertText returns the message of the page's error box: its first
// paragraph, without the reference number that follows.
func mustAlertText(tb testing.TB, ctx context.Context) string {
	tb.Helper()
	return mustRun(tb, ctx, "read the error box", chromedp.Evaluate[string](`(document.querySelector("[role=alert] p") || {textContent: ""}).textContent.trim()`))
}

// browserCookies returns the cookies the tab's browser holds for base, by
// name, HttpOnly ones included.
func browserCookies(tb testing.TB, ctx context.Context, base string) map[string]*network.Cookie {
	tb.Helper()
	res, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{base + "/"}})
	if err != nil {
		tb.Fatalf("read the browser's cookies: %v", err)
	}
	jar := make(map[string]*network.Cookie, len(res.Cookies))
	for _, c := range res.Cookies {
		jar[c.Name] = c
	}
	return jar
}
