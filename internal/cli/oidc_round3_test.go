package cli_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

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
