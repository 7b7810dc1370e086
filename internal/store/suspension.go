package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/ninsho/ninsho/internal/account"
	"github.com/ninsho/ninsho/internal/ninsho"
)

var (
	_ account.SuspensionStore       = (*DB)(nil)
	_ account.ResetRequirementStore = (*DB)(nil)
)

const suspensionColumns = `reference, realm, account_id, reason, note, created_by, created_at, lifted_at, lifted_by, lift_note`

func scanSuspension(s scanner) (*account.Suspension, error) {
	var (
		x       account.Suspension
		reason  string
		created int64
		lifted  sql.NullInt64
	)
	if err := s.Scan(&x.Reference, &x.Realm, &x.AccountID, &reason, &x.Note, &x.By, &created, &lifted, &x.LiftedBy, &x.LiftNote); err != nil {
		return nil, err
	}
	x.Reason, x.At, x.LiftedAt = account.SuspensionReason(reason), fromUS(created), fromNullUSPtr(lifted)
	return &x, nil
}

// AddSuspension inserts s unless the account has one in force
// (account.SuspensionStore). The account row is held first, so two
// concurrent suspensions of one account cannot both pass the check.
func (db *DB) AddSuspension(ctx context.Context, s *account.Suspension) error {
	return db.InTx(ctx, func(ctx context.Context) error {
		if _, err := db.HeldAccount(ctx, s.AccountID); err != nil {
			return err
		}
		q := db.writer(ctx)
		var n int
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM suspension WHERE account_id = $1 AND lifted_at IS NULL`,
			s.AccountID).Scan(&n); err != nil {
			return internal("add suspension", err)
		}
		if n > 0 {
			return ninsho.E(ninsho.CodeConflict)
		}
		if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM suspension WHERE reference = $1`, s.Reference).Scan(&n); err != nil {
			return internal("add suspension", err)
		}
		if n > 0 {
			return ninsho.E(ninsho.CodeConflict)
		}
		_, err := q.ExecContext(ctx, `INSERT INTO suspension (`+suspensionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			s.Reference, s.Realm, s.AccountID, string(s.Reason), s.Note, s.By, us(s.At), nullUSPtr(s.LiftedAt), s.LiftedBy, s.LiftNote)
		if err != nil {
			return internal("add suspension", err)
		}
		return nil
	})
}

// ActiveSuspension returns the account's suspension in force
// (account.SuspensionStore).
func (db *DB) ActiveSuspension(ctx context.Context, accountID string) (*account.Suspension, error) {
	s, err := scanSuspension(db.reader(ctx).QueryRowContext(ctx, `SELECT `+suspensionColumns+` FROM suspension
		WHERE account_id = $1 AND lifted_at IS NULL`, accountID))
	if err != nil {
		return nil, notFound("active suspension", err, ninsho.CodeNotFound)
	}
	return s, nil
}

// SuspensionByReference returns the suspension with the reference
// (account.SuspensionStore).
func (db *DB) SuspensionByReference(ctx context.Context, reference string) (*account.Suspension, error) {
	s, err := scanSuspension(db.reader(ctx).QueryRowContext(ctx, `SELECT `+suspensionColumns+` FROM suspension
		WHERE reference = $1`, reference))
	if err != nil {
		return nil, notFound("suspension by reference", err, ninsho.CodeNotFound)
	}
	return s, nil
}

// LiftSuspension lifts the account's suspension in force
// (account.SuspensionStore).
func (db *DB) LiftSuspension(ctx context.Context, accountID, by, note string, at time.Time) (*account.Suspension, error) {
	var out *account.Suspension
	err := db.InTx(ctx, func(ctx context.Context) error {
		s, err := db.ActiveSuspension(ctx, accountID)
		if err != nil {
			return err
		}
		if _, err := db.writer(ctx).ExecContext(ctx, `UPDATE suspension SET lifted_at = $2, lifted_by = $3, lift_note = $4
			WHERE reference = $1 AND lifted_at IS NULL`, s.Reference, us(at), by, note); err != nil {
			return internal("lift suspension", err)
		}
		s.LiftedAt, s.LiftedBy, s.LiftNote = &at, by, note
		out = s
		return nil
	})
	return out, err
}

// Suspensions lists the account's suspensions, newest first
// (account.SuspensionStore).
func (db *DB) Suspensions(ctx context.Context, accountID string, limit int) ([]account.Suspension, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.reader(ctx).QueryContext(ctx, `SELECT `+suspensionColumns+` FROM suspension
		WHERE account_id = $1 ORDER BY created_at DESC, reference DESC LIMIT $2`, accountID, limit)
	if err != nil {
		return nil, internal("suspensions", err)
	}
	defer rows.Close()
	var out []account.Suspension
	for rows.Next() {
		s, err := scanSuspension(rows)
		if err != nil {
			return nil, internal("suspensions", err)
		}
		out = append(out, *s)
	}
	if err := rows.Err(); err != nil {
		return nil, internal("suspensions", err)
	}
	return out, nil
}

// RequirePasswordReset marks the account (account.ResetRequirementStore).
func (db *DB) RequirePasswordReset(ctx context.Context, accountID, by string, at time.Time) error {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO password_reset_required (account_id, required_by, required_at)
		SELECT id, CAST($2 AS TEXT), CAST($3 AS BIGINT) FROM account WHERE id = $1
		ON CONFLICT (account_id) DO UPDATE SET required_by = excluded.required_by, required_at = excluded.required_at`,
		accountID, by, us(at))
	if err != nil {
		return internal("require password reset", err)
	}
	n, err := rowsAffected("require password reset", res)
	if err != nil {
		return err
	}
	if n == 0 {
		return ninsho.E(ninsho.CodeAccountNotFound)
	}
	return nil
}

// PasswordResetRequired reports whether the account is marked
// (account.ResetRequirementStore).
func (db *DB) PasswordResetRequired(ctx context.Context, accountID string) (bool, error) {
	var n int
	if err := db.reader(ctx).QueryRowContext(ctx, `SELECT COUNT(*) FROM password_reset_required WHERE account_id = $1`,
		accountID).Scan(&n); err != nil {
		return false, internal("password reset required", err)
	}
	return n > 0, nil
}

// ClearPasswordReset removes the mark (account.ResetRequirementStore).
func (db *DB) ClearPasswordReset(ctx context.Context, accountID string) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM password_reset_required WHERE account_id = $1`, accountID)
	if err != nil {
		return false, internal("clear password reset", err)
	}
	n, err := rowsAffected("clear password reset", res)
	return n > 0, err
}
