package cli_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// TestBrowserPasskey registers a passkey with Chromium's virtual
// authenticator (a platform authenticator with user verification and
// resident keys) and signs in with it, passwordless: sign in with the
// password (and the new device's code), which leads to the one-time offer
// to create a passkey (the browser has a platform authenticator); create it
// there, find it on /account/two-step/passkeys, sign out, press
// "パスキーでログイン" on the sign-in page. GET /api/v1/me then shows a
// session of AAL 2 made by hwk. Last, another account's password sign-in
// on the same browser goes straight to the account page: the device was
// offered a passkey once already.
// WebAuthn needs a secure context: the pages are opened as
// http://localhost, the realm's relying party id.
func TestBrowserPasskey(t *testing.T) {
	const (
		address  = "hanako@example.jp"
		name     = "山田花子"
		password = "kumo-no-ue-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	app := mustStartPasskeyApp(t, ctx)
	base := strings.Replace(app.URL(), "127.0.0.1", "localhost", 1)
	mustSignUpByAPIIn(t, ctx, app.URL(), address, name, password, "ja")
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

	// Sign in with the password; this browser is new, so a code follows.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustPage(t, b, "/signin", "ログイン")
	if got := mustAttr(t, b, "#identifier", "autocomplete"); got != "username webauthn" {
		t.Errorf("#identifier autocomplete = %q, want %q", got, "username webauthn")
	}
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), address),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	mustPage(t, b, "/verify", "確認コードを入力")
	msg := mustInboxMessage(t, ctx, app.URL(), address)
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")

	// The first password sign-in on this browser offers a passkey; create
	// it there.
	mustPage(t, b, "/account/passkey-offer", "パスキーでかんたんにログイン")
	mustDo(t, b, "create a passkey from the offer",
		chromedp.WaitVisible(chromedp.ID("passkey-offer-create")),
		chromedp.Click(chromedp.ID("passkey-offer-create")),
	)
	// The passkey turned two-step verification on: the settings come
	// next, offering backup codes at once.
	mustWaitPath(t, b, "/account/two-step")
	mustPage(t, b, "/account/two-step", "もう1つの方法を用意しましょう")
	if got := mustRun(t, b, "find the backup-code offer", chromedp.Evaluate[bool](`!!document.querySelector('form[action="/account/two-step/backup-codes"]')`)); !got {
		t.Errorf("the settings after the first passkey do not offer backup codes")
	}

	// The passkeys page lists it, named after the browser.
	mustDo(t, b, "open the passkeys page", chromedp.Navigate(base+"/account/two-step/passkeys"))
	mustPage(t, b, "/account/two-step/passkeys", "パスキー")
	wctx, wcancel := context.WithTimeout(b, 20*time.Second)
	if err := chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS("ul.passkeys li"))); err != nil {
		wcancel()
		for _, m := range console() {
			t.Logf("console: %s %v", m, m.Args)
		}
		t.Fatalf("the new passkey is not listed: %v; the page says %q", err, pageAlert(b))
	}
	wcancel()
	if got := mustRun(t, b, "read the passkeys", chromedp.Text(chromedp.CSS("ul.passkeys"))); !strings.Contains(got, "Linux の Chrome") {
		t.Errorf("passkeys page lists %q, want the passkey made from the offer (Linux の Chrome)", got)
	}

	// Sign out: the sign-in page offers the passkey in the identifier
	// field's autofill (conditional mediation), which Chromium's virtual
	// authenticator answers at once, passwordless.
	mustDo(t, b, "open /account", chromedp.Navigate(base+"/account"))
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustWaitPath(t, b, "/account")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, address)
	mustPasskeySession(t, b)

	// Without the autofill, the "sign in with a passkey" button.
	if _, err := chromedp.Call(b, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `if (window.PublicKeyCredential) PublicKeyCredential.isConditionalMediationAvailable = () => Promise.resolve(false);`,
	}); err != nil {
		t.Fatal(err)
	}
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "sign in with the passkey button",
		chromedp.WaitVisible(chromedp.ID("passkey-signin")),
		chromedp.Click(chromedp.ID("passkey-signin")),
	)
	mustWaitPath(t, b, "/account")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustPasskeySession(t, b)

	// Another account signs in with its password on this browser: no
	// second offer on the device.
	const other = "taro@example.jp"
	mustSignUpByAPIIn(t, ctx, app.URL(), other, "山田太郎", password, "ja")
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	// A person takes seconds to type (the form's rendered_at says so): a
	// second identifier from this address, sent at once, would meet the
	// image check.
	mustDo(t, b, "fill in the sign-in form for another account",
		chromedp.SendKeys(chromedp.ID("identifier"), other),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustRun(t, b, "type for five seconds", chromedp.Evaluate[string](`document.querySelector("input[name=rendered_at]").value = String(Date.now() - 5000)`))
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	mustPage(t, b, "/verify", "確認コードを入力")
	msg = mustInboxMessage(t, ctx, app.URL(), other)
	mustDo(t, b, "type the other account's code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// mustStartPasskeyApp is mustStartBrowserApp on a port chosen before the
// start: the realm's origin (its base URL) must name the port the browser
// uses, which a listen address with port 0 cannot.
func mustStartPasskeyApp(tb testing.TB, ctx context.Context) *cli.App {
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
	app, err := cli.NewApp(ctx, cfg, cli.Options{LogOutput: io.Discard, Delivered: sent.record})
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

// mustPasskeySession checks, through GET /api/v1/me, that the tab's
// session was made by a device-bound passkey alone: AAL 2, methods [hwk].
func mustPasskeySession(tb testing.TB, b context.Context) {
	tb.Helper()
	me := mustRun(tb, b, "read /api/v1/me", chromedp.Evaluate[map[string]any](`fetch("/api/v1/me").then(r => r.json()).then(j => j.session)`, chromedp.EvalAwaitPromise))
	if me["aal"] != float64(2) || strings.Join(anyStrings(me["methods"]), ",") != "hwk" {
		tb.Errorf("session after the passkey = %v, want aal 2, methods [hwk]", me)
	}
}

// mustWaitPath waits until the tab's location has the path (a script
// navigates there).
func mustWaitPath(tb testing.TB, b context.Context, path string) {
	tb.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		loc, err := chromedp.Run(b, chromedp.Location())
		if u, perr := url.Parse(loc); err == nil && perr == nil && u.Path == path {
			if _, err := chromedp.Run(b, chromedp.WaitReady(chromedp.CSS("main h1"))); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("wait for %s: at %s (%v), the page says %q", path, loc, err, pageAlert(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func anyStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, 0, len(l))
	for _, x := range l {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
