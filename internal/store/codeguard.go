package store

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/ninsho/ninsho/internal/code"
)

var _ code.GuardStore = (*DB)(nil)

// CodeGuard returns the wrong-code state of key in realm, the zero state when
// there is none.
func (db *DB) CodeGuard(ctx context.Context, realm, key string) (code.GuardState, error) {
	st, err := scanGuard(db.reader(ctx).QueryRowContext(ctx,
		`SELECT failures, total, level, locked_until, locked_at FROM code_guard WHERE realm = $1 AND guard_key = $2`, realm, key))
	if errors.Is(err, sql.ErrNoRows) {
		return code.GuardState{}, nil
	}
	if err != nil {
		return code.GuardState{}, internal("code guard", err)
	}
	return st, nil
}

// AddCodeFailure adds one wrong code to key at t in one statement (concurrent
// failures are all counted) and returns the new state.
func (db *DB) AddCodeFailure(ctx context.Context, realm, key string, t time.Time) (code.GuardState, error) {
	st, err := scanGuard(db.writer(ctx).QueryRowContext(ctx,
		`INSERT INTO code_guard (realm, guard_key, failures, total, level, locked_until, locked_at, updated_at)
		VALUES ($1, $2, 1, 1, 0, NULL, NULL, $3)
		ON CONFLICT (realm, guard_key) DO UPDATE SET failures = code_guard.failures + 1,
			total = code_guard.total + 1, updated_at = excluded.updated_at
		RETURNING failures, total, level, locked_until, locked_at`, realm, key, us(t)))
	if err != nil {
		return code.GuardState{}, internal("add code failure", err)
	}
	return st, nil
}

// SetCodeGuard writes the state of key at t.
func (db *DB) SetCodeGuard(ctx context.Context, realm, key string, st code.GuardState, t time.Time) error {
	_, err := db.writer(ctx).ExecContext(ctx,
		`INSERT INTO code_guard (realm, guard_key, failures, total, level, locked_until, locked_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (realm, guard_key) DO UPDATE SET failures = excluded.failures, total = excluded.total,
			level = excluded.level, locked_until = excluded.locked_until, locked_at = excluded.locked_at,
			updated_at = excluded.updated_at`,
		realm, key, st.Failures, st.Total, st.Level, nullUSPtr(st.LockedUntil), nullUSPtr(st.LockedAt), us(t))
	if err != nil {
		return internal("set code guard", err)
	}
	return nil
}

// ResetCodeGuard forgets key.
func (db *DB) ResetCodeGuard(ctx context.Context, realm, key string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM code_guard WHERE realm = $1 AND guard_key = $2`, realm, key); err != nil {
		return internal("reset code guard", err)
	}
	return nil
}

// DeleteIdleCodeGuards removes guard states not written since before and no
// longer paused at before, and returns how many (housekeeping).
func (db *DB) DeleteIdleCodeGuards(ctx context.Context, before time.Time) (int, error) {
	res, err := db.writer(ctx).ExecContext(ctx,
		`DELETE FROM code_guard WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1) AND total < 100`, us(before))
	if err != nil {
		return 0, internal("delete idle code guards", err)
	}
	return rowsAffected("delete idle code guards", res)
}

func scanGuard(s scanner) (code.GuardState, error) {
	var (
		st                  code.GuardState
		lockedUntil, locked sql.NullInt64
	)
	if err := s.Scan(&st.Failures, &st.Total, &st.Level, &lockedUntil, &locked); err != nil {
		return code.GuardState{}, err
	}
	st.LockedUntil, st.LockedAt = fromNullUSPtr(lockedUntil), fromNullUSPtr(locked)
	return st, nil
}
