package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
)

// OrgStores are the stores of organisations.
type OrgStores interface {
	Stores
	org.Store
}

// NewOrg returns an unsaved active seller organisation of realm created
// by accountID at Epoch.
func NewOrg(realm, accountID string) *org.Organisation {
	return &org.Organisation{ID: NewID(), Realm: realm, Kind: org.KindSeller, Name: "Sakura Trading",
		Status: org.StatusActive, Policy: org.Policy{Methods: []string{}}, CreatedBy: accountID, CreatedAt: at(0)}
}

// Orgs checks org.Store: organisations round trip (policy, approval link,
// decision) and are found by their approval hash in their realm only;
// updates and deletes (which take members and invitations along);
// creation counts; the pending queue; memberships (conflict on a second
// add, roles, counts, the account's affiliations with its role, the
// members with name and address); invitations (by hash, pending ones,
// daily counts, finishing once, revoking an address's, the purge's
// deletions) — and that another realm sees nothing.
func Orgs(t *testing.T, open func(tb testing.TB) OrgStores) {
	ctx := context.Background()

	t.Run("organisations", func(t *testing.T) {
		s := open(t)
		a := MustCreateAccount(t, s, NewAccount("jp", "owner@example.jp", ""))
		o := NewOrg("jp", a.ID)
		mustNil(t, "CreateOrg", s.CreateOrg(ctx, o))
		pending := NewOrg("jp", a.ID)
		pending.Kind, pending.Status, pending.ApprovalHash, pending.ApprovalExpiresAt = org.KindBusiness, org.StatusPending, NewHash(), at(7*24*time.Hour)
		pending.CreatedAt = at(time.Minute)
		pending.Policy = org.Policy{RequireTwoStep: true, Methods: []string{"passkey", "totp"}}
		mustNil(t, "CreateOrg pending", s.CreateOrg(ctx, pending))
		other := NewOrg("us", a.ID)
		mustNil(t, "CreateOrg other realm", s.CreateOrg(ctx, other))

		got, err := s.Org(ctx, "jp", o.ID)
		mustNil(t, "Org", err)
		if show(got) != show(o) {
			t.Errorf("round trip:\n got %s\nwant %s", show(got), show(o))
		}
		got, err = s.OrgByApprovalHash(ctx, "jp", pending.ApprovalHash)
		mustNil(t, "OrgByApprovalHash", err)
		if show(got) != show(pending) {
			t.Errorf("round trip by approval hash:\n got %s\nwant %s", show(got), show(pending))
		}
		if _, err := s.OrgByApprovalHash(ctx, "us", pending.ApprovalHash); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("OrgByApprovalHash in another realm: %v, want not_found", err)
		}
		if _, err := s.Org(ctx, "us", o.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Org in another realm: %v, want not_found", err)
		}
		list, err := s.PendingOrgs(ctx, "jp", 10)
		mustNil(t, "PendingOrgs", err)
		if len(list) != 1 || list[0].ID != pending.ID {
			t.Errorf("PendingOrgs: got %s, want the pending one", show(list))
		}
		n, err := s.OrgsCreatedSince(ctx, "jp", a.ID, at(0))
		mustNil(t, "OrgsCreatedSince", err)
		if n != 2 {
			t.Errorf("OrgsCreatedSince(epoch) = %d, want 2", n)
		}
		if n, _ := s.OrgsCreatedSince(ctx, "jp", a.ID, at(time.Second)); n != 1 {
			t.Errorf("OrgsCreatedSince(+1s) = %d, want 1", n)
		}

		decided := at(time.Hour)
		pending.Status, pending.DecidedAt, pending.ApprovalHash, pending.ApprovalExpiresAt = org.StatusActive, &decided, nil, time.Time{}
		pending.Name, pending.Policy = "Renamed", org.Policy{Methods: []string{}}
		mustNil(t, "UpdateOrg", s.UpdateOrg(ctx, pending))
		got, _ = s.Org(ctx, "jp", pending.ID)
		if show(got) != show(pending) {
			t.Errorf("after UpdateOrg:\n got %s\nwant %s", show(got), show(pending))
		}
		if list, _ := s.PendingOrgs(ctx, "jp", 10); len(list) != 0 {
			t.Errorf("PendingOrgs after the decision: %s", show(list))
		}
		ghost := NewOrg("jp", a.ID)
		if err := s.UpdateOrg(ctx, ghost); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("UpdateOrg of an unknown organisation: %v, want not_found", err)
		}
	})

	t.Run("members", func(t *testing.T) {
		s := open(t)
		owner := MustCreateAccount(t, s, NewAccount("jp", "owner@example.jp", ""))
		admin := MustCreateAccount(t, s, NewAccount("jp", "admin@example.jp", ""))
		o := NewOrg("jp", owner.ID)
		mustNil(t, "CreateOrg", s.CreateOrg(ctx, o))
		o2 := NewOrg("jp", admin.ID)
		o2.Name = "Second"
		mustNil(t, "CreateOrg", s.CreateOrg(ctx, o2))
		mustNil(t, "AddMember owner", s.AddMember(ctx, &org.Membership{Realm: "jp", Org: o.ID, Account: owner.ID, Role: org.RoleOwner, JoinedAt: at(0)}))
		mustNil(t, "AddMember admin", s.AddMember(ctx, &org.Membership{Realm: "jp", Org: o.ID, Account: admin.ID, Role: org.RoleAdmin, JoinedAt: at(time.Minute)}))
		mustNil(t, "AddMember o2", s.AddMember(ctx, &org.Membership{Realm: "jp", Org: o2.ID, Account: admin.ID, Role: org.RoleOwner, JoinedAt: at(2 * time.Minute)}))
		if err := s.AddMember(ctx, &org.Membership{Realm: "jp", Org: o.ID, Account: admin.ID, Role: org.RoleMember, JoinedAt: at(time.Hour)}); !ninsho.IsCode(err, ninsho.CodeConflict) {
			t.Errorf("AddMember twice: %v, want conflict", err)
		}
		m, err := s.Member(ctx, "jp", o.ID, admin.ID)
		mustNil(t, "Member", err)
		if m.Role != org.RoleAdmin || !m.JoinedAt.Equal(at(time.Minute)) {
			t.Errorf("Member = %s", show(m))
		}
		if _, err := s.Member(ctx, "us", o.ID, admin.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Member in another realm: %v, want not_found", err)
		}
		list, err := s.Members(ctx, "jp", o.ID)
		mustNil(t, "Members", err)
		if len(list) != 2 || list[0].Account != owner.ID || list[0].Email != "owner@example.jp" || list[0].Name != owner.Name ||
			list[1].Account != admin.ID || list[1].Role != org.RoleAdmin {
			t.Errorf("Members = %s", show(list))
		}
		for role, want := range map[org.Role]int{"": 2, org.RoleOwner: 1, org.RoleAdmin: 1, org.RoleMember: 0} {
			if n, err := s.CountMembers(ctx, "jp", o.ID, role); err != nil || n != want {
				t.Errorf("CountMembers(%q) = %d, %v; want %d", role, n, err, want)
			}
		}
		mustNil(t, "SetRole", s.SetRole(ctx, "jp", o.ID, admin.ID, org.RoleMember))
		if m, _ := s.Member(ctx, "jp", o.ID, admin.ID); m.Role != org.RoleMember {
			t.Errorf("role after SetRole = %s, want member", m.Role)
		}
		if err := s.SetRole(ctx, "jp", o.ID, NewID(), org.RoleMember); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("SetRole of a non-member: %v, want not_found", err)
		}
		affs, err := s.Affiliations(ctx, "jp", admin.ID)
		mustNil(t, "Affiliations", err)
		if len(affs) != 2 || affs[0].Org.ID != o.ID || affs[0].Role != org.RoleMember || affs[1].Org.ID != o2.ID ||
			affs[1].Role != org.RoleOwner || show(affs[1].Org) != show(o2) {
			t.Errorf("Affiliations = %s", show(affs))
		}
		if affs, _ := s.Affiliations(ctx, "us", admin.ID); len(affs) != 0 {
			t.Errorf("Affiliations in another realm = %s", show(affs))
		}
		ok, err := s.RemoveMember(ctx, "jp", o.ID, admin.ID)
		mustNil(t, "RemoveMember", err)
		if again, _ := s.RemoveMember(ctx, "jp", o.ID, admin.ID); !ok || again {
			t.Errorf("RemoveMember: %v then %v, want true then false", ok, again)
		}
		mustNil(t, "DeleteOrg", s.DeleteOrg(ctx, "jp", o2.ID))
		if _, err := s.Org(ctx, "jp", o2.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Org after DeleteOrg: %v", err)
		}
		if affs, _ := s.Affiliations(ctx, "jp", admin.ID); len(affs) != 0 {
			t.Errorf("Affiliations after DeleteOrg = %s", show(affs))
		}
	})

	t.Run("invitations", func(t *testing.T) {
		s := open(t)
		owner := MustCreateAccount(t, s, NewAccount("jp", "owner@example.jp", ""))
		o := NewOrg("jp", owner.ID)
		mustNil(t, "CreateOrg", s.CreateOrg(ctx, o))
		inv := func(email string, created time.Duration) *org.Invitation {
			i := &org.Invitation{ID: NewID(), Realm: "jp", Org: o.ID, Email: email, Role: org.RoleMember, InvitedBy: owner.ID,
				CreatedAt: at(created), ExpiresAt: at(created + org.InvitationLifetime), TokenHash: NewHash()}
			mustNil(t, "CreateInvitation", s.CreateInvitation(ctx, i))
			return i
		}
		first := inv("a@example.jp", 0)
		second := inv("b@example.jp", time.Hour)
		third := inv("a@example.jp", 2*time.Hour)

		got, err := s.InvitationByHash(ctx, "jp", first.TokenHash)
		mustNil(t, "InvitationByHash", err)
		if show(got) != show(first) {
			t.Errorf("round trip:\n got %s\nwant %s", show(got), show(first))
		}
		if _, err := s.InvitationByHash(ctx, "us", first.TokenHash); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("InvitationByHash in another realm: %v", err)
		}
		if got, err := s.Invitation(ctx, "jp", o.ID, second.ID); err != nil || got.Email != "b@example.jp" {
			t.Errorf("Invitation = %s, %v", show(got), err)
		}
		if _, err := s.Invitation(ctx, "jp", NewID(), second.ID); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("Invitation of another organisation: %v", err)
		}
		list, err := s.PendingInvitations(ctx, "jp", o.ID, at(3*time.Hour))
		mustNil(t, "PendingInvitations", err)
		if len(list) != 3 || list[0].ID != third.ID || list[2].ID != first.ID {
			t.Errorf("PendingInvitations = %s, want newest first", show(list))
		}
		if list, _ := s.PendingInvitations(ctx, "jp", o.ID, first.ExpiresAt); len(list) != 2 {
			t.Errorf("PendingInvitations at the first's expiry: %d, want 2", len(list))
		}
		if n, _ := s.InvitationsSince(ctx, "jp", org.InvitationScope{Org: o.ID}, at(time.Hour)); n != 2 {
			t.Errorf("InvitationsSince = %d, want 2", n)
		}
		n, err := s.RevokeInvitationsTo(ctx, "jp", o.ID, "a@example.jp", at(3*time.Hour))
		mustNil(t, "RevokeInvitationsTo", err)
		if n != 2 {
			t.Errorf("RevokeInvitationsTo = %d, want 2", n)
		}
		if n, _ := s.InvitationsSince(ctx, "jp", org.InvitationScope{Org: o.ID}, at(0)); n != 3 {
			t.Errorf("InvitationsSince counts revoked ones too: %d, want 3", n)
		}
		if n, _ := s.InvitationsSince(ctx, "jp", org.InvitationScope{Email: "a@example.jp"}, at(0)); n != 2 {
			t.Errorf("InvitationsSince of an address = %d, want 2", n)
		}
		if n, _ := s.InvitationsSince(ctx, "jp", org.InvitationScope{Org: o.ID, Email: "b@example.jp"}, at(0)); n != 1 {
			t.Errorf("InvitationsSince of an organisation's address = %d, want 1", n)
		}
		if n, _ := s.InvitationsSince(ctx, "jp", org.InvitationScope{InvitedBy: owner.ID}, at(0)); n != 3 {
			t.Errorf("InvitationsSince of an inviter = %d, want 3", n)
		}
		if n, _ := s.InvitationsSince(ctx, "us", org.InvitationScope{Email: "a@example.jp"}, at(0)); n != 0 {
			t.Errorf("InvitationsSince in another realm = %d, want 0", n)
		}
		ok, err := s.FinishInvitation(ctx, "jp", second.ID, "acc", at(4*time.Hour))
		mustNil(t, "FinishInvitation", err)
		if again, _ := s.FinishInvitation(ctx, "jp", second.ID, "", at(4*time.Hour)); !ok || again {
			t.Errorf("FinishInvitation: %v then %v, want true then false", ok, again)
		}
		if ok, _ := s.FinishInvitation(ctx, "jp", first.ID, "acc", at(4*time.Hour)); ok {
			t.Errorf("FinishInvitation of a revoked invitation: true")
		}
		got, _ = s.InvitationByHash(ctx, "jp", second.TokenHash)
		if got.AcceptedAt == nil || !got.AcceptedAt.Equal(at(4*time.Hour)) || got.AcceptedBy != "acc" || got.RevokedAt != nil {
			t.Errorf("accepted invitation = %s", show(got))
		}
		if list, _ := s.PendingInvitations(ctx, "jp", o.ID, at(5*time.Hour)); len(list) != 0 {
			t.Errorf("PendingInvitations after all ended = %s", show(list))
		}
		// The purge takes what ended before its time, in batches.
		fourth := inv("d@example.jp", 6*time.Hour)
		n, err = s.PurgeInvitations(ctx, at(4*time.Hour), 1)
		mustNil(t, "PurgeInvitations", err)
		if n != 1 {
			t.Errorf("PurgeInvitations with limit 1 = %d", n)
		}
		n, _ = s.PurgeInvitations(ctx, at(4*time.Hour), 10)
		if n != 1 {
			t.Errorf("PurgeInvitations again = %d, want the other revoked one", n)
		}
		if n, _ := s.PurgeInvitations(ctx, at(5*time.Hour), 10); n != 1 {
			t.Errorf("PurgeInvitations after the acceptance = %d, want 1", n)
		}
		if _, err := s.InvitationByHash(ctx, "jp", fourth.TokenHash); err != nil {
			t.Errorf("a pending invitation was purged: %v", err)
		}
		fifth := inv("e@example.jp", 7*time.Hour)
		other := &org.Invitation{ID: NewID(), Realm: "jp", Org: o.ID, Email: "f@example.jp", Role: org.RoleAdmin, InvitedBy: "someone",
			CreatedAt: at(7 * time.Hour), ExpiresAt: at(8 * time.Hour), TokenHash: NewHash()}
		mustNil(t, "CreateInvitation", s.CreateInvitation(ctx, other))
		n, err = s.DeleteInvitationsOf(ctx, "jp", "someone", "d@example.jp")
		mustNil(t, "DeleteInvitationsOf", err)
		if n != 2 {
			t.Errorf("DeleteInvitationsOf = %d, want 2 (sent by, sent to)", n)
		}
		if _, err := s.InvitationByHash(ctx, "jp", fifth.TokenHash); err != nil {
			t.Errorf("DeleteInvitationsOf took another's invitation: %v", err)
		}
		mustNil(t, "DeleteOrg", s.DeleteOrg(ctx, "jp", o.ID))
		if _, err := s.InvitationByHash(ctx, "jp", fifth.TokenHash); !ninsho.IsCode(err, ninsho.CodeNotFound) {
			t.Errorf("an invitation outlived its organisation: %v", err)
		}
	})
}
