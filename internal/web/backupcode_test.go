package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestBrowserWrongBackupCode: a wrong or used backup code on /two-step is
// refused with a message about backup codes (not about a verification code
// sent to the person), in Japanese and English, linked to the field.
func TestBrowserWrongBackupCode(t *testing.T) {
	h, env := newRealWeb(t)
	env.MustSignUp(t, env.JP, "taro@example.jp", pw, "taro@example.jp")
	_, codes := enrolTOTP(t, env, "taro@example.jp")
	b := jar{}
	rec := post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, b.header()...)
	b.take(t, rec.Result())
	twoStep := mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")
	rec = post(h, twoStep, url.Values{"action": {"switch_method"}, "method": {"backup_code"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/two-step?flow=")

	wrong := "ZZZZZ-ZZZZZ"
	if strings.EqualFold(strings.ReplaceAll(codes[0], "-", ""), "ZZZZZZZZZZ") {
		wrong = "YYYYY-YYYYY"
	}
	for _, tt := range []struct{ lang, want, not string }{
		{"ja", "バックアップコードが正しくないか、すでに使用済みです。", "確認コードが正しくありません"},
		{"en", "This backup code is incorrect or has already been used.", "The verification code is incorrect"},
	} {
		rec = post(h, twoStep+"&lang="+tt.lang, url.Values{"action": {"submit_second_factor"}, "code": {wrong}, "lang": {tt.lang}}, append(b.header(), "Accept-Language", tt.lang)...)
		body := html.UnescapeString(rec.Body.String())
		if rec.Code != 400 || !strings.Contains(body, tt.want) || strings.Contains(body, tt.not) || !strings.Contains(body, `<a href="#code">`) {
			t.Errorf("%s: wrong backup code: %d, want 400 with %q linked to the field, without %q:\n%s", tt.lang, rec.Code, tt.want, tt.not, body)
		}
	}
}
