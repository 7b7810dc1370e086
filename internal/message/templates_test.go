package message

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"unicode/utf8"

	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/theme"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// MustTemplates returns the built-in templates or stops the test.
func MustTemplates(tb testing.TB) *Templates {
	tb.Helper()
	t, err := DefaultTemplates()
	if err != nil {
		tb.Fatalf("DefaultTemplates: %v", err)
	}
	return t
}

// goldenVars are the variables of the golden renderings, per locale.
func goldenVars(locale string) map[string]string {
	name, device := "Taro Yamada", "Chrome on Windows"
	if locale == LocaleJA {
		name, device = "山田 太郎", "Windows の Chrome" // device.Describe's words
	}
	return map[string]string{"code": "123456", "name": name, "minutes": "10", "host": "id.example.com",
		"base_url": "https://id.example.com",
		"time":     "2026-11-25 10:02 JST", "device": device, "network": "203.0.113.0/24",
		"link": "https://id.example.com/signin/not-me?token=TOKEN"}
}

// goldenBrand is the branded realm of the golden renderings: a logo file
// (served at base_url/brand/logo), a pink just at AA on white (4.50:1),
// a support page and contact line and both legal links. A realm has one
// name; the goldens name it in the language of each locale so that each
// reads as a shop of that language would.
func goldenBrand(locale string) Brand {
	b := Brand{
		Name: "Sakura Shop", LogoURL: "https://id.example.com/brand/logo", Color: "#d63384",
		SupportURL: "https://shop.example.jp/help", SupportContact: "Phone 0120-000-000 (weekdays 10:00-18:00)",
		TermsURL: "https://shop.example.jp/terms", PrivacyURL: "https://shop.example.jp/privacy",
	}
	if locale == LocaleJA {
		b.Name = "さくら商店"
		b.SupportContact = "お電話：0120-000-000（平日 10:00〜18:00）"
	}
	return b
}

var allChannels = []Channel{ChannelEmail, ChannelSMS, ChannelVoice}

var allIDs = []string{TemplateSignupCode, TemplateSigninCode, TemplateAccountExists, TemplateSigninAlert, TemplateUnlockCode, TemplateResetCode, TemplatePasswordChanged, TemplateCodeLimit, TemplateTwoStepChanged, TemplateTwoStepCode, TemplateSecondFactorFailed, TemplateIdentifierRemoved, TemplateAccountClosure, TemplateContactCode, TemplateContactChanged, TemplateContactTaken, TemplateHelpCode, TemplateHelpReceived, TemplateHelpAnswer, TemplateSignupReminder, TemplateRecoveryOpened, TemplateRecoveryApproved, TemplateRecoveryRejected, TemplateAccountSuspended, TemplateAccountReinstated, TemplateOrgInvitation, TemplateOrgApproval, TemplateOrgApproved, TemplateOrgRejected}

// varsFor are the golden variables that template id is given.
func varsFor(id, loc string) map[string]string {
	vars := goldenVars(loc)
	if id == TemplateContactChanged {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["change"] = "email_changed"
		vars["link"] = "https://id.example.com/account/contact-undo?token=TOKEN"
	}
	if id == TemplateHelpReceived || id == TemplateHelpAnswer {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["ref"], vars["due"] = "H-7KP4-MX3C", "2026-11-27 10:02 JST"
		vars["text"] = "Please try signing in with your phone number.\n<b>Not bold</b>"
	}
	if id == TemplateContactCode || id == TemplateHelpCode || id == TemplateHelpReceived || id == TemplateHelpAnswer {
		vars["name"] = "" // a contact change's code never carries the name
	}
	if id == TemplateAccountExists || id == TemplateCodeLimit || id == TemplateContactTaken {
		delete(vars, "code")
		delete(vars, "minutes")
	}
	if id == TemplateSecondFactorFailed {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["after"] = "password"
	}
	if id == TemplateAccountClosure {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["change"], vars["until"] = "closed", "2026-12-25 18:00 JST"
	}
	if id == TemplateTwoStepChanged {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["change"], vars["method"] = "method_added", "totp"
	}
	if id == TemplateRecoveryOpened || id == TemplateRecoveryApproved || id == TemplateRecoveryRejected {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["reference"], vars["due"] = "R-7KP4-MX3C", "2026-11-27 18:00 JST"
		vars["reason"], vars["instead"] = "The photo is blurred.", "A sharp photo of the front of your driver's licence."
	}
	if id == TemplateAccountSuspended || id == TemplateAccountReinstated {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["reference"], vars["reason"] = "S-7KP4-MX3C", "payment_problem"
		vars["link"] = "https://id.example.com/help/request?ref=S-7KP4-MX3C&step=suspended"
		if id == TemplateAccountReinstated {
			delete(vars, "reason")
			vars["link"] = "https://id.example.com/signin"
		}
	}
	if isOrg(id) {
		delete(vars, "code")
		delete(vars, "minutes")
		delete(vars, "time")
		delete(vars, "device")
		delete(vars, "network")
		vars["name"], vars["org"], vars["until"] = "", "Sakura Trading", "2026-12-02 10:02 JST"
		vars["inviter"], vars["role"] = "Taro Yamada", "admin"
		vars["link"] = "https://id.example.com/orgs/invitation?token=TOKEN"
		if loc == LocaleJA {
			vars["org"], vars["inviter"] = "さくら商事", "山田 太郎"
		}
		if id == TemplateOrgApproval {
			delete(vars, "inviter")
			delete(vars, "role")
			vars["link"] = "https://id.example.com/orgs/approval?token=TOKEN"
		}
		if id == TemplateOrgApproved || id == TemplateOrgRejected {
			delete(vars, "inviter")
			delete(vars, "role")
			delete(vars, "until")
			vars["name"], vars["link"] = "Hanako", "https://id.example.com/account/orgs/ORG"
			if loc == LocaleJA {
				vars["name"] = "山田 花子"
			}
		}
	}
	if id == TemplateIdentifierRemoved {
		delete(vars, "code")
		delete(vars, "minutes")
		vars["kind"], vars["identifier"] = "email", "h****@example.jp"
	}
	return vars
}

// isOrg reports whether id is a template of organisations (e-mail only).
func isOrg(id string) bool {
	return id == TemplateOrgInvitation || id == TemplateOrgApproval || id == TemplateOrgApproved || id == TemplateOrgRejected
}

// TestTwoStepChangedNamesEachChange renders the two-step alert for every
// change in both languages: each names its own change in the subject and
// the SMS, and the method only where there is one.
func TestTwoStepChangedNamesEachChange(t *testing.T) {
	tm := MustTemplates(t)
	want := map[string]map[string]string{
		LocaleJA: {"turned_on": "2段階認証がオンになりました", "turned_off": "2段階認証がオフになりました", "method_added": "確認方法が追加されました", "method_removed": "確認方法が削除されました", "backup_codes": "新しいバックアップコードが発行されました", "phone_changed": "2段階認証の電話番号が変更されました"},
		LocaleEN: {"turned_on": "two-step verification was turned on", "turned_off": "two-step verification was turned off", "method_added": "method was added", "method_removed": "method was removed", "backup_codes": "new backup codes were created", "phone_changed": "the phone number for two-step verification was changed"},
	}
	for loc, changes := range want {
		for change, text := range changes {
			vars := varsFor(TemplateTwoStepChanged, loc)
			vars["change"], vars["method"] = change, ""
			if change == "method_added" || change == "method_removed" || change == "phone_changed" {
				vars["method"] = "voice"
			}
			mail, err := tm.Render(ChannelEmail, TemplateTwoStepChanged, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			sms, err := tm.Render(ChannelSMS, TemplateTwoStepChanged, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.ToLower(mail.Subject), text) || !strings.Contains(strings.ToLower(sms.Text), text) {
				t.Errorf("%s %s: subject %q, SMS %q; want both to say %q", loc, change, mail.Subject, sms.Text, text)
			}
			method := map[string]string{LocaleJA: "確認方法：音声通話", LocaleEN: "Method: voice call"}[loc]
			if got := strings.Contains(mail.Text, method); got != (vars["method"] != "") {
				t.Errorf("%s %s: names the method %v, want %v:\n%s", loc, change, got, vars["method"] != "", mail.Text)
			}
		}
	}
}

// TestTemplatesGolden renders every template on every channel in both
// languages for the branded realm and compares it with
// testdata/<id>.<channel>.<locale>.golden. Every e-mail and SMS must exist
// in both languages, and nothing may say "Ninsho": the customer sees the shop.
func TestTemplatesGolden(t *testing.T) {
	tm := MustTemplates(t)
	if got := tm.IDs(); strings.Join(got, ",") != "account_closure,account_exists,account_reinstated,account_suspended,code_limit,contact_changed,contact_code,contact_taken,help_answer,help_code,help_received,identifier_removed,org_approval,org_approved,org_invitation,org_rejected,password_changed,recovery_approved,recovery_opened,recovery_rejected,reset_code,second_factor_failed,signin_alert,signin_code,signup_code,signup_reminder,two_step_changed,two_step_code,unlock_code" {
		t.Errorf("IDs() = %v, want %v", got, allIDs)
	}
	for _, id := range allIDs {
		for _, ch := range allChannels {
			if !tm.Has(ch, id) {
				// A second factor is never sent by e-mail; organisations
				// write to e-mail addresses only.
				if ch != ChannelVoice && !(id == TemplateTwoStepCode && ch == ChannelEmail) && !(isOrg(id) && ch == ChannelSMS) {
					t.Errorf("template %s has no %s version", id, ch)
				}
				continue
			}
			for _, loc := range []string{LocaleJA, LocaleEN} {
				t.Run(id+"."+string(ch)+"."+loc, func(t *testing.T) {
					b := goldenBrand(loc)
					r, err := tm.Render(ch, id, loc, b, varsFor(id, loc))
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					var out strings.Builder
					if ch == ChannelEmail {
						out.WriteString("Subject: " + r.Subject + "\n\n--- text ---\n" + r.Text + "--- html ---\n" + r.HTML)
					} else {
						out.WriteString(r.Text + "\n")
					}
					got := out.String()
					if strings.Contains(strings.ToLower(got), "ninsho") {
						t.Errorf("the branded message says Ninsho:\n%s", got)
					}
					if !strings.Contains(got, b.Name) {
						t.Errorf("the branded message does not name %s:\n%s", b.Name, got)
					}
					if ch == ChannelEmail {
						checkBrandedEmail(t, r, b, loc)
					}
					// "Never share the code" is said once, in every part.
					for part, text := range map[string]string{"text": r.Text, "html": r.HTML} {
						if n := strings.Count(strings.ToLower(text), shareWord(loc)); n > 1 {
							t.Errorf("the %s part says %q %d times:\n%s", part, shareWord(loc), n, text)
						}
					}
					// The unlock code also follows the owner's own "this
					// wasn't me": it never suggests a stranger typed the
					// address.
					if id == TemplateUnlockCode && (strings.Contains(got, "may have typed") || strings.Contains(got, "入力した可能性")) {
						t.Errorf("the unlock code blames someone else's typing:\n%s", got)
					}
					// Every SMS starts with the shop's name: 【name】 in
					// Japanese, "name: " in English.
					if prefix := smsPrefix(b, loc); ch == ChannelSMS && !strings.HasPrefix(r.Text, prefix) {
						t.Errorf("the SMS does not start with %q:\n%s", prefix, r.Text)
					}
					checkGolden(t, filepath.Join("testdata", id+"."+string(ch)+"."+loc+".golden"), got)
				})
			}
		}
	}
}

// shareWord is the word of the warning not to share a code.
func shareWord(loc string) string {
	if loc == LocaleJA {
		return "教え"
	}
	return "share"
}

// smsPrefix is how every SMS in loc starts: with the shop's name.
func smsPrefix(b Brand, loc string) string {
	if loc == LocaleJA {
		return "【" + b.Name + "】"
	}
	return b.Name + ": "
}

// checkBrandedEmail checks what every branded e-mail shows: the name in the
// subject, the logo with the name as its text, the colour made AA on white,
// the support page and contact line and the legal links in both parts.
func checkBrandedEmail(t *testing.T, r *Rendered, b Brand, loc string) {
	t.Helper()
	prefix := b.Name + ": "
	if loc == LocaleJA {
		prefix = "【" + b.Name + "】"
	}
	if !strings.HasPrefix(r.Subject, prefix) {
		t.Errorf("Subject = %q, want it to start with %q", r.Subject, prefix)
	}
	color := EmailColor(b.Color)
	for _, want := range []string{
		`<img src="https://id.example.com/brand/logo" alt="` + b.Name + `"`,
		"color:" + color + ";",
		`<a href="https://shop.example.jp/help"`, `<a href="https://shop.example.jp/terms"`, `<a href="https://shop.example.jp/privacy"`,
		b.SupportContact,
	} {
		if !strings.Contains(r.HTML, want) {
			t.Errorf("HTML does not contain %q", want)
		}
	}
	// The legal links use the pages' footer words (i18n "footer.terms",
	// "footer.privacy"), in both parts.
	for _, key := range []string{"footer.terms", "footer.privacy"} {
		word := i18n.Message(loc, key, nil)
		if !strings.Contains(r.HTML, ">"+word+"</a>") || !strings.Contains(r.Text, word) {
			t.Errorf("the legal link is not called %q (%s) as on the pages", word, key)
		}
	}
	if c, _ := theme.ParseHex(color); theme.Contrast(c, theme.White) < theme.AAText {
		t.Errorf("HTML uses %s, which fails AA on white", color)
	}
	for _, want := range []string{"https://shop.example.jp/help", "https://shop.example.jp/terms", "https://shop.example.jp/privacy", b.SupportContact, "\n" + b.Name + "\n"} {
		if !strings.Contains(r.Text, want) {
			t.Errorf("text part does not contain %q", want)
		}
	}
}

func checkGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("rendering differs from %s (run go test -update to accept):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

func TestRenderCodeMessages(t *testing.T) {
	tm := MustTemplates(t)
	for _, id := range []string{TemplateSignupCode, TemplateSigninCode, TemplateUnlockCode, TemplateResetCode} {
		for _, loc := range []string{LocaleJA, LocaleEN} {
			vars := goldenVars(loc)
			sms, err := tm.Render(ChannelSMS, id, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(sms.Text, "\n")
			if got, want := lines[len(lines)-1], "@id.example.com #123456"; got != want {
				t.Errorf("%s/%s: last SMS line = %q, want %q (WebOTP)", id, loc, got, want)
			}
			// One SMS segment: 70 UCS-2 characters for Japanese, 160 GSM-7
			// characters for English.
			limit := 160
			if loc == LocaleJA {
				limit = 70
			}
			if n := utf8.RuneCountInString(sms.Text); n > limit {
				t.Errorf("%s/%s: SMS has %d characters, want at most %d", id, loc, n, limit)
			}
			for _, ch := range allChannels {
				r, err := tm.Render(ch, id, loc, goldenBrand(loc), vars)
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(r.Text, "123456") && !strings.Contains(r.Text, "1, 2, 3") && !strings.Contains(r.Text, "1、2、3") {
					t.Errorf("%s/%s/%s: text does not carry the code:\n%s", id, ch, loc, r.Text)
				}
			}
		}
	}
}

func TestRender(t *testing.T) {
	tm := MustTemplates(t)
	tests := []struct {
		name    string
		ch      Channel
		id      string
		locale  string
		brand   Brand
		vars    map[string]string
		wantErr string
		check   func(t *testing.T, r *Rendered)
	}{
		{
			name: "unknown locale follows the one fallback rule", ch: ChannelEmail, id: TemplateSignupCode, locale: "fr",
			brand: goldenBrand(i18n.Default), vars: goldenVars(i18n.Default),
			check: func(t *testing.T, r *Rendered) {
				want, err := tm.Render(ChannelEmail, TemplateSignupCode, i18n.Default, goldenBrand(i18n.Default), goldenVars(i18n.Default))
				if err != nil {
					t.Fatal(err)
				}
				if r.Subject != want.Subject || r.Text != want.Text {
					t.Errorf("Subject = %q, want the %s subject %q", r.Subject, i18n.Default, want.Subject)
				}
			},
		},
		{
			name: "empty locale follows the one fallback rule", ch: ChannelSMS, id: TemplateSignupCode, locale: "",
			brand: goldenBrand(i18n.Default), vars: goldenVars(i18n.Default),
			check: func(t *testing.T, r *Rendered) {
				want, err := tm.Render(ChannelSMS, TemplateSignupCode, i18n.Default, goldenBrand(i18n.Default), goldenVars(i18n.Default))
				if err != nil {
					t.Fatal(err)
				}
				if r.Text != want.Text {
					t.Errorf("Text = %q, want the %s text %q", r.Text, i18n.Default, want.Text)
				}
			},
		},
		{
			name: "regional Japanese is Japanese", ch: ChannelEmail, id: TemplateSignupCode, locale: "ja-JP",
			brand: goldenBrand(LocaleJA), vars: goldenVars(LocaleJA),
			check: func(t *testing.T, r *Rendered) {
				if !strings.HasPrefix(r.Subject, "【さくら商店】") {
					t.Errorf("Subject = %q, want Japanese", r.Subject)
				}
			},
		},
		{
			name: "name is escaped in HTML, not in text", ch: ChannelEmail, id: TemplateAccountExists, locale: "en",
			vars: map[string]string{"name": `<b>Eve</b> & "co"`, "host": "id.example.com"},
			check: func(t *testing.T, r *Rendered) {
				if strings.Contains(r.HTML, "<b>Eve</b>") || !strings.Contains(r.HTML, "&lt;b&gt;Eve&lt;/b&gt; &amp; &#34;co&#34;") {
					t.Errorf("HTML does not escape the name:\n%s", r.HTML)
				}
				if !strings.Contains(r.Text, `Hello <b>Eve</b> & "co",`) {
					t.Errorf("Text = %q, want the name as typed", r.Text)
				}
			},
		},
		{
			name: "empty name gets a neutral greeting", ch: ChannelEmail, id: TemplateSigninCode, locale: "ja",
			vars: map[string]string{"code": "123456", "name": "", "minutes": "10", "host": "id.example.com"},
			check: func(t *testing.T, r *Rendered) {
				if !strings.HasPrefix(r.Text, "お客様\n") {
					t.Errorf("Text starts %q, want お客様", r.Text[:20])
				}
			},
		},
		{
			name: "a realm without a brand is named by its host, in the default colour, without logo or links", ch: ChannelEmail, id: TemplateSigninCode, locale: "ja",
			vars: goldenVars(LocaleJA),
			check: func(t *testing.T, r *Rendered) {
				if r.Subject != "【id.example.com】ログインの確認コードのお知らせ" {
					t.Errorf("Subject = %q", r.Subject)
				}
				if strings.Contains(r.HTML, "<img") || !strings.Contains(r.HTML, "color:"+DefaultColor+";") {
					t.Errorf("HTML has a logo or lacks the default colour:\n%s", r.HTML)
				}
				if strings.Contains(r.Text, "お問い合わせ") || strings.Contains(r.Text, "利用規約") || !strings.Contains(r.Text, "ご了承ください。\n\nid.example.com\n") {
					t.Errorf("text footer of an unbranded realm:\n%s", r.Text)
				}
			},
		},
		{
			name: "the brand is escaped in HTML and wins over a message variable of the same name", ch: ChannelEmail, id: TemplateSignupCode, locale: "en",
			brand: Brand{Name: `A&B "Shop" <x>`, SupportContact: "<script>"},
			vars:  func() map[string]string { v := goldenVars(LocaleEN); v["brand_name"] = "Other"; return v }(),
			check: func(t *testing.T, r *Rendered) {
				if !strings.Contains(r.HTML, "A&amp;B &#34;Shop&#34; &lt;x&gt;") || strings.Contains(r.HTML, "<x>") || strings.Contains(r.HTML, "<script>") {
					t.Errorf("HTML does not escape the brand:\n%s", r.HTML)
				}
				if r.Subject != `A&B "Shop" <x>: your sign-up verification code` || strings.Contains(r.Text, "Other") {
					t.Errorf("Subject = %q; text:\n%s", r.Subject, r.Text)
				}
			},
		},
		{
			name: "subject is one line", ch: ChannelEmail, id: TemplateSignupCode, locale: "en",
			vars: goldenVars(LocaleEN),
			check: func(t *testing.T, r *Rendered) {
				if strings.ContainsAny(r.Subject, "\r\n") {
					t.Errorf("Subject = %q, want one line", r.Subject)
				}
			},
		},
		{
			name: "missing variable", ch: ChannelSMS, id: TemplateSignupCode, locale: "en",
			vars:    map[string]string{"name": "x", "minutes": "10", "host": "h"},
			wantErr: `no entry for key "code"`,
		},
		{
			name: "unknown template", ch: ChannelEmail, id: "welcome", locale: "en",
			wantErr: `message: no template "welcome" for channel email`,
		},
		{
			name: "unknown channel", ch: Channel("fax"), id: TemplateSignupCode, locale: "en",
			wantErr: `message: no template "signup_code" for channel fax`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tm.Render(tt.ch, tt.id, tt.locale, tt.brand, tt.vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Render error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			tt.check(t, r)
		})
	}
}

func TestEmailColorHasAAContrastOnWhite(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"#1d4ed8", "#1d4ed8"}, // passes as is
		{"", DefaultColor},
		{"pink", DefaultColor},
		{"#d63384", "#d63384"}, // 4.50:1: kept
		{"#e83e8c", ""},        // 3.9:1: darkened
		{"#ffff00", ""},
		{"#ffffff", ""},
	} {
		got := EmailColor(tt.in)
		if tt.want != "" && got != tt.want {
			t.Errorf("EmailColor(%q) = %s, want %s", tt.in, got, tt.want)
		}
		c, err := theme.ParseHex(got)
		if err != nil {
			t.Fatalf("EmailColor(%q) = %q: %v", tt.in, got, err)
		}
		if r := theme.Contrast(c, theme.White); r < theme.AAText {
			t.Errorf("EmailColor(%q) = %s has contrast %.2f on white, want at least %.1f", tt.in, got, r, theme.AAText)
		}
		if tt.want == "" && got == tt.in {
			t.Errorf("EmailColor(%q) kept a colour that fails AA", tt.in)
		}
	}
}

func TestLocale(t *testing.T) {
	for in, want := range map[string]string{
		"ja": "ja", "ja-JP": "ja", "JA_jp": "ja", "en": "en", "en-US": "en",
		// Anything else follows the one fallback rule: i18n.Default.
		"": i18n.Default, "fr": i18n.Default, "jav": i18n.Default, "english": i18n.Default,
	} {
		if got := Locale(in); got != want {
			t.Errorf("Locale(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTemplatesErrors(t *testing.T) {
	layout := `{{define "layout"}}{{template "content" .}}{{end}}`
	tests := []struct {
		name    string
		fs      fstest.MapFS
		wantErr string
	}{
		{"empty", fstest.MapFS{}, "message: no templates found"},
		{"incomplete e-mail", fstest.MapFS{
			"en/_layout.html":  {Data: []byte(layout)},
			"en/x.subject.txt": {Data: []byte("s")},
			"en/x.email.html":  {Data: []byte(`{{define "content"}}h{{end}}`)},
			"en/x.sms.txt":     {Data: []byte("t")},
			"en/x.voice.txt":   {Data: []byte("t")},
		}, "en/x needs .subject.txt, .email.txt and .email.html"},
		{"unexpected file", fstest.MapFS{"en/unrelated.json": {Data: []byte("{}")}}, "unexpected file en/unrelated.json"},
		{"missing English", fstest.MapFS{"ja/x.sms.txt": {Data: []byte("t")}}, "template x for sms has no English version"},
		{"missing Japanese", fstest.MapFS{"en/x.sms.txt": {Data: []byte("t")}}, "template x for sms has no Japanese version"},
		{"no content", fstest.MapFS{
			"en/_layout.html":  {Data: []byte(layout)},
			"en/x.subject.txt": {Data: []byte("s")},
			"en/x.email.txt":   {Data: []byte("t")},
			"en/x.email.html":  {Data: []byte(`h`)},
		}, `does not define "content"`},
		{"syntax", fstest.MapFS{"en/x.sms.txt": {Data: []byte("{{.code")}}, "message: templates:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTemplates(tt.fs)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ParseTemplates error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestSecondFactorFailedSaysWhatWasKnown renders the alert of a failed
// second factor after a password and after a code: each says which one
// someone had (and no other), in the subject, the e-mail and the SMS, and
// each carries the "this wasn't me" link.
func TestSecondFactorFailedSaysWhatWasKnown(t *testing.T) {
	tm := MustTemplates(t)
	want := map[string]map[string]string{
		LocaleJA: {"password": "正しいパスワード", "code": "お送りした確認コード"},
		LocaleEN: {"password": "your password", "code": "a code we sent you"},
	}
	for loc, afters := range want {
		for after, text := range afters {
			vars := varsFor(TemplateSecondFactorFailed, loc)
			vars["after"] = after
			mail, err := tm.Render(ChannelEmail, TemplateSecondFactorFailed, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			sms, err := tm.Render(ChannelSMS, TemplateSecondFactorFailed, loc, goldenBrand(loc), vars)
			if err != nil {
				t.Fatal(err)
			}
			for part, s := range map[string]string{"subject": mail.Subject, "text": mail.Text, "html": mail.HTML, "sms": sms.Text} {
				if !strings.Contains(s, text) {
					t.Errorf("%s after %s: the %s does not say %q:\n%s", loc, after, part, text, s)
				}
				other := afters["password"]
				if after == "password" {
					other = afters["code"]
				}
				if strings.Contains(s, other) {
					t.Errorf("%s after %s: the %s says %q:\n%s", loc, after, part, other, s)
				}
				if part != "subject" && !strings.Contains(s, vars["link"]) {
					t.Errorf("%s after %s: the %s has no link:\n%s", loc, after, part, s)
				}
			}
		}
	}
}
