package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/org"
)

var _ org.Store = (*DB)(nil)

const orgColumns = `realm, id, kind, name, status, require_two_step, methods, created_by, created_at,
	decided_at, approval_hash, approval_expires_at`

func scanOrg(sc scanner) (*org.Organisation, error) {
	var (
		o                 org.Organisation
		methods           string
		created           int64
		decided, approval sql.NullInt64
	)
	if err := sc.Scan(&o.Realm, &o.ID, &o.Kind, &o.Name, &o.Status, &o.Policy.RequireTwoStep, &methods, &o.CreatedBy, &created,
		&decided, &o.ApprovalHash, &approval); err != nil {
		return nil, err
	}
	o.Policy.Methods = readList(methods)
	o.CreatedAt, o.DecidedAt, o.ApprovalExpiresAt = fromUS(created), fromNullUSPtr(decided), fromNullUS(approval)
	if len(o.ApprovalHash) == 0 {
		o.ApprovalHash = nil
	}
	return &o, nil
}

// CreateOrg inserts o (org.OrgStore).
func (db *DB) CreateOrg(ctx context.Context, o *org.Organisation) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO organisation (`+orgColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		o.Realm, o.ID, string(o.Kind), o.Name, string(o.Status), o.Policy.RequireTwoStep, jsonList(o.Policy.Methods),
		o.CreatedBy, us(o.CreatedAt), nullUSPtr(o.DecidedAt), nullBytes(o.ApprovalHash), nullUS(o.ApprovalExpiresAt))
	if err != nil {
		return internal("create organisation", err)
	}
	return nil
}

// Org returns an organisation (org.OrgStore).
func (db *DB) Org(ctx context.Context, realm, id string) (*org.Organisation, error) {
	o, err := scanOrg(db.reader(ctx).QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisation WHERE realm = $1 AND id = $2`, realm, id))
	if err != nil {
		return nil, notFound("organisation", err, ninsho.CodeNotFound)
	}
	return o, nil
}

// OrgByApprovalHash returns the organisation of an approval link
// (org.OrgStore).
func (db *DB) OrgByApprovalHash(ctx context.Context, realm string, hash []byte) (*org.Organisation, error) {
	o, err := scanOrg(db.reader(ctx).QueryRowContext(ctx, `SELECT `+orgColumns+` FROM organisation
		WHERE approval_hash = $1 AND realm = $2`, hash, realm))
	if err != nil {
		return nil, notFound("organisation by approval", err, ninsho.CodeNotFound)
	}
	return o, nil
}

// UpdateOrg saves an organisation's changing fields (org.OrgStore).
func (db *DB) UpdateOrg(ctx context.Context, o *org.Organisation) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE organisation SET name = $3, status = $4, require_two_step = $5,
		methods = $6, decided_at = $7, approval_hash = $8, approval_expires_at = $9 WHERE realm = $1 AND id = $2`,
		o.Realm, o.ID, o.Name, string(o.Status), o.Policy.RequireTwoStep, jsonList(o.Policy.Methods),
		nullUSPtr(o.DecidedAt), nullBytes(o.ApprovalHash), nullUS(o.ApprovalExpiresAt))
	if err != nil {
		return internal("update organisation", err)
	}
	if n, err := rowsAffected("update organisation", res); err != nil || n == 0 {
		if err == nil {
			err = ninsho.E(ninsho.CodeNotFound)
		}
		return err
	}
	return nil
}

// DeleteOrg deletes an organisation with its members and invitations
// (org.OrgStore).
func (db *DB) DeleteOrg(ctx context.Context, realm, id string) error {
	q := db.writer(ctx)
	for _, stmt := range []string{
		`DELETE FROM org_invitation WHERE realm = $1 AND org_id = $2`,
		`DELETE FROM org_member WHERE realm = $1 AND org_id = $2`,
		`DELETE FROM organisation WHERE realm = $1 AND id = $2`,
	} {
		if _, err := q.ExecContext(ctx, stmt, realm, id); err != nil {
			return internal("delete organisation", err)
		}
	}
	return nil
}

// OrgsCreatedSince counts an account's organisations created since t
// (org.OrgStore).
func (db *DB) OrgsCreatedSince(ctx context.Context, realm, accountID string, t time.Time) (int, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM organisation
		WHERE realm = $1 AND created_by = $2 AND created_at >= $3`, realm, accountID, us(t)).Scan(&n)
	if err != nil {
		return 0, internal("organisations created", err)
	}
	return n, nil
}

// PendingOrgs lists organisations pending approval, the oldest first
// (org.OrgStore).
func (db *DB) PendingOrgs(ctx context.Context, realm string, limit int) ([]*org.Organisation, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+orgColumns+` FROM organisation
		WHERE realm = $1 AND status = $2 ORDER BY created_at, id LIMIT $3`, realm, string(org.StatusPending), limit)
	if err != nil {
		return nil, internal("pending organisations", err)
	}
	defer rows.Close()
	var out []*org.Organisation
	for rows.Next() {
		o, err := scanOrg(rows)
		if err != nil {
			return nil, internal("pending organisations", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("pending organisations", err)
	}
	return out, nil
}

// AddMember inserts a membership; an existing one is conflict
// (org.MemberStore).
func (db *DB) AddMember(ctx context.Context, m *org.Membership) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO org_member (realm, org_id, account_id, role, joined_at)
		VALUES ($1, $2, $3, $4, $5) ON CONFLICT (realm, org_id, account_id) DO NOTHING`,
		m.Realm, m.Org, m.Account, string(m.Role), us(m.JoinedAt))
	if err != nil {
		return internal("add member", err)
	}
	if n, err := rowsAffected("add member", res); err != nil || n == 0 {
		if err == nil {
			err = ninsho.E(ninsho.CodeConflict)
		}
		return err
	}
	return nil
}

// Member returns a membership (org.MemberStore).
func (db *DB) Member(ctx context.Context, realm, orgID, accountID string) (*org.Membership, error) {
	m := org.Membership{Realm: realm, Org: orgID, Account: accountID}
	var joined int64
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT role, joined_at FROM org_member
		WHERE realm = $1 AND org_id = $2 AND account_id = $3`, realm, orgID, accountID).Scan(&m.Role, &joined)
	if err != nil {
		return nil, notFound("member", err, ninsho.CodeNotFound)
	}
	m.JoinedAt = fromUS(joined)
	return &m, nil
}

// Members lists an organisation's members with their name and e-mail
// address (org.MemberStore).
func (db *DB) Members(ctx context.Context, realm, orgID string) ([]*org.Membership, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT m.account_id, m.role, m.joined_at, COALESCE(a.name, ''), COALESCE(a.email, '')
		FROM org_member m LEFT JOIN account a ON a.id = m.account_id
		WHERE m.realm = $1 AND m.org_id = $2 ORDER BY m.joined_at, m.account_id`, realm, orgID)
	if err != nil {
		return nil, internal("members", err)
	}
	defer rows.Close()
	var out []*org.Membership
	for rows.Next() {
		m := org.Membership{Realm: realm, Org: orgID}
		var joined int64
		if err := rows.Scan(&m.Account, &m.Role, &joined, &m.Name, &m.Email); err != nil {
			return nil, internal("members", err)
		}
		m.JoinedAt = fromUS(joined)
		out = append(out, &m)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("members", err)
	}
	return out, nil
}

// CountMembers counts an organisation's members of a role, or all
// (org.MemberStore).
func (db *DB) CountMembers(ctx context.Context, realm, orgID string, role org.Role) (int, error) {
	var n int
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM org_member
		WHERE realm = $1 AND org_id = $2 AND ($3 = '' OR role = $3)`, realm, orgID, string(role)).Scan(&n)
	if err != nil {
		return 0, internal("count members", err)
	}
	return n, nil
}

// SetRole changes a member's role (org.MemberStore).
func (db *DB) SetRole(ctx context.Context, realm, orgID, accountID string, role org.Role) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE org_member SET role = $4
		WHERE realm = $1 AND org_id = $2 AND account_id = $3`, realm, orgID, accountID, string(role))
	if err != nil {
		return internal("set role", err)
	}
	if n, err := rowsAffected("set role", res); err != nil || n == 0 {
		if err == nil {
			err = ninsho.E(ninsho.CodeNotFound)
		}
		return err
	}
	return nil
}

// RemoveMember deletes a membership (org.MemberStore).
func (db *DB) RemoveMember(ctx context.Context, realm, orgID, accountID string) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM org_member WHERE realm = $1 AND org_id = $2 AND account_id = $3`,
		realm, orgID, accountID)
	if err != nil {
		return false, internal("remove member", err)
	}
	n, err := rowsAffected("remove member", res)
	return n > 0, err
}

// Affiliations lists an account's organisations with its role
// (org.MemberStore).
func (db *DB) Affiliations(ctx context.Context, realm, accountID string) ([]org.Affiliation, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT m.role, `+prefixed("o.", orgColumns)+`
		FROM org_member m JOIN organisation o ON o.realm = m.realm AND o.id = m.org_id
		WHERE m.realm = $1 AND m.account_id = $2 ORDER BY m.joined_at, m.org_id`, realm, accountID)
	if err != nil {
		return nil, internal("affiliations", err)
	}
	defer rows.Close()
	var out []org.Affiliation
	for rows.Next() {
		var role org.Role
		o, err := scanOrg(prefixScanner{rows, &role})
		if err != nil {
			return nil, internal("affiliations", err)
		}
		out = append(out, org.Affiliation{Org: o, Role: role})
	}
	if err := rows.Err(); err != nil {
		return nil, internal("affiliations", err)
	}
	return out, nil
}

// prefixScanner scans one leading column into first, then the rest.
type prefixScanner struct {
	sc    scanner
	first any
}

func (p prefixScanner) Scan(dest ...any) error { return p.sc.Scan(append([]any{p.first}, dest...)...) }

const invitationColumns = `realm, id, org_id, email, role, invited_by, created_at, expires_at, token_hash,
	accepted_at, accepted_by, revoked_at`

func scanInvitation(sc scanner) (*org.Invitation, error) {
	var (
		inv               org.Invitation
		created, expires  int64
		accepted, revoked sql.NullInt64
		acceptedBy        sql.NullString
	)
	if err := sc.Scan(&inv.Realm, &inv.ID, &inv.Org, &inv.Email, &inv.Role, &inv.InvitedBy, &created, &expires, &inv.TokenHash,
		&accepted, &acceptedBy, &revoked); err != nil {
		return nil, err
	}
	inv.CreatedAt, inv.ExpiresAt = fromUS(created), fromUS(expires)
	inv.AcceptedAt, inv.AcceptedBy, inv.RevokedAt = fromNullUSPtr(accepted), acceptedBy.String, fromNullUSPtr(revoked)
	return &inv, nil
}

// CreateInvitation inserts an invitation (org.InvitationStore).
func (db *DB) CreateInvitation(ctx context.Context, inv *org.Invitation) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO org_invitation (`+invitationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		inv.Realm, inv.ID, inv.Org, inv.Email, string(inv.Role), inv.InvitedBy, us(inv.CreatedAt), us(inv.ExpiresAt), inv.TokenHash,
		nullUSPtr(inv.AcceptedAt), nullStr(inv.AcceptedBy), nullUSPtr(inv.RevokedAt))
	if err != nil {
		return internal("create invitation", err)
	}
	return nil
}

// Invitation returns an organisation's invitation (org.InvitationStore).
func (db *DB) Invitation(ctx context.Context, realm, orgID, id string) (*org.Invitation, error) {
	inv, err := scanInvitation(db.reader(ctx).QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM org_invitation
		WHERE realm = $1 AND org_id = $2 AND id = $3`, realm, orgID, id))
	if err != nil {
		return nil, notFound("invitation", err, ninsho.CodeNotFound)
	}
	return inv, nil
}

// InvitationByHash returns the invitation of a link (org.InvitationStore).
func (db *DB) InvitationByHash(ctx context.Context, realm string, hash []byte) (*org.Invitation, error) {
	inv, err := scanInvitation(db.reader(ctx).QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM org_invitation
		WHERE token_hash = $1 AND realm = $2`, hash, realm))
	if err != nil {
		return nil, notFound("invitation by token", err, ninsho.CodeNotFound)
	}
	return inv, nil
}

// PendingInvitations lists an organisation's pending invitations, the
// newest first (org.InvitationStore).
func (db *DB) PendingInvitations(ctx context.Context, realm, orgID string, now time.Time) ([]*org.Invitation, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+invitationColumns+` FROM org_invitation
		WHERE realm = $1 AND org_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3
		ORDER BY created_at DESC, id DESC`, realm, orgID, us(now))
	if err != nil {
		return nil, internal("pending invitations", err)
	}
	defer rows.Close()
	var out []*org.Invitation
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, internal("pending invitations", err)
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("pending invitations", err)
	}
	return out, nil
}

// InvitationsSince counts the realm's invitations of a scope created
// since t (org.InvitationStore).
func (db *DB) InvitationsSince(ctx context.Context, realm string, of org.InvitationScope, t time.Time) (int, error) {
	stmt := `SELECT COUNT(*) FROM org_invitation WHERE realm = $1 AND created_at >= $2`
	args := []any{realm, us(t)}
	for _, f := range []struct{ col, v string }{{"org_id", of.Org}, {"email", of.Email}, {"invited_by", of.InvitedBy}} {
		if f.v != "" {
			args = append(args, f.v)
			stmt += fmt.Sprintf(" AND %s = $%d", f.col, len(args))
		}
	}
	if len(args) == 2 {
		return 0, ninsho.Internal("store: invitations since: no scope")
	}
	var n int
	if err := db.reader(ctx).QueryRowContext(ctx, stmt, args...).Scan(&n); err != nil {
		return 0, internal("invitations since", err)
	}
	return n, nil
}

// FinishInvitation accepts (accountID) or revokes ("") a pending
// invitation (org.InvitationStore).
func (db *DB) FinishInvitation(ctx context.Context, realm, id, accountID string, t time.Time) (bool, error) {
	stmt := `UPDATE org_invitation SET accepted_at = $3, accepted_by = $4
		WHERE realm = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`
	args := []any{realm, id, us(t), accountID}
	if accountID == "" {
		stmt = `UPDATE org_invitation SET revoked_at = $3
			WHERE realm = $1 AND id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`
		args = args[:3]
	}
	res, err := db.writer(ctx).ExecContext(ctx, stmt, args...)
	if err != nil {
		return false, internal("finish invitation", err)
	}
	n, err := rowsAffected("finish invitation", res)
	return n == 1, err
}

// RevokeInvitationsTo revokes the pending invitations to an address
// (org.InvitationStore).
func (db *DB) RevokeInvitationsTo(ctx context.Context, realm, orgID, email string, t time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE org_invitation SET revoked_at = $4
		WHERE realm = $1 AND org_id = $2 AND email = $3 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $4`,
		realm, orgID, email, us(t))
	if err != nil {
		return 0, internal("revoke invitations", err)
	}
	return rowsAffected("revoke invitations", res)
}

// DeleteInvitationsOf deletes the invitations sent by an account or to
// its address (org.InvitationStore).
func (db *DB) DeleteInvitationsOf(ctx context.Context, realm, accountID, email string) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM org_invitation
		WHERE realm = $1 AND (invited_by = $2 OR accepted_by = $2 OR email = $3)`, realm, accountID, email)
	if err != nil {
		return 0, internal("delete invitations", err)
	}
	return rowsAffected("delete invitations", res)
}

// PurgeInvitations deletes up to limit invitations finished or expired
// before t (org.InvitationStore).
func (db *DB) PurgeInvitations(ctx context.Context, t time.Time, limit int) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM org_invitation WHERE id IN (
		SELECT id FROM org_invitation
		WHERE accepted_at < $1 OR revoked_at < $1 OR expires_at < $1
		ORDER BY created_at LIMIT $2)`, us(t), limit)
	if err != nil {
		return 0, internal("purge invitations", err)
	}
	return rowsAffected("purge invitations", res)
}
