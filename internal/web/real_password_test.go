package web_test

import (
	"html"
	"net/url"
	"strings"
	"testing"
)

// TestSignupRefusesBlankAndRepeatedPasswords: an outside attacker's sign-ups
// with passwords that cannot be seen, typed or remembered as anything — eight
// spaces, NULs, zero-width spaces, invalid UTF-8 bytes, one letter repeated —
// are refused on the page with the reason, start no flow and send nothing;
// a password with spaces inside is fine.
func TestSignupRefusesBlankAndRepeatedPasswords(t *testing.T) {
	h, env := newRealWeb(t)
	const simple = "同じ文字や短い並びの繰り返し、連続した文字・数字の並び、空白や見えない文字だけのパスワードは推測されやすいため、使用できません。"
	const chars = "パスワードに使用できない文字が含まれています。"
	for _, tt := range []struct{ name, password, want string }{
		{"eight spaces", strings.Repeat(" ", 8), simple},
		{"eight NULs", strings.Repeat("\x00", 8), chars},
		{"eight zero-width spaces", strings.Repeat("\u200b", 8), simple},
		{"invalid UTF-8", strings.Repeat("\xff", 8), chars},
		{"one letter repeated", "aaaaaaaa", simple},
		{"a run of letters", "abcdefghij", simple},
		{"one letter padded with zero-width spaces", strings.Repeat("\u200b", 7) + "a", simple},
		{"one letter padded with spaces", strings.Repeat(" ", 7) + "a", simple},
		{"a right-to-left override", "tq8\u202e#vm2zq8", chars},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := post(h, "/signup", url.Values{
				"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
				"password": {tt.password}, "password_confirmation": {tt.password},
			})
			body := html.UnescapeString(rec.Body.String())
			if rec.Code != 400 || rec.Header().Get("Location") != "" || !strings.Contains(body, tt.want) {
				t.Errorf("sign-up: %d %q, want 400 saying %q:\n%s", rec.Code, rec.Header().Get("Location"), tt.want, body)
			}
		})
	}
	if m := env.Messages(t, "hanako@example.jp"); len(m) != 0 {
		t.Errorf("%d messages were sent for refused sign-ups", len(m))
	}
	rec := post(h, "/signup", url.Values{
		"identifier": {"hanako@example.jp"}, "name": {"山田 花子"},
		"password": {"kumo no ue 42"}, "password_confirmation": {"kumo no ue 42"},
	})
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/verify?flow=")
}
