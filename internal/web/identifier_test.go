package web_test

import (
	"html"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestPagesShowIdentifiersAsPeopleReadThem: a number is shown in the realm's
// national format and an internationalised domain in Unicode — masked on the
// code page, in full on the account page — while the store and the inbox
// hold E.164 and the A-label.
func TestPagesShowIdentifiersAsPeopleReadThem(t *testing.T) {
	tests := []struct {
		typed, stored, masked, shown string
	}{
		{"０８０－９８７６－５４３２", "+818098765432", "080-****-5432", "080-9876-5432"},
		{"user@例え.jp", "user@xn--r8jz45g.jp", "u***@例*.jp", "user@例え.jp"},
	}
	for _, tt := range tests {
		t.Run(tt.stored, func(t *testing.T) {
			h, env := newRealWeb(t)
			b := jar{}
			rec := post(h, "/signup", url.Values{
				"identifier": {tt.typed}, "name": {"山田 花子"}, "password": {pw}, "password_confirmation": {pw},
			})
			if rec.Code != 303 {
				t.Fatalf("signup: %d %s", rec.Code, rec.Body)
			}
			b.take(t, rec.Result())
			verify := rec.Header().Get("Location")
			rec = get(h, verify, b.header()...)
			body := html.UnescapeString(rec.Body.String())
			if !strings.Contains(body, tt.masked+" に確認コードをお送りします。") {
				t.Errorf("code page does not say the code went to %s:\n%s", tt.masked, body)
			}
			rec = post(h, verify, url.Values{"action": {"submit_code"}, "code": {env.LastCode(t, tt.stored)}}, b.header()...)
			b.take(t, rec.Result())
			for _, lang := range []string{"ja", "en"} {
				rec = get(h, "/account?lang="+lang, b.header()...)
				body = html.UnescapeString(rec.Body.String())
				if rec.Code != 200 || !strings.Contains(body, "<dd>"+tt.shown+" ") || strings.Contains(body, tt.stored) {
					t.Errorf("account page (%s) does not show %s (and only it):\n%s", lang, tt.shown, body)
				}
			}
		})
	}
}

// TestEmailOnlyRealmAsksForEmail: where the realm cannot send text messages,
// every identifier field asks for an e-mail address (label, type,
// inputmode), and a phone number typed anyway is told to use the e-mail
// address instead of the dead end "this way of receiving codes isn't
// available"; nothing is sent.
func TestEmailOnlyRealmAsksForEmail(t *testing.T) {
	h, env := newRealWeb(t)
	pages := []string{"/signup", "/signin", "/unlock", "/password-assistant"}
	for _, path := range pages {
		body := get(h, path).Body.String()
		if !strings.Contains(body, `type="text" value="" autocomplete="username"`) || !strings.Contains(body, "メールアドレスまたは携帯電話番号") && !strings.Contains(body, "Eメールアドレスまたは携帯電話番号") {
			t.Errorf("GET %s in a realm with SMS does not ask for an e-mail address or a phone number:\n%s", path, body)
		}
	}

	env.JP.EmailOnly = true
	for _, path := range pages {
		for lang, label := range map[string]string{"ja": ">メールアドレス</label>", "en": ">Email address</label>"} {
			body := get(h, path+"?lang="+lang).Body.String()
			if !strings.Contains(body, `name="identifier" type="email" inputmode="email" value="" autocomplete="username"`) || !strings.Contains(body, label) {
				t.Errorf("GET %s (%s) in an e-mail-only realm does not ask for an e-mail address:\n%s", path, lang, body)
			}
			if strings.Contains(body, "携帯電話番号") || strings.Contains(body, "phone") || strings.Contains(body, "_email") {
				t.Errorf("GET %s (%s) in an e-mail-only realm still mentions phone numbers (or shows a catalogue key)", path, lang)
			}
		}
	}

	starts := map[string]url.Values{
		"/signup":             {"name": {"山田 花子"}, "password": {pw}, "password_confirmation": {pw}},
		"/signin":             {"password": {pw}},
		"/unlock":             {},
		"/password-assistant": {},
	}
	for path, form := range starts {
		form.Set("identifier", "090-1234-5678")
		rec := post(h, path, form)
		body := html.UnescapeString(rec.Body.String())
		if rec.Code != 400 || !strings.Contains(body, "電話番号はご利用いただけません。メールアドレスを入力してください") || strings.Contains(body, "この受け取り方法") {
			t.Errorf("POST %s with a phone number: %d, want 400 telling to use the e-mail address:\n%s", path, rec.Code, body)
		}
		if !strings.Contains(body, `type="email" inputmode="email" value="090-1234-5678"`) {
			t.Errorf("POST %s: the e-mail field does not keep what was typed:\n%s", path, body)
		}
		form.Set("identifier", "taro")
		body = html.UnescapeString(post(h, path, form).Body.String())
		if !strings.Contains(body, "正しいメールアドレスを入力してください") || strings.Contains(body, "携帯電話番号") {
			t.Errorf("POST %s with neither: want the e-mail address asked for alone:\n%s", path, body)
		}
	}
	if m := env.Messages(t, "+819012345678"); len(m) != 0 {
		t.Errorf("%d messages went to the phone number", len(m))
	}
}

// TestPasswordManagerOnANewDeviceGetsACode: a password manager fills and
// sends the sign-in form 400 ms after the page loads, on a device the account
// has never used. The right password gets a verification code, not a CAPTCHA;
// the same speed after a failed password does get one.
func TestPasswordManagerOnANewDeviceGetsACode(t *testing.T) {
	renderedAt := regexp.MustCompile(`name="rendered_at" value="(\d+)"`)
	for _, tt := range []struct {
		name         string
		failedBefore bool
	}{
		{"speed alone", false},
		{"speed after a failed password", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, env := newRealWeb(t)
			env.MustSignUp(t, env.JP, "pm@example.jp", pw, "pm@example.jp")
			b := jar{} // a new browser: no device cookie
			if tt.failedBefore {
				rec := post(h, "/signin", url.Values{"identifier": {"pm@example.jp"}, "password": {"not-" + pw}}, b.header()...)
				if rec.Code != 400 {
					t.Fatalf("wrong password: %d", rec.Code)
				}
				b.take(t, rec.Result())
			}
			rec := get(h, "/signin", b.header()...)
			m := renderedAt.FindStringSubmatch(rec.Body.String())
			if m == nil {
				t.Fatalf("no rendered_at on the sign-in form")
			}
			env.Clock.Advance(400 * time.Millisecond)
			rec = post(h, "/signin", url.Values{"identifier": {"pm@example.jp"}, "password": {pw}, "rendered_at": {m[1]}}, b.header()...)
			loc := rec.Header().Get("Location")
			if tt.failedBefore {
				if rec.Code != 400 || !strings.Contains(rec.Body.String(), `name="answer"`) {
					t.Errorf("fast form after a failed password: %d %q, want the CAPTCHA", rec.Code, loc)
				}
				return
			}
			if rec.Code != 303 || !strings.HasPrefix(loc, "/verify?flow=") {
				t.Fatalf("fast form with the right password: %d %q, want a verification code\n%s", rec.Code, loc, rec.Body)
			}
			if msgs := env.Messages(t, "pm@example.jp"); len(msgs) == 0 || msgs[0].Template != "signin_code" {
				t.Errorf("no sign-in code was sent")
			}
		})
	}
}
