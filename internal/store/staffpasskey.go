package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

var _ staff.PasskeyStore = (*DB)(nil)

// AddStaffPasskey inserts p (staff.PasskeyStore).
func (db *DB) AddStaffPasskey(ctx context.Context, p *staff.Passkey) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO staff_passkey
		(id, staff_id, credential_id, rp_id, label, sealed, sign_count, created_at, last_used_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		p.ID, p.StaffID, p.CredentialID, p.RPID, p.Label, p.Sealed, int64(p.SignCount), us(p.CreatedAt), us(p.LastUsedAt))
	if isUniqueViolation(err) {
		return ninsho.E(ninsho.CodeConflict)
	}
	if err != nil {
		return internal("add staff passkey", err)
	}
	return nil
}

// StaffPasskeys returns a staff member's passkeys, oldest first
// (staff.PasskeyStore).
func (db *DB) StaffPasskeys(ctx context.Context, staffID string) ([]staff.Passkey, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT id, staff_id, credential_id, rp_id, label, sealed, sign_count,
		created_at, last_used_at FROM staff_passkey WHERE staff_id = $1 ORDER BY created_at, id`, staffID)
	if err != nil {
		return nil, internal("staff passkeys", err)
	}
	defer rows.Close()
	var out []staff.Passkey
	for rows.Next() {
		var (
			p             staff.Passkey
			count         int64
			created, used int64
		)
		if err := rows.Scan(&p.ID, &p.StaffID, &p.CredentialID, &p.RPID, &p.Label, &p.Sealed, &count, &created, &used); err != nil {
			return nil, internal("staff passkeys", err)
		}
		p.SignCount, p.CreatedAt, p.LastUsedAt = uint32(count), fromUS(created), fromUS(used)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("staff passkeys", err)
	}
	return out, nil
}

// RemoveStaffPasskey deletes one passkey of a staff member
// (staff.PasskeyStore).
func (db *DB) RemoveStaffPasskey(ctx context.Context, staffID, id string) error {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM staff_passkey WHERE staff_id = $1 AND id = $2`, staffID, id)
	if err != nil {
		return internal("remove staff passkey", err)
	}
	n, err := rowsAffected("remove staff passkey", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// UseStaffPasskey stores a passkey's sign count and last use
// (staff.PasskeyStore).
func (db *DB) UseStaffPasskey(ctx context.Context, staffID, id string, signCount uint32, at time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE staff_passkey SET sign_count = $3, last_used_at = $4
		WHERE staff_id = $1 AND id = $2`, staffID, id, int64(signCount), us(at))
	if err != nil {
		return internal("use staff passkey", err)
	}
	n, err := rowsAffected("use staff passkey", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// PutStaffCeremony stores a console session's passkey ceremony, replacing
// an earlier one (staff.PasskeyStore).
func (db *DB) PutStaffCeremony(ctx context.Context, sessionID string, sealed []byte, expires time.Time) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO staff_passkey_ceremony (session_id, sealed, expires_at)
		VALUES ($1, $2, $3) ON CONFLICT (session_id) DO UPDATE SET sealed = excluded.sealed, expires_at = excluded.expires_at`,
		sessionID, sealed, us(expires)); err != nil {
		return internal("put staff ceremony", err)
	}
	return nil
}

// TakeStaffCeremony returns and deletes a console session's passkey
// ceremony (staff.PasskeyStore).
func (db *DB) TakeStaffCeremony(ctx context.Context, sessionID string) ([]byte, error) {
	var sealed []byte
	err := db.writer(ctx).QueryRowContext(ctx, `DELETE FROM staff_passkey_ceremony WHERE session_id = $1 RETURNING sealed`,
		sessionID).Scan(&sealed)
	if err != nil {
		return nil, notFound("take staff ceremony", err, ninsho.CodeNotFound)
	}
	return sealed, nil
}
