package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserPasswordAssistant walks the password assistant in Chromium as a
// Japanese person who forgot their password: from the sign-in page's link to
// the assistant, the code from the development inbox, a new password typed
// twice, then the account. Signed out again, the new password signs in and the
// old one is refused. The account is signed up through the JSON API: the
// sign-up pages are another test's subject.
func TestBrowserPasswordAssistant(t *testing.T) {
	const (
		address     = "taro@example.jp"
		name        = "山田太郎"
		oldPassword = "kumo-no-ue-42"
		newPassword = "sora-no-shita-7"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, address, name, oldPassword)
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)

	// The sign-in page's "forgot your password?" link leads to the assistant.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustPage(t, b, "/signin", "ログイン")
	mustFollow(t, b, `a[href="/password-assistant"]`, "パスワードをお忘れの場合")
	mustPage(t, b, "/password-assistant", "パスワードアシスタント")
	if got := mustAttr(t, b, "#identifier", "autocomplete"); got != "username" {
		t.Errorf("password assistant #identifier autocomplete = %q, want %q", got, "username")
	}
	mustDo(t, b, "type the address", chromedp.SendKeys(chromedp.ID("identifier"), address))
	mustSubmit(t, b, `form[action="/password-assistant"] button[type="submit"]`, "確認コードを送信")

	// The code page, with the code sent as the assistant's.
	mustPage(t, b, "/verify", "確認コードを入力")
	msg := mustInboxTemplate(t, ctx, base, address, "reset_code")
	if msg.Locale != "ja" || msg.Code == "" {
		t.Errorf("inbox reset_code locale, code = %q, %q, want %q and a code", msg.Locale, msg.Code, "ja")
	}
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")

	// "How do you want to sign in?": a new password, typed twice.
	mustPage(t, b, "/password-assistant/choose", "ログイン方法の選択")
	for _, sel := range []string{"#password", "#password_confirmation"} {
		if got := mustAttr(t, b, sel, "autocomplete"); got != "new-password" {
			t.Errorf("choose %s autocomplete = %q, want %q", sel, got, "new-password")
		}
	}
	mustDo(t, b, "type the new password twice",
		chromedp.SendKeys(chromedp.ID("password"), newPassword),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), newPassword),
	)
	mustSubmit(t, b, `form:has(#password_confirmation) button[type="submit"]`, "パスワードを設定してログイン")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, address)
	mustInboxTemplate(t, ctx, base, address, "password_changed")

	// Signed out, the new password signs in.
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustSignIn(t, b, address, newPassword)
	if res := mustRun(t, b, "wait for the account page", chromedp.Location()); !strings.HasSuffix(res, "/account") {
		t.Fatalf("sign-in with the new password: location %s, want /account; the page says %q", res, pageAlert(b))
	}
	mustPage(t, b, "/account", "ログインとセキュリティ")

	// No page so far may log an error or throw; the refused sign-in below
	// answers 400, which the console reports.
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}

	// The old password is refused.
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustSignIn(t, b, address, oldPassword)
	loc := mustRun(t, b, "read the location", chromedp.Location())
	if u, err := url.Parse(loc); err != nil || u.Path != "/signin" {
		t.Errorf("sign-in with the old password: location %s, want /signin", loc)
	}
	if got, want := pageAlert(b), "パスワードが正しくありません。"; !strings.HasPrefix(got, want) {
		t.Errorf("sign-in with the old password: the page says %q, want it to start %q", got, want)
	}

}

// mustFollow clicks the visible link that sel matches, after checking its
// text, and waits until the page it leads to has loaded with 200.
func mustFollow(tb testing.TB, ctx context.Context, sel, text string) {
	tb.Helper()
	if got := mustRun(tb, ctx, "read the link "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)); strings.TrimSpace(got) != text {
		tb.Errorf("link %s says %q, want %q", sel, got, text)
	}
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.Fatalf("click %s: %v", sel, err)
	}
	if res.Status != http.StatusOK {
		tb.Fatalf("click %s: got %d from %s, want 200", sel, res.Status, res.URL)
	}
}

// mustSignIn fills in the sign-in page and submits it, whatever the answer.
func mustSignIn(tb testing.TB, ctx context.Context, identifier, password string) {
	tb.Helper()
	mustDo(tb, ctx, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), identifier),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`), chromedp.NodeVisible)); err != nil {
		tb.Fatalf("submit the sign-in form: %v", err)
	}
	mustDo(tb, ctx, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// mustInboxTemplate waits until the development inbox has stored a message
// made from template for to, then returns the newest message to to that the
// inbox API lists, which must be that one.
func mustInboxTemplate(tb testing.TB, ctx context.Context, base, to, template string) inboxMessage {
	tb.Helper()
	deliveriesOf(tb, base).wait(tb, ctx, to, fromTemplate(template))
	msgs, err := devMessages(ctx, base+"/dev/api/messages?"+url.Values{"to": {to}}.Encode())
	if err != nil || len(msgs) == 0 || msgs[0].Template != template {
		tb.Fatalf("a %s message to %s was delivered, but the inbox API lists %+v (%v)", template, to, msgs, err)
	}
	return msgs[0]
}

// mustSignUpByAPI signs up and verifies an account through the JSON API, in
// Japanese.
func mustSignUpByAPI(tb testing.TB, ctx context.Context, base, address, name, password string) {
	tb.Helper()
	mustSignUpByAPIIn(tb, ctx, base, address, name, password, "ja")
}

// mustSignUpByAPIIn signs up and verifies an account through the JSON API in
// the language lang.
func mustSignUpByAPIIn(tb testing.TB, ctx context.Context, base, address, name, password, lang string) {
	tb.Helper()
	post := func(path string, body map[string]string) map[string]any {
		tb.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			tb.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			tb.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
			tb.Fatalf("POST %s: %v", path, err)
		}
		if res.StatusCode != http.StatusOK && res.StatusCode != http.StatusCreated {
			tb.Fatalf("POST %s: got %s %v", path, res.Status, out)
		}
		return out
	}
	fb := post("/api/v1/signup", map[string]string{"identifier": address, "name": name, "password": password, "locale": lang})
	id, _ := fb["id"].(string)
	dev, _ := fb["device_token"].(string)
	msg := mustInboxTemplate(tb, ctx, base, address, "signup_code")
	done := post("/api/v1/flows/"+id, map[string]string{"action": "submit_code", "code": msg.Code, "device_token": dev})
	if done["status"] != "complete" {
		tb.Fatalf("sign-up by the API: got %v, want complete", done)
	}
}
