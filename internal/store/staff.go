package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/ninsho"
	"github.com/ninsho/ninsho/internal/staff"
)

var (
	_ staff.Store        = (*DB)(nil)
	_ staff.SessionStore = (*DB)(nil)
)

const staffColumns = `id, email, name, role, status, password_hash, totp_sealed, totp_last_step,
	enrol_hash, enrol_expires_at, locked_until, created_at, last_signin_at`

func scanStaff(s scanner) (*staff.Staff, error) {
	var (
		st                                    staff.Staff
		role, status                          string
		enrolExp, locked, created, lastSignin int64
	)
	if err := s.Scan(&st.ID, &st.Email, &st.Name, &role, &status, &st.PasswordHash, &st.TOTPSealed, &st.TOTPLastStep,
		&st.EnrolHash, &enrolExp, &locked, &created, &lastSignin); err != nil {
		return nil, err
	}
	st.Role, st.Status = staff.Role(role), staff.Status(status)
	st.EnrolExpiresAt, st.LockedUntil, st.CreatedAt, st.LastSignInAt = fromUS(enrolExp), fromUS(locked), fromUS(created), fromUS(lastSignin)
	return &st, nil
}

// CreateStaff inserts s (staff.Store).
func (db *DB) CreateStaff(ctx context.Context, s *staff.Staff) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO staff (`+staffColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		s.ID, s.Email, s.Name, string(s.Role), string(s.Status), s.PasswordHash, nullBytes(s.TOTPSealed), s.TOTPLastStep,
		nullBytes(s.EnrolHash), us(s.EnrolExpiresAt), us(s.LockedUntil), us(s.CreatedAt), us(s.LastSignInAt))
	if isUniqueViolation(err) {
		return ninsho.FieldError(ninsho.CodeIdentifierTaken, "email")
	}
	if err != nil {
		return internal("create staff", err)
	}
	return nil
}

// Staff returns the staff account with the id (staff.Store).
func (db *DB) Staff(ctx context.Context, id string) (*staff.Staff, error) {
	st, err := scanStaff(db.reader(ctx).QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE id = $1`, id))
	if err != nil {
		return nil, notFound("staff", err, ninsho.CodeNotFound)
	}
	return st, nil
}

// StaffByEmail returns the staff account with the address (staff.Store).
func (db *DB) StaffByEmail(ctx context.Context, email string) (*staff.Staff, error) {
	st, err := scanStaff(db.reader(ctx).QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff WHERE email = $1`, email))
	if err != nil {
		return nil, notFound("staff by email", err, ninsho.CodeNotFound)
	}
	return st, nil
}

// StaffByEnrolHash returns the invited staff account of an enrolment link
// (staff.Store).
func (db *DB) StaffByEnrolHash(ctx context.Context, hash []byte) (*staff.Staff, error) {
	if len(hash) == 0 {
		return nil, ninsho.E(ninsho.CodeNotFound)
	}
	st, err := scanStaff(db.reader(ctx).QueryRowContext(ctx, `SELECT `+staffColumns+` FROM staff
		WHERE enrol_hash = $1 AND status = $2`, hash, string(staff.StatusInvited)))
	if err != nil {
		return nil, notFound("staff by enrolment", err, ninsho.CodeNotFound)
	}
	return st, nil
}

// UpdateStaff writes every mutable field of s (staff.Store).
func (db *DB) UpdateStaff(ctx context.Context, s *staff.Staff) error {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE staff SET name = $2, role = $3, status = $4,
		password_hash = $5, totp_sealed = $6, totp_last_step = $7, enrol_hash = $8, enrol_expires_at = $9,
		locked_until = $10, last_signin_at = $11 WHERE id = $1`,
		s.ID, s.Name, string(s.Role), string(s.Status), s.PasswordHash, nullBytes(s.TOTPSealed), s.TOTPLastStep,
		nullBytes(s.EnrolHash), us(s.EnrolExpiresAt), us(s.LockedUntil), us(s.LastSignInAt))
	if err != nil {
		return internal("update staff", err)
	}
	n, err := rowsAffected("update staff", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeNotFound)
	}
	return nil
}

// ListStaff returns every staff account by e-mail address (staff.Store).
func (db *DB) ListStaff(ctx context.Context) ([]staff.Staff, error) {
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+staffColumns+` FROM staff ORDER BY email`)
	if err != nil {
		return nil, internal("list staff", err)
	}
	defer rows.Close()
	var out []staff.Staff
	for rows.Next() {
		st, err := scanStaff(rows)
		if err != nil {
			return nil, internal("list staff", err)
		}
		out = append(out, *st)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("list staff", err)
	}
	return out, nil
}

// CreateStaffSession inserts s (staff.SessionStore).
func (db *DB) CreateStaffSession(ctx context.Context, s *staff.Session) error {
	_, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO staff_session
		(id, token_hash, staff_id, aal, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		s.ID, s.TokenHash, s.StaffID, s.AAL, us(s.CreatedAt), us(s.LastSeenAt), us(s.ExpiresAt))
	if err != nil {
		return internal("create staff session", err)
	}
	return nil
}

// StaffSessionByHash returns the session with the token hash
// (staff.SessionStore).
func (db *DB) StaffSessionByHash(ctx context.Context, hash []byte) (*staff.Session, error) {
	var (
		s                      staff.Session
		created, seen, expires int64
	)
	err := db.reader(ctx).QueryRowContext(ctx, `SELECT id, token_hash, staff_id, aal, created_at, last_seen_at, expires_at
		FROM staff_session WHERE token_hash = $1`, hash).Scan(&s.ID, &s.TokenHash, &s.StaffID, &s.AAL, &created, &seen, &expires)
	if err != nil {
		return nil, notFound("staff session", err, ninsho.CodeUnauthenticated)
	}
	s.CreatedAt, s.LastSeenAt, s.ExpiresAt = fromUS(created), fromUS(seen), fromUS(expires)
	return &s, nil
}

// TouchStaffSession writes the session's last use (staff.SessionStore).
func (db *DB) TouchStaffSession(ctx context.Context, id string, at time.Time) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE staff_session SET last_seen_at = $2
		WHERE id = $1 AND last_seen_at < $2`, id, us(at)); err != nil {
		return internal("touch staff session", err)
	}
	return nil
}

// DeleteStaffSession removes one session (staff.SessionStore).
func (db *DB) DeleteStaffSession(ctx context.Context, id string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM staff_session WHERE id = $1`, id); err != nil {
		return internal("delete staff session", err)
	}
	return nil
}

// DeleteStaffSessions removes every session of a staff account
// (staff.SessionStore).
func (db *DB) DeleteStaffSessions(ctx context.Context, staffID string) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM staff_session WHERE staff_id = $1`, staffID)
	if err != nil {
		return 0, internal("delete staff sessions", err)
	}
	return rowsAffected("delete staff sessions", res)
}

// DeleteExpiredStaffSessions removes sessions past their absolute end
// (staff.SessionStore).
func (db *DB) DeleteExpiredStaffSessions(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM staff_session WHERE expires_at < $1`, us(before))
	if err != nil {
		return 0, internal("delete expired staff sessions", err)
	}
	return rowsAffected("delete expired staff sessions", res)
}

// AcceptTOTPStep moves the last accepted step forward (staff.Store).
func (db *DB) AcceptTOTPStep(ctx context.Context, id string, step int64, at time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `UPDATE staff SET totp_last_step = $2, last_signin_at = $3
		WHERE id = $1 AND totp_last_step < $2`, id, step, us(at))
	if err != nil {
		return false, internal("accept totp step", err)
	}
	n, err := rowsAffected("accept totp step", res)
	return n > 0, err
}
