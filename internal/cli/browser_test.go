package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// browserTimeout bounds the whole browser test: starting Chromium, every
// page and every wait.
const browserTimeout = 90 * time.Second

// TestBrowserSignupVerifySignoutSignin walks the hosted pages in Debian's
// Chromium as a Japanese person on a phone would: sign up with an address the
// phone capitalised, enter the code from the development inbox, see the
// account, sign out and sign in again. The browser asks for Japanese, the
// default realm's language; every page must answer in it.
func TestBrowserSignupVerifySignoutSignin(t *testing.T) {
	const (
		typed    = "Hanako@example.jp" // as a phone's keyboard capitalises it
		address  = "hanako@example.jp" // what the server keeps and shows
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

	// Sign-up page: Japanese, and fields that password managers and phone
	// keyboards understand.
	mustDo(t, b, "open /signup", chromedp.Navigate(base+"/signup"))
	mustPage(t, b, "/signup", "アカウントを作成")
	for _, c := range []struct{ sel, attr, want string }{
		{"#identifier", "autocomplete", "username"},
		{"#identifier", "autocapitalize", "none"},
		{"#name", "autocomplete", "name"},
		{"#password", "autocomplete", "new-password"},
		{"#password_confirmation", "autocomplete", "new-password"},
	} {
		if got := mustAttr(t, b, c.sel, c.attr); got != c.want {
			t.Errorf("signup %s %s = %q, want %q", c.sel, c.attr, got, c.want)
		}
	}
	mustDo(t, b, "fill in the sign-up form",
		chromedp.SendKeys(chromedp.ID("identifier"), typed),
		chromedp.SendKeys(chromedp.ID("name"), name),
		chromedp.SendKeys(chromedp.ID("password"), password),
		chromedp.SendKeys(chromedp.ID("password_confirmation"), password),
	)
	mustSubmit(t, b, `form[action="/signup"] button[type="submit"]`, "アカウントを作成")

	// Verification page: the code arrives in the development inbox under the
	// normalised address.
	u := mustPage(t, b, "/verify", "確認コードを入力")
	if u.Query().Get("flow") == "" {
		t.Errorf("verify URL = %s, want a flow parameter", u)
	}
	for _, c := range []struct{ sel, attr, want string }{
		{"#code", "autocomplete", "one-time-code"},
		{"#code", "inputmode", "numeric"},
	} {
		if got := mustAttr(t, b, c.sel, c.attr); got != c.want {
			t.Errorf("verify %s %s = %q, want %q", c.sel, c.attr, got, c.want)
		}
	}
	dest := mustRun(t, b, "read the destination", chromedp.Text(chromedp.CSS("p.destination"), chromedp.NodeVisible))
	// "sent" once the dispatcher handed the message over, "we're sending"
	// while it is still queued (the delivery status line says which).
	if sent, sending := "h*****@e******.jp に確認コードを送信しました。", "h*****@e******.jp に確認コードをお送りします。"; dest != sent && dest != sending {
		t.Errorf("verify page says %q, want %q or %q", dest, sent, sending)
	}
	msg := mustInboxMessage(t, ctx, base, address)
	if msg.Template != "signup_code" || msg.Locale != "ja" {
		t.Errorf("inbox message template, locale = %q, %q, want %q, %q", msg.Template, msg.Locale, "signup_code", "ja")
	}
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")

	// Account page: signed in, the name and the lowercase address.
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, address)

	// Sign out: the account page is gone. Sign in with the address as typed
	// the first time.
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	mustPage(t, b, "/signin", "ログイン")
	mustDo(t, b, "open /account signed out", chromedp.Navigate(base+"/account"))
	mustPage(t, b, "/signin", "ログイン")
	if got := mustAttr(t, b, "#password", "autocomplete"); got != "current-password" {
		t.Errorf("signin #password autocomplete = %q, want %q", got, "current-password")
	}
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), typed),
		chromedp.SendKeys(chromedp.ID("password"), password),
	)
	mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	mustPage(t, b, "/account", "ログインとセキュリティ")
	mustAccount(t, b, name, address)

	shot := mustRun(t, b, "screenshot the account page", chromedp.Screenshot(chromedp.CSS("main"), chromedp.NodeVisible))
	if !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Errorf("screenshot starts %q, want a PNG", shot[:min(len(shot), 8)])
	}
	path := filepath.Join(t.TempDir(), "account.png")
	if err := os.WriteFile(path, shot, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("account page screenshot: %s (%d bytes)", path, len(shot))

	// No page may log an error or throw: a blocked script or stylesheet
	// (the CSP) or a failed request shows here. The browser's own request
	// for /favicon.ico, which the server does not serve, is left out.
	for _, m := range console() {
		if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// recordConsole records what the pages of the tab write to the console,
// from now until the returned func is called; the func returns the
// messages.
func recordConsole(tb testing.TB, ctx context.Context) func() []chromedp.ConsoleMessage {
	tb.Helper()
	ctx, cancel := context.WithCancel(ctx)
	msgs := chromedp.Console(ctx) // subscribes now
	var (
		mu  sync.Mutex
		got []chromedp.ConsoleMessage
	)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range msgs {
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, m)
			mu.Unlock()
		}
	}()
	stop := func() []chromedp.ConsoleMessage {
		cancel()
		<-done
		mu.Lock()
		defer mu.Unlock()
		return got
	}
	tb.Cleanup(func() { stop() })
	return stop
}

// mustChromium returns the Chromium to drive: /usr/bin/chromium, else
// chromium on PATH. Without one the test is skipped, except under CI=true,
// where it fails: CI installs Chromium and must run the test.
func mustChromium(tb testing.TB) string {
	tb.Helper()
	path := "/usr/bin/chromium"
	if fi, err := os.Stat(path); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
		if path, err = exec.LookPath("chromium"); err != nil {
			if os.Getenv("CI") == "true" {
				tb.Fatalf("chromium not found at /usr/bin/chromium or on PATH; CI must install it (apt-get install chromium)")
			}
			tb.Skip("chromium not found at /usr/bin/chromium or on PATH; install Debian's chromium to run the browser test")
		}
	}
	return path
}

// mustStartBrowserApp starts a development instance on a free port with its
// data in a temporary directory.
func mustStartBrowserApp(tb testing.TB, ctx context.Context) *cli.App {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Addr = "127.0.0.1:0"
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

// lockedBuffer collects the browser's output, which the allocator writes
// from its own goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *lockedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *lockedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// mustStartBrowser starts headless Chromium with a fresh profile and returns
// the context of its first tab, whose Accept-Language and navigator.language
// are acceptLanguage. The flags are built from scratch, not from
// chromedp.DefaultExecAllocatorOptions, so that nothing asks the browser to
// reach the network. The browser lives until ctx ends or the test is
// cleaned up; a failed test logs what the browser printed.
//
// The language is set over the protocol, not with --lang: Debian's chromium
// package ships only the en-US locale, and --lang would be one more flag.
func mustStartBrowser(tb testing.TB, ctx context.Context, execPath, acceptLanguage string) context.Context {
	tb.Helper()
	out := &lockedBuffer{}
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(execPath),
		// Flag, not chromedp.Headless and chromedp.DisableGPU: those add
		// hide-scrollbars, mute-audio and enable-unsafe-swiftshader.
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(filepath.Join(tb.TempDir(), "chromium-profile")),
		chromedp.CombinedOutput(out),
	)
	bctx, bcancel := chromedp.NewContext(actx)
	tb.Cleanup(func() {
		bcancel()
		acancel() // waits until the browser has exited
		if tb.Failed() {
			tb.Logf("chromium output:\n%s", out.String())
		}
	})
	// The first action starts the browser and binds it to bctx.
	if err := chromedp.Do(bctx); err != nil {
		tb.Fatalf("start %s: %v\n%s", execPath, err, out.String())
	}
	v, err := chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{})
	if err != nil {
		tb.Fatalf("browser version: %v", err)
	}
	if _, err := chromedp.Call(bctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{
		// A person's Chromium, not a headless one: the risk engine asks
		// automation for a CAPTCHA, which is another test's subject.
		UserAgent: strings.ReplaceAll(v.UserAgent, "HeadlessChrome", "Chrome"), AcceptLanguage: acceptLanguage,
	}); err != nil {
		tb.Fatalf("set the browser language: %v", err)
	}
	return bctx
}

// mustDo runs actions on the tab, failing the test with what it was doing.
func mustDo(tb testing.TB, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
}

// mustRun runs one action on the tab and returns its value.
func mustRun[T any](tb testing.TB, ctx context.Context, what string, a chromedp.Action[T]) T {
	tb.Helper()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		tb.Fatalf("%s: %v", what, err)
	}
	return v
}

// mustAttr returns an attribute of the element that sel matches, once the
// element is visible; "" when it has none.
func mustAttr(tb testing.TB, ctx context.Context, sel, name string) string {
	tb.Helper()
	r := mustRun(tb, ctx, "read "+sel+" "+name, chromedp.AttributeValue(chromedp.CSS(sel), name, chromedp.NodeVisible))
	return r.Value
}

// mustSubmit clicks the visible submit button that sel matches, after
// checking its label, and waits until the page it leads to has loaded. The
// page must answer 200: a redirect is followed, an error page fails.
func mustSubmit(tb testing.TB, ctx context.Context, sel, label string) {
	tb.Helper()
	if got := mustRun(tb, ctx, "read the button "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)); strings.TrimSpace(got) != label {
		tb.Errorf("button %s says %q, want %q", sel, got, label)
	}
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		tb.Fatalf("click %s: %v", sel, err)
	}
	if res.Status != http.StatusOK {
		tb.Fatalf("click %s: got %d %s from %s, want 200; the page says %q", sel, res.Status, res.StatusText, res.URL, pageAlert(ctx))
	}
}

// pageAlert returns the text of the page's error box, for failure messages.
func pageAlert(ctx context.Context) string {
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("[role=alert]") || {textContent: ""}).textContent.trim()`))
	if err != nil {
		return "(" + err.Error() + ")"
	}
	return s
}

// mustPage checks that the tab shows the page at path, in Japanese, with the
// heading h1, and returns its URL.
func mustPage(tb testing.TB, ctx context.Context, path, h1 string) *url.URL {
	tb.Helper()
	mustDo(tb, ctx, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
	loc := mustRun(tb, ctx, "read the location", chromedp.Location())
	u, err := url.Parse(loc)
	if err != nil {
		tb.Fatalf("location %q: %v", loc, err)
	}
	if u.Path != path {
		tb.Fatalf("location = %s, want path %s; the page says %q", loc, path, pageAlert(ctx))
	}
	if got := mustRun(tb, ctx, "read html lang", chromedp.Evaluate[string](`document.documentElement.lang`)); got != "ja" {
		tb.Errorf("%s: html lang = %q, want %q", path, got, "ja")
	}
	if got := mustRun(tb, ctx, "read the heading", chromedp.Text(chromedp.CSS("main h1"))); got != h1 {
		tb.Errorf("%s: heading = %q, want %q", path, got, h1)
	}
	if alert := pageAlert(ctx); alert != "" {
		tb.Errorf("%s: error box says %q, want none", path, alert)
	}
	return u
}

// mustAccount checks that the account page shows the name and the verified
// address, under their Japanese labels.
func mustAccount(tb testing.TB, ctx context.Context, name, address string) {
	tb.Helper()
	shown := mustRun(tb, ctx, "read the account details", chromedp.Evaluate[map[string]string](`Object.fromEntries(
		[...document.querySelectorAll("dl.account dt")].map(dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))`))
	if got := shown["氏名"]; got != name {
		tb.Errorf("account 氏名 = %q, want %q (all: %q)", got, name, shown)
	}
	if got, want := shown["メールアドレス"], address+" ✓ "; !strings.HasPrefix(got, want) {
		tb.Errorf("account メールアドレス = %q, want %q then the verified label (all: %q)", got, want, shown)
	}
}

// inboxMessage is a message of the development inbox API.
type inboxMessage struct {
	Code     string `json:"code"`
	Template string `json:"template"`
	Locale   string `json:"locale"`
}

// mustInboxMessage waits until the development inbox has stored a message
// with a code for to (delivery is asynchronous), then returns the newest
// message to to that the inbox API lists, read with a plain HTTP client.
func mustInboxMessage(tb testing.TB, ctx context.Context, base, to string) inboxMessage {
	tb.Helper()
	deliveriesOf(tb, base).wait(tb, ctx, to, hasCode)
	msgs, err := devMessages(ctx, base+"/dev/api/messages?"+url.Values{"to": {to}}.Encode())
	if err != nil || len(msgs) == 0 || msgs[0].Code == "" {
		tb.Fatalf("a code for %s was delivered, but the inbox API lists %+v (%v)", to, msgs, err)
	}
	return msgs[0]
}

func devMessages(ctx context.Context, endpoint string) ([]inboxMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint, nil)
	if err != nil {
		return nil, err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", endpoint, res.Status)
	}
	var body struct {
		Messages []inboxMessage `json:"messages"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("GET %s: %w", endpoint, err)
	}
	return body.Messages, nil
}
