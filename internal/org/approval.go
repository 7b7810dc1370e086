package org

import (
	"context"
	"slices"

	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/staff"
)

// ActorApprovalLink is the actor of a decision taken with an approval
// link: the link is the capability, whoever of the approvers used it.
const ActorApprovalLink = "approval_link"

// MaxReason bounds a staff decision's written reason, in characters.
const MaxReason = 1000

// ApprovalByToken returns the organisation an approval link is for,
// without deciding (the approval page shows it); org_approval_invalid for
// a token unknown or expired, or an organisation already decided.
func (s *Service) ApprovalByToken(ctx context.Context, realm, token string) (*Organisation, error) {
	return s.approval(ctx, realm, token)
}

// DecideByToken approves (approve) or rejects the pending organisation of
// an approval link, which then stops working, and records org.approved
// or org.rejected (actor ActorApprovalLink); the creator and the owners
// are told by e-mail (tellDecision). Errors: org_approval_invalid.
func (s *Service) DecideByToken(ctx context.Context, realm, token string, approve bool, req ninsho.Request) (*Organisation, error) {
	var out *Organisation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.approval(ctx, realm, token)
		if err != nil {
			return err
		}
		out = o
		return s.decide(ctx, o, approve, ActorApprovalLink, "", req)
	})
	if err != nil {
		return nil, err
	}
	s.Outbox.Wake()
	return out, nil
}

// DecideByStaff approves or rejects a pending organisation from the
// console with a written reason (kept in the event) and records
// org.approved or org.rejected with the staff member as actor. Staff
// need staff.PermOrgApprovals (forbidden otherwise). Errors: not_found,
// conflict (already decided), field_required / field_too_long (field
// reason).
func (s *Service) DecideByStaff(ctx context.Context, st *staff.Staff, realm, orgID string, approve bool, reason string, req ninsho.Request) (*Organisation, error) {
	if st == nil || !staff.Can(st.Role, staff.PermOrgApprovals) {
		return nil, ninsho.E(ninsho.CodeForbidden)
	}
	switch n := len([]rune(reason)); {
	case n == 0:
		return nil, ninsho.FieldError(ninsho.CodeFieldRequired, "reason")
	case n > MaxReason:
		return nil, ninsho.FieldError(ninsho.CodeFieldTooLong, "reason").WithParam("max", MaxReason)
	}
	if !ninsho.ValidID(orgID) {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	var out *Organisation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		o, err := s.Store.Org(ctx, realm, orgID)
		if err != nil {
			return err
		}
		if o.Status != StatusPending {
			return ninsho.E(ninsho.CodeConflict)
		}
		out = o
		return s.decide(ctx, o, approve, st.Actor(), reason, req)
	})
	if err != nil {
		return nil, err
	}
	s.Outbox.Wake()
	return out, nil
}

// Pending lists the realm's organisations awaiting approval, the oldest
// first, at most limit (the console's queue).
func (s *Service) Pending(ctx context.Context, realm string, limit int) ([]*Organisation, error) {
	return s.Store.PendingOrgs(ctx, realm, limit)
}

func (s *Service) decide(ctx context.Context, o *Organisation, approve bool, actor, reason string, req ninsho.Request) error {
	now := s.Clock.Now()
	o.Status, o.DecidedAt, o.ApprovalHash = StatusRejected, &now, nil
	typ := event.TypeOrgRejected
	if approve {
		o.Status, typ = StatusActive, event.TypeOrgApproved
	}
	if err := s.Store.UpdateOrg(ctx, o); err != nil {
		return err
	}
	data := map[string]any{"org": o.ID, "kind": string(o.Kind)}
	if reason != "" {
		data["reason"] = reason
	}
	sent, err := s.tellDecision(ctx, o, approve)
	if err != nil {
		return err
	}
	data["notified"] = sent
	return s.record(ctx, o.Realm, o.CreatedBy, actor, typ, req, data)
}

// tellDecision e-mails the decision (message.TemplateOrgApproved or
// TemplateOrgRejected) to the organisation's creator and its current
// owners, each once, at their verified e-mail address in their language,
// in the decision's transaction; it returns how many e-mails. People
// without a verified address are not told (they see the status on the
// organisation's page). The staff's reason stays in the event.
func (s *Service) tellDecision(ctx context.Context, o *Organisation, approve bool) (int, error) {
	if s.Outbox == nil {
		return 0, nil
	}
	var rl *realm.Realm
	if s.Realms != nil {
		rl = s.Realms.ByID(o.Realm)
	}
	if rl == nil {
		return 0, nil
	}
	members, err := s.Store.Members(ctx, o.Realm, o.ID)
	if err != nil {
		return 0, err
	}
	to := []string{o.CreatedBy}
	for _, m := range members {
		if m.Role == RoleOwner && !slices.Contains(to, m.Account) {
			to = append(to, m.Account)
		}
	}
	tmpl := message.TemplateOrgRejected
	if approve {
		tmpl = message.TemplateOrgApproved
	}
	sent := 0
	for _, id := range to {
		a, err := s.Accounts.Account(ctx, id)
		if ninsho.IsCode(err, ninsho.CodeNotFound) {
			continue // the creator's account is gone
		}
		if err != nil {
			return 0, err
		}
		if a.Email == "" || a.EmailVerifiedAt == nil {
			continue
		}
		locale := a.Locale
		if locale == "" {
			locale = rl.DefaultLocale
		}
		if _, err := s.Outbox.Enqueue(ctx, o.Realm, message.ChannelEmail, a.Email, tmpl, message.Locale(locale), map[string]string{
			"name": a.Name, "org": o.Name, "link": rl.BaseURL + "/account/orgs/" + o.ID, "host": rl.PublicHost, "base_url": rl.BaseURL,
		}); err != nil {
			return 0, err
		}
		sent++
	}
	return sent, nil
}

func (s *Service) approval(ctx context.Context, realm, token string) (*Organisation, error) {
	if token == "" || len(token) > 100 {
		return nil, ninsho.E(ninsho.CodeOrgApprovalInvalid)
	}
	o, err := s.Store.OrgByApprovalHash(ctx, realm, s.approvalHash(token))
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, ninsho.E(ninsho.CodeOrgApprovalInvalid)
	}
	if err != nil {
		return nil, err
	}
	if o.Status != StatusPending || !s.Clock.Now().Before(o.ApprovalExpiresAt) {
		return nil, ninsho.E(ninsho.CodeOrgApprovalInvalid)
	}
	return o, nil
}

// ForgetAccount takes a purged account out of every organisation, in the
// caller's transaction (closure.Service.OnPurge): its memberships and the
// invitations it sent or that went to its address are deleted. An
// organisation whose last owner it was gets a new owner — its
// longest-standing admin, else its longest-standing member
// (org.role_changed, actor system, reason owner_purged) — or, with nobody
// left, is deleted (org.deleted). Its events name the organisation, never
// the purged account.
func (s *Service) ForgetAccount(ctx context.Context, realm, accountID, email string) error {
	affs, err := s.Store.Affiliations(ctx, realm, accountID)
	if err != nil {
		return err
	}
	for _, af := range affs {
		orgID := af.Org.ID
		if _, err := s.Store.RemoveMember(ctx, realm, orgID, accountID); err != nil {
			return err
		}
		if err := s.record(ctx, realm, "", "system", event.TypeOrgMemberRemoved, ninsho.Request{},
			map[string]any{"org": orgID, "role": string(af.Role), "reason": "purged"}); err != nil {
			return err
		}
		if af.Role != RoleOwner {
			continue
		}
		owners, err := s.Store.CountMembers(ctx, realm, orgID, RoleOwner)
		if err != nil {
			return err
		}
		if owners > 0 {
			continue
		}
		members, err := s.Store.Members(ctx, realm, orgID)
		if err != nil {
			return err
		}
		if len(members) == 0 {
			if err := s.Store.DeleteOrg(ctx, realm, orgID); err != nil {
				return err
			}
			if err := s.record(ctx, realm, "", "system", event.TypeOrgDeleted, ninsho.Request{},
				map[string]any{"org": orgID, "reason": "owner_purged"}); err != nil {
				return err
			}
			continue
		}
		heir := members[0] // by joining time
		for _, m := range members {
			if m.Role == RoleAdmin {
				heir = m
				break
			}
		}
		if err := s.Store.SetRole(ctx, realm, orgID, heir.Account, RoleOwner); err != nil {
			return err
		}
		if err := s.record(ctx, realm, heir.Account, "system", event.TypeOrgRoleChanged, ninsho.Request{}, map[string]any{
			"org": orgID, "member": heir.Account, "from": string(heir.Role), "to": string(RoleOwner), "reason": "owner_purged"}); err != nil {
			return err
		}
	}
	_, err = s.Store.DeleteInvitationsOf(ctx, realm, accountID, email)
	return err
}

// PurgeBatch bounds the invitations one Purge deletes.
const PurgeBatch = 1000

// Purge deletes invitations accepted, revoked or expired more than
// FinishedKept ago, at most PurgeBatch (housekeeping).
func (s *Service) Purge(ctx context.Context) (int, error) {
	return s.Store.PurgeInvitations(ctx, s.Clock.Now().Add(-FinishedKept), PurgeBatch)
}
