package org

import (
	"context"
	"slices"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/event"
	"github.com/ninsho/ninsho/internal/identifier"
	"github.com/ninsho/ninsho/internal/invalidate"
	"github.com/ninsho/ninsho/internal/message"
	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/realm"
	"github.com/ninsho/ninsho/internal/secret"
)

// Accounts reads accounts (the inviter's name and language).
type Accounts interface {
	Account(ctx context.Context, id string) (*account.Account, error)
}

// Service holds the rules of organisations. Every method that changes
// something does it in one transaction with its event (who, when, from
// where: req) and, where it sends e-mail, the outbox rows. It is safe for
// concurrent use.
type Service struct {
	Store    Store
	Accounts Accounts
	Tx       ninsho.TxRunner
	Events   event.Store
	Outbox   *message.Outbox
	Hasher   *secret.Hasher
	Clock    ninsho.Clock
	Random   ninsho.Random
	// CleanName normalises and checks an organisation's name, refusing
	// links and control characters (signup.CleanName: the name goes into
	// invitation e-mails to people who did not ask for them); its errors
	// are about the field "name".
	CleanName func(raw string) (string, error)
	// Realms finds a realm by id (its public URL and default language for
	// the decision e-mails of approval.go); *realm.Registry.
	Realms interface {
		ByID(id string) *realm.Realm
	}
	// Invalidate tells the other instances that organisations changed, so
	// that their Mine forgets what it keeps (mine.go); nil on one process.
	Invalidate invalidate.Publisher

	mine mineCache
}

// CreateInput is what Create needs.
type CreateInput struct {
	Kind Kind
	Name string
}

// Create makes an organisation of the kind with the person accountID as
// its owner and records org.created. A business organisation in a realm
// whose business approval is on starts pending_approval and its approval
// link goes to every approver of the realm (message.TemplateOrgApproval).
// Errors: request_invalid (field kind), the name's (field name),
// rate_limited kind org_create (CreatesPerDay), org_limit kind
// organisations (MaxMemberships).
func (s *Service) Create(ctx context.Context, rl *realm.Realm, accountID string, in CreateInput, req ninsho.Request) (*Organisation, error) {
	var errs []error
	if !in.Kind.Valid() {
		errs = append(errs, ninsho.FieldError(ninsho.CodeRequestInvalid, "kind").WithParam("kind", KindOrgKind))
	}
	name, err := s.CleanName(in.Name)
	if err == nil && len([]rune(name)) > MaxNameLength {
		err = ninsho.FieldError(ninsho.CodeFieldTooLong, "name").WithParam("max", MaxNameLength)
	}
	if e := ninsho.ErrorOf(err); err != nil && e.Field == "name" {
		// The organisation's name, not a person's: its own messages (and
		// field_too_long shows params.max).
		err = ninsho.FieldError(e.Code, "name").WithParam("kind", KindOrgName).WithParam("max", MaxNameLength)
	}
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, ninsho.Fields(errs...)
	}
	now := s.Clock.Now()
	o := &Organisation{ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, Kind: in.Kind, Name: name,
		Status: StatusActive, CreatedBy: accountID, CreatedAt: now}
	var token string
	if in.Kind == KindBusiness && rl.Organisations.BusinessApproval {
		token = ninsho.Token(s.Random, TokenBytes)
		o.Status, o.ApprovalHash, o.ApprovalExpiresAt = StatusPending, s.approvalHash(token), now.Add(ApprovalLifetime)
	}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		n, err := s.Store.OrgsCreatedSince(ctx, rl.ID, accountID, now.Add(-24*time.Hour))
		if err != nil {
			return err
		}
		if n >= CreatesPerDay {
			return limited("org_create")
		}
		affs, err := s.Store.Affiliations(ctx, rl.ID, accountID)
		if err != nil {
			return err
		}
		if len(affs) >= MaxMemberships {
			return full("organisations", MaxMemberships)
		}
		if err := s.Store.CreateOrg(ctx, o); err != nil {
			return err
		}
		if err := s.Store.AddMember(ctx, &Membership{Realm: rl.ID, Org: o.ID, Account: accountID, Role: RoleOwner, JoinedAt: now}); err != nil {
			return err
		}
		data := map[string]any{"org": o.ID, "kind": string(o.Kind), "status": string(o.Status)}
		if token != "" {
			sent := 0
			for _, to := range rl.Organisations.Approvers {
				if _, err := s.Outbox.Enqueue(ctx, rl.ID, message.ChannelEmail, to, message.TemplateOrgApproval, rl.DefaultLocale, map[string]string{
					"name": "", "org": o.Name, "link": rl.BaseURL + "/orgs/approval?token=" + token,
					"until": when(o.ApprovalExpiresAt, message.Locale(rl.DefaultLocale)), "host": rl.PublicHost, "base_url": rl.BaseURL,
				}); err != nil {
					return err
				}
				sent++
			}
			data["approvers"] = sent
		}
		return s.record(ctx, rl.ID, accountID, "account:"+accountID, event.TypeOrgCreated, req, data)
	})
	if err != nil {
		return nil, err
	}
	if token != "" {
		s.Outbox.Wake()
	}
	return o, nil
}

// View is an organisation as one of its members sees it.
type View struct {
	Org *Organisation
	// Role is the viewer's role.
	Role Role
	// Members are every member; their e-mail addresses only for an owner
	// or admin viewer ("" for a member).
	Members []*Membership
	// Invitations are the pending invitations, newest first, for an owner
	// or admin viewer only (non-nil, possibly empty; nil for a member).
	Invitations []*Invitation
}

// Get returns the organisation as the member accountID sees it;
// not_found for a non-member.
func (s *Service) Get(ctx context.Context, realm, accountID, orgID string) (*View, error) {
	o, me, err := s.member(ctx, realm, orgID, accountID)
	if err != nil {
		return nil, err
	}
	v := &View{Org: o, Role: me.Role}
	if v.Members, err = s.Store.Members(ctx, realm, orgID); err != nil {
		return nil, err
	}
	if !me.Role.Manages() {
		for _, m := range v.Members {
			m.Email = ""
		}
		return v, nil
	}
	if v.Invitations, err = s.Store.PendingInvitations(ctx, realm, orgID, s.Clock.Now()); err != nil {
		return nil, err
	}
	if v.Invitations == nil {
		v.Invitations = []*Invitation{}
	}
	return v, nil
}

// Invite invites the e-mail address into the organisation with the role
// (admin or member) and records org.invited: an owner or admin of an
// active organisation only. The invitation replaces the address's pending
// one; its single-use link (InvitationLifetime) goes by e-mail
// (message.TemplateOrgInvitation, in the inviter's language). Errors:
// not_found (not a member), forbidden (a member), org_pending_approval,
// org_rejected, identifier_invalid (field email), request_invalid (field
// role), org_already_member (field email), org_limit kind members or
// invitations, rate_limited kind org_invitations.
func (s *Service) Invite(ctx context.Context, rl *realm.Realm, accountID, orgID, email string, role Role, req ninsho.Request) (*Invitation, error) {
	var errs []error
	id, err := identifier.Parse(email, rl.PhoneRegion)
	if err != nil || id.Kind != identifier.KindEmail {
		errs = append(errs, ninsho.FieldError(ninsho.CodeIdentifierInvalid, "email"))
	}
	if role != RoleAdmin && role != RoleMember {
		errs = append(errs, ninsho.FieldError(ninsho.CodeRequestInvalid, "role"))
	}
	if len(errs) > 0 {
		return nil, ninsho.Fields(errs...)
	}
	now := s.Clock.Now()
	token := ninsho.Token(s.Random, TokenBytes)
	inv := &Invitation{ID: ninsho.NewID(s.Clock, s.Random), Realm: rl.ID, Org: orgID, Email: id.Value, Role: role,
		InvitedBy: accountID, CreatedAt: now, ExpiresAt: now.Add(InvitationLifetime), TokenHash: s.invitationHash(token)}
	err = s.Tx.InTx(ctx, func(ctx context.Context) error {
		o, me, err := s.manager(ctx, rl.ID, orgID, accountID)
		if err != nil {
			return err
		}
		if o.Status == StatusPending {
			return ninsho.E(ninsho.CodeOrgPendingApproval)
		}
		members, err := s.Store.Members(ctx, rl.ID, orgID)
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.Email == id.Value {
				return ninsho.FieldError(ninsho.CodeOrgAlreadyMember, "email")
			}
		}
		if len(members) >= MaxMembers {
			return full("members", MaxMembers)
		}
		for _, c := range []struct {
			of   InvitationScope
			max  int
			kind string
		}{
			{InvitationScope{Org: orgID}, InvitationsPerDay, "org_invitations"},
			{InvitationScope{Email: id.Value}, InvitationsPerAddressDay, "org_invitations_address"},
			{InvitationScope{InvitedBy: accountID}, InvitationsPerInviterDay, "org_invitations_inviter"},
		} {
			n, err := s.Store.InvitationsSince(ctx, rl.ID, c.of, now.Add(-24*time.Hour))
			if err != nil {
				return err
			}
			if n >= c.max {
				return limited(c.kind)
			}
		}
		replaced, err := s.Store.RevokeInvitationsTo(ctx, rl.ID, orgID, id.Value, now)
		if err != nil {
			return err
		}
		pending, err := s.Store.PendingInvitations(ctx, rl.ID, orgID, now)
		if err != nil {
			return err
		}
		if len(pending) >= MaxPendingInvitations {
			return full("invitations", MaxPendingInvitations)
		}
		if err := s.Store.CreateInvitation(ctx, inv); err != nil {
			return err
		}
		inviter, err := s.Accounts.Account(ctx, accountID)
		if err != nil {
			return err
		}
		locale := message.Locale(rl.Language(req.ChosenLocale(), inviter.Locale))
		if _, err := s.Outbox.Enqueue(ctx, rl.ID, message.ChannelEmail, id.Value, message.TemplateOrgInvitation, locale, map[string]string{
			"name": "", "org": o.Name, "inviter": inviter.Name, "role": string(role),
			"link": rl.BaseURL + "/orgs/invitation?token=" + token, "until": when(inv.ExpiresAt, locale),
			"host": rl.PublicHost, "base_url": rl.BaseURL,
		}); err != nil {
			return err
		}
		return s.record(ctx, rl.ID, accountID, "account:"+accountID, event.TypeOrgInvited, req, map[string]any{
			"org": orgID, "invitation": inv.ID, "role": string(role), "replaced": replaced, "by_role": string(me.Role)})
	})
	if err != nil {
		return nil, err
	}
	s.Outbox.Wake()
	return inv, nil
}

// RevokeInvitation revokes the organisation's pending invitation and
// records org.invitation_revoked: an owner or admin only. An invitation
// of another organisation, or no longer pending, is not_found.
func (s *Service) RevokeInvitation(ctx context.Context, realm, accountID, orgID, invitationID string, req ninsho.Request) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		if _, _, err := s.manager(ctx, realm, orgID, accountID); err != nil {
			return err
		}
		inv, err := s.Store.Invitation(ctx, realm, orgID, invitationID)
		if err != nil {
			return err
		}
		now := s.Clock.Now()
		if !inv.Pending(now) {
			return ninsho.E(ninsho.CodeNotFound)
		}
		if ok, err := s.Store.FinishInvitation(ctx, realm, inv.ID, "", now); err != nil || !ok {
			if err == nil {
				err = ninsho.E(ninsho.CodeNotFound)
			}
			return err
		}
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgInvitationRevoked, req,
			map[string]any{"org": orgID, "invitation": inv.ID})
	})
}

// Invited is a pending invitation as its link shows it.
type Invited struct {
	Invitation *Invitation
	Org        *Organisation
	// InviterName is the name of the account that sent it ("" when that
	// account is gone).
	InviterName string
}

// InvitationByToken returns the pending invitation of a link without
// accepting it (the invitation page shows it); invitation_invalid for a
// token unknown, used, revoked or expired, or of an organisation no
// longer active.
func (s *Service) InvitationByToken(ctx context.Context, realm, token string) (*Invited, error) {
	inv, o, err := s.invitation(ctx, realm, token)
	if err != nil {
		return nil, err
	}
	out := &Invited{Invitation: inv, Org: o}
	if a, err := s.Accounts.Account(ctx, inv.InvitedBy); err == nil {
		out.InviterName = a.Name
	}
	return out, nil
}

// Accept accepts the invitation of a link for the signed-in account a
// and records org.joined: the account must be of the realm and hold the
// invited address as its verified e-mail address. Errors:
// invitation_invalid, invitation_other_account (another address, or the
// address not verified), org_already_member, org_limit kind members or
// organisations.
func (s *Service) Accept(ctx context.Context, realm string, a *account.Account, token string, req ninsho.Request) (*Affiliation, error) {
	var out *Affiliation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		inv, o, err := s.invitation(ctx, realm, token)
		if err != nil {
			return err
		}
		if a.Realm != realm || a.Email == "" || a.EmailVerifiedAt == nil || !secret.Equal([]byte(a.Email), []byte(inv.Email)) {
			return ninsho.E(ninsho.CodeInvitationOtherAccount)
		}
		if _, err := s.Store.Member(ctx, realm, o.ID, a.ID); err == nil {
			return ninsho.E(ninsho.CodeOrgAlreadyMember)
		} else if !ninsho.IsCode(err, ninsho.CodeNotFound) {
			return err
		}
		n, err := s.Store.CountMembers(ctx, realm, o.ID, "")
		if err != nil {
			return err
		}
		if n >= MaxMembers {
			return full("members", MaxMembers)
		}
		affs, err := s.Store.Affiliations(ctx, realm, a.ID)
		if err != nil {
			return err
		}
		if len(affs) >= MaxMemberships {
			return full("organisations", MaxMemberships)
		}
		now := s.Clock.Now()
		if ok, err := s.Store.FinishInvitation(ctx, realm, inv.ID, a.ID, now); err != nil || !ok {
			if err == nil {
				err = ninsho.E(ninsho.CodeInvitationInvalid)
			}
			return err
		}
		if err := s.Store.AddMember(ctx, &Membership{Realm: realm, Org: o.ID, Account: a.ID, Role: inv.Role, JoinedAt: now}); err != nil {
			return err
		}
		out = &Affiliation{Org: o, Role: inv.Role}
		return s.record(ctx, realm, a.ID, "account:"+a.ID, event.TypeOrgJoined, req,
			map[string]any{"org": o.ID, "invitation": inv.ID, "role": string(inv.Role)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SetRole gives the member target the role and records org.role_changed
// (nothing when the role is the same). Owners change anyone's role;
// admins change the roles of admins and members between admin and member.
// Errors: not_found (the person or target is no member), forbidden,
// request_invalid (field role), org_rejected, org_last_owner (demoting the
// last owner).
func (s *Service) SetRole(ctx context.Context, realm, accountID, orgID, target string, role Role, req ninsho.Request) (*Membership, error) {
	if !role.Valid() {
		return nil, ninsho.FieldError(ninsho.CodeRequestInvalid, "role")
	}
	var out *Membership
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, me, err := s.manager(ctx, realm, orgID, accountID)
		if err != nil {
			return err
		}
		t, err := s.target(ctx, realm, orgID, target)
		if err != nil {
			return err
		}
		if (t.Role == RoleOwner || role == RoleOwner) && me.Role != RoleOwner {
			return forbidden()
		}
		out = t
		if t.Role == role {
			return nil
		}
		if t.Role == RoleOwner {
			if err := s.notLastOwner(ctx, realm, orgID); err != nil {
				return err
			}
		}
		if err := s.Store.SetRole(ctx, realm, orgID, target, role); err != nil {
			return err
		}
		from := t.Role
		t.Role = role
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgRoleChanged, req,
			map[string]any{"org": orgID, "member": target, "from": string(from), "to": string(role)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Remove takes the member target out of the organisation and records
// org.member_removed. Owners remove anyone, admins admins and members; a
// person removing themself leaves (Leave). Errors: not_found, forbidden,
// org_rejected, org_last_owner.
func (s *Service) Remove(ctx context.Context, realm, accountID, orgID, target string, req ninsho.Request) error {
	if target == accountID {
		return s.Leave(ctx, realm, accountID, orgID, req)
	}
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, me, err := s.manager(ctx, realm, orgID, accountID)
		if err != nil {
			return err
		}
		t, err := s.target(ctx, realm, orgID, target)
		if err != nil {
			return err
		}
		if t.Role == RoleOwner {
			if me.Role != RoleOwner {
				return forbidden()
			}
			if err := s.notLastOwner(ctx, realm, orgID); err != nil {
				return err
			}
		}
		if _, err := s.Store.RemoveMember(ctx, realm, orgID, target); err != nil {
			return err
		}
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgMemberRemoved, req,
			map[string]any{"org": orgID, "member": target, "role": string(t.Role)})
	})
}

// Leave takes the person out of the organisation and records org.left.
// The last owner cannot leave (org_last_owner) — except from a rejected
// organisation, which is deleted when its last member leaves
// (org.deleted).
func (s *Service) Leave(ctx context.Context, realm, accountID, orgID string, req ninsho.Request) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		o, me, err := s.member(ctx, realm, orgID, accountID)
		if err != nil {
			return err
		}
		if me.Role == RoleOwner && o.Status != StatusRejected {
			if err := s.notLastOwner(ctx, realm, orgID); err != nil {
				return err
			}
		}
		if _, err := s.Store.RemoveMember(ctx, realm, orgID, accountID); err != nil {
			return err
		}
		if err := s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgLeft, req,
			map[string]any{"org": orgID, "role": string(me.Role)}); err != nil {
			return err
		}
		if o.Status != StatusRejected {
			return nil
		}
		n, err := s.Store.CountMembers(ctx, realm, orgID, "")
		if err != nil || n > 0 {
			return err
		}
		if err := s.Store.DeleteOrg(ctx, realm, orgID); err != nil {
			return err
		}
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgDeleted, req,
			map[string]any{"org": orgID, "reason": "last_member_left"})
	})
}

// Transfer makes the member target an owner and the owner accountID an
// admin, in one transaction, and records org.ownership_transferred. An
// owner only (forbidden otherwise); the target must be another member
// (not_found otherwise). Errors also: org_rejected.
func (s *Service) Transfer(ctx context.Context, realm, accountID, orgID, target string, req ninsho.Request) error {
	return s.Tx.InTx(ctx, func(ctx context.Context) error {
		_, me, err := s.manager(ctx, realm, orgID, accountID)
		if err != nil {
			return err
		}
		if me.Role != RoleOwner {
			return forbidden()
		}
		if target == accountID {
			return ninsho.FieldError(ninsho.CodeRequestInvalid, "account_id").WithParam("kind", KindTransferSelf)
		}
		t, err := s.target(ctx, realm, orgID, target)
		if err != nil {
			return err
		}
		if err := s.Store.SetRole(ctx, realm, orgID, target, RoleOwner); err != nil {
			return err
		}
		if err := s.Store.SetRole(ctx, realm, orgID, accountID, RoleAdmin); err != nil {
			return err
		}
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgOwnershipTransferred, req,
			map[string]any{"org": orgID, "to": target, "to_was": string(t.Role)})
	})
}

// SetPolicy sets the organisation's sign-in policy and records
// org.policy_changed (nothing when it is the same): an owner only
// (forbidden otherwise; the policy binds every member, owners included).
// Methods must be values of Methods (request_invalid, field methods);
// they are kept sorted without repeats. Errors also: not_found,
// org_rejected.
func (s *Service) SetPolicy(ctx context.Context, realm, accountID, orgID string, p Policy, req ninsho.Request) (*Organisation, error) {
	methods := []string{}
	for _, m := range p.Methods {
		if !slices.Contains(Methods, m) {
			return nil, ninsho.FieldError(ninsho.CodeRequestInvalid, "methods")
		}
		methods = append(methods, m)
	}
	slices.Sort(methods)
	p.Methods = slices.Compact(methods)
	var out *Organisation
	err := s.Tx.InTx(ctx, func(ctx context.Context) error {
		o, me, err := s.manager(ctx, realm, orgID, accountID)
		if err != nil {
			return err
		}
		if me.Role != RoleOwner {
			return forbidden()
		}
		out = o
		if o.Policy.Equal(p) {
			return nil
		}
		from := o.Policy
		o.Policy = p
		if err := s.Store.UpdateOrg(ctx, o); err != nil {
			return err
		}
		return s.record(ctx, realm, accountID, "account:"+accountID, event.TypeOrgPolicyChanged, req, map[string]any{
			"org": orgID, "require_two_step": p.RequireTwoStep, "methods": p.Methods,
			"was_require_two_step": from.RequireTwoStep, "was_methods": from.Methods})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Combined is the sign-in policy of a person over all their active
// organisations.
type Combined struct {
	// RequireTwoStep: at least one organisation requires two-step
	// verification.
	RequireTwoStep bool
	// Methods are the second-factor methods allowed (values of Methods);
	// nil means any. It is the intersection of the organisations'
	// non-empty lists. A policy only ever tightens: when no method
	// satisfies them all, the lists of the organisations the person owns
	// are set aside (their own organisation never loosens another's rule);
	// when the others still have no method in common, Conflict is set and
	// no method is allowed (Allows): the person cannot sign in until an
	// owner changes a policy or removes them — any other choice would let a
	// person loosen an organisation's rule by joining another one. Methods
	// is then the methods of those organisations, for information only.
	Methods  []string
	Conflict bool
	// Orgs are the ids of the organisations whose policy asks anything.
	Orgs []string
}

// PolicyFor returns the combined policy of the person's active
// organisations (pending and rejected ones ask nothing).
func (s *Service) PolicyFor(ctx context.Context, realm, accountID string) (Combined, error) {
	affs, err := s.Store.Affiliations(ctx, realm, accountID)
	if err != nil {
		return Combined{}, err
	}
	return combine(affs), nil
}

// combine folds the policies of the active organisations of affs (in
// joining order).
func combine(affs []Affiliation) Combined {
	var c Combined
	for _, af := range affs {
		p := af.Org.Policy
		if af.Org.Status != StatusActive || (!p.RequireTwoStep && len(p.Methods) == 0) {
			continue
		}
		c.Orgs = append(c.Orgs, af.Org.ID)
		c.RequireTwoStep = c.RequireTwoStep || p.RequireTwoStep
	}
	var all, others [][]string // every non-empty list; those of organisations the person does not own
	for _, af := range affs {
		if af.Org.Status == StatusActive && len(af.Org.Policy.Methods) > 0 {
			all = append(all, af.Org.Policy.Methods)
			if af.Role != RoleOwner {
				others = append(others, af.Org.Policy.Methods)
			}
		}
	}
	if len(all) == 0 {
		return c
	}
	if m := intersect(all); len(m) > 0 {
		c.Methods = m
		return c
	}
	if m := intersect(others); len(m) > 0 {
		c.Methods = m
		return c
	}
	if len(others) == 0 { // only their own organisations disagree: the first joined applies
		c.Methods = slices.Clone(all[0])
		return c
	}
	var union []string
	for _, l := range others {
		union = append(union, l...)
	}
	slices.Sort(union)
	c.Methods, c.Conflict = slices.Compact(union), true
	return c
}

// Allows reports whether the combined policy lets method m answer the
// second factor: any method when no organisation restricts them, none in
// a Conflict.
func (c Combined) Allows(m string) bool {
	return !c.Conflict && (len(c.Methods) == 0 || slices.Contains(c.Methods, m))
}

// Restricts reports whether the policy allows only some methods (or, in a
// Conflict, none).
func (c Combined) Restricts() bool { return c.Conflict || len(c.Methods) > 0 }

// intersect returns the methods every list has (nil for no lists).
func intersect(lists [][]string) []string {
	if len(lists) == 0 {
		return nil
	}
	inter := slices.Clone(lists[0])
	for _, l := range lists[1:] {
		inter = slices.DeleteFunc(inter, func(m string) bool { return !slices.Contains(l, m) })
	}
	return inter
}

// member returns the organisation and the person's membership; not_found
// for a non-member (whether or not the organisation exists).
func (s *Service) member(ctx context.Context, realm, orgID, accountID string) (*Organisation, *Membership, error) {
	if !ninsho.ValidID(orgID) {
		return nil, nil, ninsho.E(ninsho.CodeNotFound)
	}
	me, err := s.Store.Member(ctx, realm, orgID, accountID)
	if err != nil {
		return nil, nil, err
	}
	o, err := s.Store.Org(ctx, realm, orgID)
	if err != nil {
		return nil, nil, err
	}
	return o, me, nil
}

// manager is member for a change: the organisation must not be rejected
// (org_rejected), and the person must be an owner or admin (forbidden).
// A pending organisation is refused only for invitations (by Invite's
// own check, before manager would let it through).
func (s *Service) manager(ctx context.Context, realm, orgID, accountID string) (*Organisation, *Membership, error) {
	o, me, err := s.member(ctx, realm, orgID, accountID)
	if err != nil {
		return nil, nil, err
	}
	if o.Status == StatusRejected {
		return nil, nil, ninsho.E(ninsho.CodeOrgRejected)
	}
	if !me.Role.Manages() {
		return nil, nil, forbidden()
	}
	return o, me, nil
}

// target returns the membership of the person a change is about; not_found
// of kind KindNotMember when they are not (or no longer) a member.
func (s *Service) target(ctx context.Context, realm, orgID, accountID string) (*Membership, error) {
	t, err := s.Store.Member(ctx, realm, orgID, accountID)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, ninsho.E(ninsho.CodeNotFound).WithParam("kind", KindNotMember)
	}
	return t, err
}

// notLastOwner refuses a change that would leave the organisation without
// an owner (run before the change, which takes one owner away).
func (s *Service) notLastOwner(ctx context.Context, realm, orgID string) error {
	n, err := s.Store.CountMembers(ctx, realm, orgID, RoleOwner)
	if err != nil {
		return err
	}
	if n <= 1 {
		return ninsho.E(ninsho.CodeOrgLastOwner)
	}
	return nil
}

// invitation returns the pending invitation of token and its active
// organisation, or invitation_invalid.
func (s *Service) invitation(ctx context.Context, realm, token string) (*Invitation, *Organisation, error) {
	if token == "" || len(token) > 100 {
		return nil, nil, ninsho.E(ninsho.CodeInvitationInvalid)
	}
	inv, err := s.Store.InvitationByHash(ctx, realm, s.invitationHash(token))
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil, ninsho.E(ninsho.CodeInvitationInvalid)
	}
	if err != nil {
		return nil, nil, err
	}
	if !inv.Pending(s.Clock.Now()) {
		return nil, nil, ninsho.E(ninsho.CodeInvitationInvalid)
	}
	o, err := s.Store.Org(ctx, realm, inv.Org)
	if ninsho.IsCode(err, ninsho.CodeNotFound) {
		return nil, nil, ninsho.E(ninsho.CodeInvitationInvalid)
	}
	if err != nil {
		return nil, nil, err
	}
	if o.Status != StatusActive {
		return nil, nil, ninsho.E(ninsho.CodeInvitationInvalid)
	}
	return inv, o, nil
}

// record appends the event of a change in its transaction, and marks the
// change for Mine's memory (changed) unless it is one whose answers it
// cannot change (keepsMine).
func (s *Service) record(ctx context.Context, realm, accountID, actor, typ string, req ninsho.Request, data map[string]any) error {
	if !keepsMine[typ] {
		s.changed(ctx, realm)
	}
	if s.Events == nil {
		return nil
	}
	return s.Events.AppendEvent(ctx, &event.Event{
		ID: ninsho.NewID(s.Clock, s.Random), Realm: realm, AccountID: accountID, Type: typ, Actor: actor,
		IP: req.IP, UserAgent: req.UserAgent, RequestID: req.RequestID, Data: data, At: s.Clock.Now(),
	})
}

func (s *Service) invitationHash(token string) []byte { return s.Hasher.Hash("org-invitation", token) }
func (s *Service) approvalHash(token string) []byte   { return s.Hasher.Hash("org-approval", token) }

// limited is rate_limited of a daily count: try again in an hour.
func limited(kind string) error {
	return ninsho.E(ninsho.CodeRateLimited).WithParam("kind", kind).WithParam("retry_after_s", 3600)
}

// forbidden is forbidden of a role that may not do it (kind KindForbidden:
// its message names the organisation's owners and admins).
func forbidden() error {
	return ninsho.E(ninsho.CodeForbidden).WithParam("kind", KindForbidden)
}

// full is org_limit of a bound.
func full(kind string, max int) error {
	return ninsho.E(ninsho.CodeOrgLimit).WithParam("kind", kind).WithParam("max", max)
}

var jst = time.FixedZone("JST", 9*60*60)

// when is a time as messages write it.
func when(t time.Time, locale string) string {
	if locale == "ja" {
		return t.In(jst).Format("2006-01-02 15:04 JST")
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}
