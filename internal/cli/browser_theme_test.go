package cli_test

import (
	"context"
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

// sakuraLogo is a small SVG logo.
const sakuraLogo = `<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">` +
	`<circle cx="20" cy="20" r="16" fill="#d63384"/><text x="42" y="27" font-size="18" fill="#d63384">SAKURA</text></svg>`

// mustStartBrandedBrowserApp starts a development instance whose realm is
// さくら商店 with a logo, a brand colour, support and legal links.
func mustStartBrandedBrowserApp(tb testing.TB, ctx context.Context) *cli.App {
	tb.Helper()
	dir := tb.TempDir()
	logo := filepath.Join(dir, "sakura.svg")
	if err := os.WriteFile(logo, []byte(sakuraLogo), 0o644); err != nil {
		tb.Fatal(err)
	}
	cfg := config.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Addr = "127.0.0.1:0"
	cfg.Password.MemoryKiB, cfg.Password.Time = 8192, 1
	cfg.Realms[0].Name = "さくら商店"
	cfg.Realms[0].Branding = config.Branding{
		Logo: logo, PrimaryColor: "#d63384",
		SupportURL: "https://sakura.example.jp/help", SupportContact: "お電話: 0120-123-456（平日 10:00〜18:00）",
		TermsURL: "https://sakura.example.jp/terms", PrivacyURL: "https://sakura.example.jp/privacy",
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

// pageLook is what TestBrowserBrandedPagesFitAPhone reads of a page.
type pageLook struct {
	ScrollWidth  int    `json:"scrollWidth"`
	ClientWidth  int    `json:"clientWidth"`
	LogoAlt      string `json:"logoAlt"`
	LogoLoaded   bool   `json:"logoLoaded"`
	Name         string `json:"name"`
	Text         string `json:"text"`
	Footer       string `json:"footer"`
	ButtonBg     string `json:"buttonBg"`
	HistoryShown string `json:"historyShown"`
	HistoryRows  int    `json:"historyRows"`
	// HistoryClashes are the sign-in history's boxes that overlap or spill:
	// a label over its value, or a label or value past its entry's box.
	HistoryClashes []string `json:"historyClashes"`
}

const readLook = `(() => {
	// Every shown label and value of the history, each against its
	// neighbour and inside its own line and entry (half a pixel of rounding).
	const historyClashes = () => {
		const out = [];
		document.querySelectorAll(".history tbody tr").forEach((tr, i) => {
			const row = tr.getBoundingClientRect();
			tr.querySelectorAll("td").forEach(td => {
				if (getComputedStyle(td).display === "none") return;
				const label = td.querySelector(".label"), value = td.querySelector(".value");
				const boxes = [["value", value.getBoundingClientRect()]];
				if (getComputedStyle(label).display !== "none") {
					const l = label.getBoundingClientRect(), v = boxes[0][1];
					boxes.push(["label", l]);
					if (l.left < v.right - .5 && v.left < l.right - .5 && l.top < v.bottom - .5 && v.top < l.bottom - .5) {
						out.push("entry " + i + ": label " + JSON.stringify(label.textContent) + " overlaps its value " + JSON.stringify(value.textContent));
					}
				}
				const cell = td.getBoundingClientRect();
				for (const [what, b] of boxes) {
					if (b.left < row.left - .5 || b.right > row.right + .5 || b.top < row.top - .5 || b.bottom > row.bottom + .5) {
						out.push("entry " + i + ": " + what + " of " + JSON.stringify(label.textContent) + " spills out of its entry");
					} else if (b.left < cell.left - .5 || b.right > cell.right + .5 || b.top < cell.top - .5 || b.bottom > cell.bottom + .5) {
						out.push("entry " + i + ": " + what + " of " + JSON.stringify(label.textContent) + " spills over the next line");
					}
				}
			});
		});
		return out;
	};
	const img = document.querySelector("header .logo");
	const btn = document.querySelector("main button[type=submit]:not(.secondary)");
	const tr = document.querySelector(".history tbody tr");
	return {
		scrollWidth: document.documentElement.scrollWidth,
		clientWidth: document.documentElement.clientWidth,
		logoAlt: img ? img.alt : "",
		logoLoaded: !!img && img.complete && img.naturalWidth > 0,
		name: (document.querySelector("header .brand-name") || {textContent: ""}).textContent,
		text: document.body.innerText,
		footer: (document.querySelector("footer") || {innerText: ""}).innerText,
		buttonBg: btn ? getComputedStyle(btn).backgroundColor : "",
		historyShown: tr ? getComputedStyle(tr).display : "",
		historyRows: document.querySelectorAll(".history tbody tr").length,
		historyClashes: historyClashes(),
	};
})()`

// TestBrowserBrandedPagesFitAPhone opens the pages of a branded realm in
// Chromium at a phone's size (390×844) and at a desktop's (1280×900): every
// page shows the shop's logo, name and footer, says "Ninsho" nowhere,
// colours its primary button in the brand colour and never scrolls
// sideways; the sign-in history is a table on the desktop and one block
// per entry on the phone.
func TestBrowserBrandedPagesFitAPhone(t *testing.T) {
	const (
		address  = "hanako.yamada.long.address@example.jp"
		name     = "山田花子"
		password = "kumo-no-ue-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*browserTimeout)
	t.Cleanup(cancel)
	app := mustStartBrandedBrowserApp(t, ctx)
	base := app.URL()
	mustSignUpByAPI(t, ctx, base, address, name, password)
	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	shots := os.Getenv("NINSHO_SCREENSHOTS") // a directory to keep screenshots in, for a person to look at

	check := func(size string, width int64, label string) pageLook {
		t.Helper()
		mustDo(t, b, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
		l := mustRun(t, b, "read the page", chromedp.Evaluate[pageLook](readLook))
		if l.ScrollWidth > l.ClientWidth || int64(l.ClientWidth) > width {
			t.Errorf("%s %s: scrolls sideways (scrollWidth %d, clientWidth %d)", size, label, l.ScrollWidth, l.ClientWidth)
		}
		if l.LogoAlt != "さくら商店" || !l.LogoLoaded || l.Name != "さくら商店" {
			t.Errorf("%s %s: logo alt %q loaded %v, name %q", size, label, l.LogoAlt, l.LogoLoaded, l.Name)
		}
		for _, w := range []string{"お問い合わせ", "0120-123-456", "利用規約", "プライバシーポリシー"} {
			if !strings.Contains(l.Footer, w) {
				t.Errorf("%s %s: footer %q lacks %q", size, label, l.Footer, w)
			}
		}
		if strings.Contains(l.Text, "Ninsho") {
			t.Errorf("%s %s: the page says Ninsho", size, label)
		}
		if shots != "" {
			png := mustRun(t, b, "screenshot", chromedp.FullScreenshot(100))
			if err := os.WriteFile(filepath.Join(shots, size+"-"+label+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return l
	}
	for _, size := range []struct {
		name          string
		width, height int64
		mobile        bool
		history       string // display of a history row
	}{
		{"phone", 390, 844, true, "block"},
		{"desktop", 1280, 900, false, "table-row"},
	} {
		if _, err := chromedp.Call(b, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
			Width: size.width, Height: size.height, DeviceScaleFactor: 1, Mobile: size.mobile,
		}); err != nil {
			t.Fatalf("set the %s size: %v", size.name, err)
		}
		for _, p := range []struct{ label, path string }{
			{"signup", "/signup"}, {"signin", "/signin"}, {"password-assistant", "/password-assistant"},
			{"unlock", "/unlock"}, {"not-found", "/no-such-page"},
		} {
			mustDo(t, b, "open "+p.path, chromedp.Navigate(base+p.path))
			l := check(size.name, size.width, p.label)
			if p.label == "signin" && !strings.HasPrefix(l.ButtonBg, "rgb(") || l.ButtonBg == "rgb(0, 0, 0)" {
				t.Errorf("%s: primary button background %s, want the brand colour #d63384", size.name, l.ButtonBg)
			}
		}
		// A refused password: the page with its error still fits.
		mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
		mustSignIn(t, b, address, "wrong-password-1")
		check(size.name, size.width, "signin-error")
		// Signed in (with a code on this new device), the account page and
		// its history.
		mustDo(t, b, "open /signin", chromedp.Navigate(base+"/signin"))
		mustSignIn(t, b, address, password)
		for range 4 {
			loc := mustRun(t, b, "read the location", chromedp.Location())
			captcha := mustRun(t, b, "look for a CAPTCHA", chromedp.Evaluate[string](`(document.querySelector(".captcha img") || {src: ""}).src`))
			switch {
			case captcha != "":
				check(size.name, size.width, "captcha")
				id := captcha[strings.LastIndex(captcha, "/")+1 : len(captcha)-len(".png")]
				mustDo(t, b, "type the answer", chromedp.SendKeys(chromedp.ID("answer"), mustDevCaptchaAnswer(t, ctx, base, id)))
				mustSubmit(t, b, `form:has(#answer) button[type="submit"]`, "次に進む")
			case strings.Contains(loc, "/signin"):
				mustDo(t, b, "type the password again", chromedp.SendKeys(chromedp.ID("password"), password))
				mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
			case strings.Contains(loc, "/verify"):
				check(size.name, size.width, "verify")
				msg := mustInboxTemplate(t, ctx, base, address, "signin_code")
				mustDo(t, b, "type the code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
				mustSubmit(t, b, `form:has(#code) button[type="submit"]`, "確認")
			}
		}
		mustPage(t, b, "/account", "ログインとセキュリティ")
		l := check(size.name, size.width, "account")
		if l.HistoryShown != size.history {
			t.Errorf("%s: a history row is shown as %q, want %q", size.name, l.HistoryShown, size.history)
		}
		if l.HistoryRows < 2 {
			t.Errorf("%s: the history shows %d entries, want the refused and the successful sign-in", size.name, l.HistoryRows)
		}
		for _, c := range l.HistoryClashes {
			t.Errorf("%s ja: history: %s", size.name, c)
		}
		// The English labels are longer ("Date and time", "Why we
		// checked"): they wrap inside their column, over nothing.
		mustDo(t, b, "open /account in English", chromedp.Navigate(base+"/account?lang=en"))
		mustDo(t, b, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
		en := mustRun(t, b, "read the page", chromedp.Evaluate[pageLook](readLook))
		if en.HistoryRows < 2 || !strings.Contains(en.Text, "Date and time") || !strings.Contains(en.Text, "Why we checked") {
			t.Errorf("%s en: the history shows %d entries; text %q", size.name, en.HistoryRows, en.Text)
		}
		for _, c := range en.HistoryClashes {
			t.Errorf("%s en: history: %s", size.name, c)
		}
		if en.ScrollWidth > en.ClientWidth {
			t.Errorf("%s en account: scrolls sideways (scrollWidth %d, clientWidth %d)", size.name, en.ScrollWidth, en.ClientWidth)
		}
		mustDo(t, b, "back to Japanese", chromedp.Navigate(base+"/account?lang=ja"))
		mustDo(t, b, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
		mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	}
}
