package cli_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestRealmPolicies (issue 15, "every policy"): one server, two realms with
// their own languages, password minimum and code lifetime — jp at 127.0.0.1
// offers Japanese only, wants 12 characters and lets codes live 3 minutes;
// us at localhost offers English only with the defaults. A 10-character
// password is refused at jp's sign-up (password_too_short, min 12) and
// accepted at us's; jp's sign-up page says 12 characters; jp's code e-mail
// says 3 minutes and the code is refused once 3 minutes have passed on the
// injected clock; ?lang=en and Accept-Language: en get Japanese pages at jp
// (no language switch), and a locale the realm does not offer is refused
// where the person sets it (sign-up's locale, PATCH /api/v1/me). Then
// `ninsho realms set jp password.min_length=16` raises jp's minimum while
// it runs.
func TestRealmPolicies(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		dataDir := t.TempDir()
		app := mustStartClockedIssuer(t, ctx, dbURL, clock, func(c *config.Config) {
			c.DataDir = dataDir
			c.Realms = []config.Realm{
				{ID: "jp", Name: "Sakura JP", Hosts: []string{"127.0.0.1"}, DefaultLocale: "ja", Locales: []string{"ja"}, PhoneRegion: "JP",
					IdentifierDisclosure: "explicit", Password: config.RealmPassword{MinLength: 12},
					Codes: config.RealmCodes{Lifetime: config.Duration(3 * time.Minute)}},
				{ID: "us", Name: "Sakura US", Hosts: []string{"localhost"}, DefaultLocale: "en", Locales: []string{"en"}, PhoneRegion: "US",
					IdentifierDisclosure: "explicit"},
			}
		})
		sent := deliveriesOf(t, app.URL())
		jp := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		us := &client{tb: t, base: "http://localhost:" + portOf(app.URL()), http: &http.Client{Timeout: 10 * time.Second}}
		registerDeliveries(t, us.base, sent) // one app, two hosts
		const short, long = "sora-ao-42", "sora-no-ao-4242"

		// The password minimum is the realm's.
		status, raw := jp.call("POST", "/api/v1/signup", "", map[string]string{"identifier": "ken@example.jp", "password": short, "name": "Ken"}, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"password_too_short"`) || !strings.Contains(string(raw), `"min":12`) {
			t.Errorf("jp sign-up with 10 characters: %d %s, want 400 password_too_short with min 12", status, raw)
		}
		var usFlow, usDone flowJSON
		if status, raw := us.call("POST", "/api/v1/signup", "", map[string]string{"identifier": "ken@example.com", "password": short, "name": "Ken"}, &usFlow); status != http.StatusCreated {
			t.Fatalf("us sign-up with 10 characters: %d %s, want 201", status, raw)
		}
		m := sent.wait(t, t.Context(), "ken@example.com", hasCode)
		if m.Locale != "en" || !strings.Contains(m.Text, "expires in 10 minutes") {
			t.Errorf("us's code e-mail (%s): %q, want English and 10 minutes", m.Locale, m.Text)
		}
		if status, raw := us.call("POST", "/api/v1/flows/"+usFlow.ID, "", map[string]string{"action": "submit_code", "code": m.Code}, &usDone); status != http.StatusOK || usDone.Session == nil {
			t.Fatalf("us confirm: %d %s", status, raw)
		}
		if body := pageBody(t, jp, "/signup", ""); !strings.Contains(body, "12文字以上") {
			t.Errorf("jp's sign-up page does not say 12 characters")
		}

		// Languages: only those the realm offers.
		for _, tt := range []struct {
			c          *client
			query, acc string
			want       string
		}{
			{jp, "?lang=en", "", "ja"},
			{jp, "", "en-US,en;q=0.9", "ja"},
			{us, "?lang=ja", "", "en"},
			{us, "", "ja", "en"},
		} {
			body := pageBody(t, tt.c, "/signin"+tt.query, tt.acc)
			if !strings.Contains(body, `<html lang="`+tt.want+`"`) || strings.Contains(body, `class="lang"`) {
				t.Errorf("%s/signin%s (Accept-Language %q): want %s without a language switch, got %.300s", tt.c.base, tt.query, tt.acc, tt.want, body)
			}
		}
		status, raw = jp.call("POST", "/api/v1/signup", "", map[string]string{"identifier": "ken@example.jp", "password": long, "name": "Ken", "locale": "en"}, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"locale_not_offered"`) || !strings.Contains(string(raw), `"offered":"ja"`) {
			t.Errorf("jp sign-up with locale en: %d %s, want 400 locale_not_offered", status, raw)
		}
		status, raw = us.call("PATCH", "/api/v1/me", usDone.Session.Token, map[string]string{"locale": "ja"}, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"locale_not_offered"`) {
			t.Errorf("us PATCH /me locale ja: %d %s, want 400 locale_not_offered", status, raw)
		}

		// The code lifetime is the realm's: the message says it, and the
		// code is refused after it.
		var f flowJSON
		if status, raw := jp.call("POST", "/api/v1/signup", "", map[string]string{"identifier": "ken@example.jp", "password": long, "name": "Ken"}, &f); status != http.StatusCreated {
			t.Fatalf("jp sign-up: %d %s", status, raw)
		}
		m = sent.wait(t, t.Context(), "ken@example.jp", hasCode)
		if m.Locale != "ja" || !strings.Contains(m.Text, "有効期限は3分です") {
			t.Errorf("jp's code e-mail (%s): %q, want Japanese and 3 minutes", m.Locale, m.Text)
		}
		clock.advance(3*time.Minute + time.Second)
		status, raw = jp.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": m.Code}, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), `"code":"code_expired"`) {
			t.Errorf("jp's code after 3 minutes: %d %s, want 400 code_expired", status, raw)
		}

		// A change at run time.
		file := realmsConfigFile(t, dbURL, dataDir)
		if out, _ := realmsMain(t, 0, file, "set", "jp", "password.min_length=16"); !strings.Contains(out, "changed password.min_length") {
			t.Errorf("set said %q", out)
		}
		// On PostgreSQL the change's notice may have applied it already;
		// a refresh applies it otherwise. Either way it is served now.
		app.RefreshRealms(ctx)
		if got := app.Realms.ByID("jp").PasswordMinLength; got != 16 {
			t.Fatalf("the change was not applied: password.min_length %d, want 16", got)
		}
		status, raw = jp.call("POST", "/api/v1/signup", "", map[string]string{"identifier": "yui@example.jp", "password": long, "name": "Yui"}, nil)
		if status != http.StatusBadRequest || !strings.Contains(string(raw), `"min":16`) {
			t.Errorf("jp sign-up with 15 characters after the change: %d %s, want 400 password_too_short with min 16", status, raw)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// pageBody fetches a page of c's host with the Accept-Language header acc
// ("" sends none) and returns its body.
func pageBody(tb testing.TB, c *client, path, acc string) string {
	tb.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("User-Agent", browserUA)
	if acc != "" {
		req.Header.Set("Accept-Language", acc)
	}
	res, err := c.http.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
