package cli_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
)

// TestOIDCOutsideRound3 holds what the third outside round found: a code
// redeems nothing once its session ended or its consent was removed; a
// stranger without the client's secret learns nothing about a code; an
// application cannot use another one's ID token as its hint; end_session
// bounds what it echoes.
func TestOIDCOutsideRound3(t *testing.T) {
	app, ctx, c, token, realm := startOIDC(t, "", "late@example.jp")
	web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
		RedirectURIs: []string{shopCallback}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	partner, partnerSecret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Partner", Kind: oauthclient.Confidential,
		RedirectURIs: []string{"https://partner.example.com/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := gooidc.NewProvider(ctx, app.URL())
	if err != nil {
		t.Fatal(err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // auto-detection retries in the body and hides the first answer
	webCfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: endpoint, RedirectURL: shopCallback, Scopes: []string{"openid"}}
	b := newRPBrowser(t, app.URL())
	b.signedIn(token)
	code := func() string {
		loc, _ := b.visit(webCfg.AuthCodeURL("s"))
		if loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("no code: %v", loc)
		}
		return loc.Query().Get("code")
	}

	// A stranger without the secret: invalid_client, whatever the code.
	for _, cd := range []string{code(), "garbage"} {
		form := url.Values{"grant_type": {"authorization_code"}, "code": {cd}, "redirect_uri": {shopCallback}}
		req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(web.ID, "not-the-secret")
		var out map[string]any
		if status, body := doJSON(t, req, &out); status != http.StatusUnauthorized || out["error_description"] != "client authentication failed" {
			t.Errorf("code %.8s… without the secret: %d %s", cd, status, body)
		}
	}

	// Another client's ID token as the hint.
	tok, err := webCfg.Exchange(ctx, code())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	q := url.Values{"client_id": {partner.ID}, "redirect_uri": {"https://partner.example.com/cb"}, "response_type": {"code"},
		"scope": {"openid"}, "prompt": {"none"}, "id_token_hint": {raw}, "state": {"h"}}
	loc, _ := b.visit(app.URL() + "/oauth/v2/authorize?" + q.Encode())
	if loc == nil || loc.Query().Get("error") != "login_required" || loc.Query().Get("error_description") != "the id_token_hint was issued to another client" {
		t.Errorf("another client's ID token as the hint: %v", loc)
	}

	// Consent removed between the code and its redemption.
	partnerCfg := oauth2.Config{ClientID: partner.ID, ClientSecret: partnerSecret, Endpoint: endpoint,
		RedirectURL: "https://partner.example.com/cb", Scopes: []string{"openid"}}
	var me struct {
		ID string `json:"id"`
	}
	if status, body := c.call("GET", "/api/v1/me", token, nil, &me); status != http.StatusOK || me.ID == "" {
		t.Fatalf("me: %d %s", status, body)
	}
	if _, err := app.Consents.Grant(ctx, realm, me.ID, partner.ID, []string{"openid"}, ninsho.Request{}); err != nil {
		t.Fatal(err)
	}
	loc, _ = b.visit(partnerCfg.AuthCodeURL("p"))
	pc := loc.Query().Get("code")
	if pc == "" {
		t.Fatalf("partner: no code: %v", loc)
	}
	if status, _ := c.call("DELETE", "/api/v1/me/apps/"+partner.ID, token, nil, nil); status != http.StatusNoContent {
		t.Fatalf("revoke the partner: %d", status)
	}
	if _, err := partnerCfg.Exchange(ctx, pc); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("a code redeemed after its consent was removed: %v", err)
	}

	// Signed out between the code and its redemption.
	late := code()
	if status, _ := c.call("POST", "/api/v1/signout", token, nil, nil); status != http.StatusNoContent {
		t.Fatalf("signout: %d", status)
	}
	if _, err := webCfg.Exchange(ctx, late); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("a code redeemed after the session ended: %v", err)
	}

	// end_session echoes no huge state.
	res, err := http.PostForm(app.URL()+"/oidc/v1/end_session", url.Values{"state": {strings.Repeat("B", 5000)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusBadRequest {
		t.Errorf("end_session with a 5,000-byte state: %d", res.StatusCode)
	}
}

// TestOIDCOutsideRound4: a code or refresh token presented for another
// client gets the one answer of a fake one and changes nothing (a rotated
// refresh token presented by another client revokes no family); a request
// authenticates one way only, as one client.
func TestOIDCOutsideRound4(t *testing.T) {
	app, ctx, _, token, realm := startOIDC(t, "", "r4@example.jp")
	web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
		RedirectURIs: []string{shopCallback}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	native, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "App", Kind: oauthclient.Public,
		RedirectURIs: []string{"http://127.0.0.1:9999/cb"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := gooidc.NewProvider(ctx, app.URL())
	if err != nil {
		t.Fatal(err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader
	cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: endpoint, RedirectURL: shopCallback,
		Scopes: []string{"openid", "offline_access"}}
	b := newRPBrowser(t, app.URL())
	b.signedIn(token)
	loc, _ := b.visit(cfg.AuthCodeURL("s"))
	code := loc.Query().Get("code")
	post := func(form url.Values, basic bool) (int, map[string]any) {
		req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basic {
			req.SetBasicAuth(web.ID, secret)
		}
		var out map[string]any
		status, _ := doJSON(t, req, &out)
		return status, out
	}
	asNative := func(c string) map[string]any {
		_, out := post(url.Values{"grant_type": {"authorization_code"}, "code": {c}, "client_id": {native.ID},
			"redirect_uri": {shopCallback}}, false)
		return out
	}
	real, fake := asNative(code), asNative(code[:len(code)-2]+"xx")
	if real["error"] != "invalid_grant" || real["error_description"] != fake["error_description"] {
		t.Errorf("another client's code %v, a fake one %v: told apart", real, fake)
	}
	// Two methods at once; a client_id other than the Basic user.
	if status, out := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {web.ID}, "client_secret": {secret}}, true); status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("Basic and client_secret at once: %d %v", status, out)
	}
	if status, out := post(url.Values{"grant_type": {"client_credentials"}, "client_id": {native.ID}}, true); status != http.StatusBadRequest || out["error"] != "invalid_request" {
		t.Errorf("Basic with another client_id: %d %v", status, out)
	}
	// The code still redeems for its client; its rotated refresh token,
	// presented by another client, revokes nothing.
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		t.Fatalf("the code after strangers presented it: %v", err)
	}
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil {
		t.Fatal(err)
	}
	if _, out := post(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {old}, "client_id": {native.ID}}, false); out["error"] != "invalid_grant" {
		t.Errorf("a rotated refresh token by another client: %v", out)
	}
	if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err != nil {
		t.Errorf("another client presenting the rotated refresh token revoked the family: %v", err)
	}
}
