package cli_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/cli"
	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/oauthclient"
)

// TestBrowserOIDCRelyingParty signs a person in to a real relying party
// (go-oidc and oauth2, a public client with PKCE and a loopback redirect
// URI served by the test) through the hosted pages driven in Chromium:
// prompt=none without a session, the sign-in with the e-mail code an
// unfamiliar device gets, the token exchange, the ID token, userinfo, a
// rotating refresh, max_age=0 and prompt=login through /reauth, RP-initiated
// logout; then, with two-step verification on and this browser trusted,
// acr_values=aal2 asking the second factor of a one-factor session.
func TestBrowserOIDCRelyingParty(t *testing.T) {
	const (
		address  = "hanako@example.jp"
		password = "kumo-no-ue-42"
	)
	chromium := mustChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	clock := &offsetClock{}
	app := mustStartClockedIssuer(t, ctx, "", clock)
	base := app.URL()
	api := &client{tb: t, base: base, http: &http.Client{Timeout: 10 * time.Second}}
	apiToken := oidcPerson(t, api, address, password)

	// The relying party: its callback records what the browser brings.
	var (
		mu   sync.Mutex
		last url.Values
	)
	rp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" && r.URL.Path != "/bye" { // the browser's /favicon.ico
			http.NotFound(w, r)
			return
		}
		mu.Lock()
		last = r.URL.Query()
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="ja"><title>shop</title><main><h1>shop</h1></main></html>`)
	}))
	t.Cleanup(rp.Close)
	callback := rp.URL + "/callback"
	c, _, err := app.Clients.Create(ctx, oauthclient.New{Realm: app.Realms.ForHost("127.0.0.1").ID, Name: "Shop app",
		Kind: oauthclient.Public, RedirectURIs: []string{callback}, PostLogoutRedirectURIs: []string{rp.URL + "/bye"}, FirstParty: true})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := gooidc.NewProvider(ctx, base)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	cfg := oauth2.Config{ClientID: c.ID, Endpoint: provider.Endpoint(), RedirectURL: callback,
		Scopes: []string{gooidc.ScopeOpenID, "email", "profile", gooidc.ScopeOfflineAccess}}
	verifier := provider.Verifier(&gooidc.Config{ClientID: c.ID, Now: clock.Now})

	b := mustStartBrowser(t, ctx, chromium, "ja-JP,ja")
	// atRP waits until the tab is at the relying party and returns what it
	// brought, checking the state.
	atRP := func(path, state string) url.Values {
		t.Helper()
		mustWaitPath(t, b, path)
		mu.Lock()
		q := last
		last = nil
		mu.Unlock()
		if q == nil || q.Get("state") != state {
			t.Fatalf("at the relying party with %v, want state %s", q, state)
		}
		return q
	}
	type claims struct {
		ACR      string   `json:"acr"`
		AMR      []string `json:"amr"`
		AuthTime int64    `json:"auth_time"`
		SID      string   `json:"sid"`
		Email    string   `json:"email"`
	}
	// exchange redeems the code the browser brought and verifies the ID
	// token and its nonce.
	exchange := func(q url.Values, pkce, nonce string) (*oauth2.Token, *gooidc.IDToken, claims) {
		t.Helper()
		if q.Get("code") == "" {
			t.Fatalf("the relying party got %v, want a code", q)
		}
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		raw, _ := tok.Extra("id_token").(string)
		idt, err := verifier.Verify(ctx, raw)
		if err != nil {
			t.Fatalf("ID token: %v", err)
		}
		var cl claims
		if err := idt.Claims(&cl); err != nil {
			t.Fatal(err)
		}
		if idt.Nonce != nonce {
			t.Errorf("nonce = %q, want %q", idt.Nonce, nonce)
		}
		return tok, idt, cl
	}
	// authorize opens the authorization request in the tab.
	authorize := func(state string, opts ...oauth2.AuthCodeOption) (pkce, nonce string) {
		t.Helper()
		pkce, nonce = oauth2.GenerateVerifier(), "n-"+state
		opts = append(opts, oauth2.S256ChallengeOption(pkce), gooidc.Nonce(nonce))
		mustDo(t, b, "open the authorization request "+state, chromedp.Navigate(cfg.AuthCodeURL(state, opts...)))
		return pkce, nonce
	}
	signin := func() {
		t.Helper()
		mustPage(t, b, "/signin", "ログイン")
		mustDo(t, b, "fill in the sign-in form", chromedp.SetValue(chromedp.ID("identifier"), address), chromedp.SendKeys(chromedp.ID("password"), password))
		mustSubmit(t, b, `form[action="/signin"] button[type="submit"]`, "ログイン")
	}
	reauth := func() {
		t.Helper()
		mustWaitPath(t, b, "/reauth")
		mustDo(t, b, "type the password again", chromedp.SendKeys(chromedp.ID("password"), password))
		mustClick(t, b, "send the password", chromedp.Click(chromedp.CSS(`form[action="/reauth"] button[type="submit"]`), chromedp.NodeVisible))
	}

	// prompt=none without a session: login_required at the relying party.
	authorize("st-none", oauth2.SetAuthURLParam("prompt", "none"))
	if q := atRP("/callback", "st-none"); q.Get("error") != "login_required" || q.Get("code") != "" {
		t.Fatalf("prompt=none without a session: %v", q)
	}

	// The sign-in page, with the identifier the client hinted; this
	// browser is new, so the e-mail code follows; then the code.
	pkce, nonce := authorize("st-1", oauth2.SetAuthURLParam("login_hint", address))
	if got := mustRun(t, b, "read the hinted identifier", chromedp.Value(chromedp.ID("identifier"), chromedp.NodeVisible)); got != address {
		t.Errorf("login_hint: the identifier field holds %q", got)
	}
	signin()
	mustPage(t, b, "/verify", "確認コードを入力")
	msg := mustInboxMessage(t, ctx, base, address)
	mustDo(t, b, "type the e-mail code", chromedp.SendKeys(chromedp.ID("code"), msg.Code))
	mustClick(t, b, "send the e-mail code", chromedp.Click(chromedp.CSS(`form:has(#code) button[type="submit"]`), chromedp.NodeVisible))
	tok, idt, cl := exchange(atRP("/callback", "st-1"), pkce, nonce)
	if cl.ACR != "aal1" || cl.Email != address || cl.SID == "" || !slices.Contains(cl.AMR, "pwd") || slices.Contains(cl.AMR, "mfa") {
		t.Errorf("first ID token claims = %+v", cl)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != idt.Subject || info.Email != address {
		t.Fatalf("userinfo = %+v, %v", info, err)
	}
	tok.Expiry = clock.Now().Add(-time.Minute)
	fresh, err := cfg.TokenSource(ctx, tok).Token()
	if err != nil || fresh.RefreshToken == "" || fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Fatalf("refresh: %v", err)
	}
	if _, err := cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: clock.Now().Add(-time.Minute)}).Token(); err == nil {
		t.Error("the rotated-out refresh token still works")
	}

	// max_age=0 and prompt=login: the password again on /reauth, then the
	// code, with a later auth_time.
	for i, opt := range []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("max_age", "0"), oauth2.SetAuthURLParam("prompt", "login")} {
		clock.advance(2 * time.Second)
		state := []string{"st-maxage", "st-login"}[i]
		pkce, nonce := authorize(state, opt)
		reauth()
		_, _, again := exchange(atRP("/callback", state), pkce, nonce)
		if again.AuthTime <= cl.AuthTime || again.SID != cl.SID {
			t.Errorf("%s: auth_time %d (before %d), sid %q (before %q): want a later proof in the same session", state, again.AuthTime, cl.AuthTime, again.SID, cl.SID)
		}
		cl = again
	}

	// RP-initiated logout with the ID token hint: the session is gone.
	rawID, _ := tok.Extra("id_token").(string)
	q := url.Values{"id_token_hint": {rawID}, "post_logout_redirect_uri": {rp.URL + "/bye"}, "state": {"bye"}}
	mustDo(t, b, "end_session", chromedp.Navigate(base+"/oidc/v1/end_session?"+q.Encode()))
	if got := atRP("/bye", "bye"); len(got) != 1 {
		t.Errorf("after end_session the relying party got %v, want only the state", got)
	}
	authorize("st-gone", oauth2.SetAuthURLParam("prompt", "none"))
	if q := atRP("/callback", "st-gone"); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none after end_session: %v", q)
	}

	// Two-step verification on (through the JSON API, from the other
	// device); the browser signs in with the app's code and is trusted.
	var begun struct {
		CredentialID string `json:"credential_id"`
		Secret       string `json:"secret"`
	}
	if status, raw := api.call("POST", "/api/v1/me/two-step/totp", apiToken, map[string]string{"label": "phone"}, &begun); status != http.StatusCreated {
		t.Fatalf("begin TOTP: %d %s", status, raw)
	}
	if status, raw := api.call("POST", "/api/v1/me/two-step/totp/"+begun.CredentialID+"/verify", apiToken, map[string]string{"code": totpAt(t, begun.Secret, clock.Now())}, nil); status != http.StatusOK {
		t.Fatalf("prove TOTP: %d %s", status, raw)
	}
	clock.nextStep()
	pkce, nonce = authorize("st-2sv")
	signin()
	mustWaitPath(t, b, "/two-step")
	mustDo(t, b, "type the app's code and trust this browser",
		chromedp.SendKeys(chromedp.ID("code"), totpAt(t, begun.Secret, clock.Now())), chromedp.Click(chromedp.ID("trust_device")))
	mustClick(t, b, "send the app's code", chromedp.Click(chromedp.CSS(`form:has(#code) button[type="submit"]`), chromedp.NodeVisible))
	_, idt, cl = exchange(atRP("/callback", "st-2sv"), pkce, nonce)
	if cl.ACR != "aal2" {
		t.Errorf("with the app's code: acr %q, want aal2", cl.ACR)
	}

	// Signed out and in again on the trusted browser: one factor, aal1.
	rawID = ""
	mustDo(t, b, "open /account", chromedp.Navigate(base+"/account"))
	mustSubmit(t, b, `form[action="/signout"] button[type="submit"]`, "ログアウト")
	pkce, nonce = authorize("st-trusted")
	signin()
	_, _, cl = exchange(atRP("/callback", "st-trusted"), pkce, nonce)
	if cl.ACR != "aal1" || slices.Contains(cl.AMR, "mfa") {
		t.Fatalf("on the trusted browser: acr %q amr %v, want aal1 without mfa", cl.ACR, cl.AMR)
	}

	// acr_values=aal2: the second factor even on the trusted browser.
	clock.nextStep()
	pkce, nonce = authorize("st-aal2", oauth2.SetAuthURLParam("acr_values", "aal2"))
	mustWaitPath(t, b, "/reauth")
	loc := mustRun(t, b, "read the location", chromedp.Location())
	if !strings.Contains(loc, url.QueryEscape("/oauth/v2/login?id=")) {
		t.Errorf("acr_values=aal2 sent the browser to %s, want /reauth returning to the login bridge", loc)
	}
	for range 3 { // the pages of the re-authentication: password and/or the app's code
		mustDo(t, b, "wait for the page", chromedp.WaitReady(chromedp.CSS("body")))
		at := mustRun(t, b, "read the location", chromedp.Location())
		u, _ := url.Parse(at)
		if u.Host != strings.TrimPrefix(base, "http://") {
			break
		}
		switch u.Path {
		case "/reauth":
			reauth()
		case "/two-step":
			mustDo(t, b, "type the app's code", chromedp.SendKeys(chromedp.ID("code"), totpAt(t, begun.Secret, clock.Now())))
			mustClick(t, b, "send the app's code", chromedp.Click(chromedp.CSS(`form:has(#code) button[type="submit"]`), chromedp.NodeVisible))
		default:
			t.Fatalf("acr_values=aal2: at %s, the page says %q", at, pageAlert(b))
		}
	}
	_, idt2, cl := exchange(atRP("/callback", "st-aal2"), pkce, nonce)
	if cl.ACR != "aal2" || !slices.Contains(cl.AMR, "otp") || !slices.Contains(cl.AMR, "mfa") || idt2.Subject != idt.Subject {
		t.Errorf("acr_values=aal2: acr %q amr %v sub %s, want aal2 with otp and mfa for %s", cl.ACR, cl.AMR, idt2.Subject, idt.Subject)
	}
}

// mustStartClockedIssuer starts an issuer (its public URL is its own
// address) on clock c, its configuration adjusted by edit; dbURL "" is
// SQLite.
func mustStartClockedIssuer(tb testing.TB, ctx context.Context, dbURL string, c *offsetClock, edit ...func(*config.Config)) *cli.App {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Default()
	cfg.DataDir = tb.TempDir()
	cfg.DatabaseURL = config.Secret(dbURL)
	cfg.Addr, cfg.PublicURL = addr, "http://"+addr
	cfg.Password.MemoryKiB, cfg.Password.Time = 8192, 1
	for _, e := range edit {
		e(&cfg)
	}
	sent := newDeliveries()
	app, err := cli.NewApp(ctx, cfg, cli.Options{LogOutput: io.Discard, Clock: c, Delivered: sent.record})
	if err != nil {
		tb.Fatalf("NewApp: %v", err)
	}
	if err := app.Start(); err != nil {
		app.Close()
		tb.Fatalf("Start: %v", err)
	}
	tb.Cleanup(func() { app.Close() })
	registerDeliveries(tb, app.URL(), sent)
	return app
}

// mustClick clicks and waits until the tab has left the page (the form's
// answer may be a chain of redirects ending at another server).
func mustClick(tb testing.TB, b context.Context, what string, a chromedp.Action[chromedp.Void]) {
	tb.Helper()
	before := mustRun(tb, b, "read the location", chromedp.Location())
	mustDo(tb, b, what, a)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if loc, err := chromedp.Run(b, chromedp.Location()); err == nil && loc != before {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%s: still at %s; the page says %q", what, before, pageAlert(b))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
