package cli_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/totp"
)

// TestBrowserConsoleSuspends walks the staff console in Chromium, in
// Japanese: the first admin, made by the command line's function, opens
// the enrolment link, sets a password and an authenticator app (the key
// read from the page), signs in with the password and a TOTP code (the
// clock moved a step on, never slept), finds a customer by address and
// suspends the account with a reason; the customer then signs in with the
// right password and reads the reason, the reference number and the way
// to a help request.
func TestBrowserConsoleSuspends(t *testing.T) {
	const (
		customer   = "hanako@example.jp"
		custPass   = "kumo-no-ue-42"
		adminEmail = "admin@example.jp"
		adminPass  = "kinmokusei-no-kaori-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	clock := &offsetClock{}
	app := mustStartClockedApp(t, ctx, clock)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, customer, "山田花子", custPass)
	link, err := cli.CreateStaff(ctx, app, adminEmail, "管理者", "admin")
	if err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	// The link is under the configured address (port 0 here): the test
	// opens it on the port the app listens on.
	_, query, ok := strings.Cut(link, "/console/enrol?token=")
	if !ok || !strings.HasPrefix(link, "http://127.0.0.1:") {
		t.Fatalf("link %q, want http://127.0.0.1:…/console/enrol?token=…", link)
	}
	link = base + "/console/enrol?token=" + query
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)

	key := staffEnrolInBrowser(t, b, base, query, adminPass, clock)
	staffSignInBrowser(t, b, base, adminEmail, adminPass, key, clock)

	mustDo(t, b, "search", chromedp.SendKeys(chromedp.ID("q"), customer))
	mustSubmit(t, b, `form[action="/console/accounts"] button[type="submit"]`, "検索")
	mustPage(t, b, "/console/accounts", "アカウントを探す")
	mustDo(t, b, "open the account", chromedp.Click(chromedp.CSS(`table.results a`), chromedp.NodeVisible),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/suspend"]`)))
	mustDo(t, b, "choose the reason and write why",
		chromedp.SetValue(chromedp.ID("public_reason-suspend"), "unusual_activity"),
		chromedp.SendKeys(chromedp.ID("reason-suspend"), "複数のカードで不正利用の疑い（問い合わせ番号 1234）"),
	)
	mustSubmit(t, b, `form[action$="/suspend"] button[type="submit"]`, "アカウントを停止")
	if got := mustRun(t, b, "read the notice", chromedp.Text(chromedp.CSS("p.notice"), chromedp.NodeVisible)); got != "アカウントを停止しました。" {
		t.Errorf("notice %q", got)
	}
	if got := mustRun(t, b, "read the status", chromedp.Text(chromedp.CSS(`dd[data-status]`))); got != "停止中" {
		t.Errorf("status %q, want 停止中", got)
	}
	mustSubmit(t, b, `form[action="/console/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/console/signin", "スタッフのログイン")

	// The customer signs in with the right password.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), customer),
		chromedp.SendKeys(chromedp.ID("password"), custPass),
	)
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(`form[action="/signin"] button[type="submit"]`), chromedp.NodeVisible))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != http.StatusForbidden {
		t.Fatalf("suspended sign-in: %d, want 403; the page says %q", res.Status, pageAlert(b))
	}
	alert := pageAlert(b)
	if !strings.Contains(alert, "通常と異なるご利用") || !strings.Contains(alert, "S-") || strings.Contains(alert, "不正利用の疑い") {
		t.Errorf("the page says %q, want the reason and the reference, never the staff's note", alert)
	}
	href := mustAttr(t, b, `a[href^="/help/request?ref=S-"]`, "href")
	ref, step, _ := strings.Cut(strings.TrimPrefix(href, "/help/request?ref="), "&")
	if !strings.Contains(alert, ref) || step != "step=suspended" {
		t.Errorf("help link %q does not quote the reference the page shows (%q) with the step suspended", href, alert)
	}
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") && m.URL != base+"/signin" {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// staffEnrolInBrowser opens the enrolment link (its token query) in b,
// whose pages are Japanese, reads the key the page shows and enrols with
// password and the key's code at clock; it returns the key.
func staffEnrolInBrowser(t *testing.T, b context.Context, base, query, password string, clock *offsetClock) string {
	t.Helper()
	ja := func(key string) string { return i18n.Message("ja", key, nil) }
	mustDo(t, b, "open the enrolment link", chromedp.Navigate(base+"/console/enrol?token="+query))
	mustPage(t, b, "/console/enrol", ja("console.enrol.title"))
	key := strings.ReplaceAll(mustRun(t, b, "read the key", chromedp.Text(chromedp.CSS("code.secret"), chromedp.NodeVisible)), " ", "")
	code, err := totp.CodeAt(key, clock.Now())
	if err != nil {
		t.Fatalf("the page's key %q: %v", key, err)
	}
	mustDo(t, b, "fill in the enrolment form",
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), password),
		chromedp.SendKeys(chromedp.ID("code"), code),
	)
	mustSubmit(t, b, `form[action="/console/enrol"] button[type="submit"]`, ja("console.enrol.button"))
	mustPage(t, b, "/console/enrol", ja("console.enrolled.title"))
	return key
}

// staffSignInBrowser signs a staff member in to the console in b with the
// password and the code of the next TOTP step of key (a code is never
// accepted twice), ending on the console's home page.
func staffSignInBrowser(t *testing.T, b context.Context, base, email, password, key string, clock *offsetClock) {
	t.Helper()
	ja := func(key string) string { return i18n.Message("ja", key, nil) }
	mustDo(t, b, "open the console", chromedp.Navigate(base+"/console"))
	mustPage(t, b, "/console/signin", ja("console.signin.title"))
	mustDo(t, b, "fill in the staff sign-in",
		chromedp.SendKeys(chromedp.ID("email"), email),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/console/signin"] button[type="submit"]`, ja("button.continue"))
	mustPage(t, b, "/console/signin/code", ja("console.code.title"))
	clock.nextStep()
	code, _ := totp.CodeAt(key, clock.Now())
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), code))
	mustSubmit(t, b, `form[action="/console/signin/code"] button[type="submit"]`, ja("console.signin.button"))
	mustPage(t, b, "/console", ja("console.home.title"))
}
