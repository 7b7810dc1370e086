package cli_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestCrossRealmHint: an identifier with no account in realm jp but one in
// the linked realm com answers account_in_other_realm with com's name and
// sign-in address — at the identifier-first sign-in, at the sign-in with a
// password and at the password assistant — in both languages; realm com,
// which names no hint realm, answers account_not_found for jp's accounts.
func TestCrossRealmHint(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app := startAppWith(t, func(c *cliConfig) {
			c.DatabaseURL = config.Secret(dbURL)
			c.Realms = []config.Realm{
				{ID: "jp", Name: "Sakura JP", Hosts: []string{"127.0.0.1"}, DefaultLocale: "ja", PhoneRegion: "JP",
					IdentifierDisclosure: "explicit", CrossRealmHint: []string{"com"}},
				{ID: "com", Name: "Sakura Global", Hosts: []string{"localhost"}, DefaultLocale: "en", PhoneRegion: "US",
					IdentifierDisclosure: "explicit", PublicURL: "http://localhost:8080"},
			}
		})
		jp := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		com := &client{tb: t, base: "http://localhost:" + portOf(app.URL()), http: &http.Client{Timeout: 10 * time.Second}}
		registerDeliveries(t, com.base, deliveriesOf(t, app.URL())) // one app, two hosts
		oidcPerson(t, com, "global@example.com", "kumo-no-ue-42")   // signed up on com only

		type problem struct {
			Code    string         `json:"code"`
			Message string         `json:"detail"`
			Params  map[string]any `json:"params"`
			Errors  []struct {
				Code    string         `json:"code"`
				Message string         `json:"message"`
				Params  map[string]any `json:"params"`
			} `json:"errors"`
		}
		want := func(what string, status int, raw []byte, p problem, lang string) {
			t.Helper()
			code, msg, params := p.Code, p.Message, p.Params
			if code == "" && len(p.Errors) > 0 {
				code, msg, params = p.Errors[0].Code, p.Errors[0].Message, p.Errors[0].Params
			}
			if status != http.StatusBadRequest || code != "account_in_other_realm" || params["realm"] != "Sakura Global" ||
				params["signin_url"] != "http://localhost:8080/signin" || !contains(msg, "http://localhost:8080/signin") ||
				(lang == "ja" && !contains(msg, "別の地域")) || (lang == "en" && !contains(msg, "other regional site")) {
				t.Errorf("%s: %d %s", what, status, raw)
			}
		}
		for _, lang := range []string{"ja", "en"} {
			var p problem
			status, raw := jp.call("POST", "/api/v1/signin?lang="+lang, "", map[string]string{"identifier": "global@example.com"}, &p)
			want("identifier first ("+lang+")", status, raw, p, lang)
			p = problem{}
			status, raw = jp.call("POST", "/api/v1/signin?lang="+lang, "", map[string]string{"identifier": "global@example.com", "password": "kumo-no-ue-42"}, &p)
			want("with a password ("+lang+")", status, raw, p, lang)
			p = problem{}
			status, raw = jp.call("POST", "/api/v1/password-assistant?lang="+lang, "", map[string]string{"identifier": "global@example.com"}, &p)
			want("password assistant ("+lang+")", status, raw, p, lang)
		}
		// Nobody anywhere: account_not_found. com names no hint realm.
		var p problem
		if _, raw := jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": "nobody@example.com"}, &p); p.Code != "account_not_found" {
			t.Errorf("unknown everywhere: %s", raw)
		}
		oidcPerson(t, jp, "local@example.jp", "kumo-no-ue-42")
		p = problem{}
		if _, raw := com.call("POST", "/api/v1/signin", "", map[string]string{"identifier": "local@example.jp"}, &p); p.Code != "account_not_found" {
			t.Errorf("com without a hint realm: %s", raw)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

func portOf(base string) string {
	for i := len(base) - 1; i >= 0; i-- {
		if base[i] == ':' {
			return base[i+1:]
		}
	}
	return ""
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
