package cli_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestRealmIsolation (issue 15, "Isolation"): one server, two explicit
// realms — jp at 127.0.0.1 and us at localhost. The same e-mail address
// signs up in both, independently, and gets two accounts; then what one
// realm handed out is refused by the other with the documented answer: the
// session token (every GET route under /api/v1/me of docs/api.md, and the
// hosted /account pages with the ninsho_session cookie), a sign-in flow's
// id, a verification code, the device token and a trusted device. Each
// refusal is paired with the same request at the realm that issued it, which
// succeeds, so the refusal is the realm's doing. Then isolateEveryRoute
// (isolation_writes_test.go) does the same for every route of isoRoutes —
// the writes of the API and the pages' forms, flows of every kind, a page
// flow, a CAPTCHA and the "this wasn't me", contact undo and recovery
// cancel links — and checks that nothing of jp changed. (OIDC codes,
// refresh and access tokens at another realm: TestOIDCRefusals.)
func TestRealmIsolation(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		app := mustStartClockedIssuer(t, ctx, dbURL, clock, func(c *config.Config) {
			c.Realms = []config.Realm{
				{ID: "jp", Name: "Sakura JP", Hosts: []string{"127.0.0.1"}, DefaultLocale: "ja", PhoneRegion: "JP", IdentifierDisclosure: "explicit",
					Organisations: config.RealmOrganisations{BusinessApproval: true, Approvers: []string{jpApprover}}},
				{ID: "us", Name: "Sakura US", Hosts: []string{"localhost"}, DefaultLocale: "en", PhoneRegion: "US", IdentifierDisclosure: "explicit"},
			}
		})
		sent := deliveriesOf(t, app.URL())
		noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		jp := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect}}
		us := &client{tb: t, base: "http://localhost:" + portOf(app.URL()), http: &http.Client{Timeout: 10 * time.Second, CheckRedirect: noRedirect}}
		registerDeliveries(t, us.base, sent) // one app, two hosts
		const email, pw = "hanako@example.com", "kumo-no-ue-42"
		code := func() string { t.Helper(); return sent.wait(t, t.Context(), email, hasCode).Code }

		// The same address signs up in each realm: two accounts.
		signup := func(c *client) (token, device string) {
			t.Helper()
			var f, done flowJSON
			if status, raw := c.call("POST", "/api/v1/signup", "", map[string]string{"identifier": email, "password": pw, "name": "Hanako", "locale": "en"}, &f); status != http.StatusCreated || f.DeviceToken == "" {
				t.Fatalf("signup at %s: %d %s", c.base, status, raw)
			}
			if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": code()}, &done); status != http.StatusOK || done.Session == nil {
				t.Fatalf("confirm at %s: %d %s", c.base, status, raw)
			}
			return done.Session.Token, f.DeviceToken
		}
		jpToken, jpDevice := signup(jp)
		usToken, _ := signup(us)
		type meJSON struct {
			ID    string `json:"id"`
			Realm string `json:"realm"`
			Email string `json:"email"`
		}
		var jpMe, usMe meJSON
		jp.call("GET", "/api/v1/me", jpToken, nil, &jpMe)
		us.call("GET", "/api/v1/me", usToken, nil, &usMe)
		if jpMe.Realm != "jp" || usMe.Realm != "us" || jpMe.Email != email || usMe.Email != email || jpMe.ID == "" || jpMe.ID == usMe.ID {
			t.Fatalf("two sign-ups of one address: jp %+v, us %+v; want two accounts", jpMe, usMe)
		}

		type problem struct {
			Code   string `json:"code"`
			Errors []struct {
				Code  string `json:"code"`
				Field string `json:"field"`
			} `json:"errors"`
		}
		codeOf := func(p problem) string {
			if p.Code == "" && len(p.Errors) > 0 {
				return p.Errors[0].Code
			}
			return p.Code
		}

		// The session token: every GET route under /api/v1/me (docs/api.md,
		// "Session", "Two-step settings", "Passkeys", "Trusted devices",
		// "Sessions and devices", "Apps signed in with your account", "Close
		// the account") answers 401 unauthenticated in the other realm, in
		// both directions; at home it is not 401.
		meRoutes := []string{
			"/api/v1/me",
			"/api/v1/me/two-step",
			"/api/v1/me/two-step/passkeys",
			"/api/v1/me/trusted-devices",
			"/api/v1/me/sessions",
			"/api/v1/me/devices",
			"/api/v1/me/history",
			"/api/v1/me/apps",
			"/api/v1/me/close",
		}
		for _, tc := range []struct {
			name        string
			home, other *client
			token       string
		}{{"jp session at us", jp, us, jpToken}, {"us session at jp", us, jp, usToken}} {
			for _, route := range meRoutes {
				if status, raw := tc.home.call("GET", route, tc.token, nil, nil); status == http.StatusUnauthorized {
					t.Errorf("%s: GET %s at home: %d %s", tc.name, route, status, raw)
				}
				var p problem
				if status, raw := tc.other.call("GET", route, tc.token, nil, &p); status != http.StatusUnauthorized || p.Code != "unauthenticated" {
					t.Errorf("%s: GET %s: %d %s, want 401 unauthenticated", tc.name, route, status, raw)
				}
			}
		}

		// The hosted /account pages with the ninsho_session cookie: in the
		// other realm each answers exactly as without a cookie (the sign-in),
		// and at home it does not.
		page := func(c *client, path, cookie string) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("GET", c.base+path, nil)
			req.Header.Set("User-Agent", browserUA)
			if cookie != "" {
				req.AddCookie(&http.Cookie{Name: "ninsho_session", Value: cookie})
			}
			res, err := c.http.Do(req)
			if err != nil {
				t.Fatalf("GET %s%s: %v", c.base, path, err)
			}
			res.Body.Close()
			return res.StatusCode, res.Header.Get("Location")
		}
		accountPages := []string{
			"/account", "/account/profile", "/account/password", "/account/email", "/account/phone",
			"/account/two-step", "/account/two-step/passkeys", "/account/trusted-devices",
			"/account/sessions", "/account/apps", "/account/close",
		}
		for _, tc := range []struct {
			name        string
			home, other *client
			token       string
		}{{"jp cookie at us", jp, us, jpToken}, {"us cookie at jp", us, jp, usToken}} {
			for _, path := range accountPages {
				anonStatus, anonLoc := page(tc.other, path, "")
				if anonStatus != http.StatusSeeOther || !strings.HasPrefix(anonLoc, "/signin") {
					t.Errorf("%s: GET %s without a session: %d to %q, want 303 to /signin", tc.name, path, anonStatus, anonLoc)
				}
				if status, loc := page(tc.other, path, tc.token); status != anonStatus || loc != anonLoc {
					t.Errorf("%s: GET %s: %d to %q, want as without a session: %d to %q", tc.name, path, status, loc, anonStatus, anonLoc)
				}
				if status, loc := page(tc.home, path, tc.token); status == http.StatusSeeOther && strings.HasPrefix(loc, "/signin") {
					t.Errorf("%s: GET %s at home: %d to %q (the cookie should be signed in there)", tc.name, path, status, loc)
				}
			}
		}

		// The device token: at jp it is familiar (a sign-in completes at
		// once); at us the same token is a new device, so the us sign-in asks
		// for the verification code.
		var in flowJSON
		if status, raw := jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": jpDevice}, &in); status != http.StatusOK || in.Status != "complete" {
			t.Errorf("jp sign-in from jp's device: %d %s, want complete", status, raw)
		}
		var usFlow flowJSON
		status, raw := us.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": jpDevice}, &usFlow)
		if status != http.StatusOK || usFlow.Status != "challenge" || usFlow.Next == nil || usFlow.Next.Step != "verification_code" {
			t.Fatalf("us sign-in from jp's device: %d %s, want challenge at verification_code (a new device)", status, raw)
		}
		usCode := code()

		// A flow id and a verification code: a jp sign-in flow from a new
		// device is unknown at us (404 flow_not_found, GET and POST), and its
		// code is wrong in us's flow of the same address (400
		// code_incorrect); both work at home.
		var jpFlow flowJSON
		status, raw = jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw}, &jpFlow)
		if status != http.StatusOK || jpFlow.Status != "challenge" || jpFlow.Next == nil || jpFlow.Next.Step != "verification_code" {
			t.Fatalf("jp sign-in from a new device: %d %s", status, raw)
		}
		jpCode := code()
		if jpCode == usCode {
			t.Fatalf("jp and us sent the same code %q; the check below could not fail", jpCode)
		}
		var p problem
		if status, raw := us.call("GET", "/api/v1/flows/"+jpFlow.ID, "", nil, &p); status != http.StatusNotFound || p.Code != "flow_not_found" {
			t.Errorf("GET jp's flow at us: %d %s, want 404 flow_not_found", status, raw)
		}
		p = problem{}
		if status, raw := us.call("POST", "/api/v1/flows/"+jpFlow.ID, "", map[string]string{"action": "submit_code", "code": jpCode}, &p); status != http.StatusNotFound || p.Code != "flow_not_found" {
			t.Errorf("POST jp's flow at us: %d %s, want 404 flow_not_found", status, raw)
		}
		p = problem{}
		if status, raw := us.call("POST", "/api/v1/flows/"+usFlow.ID, "", map[string]string{"action": "submit_code", "code": jpCode}, &p); status != http.StatusBadRequest || codeOf(p) != "code_incorrect" {
			t.Errorf("jp's code in us's flow: %d %s, want 400 code_incorrect", status, raw)
		}
		var done flowJSON
		if status, raw := jp.call("POST", "/api/v1/flows/"+jpFlow.ID, "", map[string]string{"action": "submit_code", "code": jpCode}, &done); status != http.StatusOK || done.Status != "complete" {
			t.Errorf("jp's code in jp's flow: %d %s, want complete", status, raw)
		}
		done = flowJSON{}
		if status, raw := us.call("POST", "/api/v1/flows/"+usFlow.ID, "", map[string]string{"action": "submit_code", "code": usCode}, &done); status != http.StatusOK || done.Status != "complete" || done.Session == nil {
			t.Fatalf("us's code in us's flow: %d %s, want complete", status, raw)
		}
		usToken = done.Session.Token // a fresh sign-in, for the two-step settings

		// A trusted device: both accounts turn on an authenticator app; jp
		// trusts jpDevice at its second factor. At jp that device then skips
		// the second factor; at us it does not (200 challenge at
		// second_factor).
		enrol := func(c *client, token string) string {
			t.Helper()
			var started struct {
				CredentialID string `json:"credential_id"`
				Secret       string `json:"secret"`
			}
			if status, raw := c.call("POST", "/api/v1/me/two-step/totp", token, map[string]string{"label": "phone"}, &started); status != http.StatusCreated || started.Secret == "" {
				t.Fatalf("enrol at %s: %d %s", c.base, status, raw)
			}
			clock.nextStep()
			if status, raw := c.call("POST", "/api/v1/me/two-step/totp/"+started.CredentialID+"/verify", token, map[string]string{"code": totpAt(t, started.Secret, clock.Now())}, nil); status != http.StatusOK {
				t.Fatalf("prove at %s: %d %s", c.base, status, raw)
			}
			return started.Secret
		}
		jpSecret := enrol(jp, jpToken)
		enrol(us, usToken)
		var sf flowJSON
		status, raw = jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": jpDevice}, &sf)
		if status != http.StatusOK || sf.Status != "challenge" || sf.Next == nil || sf.Next.Step != "second_factor" {
			t.Fatalf("jp sign-in with 2SV: %d %s", status, raw)
		}
		clock.nextStep()
		done = flowJSON{}
		if status, raw := jp.call("POST", "/api/v1/flows/"+sf.ID, "", map[string]any{"action": "submit_second_factor", "code": totpAt(t, jpSecret, clock.Now()),
			"trust_device": true, "device_token": jpDevice}, &done); status != http.StatusOK || done.Status != "complete" {
			t.Fatalf("jp second factor, trusting the device: %d %s", status, raw)
		}
		in = flowJSON{}
		if status, raw := jp.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": jpDevice}, &in); status != http.StatusOK || in.Status != "complete" {
			t.Errorf("jp sign-in from the device jp trusts: %d %s, want complete", status, raw)
		}
		in = flowJSON{}
		if status, raw := us.call("POST", "/api/v1/signin", "", map[string]string{"identifier": email, "password": pw, "device_token": jpDevice}, &in); status != http.StatusOK || in.Status != "challenge" || in.Next == nil || in.Next.Step != "second_factor" {
			t.Errorf("us sign-in from the device jp trusts: %d %s, want challenge at second_factor", status, raw)
		}

		// Every other route, and flows, links and CAPTCHAs of every kind:
		// isolation_writes_test.go.
		isolateEveryRoute(t, &isoEnv{t: t, clock: clock, sent: sent, jp: jp, us: us, email: email, pw: pw,
			jpToken: jpToken, usToken: usToken, jpDevice: jpDevice, jpSecret: jpSecret})
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
