package cli_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/ninsho/ninsho/internal/config"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/oauthclient"
	"github.com/ninsho/ninsho/internal/store/storetest"
)

var orgLinkToken = regexp.MustCompile(`/orgs/(?:invitation|approval)\?token=([A-Za-z0-9_-]+)`)

// orgMailToken waits for the organisation e-mail of template to the
// address and returns its link's token.
func orgMailToken(t *testing.T, base, to, template string) string {
	t.Helper()
	m := deliveriesOf(t, base).wait(t, t.Context(), to, fromTemplate(template))
	got := orgLinkToken.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("the %s e-mail to %s has no link:\n%s", template, to, m.Text)
	}
	return got[1]
}

type orgMember struct {
	AccountID string `json:"account_id"`
	Email     string `json:"email"`
	Role      string `json:"role"`
}

type orgAnswer struct {
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	Kind        string      `json:"kind"`
	Status      string      `json:"status"`
	Role        string      `json:"role"`
	Members     []orgMember `json:"members"`
	Invitations *[]struct {
		ID    string `json:"id"`
		Email string `json:"email"`
	} `json:"invitations"`
}

func (o *orgAnswer) roleOf(accountID string) string {
	for _, m := range o.Members {
		if m.AccountID == accountID {
			return m.Role
		}
	}
	return ""
}

// TestOrganisationsAPI drives organisations through the JSON API on both
// databases: create → invite → accept by an existing person and by a new
// one (who signs up with the invited address first) → /me lists it → a
// role change (and an admin's refused one) → removal → transfer of the
// ownership → the last owner cannot leave; an invitation accepted by
// another account, used twice or expired is refused, a non-member gets
// not_found; a business organisation waits for approval, which the
// approver's e-mail link gives.
func TestOrganisationsAPI(t *testing.T) {
	run := func(t *testing.T, dbURL string) {
		ctx := context.Background()
		clock := &offsetClock{}
		app := mustStartClockedIssuer(t, ctx, dbURL, clock, func(c *config.Config) {
			c.Realms[0].Organisations = config.RealmOrganisations{BusinessApproval: true, Approvers: []string{"approver@example.jp"}}
		})
		base := app.URL()
		c := &client{tb: t, base: base, http: &http.Client{Timeout: 10 * time.Second}}
		const pw = "kumo-no-ue-42"
		owner := oidcPerson(t, c, "owner@example.jp", pw)
		existing := oidcPerson(t, c, "existing@example.jp", pw)
		stranger := oidcPerson(t, c, "stranger@example.jp", pw)
		idOf := func(token string) string {
			var me struct {
				ID string `json:"id"`
			}
			c.call("GET", "/api/v1/me", token, nil, &me)
			return me.ID
		}
		want := func(what string, status int, raw []byte, wantStatus int, code string) {
			t.Helper()
			var problem struct {
				Code string `json:"code"`
			}
			_ = json.Unmarshal(raw, &problem)
			if status != wantStatus || problem.Code != code {
				t.Fatalf("%s: %d %s, want %d %s", what, status, raw, wantStatus, code)
			}
		}

		var o orgAnswer
		status, raw := c.call("POST", "/api/v1/orgs", owner, map[string]string{"kind": "seller", "name": "Sakura Trading"}, &o)
		if status != http.StatusCreated || o.Role != "owner" || o.Status != "active" || o.Invitations == nil {
			t.Fatalf("create: %d %s", status, raw)
		}
		orgPath := "/api/v1/orgs/" + o.ID

		// An organisation's name and kind have their own messages; a name
		// too long carries params.max.
		var refused struct {
			Errors []struct {
				Code    string         `json:"code"`
				Field   string         `json:"field"`
				Message string         `json:"message"`
				Params  map[string]any `json:"params"`
			} `json:"errors"`
		}
		status, raw = c.call("POST", "/api/v1/orgs", owner, map[string]string{"kind": "shop", "name": strings.Repeat("あ", 101)}, &refused)
		if status != http.StatusBadRequest || len(refused.Errors) != 2 || refused.Errors[0].Field != "kind" || refused.Errors[1].Code != "field_too_long" ||
			refused.Errors[1].Params["max"] != float64(100) || !strings.Contains(refused.Errors[1].Message, "組織の名前") ||
			!strings.Contains(refused.Errors[0].Message, "出品者か法人") {
			t.Fatalf("a bad kind and a long name: %d %s", status, raw)
		}
		status, raw = c.call("POST", "/api/v1/orgs", owner, map[string]string{"kind": "seller", "name": " "}, &refused)
		if status != http.StatusBadRequest || len(refused.Errors) != 1 || refused.Errors[0].Message != "組織の名前を入力してください。" || refused.Errors[0].Params != nil {
			t.Fatalf("no name: %d %s", status, raw)
		}

		// An existing person accepts.
		var inv struct {
			ID   string `json:"id"`
			Role string `json:"role"`
		}
		if status, raw := c.call("POST", orgPath+"/invitations", owner, map[string]string{"email": "existing@example.jp", "role": "admin"}, &inv); status != http.StatusCreated || inv.Role != "admin" {
			t.Fatalf("invite: %d %s", status, raw)
		}
		tok := orgMailToken(t, base, "existing@example.jp", message.TemplateOrgInvitation)
		var p orgAnswer
		status, raw = c.call("POST", "/api/v1/orgs/invitations/accept", stranger, map[string]string{"token": tok}, nil)
		want("accept with another account", status, raw, http.StatusForbidden, "invitation_other_account")
		if status, raw := c.call("POST", "/api/v1/orgs/invitations/accept", existing, map[string]string{"token": tok}, &p); status != http.StatusOK || p.Role != "admin" {
			t.Fatalf("accept: %d %s", status, raw)
		}
		status, raw = c.call("POST", "/api/v1/orgs/invitations/accept", existing, map[string]string{"token": tok}, nil)
		want("accept twice", status, raw, http.StatusNotFound, "invitation_invalid")

		// A new person signs up with the invited address, then accepts.
		if status, raw := c.call("POST", orgPath+"/invitations", existing, map[string]string{"email": "newcomer@example.jp"}, nil); status != http.StatusCreated {
			t.Fatalf("invite by the admin: %d %s", status, raw)
		}
		tok = orgMailToken(t, base, "newcomer@example.jp", message.TemplateOrgInvitation)
		newcomer := oidcPerson(t, c, "newcomer@example.jp", pw)
		if status, raw := c.call("POST", "/api/v1/orgs/invitations/accept", newcomer, map[string]string{"token": tok}, &p); status != http.StatusOK || p.Role != "member" {
			t.Fatalf("accept by the new person: %d %s", status, raw)
		}
		var me struct {
			ID            string `json:"id"`
			Organisations []struct {
				ID, Name, Kind, Status, Role string
			} `json:"organisations"`
		}
		c.call("GET", "/api/v1/me", newcomer, nil, &me)
		if len(me.Organisations) != 1 || me.Organisations[0].ID != o.ID || me.Organisations[0].Role != "member" || me.Organisations[0].Name != "Sakura Trading" {
			t.Fatalf("/me organisations = %+v", me.Organisations)
		}
		newcomerID, existingID, ownerID := me.ID, idOf(existing), idOf(owner)

		// Non-members get not_found; members see no addresses.
		status, raw = c.call("GET", orgPath, stranger, nil, nil)
		want("a non-member reads", status, raw, http.StatusNotFound, "not_found")
		p = orgAnswer{}
		if c.call("GET", orgPath, newcomer, nil, &p); p.Invitations != nil || slices.ContainsFunc(p.Members, func(m orgMember) bool { return m.Email != "" }) {
			t.Fatalf("a member's view shows addresses or invitations: %+v", p)
		}

		// Role changes, removal, transfer.
		status, raw = c.call("PATCH", orgPath+"/members/"+newcomerID, existing, map[string]string{"role": "owner"}, nil)
		want("an admin makes an owner", status, raw, http.StatusForbidden, "forbidden")
		p = orgAnswer{}
		if status, raw := c.call("PATCH", orgPath+"/members/"+newcomerID, owner, map[string]string{"role": "admin"}, &p); status != http.StatusOK || p.roleOf(newcomerID) != "admin" {
			t.Fatalf("role change: %d %s", status, raw)
		}
		if status, raw := c.call("DELETE", orgPath+"/members/"+newcomerID, existing, nil, nil); status != http.StatusNoContent {
			t.Fatalf("remove: %d %s", status, raw)
		}
		if c.call("GET", "/api/v1/me", newcomer, nil, &me); len(me.Organisations) != 0 {
			t.Fatalf("/me after the removal: %+v", me.Organisations)
		}
		status, raw = c.call("POST", orgPath+"/leave", owner, nil, nil)
		want("the last owner leaves", status, raw, http.StatusConflict, "org_last_owner")
		p = orgAnswer{}
		if status, raw := c.call("POST", orgPath+"/transfer", owner, map[string]string{"account_id": existingID}, &p); status != http.StatusOK ||
			p.roleOf(existingID) != "owner" || p.roleOf(ownerID) != "admin" {
			t.Fatalf("transfer: %d %s", status, raw)
		}
		status, raw = c.call("POST", orgPath+"/leave", existing, nil, nil)
		want("the new last owner leaves", status, raw, http.StatusConflict, "org_last_owner")
		// An admin now, the former owner may not set the policy or
		// transfer: forbidden at once even from an old session, not
		// reauth_required first (re-authenticating would not help).
		clock.advance(time.Hour)
		status, raw = c.call("PUT", orgPath+"/policy", owner, map[string]any{"require_two_step": true}, nil)
		want("an admin's policy from an old session", status, raw, http.StatusForbidden, "forbidden")
		status, raw = c.call("POST", orgPath+"/transfer", owner, map[string]string{"account_id": existingID}, nil)
		want("an admin's transfer from an old session", status, raw, http.StatusForbidden, "forbidden")
		status, raw = c.call("PATCH", orgPath+"/members/"+existingID, owner, map[string]string{"role": "member"}, nil)
		want("an admin demotes an owner from an old session", status, raw, http.StatusForbidden, "forbidden")
		// The owner still re-authenticates.
		status, raw = c.call("PUT", orgPath+"/policy", existing, map[string]any{"require_two_step": true}, nil)
		want("the owner's policy from an old session", status, raw, http.StatusForbidden, "reauth_required")
		if status, raw := c.call("POST", orgPath+"/leave", owner, nil, nil); status != http.StatusNoContent {
			t.Fatalf("the former owner leaves: %d %s", status, raw)
		}

		// A business organisation waits for the approver's link.
		var b orgAnswer
		if status, raw := c.call("POST", "/api/v1/orgs", owner, map[string]string{"kind": "business", "name": "Sakura Holdings"}, &b); status != http.StatusCreated || b.Status != "pending_approval" {
			t.Fatalf("create a business: %d %s", status, raw)
		}
		status, raw = c.call("POST", "/api/v1/orgs/"+b.ID+"/invitations", owner, map[string]string{"email": "x@example.jp"}, nil)
		want("invite while pending", status, raw, http.StatusConflict, "org_pending_approval")
		tok = orgMailToken(t, base, "approver@example.jp", message.TemplateOrgApproval)
		p = orgAnswer{}
		if status, raw := c.call("POST", "/api/v1/orgs/approval/lookup", "", map[string]string{"token": tok}, &p); status != http.StatusOK || p.ID != b.ID || p.Status != "pending_approval" {
			t.Fatalf("approval lookup: %d %s", status, raw)
		}
		p = orgAnswer{}
		if status, raw := c.call("POST", "/api/v1/orgs/approval", "", map[string]string{"token": tok, "decision": "approve"}, &p); status != http.StatusOK || p.Status != "active" {
			t.Fatalf("approve: %d %s", status, raw)
		}
		// The owner is told by e-mail.
		if m := deliveriesOf(t, base).wait(t, t.Context(), "owner@example.jp", fromTemplate(message.TemplateOrgApproved)); !strings.Contains(m.Text, "/account/orgs/"+b.ID) {
			t.Errorf("the approval e-mail:\n%s", m.Text)
		}
		status, raw = c.call("POST", "/api/v1/orgs/approval", "", map[string]string{"token": tok, "decision": "reject"}, nil)
		want("decide twice", status, raw, http.StatusNotFound, "org_approval_invalid")
		if status, raw := c.call("POST", "/api/v1/orgs/"+b.ID+"/invitations", owner, map[string]string{"email": "late@example.jp"}, nil); status != http.StatusCreated {
			t.Fatalf("invite once approved: %d %s", status, raw)
		}

		// The OIDC scope organisations: the same list in the ID token and
		// at UserInfo.
		realmID := app.Realms.ForHost("127.0.0.1").ID
		web, secret, err := app.Clients.Create(ctx, oauthclient.New{Realm: realmID, Name: "Web shop", Kind: oauthclient.Confidential,
			RedirectURIs: []string{shopCallback}, FirstParty: true})
		if err != nil {
			t.Fatal(err)
		}
		provider, err := gooidc.NewProvider(ctx, base)
		if err != nil {
			t.Fatalf("discovery: %v", err)
		}
		var disc struct {
			Scopes []string `json:"scopes_supported"`
			Claims []string `json:"claims_supported"`
		}
		if err := provider.Claims(&disc); err != nil || !slices.Contains(disc.Scopes, "organisations") || !slices.Contains(disc.Claims, "organisations") {
			t.Fatalf("discovery scopes %v claims %v (%v)", disc.Scopes, disc.Claims, err)
		}
		cfg := oauth2.Config{ClientID: web.ID, ClientSecret: secret, Endpoint: provider.Endpoint(), RedirectURL: shopCallback,
			Scopes: []string{gooidc.ScopeOpenID, "organisations"}}
		browser := newRPBrowser(t, base)
		browser.signedIn(owner)
		pkce := oauth2.GenerateVerifier()
		loc, _ := browser.visit(cfg.AuthCodeURL("st", oauth2.S256ChallengeOption(pkce)))
		tk, err := cfg.Exchange(ctx, loc.Query().Get("code"), oauth2.VerifierOption(pkce))
		if err != nil {
			t.Fatalf("exchange: %v", err)
		}
		rawIDT, _ := tk.Extra("id_token").(string)
		idt, err := provider.Verifier(&gooidc.Config{ClientID: web.ID}).Verify(ctx, rawIDT)
		if err != nil {
			t.Fatal(err)
		}
		type orgClaim struct{ ID, Name, Kind, Status, Role string }
		var claims struct {
			Organisations []orgClaim `json:"organisations"`
		}
		wantClaim := []orgClaim{{b.ID, "Sakura Holdings", "business", "active", "owner"}}
		if err := idt.Claims(&claims); err != nil || !slices.Equal(claims.Organisations, wantClaim) {
			t.Fatalf("ID token organisations = %+v (%v), want %+v", claims.Organisations, err, wantClaim)
		}
		info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tk))
		claims.Organisations = nil
		if err != nil || info.Claims(&claims) != nil || !slices.Equal(claims.Organisations, wantClaim) {
			t.Fatalf("userinfo organisations = %+v (%v)", claims.Organisations, err)
		}

		// An invitation expires after 7 days.
		tok = orgMailToken(t, base, "late@example.jp", message.TemplateOrgInvitation)
		clock.advance(7*24*time.Hour + time.Minute)
		late := oidcPerson(t, c, "late@example.jp", pw)
		status, raw = c.call("POST", "/api/v1/orgs/invitations/accept", late, map[string]string{"token": tok}, nil)
		want("accept an expired invitation", status, raw, http.StatusNotFound, "invitation_invalid")
	}
	t.Run("sqlite", func(t *testing.T) { run(t, "") })
	t.Run("postgres", func(t *testing.T) { run(t, storetest.PostgresURL(t)) })
}
