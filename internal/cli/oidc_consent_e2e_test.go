package cli_test

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/totp"
)

// page fetches path in the browser (its cookies) and returns the status,
// the Location and the body.
func (b *rpBrowser) page(method, path string, form url.Values) (int, *url.URL, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base.String()+path, body)
	req.Header.Set("User-Agent", browserUA)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	loc, _ := res.Location()
	return res.StatusCode, loc, string(raw)
}

// TestOIDCConsentWithARealRelyingParty drives a third-party client through
// the real app: prompt=none answers consent_required, the consent page
// names the client and the scopes in words, Deny answers access_denied,
// Allow finishes and is remembered, prompt=consent asks again, and
// revoking on /account/apps forgets the consent and revokes the refresh
// token (the JSON API lists and revokes the same). Then a first-party
// client asking acr_values=aal2 of an account without two-step
// verification: the bridge sends the browser to /account/two-step, which
// keeps the way back through enrolment and offers "Continue to" once two-
// step verification is on; the bridge then finishes at aal2.
func TestOIDCConsentWithARealRelyingParty(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app, ctx, c, token, realm := startOIDC(t, dbURL, "hanako@example.jp")

		partner, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Partner shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: partner.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
		b := newRPBrowser(t, app.URL())
		b.signedIn(token)

		// prompt=none: nobody allowed the client yet.
		loc, _ := b.visit(cfg.AuthCodeURL("st-1", oauth2.SetAuthURLParam("prompt", "none")))
		if loc == nil || !strings.HasPrefix(loc.String(), shopCallback) || loc.Query().Get("error") != "consent_required" || loc.Query().Get("state") != "st-1" {
			t.Fatalf("prompt=none without consent: %v", loc)
		}
		// Without prompt: the consent page.
		ask := func(state string, opts ...oauth2.AuthCodeOption) string {
			t.Helper()
			loc, _ := b.visit(cfg.AuthCodeURL(state, opts...))
			if loc == nil || loc.Path != "/oauth/v2/consent" || loc.Query().Get("id") == "" {
				t.Fatalf("%s: sent to %v, want the consent page", state, loc)
			}
			return loc.Query().Get("id")
		}
		id := ask("st-2")
		status, _, body := b.page("GET", "/oauth/v2/consent?id="+url.QueryEscape(id), nil)
		body = html.UnescapeString(body)
		for _, want := range []string{"Partner shop would like to use your account", "Your account ID at this shop", "Your email address",
			"Stays signed in when you are away", ">Allow<", ">Deny<"} {
			if status != http.StatusOK || !strings.Contains(body, want) {
				t.Fatalf("consent page (%d) lacks %q:\n%s", status, want, body)
			}
		}
		if strings.Contains(body, "Your mobile number") {
			t.Error("the consent page lists a scope the client did not ask for")
		}
		decide := func(id, action string) *url.URL {
			t.Helper()
			_, loc, body := b.page("POST", "/oauth/v2/consent", url.Values{"id": {id}, "action": {action}})
			if loc == nil {
				t.Fatalf("consent %s: no redirect:\n%s", action, body)
			}
			if !strings.HasPrefix(loc.String(), shopCallback) { // Allow: back through the bridge
				loc, _ = b.visit(loc.String())
			}
			return loc
		}
		if loc := decide(id, "deny"); loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "st-2" {
			t.Fatalf("deny: sent to %v", loc)
		}
		loc = decide(ask("st-3"), "allow")
		if loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-3" {
			t.Fatalf("allow: sent to %v", loc)
		}
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"))
		if err != nil || tok.RefreshToken == "" {
			t.Fatalf("exchange after consent: %v", err)
		}
		// Remembered: straight to the client, with prompt=none too.
		if loc, _ := b.visit(cfg.AuthCodeURL("st-4", oauth2.SetAuthURLParam("prompt", "none"))); loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("remembered consent, prompt=none: %v", loc)
		}
		// prompt=consent asks again, once.
		loc = decide(ask("st-5", oauth2.SetAuthURLParam("prompt", "consent")), "allow")
		if loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-5" {
			t.Fatalf("prompt=consent, allowed: %v", loc)
		}
		// More scopes than allowed: asked again.
		wider := cfg
		wider.Scopes = append([]string{"phone"}, cfg.Scopes...)
		if loc, _ := b.visit(wider.AuthCodeURL("st-6")); loc == nil || loc.Path != "/oauth/v2/consent" {
			t.Fatalf("a scope not allowed yet: %v", loc)
		}

		// The account lists the app; the API too.
		status, _, body = b.page("GET", "/account/apps", nil)
		if status != http.StatusOK || !strings.Contains(body, "Partner shop") || !strings.Contains(body, `value="`+partner.ID+`"`) {
			t.Fatalf("/account/apps (%d):\n%s", status, body)
		}
		if _, _, acct := b.page("GET", "/account", nil); !strings.Contains(acct, `href="/account/apps"`) {
			t.Error("/account has no link to the apps")
		}
		var apps struct {
			Apps []struct {
				ClientID  string   `json:"client_id"`
				Name      string   `json:"name"`
				Scopes    []string `json:"scopes"`
				GrantedAt string   `json:"granted_at"`
			} `json:"apps"`
		}
		if status, raw := c.call("GET", "/api/v1/me/apps", token, nil, &apps); status != http.StatusOK || len(apps.Apps) != 1 ||
			apps.Apps[0].ClientID != partner.ID || apps.Apps[0].Name != "Partner shop" || strings.Join(apps.Apps[0].Scopes, " ") != "email offline_access openid" || apps.Apps[0].GrantedAt == "" {
			t.Fatalf("GET /api/v1/me/apps: %d %s", status, raw)
		}

		// Revoke on /account/apps: the consent is forgotten and the
		// refresh token dies.
		status, _, body = b.page("POST", "/account/apps", url.Values{"client_id": {partner.ID}})
		if status != http.StatusOK || !strings.Contains(html.UnescapeString(body), "The app's access was removed.") || strings.Contains(body, "Partner shop") {
			t.Fatalf("revoke (followed to the list, %d):\n%s", status, body)
		}
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("refresh after revoking the app: %v", err)
		}
		if status, raw := c.call("GET", "/api/v1/me/apps", token, nil, &apps); status != http.StatusOK || len(apps.Apps) != 0 {
			t.Fatalf("GET /api/v1/me/apps after revoking: %d %s", status, raw)
		}
		if loc, _ := b.visit(cfg.AuthCodeURL("st-7", oauth2.SetAuthURLParam("prompt", "none"))); loc == nil || loc.Query().Get("error") != "consent_required" {
			t.Fatalf("after revoking, prompt=none: %v", loc)
		}
		// The API revokes the same way.
		decide(ask("st-8"), "allow")
		if status, raw := c.call("DELETE", "/api/v1/me/apps/"+partner.ID, token, nil, nil); status != http.StatusNoContent {
			t.Fatalf("DELETE /api/v1/me/apps: %d %s", status, raw)
		}
		if status, _ := c.call("DELETE", "/api/v1/me/apps/"+partner.ID, token, nil, nil); status != http.StatusNotFound {
			t.Fatalf("DELETE /api/v1/me/apps again: %d, want 404", status)
		}

		// The enrol continuation.
		shop, shopSecret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, FirstParty: true, WithoutTwoStep: oauthclient.Enrol})
		if err != nil {
			t.Fatal(err)
		}
		scfg := oauth2.Config{ClientID: shop.ID, ClientSecret: shopSecret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID}}
		loc, _ = b.visit(scfg.AuthCodeURL("st-9", oauth2.SetAuthURLParam("acr_values", "aal2")))
		if loc == nil || loc.Path != "/account/two-step" || !strings.HasPrefix(loc.Query().Get("return_to"), "/oauth/v2/login?id=") {
			t.Fatalf("aal2 without two-step verification: sent to %v", loc)
		}
		bridge := loc.Query().Get("return_to")
		status, _, body = b.page("GET", loc.RequestURI(), nil)
		if status != http.StatusOK || strings.Contains(body, "Continue to") {
			t.Fatalf("/account/two-step before enrolment (%d) offers to continue:\n%s", status, body)
		}
		var en struct {
			CredentialID string `json:"credential_id"`
			Secret       string `json:"secret"`
		}
		if status, raw := c.call("POST", "/api/v1/me/two-step/totp", token, nil, &en); status != http.StatusCreated {
			t.Fatalf("begin TOTP: %d %s", status, raw)
		}
		code, err := totp.CodeAt(en.Secret, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if status, raw := c.call("POST", "/api/v1/me/two-step/totp/"+en.CredentialID+"/verify", token, map[string]string{"code": code}, nil); status != http.StatusOK {
			t.Fatalf("verify TOTP: %d %s", status, raw)
		}
		status, _, body = b.page("GET", "/account/two-step", nil)
		body = html.UnescapeString(body)
		if status != http.StatusOK || !strings.Contains(body, "Continue to Web shop") || !strings.Contains(body, strings.TrimPrefix(bridge, "/oauth/v2/login?id=")) {
			t.Fatalf("/account/two-step after enrolment (%d) lacks the way back:\n%s", status, body)
		}
		loc, _ = b.visit(app.URL() + bridge)
		if loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-9" {
			t.Fatalf("back at the bridge after enrolment: %v", loc)
		}
		if _, _, body := b.page("GET", "/account/two-step", nil); strings.Contains(body, "Continue to") {
			t.Error("the way back is still offered after the bridge finished")
		}
		stok, err := scfg.Exchange(ctx, loc.Query().Get("code"))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := stok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: shop.ID}).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			ACR string `json:"acr"`
		}
		if err := idt.Claims(&claims); err != nil || claims.ACR != "aal2" {
			t.Fatalf("acr after enrolment = %q, %v", claims.ACR, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
