package cli_test

import (
	"context"
	"fmt"
	"github.com/ninsho/ninsho/internal/ninsho"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/ninsho/ninsho/internal/backupcode"
	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/totp"
)

// TestBrowserTOTPTrustedDevice walks two-step verification with an
// authenticator app in Chromium, once in Japanese at a desktop's size and
// once in English at a phone's (390×844) with JavaScript off (none of these
// pages needs it; the error summary then takes the focus by its autofocus
// attribute alone). Every page is checked for its path, its language, its
// heading, no error box and no sideways scroll:
//
//   - sign in (the new browser's e-mail code), open /account/two-step, add
//     an authenticator app: the QR code is loaded, the secret is shown in
//     groups of four, one wrong code is refused (the error summary takes
//     the focus), switching the language keeps the same secret, the code
//     computed from the secret on the page turns 2SV on; the offer page
//     follows, and the 10 backup codes are shown once;
//   - sign out, sign in: the second factor is asked, one wrong code is
//     refused, the right one with "don't ask for a code on this device"
//     ticked signs in with AAL 2 (pwd, otp);
//   - sign out, sign in again: no code, AAL 1 (pwd);
//   - the server's clock moves past the re-authentication window: the
//     settings page asks for the password and the app's code again, and
//     comes back;
//   - /account/trusted-devices lists this browser; "remove all", sign out,
//     and the next sign-in asks for the code again; a backup code (switch
//     method) signs in, and 9 are left.
//
// The server runs on an injected clock that follows real time plus an
// offset the test moves forward: codes are computed with internal/totp at
// the server's time, each sign-in's code a step (30 s) after the last one
// accepted, so no code is refused as reused and nothing waits.
func TestBrowserTOTPTrustedDevice(t *testing.T) {
	chromium := mustChromium(t)
	for _, w := range []twoStepWalk{
		{name: "ja desktop", lang: "ja", acceptLanguage: "ja-JP,ja", width: 1280, height: 900,
			address: "hanako@example.jp", person: "山田花子", password: "kumo-no-ue-42"},
		{name: "en phone without JavaScript", lang: "en", acceptLanguage: "en-US,en", width: 390, height: 844, mobile: true, noScript: true,
			address: "alice@example.com", person: "Alice Smith", password: "over-the-clouds-42"},
	} {
		t.Run(w.name, func(t *testing.T) {
			w.t, w.refused = t, map[string]bool{}
			w.text = twoStepTexts[w.lang]
			ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
			t.Cleanup(cancel)
			w.clock = &offsetClock{}
			w.app = mustStartClockedApp(t, ctx, w.clock)
			w.base = w.app.URL()
			mustSignUpByAPIIn(t, ctx, w.base, w.address, w.person, w.password, w.lang)
			w.b = mustStartBrowser(t, ctx, chromium, w.acceptLanguage)
			if _, err := chromedp.Call(w.b, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{
				Width: w.width, Height: w.height, DeviceScaleFactor: 1, Mobile: w.mobile,
			}); err != nil {
				t.Fatalf("set the window size: %v", err)
			}
			if w.noScript {
				if _, err := chromedp.Call(w.b, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
					t.Fatalf("disable JavaScript: %v", err)
				}
			}
			console := recordConsole(t, w.b)
			w.walk(ctx)
			for _, m := range console() {
				// The browser logs the refused wrong codes' 400 pages.
				if m.IsException() || m.Type == chromedp.ConsoleError && !strings.HasSuffix(m.URL, "/favicon.ico") && !w.refused[m.URL] {
					t.Errorf("browser console: %s (%s)", m, m.URL)
				}
			}
		})
	}
}

// walk is the whole journey of TestBrowserTOTPTrustedDevice.
func (w *twoStepWalk) walk(ctx context.Context) {
	t, b := w.t, w.b

	// Sign in: this browser is new, so the e-mail code follows.
	mustDo(t, b, "open /signin", chromedp.Navigate(w.base+"/signin"))
	w.page("/signin", "page.signin.title")
	w.signin()
	w.page("/verify", "page.verify.title")
	msg := mustInboxMessage(t, ctx, w.base, w.address)
	mustDo(t, b, "type the e-mail code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	w.submit(`form:has(#code) button[type="submit"]`, "button.verify", http.StatusOK)
	w.page("/account", "page.account.title")

	// Add an authenticator app on the settings page.
	w.follow("link.two_step_settings")
	w.page("/account/two-step", "page.account_two_step.title")
	w.follow("link.two_step_add_totp")
	w.page("/account/two-step/totp", "page.account_two_step_totp.title")
	mustDo(t, b, "name the app", chromedp.SendKeys(chromedp.ID("label"), w.text["label"]))
	w.submit(`form[action="/account/two-step/totp"] button[type="submit"]`, "button.continue", http.StatusOK)
	w.page("/account/two-step/totp", "page.account_two_step_totp.title")
	shown := mustRun(t, b, "read the QR code and the secret", chromedp.Evaluate[map[string]any](`(async () => {
  const img = document.querySelector("p.qr img");
  if (img) { try { await img.decode(); } catch (e) {} }
  return {
    qrWidth: img ? img.naturalWidth : 0, qrHeight: img ? img.naturalHeight : 0, qrAlt: img ? img.alt : "",
    grouped: (document.querySelector("p.secret code") || {textContent: ""}).textContent.trim(),
    url: (document.querySelector("code.url") || {textContent: ""}).textContent.trim(),
  };
})()`, chromedp.EvalAwaitPromise))
	if shown["qrWidth"] != float64(256) || shown["qrHeight"] != float64(256) || shown["qrAlt"] == "" {
		t.Errorf("QR code: natural size %v×%v, alt %q; want a loaded 256×256 image with a text alternative", shown["qrWidth"], shown["qrHeight"], shown["qrAlt"])
	}
	grouped, _ := shown["grouped"].(string)
	if !regexp.MustCompile(`^[A-Z2-7]{4}( [A-Z2-7]{1,4})+$`).MatchString(grouped) {
		t.Fatalf("the secret is shown as %q, want base32 in groups of four", grouped)
	}
	secret := strings.ReplaceAll(grouped, " ", "")
	if u, err := url.Parse(fmt.Sprint(shown["url"])); err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("secret") != secret {
		t.Errorf("the otpauth URL on the page is %q, want otpauth://totp/… with the secret %s", shown["url"], secret)
	}
	w.codeField(false)
	w.wrongCode(secret, `form[action="/account/two-step/totp/verify"] button[type="submit"]`, "/account/two-step/totp/verify")
	// The refused code leaves the app being added on the page.
	if got := mustRun(t, b, "read the secret again", chromedp.Text(chromedp.CSS("p.secret code"), chromedp.NodeVisible)); got != grouped {
		t.Errorf("after a wrong code the secret shown is %q, want %q", got, grouped)
	}
	// Switching the language keeps the app being added: the same secret,
	// in the other language and back.
	other := map[string]string{"ja": "en", "en": "ja"}[w.lang]
	for _, lang := range []string{other, w.lang} {
		mustDo(t, b, "switch to "+lang, chromedp.Click(chromedp.CSS(`nav.lang a[hreflang=`+lang+`]`), chromedp.NodeVisible))
		mustDo(t, b, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
		got := mustRun(t, b, "read the page", chromedp.Evaluate[map[string]string](`({
  path: location.pathname, lang: document.documentElement.lang,
  grouped: (document.querySelector("p.secret code") || {textContent: ""}).textContent.trim(),
})`))
		if got["path"] != "/account/two-step/totp" || got["lang"] != lang || got["grouped"] != grouped {
			t.Fatalf("switching to %s while adding the app shows %v, want /account/two-step/totp in %s with the secret %s", lang, got, lang, grouped)
		}
	}
	w.page("/account/two-step/totp", "page.account_two_step_totp.title")
	w.typeCode(totpAt(t, secret, w.clock.Now()))
	w.submit(`form[action="/account/two-step/totp/verify"] button[type="submit"]`, "button.verify", http.StatusOK)

	// 2SV is on, and nothing backs the app up: the offer page, then the
	// backup codes, shown once.
	u := w.page("/account/two-step", "page.account_two_step_offer.title")
	if got := u.Query().Get("done"); got != "on" {
		t.Errorf("after the first app: %s, want done=on", u)
	}
	w.submit(`form[action="/account/two-step/backup-codes"] button[type="submit"]`, "button.two_step_backup_codes_first", http.StatusOK)
	w.page("/account/two-step/backup-codes", "page.account_two_step_codes.title")
	codes := mustRun(t, b, "read the backup codes", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ol.codes li code")].map(c => c.textContent.trim())`))
	if len(codes) != 10 {
		t.Errorf("backup codes page shows %d codes, want 10: %q", len(codes), codes)
	}
	seen := map[string]bool{}
	shape := regexp.MustCompile(`^[` + backupcode.Alphabet + `]{5}-[` + backupcode.Alphabet + `]{5}$`)
	for _, c := range codes {
		if !shape.MatchString(c) || seen[c] {
			t.Errorf("backup code %q: want 10 characters of the alphabet in two groups of five, each code once (%q)", c, codes)
		}
		seen[c] = true
	}
	w.follow("link.two_step_codes_saved")
	w.page("/account/two-step", "page.account_two_step.title")
	settings := mustRun(t, b, "read the settings", chromedp.Evaluate[map[string]any](`({
  codes: document.querySelectorAll("ol.codes").length,
  text: document.querySelector("main").innerText,
})`))
	if settings["codes"] != float64(0) {
		t.Errorf("the settings page shows backup codes again, want them shown once")
	}
	text := fmt.Sprint(settings["text"])
	for _, k := range []string{"two_step.settings.on", "backup_codes_10", "label"} {
		if !strings.Contains(text, w.text[k]) {
			t.Errorf("the settings page does not say %q:\n%s", w.text[k], text)
		}
	}

	// Sign out, sign in: the app's code, once wrong, then right with this
	// browser trusted.
	w.signout()
	w.signin()
	w.page("/two-step", "page.two_step.title")
	w.codeField(true)
	if mustRun(t, b, "read the checkbox", chromedp.Evaluate[bool](`document.getElementById("trust_device").checked`)) {
		t.Errorf("the checkbox is ticked before anyone ticked it")
	}
	mustDo(t, b, "tick the checkbox", chromedp.Click(chromedp.ID("trust_device"), chromedp.NodeVisible))
	w.clock.nextStep()
	w.wrongCode(secret, `form:has(#code) button[type="submit"]`, "/two-step")
	w.codeField(true)
	if got := mustRun(t, b, "read the form", chromedp.Text(chromedp.CSS("form:has(#code)"), chromedp.NodeVisible)); !strings.Contains(got, w.text["attempts_left_4"]) {
		t.Errorf("after one wrong code the form says %q, want %q", got, w.text["attempts_left_4"])
	}
	if !mustRun(t, b, "read the checkbox", chromedp.Evaluate[bool](`document.getElementById("trust_device").checked`)) {
		t.Errorf("after a wrong code the checkbox ticked before is not ticked any more")
	}
	w.typeCode(totpAt(t, secret, w.clock.Now()))
	w.submit(`form:has(#code) button[type="submit"]`, "button.verify", http.StatusOK)
	w.page("/account", "page.account.title")
	w.session(2, "pwd", "otp")
	summary := mustRun(t, b, "read the two-step summary", chromedp.Text(chromedp.CSS("section.two-step"), chromedp.NodeVisible))
	for _, k := range []string{"two_step.settings.on", "backup_codes_10"} {
		if !strings.Contains(summary, w.text[k]) {
			t.Errorf("the account page's two-step summary says %q, want %q", summary, w.text[k])
		}
	}

	// Sign out, sign in: this browser is trusted, no code.
	w.signout()
	w.signin()
	w.page("/account", "page.account.title")
	w.session(1, "pwd")

	// The sign-in is older than the re-authentication window: the settings
	// page asks for the password and the code first, then comes back.
	w.clock.advance(realm.DefaultReauthWindow + time.Minute)
	w.follow("link.two_step_settings")
	w.page("/reauth", "page.reauth.title")
	if got := mustAttr(t, b, "#identifier", "value"); got != w.address {
		t.Errorf("re-authentication identifier = %q, want %q", got, w.address)
	}
	mustDo(t, b, "type the password", chromedp.SendKeys(chromedp.ID("password"), w.password))
	w.submit(`form[action="/reauth"] button[type="submit"]`, "button.reauth", http.StatusOK)
	w.page("/two-step", "page.two_step.title")
	w.codeField(false) // re-authentication never trusts a device
	w.typeCode(totpAt(t, secret, w.clock.Now()))
	w.submit(`form:has(#code) button[type="submit"]`, "button.verify", http.StatusOK)
	w.page("/account/two-step", "page.account_two_step.title")
	w.session(2, "pwd", "otp")

	// Trusted devices: this browser, then none; the next sign-in asks.
	mustDo(t, b, "open /account", chromedp.Navigate(w.base+"/account"))
	w.page("/account", "page.account.title")
	w.follow("account.trusted_devices")
	w.page("/account/trusted-devices", "page.trusted_devices.title")
	devices := mustRun(t, b, "read the trusted devices", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.trusted-devices > li h2")].map(h => h.textContent.trim())`))
	if len(devices) != 1 || !strings.Contains(devices[0], w.text["trusted_devices.current"]) {
		t.Errorf("trusted devices %q, want this browser, marked as this device", devices)
	}
	w.submit(`form:has(input[value="forget_all"]) button[type="submit"]`, "trusted_devices.button.forget_all", http.StatusOK)
	w.page("/account/trusted-devices", "page.trusted_devices.title", "trusted_devices.notice.forgot_all")
	if got := mustRun(t, b, "read the list", chromedp.Evaluate[int](`document.querySelectorAll("ul.trusted-devices > li").length`)); got != 0 {
		t.Errorf("after removing all, %d trusted devices are listed", got)
	}
	w.signout()
	w.signin()
	w.page("/two-step", "page.two_step.title")
	w.codeField(true)
	if mustRun(t, b, "read the checkbox", chromedp.Evaluate[bool](`document.getElementById("trust_device").checked`)) {
		t.Errorf("the checkbox is ticked on a fresh second-factor page, want it unticked")
	}
	// The phone is not at hand: a backup code instead, typed as shown.
	w.submit(`form:has(input[name=method][value=backup_code]) button[type="submit"]`, "button.switch_method.backup_code", http.StatusOK)
	w.page("/two-step", "page.two_step.title")
	backup := mustRun(t, b, "read the backup code field", chromedp.Evaluate[map[string]string](`(() => {
  const c = document.getElementById("code"), l = document.querySelector("label[for=code]");
  return {label: l ? l.textContent.trim() : "", autocomplete: c.getAttribute("autocomplete") || "", inputmode: c.getAttribute("inputmode") || "",
    autocapitalize: c.getAttribute("autocapitalize") || "", trust: String(!!document.getElementById("trust_device"))};
})()`))
	if want := (map[string]string{"label": w.text["field.second_factor.backup_code"], "autocomplete": "one-time-code", "inputmode": "", "autocapitalize": "characters", "trust": "true"}); fmt.Sprint(backup) != fmt.Sprint(want) {
		t.Errorf("the backup code field is %v, want %v (letters: no numeric keyboard)", backup, want)
	}
	w.typeCode(codes[0])
	w.submit(`form:has(#code) button[type="submit"]`, "button.verify", http.StatusOK)
	w.page("/account", "page.account.title")
	w.session(2, "pwd", "backup")
	if got := mustRun(t, b, "read the two-step summary", chromedp.Text(chromedp.CSS("section.two-step"), chromedp.NodeVisible)); !strings.Contains(got, w.text["backup_codes_9"]) {
		t.Errorf("after one backup code the account page says %q, want %q", got, w.text["backup_codes_9"])
	}
}

// twoStepWalk is one run of TestBrowserTOTPTrustedDevice: a language, a
// window size, a person, and the running server and browser.
type twoStepWalk struct {
	name, lang, acceptLanguage string
	width, height              int64
	mobile, noScript           bool
	address, person, password  string

	t     *testing.T
	text  map[string]string
	clock *offsetClock
	app   *cli.App
	base  string
	b     context.Context
	// refused are the URLs of the pages that refused a wrong code.
	refused map[string]bool
}

// twoStepTexts are the words the walk reads, per language: page titles,
// buttons, links and messages, keyed as in the catalogue, and a few of
// the walk's own.
var twoStepTexts = map[string]map[string]string{
	"ja": {
		"page.signin.title":                  "ログイン",
		"page.verify.title":                  "確認コードを入力",
		"page.account.title":                 "ログインとセキュリティ",
		"page.account_two_step.title":        "2段階認証の設定",
		"page.account_two_step_totp.title":   "認証アプリを追加",
		"page.account_two_step_offer.title":  "もう1つの方法を用意しましょう",
		"page.account_two_step_codes.title":  "バックアップコード",
		"page.two_step.title":                "2段階認証",
		"page.reauth.title":                  "ご本人確認",
		"page.trusted_devices.title":         "コードを求めないデバイス",
		"button.signin":                      "ログイン",
		"button.signout":                     "ログアウト",
		"button.verify":                      "確認",
		"button.continue":                    "次に進む",
		"button.reauth":                      "確認して続ける",
		"button.two_step_backup_codes_first": "バックアップコードを発行する",
		"trusted_devices.button.forget_all":  "すべてのデバイスを解除",
		"link.two_step_settings":             "2段階認証の設定",
		"link.two_step_add_totp":             "認証アプリを追加",
		"link.two_step_codes_saved":          "保管しました",
		"account.trusted_devices":            "コードを求めないデバイスを確認する",
		"trusted_devices.offer":              "このデバイスではコードを要求しない",
		"trusted_devices.current":            "このデバイス",
		"trusted_devices.notice.forgot_all":  "すべてのデバイスを解除しました。次回のログインではどのデバイスでも2段階認証のコードを求めます。",
		"two_step.settings.on":               "オン",
		"error.totp_incorrect":               "認証アプリのコードが正しくありません。現在表示されているコードを入力してください。何度も失敗する場合は、スマートフォンの日付と時刻を「自動設定」にしてください。",
		"backup_codes_10":                    "使えるバックアップコードは残り10個です。",
		"label":                              "スマホの認証アプリ",
		"attempts_left_4":                    "あと4回入力できます。",
		"backup_codes_9":                     "使えるバックアップコードは残り9個です。",
		"button.switch_method.backup_code":   "バックアップコードを使う",
		"field.second_factor.backup_code":    "バックアップコード",
		"field.second_factor.totp":           "認証アプリに表示されている6桁のコード",
	},
	"en": {
		"page.signin.title":                  "Sign in",
		"page.verify.title":                  "Enter verification code",
		"page.account.title":                 "Sign-in & security",
		"page.account_two_step.title":        "Two-step verification",
		"page.account_two_step_totp.title":   "Add an authenticator app",
		"page.account_two_step_offer.title":  "Set up a second way in",
		"page.account_two_step_codes.title":  "Backup codes",
		"page.two_step.title":                "Two-step verification",
		"page.reauth.title":                  "Confirm it's you",
		"page.trusted_devices.title":         "Devices that skip the code",
		"button.signin":                      "Sign in",
		"button.signout":                     "Sign out",
		"button.verify":                      "Verify",
		"button.continue":                    "Continue",
		"button.reauth":                      "Confirm and continue",
		"button.two_step_backup_codes_first": "Create backup codes",
		"trusted_devices.button.forget_all":  "Remove all devices",
		"link.two_step_settings":             "Two-step verification settings",
		"link.two_step_add_totp":             "Add an authenticator app",
		"link.two_step_codes_saved":          "I have saved them",
		"account.trusted_devices":            "Review devices that skip the code",
		"trusted_devices.offer":              "Don't ask for a code on this device",
		"trusted_devices.current":            "This device",
		"trusted_devices.notice.forgot_all":  "All devices were removed. The next sign-in on any device will ask for a two-step verification code.",
		"two_step.settings.on":               "On",
		"error.totp_incorrect":               "The code from your authenticator app is incorrect. Please enter the code it shows now. If this keeps happening, set your phone's date and time to update automatically.",
		"backup_codes_10":                    "You have 10 backup codes left.",
		"label":                              "Phone app",
		"attempts_left_4":                    "Attempts left: 4.",
		"backup_codes_9":                     "You have 9 backup codes left.",
		"button.switch_method.backup_code":   "Use a backup code instead",
		"field.second_factor.backup_code":    "Backup code",
		"field.second_factor.totp":           "The 6-digit code shown in your authenticator app",
	},
}

// page checks that the tab shows the page at path in the walk's language,
// with the heading titleKey, no error box, the notice noticeKey if given,
// and nothing that scrolls sideways; it returns the page's URL.
func (w *twoStepWalk) page(path, titleKey string, noticeKey ...string) *url.URL {
	t, b := w.t, w.b
	t.Helper()
	mustDo(t, b, "wait for the heading", chromedp.WaitVisible(chromedp.CSS("main h1")))
	got := mustRun(t, b, "read the page", chromedp.Evaluate[map[string]any](`({
  href: location.href, lang: document.documentElement.lang,
  h1: document.querySelector("main h1").textContent.trim(),
  notice: (document.querySelector("main .notice") || {textContent: ""}).textContent.trim(),
  scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth,
})`))
	u, err := url.Parse(fmt.Sprint(got["href"]))
	if err != nil {
		t.Fatalf("location %v: %v", got["href"], err)
	}
	if u.Path != path {
		t.Fatalf("location = %s, want path %s; the page says %q", u, path, pageAlert(b))
	}
	at := fmt.Sprintf("%s (%s %d×%d)", path, w.lang, w.width, w.height)
	if got["lang"] != w.lang {
		t.Errorf("%s: html lang = %v, want %q", at, got["lang"], w.lang)
	}
	if want := w.text[titleKey]; got["h1"] != want {
		t.Errorf("%s: heading = %v, want %q", at, got["h1"], want)
	}
	if alert := pageAlert(b); alert != "" {
		t.Errorf("%s: error box says %q, want none", at, alert)
	}
	for _, k := range noticeKey {
		if want := w.text[k]; got["notice"] != want {
			t.Errorf("%s: notice = %v, want %q", at, got["notice"], want)
		}
	}
	if sw, iw := got["scrollWidth"].(float64), got["innerWidth"].(float64); sw > iw {
		t.Errorf("%s: the page is %v px wide in a %v px window: it scrolls sideways", at, sw, iw)
	}
	return u
}

// submit clicks the visible submit button sel, after checking its label
// (labelKey), and checks the status of the page it leads to.
func (w *twoStepWalk) submit(sel, labelKey string, status int64) {
	t, b := w.t, w.b
	t.Helper()
	if got := mustRun(t, b, "read the button "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible)); strings.TrimSpace(got) != w.text[labelKey] {
		t.Errorf("button %s says %q, want %q", sel, got, w.text[labelKey])
	}
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	if res.Status != status {
		t.Fatalf("click %s: got %d %s from %s, want %d; the page says %q", sel, res.Status, res.StatusText, res.URL, status, pageAlert(b))
	}
}

// follow clicks the link of the page's main part that reads labelKey, as a
// person would, and waits for the page it leads to.
func (w *twoStepWalk) follow(labelKey string) {
	t, b := w.t, w.b
	t.Helper()
	label := w.text[labelKey]
	href := mustRun(t, b, "find the link "+label, chromedp.Evaluate[string](fmt.Sprintf(`(() => {
  const a = [...document.querySelectorAll("main a")].find(a => a.textContent.trim() === %q);
  return a ? a.getAttribute("href") : "";
})()`, label)))
	if href == "" {
		t.Fatalf("no link reads %q; the page says %q", label, pageAlert(b))
	}
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(fmt.Sprintf(`main a[href=%q]`, href)), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("follow %q (%s): %v", label, href, err)
	}
	if res.Status != http.StatusOK {
		t.Fatalf("follow %q (%s): got %d from %s, want 200", label, href, res.Status, res.URL)
	}
}

// signin fills in the sign-in form and sends it.
func (w *twoStepWalk) signin() {
	t, b := w.t, w.b
	t.Helper()
	w.page("/signin", "page.signin.title")
	mustDo(t, b, "fill in the sign-in form",
		chromedp.SendKeys(chromedp.ID("identifier"), w.address),
		chromedp.SendKeys(chromedp.ID("password"), w.password),
	)
	w.submit(`form[action="/signin"] button[type="submit"]`, "button.signin", http.StatusOK)
}

// signout signs out from the account page.
func (w *twoStepWalk) signout() {
	t, b := w.t, w.b
	t.Helper()
	mustDo(t, b, "open /account", chromedp.Navigate(w.base+"/account"))
	w.page("/account", "page.account.title")
	w.submit(`form[action="/signout"] button[type="submit"]`, "button.signout", http.StatusOK)
}

// codeField checks the page's code field (a phone's keyboard offers the
// code from a message, and digits only) and whether the page offers to
// trust this device, unticked.
func (w *twoStepWalk) codeField(trustOffered bool) {
	t, b := w.t, w.b
	t.Helper()
	for attr, want := range map[string]string{"autocomplete": "one-time-code", "inputmode": "numeric"} {
		if got := mustAttr(t, b, "#code", attr); got != want {
			t.Errorf("#code %s = %q, want %q", attr, got, want)
		}
	}
	if got := mustRun(t, b, "read the label", chromedp.Text(chromedp.CSS("label[for=code]"), chromedp.NodeVisible)); got != w.text["field.second_factor.totp"] {
		t.Errorf("the code field is labelled %q, want %q", got, w.text["field.second_factor.totp"])
	}
	box := mustRun(t, b, "read the checkbox", chromedp.Evaluate[map[string]any](`(() => {
  const c = document.getElementById("trust_device");
  const l = c && document.querySelector("label[for=trust_device]");
  return {present: !!c, type: c ? c.type : "", label: l ? l.textContent.trim() : ""};
})()`))
	if box["present"] != trustOffered {
		t.Fatalf("trust checkbox present = %v, want %v", box["present"], trustOffered)
	}
	if trustOffered && (box["type"] != "checkbox" || box["label"] != w.text["trusted_devices.offer"]) {
		t.Errorf("trust checkbox: type %v, label %q; want a checkbox labelled %q", box["type"], box["label"], w.text["trusted_devices.offer"])
	}
}

// typeCode types code into the (emptied) code field.
func (w *twoStepWalk) typeCode(code string) {
	w.t.Helper()
	mustDo(w.t, w.b, "type the code",
		chromedp.WaitVisible(chromedp.ID("code")),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("code").value = ""`),
		chromedp.SendKeys(chromedp.ID("code"), code),
	)
}

// wrongCode types a code that is none of the app's codes that the server
// accepts now (its step and a step either side), sends the form with the
// button sel, and checks the answer at path (where the form posts): a 400
// page in the walk's language, the error summary focused and linking to
// the field, which is marked invalid and empty again.
func (w *twoStepWalk) wrongCode(secret, sel, path string) {
	t, b := w.t, w.b
	t.Helper()
	now := w.clock.Now()
	near := map[string]bool{}
	for d := -2; d <= 2; d++ {
		near[totpAt(t, secret, now.Add(time.Duration(d)*totp.Period*time.Second))] = true
	}
	wrong := "000000"
	for i := 1; near[wrong]; i++ {
		wrong = strings.Repeat(fmt.Sprint(i), 6)
	}
	w.typeCode(wrong)
	res, err := chromedp.RunResponse(b, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil {
		t.Fatalf("send a wrong code: %v", err)
	}
	w.refused[res.URL] = true
	if res.Status != http.StatusBadRequest {
		t.Errorf("a wrong code answers %d, want 400", res.Status)
	}
	mustDo(t, b, "wait for the summary", chromedp.WaitVisible(chromedp.CSS("#form-error a")))
	if got := mustRun(t, b, "read the path", chromedp.Evaluate[string](`location.pathname`)); got != path {
		t.Errorf("a wrong code leads to %s, want %s", got, path)
	}
	if got := mustRun(t, b, "read html lang", chromedp.Evaluate[string](`document.documentElement.lang`)); got != w.lang {
		t.Errorf("%s after a wrong code: html lang = %q, want %q", path, got, w.lang)
	}
	mustFocusOnErrorSummary(t, b, []string{"code"})
	if got := pageAlert(b); !strings.Contains(got, w.text["error.totp_incorrect"]) {
		t.Errorf("%s: the error summary says %q, want %q", path, got, w.text["error.totp_incorrect"])
	}
	field := mustRun(t, b, "read the code field", chromedp.Evaluate[map[string]string](`(() => {
  const c = document.getElementById("code");
  return {invalid: c.getAttribute("aria-invalid") || "", describedby: c.getAttribute("aria-describedby") || "", value: c.value};
})()`))
	if field["invalid"] != "true" || !strings.Contains(field["describedby"], "code-error") || field["value"] != "" {
		t.Errorf("%s: after a wrong code the field is %v, want aria-invalid, described by code-error, and empty", path, field)
	}
}

// session checks, through GET /api/v1/me, the tab's session: its AAL and
// the methods that made it.
func (w *twoStepWalk) session(aal int, methods ...string) {
	t, b := w.t, w.b
	t.Helper()
	me := mustRun(t, b, "read /api/v1/me", chromedp.Evaluate[map[string]any](`fetch("/api/v1/me").then(r => r.json()).then(j => j.session)`, chromedp.EvalAwaitPromise))
	if me["aal"] != float64(aal) || strings.Join(anyStrings(me["methods"]), ",") != strings.Join(methods, ",") {
		t.Errorf("session = %v, want aal %d, methods %v", me, aal, methods)
	}
}

// totpAt is the authenticator app's code for secret at t.
func totpAt(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.CodeAt(secret, t)
	if err != nil {
		tb.Fatalf("TOTP code: %v", err)
	}
	return c
}

// offsetClock is real time (so that forms, leases and the browser's
// cookies see time pass) plus an offset the test moves forward.
type offsetClock struct{ ninsho.OffsetClock }

func (c *offsetClock) advance(d time.Duration) { c.Advance(d) }

// nextStep moves the clock a whole TOTP step forward: a code computed
// after it is of a later step than any code accepted before, so the
// server never refuses it as reused.
func (c *offsetClock) nextStep() { c.advance(totp.Period * time.Second) }

// mustStartClockedApp is mustStartBrowserApp on the clock c.
func mustStartClockedApp(tb testing.TB, ctx context.Context, c *offsetClock) *cli.App {
	tb.Helper()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.Addr = "127.0.0.1:0"
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
