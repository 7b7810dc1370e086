package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserSignupCaptcha signs up three times in a row from one Chromium,
// as a person making accounts for a family might: the third sign-up meets
// the CAPTCHA on the sign-up page — image and audio served under the pages'
// CSP, the address shown again, no password asked — and once it is solved
// (the answer read from the development API) the code arrives and the
// account is made with the name and password typed before the CAPTCHA.
func TestBrowserSignupCaptcha(t *testing.T) {
	const (
		address  = "hanako@example.jp"
		name     = "山田花子"
		password = "kumo-no-ue-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrowserApp(t, ctx)
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	base := app.URL()
	console := recordConsole(t, b)

	signUp := func(address string) {
		t.Helper()
		mustDo(t, b, "open /signup", chromedp.Navigate(base+"/signup"))
		mustPage(t, b, "/signup", "アカウントを作成")
		mustDo(t, b, "fill in the sign-up form",
			chromedp.SendKeys(chromedp.ID("identifier"), address),
			chromedp.SendKeys(chromedp.ID("name"), name),
			chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.SendKeys(chromedp.ID("password_confirmation"), password),
		)
		mustSubmit(t, b, `form[action="/signup"] button[type="submit"]`, "アカウントを作成")
	}
	for _, a := range []string{"taro@example.jp", "jiro@example.jp"} {
		signUp(a)
		mustPage(t, b, "/verify", "確認コードを入力")
	}

	signUp(address)
	mustPage(t, b, "/signup", "アカウントを作成")
	if n := mustRun(t, b, "count password fields", chromedp.Evaluate[int](`document.querySelectorAll("input[type=password]").length`)); n != 0 {
		t.Errorf("CAPTCHA page has %d password fields, want none", n)
	}
	if got := mustRun(t, b, "read the identifier", chromedp.Value(chromedp.ID("identifier"), chromedp.NodeVisible)); got != address {
		t.Errorf("CAPTCHA page shows identifier %q, want %q", got, address)
	}
	if !mustRun(t, b, "read the identifier's readOnly", chromedp.Evaluate[bool](`document.getElementById("identifier").readOnly`)) {
		t.Errorf("CAPTCHA page's identifier is editable")
	}
	width := mustRun(t, b, "load the CAPTCHA image", chromedp.Evaluate[int](
		`(() => { const i = document.querySelector(".captcha img"); return i.decode().then(() => i.naturalWidth, () => 0); })()`, chromedp.EvalAwaitPromise))
	if width != 240 {
		t.Errorf("CAPTCHA image natural width = %d, want 240 (loaded)", width)
	}
	audio := mustRun(t, b, "fetch the CAPTCHA audio", chromedp.Evaluate[string](
		`fetch(document.querySelector(".captcha audio").src).then(r => r.status + " " + r.headers.get("content-type"))`, chromedp.EvalAwaitPromise))
	if audio != "200 audio/wav" {
		t.Errorf("CAPTCHA audio answers %q, want 200 audio/wav", audio)
	}
	src := mustAttr(t, b, ".captcha img", "src")
	m := regexp.MustCompile(`/api/v1/captcha/([0-9a-f-]+)\.png$`).FindStringSubmatch(src)
	if m == nil {
		t.Fatalf("CAPTCHA image src %q, want /api/v1/captcha/{id}.png", src)
	}
	answer := mustDevCaptchaAnswer(t, ctx, base, m[1])
	mustDo(t, b, "type the answer", chromedp.SendKeys(chromedp.ID("answer"), answer))
	mustSubmit(t, b, `form:has(#answer) button[type="submit"]`, "次に進む")

	mustPage(t, b, "/verify", "確認コードを入力")
	msg := mustInboxTemplate(t, ctx, base, address, "signup_code")
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, address)

	// The password typed before the CAPTCHA is the account's.
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustSignIn(t, b, address, password)
	mustPage(t, b, "/account", "ログインとセキュリティ")

	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// mustDevCaptchaAnswer reads the answer to the CAPTCHA challenge id from the
// development API.
func mustDevCaptchaAnswer(tb testing.TB, ctx context.Context, base, id string) string {
	tb.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/dev/api/captcha/"+id, nil)
	if err != nil {
		tb.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatalf("GET the CAPTCHA answer: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Answer string `json:"answer"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil || res.StatusCode != http.StatusOK || body.Answer == "" {
		tb.Fatalf("GET the CAPTCHA answer: %s, %v", res.Status, err)
	}
	return body.Answer
}
