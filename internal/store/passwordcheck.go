package store

import (
	"context"
	"time"

	"github.com/ninsho/ninsho/internal/signin"
)

var _ signin.CheckStore = (*DB)(nil)

// StartPasswordCheck records holder's check of key until until, unless
// another check of key is recorded that has not ended at now
// (signin.CheckStore). One statement: a concurrent start for the same key on
// PostgreSQL waits for the row and then finds it held.
func (db *DB) StartPasswordCheck(ctx context.Context, key, holder string, now, until time.Time) (bool, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `INSERT INTO password_check (check_key, holder, expires_at) VALUES ($1, $2, $3)
		ON CONFLICT (check_key) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
		WHERE password_check.expires_at <= $4`, key, holder, us(until), us(now))
	if err != nil {
		return false, internal("start password check", err)
	}
	n, err := rowsAffected("start password check", res)
	return n == 1, err
}

// EndPasswordCheck deletes holder's check of key (signin.CheckStore).
func (db *DB) EndPasswordCheck(ctx context.Context, key, holder string) error {
	if _, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM password_check WHERE check_key = $1 AND holder = $2`, key, holder); err != nil {
		return internal("end password check", err)
	}
	return nil
}

// DeleteEndedPasswordChecks deletes the checks whose time ended at or before
// now (left by an instance that stopped mid-check), for housekeeping.
func (db *DB) DeleteEndedPasswordChecks(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.writer(ctx).ExecContext(ctx, `DELETE FROM password_check WHERE expires_at <= $1`, us(now))
	if err != nil {
		return 0, internal("delete ended password checks", err)
	}
	n, err := rowsAffected("delete ended password checks", res)
	return int64(n), err
}
