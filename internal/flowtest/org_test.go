package flowtest_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/flowtest"
	"github.com/ninsho/ninsho/internal/i18n"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
	"github.com/ninsho/ninsho/internal/signup"
	"github.com/ninsho/ninsho/internal/staff"
)

// orgService is org.Service on e's stores, outbox, clock and randomness.
func orgService(tb testing.TB, e *flowtest.Env) *org.Service {
	tb.Helper()
	h, err := secret.NewHasher([]byte("org-test-key-0123456789abcdef0123"))
	if err != nil {
		tb.Fatal(err)
	}
	return &org.Service{Store: e.DB, Accounts: e.DB, Tx: e.DB, Events: e.DB, Outbox: e.Kit.Outbox, Hasher: h,
		Clock: e.Clock, Random: e.Kit.Random, CleanName: signup.CleanName, Realms: e.Realms}
}

// orgPerson signs up a confirmed account with the address and returns it.
func orgPerson(tb testing.TB, e *flowtest.Env, rl *realm.Realm, email string) *account.Account {
	tb.Helper()
	e.MustSignUp(tb, rl, email, "kumo-no-ue-42", email)
	a, err := e.DB.AccountByEmail(context.Background(), rl.ID, email)
	if err != nil {
		tb.Fatal(err)
	}
	return a
}

var linkToken = regexp.MustCompile(`/orgs/(invitation|approval)\?token=([A-Za-z0-9_-]+)`)

// orgLink delivers due messages and returns the token of the newest
// organisation e-mail of template to the address.
func orgLink(tb testing.TB, e *flowtest.Env, to, template string) string {
	tb.Helper()
	for _, m := range e.Messages(tb, to) {
		if m.Template == template {
			if got := linkToken.FindStringSubmatch(m.Text); got != nil {
				return got[2]
			}
			tb.Fatalf("the %s e-mail to %s has no link:\n%s", template, to, m.Text)
		}
	}
	tb.Fatalf("no %s e-mail to %s", template, to)
	return ""
}

// wantDecision checks that to got n e-mails of the decision template about
// o, naming it and linking to its page.
func wantDecision(tb testing.TB, e *flowtest.Env, to, template string, o *org.Organisation, n int) {
	tb.Helper()
	got := 0
	for _, m := range e.Messages(tb, to) {
		if m.Template != template {
			continue
		}
		got++
		if !strings.Contains(m.Text, o.Name) || !strings.Contains(m.Text, "/account/orgs/"+o.ID) {
			tb.Errorf("the %s e-mail to %s:\n%s", template, to, m.Text)
		}
	}
	if got != n {
		tb.Errorf("%d %s e-mails to %s, want %d", got, template, to, n)
	}
}

func role(tb testing.TB, s *org.Service, rl *realm.Realm, viewer, orgID, member string) org.Role {
	tb.Helper()
	v, err := s.Get(context.Background(), rl.ID, viewer, orgID)
	if err != nil {
		tb.Fatalf("Get: %v", err)
	}
	for _, m := range v.Members {
		if m.Account == member {
			return m.Role
		}
	}
	return ""
}

// TestOrgMembership holds the organisation rules on the real stores:
// create → invite → accept (other account refused, reuse refused, expiry,
// replacement, revocation) → role changes within each role's powers →
// removal → transfer; the last owner cannot leave, be removed or be
// demoted; non-members get not_found; every change is an event.
func TestOrgMembership(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")
		admin := orgPerson(t, e, rl, "admin@example.jp")
		member := orgPerson(t, e, rl, "member@example.jp")
		stranger := orgPerson(t, e, rl, "stranger@example.jp")

		if _, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: "shop", Name: "https://spam.example"}, req); ninsho.CodeOf(err) != ninsho.CodeRequestInvalid ||
			len(ninsho.ErrorOf(err).All()) != 2 {
			t.Fatalf("Create with a bad kind and name: %v, want both refused", err)
		}
		o, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: " さくら商事 "}, req)
		if err != nil {
			t.Fatal(err)
		}
		if o.Status != org.StatusActive || o.Name != "さくら商事" {
			t.Fatalf("created %+v", o)
		}
		if mine, _ := s.Mine(ctx, rl.ID, owner.ID); len(mine) != 1 || mine[0].Role != org.RoleOwner {
			t.Fatalf("Mine = %+v", mine)
		}

		// Invitations: owner invites an admin and a member.
		if _, err := s.Invite(ctx, rl, owner.ID, o.ID, "admin@example.jp", org.RoleOwner, req); ninsho.CodeOf(err) != ninsho.CodeRequestInvalid {
			t.Fatalf("invite as owner: %v, want request_invalid", err)
		}
		if _, err := s.Invite(ctx, rl, owner.ID, o.ID, "Admin@Example.JP", org.RoleAdmin, req); err != nil {
			t.Fatal(err)
		}
		adminToken := orgLink(t, e, "admin@example.jp", message.TemplateOrgInvitation)
		if _, err := s.Invite(ctx, rl, owner.ID, o.ID, "member@example.jp", org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		memberToken := orgLink(t, e, "member@example.jp", message.TemplateOrgInvitation)
		if got, err := s.InvitationByToken(ctx, rl.ID, adminToken); err != nil || got.Org.ID != o.ID || got.Invitation.Role != org.RoleAdmin || got.InviterName != owner.Name {
			t.Fatalf("InvitationByToken = %+v, %v", got, err)
		}
		_, err = s.Accept(ctx, rl.ID, stranger, adminToken, req)
		flowtest.WantCode(t, err, ninsho.CodeInvitationOtherAccount)
		if _, err := s.Accept(ctx, rl.ID, admin, adminToken, req); err != nil {
			t.Fatal(err)
		}
		_, err = s.Accept(ctx, rl.ID, admin, adminToken, req)
		flowtest.WantCode(t, err, ninsho.CodeInvitationInvalid)
		if _, err := s.Accept(ctx, rl.ID, member, memberToken, req); err != nil {
			t.Fatal(err)
		}
		_, err = s.Invite(ctx, rl, owner.ID, o.ID, "member@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgAlreadyMember)

		// Non-members see nothing, members see no addresses or invitations.
		_, err = s.Get(ctx, rl.ID, stranger.ID, o.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = s.Get(ctx, rl.ID, owner.ID, otherOrgID())
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = s.Get(ctx, "safe", owner.ID, o.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		v, err := s.Get(ctx, rl.ID, member.ID, o.ID)
		if err != nil || len(v.Members) != 3 || v.Invitations != nil || slices.ContainsFunc(v.Members, func(m *org.Membership) bool { return m.Email != "" }) {
			t.Fatalf("a member's view = %+v, %v", v, err)
		}
		if v, _ := s.Get(ctx, rl.ID, admin.ID, o.ID); v.Members[0].Email != "owner@example.jp" || v.Invitations == nil {
			t.Fatalf("an admin's view lacks addresses or invitations: %+v", v)
		}

		// Members invite nobody; admins do not touch owners.
		_, err = s.Invite(ctx, rl, member.ID, o.ID, "x@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.Invite(ctx, rl, stranger.ID, o.ID, "x@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		_, err = s.SetRole(ctx, rl.ID, admin.ID, o.ID, member.ID, org.RoleOwner, req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.SetRole(ctx, rl.ID, admin.ID, o.ID, owner.ID, org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		flowtest.WantCode(t, s.Remove(ctx, rl.ID, admin.ID, o.ID, owner.ID, req), ninsho.CodeForbidden)
		_, err = s.SetRole(ctx, rl.ID, member.ID, o.ID, admin.ID, org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		if _, err := s.SetRole(ctx, rl.ID, admin.ID, o.ID, member.ID, org.RoleAdmin, req); err != nil {
			t.Fatal(err)
		}
		if got := role(t, s, rl, owner.ID, o.ID, member.ID); got != org.RoleAdmin {
			t.Fatalf("role after the change = %s", got)
		}
		if _, err := s.SetRole(ctx, rl.ID, admin.ID, o.ID, member.ID, org.RoleMember, req); err != nil {
			t.Fatal(err)
		}

		// The last owner stays.
		flowtest.WantCode(t, s.Leave(ctx, rl.ID, owner.ID, o.ID, req), ninsho.CodeOrgLastOwner)
		flowtest.WantCode(t, s.Remove(ctx, rl.ID, owner.ID, o.ID, owner.ID, req), ninsho.CodeOrgLastOwner)
		_, err = s.SetRole(ctx, rl.ID, owner.ID, o.ID, owner.ID, org.RoleAdmin, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgLastOwner)

		// Remove, transfer, leave.
		if err := s.Remove(ctx, rl.ID, admin.ID, o.ID, member.ID, req); err != nil {
			t.Fatal(err)
		}
		flowtest.WantCode(t, s.Transfer(ctx, rl.ID, admin.ID, o.ID, admin.ID, req), ninsho.CodeForbidden)
		flowtest.WantCode(t, s.Transfer(ctx, rl.ID, owner.ID, o.ID, member.ID, req), ninsho.CodeNotFound)
		if err := s.Transfer(ctx, rl.ID, owner.ID, o.ID, admin.ID, req); err != nil {
			t.Fatal(err)
		}
		if a, b := role(t, s, rl, admin.ID, o.ID, admin.ID), role(t, s, rl, admin.ID, o.ID, owner.ID); a != org.RoleOwner || b != org.RoleAdmin {
			t.Fatalf("after the transfer: new owner %s, old owner %s", a, b)
		}
		if err := s.Leave(ctx, rl.ID, owner.ID, o.ID, req); err != nil {
			t.Fatal(err)
		}
		flowtest.WantCode(t, s.Leave(ctx, rl.ID, admin.ID, o.ID, req), ninsho.CodeOrgLastOwner)

		// Expiry, replacement and revocation of invitations.
		if _, err := s.Invite(ctx, rl, admin.ID, o.ID, "late@example.jp", org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		late := orgPerson(t, e, rl, "late@example.jp")
		lateToken := orgLink(t, e, "late@example.jp", message.TemplateOrgInvitation)
		e.Clock.Advance(org.InvitationLifetime)
		_, err = s.Accept(ctx, rl.ID, late, lateToken, req)
		flowtest.WantCode(t, err, ninsho.CodeInvitationInvalid)
		if _, err := s.Invite(ctx, rl, admin.ID, o.ID, "late@example.jp", org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		first := orgLink(t, e, "late@example.jp", message.TemplateOrgInvitation)
		e.Clock.Advance(time.Minute)
		inv, err := s.Invite(ctx, rl, admin.ID, o.ID, "late@example.jp", org.RoleAdmin, req)
		if err != nil {
			t.Fatal(err)
		}
		second := orgLink(t, e, "late@example.jp", message.TemplateOrgInvitation)
		_, err = s.Accept(ctx, rl.ID, late, first, req)
		flowtest.WantCode(t, err, ninsho.CodeInvitationInvalid)
		if v, _ := s.Get(ctx, rl.ID, admin.ID, o.ID); len(v.Invitations) != 1 || v.Invitations[0].ID != inv.ID {
			t.Fatalf("pending invitations after a replacement: %+v", v.Invitations)
		}
		flowtest.WantCode(t, s.RevokeInvitation(ctx, rl.ID, member.ID, o.ID, inv.ID, req), ninsho.CodeNotFound) // no longer a member
		if err := s.RevokeInvitation(ctx, rl.ID, admin.ID, o.ID, inv.ID, req); err != nil {
			t.Fatal(err)
		}
		flowtest.WantCode(t, s.RevokeInvitation(ctx, rl.ID, admin.ID, o.ID, inv.ID, req), ninsho.CodeNotFound)
		_, err = s.Accept(ctx, rl.ID, late, second, req)
		flowtest.WantCode(t, err, ninsho.CodeInvitationInvalid)

		// Every change is an event, without tokens or addresses.
		evs, err := e.DB.AccountEvents(ctx, admin.ID, flowtest.Epoch, 100)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for _, ev := range evs {
			seen[ev.Type] = true
			for k, v := range ev.Data {
				if s, ok := v.(string); ok && (s == second || s == "late@example.jp") {
					t.Errorf("event %s carries %s", ev.Type, k)
				}
			}
		}
		for _, typ := range []string{event.TypeOrgJoined, event.TypeOrgRoleChanged, event.TypeOrgMemberRemoved, event.TypeOrgInvited,
			event.TypeOrgInvitationRevoked} {
			if !seen[typ] {
				t.Errorf("no %s event of the admin (%v)", typ, seen)
			}
		}
		evs, _ = e.DB.AccountEvents(ctx, owner.ID, flowtest.Epoch, 100)
		seen = map[string]bool{}
		for _, ev := range evs {
			seen[ev.Type] = true
		}
		for _, typ := range []string{event.TypeOrgCreated, event.TypeOrgOwnershipTransferred, event.TypeOrgLeft} {
			if !seen[typ] {
				t.Errorf("no %s event of the owner (%v)", typ, seen)
			}
		}
	})
}

// TestOrgBusinessApproval: a business organisation of a realm with
// business approval waits (no invitations) until an approver's link or
// staff decide; the link works once and until it expires; staff need the
// permission; a rejected organisation only reads and is left, then
// deleted. A seller organisation needs no approval.
func TestOrgBusinessApproval(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		rl.Organisations = realm.Organisations{BusinessApproval: true, Approvers: []string{"approver@example.jp", "second@example.jp"}}
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")

		if o, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Seller"}, req); err != nil || o.Status != org.StatusActive {
			t.Fatalf("a seller organisation: %+v, %v", o, err)
		}
		o, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindBusiness, Name: "Business"}, req)
		if err != nil || o.Status != org.StatusPending {
			t.Fatalf("a business organisation: %+v, %v", o, err)
		}
		_, err = s.Invite(ctx, rl, owner.ID, o.ID, "x@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgPendingApproval)
		token := orgLink(t, e, "approver@example.jp", message.TemplateOrgApproval)
		if second := orgLink(t, e, "second@example.jp", message.TemplateOrgApproval); second != token {
			t.Fatalf("the approvers got different links")
		}
		if got, err := s.ApprovalByToken(ctx, rl.ID, token); err != nil || got.ID != o.ID {
			t.Fatalf("ApprovalByToken = %+v, %v", got, err)
		}
		if p, _ := s.PolicyFor(ctx, rl.ID, owner.ID); len(p.Orgs) != 0 {
			t.Fatalf("PolicyFor counts nothing yet: %+v", p)
		}
		_, err = s.ApprovalByToken(ctx, "safe", token)
		flowtest.WantCode(t, err, ninsho.CodeOrgApprovalInvalid)
		if got, err := s.DecideByToken(ctx, rl.ID, token, true, req); err != nil || got.Status != org.StatusActive {
			t.Fatalf("DecideByToken = %+v, %v", got, err)
		}
		// The creator (the owner) is told, once, in the decision's
		// transaction; the approvers are not.
		wantDecision(t, e, "owner@example.jp", message.TemplateOrgApproved, o, 1)
		wantDecision(t, e, "approver@example.jp", message.TemplateOrgApproved, o, 0)
		_, err = s.DecideByToken(ctx, rl.ID, token, false, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgApprovalInvalid)
		if _, err := s.Invite(ctx, rl, owner.ID, o.ID, "x@example.jp", org.RoleMember, req); err != nil {
			t.Fatalf("invite once approved: %v", err)
		}

		// An expired link; staff decide instead.
		o2, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindBusiness, Name: "Later"}, req)
		if err != nil {
			t.Fatal(err)
		}
		token2 := orgLink(t, e, "approver@example.jp", message.TemplateOrgApproval)
		e.Clock.Advance(org.ApprovalLifetime)
		_, err = s.DecideByToken(ctx, rl.ID, token2, true, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgApprovalInvalid)
		if list, _ := s.Pending(ctx, rl.ID, 10); len(list) != 1 || list[0].ID != o2.ID {
			t.Fatalf("Pending = %+v", list)
		}
		_, err = s.DecideByStaff(ctx, &staff.Staff{ID: "s1", Role: staff.RoleAgent}, rl.ID, o2.ID, false, "unknown company", req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		_, err = s.DecideByStaff(ctx, &staff.Staff{ID: "s1", Role: staff.RoleReviewer}, rl.ID, o2.ID, false, "", req)
		flowtest.WantCode(t, err, ninsho.CodeFieldRequired)
		if got, err := s.DecideByStaff(ctx, &staff.Staff{ID: "s1", Role: staff.RoleReviewer}, rl.ID, o2.ID, false, "unknown company", req); err != nil || got.Status != org.StatusRejected {
			t.Fatalf("DecideByStaff = %+v, %v", got, err)
		}
		wantDecision(t, e, "owner@example.jp", message.TemplateOrgRejected, o2, 1)
		for _, m := range e.Messages(t, "owner@example.jp") {
			if m.Template == message.TemplateOrgRejected && strings.Contains(m.Text, "unknown company") {
				t.Errorf("the staff's reason is in the e-mail:\n%s", m.Text)
			}
		}
		_, err = s.DecideByStaff(ctx, &staff.Staff{ID: "s1", Role: staff.RoleAdmin}, rl.ID, o2.ID, true, "changed my mind", req)
		flowtest.WantCode(t, err, ninsho.CodeConflict)
		_, err = s.Invite(ctx, rl, owner.ID, o2.ID, "x@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgRejected)
		_, err = s.SetPolicy(ctx, rl.ID, owner.ID, o2.ID, org.Policy{RequireTwoStep: true}, req)
		flowtest.WantCode(t, err, ninsho.CodeOrgRejected)
		if err := s.Leave(ctx, rl.ID, owner.ID, o2.ID, req); err != nil {
			t.Fatalf("the last owner leaves a rejected organisation: %v", err)
		}
		_, err = e.DB.Org(ctx, rl.ID, o2.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
	})
}

// TestOrgPolicy: owners set the policy (admins may not, unknown methods
// are refused); PolicyFor combines the active organisations: two-step if
// any asks, the intersection of the method lists; when nothing is common,
// the person's own organisations are set aside (a member cannot loosen an
// organisation's rule by creating one of their own; when only their own
// disagree, the first joined applies), and when the others still disagree,
// no method is allowed (Conflict).
func TestOrgPolicy(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")
		mk := func(name string) *org.Organisation {
			o, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: name}, req)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}
		a, b := mk("A"), mk("B")
		if p, _ := s.PolicyFor(ctx, rl.ID, owner.ID); p.RequireTwoStep || p.Methods != nil || len(p.Orgs) != 0 {
			t.Fatalf("PolicyFor without policies = %+v", p)
		}
		_, err := s.SetPolicy(ctx, rl.ID, owner.ID, a.ID, org.Policy{Methods: []string{"fax"}}, req)
		flowtest.WantCode(t, err, ninsho.CodeRequestInvalid)
		got, err := s.SetPolicy(ctx, rl.ID, owner.ID, a.ID, org.Policy{RequireTwoStep: true, Methods: []string{"totp", "passkey", "totp"}}, req)
		if err != nil || !slices.Equal(got.Policy.Methods, []string{"passkey", "totp"}) {
			t.Fatalf("SetPolicy = %+v, %v", got, err)
		}
		if _, err := s.SetPolicy(ctx, rl.ID, owner.ID, b.ID, org.Policy{Methods: []string{"totp", "backup_code"}}, req); err != nil {
			t.Fatal(err)
		}
		p, _ := s.PolicyFor(ctx, rl.ID, owner.ID)
		if !p.RequireTwoStep || !slices.Equal(p.Methods, []string{"totp"}) || p.Conflict || len(p.Orgs) != 2 {
			t.Fatalf("PolicyFor = %+v, want two-step with totp", p)
		}
		if _, err := s.SetPolicy(ctx, rl.ID, owner.ID, b.ID, org.Policy{Methods: []string{"sms"}}, req); err != nil {
			t.Fatal(err)
		}
		p, _ = s.PolicyFor(ctx, rl.ID, owner.ID)
		if !slices.Equal(p.Methods, []string{"passkey", "totp"}) || p.Conflict {
			t.Fatalf("PolicyFor without a common method, both the person's own = %+v, want the first joined's", p)
		}
		// An admin does not set the policy.
		admin := orgPerson(t, e, rl, "admin@example.jp")
		if _, err := s.Invite(ctx, rl, owner.ID, a.ID, "admin@example.jp", org.RoleAdmin, req); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accept(ctx, rl.ID, admin, orgLink(t, e, "admin@example.jp", message.TemplateOrgInvitation), req); err != nil {
			t.Fatal(err)
		}
		_, err = s.SetPolicy(ctx, rl.ID, admin.ID, a.ID, org.Policy{}, req)
		flowtest.WantCode(t, err, ninsho.CodeForbidden)
		if p, _ := s.PolicyFor(ctx, rl.ID, admin.ID); !p.RequireTwoStep || !slices.Equal(p.Methods, []string{"passkey", "totp"}) {
			t.Fatalf("the admin's PolicyFor = %+v", p)
		}
		// The admin's own organisation allowing only SMS loosens nothing.
		own, err := s.Create(ctx, rl, admin.ID, org.CreateInput{Kind: org.KindSeller, Name: "Mine"}, req)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetPolicy(ctx, rl.ID, admin.ID, own.ID, org.Policy{Methods: []string{"sms"}}, req); err != nil {
			t.Fatal(err)
		}
		if p, _ := s.PolicyFor(ctx, rl.ID, admin.ID); !slices.Equal(p.Methods, []string{"passkey", "totp"}) || p.Conflict {
			t.Fatalf("the admin's PolicyFor with an own organisation allowing sms = %+v, want A's passkey and totp", p)
		}
		// Two organisations of others without a common method: none is
		// allowed (Conflict), whoever joined first.
		if _, err := s.Invite(ctx, rl, owner.ID, b.ID, "admin@example.jp", org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Accept(ctx, rl.ID, admin, orgLink(t, e, "admin@example.jp", message.TemplateOrgInvitation), req); err != nil {
			t.Fatal(err)
		}
		p, _ = s.PolicyFor(ctx, rl.ID, admin.ID)
		if !p.Conflict || !p.Restricts() || slices.ContainsFunc(org.Methods, p.Allows) {
			t.Fatalf("the admin's PolicyFor in A and B = %+v, want Conflict allowing no method", p)
		}
	})
}

// TestOrgLimits: a person creates CreatesPerDay organisations a day; an
// organisation sends InvitationsPerDay invitations a day and keeps at most
// MaxPendingInvitations pending.
func TestOrgLimits(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")
		var o *org.Organisation
		for i := range org.CreatesPerDay {
			var err error
			if o, err = s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Shop"}, req); err != nil {
				t.Fatalf("create %d: %v", i, err)
			}
		}
		_, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Shop"}, req)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "org_create" {
			t.Errorf("kind = %v", k)
		}
		invite := func(i int) error {
			_, err := s.Invite(ctx, rl, owner.ID, o.ID, "p"+string(rune('a'+i/26))+string(rune('a'+i%26))+"@example.jp", org.RoleMember, req)
			return err
		}
		for i := range org.InvitationsPerDay {
			if err := invite(i); err != nil {
				t.Fatalf("invitation %d: %v", i, err)
			}
		}
		err = invite(org.InvitationsPerDay)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		e.Clock.Advance(24*time.Hour + time.Second)
		if _, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Shop"}, req); err != nil {
			t.Fatalf("create the next day: %v", err)
		}
		for i := org.InvitationsPerDay; i < org.MaxPendingInvitations; i++ {
			if err := invite(i); err != nil {
				t.Fatalf("invitation %d: %v", i, err)
			}
		}
		e.Clock.Advance(24*time.Hour + time.Second) // a new day's count; the invitations still pending
		err = invite(org.MaxPendingInvitations)
		flowtest.WantCode(t, err, ninsho.CodeOrgLimit)
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "invitations" {
			t.Errorf("kind = %v", k)
		}
	})
}

// TestOrgForgetAccount: a purged owner's organisation passes to its
// longest-standing admin, or is deleted when nobody is left; the purged
// account's memberships and invitations go.
func TestOrgForgetAccount(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")
		member := orgPerson(t, e, rl, "member@example.jp")
		admin := orgPerson(t, e, rl, "admin@example.jp")
		shared, _ := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Shared"}, req)
		alone, _ := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Alone"}, req)
		for _, p := range []struct {
			a    *account.Account
			role org.Role
		}{{member, org.RoleMember}, {admin, org.RoleAdmin}} {
			if _, err := s.Invite(ctx, rl, owner.ID, shared.ID, p.a.Email, p.role, req); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Accept(ctx, rl.ID, p.a, orgLink(t, e, p.a.Email, message.TemplateOrgInvitation), req); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Invite(ctx, rl, owner.ID, shared.ID, "pending@example.jp", org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		err := e.DB.InTx(ctx, func(ctx context.Context) error { return s.ForgetAccount(ctx, rl.ID, owner.ID, owner.Email) })
		if err != nil {
			t.Fatal(err)
		}
		if got := role(t, s, rl, admin.ID, shared.ID, admin.ID); got != org.RoleOwner {
			t.Errorf("the heir's role = %s, want owner (the admin, not the earlier member)", got)
		}
		if v, _ := s.Get(ctx, rl.ID, admin.ID, shared.ID); len(v.Members) != 2 || len(v.Invitations) != 0 {
			t.Errorf("after the purge: %d members, %d invitations", len(v.Members), len(v.Invitations))
		}
		_, err = e.DB.Org(ctx, rl.ID, alone.ID)
		flowtest.WantCode(t, err, ninsho.CodeNotFound)
		if mine, _ := s.Mine(ctx, rl.ID, owner.ID); len(mine) != 0 {
			t.Errorf("the purged account still belongs to %d organisations", len(mine))
		}
	})
}

// otherOrgID is an organisation id nobody created.
func otherOrgID() string { return ninsho.NewID(ninsho.SystemClock{}, ninsho.SecureRandom) }

// TestOrgInvitationsToOneAddress: one address gets InvitationsPerAddressDay
// invitations a day, from all the realm's organisations together (inviting
// it again, or from another organisation, fills nobody's mailbox), and one
// person sends InvitationsPerInviterDay a day from all of theirs.
func TestOrgInvitationsToOneAddress(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		req := flowtest.Req("192.0.2.10", "")
		alice := orgPerson(t, e, rl, "alice@example.jp")
		bob := orgPerson(t, e, rl, "bob@example.jp")
		a, _ := s.Create(ctx, rl, alice.ID, org.CreateInput{Kind: org.KindSeller, Name: "A"}, req)
		b, _ := s.Create(ctx, rl, bob.ID, org.CreateInput{Kind: org.KindSeller, Name: "B"}, req)
		const victim = "victim@example.jp"
		for i := range org.InvitationsPerAddressDay {
			if _, err := s.Invite(ctx, rl, alice.ID, a.ID, victim, org.RoleMember, req); err != nil {
				t.Fatalf("invitation %d to the address: %v", i, err)
			}
		}
		_, err := s.Invite(ctx, rl, bob.ID, b.ID, victim, org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited)
		// Its own kind and message: the address, not the organisation,
		// and not who invited it.
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "org_invitations_address" {
			t.Errorf("kind = %v", k)
		}
		if msg := i18n.FieldErrorMessage("en", ninsho.ErrorOf(err)); !strings.Contains(msg, "This email address has already been invited") {
			t.Errorf("message = %q", msg)
		}
		if _, err := s.Invite(ctx, rl, bob.ID, b.ID, "someone.else@example.jp", org.RoleMember, req); err != nil {
			t.Errorf("another address: %v", err)
		}
		e.Clock.Advance(24*time.Hour + time.Second)
		if _, err := s.Invite(ctx, rl, bob.ID, b.ID, victim, org.RoleMember, req); err != nil {
			t.Errorf("the address the next day: %v", err)
		}

		// One inviter, several organisations: InvitationsPerInviterDay in all.
		e.Clock.Advance(24*time.Hour + time.Second)
		sent := 0
		for n := 0; sent < org.InvitationsPerInviterDay; n++ {
			o, err := s.Create(ctx, rl, alice.ID, org.CreateInput{Kind: org.KindSeller, Name: "Shop"}, req)
			if err != nil {
				t.Fatalf("create %d: %v", n, err)
			}
			for i := 0; i < org.InvitationsPerDay && sent < org.InvitationsPerInviterDay; i++ {
				if _, err := s.Invite(ctx, rl, alice.ID, o.ID, fmt.Sprintf("p%d-%d@example.jp", n, i), org.RoleMember, req); err != nil {
					t.Fatalf("invitation %d of organisation %d: %v", i, n, err)
				}
				sent++
			}
		}
		fresh, err := s.Create(ctx, rl, alice.ID, org.CreateInput{Kind: org.KindSeller, Name: "Fresh"}, req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Invite(ctx, rl, alice.ID, fresh.ID, "one-more@example.jp", org.RoleMember, req)
		flowtest.WantCode(t, err, ninsho.CodeRateLimited) // the organisation's first, the inviter's 101st
		if k := ninsho.ErrorOf(err).Params["kind"]; k != "org_invitations_inviter" {
			t.Errorf("the inviter's limit: kind = %v", k)
		}
	})
}

// countedAffiliations is the real store, counting its Affiliations reads.
type countedAffiliations struct {
	org.Store
	n int
}

func (c *countedAffiliations) Affiliations(ctx context.Context, realm, accountID string) ([]org.Affiliation, error) {
	c.n++
	return c.Store.Affiliations(ctx, realm, accountID)
}

// TestOrgMineRemembers: Mine (GET /api/v1/me's organisations) reads the
// database once per org.MineTTL per person, and every change made through
// the service is seen by the next Mine at once.
func TestOrgMineRemembers(t *testing.T) {
	flowtest.EachDB(t, func(t *testing.T, e *flowtest.Env) {
		ctx := context.Background()
		rl := e.JP
		s := orgService(t, e)
		store := &countedAffiliations{Store: e.DB}
		s.Store = store
		req := flowtest.Req("192.0.2.10", "")
		owner := orgPerson(t, e, rl, "owner@example.jp")
		member := orgPerson(t, e, rl, "member@example.jp")
		mine := func(a *account.Account, want int) {
			t.Helper()
			got, err := s.Mine(ctx, rl.ID, a.ID)
			if err != nil || len(got) != want {
				t.Fatalf("Mine(%s) = %d organisations, %v; want %d", a.Email, len(got), err, want)
			}
		}
		reads := func(what string, want int) {
			t.Helper()
			if store.n != want {
				t.Errorf("%s: %d reads, want %d", what, store.n, want)
			}
			store.n = 0
		}

		mine(owner, 0)
		mine(owner, 0)
		reads("twice within MineTTL", 1)
		o, err := s.Create(ctx, rl, owner.ID, org.CreateInput{Kind: org.KindSeller, Name: "Kumo"}, req)
		if err != nil {
			t.Fatal(err)
		}
		store.n = 0 // Create reads the owner's count itself
		mine(owner, 1)
		mine(member, 0)
		mine(member, 0)
		reads("after a change: the owner's and the member's", 2)

		if _, err := s.Invite(ctx, rl, owner.ID, o.ID, member.Email, org.RoleMember, req); err != nil {
			t.Fatal(err)
		}
		store.n = 0
		mine(owner, 1)
		reads("after an invitation, which /me does not show", 0)
		if _, err := s.Accept(ctx, rl.ID, member, orgLink(t, e, member.Email, message.TemplateOrgInvitation), req); err != nil {
			t.Fatal(err)
		}
		mine(member, 1)
		if err := s.Leave(ctx, rl.ID, member.ID, o.ID, req); err != nil {
			t.Fatal(err)
		}
		mine(member, 0)

		store.n = 0
		mine(owner, 1)
		e.Clock.Advance(org.MineTTL - time.Millisecond)
		mine(owner, 1)
		reads("within MineTTL", 1)
		e.Clock.Advance(time.Millisecond)
		mine(owner, 1)
		reads("MineTTL later", 1)
		s.DropCached("") // a notice from another instance
		mine(owner, 1)
		reads("after a notice", 1)

		// A change that rolls back retires nothing.
		mine(owner, 1)
		store.n = 0
		boom := fmt.Errorf("rolled back")
		if err := e.DB.InTx(ctx, func(ctx context.Context) error {
			if err := s.ForgetAccount(ctx, rl.ID, owner.ID, owner.Email); err != nil {
				return err
			}
			return boom
		}); err != boom {
			t.Fatalf("InTx = %v", err)
		}
		store.n = 0
		mine(owner, 1)
		reads("after a rolled-back change", 0)
	})
}
