package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/ninsho/ninsho/internal/console"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/staff"
)

// withOrgs gives e's console the organisations pages, as internal/cli
// wires them, in a realm whose business organisations wait for approval.
func withOrgs(t *testing.T, e *env) *org.Service {
	t.Helper()
	e.JP.Organisations = realm.Organisations{BusinessApproval: true, Approvers: []string{"approver@example.jp"}}
	hasher, err := secret.NewHasher([]byte("console-org-test-key-0123456789ab"))
	if err != nil {
		t.Fatal(err)
	}
	s := &org.Service{Store: e.DB, Accounts: e.DB, Tx: e.DB, Events: e.DB, Outbox: e.Kit.Outbox, Hasher: hasher,
		Clock: e.Clock, Random: e.Kit.Random, CleanName: signup.CleanName, Realms: e.Realms}
	c, err := console.New(console.Deps{Staff: e.Staff, Desk: e.Desk, Realms: e.Realms, Orgs: s, OrgReader: e.DB, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.Console = c
	return s
}

// TestOrgApprovalByStaff: /console/orgs lists a realm's organisations and
// filters the pending ones; an organisation's page shows its members
// (addresses masked), status, policy and events. An agent reads but may
// not decide (403, nothing changes, no form); a reviewer's decision needs
// a written reason (the form again with it refused), then approves the
// organisation with an org.approved event naming the staff member and
// the reason; a second decision is a conflict.
func TestOrgApprovalByStaff(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, fe *flowtest.Env) {
		e := newEnv(t, fe)
		s := withOrgs(t, e)
		ctx := context.Background()
		e.MustSignUp(t, e.JP, "owner@example.jp", "sakura-fubuki-2026", "owner@example.jp")
		owner, err := e.DB.AccountByEmail(ctx, "jp", "owner@example.jp")
		if err != nil {
			t.Fatal(err)
		}
		seller, err := s.Create(ctx, e.JP, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "さくら出品"}, ninsho.Request{})
		if err != nil {
			t.Fatal(err)
		}
		biz, err := s.Create(ctx, e.JP, owner.ID, org.CreateInput{Kind: org.KindBusiness, Name: "さくら商事"}, ninsho.Request{})
		if err != nil || biz.Status != org.StatusPending {
			t.Fatalf("business: %+v %v", biz, err)
		}
		orgPath := "/console/orgs/jp/" + biz.ID
		_, akey := mustStaff(t, e, "agent@example.jp", staff.RoleAgent)
		reviewer, rkey := mustStaff(t, e, "reviewer@example.jp", staff.RoleReviewer)

		agent := signIn(t, e, "agent@example.jp", akey)
		if w := agent.do("GET", "/console", nil); !strings.Contains(w.Body.String(), `href="/console/orgs"`) {
			t.Errorf("the nav has no organisations link")
		}
		w := agent.do("GET", "/console/orgs?realm=jp", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `data-org="`+biz.ID+`"`) || !strings.Contains(w.Body.String(), `data-org="`+seller.ID+`"`) {
			t.Fatalf("list: %d\n%s", w.Code, w.Body)
		}
		w = agent.do("GET", "/console/orgs?realm=jp&status=pending_approval", nil)
		if !strings.Contains(w.Body.String(), `data-org="`+biz.ID+`"`) || strings.Contains(w.Body.String(), `data-org="`+seller.ID+`"`) {
			t.Errorf("pending filter:\n%s", w.Body)
		}
		w = agent.do("GET", orgPath, nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `data-member="`+owner.ID+`"`) || !strings.Contains(w.Body.String(), "o****@e******.jp") ||
			!strings.Contains(w.Body.String(), "org.created") || strings.Contains(w.Body.String(), `/approve"`) {
			t.Fatalf("org page (agent): %d\n%s", w.Code, w.Body)
		}
		if w := agent.do("POST", orgPath+"/approve", url.Values{"reason": {"known business"}}); w.Code != http.StatusForbidden {
			t.Errorf("agent decides: %d, want 403", w.Code)
		}
		if o, _ := e.DB.Org(ctx, "jp", biz.ID); o.Status != org.StatusPending {
			t.Fatalf("after the agent: %s", o.Status)
		}

		rb := signIn(t, e, "reviewer@example.jp", rkey)
		w = rb.do("POST", orgPath+"/approve", url.Values{"reason": {""}})
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), `href="#reason"`) || !strings.Contains(w.Body.String(), `id="reason"`) {
			t.Fatalf("no reason: %d\n%s", w.Code, w.Body)
		}
		w = rb.do("POST", orgPath+"/approve", url.Values{"reason": {"registered company, checked by phone"}})
		if w.Code != http.StatusSeeOther || w.Header().Get("Location") != orgPath+"?done=approve" {
			t.Fatalf("approve: %d %q\n%s", w.Code, w.Header().Get("Location"), w.Body)
		}
		w = rb.do("GET", orgPath+"?done=approve", nil)
		if !strings.Contains(w.Body.String(), `data-status="active"`) || !strings.Contains(w.Body.String(), "The organization was approved.") ||
			!strings.Contains(w.Body.String(), "org.approved") || !strings.Contains(w.Body.String(), "registered company, checked by phone") {
			t.Errorf("after approval:\n%s", w.Body)
		}
		evs, err := e.DB.OrgEvents(ctx, "jp", biz.ID, 10)
		if err != nil || len(evs) == 0 || evs[0].Type != event.TypeOrgApproved || evs[0].Actor != reviewer.Actor() ||
			evs[0].Data["reason"] != "registered company, checked by phone" {
			t.Fatalf("approval event: %+v %v", evs, err)
		}
		if w := rb.do("POST", orgPath+"/reject", url.Values{"reason": {"changed my mind"}}); w.Code != http.StatusConflict {
			t.Errorf("second decision: %d, want 409", w.Code)
		}
		if w := rb.do("GET", "/console/orgs/jp/01900000-0000-7000-8000-0000000000ff", nil); w.Code != http.StatusNotFound {
			t.Errorf("unknown organisation: %d", w.Code)
		}
	})
}
