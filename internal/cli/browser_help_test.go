package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/message"
)

// TestBrowserHelpCodeDoesNotArrive (issue 13, must show) walks the
// troubleshooter in Japanese: "the code does not arrive" leads to the
// sign-in page; signing in on this unfamiliar device sends the code by
// e-mail; the provider reports it undelivered; the code page then offers
// the account's phone, one click sends the code by text message, and the
// code signs in. "Lost my phone" with no backup code leads to /recovery.
func TestBrowserHelpCodeDoesNotArrive(t *testing.T) {
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartClockedApp(t, ctx, &offsetClock{})
	base := app.URL()
	const (
		address, person, password = "hanako@example.jp", "山田花子", "kumo-no-ue-42"
		number, e164              = "090-1234-5678", "+819012345678"
	)
	mustSignUpByAPIIn(t, ctx, base, address, person, password, "ja")
	sent := deliveriesOf(t, base)
	call := func(path, token string, body any) map[string]any {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/142.0 Safari/537.36")
		req.Header.Set("Accept-Language", "ja-JP,ja")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("POST %s: %v", path, err)
		}
		defer res.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode >= 300 {
			t.Fatalf("POST %s: %s %v (%v)", path, res.Status, out, err)
		}
		return out
	}
	// A verified phone number besides the e-mail address, added by the API.
	fl := call("/api/v1/signin", "", map[string]string{"identifier": address, "password": password})
	if next, _ := fl["next"].(map[string]any); next["step"] == "verification_code" {
		c := sent.wait(t, ctx, address, hasCode)
		fl = call("/api/v1/flows/"+fl["id"].(string), "", map[string]string{"action": "submit_code", "code": c.Code, "device_token": fl["device_token"].(string)})
	}
	sess, _ := fl["session"].(map[string]any)
	token, _ := sess["token"].(string)
	if token == "" {
		t.Fatalf("sign-in by the API: %v", fl)
	}
	ph := call("/api/v1/me/phone", token, map[string]string{"phone": number})
	c := sent.wait(t, ctx, e164, hasCode)
	if done := call("/api/v1/flows/"+ph["id"].(string), token, map[string]string{"action": "submit_code", "code": c.Code}); done["status"] != "complete" {
		t.Fatalf("adding the phone: %v", done)
	}

	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	text := func(key string) string { return i18n.Message("ja", key, nil) }
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustPage(t, b, "/signin", text("page.signin.title"))
	mustDo(t, b, "follow the footer's link", chromedp.Click(chromedp.CSS(`footer a[href="/help"]`), chromedp.NodeVisible))
	mustPage(t, b, "/help", text("page.help.title"))
	mustDo(t, b, "choose: the code does not arrive", chromedp.Click(chromedp.CSS(`ul.help-questions a[href="/help?q=code"]`), chromedp.NodeVisible))
	mustPage(t, b, "/help", text("help.q.code"))
	mustDo(t, b, "go to sign in", chromedp.Click(chromedp.CSS(`ul.help-links a[href="/signin"]`), chromedp.NodeVisible))
	mustPage(t, b, "/signin", text("page.signin.title"))
	mustDo(t, b, "sign in",
		chromedp.SendKeys(chromedp.ID("identifier"), address),
		chromedp.SendKeys(chromedp.ID("password"), password))
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, text("button.signin"))
	mustPage(t, b, "/verify", text("page.verify.title"))
	mail := sent.wait(t, ctx, address, hasCode)
	if mail.Channel != message.ChannelEmail {
		t.Fatalf("the first code went by %s, want email", mail.Channel)
	}
	// The code page links to the troubleshooter too.
	if n := mustRun(t, b, "look for the help link", chromedp.Evaluate[int](`document.querySelectorAll('footer a[href="/help"]').length`)); n != 1 {
		t.Errorf("the code page has %d links to /help, want 1", n)
	}
	if rep := call("/dev/api/messages/"+mail.ID+"/delivery", "", map[string]string{"status": "undelivered"}); rep["changed"] != true {
		t.Fatalf("report: %v", rep)
	}
	mustDo(t, b, "reload", chromedp.Reload())
	mustPage(t, b, "/verify", text("page.verify.title"))
	mustSubmit(t, b, `.delivery-help form:has(input[value="sms"]) button`, text("button.switch_channel.sms"))
	mustPage(t, b, "/verify", text("page.verify.title"))
	sms := sent.wait(t, ctx, e164, hasCode)
	if sms.Channel != message.ChannelSMS || sms.Code == mail.Code {
		t.Fatalf("after the click: a %s message, want a new code by text message", sms.Channel)
	}
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), sms.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, text("button.verify"))
	mustPage(t, b, "/account", text("page.account.title"))

	// Lost phone, no backup code: document recovery.
	mustDo(t, b, "open /help", chromedp.Navigate(base+"/help"))
	mustPage(t, b, "/help", text("page.help.title"))
	mustDo(t, b, "choose: lost my phone", chromedp.Click(chromedp.CSS(`ul.help-questions a[href="/help?q=phone"]`), chromedp.NodeVisible))
	mustPage(t, b, "/help", text("help.q.phone"))
	mustDo(t, b, "choose: neither", chromedp.Click(chromedp.CSS(`ul.help-links a[href="/help?q=phone_none"]`), chromedp.NodeVisible))
	mustPage(t, b, "/help", text("help.q.phone_none"))
	href := mustRun(t, b, "read the way out", chromedp.Evaluate[string](`document.querySelector("ul.help-links a.button").href`))
	if href != base+"/recovery" {
		t.Fatalf("no backup code leads to %q, want %s/recovery", href, base)
	}
	if res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`ul.help-links a.button`), chromedp.NodeVisible)); err != nil || res.Status != http.StatusOK {
		t.Fatalf("follow the way out: %v, %+v", err, res)
	}
	mustPage(t, b, "/recovery", text("page.recovery.title"))
}
