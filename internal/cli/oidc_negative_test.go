package cli_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/signingkey"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestOIDCRefusals: what a relying party, or someone holding its tokens,
// must not get — each refusal checked with a real relying party.
func TestOIDCRefusals(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		app := mustStartClockedIssuer(t, ctx, dbURL, clock, func(c *config.Config) {
			other := c.Realms[0]
			other.ID, other.Hosts = "other", []string{"other.example.jp"}
			c.Realms = append(c.Realms, other)
		})
		c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		token := oidcPerson(t, c, "hanako@example.jp", "kumo-no-ue-42")
		realm := app.Realms.ForHost("127.0.0.1").ID
		if other := app.Realms.ForHost("other.example.jp").ID; other != "other" || realm == other {
			t.Fatalf("realms: %q and %q", realm, other)
		}
		web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		const appCallback = "http://127.0.0.1/cb"
		pub, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Shop app", Kind: oauthclient.Public,
			RedirectURIs: []string{appCallback}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess}}
		verifier := provider.Verifier(&gooidc.Config{ClientID: web.ID, Now: clock.Now})
		b := newRPBrowser(t, app.URL())
		b.signedIn(token)
		// tokens runs the code flow and returns the tokens.
		tokens := func(state string) *oauth2.Token {
			t.Helper()
			pkce := oauth2.GenerateVerifier()
			loc, _ := b.visit(cfg.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)))
			if loc == nil || loc.Query().Get("code") == "" {
				t.Fatalf("%s: sent to %v", state, loc)
			}
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("%s: exchange: %v", state, err)
			}
			return tok
		}
		// post sends a form to the token endpoint (or another) with Host
		// host and the web client's credentials.
		post := func(path, host string, form url.Values) (int, string) {
			t.Helper()
			req, _ := http.NewRequest("POST", app.URL()+path, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(web.ID, secret)
			req.Host = host
			return doJSON(t, req, nil)
		}
		userinfo := func(access, host string) int {
			t.Helper()
			req, _ := http.NewRequest("GET", app.URL()+"/oidc/v1/userinfo", nil)
			req.Header.Set("Authorization", "Bearer "+access)
			req.Host = host
			status, _ := doJSON(t, req, nil)
			return status
		}
		active := func(access string) bool {
			t.Helper()
			var out map[string]any
			req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/introspect", strings.NewReader(url.Values{"token": {access}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(web.ID, secret)
			if status, body := doJSON(t, req, &out); status != http.StatusOK {
				t.Fatalf("introspect: %d %s", status, body)
			}
			return out["active"] == true
		}
		self := strings.TrimPrefix(app.URL(), "http://")

		// A redirect URI not registered: 400, never redirected to it.
		loc, status := b.visit(strings.Replace(cfg.AuthCodeURL("st-evil"), url.QueryEscape(shopCallback), url.QueryEscape("https://evil.example/cb"), 1))
		if status != http.StatusBadRequest || loc != nil {
			t.Errorf("unregistered redirect URI: %d, sent to %v; want 400 and no redirect", status, loc)
		}

		// A public client without PKCE: invalid_request at its redirect URI.
		pubCfg := oauth2.Config{ClientID: pub.ID, Endpoint: provider.Endpoint(), RedirectURL: appCallback, Scopes: []string{gooidc.ScopeOpenID}}
		loc, _ = b.visit(pubCfg.AuthCodeURL("st-nopkce"))
		if loc == nil || !strings.HasPrefix(loc.String(), appCallback+"?") || loc.Query().Get("error") != "invalid_request" ||
			loc.Query().Get("state") != "st-nopkce" || loc.Query().Get("code") != "" {
			t.Errorf("public client without PKCE: sent to %v, want invalid_request at %s", loc, appCallback)
		}

		// A code used twice: invalid_grant, and what it issued is revoked.
		pkce := oauth2.GenerateVerifier()
		loc, _ = b.visit(cfg.AuthCodeURL("st-reuse", oauth2.S256ChallengeOption(pkce)))
		code := loc.Query().Get("code")
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		var re *oauth2.RetrieveError
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce)); !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("code reuse: %v, want invalid_grant", err)
		}
		if active(tok.AccessToken) || userinfo(tok.AccessToken, self) == http.StatusOK {
			t.Error("a reused code left its access token working")
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: clock.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Error("a reused code left its refresh token working")
		}

		// A refresh token used twice revokes its family.
		tok = tokens("st-family")
		fresh, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: clock.Now().Add(-time.Minute)}).Token()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: clock.Now().Add(-time.Minute)}).Token(); !asRetrieve(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Errorf("refresh token reuse: %v, want invalid_grant", err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: clock.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Error("the reuse left the newest refresh token of the family working")
		}
		if active(fresh.AccessToken) {
			t.Error("the reuse left the family's access token active")
		}

		// Tampered tokens: a changed signature, a changed access token.
		tok = tokens("st-tamper")
		rawID, _ := tok.Extra("id_token").(string)
		if _, err := verifier.Verify(ctx, rawID); err != nil {
			t.Fatalf("ID token: %v", err)
		}
		if _, err := verifier.Verify(ctx, tamper(rawID)); err == nil {
			t.Error("the verifier accepted an ID token with a changed signature")
		}
		if got := userinfo(tamper(tok.AccessToken), self); got != http.StatusUnauthorized {
			t.Errorf("userinfo with a changed access token: %d, want 401", got)
		}
		if active(tamper(tok.AccessToken)) {
			t.Error("introspection: a changed access token is active")
		}

		// alg=none: refused by the relying party and as id_token_hint (the
		// session stays).
		parts := strings.Split(rawID, ".")
		none := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."
		if _, err := verifier.Verify(ctx, none); err == nil {
			t.Error("the verifier accepted alg=none")
		}
		loc, status = b.visit(app.URL() + "/oidc/v1/end_session?" + url.Values{"id_token_hint": {none}}.Encode())
		if status != http.StatusBadRequest {
			t.Errorf("end_session with an alg=none hint: %d, sent to %v; want 400", status, loc)
		}
		if status, _ := c.call("GET", "/api/v1/me", token, nil, nil); status != http.StatusOK {
			t.Errorf("an alg=none hint ended the session: /api/v1/me answers %d", status)
		}

		// Another realm's Host: the code, the refresh token and the access
		// token are all refused there (and stay good here).
		pkce = oauth2.GenerateVerifier()
		loc, _ = b.visit(cfg.AuthCodeURL("st-realm", oauth2.S256ChallengeOption(pkce)))
		code = loc.Query().Get("code")
		for what, form := range map[string]url.Values{
			"code":          {"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {shopCallback}, "code_verifier": {pkce}},
			"refresh token": {"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		} {
			if status, body := post("/oauth/v2/token", "other.example.jp", form); status != http.StatusBadRequest && status != http.StatusUnauthorized ||
				!strings.Contains(body, `"invalid_client"`) && !strings.Contains(body, `"invalid_grant"`) {
				t.Errorf("%s at another realm: %d %s", what, status, body)
			}
		}
		if got := userinfo(tok.AccessToken, "other.example.jp"); got != http.StatusUnauthorized {
			t.Errorf("access token at another realm: userinfo %d, want 401", got)
		}
		if userinfo(tok.AccessToken, self) != http.StatusOK {
			t.Error("after the other realm refused it, the access token fails here")
		}
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err != nil {
			t.Errorf("after the other realm refused it, the code fails here: %v", err)
		}

		// A grant Ninsho does not offer.
		if status, body := post("/oauth/v2/token", self, url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {rawID}}); status != http.StatusBadRequest ||
			!strings.Contains(body, `"unsupported_grant_type"`) {
			t.Errorf("jwt-bearer grant: %d %s, want 400 unsupported_grant_type", status, body)
		}

		// Expired: an hour later the ID token, a quarter of an hour later
		// the access token.
		clock.advance(time.Hour + time.Minute)
		if _, err := verifier.Verify(ctx, rawID); err == nil || !strings.Contains(err.Error(), "expired") {
			t.Errorf("an expired ID token: %v", err)
		}
		if got := userinfo(tok.AccessToken, self); got != http.StatusUnauthorized {
			t.Errorf("userinfo with an expired access token: %d, want 401", got)
		}
		if active(tok.AccessToken) {
			t.Error("introspection: an expired access token is active")
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// tamper changes one character in the middle of the token's last part.
func tamper(tok string) string {
	i := strings.LastIndexByte(tok, '.') + 1 + (len(tok)-strings.LastIndexByte(tok, '.'))/2
	if i >= len(tok) {
		i = len(tok) - 1
	}
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func asRetrieve(err error, re **oauth2.RetrieveError) bool {
	e, ok := err.(*oauth2.RetrieveError)
	if ok {
		*re = e
	}
	return ok
}

// TestOIDCKeyRotation: `keys rotate` publishes the new key first; ID
// tokens signed before keep verifying (the JWKS keeps the old key) and the
// new key signs only after signingkey.PublicationDelay.
func TestOIDCKeyRotation(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		app := mustStartClockedIssuer(t, ctx, dbURL, clock)
		c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		b := newRPBrowser(t, app.URL())
		b.signedIn(oidcPerson(t, c, "hanako@example.jp", "kumo-no-ue-42"))
		realm := app.Realms.ForHost("127.0.0.1").ID
		web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatal(err)
		}
		cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback, Scopes: []string{gooidc.ScopeOpenID}}
		idToken := func() (string, string) {
			t.Helper()
			pkce := oauth2.GenerateVerifier()
			loc, _ := b.visit(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			var h struct {
				Kid string `json:"kid"`
			}
			head, _ := base64.RawURLEncoding.DecodeString(raw[:strings.IndexByte(raw, '.')])
			if err := jsonUnmarshal(head, &h); err != nil || h.Kid == "" {
				t.Fatalf("ID token header %s: %v", head, err)
			}
			return raw, h.Kid
		}
		jwks := func() []string {
			t.Helper()
			var set struct {
				Keys []struct {
					Kid string `json:"kid"`
				} `json:"keys"`
			}
			req, _ := http.NewRequest("GET", app.URL()+"/oauth/v2/keys", nil)
			if status, body := doJSON(t, req, &set); status != http.StatusOK {
				t.Fatalf("JWKS: %d %s", status, body)
			}
			var out []string
			for _, k := range set.Keys {
				out = append(out, k.Kid)
			}
			return out
		}
		oldRaw, oldKid := idToken()
		signedAt := clock.Now()
		next, err := app.SigningKeys.Rotate(ctx, realm, "", "test")
		if err != nil {
			t.Fatal(err)
		}
		if next.ID == oldKid {
			t.Fatal("rotate returned the signing key")
		}
		if keys := jwks(); !slices.Contains(keys, oldKid) || !slices.Contains(keys, next.ID) {
			t.Fatalf("after rotate the JWKS has %v, want the old %s and the new %s", keys, oldKid, next.ID)
		}
		// A fresh relying party (no cached keys) still verifies the old token.
		fresh, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fresh.Verifier(&gooidc.Config{ClientID: web.ID, Now: func() time.Time { return signedAt }}).Verify(ctx, oldRaw); err != nil {
			t.Errorf("a token signed before the rotation: %v", err)
		}
		if _, kid := idToken(); kid != oldKid {
			t.Errorf("right after rotate the ID token is signed by %s, want the old key %s until the publication delay", kid, oldKid)
		}
		clock.advance(signingkey.PublicationDelay - time.Minute)
		if _, kid := idToken(); kid != oldKid {
			t.Errorf("a minute before the publication delay ends the ID token is signed by %s, want %s", kid, oldKid)
		}
		clock.advance(2 * time.Minute)
		newRaw, kid := idToken()
		if kid != next.ID {
			t.Errorf("after the publication delay the ID token is signed by %s, want the new key %s", kid, next.ID)
		}
		// The library stamps iat and exp from the wall clock, not the
		// injected one (docs/oidc.md): verify at the wall clock.
		if _, err := fresh.Verifier(&gooidc.Config{ClientID: web.ID, Now: time.Now}).Verify(ctx, newRaw); err != nil {
			t.Errorf("a token signed by the new key: %v", err)
		}
		if keys := jwks(); !slices.Contains(keys, oldKid) {
			t.Errorf("after the new key signs the JWKS has %v, want the old %s still (its tokens live on)", keys, oldKid)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
