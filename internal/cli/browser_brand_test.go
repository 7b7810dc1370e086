package cli_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
)

// brandWalk is what a branded walk needs in one language.
type brandWalk struct {
	lang           string // "ja" or "en"
	acceptLanguage string
	realmName      string
	address        string
	name           string
	password       string
}

// viewport is a browser window size to check a page at.
type viewport struct {
	name          string
	width, height int64
	mobile        bool
}

// brandViewports are the sizes every branded page is checked at. The last
// one stays set for the clicks that follow, so that no size change races a
// click.
var brandViewports = []viewport{
	{"phone", 390, 844, true},
	{"desktop", 1280, 900, false},
}

// TestBrowserBrandedJourneys walks a branded shop's pages in Chromium, once
// in Japanese and once in English: sign-in (a refused empty submit, wrong
// passwords up to the CAPTCHA), the CAPTCHA, the verification code of a new
// device, the account page with its sign-in history, and the password
// assistant. Every page is checked at a desktop (1280×900) and a phone
// (390×844) size: the shop's name and logo are there, no customer-facing text
// says "Ninsho", and nothing scrolls sideways at 390 px.
func TestBrowserBrandedJourneys(t *testing.T) {
	for _, w := range []brandWalk{
		{lang: "ja", acceptLanguage: "ja-JP,ja", realmName: "さくら商店", address: "hanako@example.jp", name: "山田花子", password: "kumo-no-ue-42"},
		{lang: "en", acceptLanguage: "en-US,en", realmName: "Sakura Shop", address: "alice@example.com", name: "Alice Smith", password: "clouds-above-42"},
	} {
		t.Run(w.lang, func(t *testing.T) { walkBranded(t, w) })
	}
}

func walkBranded(t *testing.T, w brandWalk) {
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrandedApp(t, ctx, w)
	base := app.URL()
	mustSignUpByAPIIn(t, ctx, base, w.address, w.name, w.password, w.lang)
	b := mustStartBrowser(t, ctx, chromium, w.acceptLanguage)
	console := recordConsole(t, b)

	// Sign-in page, and an empty submit: every refused field is listed in
	// the error summary, which takes the focus.
	mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
	mustBranded(t, b, w, "/signin", "sign-in")
	mustClickSubmit(t, b, `form[action="/signin"] button[type="submit"]`)
	mustBranded(t, b, w, "/signin", "sign-in refused")
	mustFocusOnErrorSummary(t, b, []string{"identifier", "password"})

	// Wrong passwords from this new device until the CAPTCHA. After three
	// failures the next attempt meets it whatever the timing; a form sent
	// quickly after one failure may meet it sooner (the browser types fast,
	// but a busy machine can make it slower than the speed signal).
	captchas := 0
	for i := 0; i < 4 && captchas == 0; i++ {
		mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
		mustSignIn(t, b, w.address, fmt.Sprintf("wrong-password-%d", i))
		captchas = mustRun(t, b, "find the CAPTCHA", chromedp.Evaluate[int](`document.querySelectorAll(".captcha img").length`))
		if captchas == 0 && i == 3 {
			t.Fatalf("after three wrong passwords the fourth attempt shows no CAPTCHA; the page says %q", pageAlert(b))
		}
	}
	mustBranded(t, b, w, "/signin", "CAPTCHA")
	if captchas != 1 {
		t.Fatalf("the page shows %d CAPTCHA images, want 1", captchas)
	}
	src := mustAttr(t, b, ".captcha img", "src")
	id := src[strings.LastIndexByte(src, '/')+1 : len(src)-len(".png")]
	mustDo(t, b, "type the CAPTCHA answer", chromedp.SendKeys(chromedp.ID("answer"), mustDevCaptchaAnswer(t, ctx, base, id)))
	mustClickSubmit(t, b, `form:has(#answer) button[type="submit"]`)

	// The password again, then the code a new device is asked for.
	mustDo(t, b, "type the password again", chromedp.SendKeys(chromedp.ID("password"), w.password))
	mustClickSubmit(t, b, `form[action="/signin"] button[type="submit"]`)
	mustBranded(t, b, w, "/verify", "verification code")
	msg := mustInboxTemplate(t, ctx, base, w.address, "signin_code")
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustClickSubmit(t, b, `form:has(#code) button[type="submit"]`)

	// The account page with the history: the wrong passwords are in it.
	mustBranded(t, b, w, "/account", "account")
	if rows := mustRun(t, b, "count history rows", chromedp.Evaluate[int](`document.querySelectorAll(".history tbody tr").length`)); rows < 4 {
		t.Errorf("the sign-in history shows %d rows, want the 3 failures and the sign-in", rows)
	}

	// The password assistant, from a signed-out browser.
	mustClickSubmit(t, b, `form[action="/signout"] button[type="submit"]`)
	mustDo(t, b, "open /password-assistant", chromedp.Navigate(base+"/password-assistant"))
	mustBranded(t, b, w, "/password-assistant", "password assistant")
	mustDo(t, b, "type the address", chromedp.SendKeys(chromedp.ID("identifier"), w.address))
	mustClickSubmit(t, b, `form[action="/password-assistant"] button[type="submit"]`)
	mustBranded(t, b, w, "/verify", "password assistant code")
	msg = mustInboxTemplate(t, ctx, base, w.address, "reset_code")
	mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustClickSubmit(t, b, `form:has(#code) button[type="submit"]`)
	mustBranded(t, b, w, "/password-assistant/choose", "password assistant choice")

	for _, m := range console() {
		// Refused submits answer 4xx, which the console reports.
		if m.IsException() {
			t.Errorf("browser console: %s (%s)", m, m.URL)
		}
	}
}

// mustStartBrandedApp starts a development instance whose one realm is a
// shop with a name, a logo file and a brand colour.
func mustStartBrandedApp(tb testing.TB, ctx context.Context, w brandWalk) *cli.App {
	tb.Helper()
	dir := tb.TempDir()
	logo := filepath.Join(dir, "logo.png")
	mustWriteLogo(tb, logo)
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	r := &cfg.Realms[0]
	r.Name, r.DefaultLocale = w.realmName, w.lang
	r.Branding = config.Branding{
		Logo: logo, PrimaryColor: "#d63384",
		SupportURL: "https://sakura.example/help", SupportContact: "0120-000-000",
		TermsURL: "https://sakura.example/terms", PrivacyURL: "https://sakura.example/privacy",
	}
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

// mustWriteLogo writes a 64×32 PNG in the brand colour.
func mustWriteLogo(tb testing.TB, path string) {
	tb.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 32))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.RGBA{0xd6, 0x33, 0x84, 0xff})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		tb.Fatal(err)
	}
}

// brandCheck is what the page tells about its branding at one size.
type brandCheck struct {
	Path        string `json:"path"`
	Lang        string `json:"lang"`
	ScrollWidth int    `json:"scrollWidth"`
	InnerWidth  int    `json:"innerWidth"`
	Header      string `json:"header"`
	LogoAlt     string `json:"logoAlt"`
	LogoWidth   int    `json:"logoWidth"`
	Ninsho      string `json:"ninsho"`
}

// checkBrandJS reads, after the logo has loaded, the page's path and
// language, its widths, the header's text, the logo and any "Ninsho" in the
// text, title or alternative texts a customer sees.
const checkBrandJS = `(async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const logo = document.querySelector("header img");
  let logoWidth = 0;
  if (logo) { try { await logo.decode(); logoWidth = logo.naturalWidth; } catch (e) {} }
  const seen = [document.title, document.body.innerText,
    ...[...document.querySelectorAll("[alt],[title],[aria-label],[placeholder]")].map(e =>
      [e.getAttribute("alt"), e.getAttribute("title"), e.getAttribute("aria-label"), e.getAttribute("placeholder")].join(" "))].join("\n");
  const m = seen.match(/.{0,30}ninsho.{0,30}/i);
  return {
    path: location.pathname, lang: document.documentElement.lang,
    scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
    header: (document.querySelector("header") || {innerText: ""}).innerText,
    logoAlt: logo ? logo.getAttribute("alt") : "", logoWidth,
    ninsho: m ? m[0] : "",
  };
})()`

// mustBranded checks the page the tab shows, at each size of
// brandViewports: the path, the language, the shop's name and logo in the
// header, no "Ninsho" anywhere a customer reads, and no sideways scroll.
func mustBranded(tb testing.TB, ctx context.Context, w brandWalk, path, what string) {
	tb.Helper()
	mustDo(tb, ctx, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
	for _, v := range brandViewports {
		if _, err := chromedp.Call(ctx, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: v.width, Height: v.height, DeviceScaleFactor: 1, Mobile: v.mobile,
		}); err != nil {
			tb.Fatalf("%s: set the %s size: %v", what, v.name, err)
		}
		c := mustRun(tb, ctx, what+": read the page", chromedp.Evaluate[brandCheck](checkBrandJS, chromedp.EvalAwaitPromise))
		at := fmt.Sprintf("%s (%s, %s %d×%d)", what, w.lang, v.name, v.width, v.height)
		if c.Path != path {
			tb.Fatalf("%s: path = %s, want %s; the page says %q", at, c.Path, path, pageAlert(ctx))
		}
		if c.Lang != w.lang {
			tb.Errorf("%s: html lang = %q, want %q", at, c.Lang, w.lang)
		}
		if !strings.Contains(c.Header, w.realmName) {
			tb.Errorf("%s: the header says %q, want the shop's name %q", at, c.Header, w.realmName)
		}
		if c.LogoAlt != w.realmName || c.LogoWidth != 64 {
			tb.Errorf("%s: logo alt %q, width %d; want alt %q and the 64 px logo loaded", at, c.LogoAlt, c.LogoWidth, w.realmName)
		}
		if c.Ninsho != "" {
			tb.Errorf("%s: a customer reads %q", at, c.Ninsho)
		}
		if c.ScrollWidth > c.InnerWidth {
			tb.Errorf("%s: the page is %d px wide in a %d px window: it scrolls sideways", at, c.ScrollWidth, c.InnerWidth)
		}
	}
}

// mustClickSubmit clicks the visible submit button that sel matches and
// waits until the next page has its heading, whatever its status.
func mustClickSubmit(tb testing.TB, ctx context.Context, sel string) {
	tb.Helper()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		tb.Fatalf("click %s: %v", sel, err)
	}
	mustDo(tb, ctx, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
}

// mustFocusOnErrorSummary checks that the focused element is the page's
// error summary and that it links to each of the fields.
func mustFocusOnErrorSummary(tb testing.TB, ctx context.Context, fields []string) {
	tb.Helper()
	got := mustRun(tb, ctx, "read the focus", chromedp.Evaluate[map[string]any](`(() => {
  const a = document.activeElement;
  const s = a && a.closest("[role=alert]");
  return {focused: !!s && s === a, links: s ? [...s.querySelectorAll("a[href^='#']")].map(l => l.getAttribute("href").slice(1)) : [], tag: a ? a.outerHTML.slice(0, 80) : ""};
})()`))
	if got["focused"] != true {
		tb.Fatalf("after a refused submit the focus is on %v, want the error summary", got["tag"])
	}
	links := fmt.Sprint(got["links"])
	for _, f := range fields {
		if !strings.Contains(links, f) {
			tb.Errorf("the error summary links to %s, want a link to #%s", links, f)
		}
	}
}
