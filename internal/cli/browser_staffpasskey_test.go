package cli_test

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// TestBrowserStaffPasskey: a staff member enrolled with the authenticator
// app adds a passkey on /console/security with Chromium's virtual
// authenticator, signs out, and signs in again with the password and the
// passkey in place of the code, in Japanese. The pages are opened as
// http://localhost (a secure context for WebAuthn), the realm's host.
func TestBrowserStaffPasskey(t *testing.T) {
	const (
		adminEmail = "admin@example.jp"
		adminPass  = "kinmokusei-no-kaori-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	clock := &offsetClock{}
	app := mustStartClockedPasskeyApp(t, ctx, clock)
	base := strings.Replace(app.URL(), "127.0.0.1", "localhost", 1)
	link, err := cli.CreateStaff(ctx, app, adminEmail, "管理者", "admin")
	if err != nil {
		t.Fatalf("CreateStaff: %v", err)
	}
	_, query, ok := strings.Cut(link, "/console/enrol?token=")
	if !ok {
		t.Fatalf("link %q", link)
	}
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	console := recordConsole(t, b)
	if _, err := chromedp.Call(b, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		t.Fatalf("WebAuthn.enable: %v", err)
	}
	if _, err := chromedp.Call(b, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
		},
	}); err != nil {
		t.Fatalf("WebAuthn.addVirtualAuthenticator: %v", err)
	}

	key := staffEnrolInBrowser(t, b, base, query, adminPass, clock)

	signInPassword := func() {
		mustDo(t, b, "open the console", chromedp.Navigate(base+"/console"))
		mustPage(t, b, "/console/signin", "スタッフのログイン")
		mustDo(t, b, "fill in the staff sign-in",
			chromedp.SendKeys(chromedp.ID("email"), adminEmail),
			chromedp.SendKeys(chromedp.ID("password"), adminPass),
		)
		mustSubmit(t, b, `form[action="/console/signin"] button[type="submit"]`, "次に進む")
		mustPage(t, b, "/console/signin/code", "認証アプリのコードを入力")
	}
	staffSignInBrowser(t, b, base, adminEmail, adminPass, key, clock)

	// Add a passkey on the security page, linked from home.
	mustDo(t, b, "open the security page", chromedp.Click(chromedp.CSS(`a[href="/console/security"]`), chromedp.NodeVisible))
	mustPage(t, b, "/console/security", "あなたのパスキー")
	mustDo(t, b, "name and add a passkey",
		chromedp.WaitVisible(chromedp.ID("console-passkey-add")),
		chromedp.SendKeys(chromedp.ID("passkey-label"), "この PC"),
		chromedp.Click(chromedp.ID("console-passkey-add")),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	)
	if got := mustRun(t, b, "read the notice", chromedp.Text(chromedp.CSS("p.notice"))); !strings.Contains(got, "パスキーを追加しました") {
		t.Errorf("notice %q; the page says %q", got, pageAlert(b))
	}
	if got := mustRun(t, b, "read the list", chromedp.Text(chromedp.CSS("table.passkeys"))); !strings.Contains(got, "この PC") {
		t.Errorf("passkeys listed: %q", got)
	}
	mustSubmit(t, b, `form[action="/console/signout"] button[type="submit"]`, "ログアウト")

	// Sign in again: the password, then the passkey.
	signInPassword()
	mustDo(t, b, "use the passkey",
		chromedp.WaitVisible(chromedp.ID("console-passkey-signin")),
		chromedp.Click(chromedp.ID("console-passkey-signin")),
	)
	mustWaitPath(t, b, "/console")
	mustPage(t, b, "/console", "アカウントを探す")
	mustDo(t, b, "open the security page", chromedp.Navigate(base+"/console/security"))
	if got := mustRun(t, b, "read the list", chromedp.Text(chromedp.CSS("table.passkeys"))); strings.Contains(got, "まだ使っていません") {
		t.Errorf("the passkey's last use is not shown: %q", got)
	}
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// mustStartClockedPasskeyApp is mustStartClockedApp on a port chosen
// before the start (see mustStartPasskeyApp).
func mustStartClockedPasskeyApp(tb testing.TB, ctx context.Context, c *offsetClock) *cli.App {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Addr = addr
	sent := newDeliveries()
	app, err := cli.NewApp(ctx, cfg, cli.Options{LogOutput: io.Discard, Clock: c, Delivered: sent.record})
	if err != nil {
		tb.Fatalf("NewApp: %v", err)
	}
	if err := app.Start(); err != nil {
		app.Close()
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { app.Close() })
	registerDeliveries(tb, app.URL(), sent)
	return app
}
