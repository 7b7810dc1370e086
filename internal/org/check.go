package org

import (
	"context"

	"github.com/ninsho/ninsho/internal/ninsho"
)

// Kinds of refusals (the param kind of their errors) whose messages are
// the organisations' own (internal/i18n/catalog/*.orgfix.json); the API
// does not show them as params.
const (
	// KindOrgName: field_required, name_invalid and field_too_long (which
	// shows params.max) of an organisation's name.
	KindOrgName = "org_name"
	// KindOrgKind: request_invalid of an organisation's kind.
	KindOrgKind = "org_kind"
	// KindForbidden: forbidden of a role that may not do it.
	KindForbidden = "org"
	// KindNotMember: not_found of a person a change is about who is not
	// (or no longer) a member.
	KindNotMember = "org_member"
	// KindTransferSelf: request_invalid (field account_id) of a transfer
	// to oneself.
	KindTransferSelf = "org_transfer_self"
)

// Op is a change that needs a recent sign-in, for MayChange.
type Op int

// The changes MayChange checks.
const (
	OpRole Op = iota
	OpRemove
	OpTransfer
	OpPolicy
)

// MayChange tells, reading only, whether the person's role lets them do
// the change op at all (to the member target, with the role for OpRole),
// so that the sensitive changes refuse a role that can never do them
// (forbidden) before asking for a recent sign-in: a re-authentication
// that could only end in forbidden is of no use. Errors as the change's
// own: not_found (the person or the target is no member), org_rejected,
// forbidden. The change checks everything again in its transaction.
func (s *Service) MayChange(ctx context.Context, realm, accountID, orgID string, op Op, target string, role Role) error {
	if op == OpRemove && target == accountID {
		return nil // leaving (Remove calls Leave)
	}
	_, me, err := s.manager(ctx, realm, orgID, accountID)
	if err != nil {
		return err
	}
	if me.Role == RoleOwner {
		return nil
	}
	switch op {
	case OpTransfer, OpPolicy:
		return forbidden()
	case OpRole:
		if role == RoleOwner {
			return forbidden()
		}
	}
	if !ninsho.ValidID(target) {
		return nil // the change itself answers
	}
	t, err := s.target(ctx, realm, orgID, target)
	if err != nil {
		return err
	}
	if t.Role == RoleOwner {
		return forbidden()
	}
	return nil
}
