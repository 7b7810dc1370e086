package web_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store/storetest"
	"github.com/ninsho/ninsho/internal/web"
	"github.com/ninsho/ninsho/internal/web/webreq"
)

// providerSide stands in for the OpenID Connect provider's side of the
// pages (*oidc.Handler, tested with it in internal/cli): one request
// "req-1" of the client "Partner shop"; Allow remembers through the real
// consent service, Deny answers the client as the provider would.
type providerSide struct {
	consents *consent.Service
	denied   []string
}

const consentReqID = "req-1"

func (p *providerSide) Request(_ context.Context, _ *realm.Realm, id string) (*webreq.OIDCRequest, error) {
	if id != consentReqID {
		return nil, ninsho.E(ninsho.CodeFlowExpired)
	}
	return &webreq.OIDCRequest{ID: id, ClientID: "c_partner", ClientName: "Partner shop", Scopes: []string{"email", "openid", "offline_access"}}, nil
}

func (p *providerSide) Allow(ctx context.Context, rl *realm.Realm, req ninsho.Request, accountID, id string) error {
	if id != consentReqID {
		return ninsho.E(ninsho.CodeFlowExpired)
	}
	_, err := p.consents.Grant(ctx, rl.ID, accountID, "c_partner", []string{"email", "openid", "offline_access"}, req)
	return err
}

func (p *providerSide) Deny(w http.ResponseWriter, r *http.Request, id string) {
	p.denied = append(p.denied, id)
	http.Redirect(w, r, "https://partner.example/cb?error=access_denied", http.StatusFound)
}

func newConsentWeb(t *testing.T) (*web.Handler, *flowtest.Env, *providerSide, *grant.Service) {
	t.Helper()
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	g := &grant.Service{Store: env.DB, Owners: env.DB, Tx: env.DB, Events: env.DB, Hasher: hasher, Clock: env.Clock, Random: ninsho.SecureRandom}
	cs := &consent.Service{Store: env.DB, Tokens: g, Tx: env.DB, Events: env.DB, Clock: env.Clock, Random: ninsho.SecureRandom}
	if err := env.DB.CreateClient(context.Background(), &oauthclient.Client{Realm: env.JP.ID, ID: "c_partner", Name: "Partner shop",
		Kind: oauthclient.Confidential, AuthMethod: oauthclient.AuthSecretBasic, SecretHash: storetest.NewHash(),
		RedirectURIs: []string{"https://partner.example/cb"}, WithoutTwoStep: oauthclient.Enrol, CreatedAt: env.Clock.Now()}); err != nil {
		t.Fatal(err)
	}
	ps := &providerSide{consents: cs}
	h := mustWeb(t, web.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Reset: env.Reset, TwoStep: env.TwoStep, OIDC: ps, Consents: cs, Now: env.Clock.Now})
	return h, env, ps, g
}

// TestBrowserConsent: the consent page needs a session, names the client
// and the scopes in words (ja and en), and takes Allow (remembered, back
// to the bridge) and Deny (the provider answers the client); a cross-site
// post is refused before anything happens, an unknown action is
// request_invalid, an expired request flow_expired.
func TestBrowserConsent(t *testing.T) {
	h, env, ps, _ := newConsentWeb(t)
	if rec := get(h, "/oauth/v2/consent?id="+consentReqID); rec.Code != 303 || rec.Header().Get("Location") != "/signin" {
		t.Fatalf("without a session: %d %q", rec.Code, rec.Header().Get("Location"))
	}
	b := signedInBrowser(t, h, env, "taro@example.jp")
	for lang, want := range map[string][]string{
		"en": {"Partner shop would like to use your account", "Your account ID at this shop", "Your email address", "Stays signed in when you are away", ">Allow<", ">Deny<"},
		"ja": {"Partner shop がお客様のアカウントの利用を求めています", "メールアドレス", "許可する", "許可しない"},
	} {
		rec := get(h, "/oauth/v2/consent?id="+consentReqID+"&lang="+lang, b.header()...)
		body := html.UnescapeString(rec.Body.String())
		for _, w := range want {
			if rec.Code != 200 || !strings.Contains(body, w) {
				t.Fatalf("consent page (%s, %d) lacks %q:\n%s", lang, rec.Code, w, body)
			}
		}
		if strings.Contains(body, "Your name and language") || strings.Contains(body, "お名前と言語") {
			t.Errorf("consent page (%s) lists a scope not asked for", lang)
		}
		if !strings.Contains(body, `name="id" value="`+consentReqID+`"`) {
			t.Errorf("consent page (%s) does not carry the request", lang)
		}
	}
	if rec := get(h, "/oauth/v2/consent?id=gone", b.header()...); rec.Code != http.StatusGone {
		t.Errorf("expired request: %d", rec.Code)
	}

	// A cross-site post changes nothing.
	rec := post(h, "/oauth/v2/consent", url.Values{"id": {consentReqID}, "action": {"allow"}}, append(b.header(), "Sec-Fetch-Site", "cross-site")...)
	if rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site allow: %d", rec.Code)
	}
	a, err := env.DB.AccountByEmail(context.Background(), env.JP.ID, "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := ps.consents.Get(context.Background(), env.JP.ID, a.ID, "c_partner"); c != nil {
		t.Fatal("a cross-site post was remembered")
	}
	if rec := post(h, "/oauth/v2/consent", url.Values{"id": {consentReqID}, "action": {"maybe"}}, b.header()...); rec.Code != 400 {
		t.Errorf("unknown action: %d", rec.Code)
	}

	rec = post(h, "/oauth/v2/consent", url.Values{"id": {consentReqID}, "action": {"deny"}}, b.header()...)
	if rec.Code != http.StatusFound || len(ps.denied) != 1 {
		t.Fatalf("deny: %d %q, denied %v", rec.Code, rec.Header().Get("Location"), ps.denied)
	}
	if c, _ := ps.consents.Get(context.Background(), env.JP.ID, a.ID, "c_partner"); c != nil {
		t.Fatal("deny remembered a consent")
	}
	rec = post(h, "/oauth/v2/consent", url.Values{"id": {consentReqID}, "action": {"allow"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/oauth/v2/login?id="+consentReqID)
	if c, _ := ps.consents.Get(context.Background(), env.JP.ID, a.ID, "c_partner"); c == nil || !c.Covers([]string{"openid", "email", "offline_access"}) {
		t.Fatalf("allow remembered %+v", c)
	}
}

// TestBrowserApps: /account links /account/apps, which lists the allowed
// clients with their scopes in words and revokes one (the consent and the
// client's tokens); revoking needs no recent sign-in, an unknown client is
// not found, a cross-site post is refused.
func TestBrowserApps(t *testing.T) {
	h, env, ps, g := newConsentWeb(t)
	b := signedInBrowser(t, h, env, "taro@example.jp")
	ctx := context.Background()
	a, err := env.DB.AccountByEmail(ctx, env.JP.ID, "taro@example.jp")
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(h, "/account/apps?lang=en", b.header()...); rec.Code != 200 || !strings.Contains(rec.Body.String(), "You haven&#39;t allowed any app.") {
		t.Fatalf("empty list: %d\n%s", rec.Code, rec.Body)
	}
	if _, err := ps.consents.Grant(ctx, env.JP.ID, a.ID, "c_partner", []string{"openid", "offline_access"}, ninsho.Request{}); err != nil {
		t.Fatal(err)
	}
	_, refresh, err := g.IssuePair(ctx, grant.Issue{Realm: env.JP.ID, ClientID: "c_partner", AccountID: a.ID, Family: "fam-1",
		Scopes: []string{"openid", "offline_access"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	if rec := get(h, "/account?lang=en", b.header()...); !strings.Contains(rec.Body.String(), `href="/account/apps"`) {
		t.Error("/account does not link the apps")
	}
	env.Clock.Advance(time.Hour) // no recent sign-in needed
	rec := get(h, "/account/apps?lang=en", b.header()...)
	body := html.UnescapeString(rec.Body.String())
	for _, w := range []string{"Apps signed in with your account", "Partner shop", "Your account ID at this shop", "Stays signed in when you are away", `value="c_partner"`, "Remove access"} {
		if rec.Code != 200 || !strings.Contains(body, w) {
			t.Fatalf("/account/apps (%d) lacks %q:\n%s", rec.Code, w, body)
		}
	}
	if rec := post(h, "/account/apps", url.Values{"client_id": {"c_partner"}}, append(b.header(), "Sec-Fetch-Site", "cross-site")...); rec.Code != http.StatusForbidden {
		t.Fatalf("cross-site revoke: %d", rec.Code)
	}
	if rec := post(h, "/account/apps", url.Values{"client_id": {"c_nobody"}}, b.header()...); rec.Code != 404 {
		t.Errorf("revoke an unknown client: %d", rec.Code)
	}
	rec = post(h, "/account/apps", url.Values{"client_id": {"c_partner"}}, b.header()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account/apps?done=revoked")
	if c, _ := ps.consents.Get(ctx, env.JP.ID, a.ID, "c_partner"); c != nil {
		t.Fatal("the consent is still remembered")
	}
	if _, err := g.Refresh(ctx, env.JP.ID, "", refresh); err == nil {
		t.Fatal("the client's refresh token still works")
	}
	if rec := get(h, "/account/apps?done=revoked&lang=en", b.header()...); !strings.Contains(html.UnescapeString(rec.Body.String()), "The app's access was removed.") {
		t.Errorf("no notice after revoking:\n%s", rec.Body)
	}
}

// TestBrowserTwoStepContinue: /account/two-step?return_to=<bridge URL>
// keeps the URL in a cookie (another return_to is ignored) and shows
// "Continue to <app>" only once two-step verification is on and the
// session is two factors.
func TestBrowserTwoStepContinue(t *testing.T) {
	h, env, _, _ := newConsentWeb(t)
	b := signedInBrowser(t, h, env, "taro@example.jp")
	withUA := func() []string { return append(b.header(), "User-Agent", flowtest.BrowserUA) }

	rec := get(h, "/account/two-step?lang=en&return_to="+url.QueryEscape("https://evil.example/"), withUA()...)
	if rec.Code != 200 || strings.Contains(rec.Result().Header.Get("Set-Cookie"), "ninsho_oidc_return") {
		t.Fatalf("a foreign return_to: %d, cookies %q", rec.Code, rec.Result().Header.Values("Set-Cookie"))
	}
	rec = get(h, "/account/two-step?lang=en&return_to="+url.QueryEscape("/oauth/v2/login?id="+consentReqID), withUA()...)
	b.take(t, rec.Result())
	if rec.Code != 200 || b["ninsho_oidc_return"] == "" {
		t.Fatalf("the bridge URL was not kept: %d %v", rec.Code, b)
	}
	if strings.Contains(rec.Body.String(), "Continue to") {
		t.Fatal("Continue offered before two-step verification is on")
	}
	if !strings.Contains(html.UnescapeString(rec.Body.String()), "Partner shop asks for two-step verification") {
		t.Fatal("the page does not say which application asked for two-step verification")
	}
	secret, _ := enrolTOTP(t, env, "taro@example.jp")
	if rec := get(h, "/account/two-step?lang=en", withUA()...); strings.Contains(rec.Body.String(), "Continue to") {
		t.Fatal("Continue offered to a one-factor session")
	}
	// Sign in again with both factors: the session is two factors.
	post(h, "/signout", url.Values{}, withUA()...)
	delete(b, "ninsho_session")
	rec = post(h, "/signin", url.Values{"identifier": {"taro@example.jp"}, "password": {pw}, "rendered_at": {shownAgo(env, 5*time.Second)}}, withUA()...)
	b.take(t, rec.Result())
	twoStep := rec.Header().Get("Location")
	rec = post(h, twoStep, url.Values{"action": {"submit_second_factor"}, "code": {totpNow(t, env, secret)}}, withUA()...)
	mustRedirect(t, rec.Code, rec.Header().Get("Location"), "/account")
	b.take(t, rec.Result())
	rec = get(h, "/account/two-step?lang=en", withUA()...)
	body := html.UnescapeString(rec.Body.String())
	if rec.Code != 200 || !strings.Contains(body, "Continue to Partner shop") || !strings.Contains(body, `action="/oauth/v2/login"`) ||
		!strings.Contains(body, `name="id" value="`+consentReqID+`"`) {
		t.Fatalf("after enrolment, two factors (%d):\n%s", rec.Code, body)
	}
}
