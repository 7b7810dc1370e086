package cli_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

const shopCallback = "https://shop.example.jp/callback"

// oidcPerson signs a new person up through the JSON API and returns the
// session token.
func oidcPerson(t *testing.T, c *client, email, pw string) string {
	t.Helper()
	var f flowJSON
	if status, raw := c.call("POST", "/api/v1/signup", "", map[string]string{
		"identifier": email, "password": pw, "name": "Hanako Yamada", "locale": "en"}, &f); status != http.StatusCreated {
		t.Fatalf("signup: %d %s", status, raw)
	}
	var done flowJSON
	if status, raw := c.call("POST", "/api/v1/flows/"+f.ID, "", map[string]string{"action": "submit_code", "code": c.waitCode(email)}, &done); status != http.StatusOK || done.Session == nil {
		t.Fatalf("submit_code: %d %s", status, raw)
	}
	return done.Session.Token
}

// rpBrowser is a browser that stops at the relying party's callback.
type rpBrowser struct {
	t    *testing.T
	http *http.Client
	base *url.URL
}

func newRPBrowser(t *testing.T, base string) *rpBrowser {
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	b := &rpBrowser{t: t, base: u}
	b.http = &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if strings.HasPrefix(req.URL.String(), shopCallback) || req.URL.Host != u.Host {
			return http.ErrUseLastResponse
		}
		if p := req.URL.Path; p == "/signin" || p == "/reauth" || p == "/account/two-step" || p == "/oauth/v2/consent" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

func (b *rpBrowser) signedIn(token string) {
	b.http.Jar.SetCookies(b.base, []*http.Cookie{{Name: "ninsho_session", Value: token, Path: "/"}})
}

// visit follows the authorization request to where the browser stops and
// returns that Location (or the status when there is none).
func (b *rpBrowser) visit(authURL string) (*url.URL, int) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", authURL, nil)
	req.Header.Set("User-Agent", browserUA)
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatalf("GET %s: %v", authURL, err)
	}
	res.Body.Close()
	loc, _ := res.Location()
	return loc, res.StatusCode
}

func TestOIDCCodeFlowWithARealRelyingParty(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app, ctx, c, token, realm := startOIDC(t, dbURL, "hanako@example.jp")

		web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, PostLogoutRedirectURIs: []string{"https://shop.example.jp/bye"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}}
		verifier := provider.Verifier(&gooidc.Config{ClientID: web.ID})

		// Without a session, prompt=none answers login_required; without
		// prompt, the browser goes to the sign-in page and back.
		b := newRPBrowser(t, app.URL())
		loc, _ := b.visit(cfg.AuthCodeURL("st-1", oauth2.SetAuthURLParam("prompt", "none")))
		if loc == nil || !strings.HasPrefix(loc.String(), shopCallback) || loc.Query().Get("error") != "login_required" || loc.Query().Get("state") != "st-1" {
			t.Fatalf("prompt=none without a session: %v", loc)
		}
		pkce := oauth2.GenerateVerifier()
		loc, _ = b.visit(cfg.AuthCodeURL("st-2", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("n-2"), oauth2.SetAuthURLParam("login_hint", "hanako@example.jp")))
		if loc == nil || loc.Path != "/signin" || loc.Query().Get("login_hint") != "hanako@example.jp" || !strings.HasPrefix(loc.Query().Get("return_to"), "/oauth/v2/login?id=") {
			t.Fatalf("no session: sent to %v", loc)
		}
		back := loc.Query().Get("return_to")

		// Signed in: the bridge finishes with a code.
		b.signedIn(token)
		loc, _ = b.visit(app.URL() + back)
		code := loc.Query().Get("code")
		if code == "" || loc.Query().Get("state") != "st-2" {
			t.Fatalf("signed in: sent to %v", loc)
		}
		// A stranger holding the code — as a public client, or as the
		// client without the verifier — gets nothing and spoils nothing.
		stranger, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Stranger", Kind: oauthclient.Public,
			RedirectURIs: []string{"http://127.0.0.1:7777/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		presentAsStranger := func() {
			t.Helper()
			form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {stranger.ID},
				"redirect_uri": {shopCallback}, "code_verifier": {pkce}}
			req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			var out map[string]any
			if status, body := doJSON(t, req, &out); status < 400 || out["access_token"] != nil {
				t.Fatalf("the code presented by another client: %d %s", status, body)
			}
		}
		presentAsStranger()
		if _, err := cfg.Exchange(ctx, code); err == nil {
			t.Fatal("the code was redeemed without its verifier")
		}
		tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange after a stranger presented the code: %v", err)
		}
		presentAsStranger()
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err != nil {
			t.Fatalf("a stranger presenting the used code revoked the client's tokens: %v", err)
		}
		if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(pkce)); err == nil || !strings.Contains(err.Error(), "invalid_grant") {
			t.Fatalf("code reuse: %v", err)
		}
		// The reuse revoked what the code issued; sign in again.
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil {
			t.Fatal("a reused code left its access token working")
		}
		pkce = oauth2.GenerateVerifier()
		loc, _ = b.visit(cfg.AuthCodeURL("st-3", oauth2.S256ChallengeOption(pkce), gooidc.Nonce("n-3")))
		if tok, err = cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce)); err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var claims struct {
			Email         string   `json:"email"`
			EmailVerified bool     `json:"email_verified"`
			Name          string   `json:"name"`
			SID           string   `json:"sid"`
			ACR           string   `json:"acr"`
			AMR           []string `json:"amr"`
			AuthTime      int64    `json:"auth_time"`
		}
		if err := idt.Claims(&claims); err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != "n-3" || claims.Email != "hanako@example.jp" || !claims.EmailVerified || claims.Name != "Hanako Yamada" ||
			claims.SID == "" || claims.ACR != "aal1" || claims.AuthTime == 0 || len(idt.Subject) < 16 || strings.Contains(raw, "@") && idt.Subject == "" {
			t.Errorf("ID token claims = %+v, sub %q, nonce %q", claims, idt.Subject, idt.Nonce)
		}
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil || info.Email != "hanako@example.jp" || info.Subject != idt.Subject {
			t.Fatalf("userinfo = %+v, %v", info, err)
		}

		// Refresh rotates; the old refresh token again revokes the family.
		old := tok.RefreshToken
		if old == "" {
			t.Fatal("offline_access gave no refresh token")
		}
		tok.Expiry = time.Now().Add(-time.Minute)
		fresh, err := cfg.TokenSource(ctx, tok).Token()
		if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == old || fresh.AccessToken == tok.AccessToken {
			t.Fatalf("refresh: %v", err)
		}
		if raw2, _ := fresh.Extra("id_token").(string); raw2 == "" {
			t.Error("refresh gave no ID token")
		} else if idt2, err := verifier.Verify(ctx, raw2); err != nil || idt2.Subject != idt.Subject {
			t.Errorf("refreshed ID token: %v", err)
		} else {
			var c2 struct {
				ACR string   `json:"acr"`
				AMR []string `json:"amr"`
				SID string   `json:"sid"`
			}
			idt2.Claims(&c2)
			if c2.ACR != "aal1" || c2.SID != claims.SID || len(c2.AMR) == 0 {
				t.Errorf("refreshed ID token claims = %+v", c2)
			}
		}
		_, err = cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Minute)}).Token()
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
			t.Fatalf("old refresh token again: %v", err)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Fatal("the reuse left the newest refresh token working")
		}
		if _, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(fresh)); err == nil {
			t.Fatal("the reuse left the family's access token working")
		}

		// Introspection by the back end.
		pkce = oauth2.GenerateVerifier()
		loc, _ = b.visit(cfg.AuthCodeURL("st-4", oauth2.S256ChallengeOption(pkce)))
		tok, err = cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatal(err)
		}
		introspect := func(access string) map[string]any {
			form := url.Values{"token": {access}}
			req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/introspect", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(web.ID, secret)
			var out map[string]any
			status, body := doJSON(t, req, &out)
			if status != http.StatusOK {
				t.Fatalf("introspect: %d %s", status, body)
			}
			return out
		}
		if got := introspect(tok.AccessToken); got["active"] != true || got["client_id"] != web.ID || got["sub"] != idt.Subject {
			t.Errorf("introspection = %v", got)
		}
		if got := introspect("not-a-token"); got["active"] != false {
			t.Errorf("introspection of garbage = %v", got)
		}
		// A third-party client learns nothing of the first party's tokens.
		partner, partnerSecret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Partner", Kind: oauthclient.Confidential,
			RedirectURIs: []string{"https://partner.example.com/cb"}})
		if err != nil {
			t.Fatal(err)
		}
		{
			req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(partner.ID, partnerSecret)
			var out map[string]any
			if status, body := doJSON(t, req, &out); status != http.StatusOK || out["active"] != false {
				t.Errorf("a third party introspecting a first-party token: %d %s", status, body)
			}
		}
		{
			req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/introspect", strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(web.ID, "wrong-secret")
			var out map[string]any
			if status, body := doJSON(t, req, &out); status != http.StatusUnauthorized || out["error"] != "invalid_client" || strings.Contains(body, "Parent") {
				t.Errorf("introspection with a wrong secret: %d %s", status, body)
			}
		}

		// Logout with the ID token hint ends the Ninsho session and its tokens.
		raw, _ = tok.Extra("id_token").(string)
		q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://shop.example.jp/bye"}, "state": {"bye-1"}}
		loc, _ = b.visit(app.URL() + "/oidc/v1/end_session?" + q.Encode())
		if loc == nil || loc.String() != "https://shop.example.jp/bye?state=bye-1" {
			t.Fatalf("end_session sent to %v", loc)
		}
		if status, _ := c.call("GET", "/api/v1/me", token, nil, nil); status != http.StatusUnauthorized {
			t.Errorf("after end_session the Ninsho session answers %d", status)
		}
		if got := introspect(tok.AccessToken); got["active"] != false {
			t.Errorf("after end_session the access token is %v", got)
		}
		if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}).Token(); err == nil {
			t.Error("after end_session the refresh token still works")
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// startOIDC starts an issuer (startIssuer) and signs a person up with
// email: the app, a context, an API client, the person's session token and
// the realm of 127.0.0.1.
func startOIDC(t *testing.T, dbURL, email string) (*cli.App, context.Context, *client, string, string) {
	t.Helper()
	app := startIssuer(t, dbURL, nil)
	c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
	token := oidcPerson(t, c, email, "kumo-no-ue-42")
	return app, context.Background(), c, token, app.Realms.ForHost("127.0.0.1").ID
}

// startIssuer starts an instance whose public URL is its own address, so
// that relying parties can check the issuer.
func startIssuer(t *testing.T, dbURL string, edit func(*cliConfig)) *cli.App {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return startAppWith(t, func(c *cliConfig) {
		c.DatabaseURL = config.Secret(dbURL)
		c.Addr, c.PublicURL = addr, "http://"+addr
		if edit != nil {
			edit(c)
		}
	})
}

func doJSON(t *testing.T, req *http.Request, out any) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := res.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if out != nil {
		_ = jsonUnmarshal([]byte(sb.String()), out)
	}
	return res.StatusCode, sb.String()
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

// TestOIDCFrontchannelLogout: signing out — the hosted page's sign-out or
// end_session — shows a page that loads the front-channel logout URI (with
// iss and sid) of each application signed in under the session, then goes
// on; an application without one is not named.
func TestOIDCFrontchannelLogout(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		app := startIssuer(t, dbURL, nil)
		ctx := context.Background()
		c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
		realm := app.Realms.ForHost("127.0.0.1").ID
		fc, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, PostLogoutRedirectURIs: []string{"https://shop.example.jp/bye"}, FirstParty: true,
			FrontchannelLogoutURI: "https://shop.example.jp/fc-logout?x=1"})
		if err != nil {
			t.Fatal(err)
		}
		plain, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Other", Kind: oauthclient.Public,
			RedirectURIs: []string{"http://127.0.0.1:9999/cb"}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, app.URL())
		if err != nil {
			t.Fatal(err)
		}
		signIn := func(token string, id, secret, redirect string) *oauth2.Token {
			cfg := oauth2.Config{ClientID: id, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: redirect, Scopes: []string{"openid"}}
			b := newRPBrowser(t, app.URL())
			b.signedIn(token)
			pkce := oauth2.GenerateVerifier()
			req, _ := http.NewRequest("GET", cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(pkce)), nil)
			var loc *url.URL
			for i := 0; i < 3; i++ { // the loopback redirect is not followed by the cookie jar's client either
				res, err := b.http.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if loc, _ = res.Location(); loc == nil || loc.Query().Get("code") != "" {
					break
				}
				req, _ = http.NewRequest("GET", res.Request.URL.ResolveReference(loc).String(), nil)
			}
			tok, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
			if err != nil {
				t.Fatalf("exchange for %s: %v", id, err)
			}
			return tok
		}
		page := func(res *http.Response) string {
			t.Helper()
			defer res.Body.Close()
			var sb strings.Builder
			buf := make([]byte, 8192)
			for {
				n, err := res.Body.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			return sb.String()
		}
		noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

		// The hosted sign-out.
		token := oidcPerson(t, c, "fc@example.jp", "kumo-no-ue-42")
		tok := signIn(token, fc.ID, secret, shopCallback)
		signIn(token, plain.ID, "", "http://127.0.0.1:9999/cb")
		raw, _ := tok.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: fc.ID}).Verify(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		var claims struct {
			SID string `json:"sid"`
		}
		idt.Claims(&claims)
		req, _ := http.NewRequest("POST", app.URL()+"/signout", nil)
		req.AddCookie(&http.Cookie{Name: "ninsho_session", Value: token})
		req.Header.Set("User-Agent", browserUA)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := page(res)
		wantSrc := "https://shop.example.jp/fc-logout?iss=" + url.QueryEscape(app.URL()) + "&amp;sid=" + claims.SID + "&amp;x=1"
		if res.StatusCode != http.StatusOK || !strings.Contains(body, `<iframe hidden src="`+wantSrc+`"`) ||
			strings.Count(body, "<iframe") != 1 || !strings.Contains(body, `content="2;url=/signin"`) ||
			!strings.Contains(res.Header.Get("Content-Security-Policy"), "frame-src https://shop.example.jp;") {
			t.Fatalf("sign-out page: %d %v\n%s", res.StatusCode, res.Header, body)
		}
		if status, _ := c.call("GET", "/api/v1/me", token, nil, nil); status != http.StatusUnauthorized {
			t.Errorf("after sign-out the session answers %d", status)
		}

		// end_session.
		token = oidcPerson(t, c, "fc2@example.jp", "kumo-no-ue-42")
		tok = signIn(token, fc.ID, secret, shopCallback)
		raw, _ = tok.Extra("id_token").(string)
		q := url.Values{"id_token_hint": {raw}, "post_logout_redirect_uri": {"https://shop.example.jp/bye"}, "state": {"z"}, "ui_locales": {"en"}}
		req, _ = http.NewRequest("GET", app.URL()+"/oidc/v1/end_session?"+q.Encode(), nil)
		req.AddCookie(&http.Cookie{Name: "ninsho_session", Value: token})
		res, err = noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body = page(res)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "https://shop.example.jp/fc-logout?iss=") ||
			!strings.Contains(body, `content="2;url=https://shop.example.jp/bye?state=z"`) || !strings.Contains(res.Header.Get("Set-Cookie"), "ninsho_session=;") ||
			res.Header.Get("Referrer-Policy") != "no-referrer" || res.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(body, `lang="en"`) {
			t.Fatalf("end_session page: %d %v\n%s", res.StatusCode, res.Header, body)
		}
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}

// TestOIDCPrivateKeyJWTAndTwoFactorRefusal: a client authenticating with
// private_key_jwt (client credentials with a signed assertion; a wrong key
// refused), a confidential client whose acr_values=aal2 for an account
// without two-step verification is refused with
// unmet_authentication_requirements, and ui_locales choosing the sign-in
// page's language.
func TestOIDCPrivateKeyJWTAndTwoFactorRefusal(t *testing.T) {
	app := startIssuer(t, "", nil)
	ctx := context.Background()
	realm := app.Realms.ForHost("127.0.0.1").ID
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: key.Public(), KeyID: "k1", Algorithm: "ES256", Use: "sig"}
	set, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{pub}})
	svc, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: realm, Name: "Batch", Kind: oauthclient.Confidential,
		AuthMethod: oauthclient.AuthPrivateKeyJWT, JWKS: set, RedirectURIs: []string{shopCallback}, WithoutTwoStep: oauthclient.Refuse,
		FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	assertion := func(k *ecdsa.PrivateKey) string {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: k, KeyID: "k1"}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		claims, _ := json.Marshal(map[string]any{"iss": svc.ID, "sub": svc.ID, "aud": []string{app.URL(), app.URL() + "/oauth/v2/token"},
			"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(), "jti": fmt.Sprint(now.UnixNano())})
		obj, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := obj.CompactSerialize()
		return s
	}
	token := func(a string) (int, map[string]any) {
		form := url.Values{"grant_type": {"client_credentials"}, "client_id": {svc.ID},
			"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {a}}
		req, _ := http.NewRequest("POST", app.URL()+"/oauth/v2/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var out map[string]any
		status, _ := doJSON(t, req, &out)
		return status, out
	}
	if status, out := token(assertion(key)); status != http.StatusOK || out["access_token"] == nil || out["refresh_token"] != nil || out["id_token"] != nil {
		t.Fatalf("client credentials with private_key_jwt: %d %v", status, out)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if status, out := token(assertion(other)); status < 400 || status >= 500 || out["access_token"] != nil {
		t.Fatalf("an assertion signed with another key: %d %v", status, out)
	}

	// acr_values=aal2, no two-step, the client refuses.
	c := &client{tb: t, base: app.URL(), http: &http.Client{Timeout: 10 * time.Second}}
	session := oidcPerson(t, c, "aal@example.jp", "kumo-no-ue-42")
	b := newRPBrowser(t, app.URL())
	b.signedIn(session)
	q := url.Values{"client_id": {svc.ID}, "redirect_uri": {shopCallback}, "response_type": {"code"}, "scope": {"openid"},
		"state": {"s1"}, "acr_values": {"aal2"}}
	loc, _ := b.visit(app.URL() + "/oauth/v2/authorize?" + q.Encode())
	if loc == nil || loc.Query().Get("error") != "unmet_authentication_requirements" || loc.Query().Get("state") != "s1" {
		t.Fatalf("aal2 without two-step, refused by the client: %v", loc)
	}
	// ui_locales picks the sign-in page's language.
	nb := newRPBrowser(t, app.URL())
	q.Del("acr_values")
	q.Set("ui_locales", "fr en-GB")
	loc, _ = nb.visit(app.URL() + "/oauth/v2/authorize?" + q.Encode())
	if loc == nil || loc.Path != "/signin" || loc.Query().Get("lang") != "en" {
		t.Fatalf("ui_locales: %v", loc)
	}
}
