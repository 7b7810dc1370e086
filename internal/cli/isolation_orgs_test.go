package cli_test

import (
	"net/http"
	"net/url"
	"strings"
)

// Organisations across realms (issue 15): jp's organisation, its
// invitation and a business organisation's approval link are jp's alone.

// jpApprover is where jp's business organisations' approval links go
// (TestRealmIsolation's realm settings).
const jpApprover = "approver@sakura.example"

// collectOrgIDs gives jp's account an organisation with a pending
// invitation — {org}, {invitation}, and {account} for jp's account id —
// and a business organisation waiting for approval ({business}), before
// the snapshot of isolateEveryRoute is taken.
func (e *isoEnv) collectOrgIDs() {
	t := e.t
	t.Helper()
	var me struct {
		ID string `json:"id"`
	}
	if status, raw := e.jp.call("GET", "/api/v1/me", e.jpToken, nil, &me); status != http.StatusOK || me.ID == "" {
		t.Fatalf("GET /api/v1/me at jp: %d %s", status, raw)
	}
	var o orgAnswer
	if status, raw := e.jp.call("POST", "/api/v1/orgs", e.jpToken, map[string]string{"name": "Hanako Shop", "kind": "seller"}, &o); status != http.StatusCreated || o.ID == "" {
		t.Fatalf("POST /api/v1/orgs at jp: %d %s", status, raw)
	}
	var inv struct {
		ID string `json:"id"`
	}
	if status, raw := e.jp.call("POST", "/api/v1/orgs/"+o.ID+"/invitations", e.jpToken, map[string]string{"email": "jiro@example.com", "role": "member"}, &inv); status != http.StatusCreated || inv.ID == "" {
		t.Fatalf("invitation at jp: %d %s", status, raw)
	}
	var biz orgAnswer
	if status, raw := e.jp.call("POST", "/api/v1/orgs", e.jpToken, map[string]string{"name": "Hanako Trading", "kind": "business"}, &biz); status != http.StatusCreated || biz.Status != "pending_approval" {
		t.Fatalf("business organisation at jp: %d %s, want 201 pending_approval", status, raw)
	}
	e.ids["account"], e.ids["org"], e.ids["invitation"], e.ids["business"] = me.ID, o.ID, inv.ID, biz.ID
}

// orgSessionRoutes are what us's own session tries with jp's organisation:
// an organisation of another realm is one it is no member of.
var orgSessionRoutes = []struct {
	method, path string
	body         any
}{
	{"GET", "/api/v1/orgs/{org}", nil},
	{"POST", "/api/v1/orgs/{org}/invitations", map[string]any{"email": "mallory@example.com"}},
	{"DELETE", "/api/v1/orgs/{org}/invitations/{invitation}", nil},
	{"PATCH", "/api/v1/orgs/{org}/members/{account}", map[string]any{"role": "member"}},
	{"DELETE", "/api/v1/orgs/{org}/members/{account}", nil},
	{"POST", "/api/v1/orgs/{org}/leave", nil},
	{"POST", "/api/v1/orgs/{org}/transfer", map[string]any{"account_id": "{account}"}},
	{"PUT", "/api/v1/orgs/{org}/policy", map[string]any{"require_two_step": true}},
}

// isolateOrgs: us's session gets not_found for jp's organisation on every
// route; jp's invitation link and jp's approval link are unknown at us —
// while at jp the invitation is recognised (the wrong person: 403
// invitation_other_account) and the approval link shows its organisation.
func (e *isoEnv) isolateOrgs() {
	t := e.t
	for _, r := range orgSessionRoutes {
		var p isoProblem
		if status, raw := e.us.call(r.method, e.fill(r.path), e.usToken, e.fillBody(r.body), &p); status != http.StatusNotFound || p.code() != "not_found" {
			t.Errorf("us's session with jp's organisation: %s %s: %d %s, want 404 not_found", r.method, r.path, status, raw)
		}
	}

	invitation := orgMailToken(t, e.jp.base, "jiro@example.com", "org_invitation")
	var p isoProblem
	if status, raw := e.us.call("POST", "/api/v1/orgs/invitations/accept", e.usToken, map[string]string{"token": invitation}, &p); status != http.StatusNotFound || p.code() != "invitation_invalid" {
		t.Errorf("jp's invitation accepted at us: %d %s, want 404 invitation_invalid", status, raw)
	}
	p = isoProblem{}
	if status, raw := e.jp.call("POST", "/api/v1/orgs/invitations/accept", e.jpToken, map[string]string{"token": invitation}, &p); status != http.StatusForbidden || p.code() != "invitation_other_account" {
		t.Errorf("jp's invitation at home by another address: %d %s, want 403 invitation_other_account", status, raw)
	}

	approval := orgMailToken(t, e.jp.base, jpApprover, "org_approval")
	for path, body := range map[string]map[string]string{
		"/api/v1/orgs/approval/lookup": {"token": approval},
		"/api/v1/orgs/approval":        {"token": approval, "decision": "approve"},
	} {
		p = isoProblem{}
		if status, raw := e.us.call("POST", path, "", body, &p); status != http.StatusNotFound || p.code() != "org_approval_invalid" {
			t.Errorf("jp's approval link at us: POST %s: %d %s, want 404 org_approval_invalid", path, status, raw)
		}
	}
	var shown struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	// The links' pages: at us as an unknown link, at home the organisation.
	for _, path := range []string{"/orgs/invitation?token=" + invitation, "/orgs/approval?token=" + approval} {
		away, home := e.page(e.us, "GET", path, nil), e.page(e.jp, "GET", path, nil)
		unknown := e.page(e.us, "GET", path[:strings.Index(path, "=")+1]+"not-a-token", nil)
		if away.status != unknown.status || away.status == http.StatusOK || home.status != http.StatusOK {
			t.Errorf("GET %s: at us %d (an unknown link %d), at home %d; want us as unknown, home 200", path[:strings.Index(path, "?")], away.status, unknown.status, home.status)
		}
	}
	if got := e.page(e.us, "POST", "/orgs/approval", url.Values{"token": {approval}, "decision": {"approve"}}); got.status == http.StatusOK || got.status == http.StatusSeeOther {
		t.Errorf("POST /orgs/approval at us with jp's token: %d to %q, want a refusal", got.status, got.loc)
	}
	if got := e.page(e.us, "POST", "/orgs/invitation", url.Values{"token": {invitation}}, &http.Cookie{Name: "ninsho_session", Value: e.usToken}); got.status == http.StatusSeeOther && !strings.HasPrefix(got.loc, "/signin") {
		t.Errorf("POST /orgs/invitation at us with jp's token: %d to %q, want a refusal", got.status, got.loc)
	}
	if status, raw := e.jp.call("POST", "/api/v1/orgs/approval/lookup", "", map[string]string{"token": approval}, &shown); status != http.StatusOK || shown.ID != e.ids["business"] || shown.Status != "pending_approval" {
		t.Errorf("jp's approval link at home: %d %s, want 200 the pending organisation", status, raw)
	}
}
