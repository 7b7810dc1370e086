package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/api"
	"github.com/ninsho/ninsho/internal/consent"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/grant"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

// TestMeApps: GET /api/v1/me/apps lists the allowed clients (most recently
// allowed first, not a deleted one); DELETE revokes one — the consent and
// the client's refresh token — without a recent sign-in; an unknown client
// is 404, a form body is refused, no session is 401.
func TestMeApps(t *testing.T) {
	env := flowtest.New(t, storetest.MustOpenSQLite(t))
	ctx := context.Background()
	hasher, err := secret.NewHasher(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	g := &grant.Service{Store: env.DB, Owners: env.DB, Tx: env.DB, Events: env.DB, Hasher: hasher, Clock: env.Clock, Random: ninsho.SecureRandom}
	cs := &consent.Service{Store: env.DB, Tokens: g, Tx: env.DB, Events: env.DB, Clock: env.Clock, Random: ninsho.SecureRandom}
	h := api.New(api.Deps{Realms: env.Realms, Flows: env.Engine, Signup: env.Signup, Signin: env.Signin,
		Unlock: env.Unlock, Captcha: env.Captcha, Consents: cs, Now: env.Clock.Now})
	dev := env.MustSignUp(t, env.JP, tsEmail, pw, tsEmail)
	rec := do(h, "POST", "/api/v1/signin", "application/json", jsonBody(t, map[string]string{"identifier": tsEmail, "password": pw, "device_token": dev}))
	fb := decodeFlow(t, rec)
	if rec.Code != 200 || fb.Session == nil {
		t.Fatalf("signin: %d %s", rec.Code, rec.Body)
	}
	token := fb.Session.Token
	a, err := env.DB.AccountByEmail(ctx, env.JP.ID, tsEmail)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ id, name string }{{"c_partner", "Partner shop"}, {"c_blog", "Blog"}} {
		if err := env.DB.CreateClient(ctx, &oauthclient.Client{Realm: env.JP.ID, ID: c.id, Name: c.name, Kind: oauthclient.Public,
			AuthMethod: oauthclient.AuthNone, RedirectURIs: []string{"https://" + c.id + ".example/cb"},
			WithoutTwoStep: oauthclient.Enrol, CreatedAt: env.Clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.Grant(ctx, env.JP.ID, a.ID, "c_partner", []string{"openid", "email"}, ninsho.Request{}); err != nil {
		t.Fatal(err)
	}
	env.Clock.Advance(time.Minute)
	if _, err := cs.Grant(ctx, env.JP.ID, a.ID, "c_blog", []string{"openid"}, ninsho.Request{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.Grant(ctx, env.JP.ID, a.ID, "c_gone", []string{"openid"}, ninsho.Request{}); err != nil {
		t.Fatal(err)
	}
	_, refresh, err := g.IssuePair(ctx, grant.Issue{Realm: env.JP.ID, ClientID: "c_partner", AccountID: a.ID, Family: "fam-1",
		Scopes: []string{"openid", "offline_access"}}, "")
	if err != nil {
		t.Fatal(err)
	}

	if rec := do(h, "GET", "/api/v1/me/apps", "", ""); rec.Code != http.StatusUnauthorized {
		t.Errorf("without a session: %d", rec.Code)
	}
	rec = do(h, "GET", "/api/v1/me/apps", "", "", bearer(token)...)
	var out struct {
		Apps []struct {
			ClientID  string   `json:"client_id"`
			Name      string   `json:"name"`
			Scopes    []string `json:"scopes"`
			GrantedAt string   `json:"granted_at"`
		} `json:"apps"`
	}
	dec := json.NewDecoder(rec.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil || rec.Code != 200 || len(out.Apps) != 2 || out.Apps[0].ClientID != "c_blog" ||
		out.Apps[1].Name != "Partner shop" || len(out.Apps[1].Scopes) != 2 || out.Apps[1].Scopes[0] != "email" || out.Apps[1].GrantedAt == "" {
		t.Fatalf("GET /api/v1/me/apps: %d %+v %v", rec.Code, out, err)
	}

	env.Clock.Advance(time.Hour) // no recent sign-in needed
	if rec := do(h, "DELETE", "/api/v1/me/apps/c_partner", "application/x-www-form-urlencoded", "x=1", bearer(token)...); rec.Code != http.StatusUnsupportedMediaType {
		t.Errorf("DELETE with a form body: %d", rec.Code)
	}
	if rec := do(h, "DELETE", "/api/v1/me/apps/c_nobody", "", "", bearer(token)...); rec.Code != 404 {
		t.Errorf("DELETE an unknown client: %d", rec.Code)
	}
	if rec := do(h, "DELETE", "/api/v1/me/apps/c_partner", "", "", bearer(token)...); rec.Code != 204 {
		t.Fatalf("DELETE: %d %s", rec.Code, rec.Body)
	}
	if c, _ := cs.Get(ctx, env.JP.ID, a.ID, "c_partner"); c != nil {
		t.Error("the consent is still remembered")
	}
	if _, err := g.Refresh(ctx, env.JP.ID, "", refresh); err == nil {
		t.Error("the client's refresh token still works")
	}
	if c, _ := cs.Get(ctx, env.JP.ID, a.ID, "c_blog"); c == nil {
		t.Error("revoking one client forgot another")
	}
}
