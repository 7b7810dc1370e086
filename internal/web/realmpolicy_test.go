package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/realm"
)

// TestRealmLanguagesAndPasswordHint (issue 15): in a realm that offers
// Japanese only and wants 12 characters, the pages show no language switch
// and answer ?lang=en in Japanese, the password page's hint says 12, the
// language page lists Japanese only, and posting English anyway is refused
// with locale_not_offered on the field.
func TestRealmLanguagesAndPasswordHint(t *testing.T) {
	h, env, b := newProfileWeb(t, "ja")
	jp := *env.JP
	jp.Locales, jp.PasswordMinLength = []string{"ja"}, 12
	env.Realms.Replace([]*realm.Realm{&jp, env.Safe})

	body := get(h, "/account/password?lang=en", b.header()...).Body.String()
	if !strings.Contains(body, `<html lang="ja">`) || strings.Contains(body, `class="lang"`) || !strings.Contains(body, "12文字以上で") {
		t.Errorf("/account/password?lang=en in a Japanese-only realm: %s", body)
	}
	body = get(h, "/account/profile", b.header()...).Body.String()
	if !strings.Contains(body, `<option value="ja"`) || strings.Contains(body, `<option value="en"`) {
		t.Errorf("the language page offers other languages: %s", body)
	}
	rec := post(h, "/account/profile", url.Values{"name": {"Hanako Yamada"}, "locale": {"en"}}, b.header()...)
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `id="locale-error"`) || !strings.Contains(rec.Body.String(), "この言語はご利用いただけません") {
		t.Errorf("posting en: %d %s", rec.Code, rec.Body)
	}
}
