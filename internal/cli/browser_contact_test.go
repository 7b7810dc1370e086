package cli_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// undoTokenRE finds the token of the undo link in a contact_changed e-mail.
var undoTokenRE = regexp.MustCompile(`/account/contact-undo\?token=(\S+)`)

// TestBrowserContactChangeAndUndoInJapanese walks the e-mail change in
// Chromium as a Japanese person: sign up, change the e-mail address from the
// account page with the code from the development inbox, sign out, sign in
// with the new address; the old address is refused; the old inbox got the
// alert, and following its undo link puts the old address back (the page
// says so, every session ended and the account is locked: the unlock code
// goes to the old address, and after a new password the account page shows
// the old address again).
func TestBrowserContactChangeAndUndoInJapanese(t *testing.T) {
	const (
		oldAddr  = "hanako@example.jp"
		newAddr  = "hanako.new@example.jp"
		name     = "山田花子"
		password = "kumo-no-ue-42"
		newPass  = "hoshi-no-shita-77"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	base := app.URL()

	// Sign up.
	mustDo(t, b, "open /signup", chromedp.Navigate(base+"/signup"))
	mustPage(t, b, "/signup", "アカウントを作成")
	mustDo(t, b, "fill in the sign-up form",
		chromedp.SendKeys(chromedp.ID("identifier"), oldAddr),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), password),
	)
	mustSubmit(t, b, `form[action="/signup"] button[type="submit"]`, "アカウントを作成")
	mustPage(t, b, "/verify", "確認コードを入力")
	mustDo(t, b, "type the sign-up code", chromedp.SendKeys(chromedp.ID("code"), mustInboxMessage(t, ctx, base, oldAddr).Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, oldAddr)

	// Change the e-mail address from the account page.
	mustDo(t, b, "follow the change link", chromedp.Click(chromedp.CSS(`a[href="/account/email"]`), chromedp.NodeVisible))
	mustPage(t, b, "/account/email", "メールアドレスの変更")
	if got := mustAttr(t, b, "#email", "autocomplete"); got != "email" {
		t.Errorf("#email autocomplete = %q", got)
	}
	mustDo(t, b, "type the new address", chromedp.SendKeys(chromedp.ID("email"), newAddr))
	mustSubmit(t, b, `form[action="/account/email"] button[type="submit"]`, "確認コードを送信")
	mustPage(t, b, "/account/contact/code", "確認コードの入力")
	msg := mustInboxMessage(t, ctx, base, newAddr)
	if msg.Template != "contact_code" || msg.Locale != "ja" {
		t.Errorf("code message = %q %q, want contact_code in ja", msg.Template, msg.Locale)
	}
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "変更を確定")
	mustPage(t, b, "/account/contact/code", "連絡先を変更しました")
	if got := mustRun(t, b, "read the result", chromedp.Text(chromedp.CSS("[data-contact-done]"), chromedp.NodeVisible)); !strings.Contains(got, newAddr) {
		t.Errorf("done page says %q, want the new address", got)
	}

	// Sign out; sign in with the new address.
	mustDo(t, b, "back to the account", chromedp.Navigate(base+"/account"))
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, newAddr)
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "sign in with the new address",
		chromedp.SendKeys(chromedp.ID("identifier"), newAddr),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, newAddr)

	// The old address is refused.
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "sign in with the old address",
		chromedp.SendKeys(chromedp.ID("identifier"), oldAddr),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`), chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status == http.StatusOK || pageAlert(b) == "" {
		t.Fatalf("sign-in with the old address: %d, alert %q; want a refusal", res.Status, pageAlert(b))
	}
	if loc := mustRun(t, b, "read the location", chromedp.Location()); strings.Contains(loc, "/account") {
		t.Fatalf("the old address signed in: %s", loc)
	}

	// The old inbox got the alert; its undo link puts the address back.
	alert := deliveriesOf(t, base).wait(t, ctx, oldAddr, fromTemplate("contact_changed"))
	if alert.Locale != "ja" || !strings.Contains(alert.Subject, "メールアドレスが変更されました") {
		t.Errorf("alert = %q in %q", alert.Subject, alert.Locale)
	}
	m := undoTokenRE.FindStringSubmatch(alert.Text)
	if m == nil {
		t.Fatalf("no undo link in the alert:\n%s", alert.Text)
	}
	token, err := url.QueryUnescape(m[1])
	if err != nil {
		t.Fatal(err)
	}
	mustDo(t, b, "open the undo link", chromedp.Navigate(base+"/account/contact-undo?"+url.Values{"token": {token}}.Encode()))
	mustPage(t, b, "/account/contact-undo", "アカウントの変更の取り消し")
	mustSubmit(t, b, `form[action="/account/contact-undo"] button[type="submit"]`, "変更を取り消してアカウントを保護")
	mustPage(t, b, "/account/contact-undo", "アカウントを保護しました")
	if got := mustAttr(t, b, "[data-contact-restored]", "data-contact-restored"); got != "1" {
		t.Fatalf("restored = %q, want 1", got)
	}

	// Back in through the unlock flow: its code goes to the old address.
	mustDo(t, b, "follow the unlock link", chromedp.Click(chromedp.CSS(`a[href^="/verify?flow="]`), chromedp.NodeVisible))
	mustPage(t, b, "/verify", "確認コードを入力")
	unlock := mustInboxMessage(t, ctx, base, oldAddr)
	if unlock.Template != "unlock_code" {
		t.Fatalf("message to the old address = %q, want unlock_code", unlock.Template)
	}
	mustDo(t, b, "type the unlock code", chromedp.SendKeys(chromedp.ID("code"), unlock.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/unlock/password", "新しいパスワードを設定")
	mustDo(t, b, "type a new password",
		chromedp.SendKeys(chromedp.ID("password"), newPass),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), newPass),
	)
	mustSubmit(t, b, `form[action^="/unlock/password"] button[type="submit"]`, "パスワードを設定してログイン")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, oldAddr)
}
