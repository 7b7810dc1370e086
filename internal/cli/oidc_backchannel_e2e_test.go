package cli_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestOIDCBackchannelLogout: a relying party with a back-channel logout URI
// signs a person in; signing out through the JSON API (not the OIDC
// end_session: any path that revokes the session) makes the running
// instance POST it one logout token, which go-oidc verifies against the
// issuer's JWKS and whose sub and sid are the ID token's.
func TestOIDCBackchannelLogout(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app, ctx, c, token, realm := startOIDC(t, dbURL, "hanako@example.jp")

		posted := make(chan string, 10)
		rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			posted <- r.PostFormValue("logout_token")
		}))
		t.Cleanup(rp.Close)

		web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, FirstParty: true, BackchannelLogoutURI: rp.URL + "/backchannel"})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		var disco struct {
			BC        bool `json:"backchannel_logout_supported"`
			BCSession bool `json:"backchannel_logout_session_supported"`
		}
		if err := provider.Claims(&disco); err != nil || !disco.BC || !disco.BCSession {
			t.Fatalf("discovery: %+v, %v", disco, err)
		}
		cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID}}
		verifier := provider.Verifier(&gooidc.Config{ClientID: web.ID})

		b := newRPBrowser(t, app.URL())
		b.signedIn(token)
		pkce := oauth2.GenerateVerifier()
		loc, _ := b.visit(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("n")))
		tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var idClaims struct {
			SID string `json:"sid"`
		}
		if err := idt.Claims(&idClaims); err != nil || idClaims.SID == "" {
			t.Fatalf("ID token sid: %v", err)
		}

		// Nothing is posted while the session lives.
		if _, err := app.Backchannel.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case <-posted:
			t.Fatal("a logout token was posted for a live session")
		default:
		}

		if status, raw := c.call("POST", "/api/v1/signout", token, nil, nil); status != http.StatusNoContent && status != http.StatusOK {
			t.Fatalf("signout: %d %s", status, raw)
		}
		if _, err := app.Backchannel.Pass(ctx); err != nil { // the instance's own loop may deliver first
			t.Fatal(err)
		}
		var lt string
		select {
		case lt = <-posted:
		case <-time.After(10 * time.Second):
			t.Fatal("no logout token posted after sign-out")
		}
		logout, err := verifier.Verify(ctx, lt)
		if err != nil {
			t.Fatalf("logout token: %v", err)
		}
		var claims map[string]json.RawMessage
		if err := logout.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		var sid string
		_ = json.Unmarshal(claims["sid"], &sid)
		if logout.Subject != idt.Subject || sid != idClaims.SID || claims["events"] == nil || claims["nonce"] != nil {
			t.Errorf("logout token sub %q sid %q claims %s", logout.Subject, sid, claims)
		}

		// Delivered once.
		if _, err := app.Backchannel.Pass(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case again := <-posted:
			t.Fatalf("a second logout token was posted: %d bytes", len(again))
		default:
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
